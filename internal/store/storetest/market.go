package storetest

import (
	"fmt"
	"testing"

	"github.com/choso/choso"
)

var marketTests = []testCase{
	{"Market_Create_FindReturnsEveryField", testMarketCreateFind},
	{"Market_Create_IDExistsConflict", testMarketCreateIDExists},
	{"Market_Update_ReplacesAndMovesRegionIndexes", testMarketUpdate},
	{"Market_Update_MissingNotFound", testMarketUpdateMissing},
	{"Market_Find_MissingNotFound", testMarketFindMissing},
	{"Market_List_FiltersByCommuneProvinceAndName", testMarketListFilters},
	{"Market_List_PagesInIDOrderWithoutDuplicatesOrGaps", testMarketListPages},
	{"Market_List_ZeroLimitReturnsADefaultPage", testMarketListDefaultLimit},
	{"Market_Count_CountsEveryMarket", testMarketCount},
}

var (
	choBacGiang = newMarket("mkt_0bacgiang", "Chợ Bắc Giang", bacGiang)
	choThuong   = newMarket("mkt_1thuong", "Chợ Thương", bacGiang)
	choKinhBac  = newMarket("mkt_2kinhbac", "Chợ Kinh Bắc", kinhBac)
	choDongXuan = newMarket("mkt_3dongxuan", "Chợ Đồng Xuân", hoanKiem)
	choHomDua   = newMarket("mkt_4homduc", "Chợ Hôm – Đức Viên", hoanKiem)
	choBenThanh = newMarket("mkt_5benthanh", "Chợ Bến Thành", benThanh)
	marketAll   = []*choso.Market{choBenThanh, choDongXuan, choBacGiang, choKinhBac, choHomDua, choThuong}
)

func seedMarkets(t *testing.T, s choso.Store, markets ...*choso.Market) {
	t.Helper()
	update(t, s, func(tx choso.Tx) error {
		for _, m := range markets {
			c := *m
			if err := tx.CreateMarket(&c); err != nil {
				return err
			}
		}
		return nil
	})
}

func marketIDs(list []*choso.Market) []string {
	var ids []string
	for _, m := range list {
		ids = append(ids, m.ID)
	}
	return ids
}

func listMarkets(t *testing.T, s choso.Store, f choso.MarketFilter) []*choso.Market {
	t.Helper()
	var list []*choso.Market
	view(t, s, func(tx choso.Tx) error {
		var err error
		list, err = tx.ListMarkets(f)
		return err
	})
	return list
}

func testMarketCreateFind(t *testing.T, h Harness) {
	s := open(t, h)
	seedMarkets(t, s, marketAll...)
	for _, want := range marketAll {
		view(t, s, func(tx choso.Tx) error {
			got, err := tx.FindMarket(want.ID)
			if err != nil {
				t.Fatalf("FindMarket(%s): %v", want.ID, err)
			}
			wantEqual(t, "FindMarket("+want.ID+")", got, want)
			return nil
		})
	}
}

func testMarketCreateIDExists(t *testing.T, h Harness) {
	s := open(t, h)
	seedMarkets(t, s, choBacGiang)
	dup := *choDongXuan
	dup.ID = choBacGiang.ID
	err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.CreateMarket(&dup) })
	wantCode(t, "CreateMarket(existing ID)", err, choso.EConflict)
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindMarket(choBacGiang.ID)
		if err != nil {
			t.Fatalf("FindMarket: %v", err)
		}
		wantEqual(t, "market after the refused create", got, choBacGiang)
		return nil
	})
	if got := marketIDs(listMarkets(t, s, choso.MarketFilter{Communes: []string{hoanKiem.Code}})); len(got) != 0 {
		t.Fatalf("ListMarkets(Hoàn Kiếm) after the refused create: got %v, want none", got)
	}
}

