-- Version 1: every table of the store. Records are kept whole as JSON in a
-- bytea column named doc (bytea, not jsonb: jsonb refuses the NUL character
-- a bank's transfer message may hold, and must not reorder what we wrote);
-- the columns beside it are the keys the Tx methods look records up by.
-- Text keys use the "C" collation, so lists come back in byte order, the
-- order the bbolt backend gives, whatever the database's locale.

CREATE TABLE meta (
	key   text COLLATE "C" PRIMARY KEY,
	value bytea NOT NULL
);

CREATE TABLE regions (
	code        text COLLATE "C" PRIMARY KEY,
	parent_code text COLLATE "C" NOT NULL,
	doc         bytea NOT NULL
);
CREATE INDEX regions_parent ON regions (parent_code, code);

CREATE TABLE users (
	id       text COLLATE "C" PRIMARY KEY,
	username text COLLATE "C" NOT NULL UNIQUE,
	doc      bytea NOT NULL
);

CREATE TABLE sessions (
	token_hash bytea PRIMARY KEY,
	user_id    text COLLATE "C" NOT NULL,
	doc        bytea NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE markets (
	id            text COLLATE "C" PRIMARY KEY,
	commune_code  text COLLATE "C" NOT NULL,
	province_code text COLLATE "C" NOT NULL,
	doc           bytea NOT NULL
);
CREATE INDEX markets_commune ON markets (commune_code, id);
CREATE INDEX markets_province ON markets (province_code, id);

CREATE TABLE stalls (
	id        text COLLATE "C" PRIMARY KEY,
	market_id text COLLATE "C" NOT NULL,
	code      text COLLATE "C" NOT NULL,
	phone     text COLLATE "C" NOT NULL,
	bin       text COLLATE "C" NOT NULL,
	account   text COLLATE "C" NOT NULL,
	doc       bytea NOT NULL,
	UNIQUE (market_id, code)
);
CREATE INDEX stalls_phone ON stalls (phone, id) WHERE phone <> '';
CREATE INDEX stalls_account ON stalls (bin, account, id) WHERE bin <> '' AND account <> '';

CREATE TABLE audit (
	seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	object_id text COLLATE "C" NOT NULL,
	actor_id  text COLLATE "C" NOT NULL,
	doc       bytea NOT NULL
);
CREATE INDEX audit_object ON audit (object_id, seq) WHERE object_id <> '';
CREATE INDEX audit_actor ON audit (actor_id, seq) WHERE actor_id <> '';

CREATE TABLE devices (
	id          text COLLATE "C" PRIMARY KEY,
	stall_id    text COLLATE "C" NOT NULL,
	doc         bytea NOT NULL
);
CREATE INDEX devices_stall ON devices (stall_id, id);

-- A device's current and previous token hashes, each owned by one device.
CREATE TABLE device_tokens (
	token_hash bytea PRIMARY KEY,
	device_id  text COLLATE "C" NOT NULL REFERENCES devices (id)
);
CREATE INDEX device_tokens_device ON device_tokens (device_id);

CREATE TABLE enrollments (
	code_hash  bytea PRIMARY KEY,
	expires_us bigint NOT NULL, -- Unix microseconds, rounded down
	doc        bytea NOT NULL
);
CREATE INDEX enrollments_expiry ON enrollments (expires_us);

CREATE TABLE results (
	device_id text COLLATE "C" NOT NULL,
	seq       bigint NOT NULL,
	doc       bytea NOT NULL,
	PRIMARY KEY (device_id, seq)
);

CREATE TABLE entities (
	id  text COLLATE "C" PRIMARY KEY,
	doc bytea NOT NULL
);

-- The counters of server_seq, change_seq and the credit seq. They are
-- rows, not SEQUENCEs, so that a rolled-back transaction gives its numbers
-- back and the logs have no holes; they are advanced only under the
-- sequencer lock (sequence.go), which makes their order commit order.
CREATE TABLE seqs (
	name  text COLLATE "C" PRIMARY KEY,
	value bigint NOT NULL
);
INSERT INTO seqs (name, value) VALUES ('event', 0), ('change', 0), ('credit', 0);

CREATE TABLE events (
	server_seq bigint PRIMARY KEY,
	doc        bytea NOT NULL
);

CREATE TABLE stall_days (
	stall_id text COLLATE "C" NOT NULL,
	date     text COLLATE "C" NOT NULL,
	doc      bytea NOT NULL,
	PRIMARY KEY (stall_id, date)
);
CREATE INDEX stall_days_date ON stall_days (date, stall_id);

CREATE TABLE device_days (
	device_id text COLLATE "C" NOT NULL,
	date      text COLLATE "C" NOT NULL,
	doc       bytea NOT NULL,
	PRIMARY KEY (device_id, date)
);

CREATE TABLE changes (
	change_seq bigint PRIMARY KEY,
	stall_id   text COLLATE "C" NOT NULL,
	date       text COLLATE "C" NOT NULL,
	doc        bytea NOT NULL
);
CREATE INDEX changes_day ON changes (stall_id, date, change_seq);

CREATE TABLE credits (
	seq           bigint PRIMARY KEY,
	bank_txn_id   text COLLATE "C" NOT NULL UNIQUE,
	stall_id      text COLLATE "C" NOT NULL,
	bin           text COLLATE "C" NOT NULL,
	account       text COLLATE "C" NOT NULL,
	business_date text COLLATE "C" NOT NULL,
	doc           bytea NOT NULL
);
CREATE INDEX credits_stall ON credits (stall_id, seq) WHERE stall_id <> '';
CREATE INDEX credits_account ON credits (bin, account, business_date, seq) WHERE business_date <> '';

CREATE TABLE sale_refs (
	ref     text COLLATE "C" PRIMARY KEY,
	sale_id text COLLATE "C" NOT NULL
);

CREATE TABLE qr_sales (
	stall_id     text COLLATE "C" NOT NULL,
	effective_ms bigint NOT NULL,
	sale_id      text COLLATE "C" NOT NULL,
	PRIMARY KEY (stall_id, effective_ms, sale_id)
);

CREATE TABLE partners (
	id  text COLLATE "C" PRIMARY KEY,
	doc bytea NOT NULL
);

CREATE TABLE partner_keys (
	id         text COLLATE "C" PRIMARY KEY,
	partner_id text COLLATE "C" NOT NULL,
	doc        bytea NOT NULL
);
CREATE INDEX partner_keys_partner ON partner_keys (partner_id, id);
