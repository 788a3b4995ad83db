// Group commit: a node's Batch callers share transactions.

package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/choso/choso"
)

// maxGroupCalls bounds the callers one transaction serves, as the bbolt
// store's writer does, so one group's latency stays bounded in a storm.
const maxGroupCalls = 64

// A push holds the sequencer lock from its first statement to its commit,
// so no two pushes of the cluster commit at once and PostgreSQL's own
// group commit never gets two to flush together: each push paid the lock
// hand-over, the round trips and a WAL flush alone. The group writer runs
// every Batch caller queued on this node since its last transaction in the
// next one, so one lock hold and one flush serve them all.
type groupWriter struct {
	db      *DB
	mu      sync.Mutex
	pending []*groupCall
	closed  bool
	wake    chan struct{} // capacity 1: a queued caller or a close
	stopped chan struct{} // closed when the goroutine has returned
}

type groupCall struct {
	fn   func(choso.Tx) error
	done chan error // buffered: the writer never blocks on a caller
}

// errTrySolo tells a caller whose function failed inside a group to run it
// again alone: its error may have come from another caller's writes.
var errTrySolo = errors.New("postgres: run the batch function alone")

func newGroupWriter(db *DB) *groupWriter {
	w := &groupWriter{db: db, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go w.loop()
	return w
}

// submit queues fn for the next group and waits for its transaction. A
// caller whose ctx ends while it waits still gets its function's outcome:
// the transaction may be committing, and its answer must not be a guess.
func (w *groupWriter) submit(ctx context.Context, fn func(choso.Tx) error) error {
	c := &groupCall{fn: fn, done: make(chan error, 1)}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return choso.Errorf(choso.EUnavailable, "store is closed")
	}
	w.pending = append(w.pending, c)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // already woken
	}
	err := <-c.done
	if err == errTrySolo {
		err = w.db.runLockFirst(ctx, "batch", fn)
	}
	return err
}

// close stops the goroutine once the queue is empty. The store is already
// marked closed, so calls still queued fail with EUnavailable, as a push
// arriving after Close does, and their phones send them again.
func (w *groupWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.stopped
}

func (w *groupWriter) loop() {
	defer close(w.stopped)
	for {
		w.mu.Lock()
		calls := w.pending
		if len(calls) > maxGroupCalls {
			calls = calls[:maxGroupCalls:maxGroupCalls]
			w.pending = w.pending[maxGroupCalls:]
		} else {
			w.pending = nil
		}
		closed := w.closed
		w.mu.Unlock()
		if len(calls) == 0 {
			if closed {
				return
			}
			<-w.wake
			continue
		}
		w.run(calls)
	}
}

// run commits calls in one transaction, which takes the sequencer lock
// first (see Batch) and is run again whole after a serialization failure.
// When a function fails for a reason of its own the group is rolled back;
// that caller runs its function again alone and the rest run together.
func (w *groupWriter) run(calls []*groupCall) {
	for len(calls) > 0 {
		failed := -1
		err := w.db.runLockFirst(context.Background(), "batch", func(tx choso.Tx) error {
			failed = -1
			for i, c := range calls {
				if err := safelyCall(c.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			calls[failed].done <- errTrySolo
			calls = append(calls[:failed], calls[failed+1:]...)
			continue
		}
		for _, c := range calls {
			c.done <- err
		}
		return
	}
}

// safelyCall turns a panic in fn into an error, so that one caller's bug
// rolls back its group instead of killing the writer.
func safelyCall(fn func(choso.Tx) error, tx choso.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in a batch function: %v", p)
		}
	}()
	return fn(tx)
}
