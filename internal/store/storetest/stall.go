package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/choso/choso"
)

var stallTests = []testCase{
	{"Stall_Create_FindByIDAndCodeReturnEveryField", testStallCreateFind},
	{"Stall_Create_DuplicateCodeConflict", testStallCreateDuplicateCode},
	{"Stall_Create_SameCodeInAnotherMarketAllowed", testStallCreateSameCodeElsewhere},
	{"Stall_Create_IDExistsConflict", testStallCreateIDExists},
	{"Stall_Create_MissingMarketNotFound", testStallCreateMissingMarket},
	{"Stall_Update_ReplacesAndMovesCodeIndex", testStallUpdateMovesCode},
	{"Stall_Update_CodeTakenConflictAndNothingChanges", testStallUpdateCodeTaken},
	{"Stall_Update_MovesAndErasesPhoneIndex", testStallUpdateMovesPhone},
	{"Stall_Update_MissingNotFound", testStallUpdateMissing},
	{"Stall_Find_MissingNotFound", testStallFindMissing},
	{"Stall_Find_ReturnsACopyTheCallerOwns", testStallFindCopy},
	{"Stall_List_FiltersByStatusAndText", testStallListFilters},
	{"Stall_List_PagesInCodeOrderWithoutDuplicatesOrGaps", testStallListPages},
	{"Stall_ListRefs_NamesEveryStallOfTheMarketAsListStallsDoes", testStallListRefs},
	{"Stall_FindStallsByPhone_FindsTheVendorsStallsInEveryMarket", testStallFindByPhone},
	{"Stall_Count_CountsPerMarketAndInAll", testStallCount},
	{"Stall_FindStallsByAccount_FindsEveryStallOfTheAccountInIDOrder", testStallFindByAccount},
	{"Stall_Update_MovesAccountIndex", testStallUpdateMovesAccount},
}

const (
	phoneLan  = "+84912345678"
	phoneHung = "+84983456789"
	phoneMai  = "+84356789012"
)

var (
	stallRau  = newStall(choBacGiang, "stl_0rau", "A-01", "Rau sạch cô Lan", phoneLan)
	stallBun  = withVendor(newStall(choBacGiang, "stl_1bun", "A-02", "Bún chả Hùng", phoneHung), "Trần Văn Hùng", "Ăn uống")
	stallCa   = withVendor(newStall(choBacGiang, "stl_2ca", "B/7", "Cá đồng Mai", phoneMai), "Lê Thị Mai", "Thịt cá")
	stallXuan = newStall(choDongXuan, "stl_3xuan", "A-01", "Hoa quả Lan", phoneLan)
	stallAll  = []*choso.Stall{stallCa, stallXuan, stallBun, stallRau}
)

func withVendor(s *choso.Stall, vendor, category string) *choso.Stall {
	s.Vendor.Name, s.Category = vendor, category
	s.Payout.Holder = vendor
	return s
}

// seedStalls stores the fixture markets and stalls.
func seedStalls(t *testing.T, s choso.Store) {
	t.Helper()
	seedMarkets(t, s, marketAll...)
	createStalls(t, s, stallAll...)
}

// seedStallsBunSuspended stores the fixture stalls with stallBun suspended.
func seedStallsBunSuspended(t *testing.T, s choso.Store) {
	t.Helper()
	seedStalls(t, s)
	suspended := *stallBun
	suspended.Status = choso.StallSuspended
	update(t, s, func(tx choso.Tx) error { return tx.UpdateStall(&suspended) })
}

func createStalls(t *testing.T, s choso.Store, stalls ...*choso.Stall) {
	t.Helper()
	update(t, s, func(tx choso.Tx) error {
		for _, st := range stalls {
			c := *st
			if err := tx.CreateStall(&c); err != nil {
				return fmt.Errorf("CreateStall(%s): %w", st.ID, err)
			}
		}
		return nil
	})
}

func stallIDs(list []*choso.Stall) []string {
	var ids []string
	for _, st := range list {
		ids = append(ids, st.ID)
	}
	return ids
}

