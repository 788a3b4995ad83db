package bolt

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/choso/choso"
	bolt "go.etcd.io/bbolt"
)

// TestOpen_BuildsNewIndexesFromExistingData opens a store written before
// the date, change, account and registration indexes existed (their
// buckets dropped) and finds its days, changes and stalls through them.
func TestOpen_BuildsNewIndexesFromExistingData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "choso.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stall := &choso.Stall{ID: "stl_rau", MarketID: "mkt_bacgiang", Code: "A-01", Name: "Rau sạch cô Lan",
		Payout: choso.PayoutAccount{BIN: "970436", Account: "0011004123456"}, CreatedAt: time.Date(2026, 3, 1, 22, 30, 0, 0, time.UTC)}
	day := &choso.StallDay{StallID: stall.ID, MarketID: stall.MarketID, Date: "2026-03-02", Status: choso.DayProvisional}
	err = txUpdate(db, func(tx choso.Tx) error {
		if err := tx.CreateMarket(&choso.Market{ID: "mkt_bacgiang", Name: "Chợ Bắc Giang", CommuneCode: "07210"}); err != nil {
			return err
		}
		if err := tx.CreateStall(stall); err != nil {
			return err
		}
		if err := tx.PutStallDay(day); err != nil {
			return err
		}
		for range 3 {
			if _, err := tx.AppendChange(&choso.Change{Day: *day}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketDayDates, bucketDayChanges, bucketStallAccounts, bucketStallCreated} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("Open of a store without the new indexes: %v", err)
	}
	defer db.Close()
	err = db.View(context.Background(), func(tx choso.Tx) error {
		days, err := tx.ListDaysByDate(day.Date, "", 10)
		if err != nil || len(days) != 1 || days[0].StallID != stall.ID {
			t.Errorf("ListDaysByDate after the rebuild: got %v, %v; want the stall's day", days, err)
		}
		c, err := tx.FindChangeAsOf(stall.ID, day.Date, 2)
		if err != nil || c.ChangeSeq != 2 {
			t.Errorf("FindChangeAsOf(…, 2) after the rebuild: got %+v, %v; want change 2", c, err)
		}
		stalls, err := tx.FindStallsByAccount(stall.Payout.BIN, stall.Payout.Account)
		if err != nil || len(stalls) != 1 || stalls[0].ID != stall.ID {
			t.Errorf("FindStallsByAccount after the rebuild: got %v, %v; want the stall", stalls, err)
		}
		refs, err := tx.ListStallRefs(stall.MarketID, "", 0)
		if err != nil || len(refs) != 1 || !refs[0].CreatedAt.Equal(stall.CreatedAt) {
			t.Errorf("ListStallRefs after the rebuild: got %+v, %v; want the stall registered at %v", refs, err, stall.CreatedAt)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if problems := db.Check(context.Background()); len(problems) > 0 {
		t.Fatalf("Check after the rebuild: %v", problems)
	}
}

// A stall that an older choso registered in a store whose registration
// index a newer one had built has no entry there: its record says when it
// was registered.
func TestListStallRefs_StallWithoutARegistrationEntry(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "choso.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stall := &choso.Stall{ID: "stl_old", MarketID: "mkt_bacgiang", Code: "A-02", CreatedAt: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)}
	err = txUpdate(db, func(tx choso.Tx) error {
		if err := tx.CreateMarket(&choso.Market{ID: "mkt_bacgiang", Name: "Chợ Bắc Giang", CommuneCode: "07210"}); err != nil {
			return err
		}
		return tx.CreateStall(stall)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketStallCreated).Delete([]byte(stall.ID)) }); err != nil {
		t.Fatal(err)
	}
	err = db.View(context.Background(), func(tx choso.Tx) error {
		refs, err := tx.ListStallRefs(stall.MarketID, "", 0)
		if err != nil || len(refs) != 1 || !refs[0].CreatedAt.Equal(stall.CreatedAt) {
			t.Errorf("ListStallRefs: got %+v, %v; want the stall registered at %v", refs, err, stall.CreatedAt)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
