// Group commit: a node's Batch callers share transactions.

package postgres

import (
	"context"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/groupcommit"
)

// maxGroupCalls bounds the callers one transaction serves, as the bbolt
// store's writer does, so one group's latency stays bounded in a storm.
const maxGroupCalls = 64

// A push holds the sequencer lock from its first statement to its commit,
// so no two pushes of the cluster commit at once and PostgreSQL's own
// group commit never gets two to flush together: each push paid the lock
// hand-over, the round trips and a WAL flush alone. The group writer runs
// every Batch caller queued on this node since its last transaction in the
// next one (internal/groupcommit), so one lock hold and one flush serve
// them all.
type groupWriter struct {
	db    *DB
	queue *groupcommit.Queue[func(choso.Tx) error]
}

func newGroupWriter(db *DB) *groupWriter {
	w := &groupWriter{db: db}
	w.queue = groupcommit.Start(maxGroupCalls, w.run)
	return w
}

// submit queues fn for the next group and waits for its transaction. A
// caller whose ctx ends while it waits still gets its function's outcome:
// the transaction may be committing, and its answer must not be a guess.
func (w *groupWriter) submit(ctx context.Context, fn func(choso.Tx) error) error {
	switch err := w.queue.Submit(fn); err {
	case groupcommit.ErrTrySolo:
		return w.db.runLockFirst(ctx, "batch", fn)
	case groupcommit.ErrClosed:
		return choso.Errorf(choso.EUnavailable, "store is closed")
	default:
		return err
	}
}

// close stops the goroutine once the queue is empty. The store is already
// marked closed, so calls still queued fail with EUnavailable, as a push
// arriving after Close does, and their phones send them again.
func (w *groupWriter) close() { w.queue.Close() }

// run commits calls in one transaction, which takes the sequencer lock
// first (see Batch) and is run again whole after a serialization failure.
// When a function fails for a reason of its own the group is rolled back;
// that caller runs its function again alone and the rest run together.
func (w *groupWriter) run(calls []*groupcommit.Call[func(choso.Tx) error]) {
	for len(calls) > 0 {
		failed := -1
		err := w.db.runLockFirst(context.Background(), "batch", func(tx choso.Tx) error {
			failed = -1
			for i, c := range calls {
				if err := groupcommit.SafelyCall(func() error { return c.Fn(tx) }); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			calls[failed].Done(groupcommit.ErrTrySolo)
			calls = append(calls[:failed], calls[failed+1:]...)
			continue
		}
		for _, c := range calls {
			c.Done(err)
		}
		return
	}
}