func listStalls(t *testing.T, s choso.Store, f choso.StallFilter) []*choso.Stall {
	t.Helper()
	var list []*choso.Stall
	view(t, s, func(tx choso.Tx) error {
		var err error
		list, err = tx.ListStalls(f)
		return err
	})
	return list
}

func stallsByPhone(t *testing.T, s choso.Store, phone string) []string {
	t.Helper()
	var list []*choso.Stall
	view(t, s, func(tx choso.Tx) error {
		var err error
		list, err = tx.FindStallsByPhone(phone)
		return err
	})
	return stallIDs(list)
}

// wantStallCode fails the test unless code in market m finds want (nil: none).
func wantStallCode(t *testing.T, s choso.Store, m *choso.Market, code string, want *choso.Stall) {
	t.Helper()
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindStallByCode(m.ID, code)
		if want == nil {
			wantCode(t, fmt.Sprintf("FindStallByCode(%s, %s)", m.ID, code), err, choso.ENotFound)
			return nil
		}
		if err != nil {
			t.Fatalf("FindStallByCode(%s, %s): %v", m.ID, code, err)
		}
		wantEqual(t, fmt.Sprintf("FindStallByCode(%s, %s)", m.ID, code), got, want)
		return nil
	})
}

func testStallCreateFind(t *testing.T, h Harness) {
	s := open(t, h)
	seedStalls(t, s)
	for _, want := range stallAll {
		view(t, s, func(tx choso.Tx) error {
			got, err := tx.FindStall(want.ID)
			if err != nil {
				t.Fatalf("FindStall(%s): %v", want.ID, err)
			}
			wantEqual(t, "FindStall("+want.ID+")", got, want)
			return nil
		})
		m := choBacGiang
		if want.MarketID == choDongXuan.ID {
			m = choDongXuan
		}
		wantStallCode(t, s, m, want.Code, want)
	}
}

func testStallCreateDuplicateCode(t *testing.T, h Harness) {
	s := open(t, h)
	seedStalls(t, s)
	dup := newStall(choBacGiang, "stl_9dup", stallBun.Code, "Phở bò Hà", "+84909876543")
	err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.CreateStall(dup) })
	wantCode(t, "CreateStall(code "+dup.Code+" taken)", err, choso.EConflict)
	wantStallCode(t, s, choBacGiang, stallBun.Code, stallBun)
	view(t, s, func(tx choso.Tx) error {
		_, err := tx.FindStall(dup.ID)
		wantCode(t, "FindStall(refused stall)", err, choso.ENotFound)
		return nil
	})
	if got := stallsByPhone(t, s, dup.Vendor.Phone); len(got) != 0 {
		t.Fatalf("FindStallsByPhone(refused stall's phone): got %v, want none", got)
	}
}

func testStallCreateSameCodeElsewhere(t *testing.T, h Harness) {
	s := open(t, h)
	seedStalls(t, s)
	other := newStall(choBenThanh, "stl_9benthanh", stallBun.Code, "Bánh mì Sài Gòn", "+84909876543")
	createStalls(t, s, other)
	wantStallCode(t, s, choBenThanh, other.Code, other)
	wantStallCode(t, s, choBacGiang, stallBun.Code, stallBun)
}

func testStallCreateIDExists(t *testing.T, h Harness) {
	s := open(t, h)
	seedStalls(t, s)
	dup := newStall(choBacGiang, stallRau.ID, "Z-99", "Phở bò Hà", "+84909876543")
	err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.CreateStall(dup) })
	wantCode(t, "CreateStall(existing ID)", err, choso.EConflict)
	wantStallCode(t, s, choBacGiang, "Z-99", nil)
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindStall(stallRau.ID)
		if err != nil {
			t.Fatalf("FindStall: %v", err)
		}
		wantEqual(t, "stall after the refused create", got, stallRau)
		return nil
	})
}

