package groupcommit

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// Callers queued while a group runs share the next one, never more than
// max of them; every caller gets what run gave it.
func TestQueue_GroupsCallersUpToMax(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var sizes []int
	first := true
	q := Start(3, func(calls []*Call[int]) {
		mu.Lock()
		sizes = append(sizes, len(calls))
		wait := first
		first = false
		mu.Unlock()
		if wait {
			<-release // hold the writer so the others queue up
		}
		for _, c := range calls {
			if c.Fn%2 == 0 {
				c.Done(nil)
			} else {
				c.Done(ErrTrySolo)
			}
		}
	})
	var wg sync.WaitGroup
	errs := make([]error, 8)
	wg.Go(func() { errs[0] = q.Submit(0) })
	for { // the first call is running alone
		mu.Lock()
		started := len(sizes) == 1
		mu.Unlock()
		if started {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for i := 1; i < 8; i++ {
		wg.Go(func() { errs[i] = q.Submit(i) })
	}
	for { // wait until all seven are queued
		q.mu.Lock()
		n := len(q.pending)
		q.mu.Unlock()
		if n == 7 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != 4 || sizes[0] != 1 || sizes[1] != 3 || sizes[2] != 3 || sizes[3] != 1 {
		t.Fatalf("group sizes %v, want [1 3 3 1]", sizes)
	}
	for i, err := range errs {
		if want := map[bool]error{true: nil, false: ErrTrySolo}[i%2 == 0]; err != want {
			t.Errorf("caller %d: got %v, want %v", i, err, want)
		}
	}
	q.Close()
	if err := q.Submit(2); err != ErrClosed {
		t.Fatalf("Submit after Close: got %v, want ErrClosed", err)
	}
}

func TestSafelyCall(t *testing.T) {
	if err := SafelyCall(func() error { panic("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("panic: got %v, want an error naming it", err)
	}
	want := errors.New("own")
	if err := SafelyCall(func() error { return want }); err != want {
		t.Fatalf("error: got %v, want %v", err, want)
	}
}
