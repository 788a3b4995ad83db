package qr

import (
	"container/list"
	"sync"
)

// A stall's static code is the same payload every time it is shown or
// printed, and building its matrix is nearly all the cost of an image
// (NewMatrix), so RenderPNG and RenderSVG keep the matrices of recent
// payloads. A Matrix is never changed once built, so one can be shared by
// any number of renderings at once.

// Bounds of the package's matrix cache: at most 256 matrices and 1 Mi
// modules in all (a version 6 code, a typical VietQR, has 1,681; a
// matrix costs a byte per module), so the cache stays near a megabyte
// whatever the payloads.
const (
	matrixCacheEntries = 256
	matrixCacheModules = 1 << 20
)

var matrices = newMatrixCache(matrixCacheEntries, matrixCacheModules)

// matrixCache is a least-recently-used set of matrices keyed by payload and
// level, bounded by count and by total modules. Errors are not kept.
type matrixCache struct {
	mu         sync.Mutex
	maxEntries int
	maxModules int
	modules    int                         // modules held now
	byKey      map[matrixKey]*list.Element // values are *matrixEntry
	lru        list.List                   // most recently used first
}

type matrixKey struct {
	payload string
	level   Level
}

type matrixEntry struct {
	key matrixKey
	m   *Matrix
}

func newMatrixCache(maxEntries, maxModules int) *matrixCache {
	return &matrixCache{maxEntries: maxEntries, maxModules: maxModules, byKey: map[matrixKey]*list.Element{}}
}

// matrix returns the matrix of payload at level, building it on a miss. Two
// misses for the same payload at once both build it; the result is the
// same, so the second simply replaces the first.
func (c *matrixCache) matrix(payload string, level Level) (*Matrix, error) {
	if c == nil {
		return NewMatrix(payload, level)
	}
	k := matrixKey{payload, level}
	c.mu.Lock()
	if e, ok := c.byKey[k]; ok {
		c.lru.MoveToFront(e)
		m := e.Value.(*matrixEntry).m
		c.mu.Unlock()
		return m, nil
	}
	c.mu.Unlock()

	m, err := NewMatrix(payload, level) // outside the lock: it is the slow part
	if err != nil {
		return nil, err
	}
	c.add(k, m)
	return m, nil
}

func (c *matrixCache) add(k matrixKey, m *Matrix) {
	cells := m.size * m.size
	if cells > c.maxModules {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[k]; ok {
		c.lru.MoveToFront(e)
		return
	}
	for c.lru.Len() > 0 && (c.lru.Len() >= c.maxEntries || c.modules+cells > c.maxModules) {
		old := c.lru.Remove(c.lru.Back()).(*matrixEntry)
		delete(c.byKey, old.key)
		c.modules -= old.m.size * old.m.size
	}
	c.byKey[k] = c.lru.PushFront(&matrixEntry{k, m})
	c.modules += cells
}

// len reports how many matrices are kept, and their modules in all.
func (c *matrixCache) len() (entries, modules int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.modules
}
