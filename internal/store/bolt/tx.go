package bolt

import (
	"maps"
	"slices"
	"sync"

	"github.com/choso/choso"
	bolt "go.etcd.io/bbolt"
)

// Tx is one bbolt transaction seen through choso.Tx. Each noun adds its
// methods in its own file.
type Tx struct {
	tx *bolt.Tx
	db *DB

	// Writes held back until the transaction commits (flush), so that they
	// reach bbolt in key order. A group commit applies thousands of events
	// from dozens of phones, whose ULIDs and QR-sale keys interleave: put as
	// they come, each lands mid-node, and bbolt moves every key after it in
	// that node's in-memory copy, so a transaction's cost grew with the square
	// of its size. Reads of these buckets see the held writes (FindEntity
	// looks here first; ListQRSales flushes before it scans).
	entities map[string][]byte // entity key (entitykey.go) → encoded entity
	qrSales  [][]byte          // QR-sale index keys, one a sale, written in runs (credit.go)
	events   eventRun          // appended events not yet written (eventrun.go)

	// arena holds the bytes of the held entities, QR-sale keys and runs, cut from
	// chunks rather than allocated one by one: bbolt keeps a value it is
	// given (not a key) until the transaction ends, and so does the Tx.
	// chunks are the chunks cut so far, which release gives back for the
	// next transaction once bbolt's has ended.
	arena  []byte
	chunks []*[arenaChunk]byte
}

// arenaChunk is the size of the arena's chunks.
const arenaChunk = 64 << 10

// arenaChunks are chunks no transaction holds. A group commit cuts a few
// hundred kilobytes from them, and allocating them anew each time was a
// sixth of what the single writer allocated.
var arenaChunks = sync.Pool{New: func() any { return new([arenaChunk]byte) }}

// hold returns an empty slice of capacity n cut from the arena. Appending
// past n moves the slice to memory of its own, so it never writes over
// the next one.
func (tx *Tx) hold(n int) []byte {
	if n > arenaChunk/8 {
		return make([]byte, 0, n)
	}
	if cap(tx.arena)-len(tx.arena) < n {
		c := arenaChunks.Get().(*[arenaChunk]byte)
		tx.chunks = append(tx.chunks, c)
		tx.arena = c[:0:arenaChunk]
	}
	start := len(tx.arena)
	tx.arena = tx.arena[:start+n]
	return tx.arena[start : start : start+n]
}

// release gives the arena's chunks back. Call it only after the bbolt
// transaction has ended, committed or not: until then bbolt may hold any
// value cut from them. Nothing read from the store keeps them: the
// decoders copy what they return.
func (tx *Tx) release() {
	for _, c := range tx.chunks {
		arenaChunks.Put(c)
	}
	tx.chunks, tx.arena = nil, nil
}

var _ choso.Tx = (*Tx)(nil)

// update runs fn in a bbolt write transaction through a Tx, and writes what
// the Tx held back before bbolt commits.
func (db *DB) update(fn func(*Tx) error) error {
	var tx *Tx
	defer func() {
		if tx != nil {
			tx.release()
		}
	}()
	return db.db.Update(func(btx *bolt.Tx) error {
		tx = &Tx{tx: btx, db: db}
		if err := fn(tx); err != nil {
			return err
		}
		return tx.flush()
	})
}

// flush puts the held-back writes in key order.
func (tx *Tx) flush() error {
	if err := tx.flushEvents(); err != nil {
		return err
	}
	if len(tx.entities) > 0 {
		// A push appends to the end of its outbox's run of keys (entitykey.go).
		b := tx.bucketFilled(bucketEntities, mostlyAppendFill)
		// bbolt copies each key it puts, so one buffer serves them all.
		var key []byte
		for _, k := range slices.Sorted(maps.Keys(tx.entities)) {
			key = append(key[:0], k...)
			if err := b.Put(key, tx.entities[k]); err != nil {
				return err
			}
		}
		clear(tx.entities)
		tx.db.spareEntities, tx.entities = tx.entities, nil // for the next write transaction
	}
	if len(tx.qrSales) > 0 {
		return tx.flushQRSales()
	}
	return nil
}

// bucket returns a bucket that Open created. A missing bucket is a bug in
// the schema list, not a condition callers handle, so it panics; Update turns
// the panic into a rolled-back transaction.
func (tx *Tx) bucket(name []byte) *bolt.Bucket {
	b := tx.tx.Bucket(name)
	if b == nil {
		panic("bolt: bucket " + string(name) + " missing: add it to the schema")
	}
	return b
}

// writable returns EInvalid in a read-only transaction.
func (tx *Tx) writable() error {
	if !tx.tx.Writable() {
		return choso.Errorf(choso.EInvalid, "write in a read-only transaction")
	}
	return nil
}

// copyBytes returns a copy of b, which bbolt owns only until the transaction ends.
func copyBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
