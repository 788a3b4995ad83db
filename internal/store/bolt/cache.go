// A cache of decoded JSON records, by their stored bytes.

package bolt

import (
	"bytes"
	"slices"
	"sync"

	"github.com/choso/choso"
)

// Every push reads its device, stall and market, stored as JSON, and
// decoding them was a tenth of the single writer's time. A decodeCache
// keeps the last decoded value of each record with the bytes it came
// from: a read whose stored bytes are those bytes gets a deep copy of the
// value instead of decoding again. Keyed by the bytes, it can never serve a
// value the store no longer holds, whatever transaction wrote it.
type decodeCache[T any] struct {
	mu    sync.Mutex
	m     map[string]cached[T]
	clone func(*T) *T
}

type cached[T any] struct {
	raw []byte
	v   *T
}

// maxCached bounds each cache; past it an arbitrary entry makes room.
const maxCached = 4096

func newDecodeCache[T any](clone func(*T) *T) *decodeCache[T] {
	return &decodeCache[T]{m: make(map[string]cached[T]), clone: clone}
}

// get returns a copy of the value decoded from raw under id, if cached.
func (c *decodeCache[T]) get(id string, raw []byte) (*T, bool) {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if !ok || !bytes.Equal(e.raw, raw) {
		return nil, false
	}
	return c.clone(e.v), true
}

// put remembers v as decoded from raw under id. raw may belong to bbolt:
// put copies it, and keeps a copy of v, which the caller owns.
func (c *decodeCache[T]) put(id string, raw []byte, v *T) {
	e := cached[T]{raw: bytes.Clone(raw), v: c.clone(v)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; !ok && len(c.m) >= maxCached {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[id] = e
}

// The deep copies: every pointer, slice and map of the type gets its own.
// TestDecodeCache_ClonesShareNothing fails when a field is added that a
// clone would share.

func cloneMarket(m *choso.Market) *choso.Market {
	c := *m
	return &c
}

func cloneStall(s *choso.Stall) *choso.Stall {
	c := *s
	if s.PendingPayout != nil {
		p := *s.PendingPayout
		c.PendingPayout = &p
	}
	if s.ErasedAt != nil {
		t := *s.ErasedAt
		c.ErasedAt = &t
	}
	c.FormerPayouts = slices.Clone(s.FormerPayouts)
	return &c
}

func cloneDevice(d *choso.Device) *choso.Device {
	c := *d
	c.TokenHash, c.PrevTokenHash = bytes.Clone(d.TokenHash), bytes.Clone(d.PrevTokenHash)
	if d.RevokedAt != nil {
		t := *d.RevokedAt
		c.RevokedAt = &t
	}
	c.Flags = slices.Clone(d.Flags)
	c.Replaces = slices.Clone(d.Replaces)
	return &c
}
