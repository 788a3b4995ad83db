package storetest

import (
	"fmt"
	"testing"

	"github.com/choso/choso"
)

// testListHonoursRegistryPageLimit checks the lists give a page as large as
// the registry asks for: it requests MaxPageSize+1 items to learn whether
// another page follows, so a backend that capped pages lower would end every
// list early. A Limit of 0 must give a page of at least DefaultPageSize.
func testListHonoursRegistryPageLimit(t *testing.T, h Harness) {
	s := open(t, h)
	const n = choso.MaxPageSize + 2
	m := choBacGiang
	seedMarkets(t, s, m)
	update(t, s, func(tx choso.Tx) error {
		for i := range n - 1 {
			mk := newMarket(fmt.Sprintf("mkt_%04d", i), "Chợ số", bacGiang)
			if err := tx.CreateMarket(mk); err != nil {
				return err
			}
		}
		for i := range n {
			st := newStall(m, fmt.Sprintf("stl_%04d", i), fmt.Sprintf("A-%04d", i), "Quầy rau", phoneLan)
			if err := tx.CreateStall(st); err != nil {
				return err
			}
			if err := tx.AppendAudit(newAudit(lan, "stall.create", m.ID, i)); err != nil {
				return err
			}
		}
		return nil
	})
	lists := []struct {
		name string
		list func(tx choso.Tx, limit int) (int, error)
	}{
		{"ListMarkets", func(tx choso.Tx, limit int) (int, error) {
			l, err := tx.ListMarkets(choso.MarketFilter{Limit: limit})
			return len(l), err
		}},
		{"ListMarkets(commune)", func(tx choso.Tx, limit int) (int, error) {
			l, err := tx.ListMarkets(choso.MarketFilter{Communes: []string{bacGiang.Code}, Limit: limit})
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
		{"ListAudit(object)", func(tx choso.Tx, limit int) (int, error) {
			l, err := tx.ListAudit(choso.AuditFilter{ObjectID: m.ID, Limit: limit})
			return len(l), err
		}},
	}
	for _, l := range lists {
		view(t, s, func(tx choso.Tx) error {
			got, err := l.list(tx, choso.MaxPageSize+1)
			if err != nil || got != choso.MaxPageSize+1 {
				t.Errorf("%s(Limit %d): got %d items, %v; want %d, nil", l.name, choso.MaxPageSize+1, got, err, choso.MaxPageSize+1)
			}
			got, err = l.list(tx, 0)
			if err != nil || got < choso.DefaultPageSize {
				t.Errorf("%s(Limit 0): got %d items, %v; want at least %d, nil", l.name, got, err, choso.DefaultPageSize)
			}
			return nil
		})
	}
}
