package postgres_test

import (
	"context"
	"testing"

	"github.com/choso/choso"
)

// After PrefetchEntities, FindEntity answers what it would have without
// it: stored rows, absent IDs, and the transaction's own later writes.
func TestPrefetchEntities_SeesStoredAbsentAndOwnWrites(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	stored := &choso.Entity{DeviceID: "dev-1", Seq: 1, Type: "sale.record", Amount: 45000}
	if err := db.Update(ctx, func(tx choso.Tx) error { return tx.PutEntity("01STORED", stored) }); err != nil {
		t.Fatal(err)
	}
	err := db.Update(ctx, func(tx choso.Tx) error {
		if err := tx.(choso.EntityPrefetcher).PrefetchEntities([]string{"01STORED", "01ABSENT", ""}); err != nil {
			return err
		}
		got, err := tx.FindEntity("01STORED")
		if err != nil || got.Amount != 45000 || got.DeviceID != "dev-1" {
			t.Fatalf("prefetched stored entity: %+v, %v", got, err)
		}
		got.Amount = 1 // a caller changing its copy changes nothing stored
		if again, _ := tx.FindEntity("01STORED"); again.Amount != 45000 {
			t.Fatalf("second read: amount %d, want 45000", again.Amount)
		}
		if _, err := tx.FindEntity("01ABSENT"); choso.ErrorCode(err) != choso.ENotFound {
			t.Fatalf("prefetched absent ID: %v, want not found", err)
		}
		if err := tx.PutEntity("01ABSENT", &choso.Entity{DeviceID: "dev-2", Type: "sale.void"}); err != nil {
			return err
		}
		if got, err := tx.FindEntity("01ABSENT"); err != nil || got.DeviceID != "dev-2" {
			t.Fatalf("own write after the prefetch: %+v, %v", got, err)
		}
		if _, err := tx.FindEntity("01NEVERPREFETCHED"); choso.ErrorCode(err) != choso.ENotFound {
			t.Fatalf("ID outside the prefetch: %v, want not found", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.View(ctx, func(tx choso.Tx) error {
		got, err := tx.FindEntity("01ABSENT")
		if err != nil || got.DeviceID != "dev-2" {
			t.Fatalf("after commit: %+v, %v", got, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
