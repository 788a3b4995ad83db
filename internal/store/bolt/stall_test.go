package bolt

import (
	"testing"

	"github.com/choso/choso"
)

func TestCreateStall_UnusableKeyInvalid(t *testing.T) {
	db := MustOpenDB(t)
	if err := txUpdate(db, func(tx choso.Tx) error {
		return tx.CreateMarket(&choso.Market{ID: "mkt_bacgiang", Name: "Chợ Bắc Giang", CommuneCode: "07210"})
	}); err != nil {
		t.Fatal(err)
	}
	ok := choso.Stall{ID: "stl_rau", MarketID: "mkt_bacgiang", Code: "A-01", Name: "Rau sạch cô Lan",
		Vendor: choso.Vendor{Name: "Nguyễn Thị Lan", Phone: "+84912345678"}}
	tests := []struct {
		name string
		edit func(s *choso.Stall)
	}{
		{"empty ID", func(s *choso.Stall) { s.ID = "" }},
		{"ID with a slash", func(s *choso.Stall) { s.ID = "stl_a/b" }},
		{"empty market ID", func(s *choso.Stall) { s.MarketID = "" }},
		{"market ID with a slash", func(s *choso.Stall) { s.MarketID = "mkt_bacgiang/A" }},
		{"empty code", func(s *choso.Stall) { s.Code = "" }},
		{"phone with a slash", func(s *choso.Stall) { s.Vendor.Phone = "+8491/2345678" }},
		{"BIN with a slash", func(s *choso.Stall) { s.Payout.BIN = "970/36" }},
		{"account with a slash", func(s *choso.Stall) { s.Payout.Account = "0011/004" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.edit(&s)
			err := txUpdate(db, func(tx choso.Tx) error { return tx.CreateStall(&s) })
			if got := choso.ErrorCode(err); got != choso.EInvalid {
				t.Fatalf("CreateStall(%+v): got code %q (%v), want %q", s, got, err, choso.EInvalid)
			}
		})
	}
	// The same stall with usable keys is stored.
	s := ok
	if err := txUpdate(db, func(tx choso.Tx) error { return tx.CreateStall(&s) }); err != nil {
		t.Fatalf("CreateStall(valid): %v", err)
	}
}

// TestUpdateStall_MovesToAnotherMarket checks the code index follows a
// stall that changes market, and that a missing target market is not found.
func TestUpdateStall_MovesToAnotherMarket(t *testing.T) {
	db := MustOpenDB(t)
	s := &choso.Stall{ID: "stl_rau", MarketID: "mkt_a", Code: "A-01", Name: "Rau sạch cô Lan"}
	err := txUpdate(db, func(tx choso.Tx) error {
		for _, id := range []string{"mkt_a", "mkt_b"} {
			if err := tx.CreateMarket(&choso.Market{ID: id, Name: "Chợ", CommuneCode: "07210"}); err != nil {
				return err
			}
		}
		return tx.CreateStall(s)
	})
	if err != nil {
		t.Fatal(err)
	}
	ghost := *s
	ghost.MarketID = "mkt_ghost"
	err = txUpdate(db, func(tx choso.Tx) error { return tx.UpdateStall(&ghost) })
	if got := choso.ErrorCode(err); got != choso.ENotFound {
		t.Fatalf("UpdateStall(to a missing market): got code %q (%v), want %q", got, err, choso.ENotFound)
	}
	moved := *s
	moved.MarketID = "mkt_b"
	err = txUpdate(db, func(tx choso.Tx) error {
		if err := tx.UpdateStall(&moved); err != nil {
			return err
		}
		if _, err := tx.FindStallByCode("mkt_a", "A-01"); choso.ErrorCode(err) != choso.ENotFound {
			t.Errorf("FindStallByCode(old market): got %v, want not found", err)
		}
		if _, err := tx.FindStallByCode("mkt_b", "A-01"); err != nil {
			t.Errorf("FindStallByCode(new market): got %v, want the stall", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateStall(to mkt_b): %v", err)
	}
}
