package bolt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/choso/choso"
)

// TestBatch_AfterClose_Unavailable: a Batch caller that comes after Close
// is refused, not left waiting for a writer that has stopped.
func TestBatch_AfterClose_Unavailable(t *testing.T) {
	db := MustOpenDB(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	err := db.Batch(context.Background(), func(tx choso.Tx) error { return nil })
	if got := choso.ErrorCode(err); got != choso.EUnavailable {
		t.Fatalf("Batch after Close: got %v, want %s", err, choso.EUnavailable)
	}
}

// TestBatch_CloseWhileCallersQueued_EachAnswered: Close lets the queued
// callers' transactions finish; each caller gets an answer, and what was
// acknowledged is in the file.
func TestBatch_CloseWhileCallersQueued_EachAnswered(t *testing.T) {
	db := MustOpenDB(t)
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = db.Batch(context.Background(), func(tx choso.Tx) error {
				return tx.SetMeta(fmt.Sprintf("caller%d", i), []byte("ok"))
			})
		})
	}
	db.Close()
	wg.Wait()
	reopened, err := Open(db.Path(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	for i, err := range errs {
		if err != nil {
			if choso.ErrorCode(err) != choso.EUnavailable {
				t.Errorf("caller %d: got %v, want nil or %s", i, err, choso.EUnavailable)
			}
			continue
		}
		var got []byte
		reopened.View(context.Background(), func(tx choso.Tx) error {
			got, err = tx.Meta(fmt.Sprintf("caller%d", i))
			return err
		})
		if string(got) != "ok" {
			t.Errorf("caller %d was acknowledged: got Meta %q after reopening, want %q", i, got, "ok")
		}
	}
}

// TestBatch_GroupsShareTransactions: callers queued while one transaction
// commits share the next one, so 64 concurrent callers take fewer than 64
// commits.
func TestBatch_GroupsShareTransactions(t *testing.T) {
	db := MustOpenDB(t)
	const n = 64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			if err := db.Batch(context.Background(), func(tx choso.Tx) error {
				return tx.SetMeta(fmt.Sprintf("caller%d", i), []byte("ok"))
			}); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	st := db.WriterStats()
	if st.Calls != n || st.Txs >= n {
		t.Errorf("WriterStats: got %d calls in %d transactions, want %d calls in fewer", st.Calls, st.Txs, n)
	}
}

// TestTx_HeldWrites_SeenInTheSameTransaction: entities and QR sales are
// written at commit, in key order (Tx), but a transaction reads its own
// writes, and a failed one leaves none.
func TestTx_HeldWrites_SeenInTheSameTransaction(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	ids := []string{"01KB0000000000000000000003", "01KB0000000000000000000001", "01KB0000000000000000000002"}
	err := db.Update(ctx, func(tx choso.Tx) error {
		for i, id := range ids {
			if err := tx.PutEntity(id, &choso.Entity{DeviceID: "dev_a", Seq: uint64(i + 1), Type: choso.EventSaleRecord}); err != nil {
				return err
			}
			if err := tx.PutQRSale("stl_a", 1000+int64(len(ids)-i), id); err != nil {
				return err
			}
		}
		// Replaced before the commit: the last put wins.
		if err := tx.PutEntity(ids[0], &choso.Entity{DeviceID: "dev_a", Seq: 9, Type: choso.EventSaleRecord}); err != nil {
			return err
		}
		e, err := tx.FindEntity(ids[0])
		if err != nil || e.Seq != 9 {
			return fmt.Errorf("FindEntity in the same transaction: got %+v, %v, want seq 9", e, err)
		}
		got, err := tx.ListQRSales("stl_a", 0, 2000)
		if want := []string{ids[2], ids[1], ids[0]}; err != nil || !slices.Equal(got, want) {
			return fmt.Errorf("ListQRSales in the same transaction: got %v, %v, want %v", got, err, want)
		}
		// Written after the scan flushed: still seen.
		return tx.PutQRSale("stl_a", 500, "01KB0000000000000000000009")
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(ctx, func(tx choso.Tx) error {
		for i, id := range ids {
			want := uint64(i + 1)
			if i == 0 {
				want = 9
			}
			if e, err := tx.FindEntity(id); err != nil || e.Seq != want {
				t.Errorf("FindEntity(%s) after commit: got %+v, %v, want seq %d", id, e, err, want)
			}
		}
		if got, _ := tx.ListQRSales("stl_a", 0, 2000); len(got) != 4 || got[0] != "01KB0000000000000000000009" {
			t.Errorf("ListQRSales after commit: got %v, want 4 sales, the one at 500 ms first", got)
		}
		return nil
	})

	failed := errors.New("fails")
	err = db.Update(ctx, func(tx choso.Tx) error {
		if err := tx.PutEntity("01KB000000000000000000000Z", &choso.Entity{Seq: 1}); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("failing Update: got %v, want its error", err)
	}
	db.View(ctx, func(tx choso.Tx) error {
		if _, err := tx.FindEntity("01KB000000000000000000000Z"); choso.ErrorCode(err) != choso.ENotFound {
			t.Errorf("entity of a failed transaction: got %v, want %s", err, choso.ENotFound)
		}
		return nil
	})
}