func testStallCreateMissingMarket(t *testing.T, h Harness) {
	s := open(t, h)
	seedMarkets(t, s, choBacGiang)
	ghost := newMarket("mkt_ghost", "Chợ Ma", bacGiang)
	err := s.Update(t.Context(), func(tx choso.Tx) error {
		return tx.CreateStall(newStall(ghost, "stl_9ghost", "A-01", "Rau sạch", phoneLan))
	})
	wantCode(t, "CreateStall(missing market)", err, choso.ENotFound)
	view(t, s, func(tx choso.Tx) error {
		if n, err := tx.CountStalls(""); err != nil || n != 0 {
			t.Fatalf("CountStalls after the refused create = %d, %v; want 0, nil", n, err)
		}
		return nil
	})
}

func testStallUpdateMovesCode(t *testing.T, h Harness) {
	s := open(t, h)
	seedStalls(t, s)
	changed := *stallRau
	changed.Code = "C-10"
	changed.Name = "Rau sạch Đà Lạt cô Lan"
	changed.Status = choso.StallSuspended
	changed.QRVersion, changed.ConfigVersion = 3, 6
	changed.PendingPayout = nil
	changed.UpdatedAt = at(15, 0)
	update(t, s, func(tx choso.Tx) error { return tx.UpdateStall(&changed) })
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindStall(changed.ID)
		if err != nil {
			t.Fatalf("FindStall: %v", err)
		}
		wantEqual(t, "FindStall after update", got, &changed)
		return nil
	})
	wantStallCode(t, s, choBacGiang, "C-10", &changed)
	wantStallCode(t, s, choBacGiang, stallRau.Code, nil)
	wantStallCode(t, s, choDongXuan, stallXuan.Code, stallXuan) // same code, other market: untouched
	wantEqual(t, "ListStalls after the code moved",
		stallIDs(listStalls(t, s, choso.StallFilter{MarketID: choBacGiang.ID})),
		[]string{stallBun.ID, stallCa.ID, changed.ID}) // A-02, B/7, C-10
	// The old code is free again.
	createStalls(t, s, newStall(choBacGiang, "stl_9new", stallRau.Code, "Gà ta", "+84909876543"))
}

func testStallUpdateCodeTaken(t *testing.T, h Harness) {
	s := open(t, h)
	seedStalls(t, s)
	changed := *stallRau
	changed.Code = stallCa.Code
	changed.Name = "Tên mới"
	err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.UpdateStall(&changed) })
	wantCode(t, "UpdateStall(code "+changed.Code+" taken)", err, choso.EConflict)
	wantStallCode(t, s, choBacGiang, stallRau.Code, stallRau)
	wantStallCode(t, s, choBacGiang, stallCa.Code, stallCa)
	// Keeping its own code is no conflict.
	same := *stallRau
	same.Name = "Rau sạch cô Lan (sửa)"
	update(t, s, func(tx choso.Tx) error { return tx.UpdateStall(&same) })
	wantStallCode(t, s, choBacGiang, stallRau.Code, &same)
}

func testStallUpdateMovesPhone(t *testing.T, h Harness) {
	s := open(t, h)
	seedStalls(t, s)
	const newPhone = "+84987654321"
	changed := *stallRau
	changed.Vendor.Phone = newPhone
	update(t, s, func(tx choso.Tx) error { return tx.UpdateStall(&changed) })
	wantEqual(t, "FindStallsByPhone(old phone)", stallsByPhone(t, s, phoneLan), []string{stallXuan.ID})
	wantEqual(t, "FindStallsByPhone(new phone)", stallsByPhone(t, s, newPhone), []string{stallRau.ID})

	// Erasure (DESIGN.md §11): personal fields go, the stall stays.
	erased := changed
	erasedAt := at(16, 0)
	erased.Vendor = choso.Vendor{}
	erased.ErasedAt = &erasedAt
	update(t, s, func(tx choso.Tx) error { return tx.UpdateStall(&erased) })
	if got := stallsByPhone(t, s, newPhone); len(got) != 0 {
		t.Fatalf("FindStallsByPhone(erased vendor's phone): got %v, want none", got)
	}
	if got := stallsByPhone(t, s, ""); len(got) != 0 {
		t.Fatalf("FindStallsByPhone(\"\"): got %v, want none (erased stalls have no phone)", got)
	}
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindStall(erased.ID)
		if err != nil {
			t.Fatalf("FindStall(erased): %v", err)
		}
		wantEqual(t, "FindStall(erased)", got, &erased)
		return nil
	})
}

