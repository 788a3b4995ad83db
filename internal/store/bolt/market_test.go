package bolt

import (
	"fmt"
	"testing"

	"github.com/choso/choso"
)

func TestCreateMarket_UnusableKeyInvalid(t *testing.T) {
	db := MustOpenDB(t)
	tests := []struct {
		name string
		m    choso.Market
	}{
		{"empty ID", choso.Market{Name: "Chợ Bắc Giang", CommuneCode: "07210"}},
		{"ID with a slash", choso.Market{ID: "mkt_a/b", Name: "Chợ Bắc Giang", CommuneCode: "07210"}},
		{"empty commune", choso.Market{ID: "mkt_a", Name: "Chợ Bắc Giang"}},
		{"province with a slash", choso.Market{ID: "mkt_a", Name: "Chợ Bắc Giang", CommuneCode: "07210", ProvinceCode: "2/4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := txUpdate(db, func(tx choso.Tx) error { return tx.CreateMarket(&tt.m) })
			if got := choso.ErrorCode(err); got != choso.EInvalid {
				t.Fatalf("CreateMarket(%+v): got code %q (%v), want %q", tt.m, got, err, choso.EInvalid)
			}
		})
	}
}

// TestList_LimitCappedAtMaxListLimit checks that no page, whatever its
// requested size, holds more than MaxListLimit, and that 0 means
// DefaultListLimit.
func TestList_LimitCappedAtMaxListLimit(t *testing.T) {
	db := MustOpenDB(t)
	const n = MaxListLimit + 7
	m := &choso.Market{ID: "mkt_bacgiang", Name: "Chợ Bắc Giang", CommuneCode: "07210", ProvinceCode: "24"}
	err := txUpdate(db, func(tx choso.Tx) error {
		if err := tx.CreateMarket(m); err != nil {
			return err
		}
		for i := range n {
			if err := tx.CreateMarket(&choso.Market{ID: fmt.Sprintf("mkt_%04d", i), Name: "Chợ", CommuneCode: "07210"}); err != nil {
				return err
			}
			st := &choso.Stall{ID: fmt.Sprintf("stl_%04d", i), MarketID: m.ID, Code: fmt.Sprintf("A-%04d", i), Name: "Quầy rau"}
			if err := tx.CreateStall(st); err != nil {
				return err
			}
			if err := tx.AppendAudit(&choso.AuditEntry{ActorID: "cli", Action: "stall.create", ObjectID: m.ID}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lists := []struct {
		name string
		list func(tx choso.Tx, limit int) (int, error)
	}{
		{"ListMarkets", func(tx choso.Tx, limit int) (int, error) {
			l, err := tx.ListMarkets(choso.MarketFilter{Limit: limit})
			return len(l), err
		}},
		{"ListMarkets by commune", func(tx choso.Tx, limit int) (int, error) {
			l, err := tx.ListMarkets(choso.MarketFilter{Communes: []string{"07210"}, Limit: limit})
			return len(l), err
		}},
		{"ListStalls", func(tx choso.Tx, limit int) (int, error) {
			l, err := tx.ListStalls(choso.StallFilter{MarketID: m.ID, Limit: limit})
			return len(l), err
		}},
		{"ListAudit", func(tx choso.Tx, limit int) (int, error) {
			l, err := tx.ListAudit(choso.AuditFilter{Limit: limit})
			return len(l), err
		}},
		{"ListAudit by object", func(tx choso.Tx, limit int) (int, error) {
			l, err := tx.ListAudit(choso.AuditFilter{ObjectID: m.ID, Limit: limit})
			return len(l), err
		}},
	}
	limits := []struct{ limit, want int }{
		{0, DefaultListLimit}, {-5, DefaultListLimit}, {7, 7}, {MaxListLimit, MaxListLimit}, {n * 2, MaxListLimit},
	}
	for _, l := range lists {
		for _, tt := range limits {
			err := db.View(t.Context(), func(tx choso.Tx) error {
				got, err := l.list(tx, tt.limit)
				if err != nil {
					return err
				}
				if got != tt.want {
					t.Errorf("%s(Limit %d): got %d, want %d", l.name, tt.limit, got, tt.want)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", l.name, err)
			}
		}
	}
}
