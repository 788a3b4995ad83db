// Group commit: Batch callers' functions share transactions, one after
// another, with no timer.

package bolt

import (
	"sync"
	"time"

	"github.com/choso/choso/internal/groupcommit"
	bolt "go.etcd.io/bbolt"
)

// maxGroupCalls bounds the callers one transaction serves, so that one
// transaction's latency stays bounded when thousands of phones push at once
// (the market-close storm): answers keep flowing in groups of 64 pushes,
// each up to 3,200 events of 50, which amortize an fsync well enough.
const maxGroupCalls = 64

// writer runs Batch callers in group commits (internal/groupcommit): one
// goroutine takes every caller queued since its last transaction and runs
// them in the next one, as soon as the previous commit is on disk. bbolt's
// own Batch waits out MaxBatchDelay unless MaxBatchSize callers are queued;
// this one never waits on a timer.
type writer struct {
	db    *DB
	queue *groupcommit.Queue[func(*Tx) error]

	statsMu sync.Mutex
	stats   WriterStats // figures of the work done, for benchmarks
}

// WriterStats are the group-commit writer's totals since Open.
type WriterStats struct {
	Txs     int64         // transactions run for Batch callers
	Calls   int64         // Batch functions run (a retried one counts again)
	Apply   time.Duration // running the functions inside transactions
	Commit  time.Duration // committing: spilling pages, writing and fsyncing them
	Written int64         // bytes of pages the commits wrote
	Busy    time.Duration // from a group's start to its callers' release
	Retries int64         // groups run again after a function failed
}

func newWriter(db *DB) *writer {
	w := &writer{db: db}
	w.queue = groupcommit.Start(maxGroupCalls, w.run)
	return w
}

// submit queues fn for the next group and waits for its transaction; a
// function that failed in a group runs again alone.
func (w *writer) submit(fn func(*Tx) error) error {
	err := w.queue.Submit(fn)
	if err == groupcommit.ErrTrySolo {
		err = w.db.update(fn)
	}
	return err
}

// close runs what is queued and stops the goroutine.
func (w *writer) close() { w.queue.Close() }

// run commits calls in one transaction. When a function fails, the group
// is rolled back; the failed caller runs its function again alone and the
// rest run again together, as bbolt's Batch does.
func (w *writer) run(calls []*groupcommit.Call[func(*Tx) error]) {
	began := time.Now()
	var st WriterStats
	// The work is counted before the callers hear of it, so a caller that
	// reads WriterStats after Batch returns sees its own transaction.
	record := func() {
		st.Busy = time.Since(began)
		w.statsMu.Lock()
		w.stats.add(st)
		w.statsMu.Unlock()
	}
	defer func() {
		if len(calls) == 0 {
			record() // every call failed and went to run alone
		}
	}()
	for len(calls) > 0 {
		start := time.Now()
		failed := -1
		var applied time.Time
		var ran *bolt.Tx
		var tx *Tx
		err := w.db.db.Update(func(btx *bolt.Tx) error {
			ran = btx
			tx = &Tx{tx: btx, db: w.db}
			for i, c := range calls {
				if err := groupcommit.SafelyCall(func() error { return c.Fn(tx) }); err != nil {
					failed = i
					return err
				}
			}
			err := tx.flush()
			applied = time.Now()
			return err
		})
		if tx != nil {
			tx.release() // bbolt's transaction has ended
		}
		st.Txs++
		st.Calls += int64(len(calls))
		if !applied.IsZero() {
			st.Apply += applied.Sub(start)
			st.Commit += time.Since(applied)
		}
		if ran != nil {
			ts := ran.Stats() // a transaction's figures outlive it
			st.Written += ts.GetPageAlloc()
		}
		if failed >= 0 {
			st.Retries++
			calls[failed].Done(groupcommit.ErrTrySolo)
			calls = append(calls[:failed], calls[failed+1:]...)
			continue
		}
		record()
		for _, c := range calls {
			c.Done(err)
		}
		return
	}
}

func (s *WriterStats) add(o WriterStats) {
	s.Txs += o.Txs
	s.Calls += o.Calls
	s.Apply += o.Apply
	s.Commit += o.Commit
	s.Written += o.Written
	s.Busy += o.Busy
	s.Retries += o.Retries
}

// WriterStats returns the group-commit writer's totals since Open: how
// much of the time the single writer spent running Batch functions and
// committing them.
func (db *DB) WriterStats() WriterStats {
	if db.writer == nil {
		return WriterStats{}
	}
	db.writer.statsMu.Lock()
	defer db.writer.statsMu.Unlock()
	return db.writer.stats
}