func testStallUpdateMissing(t *testing.T, h Harness) {
	s := open(t, h)
	seedStalls(t, s)
	ghost := newStall(choBacGiang, "stl_ghost", "Z-01", "Quầy ma", "+84909876543")
	err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.UpdateStall(ghost) })
	wantCode(t, "UpdateStall(missing)", err, choso.ENotFound)
	wantStallCode(t, s, choBacGiang, ghost.Code, nil)
	if got := stallsByPhone(t, s, ghost.Vendor.Phone); len(got) != 0 {
		t.Fatalf("FindStallsByPhone after the refused update: got %v, want none", got)
	}
}

func testStallFindMissing(t *testing.T, h Harness) {
	s := open(t, h)
	seedStalls(t, s)
	view(t, s, func(tx choso.Tx) error {
		for _, id := range []string{"", "stl_ghost", choBacGiang.ID, stallRau.Code} {
			_, err := tx.FindStall(id)
			wantCode(t, "FindStall("+id+")", err, choso.ENotFound)
		}
		tests := []struct{ marketID, code string }{
			{choBacGiang.ID, "Z-99"},
			{choBacGiang.ID, ""},
			{"", stallRau.Code},
			{choBenThanh.ID, stallRau.Code}, // the code exists, in other markets
			{"mkt_ghost", stallRau.Code},
			{choBacGiang.ID, "B"}, // a prefix of "B/7"
		}
		for _, tt := range tests {
			_, err := tx.FindStallByCode(tt.marketID, tt.code)
			wantCode(t, fmt.Sprintf("FindStallByCode(%q, %q)", tt.marketID, tt.code), err, choso.ENotFound)
		}
		return nil
	})
}

func testStallFindCopy(t *testing.T, h Harness) {
	s := open(t, h)
	seedStalls(t, s)
	view(t, s, func(tx choso.Tx) error {
		st, err := tx.FindStall(stallRau.ID)
		if err != nil {
			t.Fatalf("FindStall: %v", err)
		}
		st.Name = "changed"
		st.PendingPayout.Account.Account = "0000"
		again, err := tx.FindStallByCode(choBacGiang.ID, stallRau.Code)
		if err != nil {
			t.Fatalf("FindStallByCode: %v", err)
		}
		wantEqual(t, "stall read after changing an earlier copy", again, stallRau)
		return nil
	})
}

func testStallListFilters(t *testing.T, h Harness) {
	s := open(t, h)
	seedStallsBunSuspended(t, s)
	bg := choBacGiang.ID
	tests := []struct {
		name string
		f    choso.StallFilter
		want []string
	}{
		{"a market, in code order", choso.StallFilter{MarketID: bg}, []string{stallRau.ID, stallBun.ID, stallCa.ID}},
		{"another market", choso.StallFilter{MarketID: choDongXuan.ID}, []string{stallXuan.ID}},
		{"a market without stalls", choso.StallFilter{MarketID: choBenThanh.ID}, nil},
		{"a market not stored", choso.StallFilter{MarketID: "mkt_ghost"}, nil},
		{"active", choso.StallFilter{MarketID: bg, Status: choso.StallActive}, []string{stallRau.ID, stallCa.ID}},
		{"suspended", choso.StallFilter{MarketID: bg, Status: choso.StallSuspended}, []string{stallBun.ID}},
		{"code", choso.StallFilter{MarketID: bg, Query: "b/7"}, []string{stallCa.ID}},
		{"name without diacritics", choso.StallFilter{MarketID: bg, Query: "bun cha"}, []string{stallBun.ID}},
		{"category", choso.StallFilter{MarketID: bg, Query: "thịt cá"}, []string{stallCa.ID}},
		{"vendor name", choso.StallFilter{MarketID: bg, Query: "tran van"}, []string{stallBun.ID}},
		{"text matching several fields", choso.StallFilter{MarketID: bg, Query: "lan"}, []string{stallRau.ID}},
		{"text and status", choso.StallFilter{MarketID: bg, Query: "a-0", Status: choso.StallActive}, []string{stallRau.ID}},
		{"text matching nothing", choso.StallFilter{MarketID: bg, Query: "phở"}, nil},
		{"after a code", choso.StallFilter{MarketID: bg, After: stallRau.Code}, []string{stallBun.ID, stallCa.ID}},
		{"after a code not stored", choso.StallFilter{MarketID: bg, After: "A-015"}, []string{stallBun.ID, stallCa.ID}},
		{"after the last", choso.StallFilter{MarketID: bg, After: stallCa.Code}, nil},
		{"limit", choso.StallFilter{MarketID: bg, Limit: 2}, []string{stallRau.ID, stallBun.ID}},
		{"zero limit is a default page", choso.StallFilter{MarketID: bg, Limit: 0}, []string{stallRau.ID, stallBun.ID, stallCa.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantEqual(t, fmt.Sprintf("ListStalls(%+v)", tt.f), stallIDs(listStalls(t, s, tt.f)), tt.want)
		})
	}
}

