// Package postgres keeps Chợ Số's data in PostgreSQL, so that several
// stateless choso nodes can serve one data set. It implements the store
// interfaces of the root package and is the only package of the server that
// imports pgx.
//
// # Transactions: SERIALIZABLE, with retries
//
// Update runs fn in a SERIALIZABLE transaction and, when PostgreSQL aborts it
// with a serialization failure (40001) or a deadlock (40P01), rolls back and
// runs fn again, up to MaxRetries times, then answers EUnavailable (the
// server's 503 with Retry-After). So fn may run more than once, as under
// Batch: it must derive everything from tx, reset whatever it returns to its
// caller at its start, and have no effect outside tx.
//
// The alternative, READ COMMITTED with explicit row locks (SELECT … FOR
// UPDATE on the device row for a sync push), was rejected because the
// business rules live in the root package and sync/, written once over Tx
// for every backend: they read, decide and write (a device's applied seq,
// an entity's absence, a day's totals, whether any user exists) and assume
// the transaction sees a state no other transaction changes underneath,
// as bbolt's single writer gives. Under READ COMMITTED each of those reads
// would need its own lock, absent rows cannot be locked at all, and every
// rule added later would be a new chance to forget one. SERIALIZABLE makes
// every fn behave as if the transactions ran one at a time, which is exactly
// the contract the rules were written against: of two nodes applying pushes
// of one device at once, one commits, and the other (queued behind the
// sequencer, or aborted and run again) then sees the seq applied and
// answers duplicate. The price is queueing and retries under contention,
// paid in throughput, not in correctness.
//
// View runs fn in a REPEATABLE READ READ ONLY transaction: one snapshot,
// never a serialization failure, never a retry.
//
// A transaction holding the sequencer lock may wait for a row another
// transaction has written, while that one waits for the sequencer lock:
// PostgreSQL detects the deadlock (after deadlock_timeout, 1s by default),
// aborts one, and Update runs it again. It is rare (both must write the
// same row, which SERIALIZABLE would refuse anyway), and costs a second.
//
// # The commit-ordered sequences
//
// server_seq, change_seq (the partner feed's cursor) and the credit seq a
// phone pulls "tiền đã về" by must increase in commit order, so that a reader
// that has seen N+1 has seen N (PARTNER.md §2), and the conformance suite
// wants no holes either, not even after a rollback. A PostgreSQL SEQUENCE
// gives neither: its values are taken outside transactions, a later value
// can commit first, and a rollback burns its values. So the counters are
// rows of a table, seqs, and advancing one takes the sequencer lock, an
// EXCLUSIVE lock on that table held to commit (sequence.go). The transaction
// holding N therefore commits, and becomes visible (PostgreSQL releases
// locks after it marks a transaction committed), before any other can take
// N+1; a rolled-back transaction's increment vanishes with it. Only
// transactions that append to these logs queue behind each other, and only
// from their first append to their commit; every other transaction runs in
// parallel. A reader needs nothing special: any snapshot holds a prefix of
// each log.
//
// The first append of a transaction reads the counters FOR UPDATE; later
// appends count in memory, and the counters are written back just before
// the commit, with the other writes nothing waited for (Tx.pending).
//
// A waiter whose snapshot is older than the commit it waited for is aborted
// with a serialization failure and retried; its retry takes the sequencer
// lock as its first statement, before it has a snapshot, and so cannot fail
// that way again. Batch, the sync push path, whose transactions nearly all
// append, takes the lock first from the start: with eight writers that read
// before appending, Update ran fn again about once per transaction (93
// retries in 96) and Batch never did, in the same time.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/choso/choso"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options configure Open. The zero value is usable: every field has a default.
type Options struct {
	// MaxConns caps the connection pool. Default 16.
	MaxConns int32

	// MaxRetries is how many times Update runs fn again after a
	// serialization failure or deadlock before answering EUnavailable.
	// Default 20.
	MaxRetries int

	// Now returns the current time. Default time.Now.
	Now choso.Clock

	// IdleInTxTimeout is the idle_in_transaction_session_timeout this
	// node's sessions run with: the database ends a session that sits
	// inside a transaction, waiting for this node, longer than that. A node
	// that holds the sequencer lock and then goes silent without closing
	// its connection (power or network lost, process frozen) would
	// otherwise stop every node's pushes until the server's TCP keepalive
	// gives up on it, two hours by default. Default 30s, far past the
	// pause between two statements of a transaction; negative leaves the
	// database's setting, as does the parameter given in the URL.
	IdleInTxTimeout time.Duration

	// ObserveTx, when set, is called after every transaction with its kind
	// ("update", "batch" or "view"), its duration and its error.
	ObserveTx func(kind string, d time.Duration, err error)
}

// DB is a Store over one PostgreSQL database.
type DB struct {
	pool       *pgxpool.Pool
	now        choso.Clock
	maxRetries int
	observeTx  func(string, time.Duration, error)
	closed     atomic.Bool
	retries    atomic.Int64 // fn runs repeated after a serialization failure, for Stats and tests
	swept      atomic.Int64 // Unix nanoseconds of this node's last sweep of the guard tables
	group      *groupWriter // runs Batch callers in shared transactions
}

