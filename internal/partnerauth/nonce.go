package partnerauth

import (
	"container/heap"
	"sync"

	"github.com/choso/choso"
)

// nonceCache remembers the nonces of verified requests until their
// timestamps leave the skew window: past that, the timestamp check alone
// rejects a replay. Entries expire by time (a heap ordered by expiry,
// swept on every add) and their number is bounded overall and per key.
type nonceCache struct {
	mu     sync.Mutex
	seen   map[nonceKey]struct{}
	perKey map[string]int
	byExp  expiryHeap
}

// errNonceUsed is the refusal of a replayed request.
func errNonceUsed() error {
	return choso.Errorf(choso.EUnauthorized, "X-Choso-Nonce was already used with this key; send a new nonce with every request, retries included")
}

type nonceKey struct{ keyID, nonce string }

type nonceEntry struct {
	expires int64 // Unix seconds; forgotten once now is past it
	key     nonceKey
}

// add remembers nonce for keyID until expires, or returns an error if it
// is already remembered or memory is at its bound. now is Unix seconds.
func (c *nonceCache) add(now int64, keyID, nonce string, expires int64, maxTotal, maxPerKey int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[nonceKey]struct{}{}
		c.perKey = map[string]int{}
	}
	for len(c.byExp) > 0 && c.byExp[0].expires < now {
		e := heap.Pop(&c.byExp).(nonceEntry)
		delete(c.seen, e.key)
		if n := c.perKey[e.key.keyID] - 1; n > 0 {
			c.perKey[e.key.keyID] = n
		} else {
			delete(c.perKey, e.key.keyID)
		}
	}
	k := nonceKey{keyID, nonce}
	if _, ok := c.seen[k]; ok {
		return errNonceUsed()
	}
	if c.perKey[keyID] >= maxPerKey {
		return choso.Errorf(choso.ERateLimited, "too many requests with key %q in the last minutes; slow down and retry", keyID)
	}
	if len(c.seen) >= maxTotal {
		return choso.Errorf(choso.EUnavailable, "the server is taking too many partner requests; retry shortly")
	}
	c.seen[k] = struct{}{}
	c.perKey[keyID]++
	heap.Push(&c.byExp, nonceEntry{expires: expires, key: k})
	return nil
}

// len returns the number of nonces remembered, for tests.
func (c *nonceCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

type expiryHeap []nonceEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires < h[j].expires }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(nonceEntry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nonceEntry{}
	*h = old[:len(old)-1]
	return e
}