func testStallListPages(t *testing.T, h Harness) {
	s := open(t, h)
	seedMarkets(t, s, choBacGiang, choThuong)
	const n = 41
	var wantCodes []string
	update(t, s, func(tx choso.Tx) error {
		// Codes created out of order, and some stalls in the market whose
		// index entries follow, so a page that strays across markets shows.
		for i := n - 1; i >= 0; i-- {
			code := fmt.Sprintf("K-%03d", i*7%n)
			m := choBacGiang
			if i%5 == 0 {
				m = choThuong
			} else {
				wantCodes = append(wantCodes, code)
			}
			name := "Quầy trái cây"
			if i%2 == 0 {
				name = "Quầy rau củ"
			}
			if err := tx.CreateStall(newStall(m, choso.NewID(choso.PrefixStall), code, name, "+84912345678")); err != nil {
				return err
			}
		}
		return nil
	})
	for _, size := range []int{1, 3, 10, 100} {
		for _, query := range []string{"", "trai cay"} {
			t.Run(fmt.Sprintf("pages of %d, query %q", size, query), func(t *testing.T) {
				f := choso.StallFilter{MarketID: choBacGiang.ID, Query: query, Limit: size}
				var got []string
				for pages := 0; ; pages++ {
					if pages > n {
						t.Fatalf("more than %d pages: the cursor does not advance", n)
					}
					page := listStalls(t, s, f)
					if len(page) > size {
						t.Fatalf("page of %d stalls, want at most %d", len(page), size)
					}
					if len(page) == 0 {
						break
					}
					for _, st := range page {
						if st.MarketID != choBacGiang.ID {
							t.Fatalf("stall %s of market %s listed for %s", st.ID, st.MarketID, choBacGiang.ID)
						}
						got = append(got, st.Code)
					}
					f.After = page[len(page)-1].Code
				}
				for i := 1; i < len(got); i++ {
					if got[i-1] >= got[i] {
						t.Fatalf("pages not in code order, or a duplicate: %s before %s", got[i-1], got[i])
					}
				}
				f.After, f.Limit = "", n+1
				var want []string
				for _, st := range listStalls(t, s, f) {
					want = append(want, st.Code)
				}
				wantEqual(t, "paged codes", got, want)
				if query == "" && len(got) != len(wantCodes) {
					t.Fatalf("paged through %d stalls, want %d", len(got), len(wantCodes))
				}
			})
		}
	}
}

func listStallRefs(t *testing.T, s choso.Store, marketID, after string, limit int) []choso.StallRef {
	t.Helper()
	var list []choso.StallRef
	view(t, s, func(tx choso.Tx) error {
		var err error
		list, err = tx.ListStallRefs(marketID, after, limit)
		return err
	})
	return list
}

