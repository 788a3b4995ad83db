package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/choso/choso"
)

var batchTests = []testCase{
	{"Batch_ConcurrentCallersAllCommit", testBatchAllCommit},
	{"Batch_FailingFnRollsBackOnlyItself", testBatchFailingFnRollsBackOnlyItself},
	{"Batch_FnRunAgainReturnsWhatCommitted", testBatchRerunSafety},
	{"Batch_PanickingFnRollsBackAndPanicsInItsCaller", testBatchPanic},
	{"Batch_CancelledContext_RunsNothing", testBatchCancelledContext},
}

// runBatches calls Batch from n goroutines at once, with fn(i) for the
// i-th, and returns each caller's error.
func runBatches(t *testing.T, s choso.Store, n int, fn func(i int) func(choso.Tx) error) []error {
	t.Helper()
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.Batch(context.Background(), fn(i))
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// batchDevice is the device ID the i-th Batch caller writes events for.
func batchDevice(i int) string { return fmt.Sprintf("dev_b%03d", i) }

// eventsByDevice reads the whole event log and returns the server seqs of
// each device's events.
func eventsByDevice(t *testing.T, s choso.Store) map[string][]uint64 {
	t.Helper()
	by := map[string][]uint64{}
	view(t, s, func(tx choso.Tx) error {
		list, err := tx.ListEvents(0, 1000)
		for _, e := range list {
			by[e.DeviceID] = append(by[e.DeviceID], e.ServerSeq)
		}
		return err
	})
	return by
}

func testBatchAllCommit(t *testing.T, h Harness) {
	s := open(t, h)
	const n = 48
	errs := runBatches(t, s, n, func(i int) func(choso.Tx) error {
		return func(tx choso.Tx) error {
			if err := tx.SetMeta("caller"+strconv.Itoa(i), []byte("ok")); err != nil {
				return err
			}
			_, err := tx.AppendEvent(newEvent(batchDevice(i), 1))
			return err
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Batch caller %d: got %v, want nil", i, err)
		}
	}
	by := eventsByDevice(t, s)
	for i := range n {
		if got := string(getMeta(t, s, "caller"+strconv.Itoa(i))); got != "ok" {
			t.Errorf("Meta(caller%d) after Batch: got %q, want %q", i, got, "ok")
		}
		if got := len(by[batchDevice(i)]); got != 1 {
			t.Errorf("events of caller %d after Batch: got %d, want 1", i, got)
		}
	}
}

func testBatchFailingFnRollsBackOnlyItself(t *testing.T, h Harness) {
	s := open(t, h)
	const n = 32
	errBoom := errors.New("boom")
	fails := func(i int) bool { return i%5 == 2 }
	errs := runBatches(t, s, n, func(i int) func(choso.Tx) error {
		return func(tx choso.Tx) error {
			if err := tx.SetMeta("caller"+strconv.Itoa(i), []byte("written")); err != nil {
				return err
			}
			if _, err := tx.AppendEvent(newEvent(batchDevice(i), 1)); err != nil {
				return err
			}
			if fails(i) {
				return fmt.Errorf("caller %d: %w", i, errBoom)
			}
			return nil
		}
	})
	by := eventsByDevice(t, s)
	var seqs []uint64
	for i, err := range errs {
		meta := getMeta(t, s, "caller"+strconv.Itoa(i))
		events := by[batchDevice(i)]
		seqs = append(seqs, events...)
		if fails(i) {
			if !errors.Is(err, errBoom) {
				t.Errorf("failing Batch caller %d: got %v, want its own error", i, err)
			}
			if meta != nil || len(events) != 0 {
				t.Errorf("failing Batch caller %d: got Meta %q and %d events stored, want nothing", i, meta, len(events))
			}
			continue
		}
		if err != nil {
			t.Errorf("Batch caller %d beside failing ones: got %v, want nil", i, err)
		}
		if string(meta) != "written" || len(events) != 1 {
			t.Errorf("Batch caller %d beside failing ones: got Meta %q and %d events stored, want %q and 1", i, meta, len(events), "written")
		}
	}
	// The failed callers' appends were rolled back with them: no holes.
	slices.Sort(seqs)
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("server seqs after Batch with failing callers: got %v, want no hole", seqs)
		}
	}
}

