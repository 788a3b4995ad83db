package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/choso/choso"
)

// testCase is one conformance case: a name that reads like a sentence and a
// function that opens its own store through the harness.
type testCase struct {
	name string
	fn   func(*testing.T, Harness)
}

// update runs fn in a read-write transaction and fails the test on error.
func update(t *testing.T, s choso.Store, fn func(choso.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a read-only transaction and fails the test on error.
func view(t *testing.T, s choso.Store, fn func(choso.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := choso.ErrorCode(err); got != code {
		t.Fatalf("%s: got code %q (%v), want %q", what, got, err, code)
	}
}

// wantEqual fails the test unless got and want hold the same values. Times
// compare as instants, since a backend may hand them back in another zone,
// and an empty slice equals a nil one.
func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	if g.IsValid() && w.IsValid() {
		gc, wc := reflect.New(g.Type()).Elem(), reflect.New(w.Type()).Elem()
		gc.Set(g)
		wc.Set(w)
		normalize(gc)
		normalize(wc)
		got, want = gc.Interface(), wc.Interface()
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, deref(got), deref(want))
	}
}

var timeType = reflect.TypeFor[time.Time]()

// normalize rewrites, in place, every time reachable from v to UTC and every
// empty slice to nil. Pointers and slices are followed into fresh copies, so
// the caller's values are not touched.
func normalize(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		c := reflect.New(v.Elem().Type())
		c.Elem().Set(v.Elem())
		normalize(c.Elem())
		v.Set(c)
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(v.Interface().(time.Time).UTC()))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				normalize(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := range c.Len() {
			normalize(c.Index(i))
		}
		v.Set(c)
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		c := reflect.New(v.Elem().Type()).Elem()
		c.Set(v.Elem())
		normalize(c)
		v.Set(c)
	}
}

// deref makes failure messages show a slice of pointers by value.
func deref(v any) any {
	rv := reflect.ValueOf(v)
	switch {
	case rv.Kind() == reflect.Pointer && !rv.IsNil():
		return rv.Elem().Interface()
	case rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Pointer:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = deref(rv.Index(i).Interface())
		}
		return out
	}
	return v
}

// at is a time on 2026-03-02 (a Monday) in Vietnam, at hh:mm.
func at(hh, mm int) time.Time {
	return time.Date(2026, 3, 2, hh, mm, 0, 0, time.FixedZone("ICT", 7*3600))
}

// Regions, from data/regions.csv.
func province(code, name, kind string) *choso.Region {
	return &choso.Region{Code: code, Name: name, Level: choso.LevelProvince, Kind: kind}
}

func commune(code, name, parent string) *choso.Region {
	return &choso.Region{Code: code, Name: name, ParentCode: parent, Level: choso.LevelCommune, Kind: "phường"}
}

var (
	bacNinh   = province("24", "Tỉnh Bắc Ninh", "tỉnh")
	haNoi     = province("01", "Thành phố Hà Nội", "thành phố trung ương")
	hoChiMinh = province("79", "Thành phố Hồ Chí Minh", "thành phố trung ương")

	bacGiang  = commune("07210", "Phường Bắc Giang", "24")
	kinhBac   = commune("09187", "Phường Kinh Bắc", "24")
	baDinh    = commune("00004", "Phường Ba Đình", "01")
	hoanKiem  = commune("00070", "Phường Hoàn Kiếm", "01")
	benThanh  = commune("26743", "Phường Bến Thành", "79")
	regionAll = []*choso.Region{bacNinh, haNoi, hoChiMinh, bacGiang, kinhBac, baDinh, hoanKiem, benThanh}
)

// seedRegions stores every fixture region, provinces first.
func seedRegions(t *testing.T, s choso.Store) {
	t.Helper()
	update(t, s, func(tx choso.Tx) error {
		for _, r := range regionAll {
			c := *r
			if err := tx.PutRegion(&c); err != nil {
				return err
			}
		}
		return nil
	})
}

// newMarket returns a market in a fixture commune.
func newMarket(id, name string, in *choso.Region) *choso.Market {
	return &choso.Market{
		ID: id, Name: name, CommuneCode: in.Code, ProvinceCode: in.ParentCode,
		Address: "Số 1 đường Hoàng Văn Thụ", TimeZone: choso.DefaultTimeZone,
		CreatedAt: at(7, 0), UpdatedAt: at(7, 30), CreatedBy: "usr_volunteer",
	}
}

// newStall returns a valid stall of m with every field set, so a round
// trip shows any field a backend drops.
func newStall(m *choso.Market, id, code, name, phone string) *choso.Stall {
	return &choso.Stall{
		ID: id, MarketID: m.ID, CommuneCode: m.CommuneCode, ProvinceCode: m.ProvinceCode,
		Code: code, Name: name, Category: "Rau củ",
		Vendor: choso.Vendor{Name: "Nguyễn Thị Lan", Phone: phone},
		Payout: choso.PayoutAccount{BIN: "970436", Account: "0011004123456", Service: choso.ServiceAccount, Holder: "NGUYỄN THỊ LAN"},
		PendingPayout: &choso.PayoutChange{
			Account:    choso.PayoutAccount{BIN: "970415", Account: "9704151234567890", Service: choso.ServiceCard, Holder: "NGUYỄN THỊ LAN"},
			ProposedBy: "usr_volunteer", ProposedAt: at(8, 15),
		},
		Status: choso.StallActive, QRVersion: 2, ConfigVersion: 5,
		Consent:   choso.Consent{RecordedBy: "usr_volunteer", RecordedAt: at(8, 0), NoticeVersion: choso.CurrentNoticeVersion},
		CreatedAt: at(8, 0), UpdatedAt: at(8, 20), CreatedBy: "usr_volunteer",
	}
}