func testStallListRefs(t *testing.T, h Harness) {
	s := open(t, h)
	seedStallsBunSuspended(t, s)
	bg := choBacGiang.ID
	ref := func(st *choso.Stall) choso.StallRef {
		return choso.StallRef{ID: st.ID, Code: st.Code, CreatedAt: st.CreatedAt}
	}
	every := []choso.StallRef{ref(stallRau), ref(stallBun), ref(stallCa)} // the suspended one too
	tests := []struct {
		name          string
		market, after string
		limit         int
		want          []choso.StallRef
	}{
		{"a market, in code order, every status", bg, "", 0, every},
		{"another market", choDongXuan.ID, "", 0, []choso.StallRef{ref(stallXuan)}},
		{"a market without stalls", choBenThanh.ID, "", 0, nil},
		{"a market not stored", "mkt_ghost", "", 0, nil},
		{"after a code", bg, stallRau.Code, 0, every[1:]},
		{"after a code not stored", bg, "A-015", 0, every[1:]},
		{"after the last", bg, stallCa.Code, 0, nil},
		{"limit", bg, "", 2, every[:2]},
		{"a page after a code with '/' in the one before", bg, stallBun.Code, 1, every[2:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantEqual(t, fmt.Sprintf("ListStallRefs(%s, %q, %d)", tt.market, tt.after, tt.limit),
				listStallRefs(t, s, tt.market, tt.after, tt.limit), tt.want)
		})
	}
	// Paged one at a time, the refs are ListStalls' stalls, in its order.
	var got []choso.StallRef
	for after := ""; ; {
		page := listStallRefs(t, s, bg, after, 1)
		if len(page) == 0 {
			break
		}
		if len(got) > len(every) {
			t.Fatal("more pages than stalls: the cursor does not advance")
		}
		got = append(got, page...)
		after = page[len(page)-1].Code
	}
	var want []choso.StallRef
	for _, st := range listStalls(t, s, choso.StallFilter{MarketID: bg}) {
		want = append(want, ref(st))
	}
	wantEqual(t, "refs paged one at a time", got, want)

	// Each ref carries its own stall's registration time, to the
	// microsecond, whatever the zone it was given in.
	late := newStall(choBenThanh, "stl_0late", "C-09", "Bún ốc cô Ba", "")
	late.CreatedAt = time.Date(2026, 3, 4, 23, 6, 7, 891_234_000, time.FixedZone("ICT", 7*3600))
	createStalls(t, s, late)
	got = listStallRefs(t, s, choBenThanh.ID, "", 0)
	if len(got) != 1 || got[0].ID != late.ID || !got[0].CreatedAt.Equal(late.CreatedAt) {
		t.Fatalf("ListStallRefs of a stall registered at %v: %+v", late.CreatedAt, got)
	}
}

func testStallFindByPhone(t *testing.T, h Harness) {
	s := open(t, h)
	seedStalls(t, s)
	tests := []struct {
		phone string
		want  []string
	}{
		{phoneLan, []string{stallRau.ID, stallXuan.ID}}, // two markets, in ID order
		{phoneHung, []string{stallBun.ID}},
		{phoneMai, []string{stallCa.ID}},
		{"+84900000000", nil},
		{"+8491234567", nil}, // a prefix of Lan's number
		{"0912345678", nil},  // not E.164
		{"", nil},
	}
	for _, tt := range tests {
		var got []*choso.Stall
		view(t, s, func(tx choso.Tx) error {
			var err error
			got, err = tx.FindStallsByPhone(tt.phone)
			return err
		})
		wantEqual(t, "FindStallsByPhone("+tt.phone+")", stallIDs(got), tt.want)
		if len(got) > 0 {
			wantEqual(t, "FindStallsByPhone("+tt.phone+") first stall", got[0], stallByID(tt.want[0]))
		}
	}
}

func stallByID(id string) *choso.Stall {
	for _, st := range stallAll {
		if st.ID == id {
			return st
		}
	}
	return nil
}

