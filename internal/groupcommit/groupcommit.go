// Package groupcommit queues a store's Batch callers for one writer
// goroutine, which runs every caller queued since its last transaction in
// the next one: while a transaction commits the next group gathers, so no
// caller waits on a timer and the writer never idles while callers wait.
// Both stores use it (bbolt for its single writer, PostgreSQL for the
// sequencer lock every push holds); each says how a group is run.
package groupcommit

import (
	"errors"
	"fmt"
	"sync"
)

// ErrTrySolo tells a caller whose function failed inside a group to run
// it again alone: its error may have come from another caller's writes.
var ErrTrySolo = errors.New("groupcommit: run the function alone")

// ErrClosed is Submit's answer once the queue is closed.
var ErrClosed = errors.New("groupcommit: the store is closed")

// Call is one queued caller.
type Call[F any] struct {
	Fn   F
	done chan error // buffered: the writer never blocks on a caller
}

// Done gives the caller its function's outcome (ErrTrySolo included).
func (c *Call[F]) Done(err error) { c.done <- err }

// Queue hands queued calls to run, at most max at a time, from one
// goroutine.
type Queue[F any] struct {
	max int
	run func([]*Call[F])

	mu      sync.Mutex
	pending []*Call[F]
	closed  bool
	wake    chan struct{} // capacity 1: a queued caller or a close
	stopped chan struct{} // closed when the goroutine has returned
}

// Start starts the writer goroutine. run must call Done on every call it
// is given, once.
func Start[F any](max int, run func([]*Call[F])) *Queue[F] {
	q := &Queue[F]{max: max, run: run, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go q.loop()
	return q
}

// Submit queues fn for the next group and waits for its outcome: run's
// error, ErrTrySolo, or ErrClosed after Close.
func (q *Queue[F]) Submit(fn F) error {
	c := &Call[F]{Fn: fn, done: make(chan error, 1)}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	q.pending = append(q.pending, c)
	q.mu.Unlock()
	q.poke()
	return <-c.done
}

// Close runs what is queued and stops the goroutine.
func (q *Queue[F]) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.poke()
	<-q.stopped
}

func (q *Queue[F]) poke() {
	select {
	case q.wake <- struct{}{}:
	default: // already woken
	}
}

func (q *Queue[F]) loop() {
	defer close(q.stopped)
	for {
		q.mu.Lock()
		calls := q.pending
		if len(calls) > q.max {
			calls = calls[:q.max:q.max]
			q.pending = q.pending[q.max:]
		} else {
			q.pending = nil
		}
		closed := q.closed
		q.mu.Unlock()
		if len(calls) == 0 {
			if closed {
				return
			}
			<-q.wake
			continue
		}
		q.run(calls)
	}
}

// SafelyCall runs fn, turning a panic into an error, so that one caller's
// bug rolls back its group instead of killing the writer.
func SafelyCall(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in a batch function: %v", p)
		}
	}()
	return fn()
}
