package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/choso/choso"
)

// Slices cut from the arena never share bytes, even when one grows past
// what it asked for, and survive the arena moving to a new chunk.
func TestTxHold_SlicesStayApart(t *testing.T) {
	var tx Tx
	var got [][]byte
	for i := range 3 * arenaChunk / 100 { // past two chunks
		b := tx.hold(100)
		b = append(b, bytes.Repeat([]byte{byte(i)}, 100)...)
		if i%7 == 0 {
			b = append(b, byte(i)) // past its capacity: it must move, not spill into the next
		}
		got = append(got, b)
	}
	for i, b := range got {
		want := 100
		if i%7 == 0 {
			want = 101
		}
		if len(b) != want || bytes.Count(b, []byte{byte(i)}) != want {
			t.Fatalf("slice %d holds %d bytes, %d of them its own, want %d", i, len(b), bytes.Count(b, []byte{byte(i)}), want)
		}
	}
	if big := tx.hold(arenaChunk); cap(big) != arenaChunk || len(tx.arena) > arenaChunk {
		t.Fatalf("a chunk-sized hold: cap %d, arena at %d", cap(big), len(tx.arena))
	}
}

// Chunks go back to the pool when a write transaction ends and are cut
// again by the next: what a committed transaction wrote reads back whole
// after later transactions, committed and rolled back, on one writer and
// through Batch, wrote other bytes over the same chunks.
func TestTxHold_ChunksReusedOnlyAfterTheTransaction(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	const perTx = 1500 // a few chunks of entities a transaction
	entity := func(round, i int) *choso.Entity {
		return &choso.Entity{DeviceID: fmt.Sprintf("dev-%d", round), Seq: uint64(i + 1), Hash: bytes.Repeat([]byte{byte(round)}, 32),
			Type: choso.EventSaleRecord, StallID: fmt.Sprintf("stall-%d-%d", round, i), BusinessDate: "2026-11-28", Method: choso.MethodQR, Amount: int64(round*1_000_000 + i)}
	}
	id := func(round, i int) string { return fmt.Sprintf("01KC%02d%020d", round, i) }
	put := func(round int) func(choso.Tx) error {
		return func(tx choso.Tx) error {
			for i := range perTx {
				if err := tx.PutEntity(id(round, i), entity(round, i)); err != nil {
					return err
				}
				if err := tx.PutQRSale("stall-1", int64(1_780_000_000_000+round*perTx+i), id(round, i)); err != nil {
					return err
				}
			}
			return nil
		}
	}
	failed := errors.New("rolled back on purpose")
	for round := range 6 {
		var err error
		switch round % 3 {
		case 0:
			err = db.Update(ctx, put(round))
		case 1:
			err = db.Batch(ctx, put(round))
		case 2: // written, then rolled back: its chunks go back too
			err = db.Update(ctx, func(tx choso.Tx) error {
				if err := put(round)(tx); err != nil {
					return err
				}
				return failed
			})
			if errors.Is(err, failed) {
				err = nil
			}
		}
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	err := db.View(ctx, func(tx choso.Tx) error {
		for round := range 6 {
			for i := range perTx {
				got, err := tx.FindEntity(id(round, i))
				if round%3 == 2 {
					if choso.ErrorCode(err) != choso.ENotFound {
						return fmt.Errorf("round %d (rolled back), entity %d: %+v, %v", round, i, got, err)
					}
					continue
				}
				if err != nil {
					return fmt.Errorf("round %d, entity %d: %v", round, i, err)
				}
				if want := entity(round, i); fmt.Sprint(got) != fmt.Sprint(want) {
					return fmt.Errorf("round %d, entity %d: %+v, want %+v", round, i, got, want)
				}
			}
		}
		ids, err := tx.ListQRSales("stall-1", 1_780_000_000_000, 1_780_000_000_000+6*perTx)
		if err != nil {
			return err
		}
		if len(ids) != 4*perTx {
			return fmt.Errorf("%d QR sales listed, want %d", len(ids), 4*perTx)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