func testStallCount(t *testing.T, h Harness) {
	s := open(t, h)
	seedMarkets(t, s, marketAll...)
	view(t, s, func(tx choso.Tx) error {
		if n, err := tx.CountStalls(""); err != nil || n != 0 {
			t.Fatalf("CountStalls(\"\") on an empty store = %d, %v; want 0, nil", n, err)
		}
		return nil
	})
	createStalls(t, s, stallAll...)
	update(t, s, func(tx choso.Tx) error {
		c := *stallRau
		c.Code = "C-10" // moving a code neither adds nor removes a stall
		return tx.UpdateStall(&c)
	})
	tests := []struct {
		marketID string
		want     int
	}{
		{"", len(stallAll)},
		{choBacGiang.ID, 3},
		{choDongXuan.ID, 1},
		{choBenThanh.ID, 0},
		{"mkt_ghost", 0},
	}
	view(t, s, func(tx choso.Tx) error {
		for _, tt := range tests {
			if n, err := tx.CountStalls(tt.marketID); err != nil || n != tt.want {
				t.Fatalf("CountStalls(%q) = %d, %v; want %d, nil", tt.marketID, n, err, tt.want)
			}
		}
		return nil
	})
}

func stallsByAccount(t *testing.T, s choso.Store, bin, account string) []string {
	t.Helper()
	var list []*choso.Stall
	view(t, s, func(tx choso.Tx) error {
		var err error
		list, err = tx.FindStallsByAccount(bin, account)
		return err
	})
	return stallIDs(list)
}

// withAccount returns a copy of st paid to bin + account.
func withAccount(st *choso.Stall, bin, account string) *choso.Stall {
	c := *st
	c.Payout.BIN, c.Payout.Account = bin, account
	return &c
}

const (
	binVCB    = "970436"
	binTCB    = "970407"
	accountLa = "0011004123456"
)

func testStallFindByAccount(t *testing.T, h Harness) {
	s := open(t, h)
	seedMarkets(t, s, marketAll...)
	// stallXuan shares stallRau's account in another market; stallBun has
	// the same number at another bank; stallCa's number extends it.
	suspended := withAccount(stallXuan, binVCB, accountLa)
	suspended.Status = choso.StallSuspended
	createStalls(t, s,
		withAccount(stallRau, binVCB, accountLa), suspended,
		withAccount(stallBun, binTCB, accountLa), withAccount(stallCa, binVCB, accountLa+"7"))
	tests := []struct {
		bin, account string
		want         []string
	}{
		{binVCB, accountLa, []string{stallRau.ID, stallXuan.ID}},
		{binTCB, accountLa, []string{stallBun.ID}},
		{binVCB, accountLa + "7", []string{stallCa.ID}},
		{binVCB, accountLa[:len(accountLa)-1], nil},
		{"970415", accountLa, nil},
		{"", accountLa, nil},
		{binVCB, "", nil},
		{binVCB + "/" + accountLa, "", nil},
		{binVCB, accountLa + "/" + stallRau.ID, nil},
	}
	for _, tt := range tests {
		if got := stallsByAccount(t, s, tt.bin, tt.account); !slices.Equal(got, tt.want) {
			t.Errorf("FindStallsByAccount(%q, %q): got %v, want %v", tt.bin, tt.account, got, tt.want)
		}
	}
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindStallsByAccount(binVCB, accountLa)
		if err != nil || len(got) != 2 {
			t.Fatalf("FindStallsByAccount: got %v, %v; want two stalls", got, err)
		}
		wantEqual(t, "FindStallsByAccount values", got, []*choso.Stall{withAccount(stallRau, binVCB, accountLa), suspended})
		return nil
	})
}

