package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/choso/choso/internal/store/bolt"
)

// Two nodes run the same leased worker: it runs on one at a time, and when
// the holder stops, the other takes over.
//
// The term is far longer than the test, so that a holder's renewal
// delayed by a loaded machine (a bolt commit waits for the disk) never
// lets the lease lapse under it; renewals and retries come every 50 ms,
// and the handover is the stopping holder's release, not the term's end.
func TestRunLeased_OneNodeAtATimeAndHandover(t *testing.T) {
	leaseTerm, leaseRenew = time.Minute, 50*time.Millisecond
	t.Cleanup(func() { leaseTerm, leaseRenew = 30*time.Second, 10*time.Second })
	db, err := bolt.Open(filepath.Join(t.TempDir(), "choso.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.DiscardHandler)
	var running, most atomic.Int32
	ran := map[string]*atomic.Int32{"a": {}, "b": {}}
	work := func(node string) func(context.Context) {
		return func(ctx context.Context) {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			ran[node].Add(1)
			<-ctx.Done()
			running.Add(-1)
		}
	}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { // a failing test stops its nodes before the terms go back
		stopA()
		stopB()
		wg.Wait()
	})
	wg.Go(func() { runLeased(ctxA, db, "finalizer", "a", log, work("a")) })
	waitFor(t, "a to take the lease first", func() bool { return ran["a"].Load() == 1 })
	wg.Go(func() { runLeased(ctxB, db, "finalizer", "b", log, work("b")) })
	time.Sleep(500 * time.Millisecond)
	if ran["a"].Load() != 1 || ran["b"].Load() != 0 {
		t.Fatalf("before the handover: a ran %d times, b %d; want a alone", ran["a"].Load(), ran["b"].Load())
	}
	stopA() // a shuts down and releases the lease
	deadline := time.Now().Add(5 * time.Second)
	for ran["b"].Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if ran["b"].Load() != 1 {
		t.Fatal("b did not take over after a stopped")
	}
	stopB()
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("the worker ran on %d nodes at once", most.Load())
	}
}