func testMarketUpdate(t *testing.T, h Harness) {
	s := open(t, h)
	seedMarkets(t, s, marketAll...)
	moved := *choKinhBac
	moved.Name = "Chợ Kinh Bắc (mới)"
	moved.CommuneCode, moved.ProvinceCode = baDinh.Code, baDinh.ParentCode
	moved.TimeZone = "Asia/Bangkok"
	moved.UpdatedAt = at(12, 0)
	update(t, s, func(tx choso.Tx) error { return tx.UpdateMarket(&moved) })
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindMarket(moved.ID)
		if err != nil {
			t.Fatalf("FindMarket: %v", err)
		}
		wantEqual(t, "FindMarket after update", got, &moved)
		return nil
	})
	tests := []struct {
		f    choso.MarketFilter
		want []string
	}{
		{choso.MarketFilter{Communes: []string{kinhBac.Code}}, nil},
		{choso.MarketFilter{Provinces: []string{bacNinh.Code}}, []string{choBacGiang.ID, choThuong.ID}},
		{choso.MarketFilter{Communes: []string{baDinh.Code}}, []string{moved.ID}},
		{choso.MarketFilter{Provinces: []string{haNoi.Code}}, []string{choKinhBac.ID, choDongXuan.ID, choHomDua.ID}},
	}
	for _, tt := range tests {
		wantEqual(t, fmt.Sprintf("ListMarkets(%+v) after the move", tt.f), marketIDs(listMarkets(t, s, tt.f)), tt.want)
	}
}

func testMarketUpdateMissing(t *testing.T, h Harness) {
	s := open(t, h)
	seedMarkets(t, s, choBacGiang)
	err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.UpdateMarket(newMarket("mkt_ghost", "Chợ Ma", bacGiang)) })
	wantCode(t, "UpdateMarket(missing)", err, choso.ENotFound)
	wantEqual(t, "ListMarkets after the refused update", marketIDs(listMarkets(t, s, choso.MarketFilter{})), []string{choBacGiang.ID})
}

func testMarketFindMissing(t *testing.T, h Harness) {
	s := open(t, h)
	seedMarkets(t, s, choBacGiang)
	view(t, s, func(tx choso.Tx) error {
		for _, id := range []string{"", "mkt_ghost", "stl_0bacgiang", bacGiang.Code} {
			_, err := tx.FindMarket(id)
			wantCode(t, "FindMarket("+id+")", err, choso.ENotFound)
		}
		return nil
	})
}

func testMarketListFilters(t *testing.T, h Harness) {
	s := open(t, h)
	seedMarkets(t, s, marketAll...)
	tests := []struct {
		name string
		f    choso.MarketFilter
		want []*choso.Market
	}{
		{"everything", choso.MarketFilter{}, []*choso.Market{choBacGiang, choThuong, choKinhBac, choDongXuan, choHomDua, choBenThanh}},
		{"one commune", choso.MarketFilter{Communes: []string{bacGiang.Code}}, []*choso.Market{choBacGiang, choThuong}},
		{"two communes in two provinces",
			choso.MarketFilter{Communes: []string{benThanh.Code, kinhBac.Code}}, []*choso.Market{choKinhBac, choBenThanh}},
		{"a province", choso.MarketFilter{Provinces: []string{bacNinh.Code}}, []*choso.Market{choBacGiang, choThuong, choKinhBac}},
		{"a province and a commune of it, no duplicates",
			choso.MarketFilter{Provinces: []string{bacNinh.Code}, Communes: []string{bacGiang.Code}},
			[]*choso.Market{choBacGiang, choThuong, choKinhBac}},
		{"a province and a commune elsewhere",
			choso.MarketFilter{Provinces: []string{hoChiMinh.Code}, Communes: []string{bacGiang.Code}},
			[]*choso.Market{choBacGiang, choThuong, choBenThanh}},
		{"a commune with no market", choso.MarketFilter{Communes: []string{baDinh.Code}}, nil},
		{"an unknown province", choso.MarketFilter{Provinces: []string{"38"}}, nil},
		{"query without diacritics", choso.MarketFilter{Query: "dong xuan"}, []*choso.Market{choDongXuan}},
		{"query with diacritics and case", choso.MarketFilter{Query: "CHỢ BẮC"}, []*choso.Market{choBacGiang}},
		{"query within a province", choso.MarketFilter{Provinces: []string{bacNinh.Code}, Query: "bac"},
			[]*choso.Market{choBacGiang, choKinhBac}},
		{"query matching nothing in the commune", choso.MarketFilter{Communes: []string{hoanKiem.Code}, Query: "Bến"}, nil},
		{"limit", choso.MarketFilter{Provinces: []string{bacNinh.Code, haNoi.Code}, Limit: 4},
			[]*choso.Market{choBacGiang, choThuong, choKinhBac, choDongXuan}},
		{"after", choso.MarketFilter{Communes: []string{bacGiang.Code, hoanKiem.Code}, After: choThuong.ID},
			[]*choso.Market{choDongXuan, choHomDua}},
		{"after an ID that is not stored", choso.MarketFilter{After: "mkt_3"}, []*choso.Market{choDongXuan, choHomDua, choBenThanh}},
		{"after the last", choso.MarketFilter{After: choBenThanh.ID}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantEqual(t, fmt.Sprintf("ListMarkets(%+v)", tt.f), listMarkets(t, s, tt.f), tt.want)
		})
	}
}

