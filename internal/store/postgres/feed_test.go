package postgres_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/postgres"
	"github.com/choso/choso/internal/store/postgres/pgtest"
)

// TestFeed_ConcurrentNodesNeverExposeNPlusOneBeforeN is PARTNER.md §2's
// test: three nodes (three pools on one database) append feed changes in
// long and short transactions, some of which roll back, while a partner
// tails the feed through a fourth. Each page the reader gets must start
// right after its cursor (a later seq visible before an earlier one would
// show as a hole), and at the end it must have seen every committed change
// once, in order.
func TestFeed_ConcurrentNodesNeverExposeNPlusOneBeforeN(t *testing.T) {
	url := pgtest.NewDatabase(t)
	open := func() *postgres.DB {
		db, err := postgres.Open(t.Context(), url, postgres.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	nodes := []*postgres.DB{open(), open(), open()}
	reader := open()

	const writersPerNode, txsPerWriter = 3, 12
	var committed atomic.Int64
	errBoom := errors.New("the push itself failed")
	var writers sync.WaitGroup
	writerErrs := make(chan error, len(nodes)*writersPerNode)
	for n, node := range nodes {
		for w := range writersPerNode {
			writers.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(n), uint64(w)))
				for i := range txsPerWriter {
					// Long transactions hold their snapshot a while before
					// appending, or hold the sequencer a while after;
					// short ones do neither. One in five rolls back.
					before := time.Duration(rng.IntN(3)) * 7 * time.Millisecond
					after := time.Duration(rng.IntN(3)) * 5 * time.Millisecond
					rollback := rng.IntN(5) == 0
					changes := 1 + rng.IntN(3)
					err := node.Update(t.Context(), func(tx choso.Tx) error {
						if _, err := tx.FindStallDay("stl_any", "2026-03-02"); choso.ErrorCode(err) != choso.ENotFound {
							return err // takes the snapshot now, before the sleep
						}
						time.Sleep(before)
						for c := range changes {
							ch := &choso.Change{Day: choso.StallDay{StallID: fmt.Sprintf("stl_%d_%d", n, w), Date: "2026-03-02",
								Status: choso.DayProvisional, ByMethod: map[string]choso.MethodTotals{"qr": {Count: int64(i), Amount: int64(c)}}}}
							if _, err := tx.AppendChange(ch); err != nil {
								return err
							}
						}
						time.Sleep(after)
						if rollback {
							return errBoom
						}
						return nil
					})
					switch {
					case rollback && errors.Is(err, errBoom):
					case !rollback && err == nil:
						committed.Add(int64(changes))
					default:
						writerErrs <- fmt.Errorf("node %d writer %d tx %d: %v", n, w, i, err)
						return
					}
				}
			})
		}
	}
	done := make(chan struct{})
	go func() { writers.Wait(); close(done) }()

	var seen []uint64
	after := uint64(0)
	tail := func() {
		var page []*choso.Change
		err := reader.View(t.Context(), func(tx choso.Tx) error {
			var err error
			page, err = tx.ListChanges(after, 7)
			return err
		})
		if err != nil {
			t.Fatalf("ListChanges(%d): %v", after, err)
		}
		for _, c := range page {
			if c.ChangeSeq != after+1 {
				t.Fatalf("feed after %d gave %d: a later change was visible before an earlier one (seen so far %d changes)",
					after, c.ChangeSeq, len(seen))
			}
			seen = append(seen, c.ChangeSeq)
			after = c.ChangeSeq
		}
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		tail()
	}
	tail() // whatever committed after the last poll
	for range 3 {
		tail()
	}
	close(writerErrs)
	for err := range writerErrs {
		t.Error(err)
	}
	if got, want := int64(len(seen)), committed.Load(); got != want {
		t.Fatalf("reader saw %d changes, writers committed %d", got, want)
	}
	var retries int64
	for _, n := range nodes {
		retries += n.Retries()
	}
	t.Logf("%d changes committed by %d writers on %d nodes, all seen in order; %d transaction retries",
		len(seen), len(nodes)*writersPerNode, len(nodes), retries)
}
