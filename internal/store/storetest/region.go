package storetest

import (
	"testing"

	"github.com/choso/choso"
)

var regionTests = []testCase{
	{"Region_Put_FindReturnsProvinceAndCommune", testRegionPutFind},
	{"Region_Put_CommuneOfMissingProvinceInvalid", testRegionPutOrphanInvalid},
	{"Region_Put_ReplacesAndMovesCommuneToItsNewProvince", testRegionPutReplaces},
	{"Region_Find_MissingNotFound", testRegionFindMissing},
	{"Region_List_ProvincesAndCommunesInCodeOrder", testRegionList},
	{"Region_Count_CountsEveryLevel", testRegionCount},
}

func testRegionPutFind(t *testing.T, h Harness) {
	s := open(t, h)
	seedRegions(t, s)
	for _, want := range []*choso.Region{bacNinh, bacGiang, hoChiMinh, benThanh} {
		view(t, s, func(tx choso.Tx) error {
			got, err := tx.FindRegion(want.Code)
			if err != nil {
				t.Fatalf("FindRegion(%s): %v", want.Code, err)
			}
			wantEqual(t, "FindRegion("+want.Code+")", got, want)
			return nil
		})
	}
}

func testRegionPutOrphanInvalid(t *testing.T, h Harness) {
	s := open(t, h)
	err := s.Update(t.Context(), func(tx choso.Tx) error {
		c := *bacGiang
		return tx.PutRegion(&c)
	})
	wantCode(t, "PutRegion(commune 07210 before province 24)", err, choso.EInvalid)
	view(t, s, func(tx choso.Tx) error {
		_, err := tx.FindRegion(bacGiang.Code)
		wantCode(t, "FindRegion(07210) after the refused put", err, choso.ENotFound)
		return nil
	})
}

func testRegionPutReplaces(t *testing.T, h Harness) {
	s := open(t, h)
	seedRegions(t, s)
	// Renamed, and (hypothetically) moved from Bắc Ninh to Hà Nội.
	moved := *kinhBac
	moved.Name = "Phường Kinh Bắc Mới"
	moved.ParentCode = haNoi.Code
	update(t, s, func(tx choso.Tx) error { return tx.PutRegion(&moved) })
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindRegion(moved.Code)
		if err != nil {
			t.Fatalf("FindRegion(%s): %v", moved.Code, err)
		}
		wantEqual(t, "FindRegion after replace", got, &moved)
		wantRegionCodes(t, tx, bacNinh.Code, bacGiang.Code)
		wantRegionCodes(t, tx, haNoi.Code, baDinh.Code, hoanKiem.Code, moved.Code)
		n, err := tx.CountRegions()
		if err != nil || n != len(regionAll) {
			t.Fatalf("CountRegions after replace = %d, %v; want %d, nil", n, err, len(regionAll))
		}
		return nil
	})
}

func testRegionFindMissing(t *testing.T, h Harness) {
	s := open(t, h)
	seedRegions(t, s)
	for _, code := range []string{"", "02", "07211", "not a code"} {
		view(t, s, func(tx choso.Tx) error {
			_, err := tx.FindRegion(code)
			wantCode(t, "FindRegion("+code+")", err, choso.ENotFound)
			return nil
		})
	}
}

func testRegionList(t *testing.T, h Harness) {
	s := open(t, h)
	seedRegions(t, s) // stored out of code order
	tests := []struct {
		parent string
		want   []*choso.Region
	}{
		{"", []*choso.Region{haNoi, bacNinh, hoChiMinh}},
		{"01", []*choso.Region{baDinh, hoanKiem}},
		{"24", []*choso.Region{bacGiang, kinhBac}},
		{"79", []*choso.Region{benThanh}},
		{"38", nil},    // a province not stored
		{"07210", nil}, // a commune has no children
	}
	for _, tt := range tests {
		view(t, s, func(tx choso.Tx) error {
			got, err := tx.ListRegions(tt.parent)
			if err != nil {
				t.Fatalf("ListRegions(%q): %v", tt.parent, err)
			}
			if len(got) == 0 && len(tt.want) == 0 {
				return nil
			}
			wantEqual(t, "ListRegions("+tt.parent+")", got, tt.want)
			return nil
		})
	}
}

func testRegionCount(t *testing.T, h Harness) {
	s := open(t, h)
	view(t, s, func(tx choso.Tx) error {
		if n, err := tx.CountRegions(); err != nil || n != 0 {
			t.Fatalf("CountRegions on an empty store = %d, %v; want 0, nil", n, err)
		}
		return nil
	})
	seedRegions(t, s)
	seedRegions(t, s) // replacing adds nothing
	view(t, s, func(tx choso.Tx) error {
		if n, err := tx.CountRegions(); err != nil || n != len(regionAll) {
			t.Fatalf("CountRegions = %d, %v; want %d, nil", n, err, len(regionAll))
		}
		return nil
	})
}

// wantRegionCodes fails the test unless parent's children are codes, in order.
func wantRegionCodes(t *testing.T, tx choso.Tx, parent string, codes ...string) {
	t.Helper()
	list, err := tx.ListRegions(parent)
	if err != nil {
		t.Fatalf("ListRegions(%q): %v", parent, err)
	}
	var got []string
	for _, r := range list {
		got = append(got, r.Code)
	}
	wantEqual(t, "ListRegions("+parent+") codes", got, codes)
}
