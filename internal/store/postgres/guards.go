package postgres

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/choso/choso"
)

var _ choso.SharedGuards = (*DB)(nil)

// sweepEvery is how often a node deletes expired nonces and refilled
// buckets, piggybacked on a guard call. Rows past their time are ignored
// by the checks anyway; the sweep only keeps the tables small.
const sweepEvery = time.Minute

// RememberNonce inserts the nonce; a row already there is a replay. It
// runs outside the serializable transactions of the store: one INSERT is
// atomic, and the primary key decides between two nodes racing on it.
func (db *DB) RememberNonce(ctx context.Context, keyID, nonce string, expires time.Time) (bool, error) {
	db.maybeSweep(ctx)
	tag, err := db.pool.Exec(ctx,
		`INSERT INTO partner_nonces (key_id, nonce, expires) VALUES ($1, $2, $3)
		 ON CONFLICT (key_id, nonce) DO UPDATE SET expires = EXCLUDED.expires
		 WHERE partner_nonces.expires < now()`,
		keyID, nonce, expires)
	if err != nil {
		return false, translate(err)
	}
	// A row past its expiry that the sweep has not reached yet is taken
	// over (the timestamp check already refuses requests that old); a live
	// row leaves the insert doing nothing.
	return tag.RowsAffected() == 1, nil
}

// TakeToken refills and takes from the bucket in one upsert: the row lock
// that ON CONFLICT DO UPDATE takes serialises nodes on one bucket, and the
// refill is measured with the database's clock.
func (db *DB) TakeToken(ctx context.Context, bucket string, burst int, interval time.Duration) (bool, time.Duration, error) {
	if burst < 1 || interval <= 0 {
		return false, 0, choso.Errorf(choso.EInternal, "postgres: a token bucket needs a burst of at least 1 and a positive interval")
	}
	db.maybeSweep(ctx)
	rate := 1 / interval.Seconds() // tokens a second
	var tokens float64
	var taken bool
	err := db.pool.QueryRow(ctx, takeTokenSQL, bucket, float64(burst), rate).Scan(&tokens, &taken)
	if err != nil {
		return false, 0, translate(err)
	}
	if taken {
		return true, 0, nil
	}
	wait := time.Duration(math.Ceil((1 - tokens) / rate * float64(time.Second)))
	return false, max(wait, time.Millisecond), nil
}

// takeTokenSQL is TakeToken's upsert. $1 is the bucket, $2 the burst, $3
// the tokens gained a second. Every SET expression sees the row as it was,
// so the refill is written out where it is used; ON CONFLICT DO UPDATE
// allows no FROM to compute it once.
var takeTokenSQL = strings.ReplaceAll(strings.ReplaceAll(`
	INSERT INTO rate_buckets AS b (bucket, tokens, taken, updated, full_at)
	VALUES ($1, $2::float8 - 1, true, now(), now() + make_interval(secs => 1 / $3::float8))
	ON CONFLICT (bucket) DO UPDATE SET
		taken = REFILL >= 1,
		tokens = LEFT,
		updated = now(),
		full_at = now() + make_interval(secs => ($2::float8 - (LEFT)) / $3::float8)
	RETURNING tokens, taken`,
	"LEFT", "CASE WHEN REFILL >= 1 THEN REFILL - 1 ELSE REFILL END"),
	"REFILL", "LEAST($2::float8, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM now() - b.updated)::float8) * $3::float8)")

// ResetBucket deletes the bucket: no row is a full bucket.
func (db *DB) ResetBucket(ctx context.Context, bucket string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM rate_buckets WHERE bucket = $1`, bucket)
	return translate(err)
}

// maybeSweep deletes expired nonces and full buckets, at most once per
// sweepEvery on this node. A failed sweep is tried again next time.
func (db *DB) maybeSweep(ctx context.Context) {
	now := db.now().UnixNano() // the node's clock (Options.Now) paces the sweeps
	last := db.swept.Load()
	if now-last < int64(sweepEvery) || !db.swept.CompareAndSwap(last, now) {
		return
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM partner_nonces WHERE expires < now()`); err != nil {
		db.swept.Store(last)
		return
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM rate_buckets WHERE full_at < now()`); err != nil {
		db.swept.Store(last)
	}
}

// GuardRows counts the rows of the guard tables, for tests and operators.
func (db *DB) GuardRows(ctx context.Context) (nonces, buckets int, err error) {
	err = db.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM partner_nonces), (SELECT count(*) FROM rate_buckets)`).Scan(&nonces, &buckets)
	return nonces, buckets, translate(err)
}
