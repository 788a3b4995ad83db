package postgres_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/postgres"
	"github.com/choso/choso/internal/store/postgres/pgtest"
)

// A node of the release before 0007, during a rolling upgrade, writes a
// stall's doc without its former payout accounts (an edit, or an erasure
// of the vendor): their rows go with them, so no account number stays
// behind an erasure, and no credit to one finds the stall.
func TestMigration0007_OlderNodesWriteDropsTheFormerAccounts(t *testing.T) {
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stall := &choso.Stall{ID: "stl_rau", MarketID: "mkt_1", Code: "A-01", Name: "Rau",
		Payout: choso.PayoutAccount{BIN: "970436", Account: "0011009999999"}, CreatedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		FormerPayouts: []choso.FormerPayout{{Account: choso.PayoutAccount{BIN: "970436", Account: "0011001234567"}, Until: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}}}
	byFormer := func() []*choso.Stall {
		t.Helper()
		var list []*choso.Stall
		if err := db.View(t.Context(), func(tx choso.Tx) error {
			list, err = tx.FindStallsByAccount("970436", "0011001234567")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return list
	}
	if err := db.Update(t.Context(), func(tx choso.Tx) error {
		if err := tx.CreateMarket(&choso.Market{ID: "mkt_1", Name: "Chợ Thương", CommuneCode: "07210"}); err != nil {
			return err
		}
		return tx.CreateStall(stall)
	}); err != nil {
		t.Fatal(err)
	}
	if got := byFormer(); len(got) != 1 {
		t.Fatalf("by the former account: %d stalls, want the stall", len(got))
	}
	old := *stall
	old.FormerPayouts = nil // the release before has no such field
	doc, err := json.Marshal(&old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := connect(t, url).Exec(t.Context(), `UPDATE stalls SET doc = $1 WHERE id = $2`, doc, stall.ID); err != nil {
		t.Fatal(err)
	}
	if got := byFormer(); len(got) != 0 {
		t.Fatalf("after the release before wrote the stall: %d stalls by the former account, want none", len(got))
	}
}