var _ choso.Store = (*DB)(nil)

// Open connects to the database at url (postgres://…), brings its schema to
// the current version under an advisory lock, so that nodes starting
// together migrate once, and returns the store. It fails with EUnavailable
// when the database cannot be reached or is newer than this binary.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	if opts.MaxConns <= 0 {
		opts.MaxConns = 16
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, choso.WrapError(choso.EInvalid, "bad PostgreSQL URL", err)
	}
	cfg.MaxConns = opts.MaxConns
	if opts.IdleInTxTimeout == 0 {
		opts.IdleInTxTimeout = 30 * time.Second
	}
	if _, set := cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !set && opts.IdleInTxTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(max(opts.IdleInTxTimeout.Milliseconds(), 1), 10)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, choso.WrapError(choso.EUnavailable, "cannot connect to PostgreSQL", err)
	}
	db := &DB{pool: pool, now: opts.Now, maxRetries: opts.MaxRetries, observeTx: opts.ObserveTx}
	if err := db.checkDurable(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := db.migrate(ctx, migrations); err != nil {
		pool.Close()
		return nil, err
	}
	db.group = newGroupWriter(db)
	return db, nil
}

// checkDurable refuses a database that acknowledges commits before they are
// on disk: choso acknowledges a push once Update returns, so a commit it
// was told of must survive a crash (the bbolt store never sets NoSync for
// the same reason). synchronous_commit may be on, local, or stronger with
// a synchronous standby (remote_write, remote_apply), never off.
func (db *DB) checkDurable(ctx context.Context) error {
	var mode string
	if err := db.pool.QueryRow(ctx, "SHOW synchronous_commit").Scan(&mode); err != nil {
		return choso.WrapError(choso.EUnavailable, "cannot connect to PostgreSQL", err)
	}
	if mode == "off" {
		return choso.Errorf(choso.EUnavailable,
			"PostgreSQL has synchronous_commit=off: acknowledged pushes could be lost in a crash; set it to on")
	}
	return nil
}

// Close closes the pool. It waits for transactions in flight to finish.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	db.group.close()
	db.pool.Close()
	return nil
}

// Update runs fn in a SERIALIZABLE transaction, running it again after a
// serialization failure; see the package doc and choso.Store.
func (db *DB) Update(ctx context.Context, fn func(choso.Tx) error) error {
	return db.run(ctx, "update", true, fn)
}

// Batch is Update for the sync push path, whose transactions almost all
// append events and changes. It takes the sequencer lock as its first
// statement, before it has a snapshot, instead of at its first append: a
// push that waited for the lock with an older snapshot would be aborted and
// run again (see the package doc); taking the lock first costs the same
// queueing without the wasted run. And the node's callers share
// transactions, as bbolt's Batch does (group.go): one lock hold and one
// WAL flush serve every push queued meanwhile. fn may run more than once,
// as choso.Store allows.
func (db *DB) Batch(ctx context.Context, fn func(choso.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return choso.WrapError(choso.EUnavailable, "request cancelled before the store was reached", err)
	}
	if db.closed.Load() {
		return choso.Errorf(choso.EUnavailable, "store is closed")
	}
	return db.group.submit(ctx, fn)
}

// View runs fn in a read-only snapshot; see choso.Store.
func (db *DB) View(ctx context.Context, fn func(choso.Tx) error) error {
	return db.run(ctx, "view", false, fn)
}

func (db *DB) run(ctx context.Context, kind string, writable bool, fn func(choso.Tx) error) error {
	return db.runTx(ctx, kind, writable, false, fn)
}

func (db *DB) runLockFirst(ctx context.Context, kind string, fn func(choso.Tx) error) error {
	return db.runTx(ctx, kind, true, true, fn)
}

// runTx runs fn in a transaction until it commits, fails for a reason of its
// own, or has been retried db.maxRetries times. With lockFirst, and on any
// retry of a transaction that took the sequencer lock, the lock is the
// transaction's first statement.
func (db *DB) runTx(ctx context.Context, kind string, writable, lockFirst bool, fn func(choso.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return choso.WrapError(choso.EUnavailable, "request cancelled before the store was reached", err)
	}
	if db.closed.Load() {
		return choso.Errorf(choso.EUnavailable, "store is closed")
	}
	start := time.Now()
	var err error
	for attempt := 0; ; attempt++ {
		var retry, sequenced bool
		retry, sequenced, err = db.attempt(ctx, writable, lockFirst, fn)
		lockFirst = lockFirst || sequenced
		if !retry {
			break
		}
		if attempt >= db.maxRetries {
			err = choso.WrapError(choso.EUnavailable, "too many concurrent changes to the same records; try again", err)
			break
		}
		db.retries.Add(1)
		// Full jitter, growing: 1ms, 2ms, 4ms … capped at 100ms.
		time.Sleep(time.Duration(rand.Int64N(int64(min(time.Millisecond<<min(attempt, 7), 100*time.Millisecond)) + 1)))
	}
	if db.observeTx != nil {
		db.observeTx(kind, time.Since(start), err)
	}
	return err
}