// testBatchRerunSafety checks that a fn that follows Batch's rules (derive
// everything from tx, reset what it returns at its start) hands its caller
// exactly what committed, even when a failing neighbour makes the store run
// it again: each caller bumps a shared counter and appends an event, and
// the values they report must be the stored ones, none twice.
func testBatchRerunSafety(t *testing.T, h Harness) {
	s := open(t, h)
	const n = 24
	type report struct {
		counter int
		seq     uint64
		runs    int
	}
	reports := make([]report, n)
	errBoom := errors.New("boom")
	errs := runBatches(t, s, n, func(i int) func(choso.Tx) error {
		r := &reports[i]
		return func(tx choso.Tx) error {
			r.runs++ // the only thing a fn may keep across runs: it is the test's
			r.counter, r.seq = 0, 0
			v, err := tx.Meta("counter")
			if err != nil {
				return err
			}
			c, _ := strconv.Atoi(string(v))
			if err := tx.SetMeta("counter", []byte(strconv.Itoa(c+1))); err != nil {
				return err
			}
			seq, err := tx.AppendEvent(newEvent(batchDevice(i), 1))
			if err != nil {
				return err
			}
			if i == n/2 {
				return errBoom
			}
			r.counter, r.seq = c+1, seq
			return nil
		}
	})
	if !errors.Is(errs[n/2], errBoom) {
		t.Fatalf("failing Batch caller: got %v, want its own error", errs[n/2])
	}
	by := eventsByDevice(t, s)
	var counters []int
	for i, r := range reports {
		if i == n/2 {
			continue
		}
		if errs[i] != nil {
			t.Fatalf("Batch caller %d: got %v, want nil", i, errs[i])
		}
		if r.runs < 1 {
			t.Fatalf("Batch caller %d: fn ran %d times, want at least once", i, r.runs)
		}
		if got := by[batchDevice(i)]; len(got) != 1 || got[0] != r.seq {
			t.Errorf("Batch caller %d: reported server seq %d, stored %v; want the stored one", i, r.seq, got)
		}
		counters = append(counters, r.counter)
	}
	slices.Sort(counters)
	for i, c := range counters {
		if c != i+1 {
			t.Fatalf("counter values the callers report: got %v, want 1…%d each once", counters, n-1)
		}
	}
	if got, want := string(getMeta(t, s, "counter")), strconv.Itoa(n-1); got != want {
		t.Fatalf("counter after Batch: got %s, want %s", got, want)
	}
}

func testBatchPanic(t *testing.T, h Harness) {
	s := open(t, h)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("Batch swallowed the fn's panic, want it re-raised in the caller")
			}
		}()
		_ = s.Batch(context.Background(), func(tx choso.Tx) error {
			if err := tx.SetMeta("k", []byte("written before the panic")); err != nil {
				return err
			}
			if _, err := tx.AppendEvent(newEvent(devRau1.ID, 1)); err != nil {
				return err
			}
			panic("handler bug")
		})
	}()
	if got := getMeta(t, s, "k"); got != nil {
		t.Fatalf("after panic Meta(k): got %q, want nil", got)
	}
	if got := eventsByDevice(t, s); len(got) != 0 {
		t.Fatalf("after panic: got events %v, want none", got)
	}
	if err := s.Batch(context.Background(), func(tx choso.Tx) error { return tx.SetMeta("k", []byte("v")) }); err != nil {
		t.Fatalf("Batch after a panic: got %v, want nil (the store still usable)", err)
	}
}

func testBatchCancelledContext(t *testing.T, h Harness) {
	s := open(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := s.Batch(ctx, func(tx choso.Tx) error { called = true; return nil })
	wantCode(t, "Batch with cancelled ctx", err, choso.EUnavailable)
	if called {
		t.Fatal("Batch with cancelled ctx ran fn")
	}
}
