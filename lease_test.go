package choso_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/bolt"
)

func TestLease_OneHolderAtATime(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "choso.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	take := func(holder string, at time.Time) bool {
		t.Helper()
		ok, err := choso.TakeLease(ctx, db, "finalizer", holder, at, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for i, step := range []struct {
		holder string
		at     time.Duration
		want   bool
	}{
		{"node-a", 0, true},
		{"node-b", 10 * time.Second, false},  // a holds it
		{"node-a", 30 * time.Second, true},   // a renews: until 1m30s
		{"node-b", 80 * time.Second, false},  // still a's
		{"node-b", 91 * time.Second, true},   // a stopped renewing
		{"node-a", 100 * time.Second, false}, // now b's
		{"node-b", 100 * time.Second, true},  // b renews
	} {
		if got := take(step.holder, now.Add(step.at)); got != step.want {
			t.Fatalf("step %d: %s at +%v got %v, want %v", i, step.holder, step.at, got, step.want)
		}
	}
	l, err := choso.FindLease(ctx, db, "finalizer")
	if err != nil || l.Holder != "node-b" || !l.Until.Equal(now.Add(160*time.Second)) {
		t.Fatalf("lease = %+v, %v", l, err)
	}
	// A release lets another node in at once; a release by a non-holder does nothing.
	if err := choso.ReleaseLease(ctx, db, "finalizer", "node-a"); err != nil {
		t.Fatal(err)
	}
	if take("node-a", now.Add(101*time.Second)) {
		t.Fatal("node-a took a lease node-b holds after releasing nothing")
	}
	if err := choso.ReleaseLease(ctx, db, "finalizer", "node-b"); err != nil {
		t.Fatal(err)
	}
	if !take("node-a", now.Add(102*time.Second)) {
		t.Fatal("node-a could not take a released lease")
	}
	if _, err := choso.TakeLease(ctx, db, "", "node-a", now, time.Minute); choso.ErrorCode(err) != choso.EInvalid {
		t.Fatalf("a lease without a name: %v", err)
	}
}

// Many nodes racing for a free lease: exactly one gets it.
func TestLease_RaceHasOneWinner(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "choso.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Now()
	var winners atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ok, err := choso.TakeLease(context.Background(), db, "webhooks", fmt.Sprintf("node-%d", i), now, time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				winners.Add(1)
			}
		})
	}
	wg.Wait()
	if n := winners.Load(); n != 1 {
		t.Fatalf("%d nodes hold the lease, want 1", n)
	}
}
