-- The guards several nodes must share (choso.SharedGuards): partner request
-- nonces, so a replay to another node is refused, and the token buckets
-- that limit sign-in and enrollment attempts across the cluster. Rows
-- expire: a sweep deletes nonces past expires and buckets past full_at
-- (a bucket that would be full again is the same as no bucket).

CREATE TABLE partner_nonces (
	key_id  text COLLATE "C" NOT NULL,
	nonce   text COLLATE "C" NOT NULL,
	expires timestamptz NOT NULL,
	PRIMARY KEY (key_id, nonce)
);
CREATE INDEX partner_nonces_expires ON partner_nonces (expires);

CREATE TABLE rate_buckets (
	bucket  text COLLATE "C" PRIMARY KEY,
	tokens  double precision NOT NULL,
	taken   boolean NOT NULL, -- whether the last TakeToken got a token
	updated timestamptz NOT NULL,
	full_at timestamptz NOT NULL
);
CREATE INDEX rate_buckets_full_at ON rate_buckets (full_at);
