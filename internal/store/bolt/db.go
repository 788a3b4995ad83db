// Package bolt keeps Chợ Số's data in one bbolt file. It implements the
// store interfaces of the root package and is the only package of the server
// that imports bbolt.
package bolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/groupcommit"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Options configure Open. The zero value is usable: every field has a default.
type Options struct {
	// LockTimeout is how long Open waits for another process to release the
	// file before failing. Default 1s: a second server on the same file must
	// fail fast, not hang.
	LockTimeout time.Duration

	// InitialMmapSize is the size in bytes of the first memory map. Remapping
	// waits for every open read transaction, so a map that already covers the
	// file's growth keeps writers from stalling behind a long backup.
	// Default 1 GiB (address space only; pages load on use).
	InitialMmapSize int

	// MaxSize caps the file in bytes; writes past it fail with EUnavailable
	// instead of filling the disk. 0 means no cap.
	MaxSize int

	// PageSize is the page size in bytes of a file Open or Compact makes.
	// A file keeps the page size it was made with, so it does nothing for
	// an existing store. Default 16 KiB (defaultPageSize says why).
	PageSize int

	// ReadOnly opens the file shared and read-only, for checks and backups of
	// a stopped server. No migration runs.
	ReadOnly bool

	// Now returns the current time. Default time.Now.
	Now choso.Clock

	// ObserveTx, when set, is called after every transaction with its kind
	// ("update" or "view"), its duration and its error.
	ObserveTx func(kind string, d time.Duration, err error)
}

const (
	defaultLockTimeout     = time.Second
	defaultInitialMmapSize = 1 << 30
)

// defaultPageSize is the page size of new stores: 16 KiB, not the
// operating system's 4. bbolt writes every dirty page of a commit with its
// own pwrite, and the sync ingest dirties a leaf of each of its indexes
// for every phone in a group commit: at 4 KiB that was 500 writes a
// commit, a fifth of the single writer's CPU. At 16 KiB the writer commits
// the same events in two fifths of the writes, and the server took 1.11×
// the records/s over HTTP in six paired runs (BENCHMARKS.md, issue 5), for
// a file 15 % larger there. Stores made at 4 KiB keep working as they are;
// `choso compact` rewrites one at this size.
const defaultPageSize = 16 << 10

// pageSize is the page size of a file made with o.
func (o Options) pageSize() int {
	if o.PageSize > 0 {
		return o.PageSize
	}
	return defaultPageSize
}

// DB is a Store over one bbolt file.
type DB struct {
	db        *bolt.DB
	path      string
	now       choso.Clock
	observeTx func(string, time.Duration, error)
	closed    atomic.Bool
	writer    *writer // Batch's group commits; nil when read-only

	// entities filters the entity index's lookups in write transactions
	// (entityfilter.go); nil when read-only. Its loader stops when stopLoad
	// closes and closes loaded when it has returned.
	entities *entityFilter
	// spareEntities is an empty map a write transaction left for the next
	// to hold its entities in (Tx.entities); only write transactions,
	// under bbolt's lock, touch it.
	spareEntities map[string][]byte
	stopLoad      chan struct{}
	loaded        chan struct{}

	// Decoded devices, stalls and markets by their stored bytes (cache.go).
	devices *decodeCache[choso.Device]
	stalls  *decodeCache[choso.Stall]
	markets *decodeCache[choso.Market]
}

var _ choso.Store = (*DB)(nil)

// Open opens the store at path, creating the file if needed, brings its
// schema to the current version and creates every bucket. It fails with
// EUnavailable and a clear message when another process holds the file.
func Open(path string, opts Options) (*DB, error) {
	return open(path, opts, migrations)
}

func open(path string, opts Options, migs []migration) (*DB, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = defaultLockTimeout
	}
	if opts.InitialMmapSize <= 0 {
		opts.InitialMmapSize = defaultInitialMmapSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, choso.WrapError(choso.ENotFound, fmt.Sprintf("no store at %s", path), err)
		}
	}
	bopts := &bolt.Options{
		Timeout:         opts.LockTimeout,
		InitialMmapSize: opts.InitialMmapSize,
		MaxSize:         opts.MaxSize,
		FreelistType:    bolt.FreelistMapType,
		PageSize:        opts.pageSize(), // used only when the file is made
		ReadOnly:        opts.ReadOnly,
		// NoSync stays false, always: an acknowledged write must be on disk.
	}
	bdb, err := bolt.Open(path, 0o600, bopts)
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, choso.WrapError(choso.EUnavailable,
				fmt.Sprintf("store %s is locked by another process (is another choso running on this data directory?)", path), err)
		}
		return nil, choso.WrapError(choso.EUnavailable, fmt.Sprintf("cannot open store %s", path), translate(err))
	}
	db := &DB{db: bdb, path: path, now: opts.Now, observeTx: opts.ObserveTx,
		devices: newDecodeCache(cloneDevice), stalls: newDecodeCache(cloneStall), markets: newDecodeCache(cloneMarket)}
	if opts.ReadOnly {
		if err := db.checkVersionReadable(migs); err != nil {
			bdb.Close()
			return nil, err
		}
		return db, nil
	}
	if err := db.migrate(migs); err != nil {
		bdb.Close()
		return nil, err
	}
	db.startEntityFilter()
	db.writer = newWriter(db)
	return db, nil
}

