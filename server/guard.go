package server

import (
	"context"
	"net"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/auth"
)

// attemptGuard limits attempts per key (a network, a username, a stall)
// against brute force. On one node the buckets live in this process
// (auth.Limiter). When the store is shared by several nodes
// (choso.SharedGuards) they live in the store, so an attacker has one
// budget for the cluster rather than one per node behind the balancer.
type attemptGuard struct {
	name   string // the bucket's prefix in the shared store: "login-ip"
	burst  int
	every  time.Duration
	local  *auth.Limiter
	shared choso.SharedGuards
}

func newAttemptGuard(name string, burst int, every time.Duration, now func() time.Time, shared choso.SharedGuards) *attemptGuard {
	g := &attemptGuard{name: name, burst: burst, every: every, shared: shared}
	if shared == nil {
		g.local = auth.NewLimiter(burst, every, now)
	}
	return g
}

// allow takes an attempt for key. It fails closed: when the shared store
// cannot answer, the attempt is refused with the store's error.
func (g *attemptGuard) allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error) {
	if g.shared != nil {
		return g.shared.TakeToken(ctx, g.name+":"+key, g.burst, g.every)
	}
	ok, retryAfter = g.local.Allow(key)
	return ok, retryAfter, nil
}

// reset gives key its whole budget back (after a successful sign-in).
func (g *attemptGuard) reset(ctx context.Context, key string) error {
	if g.shared != nil {
		return g.shared.ResetBucket(ctx, g.name+":"+key)
	}
	g.local.Reset(key)
	return nil
}

// sharedGuards returns the store's cluster-wide guards, or nil when the
// store belongs to this node alone.
func sharedGuards(store choso.Store) choso.SharedGuards {
	g, _ := store.(choso.SharedGuards)
	return g
}

// networkKey is the budget an address draws on for the per-network limits
// (sign-in, enrollment): an IPv4 address alone, an IPv6 address's /64. A
// phone on a carrier's IPv6 is given a whole /64 and may take any address
// in it, so keyed by the full address each try would bring a fresh budget.
func networkKey(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil || ip.To4() != nil {
		return addr
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