func testMarketListPages(t *testing.T, h Harness) {
	s := open(t, h)
	const n = 37
	nBacGiang := 0
	update(t, s, func(tx choso.Tx) error {
		for i := range n {
			in := bacGiang
			if i%3 == 0 {
				in = hoanKiem
			} else {
				nBacGiang++
			}
			m := newMarket(choso.NewID(choso.PrefixMarket), fmt.Sprintf("Chợ số %d", i), in)
			if err := tx.CreateMarket(m); err != nil {
				return err
			}
		}
		return nil
	})
	all := marketIDs(listMarkets(t, s, choso.MarketFilter{Limit: n + 1}))
	if len(all) != n {
		t.Fatalf("ListMarkets(Limit %d) = %d markets, want %d", n+1, len(all), n)
	}
	for i := 1; i < len(all); i++ {
		if all[i-1] >= all[i] {
			t.Fatalf("ListMarkets not in ID order: %s before %s", all[i-1], all[i])
		}
	}
	tests := []struct {
		name string
		f    choso.MarketFilter
		want int
	}{
		{"every market", choso.MarketFilter{}, n},
		{"one commune", choso.MarketFilter{Communes: []string{bacGiang.Code}}, nBacGiang},
		{"a province", choso.MarketFilter{Provinces: []string{haNoi.Code}}, n - nBacGiang},
		{"two provinces", choso.MarketFilter{Provinces: []string{haNoi.Code, bacNinh.Code}}, n},
		{"a name", choso.MarketFilter{Query: "cho so 1"}, 11}, // 1, 10–19
	}
	for _, tt := range tests {
		for _, size := range []int{1, 4, 10} {
			t.Run(fmt.Sprintf("%s/pages of %d", tt.name, size), func(t *testing.T) {
				var got []string
				f := tt.f
				f.Limit = size
				for pages := 0; ; pages++ {
					if pages > n {
						t.Fatalf("more than %d pages: the cursor does not advance", n)
					}
					page := marketIDs(listMarkets(t, s, f))
					if len(page) > size {
						t.Fatalf("page of %d markets, want at most %d", len(page), size)
					}
					if len(page) == 0 {
						break
					}
					got = append(got, page...)
					f.After = page[len(page)-1]
				}
				if len(got) != tt.want {
					t.Fatalf("paged through %d markets, want %d", len(got), tt.want)
				}
				seen := map[string]bool{}
				for i, id := range got {
					if seen[id] {
						t.Fatalf("market %s on two pages", id)
					}
					seen[id] = true
					if i > 0 && got[i-1] >= id {
						t.Fatalf("pages not in ID order: %s before %s", got[i-1], id)
					}
				}
				// No gaps: the pages hold exactly what one big page holds.
				f.After, f.Limit = "", n+1
				wantEqual(t, "paged IDs", got, marketIDs(listMarkets(t, s, f)))
			})
		}
	}
}

func testMarketListDefaultLimit(t *testing.T, h Harness) {
	s := open(t, h)
	seedMarkets(t, s, marketAll...)
	for _, limit := range []int{0, -1} {
		got := listMarkets(t, s, choso.MarketFilter{Limit: limit})
		if len(got) != len(marketAll) {
			t.Fatalf("ListMarkets(Limit %d) = %d markets, want all %d (a default page)", limit, len(got), len(marketAll))
		}
	}
}

func testMarketCount(t *testing.T, h Harness) {
	s := open(t, h)
	view(t, s, func(tx choso.Tx) error {
		if n, err := tx.CountMarkets(); err != nil || n != 0 {
			t.Fatalf("CountMarkets on an empty store = %d, %v; want 0, nil", n, err)
		}
		return nil
	})
	seedMarkets(t, s, marketAll...)
	update(t, s, func(tx choso.Tx) error {
		m := *choThuong
		m.Name = "Chợ Thương (sửa)"
		return tx.UpdateMarket(&m)
	})
	view(t, s, func(tx choso.Tx) error {
		if n, err := tx.CountMarkets(); err != nil || n != len(marketAll) {
			t.Fatalf("CountMarkets = %d, %v; want %d, nil", n, err, len(marketAll))
		}
		return nil
	})
}