// startEntityFilter creates the entity filter and starts loading the
// stored ULIDs into it. It runs before Open returns, so before any write
// that could store a ULID the load might miss. The first layer takes twice
// the events stored so far (a count bbolt keeps, read without a scan).
func (db *DB) startEntityFilter() {
	var events int64
	db.db.View(func(tx *bolt.Tx) error {
		events = int64(tx.Bucket(bucketEvents).Sequence())
		return nil
	})
	db.entities = newEntityFilter(2 * events)
	db.stopLoad, db.loaded = make(chan struct{}), make(chan struct{})
	first := db.entities.layers[0]
	go func() {
		defer close(db.loaded)
		db.entities.load(db.db, first, db.stopLoad)
	}()
}

// Path returns the file the store lives in.
func (db *DB) Path() string { return db.path }

// Close closes the file. It waits for open transactions to finish.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	if db.writer != nil {
		db.writer.close()
	}
	if db.entities != nil {
		close(db.stopLoad)
		<-db.loaded
	}
	return db.db.Close()
}

// Update runs fn in a read-write transaction; see choso.Store.
func (db *DB) Update(ctx context.Context, fn func(choso.Tx) error) error {
	return db.run(ctx, "update", func() error {
		return db.update(func(tx *Tx) error { return fn(tx) })
	})
}

// Batch runs fn in a transaction it may share with concurrent callers; see
// choso.Store for what fn must promise. The callers queued while one
// transaction commits share the next (group commit, batch.go).
func (db *DB) Batch(ctx context.Context, fn func(choso.Tx) error) error {
	return db.run(ctx, "batch", func() error {
		if db.writer == nil { // read-only: bbolt refuses the write
			return db.update(func(tx *Tx) error { return fn(tx) })
		}
		err := db.writer.submit(func(tx *Tx) error { return fn(tx) })
		if err == groupcommit.ErrClosed {
			return choso.Errorf(choso.EUnavailable, "store is closed")
		}
		return err
	})
}

// View runs fn in a read-only transaction; see choso.Store.
func (db *DB) View(ctx context.Context, fn func(choso.Tx) error) error {
	return db.run(ctx, "view", func() error {
		return db.db.View(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx, db: db}) })
	})
}

// run starts a transaction unless ctx is done or the store is closed. bbolt
// takes no context, so a transaction that has started runs to its end.
func (db *DB) run(ctx context.Context, kind string, txn func() error) error {
	if err := ctx.Err(); err != nil {
		return choso.WrapError(choso.EUnavailable, "request cancelled before the store was reached", err)
	}
	if db.closed.Load() {
		return choso.Errorf(choso.EUnavailable, "store is closed")
	}
	start := time.Now()
	err := translate(txn())
	if db.observeTx != nil {
		db.observeTx(kind, time.Since(start), err)
	}
	return err
}

// Stats reports the file's size, schema version and open read transactions.
func (db *DB) Stats() choso.StoreStats {
	s := choso.StoreStats{OpenTxs: db.db.Stats().OpenTxN}
	if fi, err := os.Stat(db.path); err == nil {
		s.SizeBytes = fi.Size()
	}
	_ = db.db.View(func(tx *bolt.Tx) error {
		s.SchemaVersion = schemaVersion(tx)
		return nil
	})
	return s
}

// translate turns bbolt's and the file system's errors into choso errors at
// the store's boundary. Errors that already are choso errors, and errors the
// caller's fn returned, pass through.
func translate(err error) error {
	var ce *choso.Error
	switch {
	case err == nil, errors.As(err, &ce):
		return err
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return choso.WrapError(choso.EUnavailable, "store is closed", err)
	case errors.Is(err, berrors.ErrDatabaseReadOnly), errors.Is(err, berrors.ErrTxNotWritable),
		errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return choso.WrapError(choso.EUnavailable, "store cannot be written (read-only file or file system)", err)
	case errors.Is(err, berrors.ErrMaxSizeReached):
		return choso.WrapError(choso.EUnavailable, "store reached its maximum size", err)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return choso.WrapError(choso.EUnavailable, "disk full: the store cannot grow", err)
	case errors.Is(err, syscall.EIO):
		return choso.WrapError(choso.EUnavailable, "I/O error on the store's disk", err)
	}
	return err
}
