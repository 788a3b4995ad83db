// The entity filter: which client ULIDs the store may hold.

package bolt

import (
	"bytes"
	"hash/maphash"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// Nearly every event a phone pushes is new, so the applier's lookup of its
// ULID in the entity index finds nothing; yet each lookup walked the tree
// from its root to a leaf on the single writer (BENCHMARKS.md, issue 5).
//
// entityFilter is a Bloom filter of every ULID in the index: "certainly not
// stored" needs no read. It never says that of a ULID that is stored:
//
//   - Open starts loading the ULIDs already stored, and until every one is
//     in, the filter is not ready and lookups read the index as before.
//   - PutEntity adds its ULID before its transaction can commit, from the
//     moment Open returns, whether or not the load is done.
//
// A ULID of a transaction that rolled back stays in the filter, which only
// costs a lookup that finds nothing.
//
// Only write transactions ask it. They run one at a time under bbolt's
// writer lock, so the layers need no lock; the bits are atomic because the
// loader sets them while writers do.
//
// It grows in layers (a scalable Bloom filter): when the newest layer holds
// its capacity, a layer of twice the capacity takes the new ULIDs, and a
// lookup asks every layer. No layer is rebuilt, so no write waits for a scan
// of the index.
type entityFilter struct {
	seed   maphash.Seed
	layers []*filterLayer // appended to by write transactions only
	ready  atomic.Bool    // every ULID stored before Open returned is in
}

const (
	// filterBitsPerKey and filterHashes give each layer, full, a false
	// positive rate of about 0.05 %: (1 − e^(−11/16))^11. Layers double, so
	// even ten of them stay under 1 %.
	filterBitsPerKey = 16
	filterHashes     = 11

	// minFilterCapacity is the first layer's least capacity in ULIDs
	// (128 KiB).
	minFilterCapacity = 1 << 16

	// filterLoadChunk is how many ULIDs the loader reads in one read
	// transaction: a short one each, so that no read transaction is held
	// open for the length of the load (on a cold cache, a minute for ten
	// million), which would hold back page reuse and any remap of the file.
	filterLoadChunk = 10_000
)

// filterLayer is one Bloom filter of a fixed size, a power of two in bits.
type filterLayer struct {
	bits     []atomic.Uint64
	mask     uint64 // bits in the layer − 1
	capacity int64  // ULIDs it takes before the next layer opens
	n        atomic.Int64
}

func newFilterLayer(capacity int64) *filterLayer {
	m := uint64(64)
	for m < uint64(capacity)*filterBitsPerKey {
		m <<= 1
	}
	return &filterLayer{bits: make([]atomic.Uint64, m/64), mask: m - 1, capacity: capacity}
}

// probe returns the word and bit of hash h's i-th probe (Kirsch and
// Mitzenmacher: the two halves of one hash make every probe; the step is
// odd, so on a power-of-two size the probes are distinct).
func (l *filterLayer) probe(h, i uint64) (int, uint64) {
	p := (h + i*(h>>32|1)) & l.mask
	return int(p / 64), 1 << (p % 64)
}

func (l *filterLayer) add(h uint64) {
	for i := range uint64(filterHashes) {
		w, b := l.probe(h, i)
		l.bits[w].Or(b)
	}
	l.n.Add(1)
}

func (l *filterLayer) mayHold(h uint64) bool {
	for i := range uint64(filterHashes) {
		if w, b := l.probe(h, i); l.bits[w].Load()&b == 0 {
			return false
		}
	}
	return true
}

// newEntityFilter returns an empty filter, not ready, whose first layer
// takes capacity ULIDs.
func newEntityFilter(capacity int64) *entityFilter {
	return &entityFilter{seed: maphash.MakeSeed(), layers: []*filterLayer{newFilterLayer(max(capacity, minFilterCapacity))}}
}

// add records id as possibly stored. Write transactions only. An ID the
// filter already answers "may be stored" for is not added again: its bits
// stay set for good, and a sale put again when it is voided or paid would
// otherwise fill the layers twice as fast.
func (f *entityFilter) add(id string) {
	h := maphash.String(f.seed, id)
	if f.mayHoldHash(h) {
		return
	}
	last := f.layers[len(f.layers)-1]
	if last.n.Load() >= last.capacity {
		last = newFilterLayer(2 * last.capacity)
		f.layers = append(f.layers, last)
	}
	last.add(h)
}

// mayHold reports whether id may be stored; false means it certainly is
// not. Write transactions only; a lookup trusts it only once it is ready.
func (f *entityFilter) mayHold(id string) bool {
	return f.mayHoldHash(maphash.String(f.seed, id))
}

func (f *entityFilter) mayHoldHash(h uint64) bool {
	for _, l := range f.layers {
		if l.mayHold(h) {
			return true
		}
	}
	return false
}

// load adds every ULID of the entity index to first, a chunk at a time,
// and marks f ready. It runs beside write transactions: a ULID a write
// stores meanwhile is added by its PutEntity, and one stored before Open
// returned is in every chunk's snapshot, as the index never loses a key.
// It gives up, leaving f not ready, when stop closes or a read fails.
func (f *entityFilter) load(db *bolt.DB, first *filterLayer, stop <-chan struct{}) {
	var after, id []byte
	for {
		select {
		case <-stop:
			return
		default:
		}
		n := 0
		err := db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketEntities).Cursor()
			k, _ := c.First()
			if after != nil {
				k, _ = c.Seek(after)
				if bytes.Equal(k, after) {
					k, _ = c.Next()
				}
			}
			for ; k != nil && n < filterLoadChunk; k, _ = c.Next() {
				id = entityID(id[:0], k)
				first.add(maphash.Bytes(f.seed, id))
				after = append(after[:0], k...)
				n++
			}
			return nil
		})
		if err != nil {
			return
		}
		if n < filterLoadChunk {
			f.ready.Store(true)
			return
		}
	}
}
