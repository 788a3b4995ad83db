package choso

import (
	"context"
	"time"
)

// SharedGuards is implemented by a store that several nodes share (the
// PostgreSQL backend). The guards against replay and brute force then hold
// for the cluster: a partner request replayed to another node is refused,
// and a password guesser gets one budget however many nodes it spreads its
// attempts over. A store for one node (bbolt) does not implement it; its
// process keeps these guards in memory, where losing them on a restart
// resets the attacker's budget along with everyone else's.
type SharedGuards interface {
	// RememberNonce records the nonce of a verified partner request under
	// keyID until expires and reports whether it is new; false means the
	// request was seen before, by this node or another.
	RememberNonce(ctx context.Context, keyID, nonce string, expires time.Time) (fresh bool, err error)
	// TakeToken takes one token from the bucket named bucket, which holds
	// at most burst tokens and gains one every interval. When the bucket is
	// empty it returns false and how long until a token is back. The
	// store's clock, not the node's, measures the refill, so nodes with
	// drifting clocks agree.
	TakeToken(ctx context.Context, bucket string, burst int, interval time.Duration) (ok bool, retryAfter time.Duration, err error)
	// ResetBucket fills the bucket again (after a successful sign-in).
	ResetBucket(ctx context.Context, bucket string) error
}
