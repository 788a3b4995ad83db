package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/choso/choso/internal/store/postgres"
	"github.com/choso/choso/internal/store/postgres/pgtest"
)

// openNodes opens n stores on one fresh database, as n nodes would.
func openNodes(t *testing.T, n int, opts postgres.Options) []*postgres.DB {
	t.Helper()
	url := pgtest.NewDatabase(t)
	var dbs []*postgres.DB
	for range n {
		db, err := postgres.Open(context.Background(), url, opts)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	return dbs
}

// Two nodes hammering one bucket hand out exactly its burst between them.
func TestTakeToken_OneBudgetAcrossNodes(t *testing.T) {
	nodes := openNodes(t, 2, postgres.Options{})
	ctx := context.Background()
	var granted, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			ok, wait, err := nodes[i%2].TakeToken(ctx, "login-user:lan", 5, time.Hour)
			switch {
			case err != nil:
				t.Errorf("TakeToken: %v", err)
			case ok:
				granted.Add(1)
			case wait <= 0 || wait > time.Hour:
				t.Errorf("refused with retry after %v, want within (0, 1h]", wait)
			default:
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	if granted.Load() != 5 || refused.Load() != 35 {
		t.Fatalf("granted %d, refused %d of 40; want 5 and 35", granted.Load(), refused.Load())
	}
	// Other buckets are their own.
	if ok, _, err := nodes[1].TakeToken(ctx, "login-user:mai", 5, time.Hour); err != nil || !ok {
		t.Fatalf("another bucket: ok=%v err=%v", ok, err)
	}
	// A reset on one node refills the bucket for both.
	if err := nodes[0].ResetBucket(ctx, "login-user:lan"); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := nodes[1].TakeToken(ctx, "login-user:lan", 5, time.Hour); err != nil || !ok {
		t.Fatalf("after reset: ok=%v err=%v", ok, err)
	}
}

// An empty bucket gains a token back after the interval it says. The
// database's clock refills it: a second take a whole interval after the
// first (a loaded machine stalled between them) may rightly find a token
// again, which proves nothing, so it is tried again on a fresh bucket.
func TestTakeToken_Refills(t *testing.T) {
	db := openNodes(t, 1, postgres.Options{})[0]
	ctx := context.Background()
	const interval = 300 * time.Millisecond
	var bucket string
	var wait time.Duration
	for try := 1; ; try++ {
		bucket = fmt.Sprintf("enroll-ip:10.0.0.%d", try)
		began := time.Now()
		if ok, _, err := db.TakeToken(ctx, bucket, 1, interval); err != nil || !ok {
			t.Fatalf("first: ok=%v err=%v", ok, err)
		}
		ok, w, err := db.TakeToken(ctx, bucket, 1, interval)
		if err == nil && ok && time.Since(began) >= interval && try < 10 {
			continue // an interval or more between the two: refilled, rightly
		}
		if err != nil || ok {
			t.Fatalf("second at once: ok=%v err=%v, want refused", ok, err)
		}
		wait = w
		break
	}
	if wait <= 0 || wait > interval {
		t.Fatalf("retry after %v, want within (0, %v]", wait, interval)
	}
	time.Sleep(wait + 50*time.Millisecond)
	if ok, _, err := db.TakeToken(ctx, bucket, 1, interval); err != nil || !ok {
		t.Fatalf("after waiting %v: ok=%v err=%v", wait, ok, err)
	}
	if _, _, err := db.TakeToken(ctx, "x", 0, interval); err == nil {
		t.Fatal("a burst of 0 was accepted")
	}
}

// Of copies of one request arriving at several nodes at once, exactly one
// nonce is fresh; an expired one may be used again.
func TestRememberNonce_OnceAcrossNodes(t *testing.T) {
	nodes := openNodes(t, 3, postgres.Options{})
	ctx := context.Background()
	expires := time.Now().Add(5 * time.Minute)
	var fresh atomic.Int64
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			ok, err := nodes[i%3].RememberNonce(ctx, "bank-1", "n0nce-0123456789ab", expires)
			if err != nil {
				t.Errorf("RememberNonce: %v", err)
			}
			if ok {
				fresh.Add(1)
			}
		})
	}
	wg.Wait()
	if fresh.Load() != 1 {
		t.Fatalf("%d of 24 copies were fresh, want 1", fresh.Load())
	}
	// The same nonce under another key is another request.
	if ok, err := nodes[0].RememberNonce(ctx, "bank-2", "n0nce-0123456789ab", expires); err != nil || !ok {
		t.Fatalf("other key: ok=%v err=%v", ok, err)
	}
	past := time.Now().Add(-time.Second)
	if ok, err := nodes[0].RememberNonce(ctx, "bank-1", "expired-0123456789", past); err != nil || !ok {
		t.Fatalf("expired, first: ok=%v err=%v", ok, err)
	}
	if ok, err := nodes[1].RememberNonce(ctx, "bank-1", "expired-0123456789", expires); err != nil || !ok {
		t.Fatalf("expired row taken over: ok=%v err=%v, want fresh", ok, err)
	}
	if ok, err := nodes[2].RememberNonce(ctx, "bank-1", "expired-0123456789", expires); err != nil || ok {
		t.Fatalf("after takeover: ok=%v err=%v, want a replay", ok, err)
	}
}

// The sweep removes expired nonces and refilled buckets, and nothing live.
func TestGuards_Sweep(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	db := openNodes(t, 1, postgres.Options{Now: clock})[0]
	ctx := context.Background()
	if _, err := db.RememberNonce(ctx, "k", "old-nonce-0123456789", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RememberNonce(ctx, "k", "live-nonce-0123456789", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.TakeToken(ctx, "refilled", 1, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.TakeToken(ctx, "draining", 1, time.Hour); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // "refilled" is full again
	mu.Lock()
	now = now.Add(2 * time.Minute) // the next call sweeps
	mu.Unlock()
	if _, err := db.RememberNonce(ctx, "k", "trigger-0123456789ab", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	nonces, buckets, err := db.GuardRows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if nonces != 2 || buckets != 1 {
		t.Fatalf("after the sweep: %d nonces and %d buckets, want 2 (live, trigger) and 1 (draining)", nonces, buckets)
	}
}
