package choso

import (
	"context"
	"io"
	"time"
)

// Store keeps everything Chợ Số knows. It offers transactions rather than
// one method per use case, so that a business rule (the sync apply rules,
// reconciliation) is written once over Tx and runs unchanged on every
// backend, and so that one request's writes commit together or not at all.
//
// Update runs fn in a read-write transaction and commits when fn returns nil;
// when fn returns an error or panics, nothing fn wrote is kept. Update returns
// only after the commit is durable on disk, so a caller may acknowledge the
// writes once it returns nil. View runs fn in a read-only transaction; its
// Tx methods that write return EInvalid. A Tx must not be used after fn
// returns, and values read through it are copies the caller may keep.
//
// Both return EUnavailable when ctx is done before the transaction starts or
// the store is closed, and fn's own error otherwise.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error

	// Batch is Update for many concurrent callers: the store may run several
	// callers' fns in one transaction, and one commit (one fsync) serves
	// them all. When one fn fails, it is run again alone and the others
	// again together, so fn may run more than once: it must derive
	// everything from tx, reset whatever it returns to its caller at its
	// start, and have no effect outside tx. Batch returns only after the
	// commit is durable. (Update's fn may run more than once too on a
	// backend that retries serialization failures, such as PostgreSQL.)
	Batch(ctx context.Context, fn func(Tx) error) error

	// Backup writes a consistent copy of the whole store to w while the store
	// stays open for reads and writes, and returns the bytes written. The copy
	// is a store file of the same backend that Open accepts.
	Backup(ctx context.Context, w io.Writer) (int64, error)

	// Check verifies the store's integrity and returns every problem found,
	// or nil when it is consistent.
	Check(ctx context.Context) []error

	// Stats reports figures for monitoring.
	Stats() StoreStats

	// Close releases the store. Transactions in flight finish first.
	Close() error
}

// Tx is one transaction over the store. Each noun adds its narrow methods to
// this interface through its own interface (RegionTx in region.go, …);
// backends implement them atomically. Methods that return objects return
// copies the caller owns. Writing methods return EInvalid in a read-only
// transaction.
type Tx interface {
	RegionTx
	UserTx
	SessionTx
	MarketTx
	StallTx
	AuditTx
	DeviceTx
	EnrollmentTx
	SyncTx
	PartnerTx
	CreditTx
	DayTx

	// Meta returns the operational value stored under key, or nil if there
	// is none. Meta keys belong to the operator (schema version, readiness
	// probe, instance id), never to the domain.
	Meta(key string) ([]byte, error)

	// SetMeta stores an operational value under key. Returns EInvalid in a
	// read-only transaction.
	SetMeta(key string, value []byte) error
}

// EntityPrefetcher is implemented by a Tx whose every read is a round trip
// to a database server (PostgreSQL). The sync rules hand it the client IDs
// a push is about to look up, so it reads them in one round trip rather
// than one at a time, while the push holds the store's sequencer lock.
// FindEntity then answers from what was read and from the transaction's
// own writes, exactly as it would have without the prefetch.
type EntityPrefetcher interface {
	PrefetchEntities(ids []string) error
}

// StoreStats are a store's figures for monitoring.
type StoreStats struct {
	SizeBytes     int64 // bytes the store occupies on disk
	SchemaVersion int   // version of the data layout
	OpenTxs       int   // read transactions open now
}

// Clock returns the current time. Domain code takes a Clock instead of
// reading the system clock, so tests and the simulator can set the time.
type Clock func() time.Time