// attempt runs fn once in a transaction, and reports whether the failure is
// one a new attempt may cure and whether the transaction took the sequencer
// lock. With lockFirst it takes that lock before anything else.
func (db *DB) attempt(ctx context.Context, writable, lockFirst bool, fn func(choso.Tx) error) (retry, sequenced bool, err error) {
	opts := pgx.TxOptions{IsoLevel: pgx.Serializable, AccessMode: pgx.ReadWrite}
	if !writable {
		opts = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	}
	// ctx bounds the wait for a connection and BEGIN. Like bbolt's, a
	// transaction that has started runs to its end: a client hanging up
	// mid-push must not turn a commit into a rollback halfway.
	ptx, err := db.pool.BeginTx(ctx, opts)
	if err != nil {
		if db.closed.Load() {
			return false, false, choso.WrapError(choso.EUnavailable, "store is closed", err)
		}
		if ctx.Err() != nil {
			return false, false, choso.WrapError(choso.EUnavailable, "request cancelled before the store was reached", err)
		}
		return false, false, translate(err)
	}
	ctx = context.WithoutCancel(ctx)
	tx := &Tx{tx: ptx, ctx: ctx, writable: writable, db: db}
	// Rolls back when fn fails, panics or calls runtime.Goexit (t.Fatal in
	// a test); after a commit it does nothing.
	defer ptx.Rollback(ctx)
	if writable && lockFirst {
		if err := tx.lockSequencer(); err != nil {
			return tx.retryable != nil, true, err
		}
	}
	if err := fn(tx); err != nil {
		if tx.retryable != nil {
			return true, tx.sequenced, tx.retryable
		}
		return false, tx.sequenced, err // fn's own error, or one a Tx method already translated
	}
	if err := tx.finish(); err != nil {
		return tx.retryable != nil, tx.sequenced, err
	}
	if tx.retryable != nil { // fn swallowed a failure that aborted the transaction
		return true, tx.sequenced, tx.retryable
	}
	if err := ptx.Commit(ctx); err != nil {
		if isRetryable(err) {
			return true, tx.sequenced, err
		}
		return false, tx.sequenced, translate(err)
	}
	return false, tx.sequenced, nil
}

// isRetryable reports whether err is a serialization failure or deadlock:
// the transaction was rolled back and running it again may succeed.
func isRetryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// translate turns pgx's and PostgreSQL's errors into choso errors at the
// store's boundary. Errors that already are choso errors, and errors fn
// returned, pass through.
func translate(err error) error {
	var ce *choso.Error
	var pe *pgconn.PgError
	switch {
	case err == nil, errors.As(err, &ce):
		return err
	case errors.As(err, &pe):
		switch {
		case pe.Code == "23505":
			return choso.WrapError(choso.EConflict, "already exists", err)
		case pe.Code == "25006":
			return choso.WrapError(choso.EInvalid, "write in a read-only transaction", err)
		case pe.Code == "22021" || pe.Code == "22P05":
			// Text the database cannot hold (a NUL byte, bytes that are not
			// UTF-8): the request's, which no check before caught. Other data
			// exceptions (an overflow in a query) stay ours: internal.
			return choso.WrapError(choso.EInvalid, "text the database cannot store", err)
		case pe.Code == "53100":
			return choso.WrapError(choso.EUnavailable, "database disk full", err)
		case pe.Code == "25P03" || pe.Code == "25P04":
			// The database ended a transaction that sat idle, or ran, too
			// long (IdleInTxTimeout): nothing of it committed; try again.
			return choso.WrapError(choso.EUnavailable, "database ended a transaction that took too long", err)
		case len(pe.Code) == 5 && (pe.Code[:2] == "08" || pe.Code[:2] == "53" || pe.Code[:2] == "57"):
			return choso.WrapError(choso.EUnavailable, "database unavailable", err)
		}
		return choso.WrapError(choso.EInternal, fmt.Sprintf("database error %s", pe.Code), err)
	case pgconn.SafeToRetry(err), pgconn.Timeout(err), errors.Is(err, context.DeadlineExceeded):
		return choso.WrapError(choso.EUnavailable, "database unavailable", err)
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) {
		return choso.WrapError(choso.EUnavailable, "database unreachable", err)
	}
	return choso.WrapError(choso.EUnavailable, "database error", err)
}

// Stats reports the database's size, schema version and the connections in
// use (OpenTxs: transactions of any kind in flight on this node).
func (db *DB) Stats() choso.StoreStats {
	s := choso.StoreStats{OpenTxs: int(db.pool.Stat().AcquiredConns())}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db.pool.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&s.SizeBytes)
	s.SchemaVersion, _ = schemaVersion(ctx, db.pool)
	return s
}

// Retries returns how many times this node ran a transaction's fn again
// after a serialization failure or deadlock, for metrics and tests.
func (db *DB) Retries() int64 { return db.retries.Load() }