func testStallUpdateMovesAccount(t *testing.T, h Harness) {
	s := open(t, h)
	seedMarkets(t, s, marketAll...)
	rau := withAccount(stallRau, binVCB, accountLa)
	createStalls(t, s, rau, withAccount(stallBun, binVCB, accountLa))

	// A change that leaves the account alone keeps the entry.
	renamed := *rau
	renamed.Name = "Rau sạch Lan"
	update(t, s, func(tx choso.Tx) error { return tx.UpdateStall(&renamed) })
	wantEqual(t, "FindStallsByAccount after a rename", stallsByAccount(t, s, binVCB, accountLa), []string{stallRau.ID, stallBun.ID})

	newAccount := withAccount(&renamed, binVCB, "0011009999999")
	update(t, s, func(tx choso.Tx) error { return tx.UpdateStall(newAccount) })
	wantEqual(t, "FindStallsByAccount(old account)", stallsByAccount(t, s, binVCB, accountLa), []string{stallBun.ID})
	wantEqual(t, "FindStallsByAccount(new account)", stallsByAccount(t, s, binVCB, "0011009999999"), []string{stallRau.ID})

	newBank := withAccount(newAccount, binTCB, "0011009999999")
	update(t, s, func(tx choso.Tx) error { return tx.UpdateStall(newBank) })
	wantEqual(t, "FindStallsByAccount(old bank)", stallsByAccount(t, s, binVCB, "0011009999999"), []string(nil))
	wantEqual(t, "FindStallsByAccount(new bank)", stallsByAccount(t, s, binTCB, "0011009999999"), []string{stallRau.ID})

	// Former accounts are the stall's too, until it drops them.
	withFormer := *newBank
	withFormer.FormerPayouts = []choso.FormerPayout{
		{Account: choso.PayoutAccount{BIN: binVCB, Account: "0011009999999"}, Until: at(15, 0)},
		{Account: choso.PayoutAccount{BIN: binVCB, Account: accountLa}, Until: at(14, 0)},
	}
	update(t, s, func(tx choso.Tx) error { return tx.UpdateStall(&withFormer) })
	wantEqual(t, "FindStallsByAccount(a former account)", stallsByAccount(t, s, binVCB, "0011009999999"), []string{stallRau.ID})
	wantEqual(t, "FindStallsByAccount(a former account another stall has)", stallsByAccount(t, s, binVCB, accountLa), []string{stallRau.ID, stallBun.ID})
	wantEqual(t, "FindStallsByAccount(the current account)", stallsByAccount(t, s, binTCB, "0011009999999"), []string{stallRau.ID})
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindStall(stallRau.ID)
		if err != nil {
			return err
		}
		wantEqual(t, "FindStall's former accounts", got.FormerPayouts, withFormer.FormerPayouts)
		return nil
	})
	dropped := withFormer
	dropped.FormerPayouts = dropped.FormerPayouts[1:]
	update(t, s, func(tx choso.Tx) error { return tx.UpdateStall(&dropped) })
	wantEqual(t, "FindStallsByAccount(a former account dropped)", stallsByAccount(t, s, binVCB, "0011009999999"), []string(nil))
	wantEqual(t, "FindStallsByAccount(a former account kept)", stallsByAccount(t, s, binVCB, accountLa), []string{stallRau.ID, stallBun.ID})

	// Erasure masks the account: the stall leaves its real number's entry.
	erased := *newBank
	erasedAt := at(16, 0)
	erased.Vendor, erased.ErasedAt = choso.Vendor{}, &erasedAt
	erased.Payout.Account = choso.MaskAccount(erased.Payout.Account)
	update(t, s, func(tx choso.Tx) error { return tx.UpdateStall(&erased) })
	wantEqual(t, "FindStallsByAccount(erased stall's number)", stallsByAccount(t, s, binTCB, "0011009999999"), []string(nil))

	// A refused update moves nothing.
	taken := withAccount(stallBun, binTCB, "0011007777777")
	taken.Code = stallRau.Code
	err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.UpdateStall(taken) })
	wantCode(t, "UpdateStall(code taken)", err, choso.EConflict)
	wantEqual(t, "FindStallsByAccount after the refused update", stallsByAccount(t, s, binVCB, accountLa), []string{stallBun.ID})
	wantEqual(t, "FindStallsByAccount(refused account)", stallsByAccount(t, s, binTCB, "0011007777777"), []string(nil))
}
