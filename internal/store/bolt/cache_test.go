package bolt

import (
	"context"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/choso/choso"
)

// TestDecodeCache_ClonesShareNothing: a clone equals its original and
// shares no pointer, slice or map with it, for every field of the type, so
// a field added to the root type without its copy fails here.
func TestDecodeCache_ClonesShareNothing(t *testing.T) {
	check := func(name string, orig, clone any) {
		t.Helper()
		if !reflect.DeepEqual(orig, clone) {
			t.Errorf("%s: clone differs from the original:\n got %+v\nwant %+v", name, clone, orig)
		}
		if p := shared(reflect.ValueOf(orig), reflect.ValueOf(clone)); p != "" {
			t.Errorf("%s: clone shares %s with the original", name, p)
		}
	}
	d := filled[choso.Device]()
	check("Device", d, cloneDevice(d))
	s := filled[choso.Stall]()
	check("Stall", s, cloneStall(s))
	m := filled[choso.Market]()
	check("Market", m, cloneMarket(m))
}

// shared returns the path of the first pointer, slice or map a and b hold in
// common, or "".
func shared(a, b reflect.Value) string {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() {
			return ""
		}
		if a.Pointer() == b.Pointer() {
			return "a pointer"
		}
		return shared(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.Len() > 0 && unsafe.Pointer(a.Pointer()) == unsafe.Pointer(b.Pointer()) {
			return "a slice"
		}
		for i := range a.Len() {
			if p := shared(a.Index(i), b.Index(i)); p != "" {
				return p
			}
		}
	case reflect.Map:
		if !a.IsNil() && a.Pointer() == b.Pointer() {
			return "a map"
		}
	case reflect.Struct:
		if a.Type() == reflect.TypeFor[time.Time]() {
			return ""
		}
		for i := range a.NumField() {
			if p := shared(a.Field(i), b.Field(i)); p != "" {
				return a.Type().Field(i).Name + ": " + p
			}
		}
	}
	return ""
}

// TestDecodeCache_ServesWhatIsStored: a record read twice is the same
// value, a caller's changes to what it got do not reach the next reader,
// and a write, committed or rolled back, is read as stored.
func TestDecodeCache_ServesWhatIsStored(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	m := &choso.Market{ID: "mkt_1", Name: "Chợ Thương", CommuneCode: "07210", ProvinceCode: "24", TimeZone: "Asia/Ho_Chi_Minh"}
	if err := db.Update(ctx, func(tx choso.Tx) error { return tx.CreateMarket(m) }); err != nil {
		t.Fatal(err)
	}
	read := func() *choso.Market {
		var got *choso.Market
		db.View(ctx, func(tx choso.Tx) error {
			var err error
			got, err = tx.FindMarket("mkt_1")
			return err
		})
		return got
	}
	first := read()
	first.Name = "changed by a caller"
	if got := read(); got.Name != "Chợ Thương" {
		t.Fatalf("second read after a caller changed the first: got name %q, want %q", got.Name, "Chợ Thương")
	}
	db.Update(ctx, func(tx choso.Tx) error {
		m, _ := tx.FindMarket("mkt_1")
		m.Name = "Chợ Mới"
		return tx.UpdateMarket(m)
	})
	if got := read(); got.Name != "Chợ Mới" {
		t.Fatalf("read after an update: got name %q, want %q", got.Name, "Chợ Mới")
	}
	db.Update(ctx, func(tx choso.Tx) error {
		m, _ := tx.FindMarket("mkt_1")
		m.Name = "rolled back"
		if err := tx.UpdateMarket(m); err != nil {
			return err
		}
		if got, _ := tx.FindMarket("mkt_1"); got.Name != "rolled back" {
			t.Errorf("read in the writing transaction: got name %q, want %q", got.Name, "rolled back")
		}
		return choso.Errorf(choso.EConflict, "roll back")
	})
	if got := read(); got.Name != "Chợ Mới" {
		t.Fatalf("read after a rolled-back update: got name %q, want %q", got.Name, "Chợ Mới")
	}
}

// TestDecodeCache_ListingsDoNotFill: a push's reads of its device fill the
// cache, and a walk over many devices (a stall's phones in a report, the
// store check) reads through it without filling it.
func TestDecodeCache_ListingsDoNotFill(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	err := db.Update(ctx, func(tx choso.Tx) error {
		for _, id := range []string{"dev_a", "dev_b", "dev_c"} {
			if err := tx.CreateDevice(&choso.Device{ID: id, StallID: "stl_a", TokenHash: hashOf(id)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cached := func() int {
		db.devices.mu.Lock()
		defer db.devices.mu.Unlock()
		return len(db.devices.m)
	}
	var listed []*choso.Device
	db.View(ctx, func(tx choso.Tx) error {
		var err error
		listed, err = tx.ListStallDevices("stl_a")
		return err
	})
	if len(listed) != 3 {
		t.Fatalf("ListStallDevices: %d devices, want 3", len(listed))
	}
	if problems := db.Check(ctx); len(problems) > 0 {
		t.Fatalf("Check: %v", problems)
	}
	if n := cached(); n != 0 {
		t.Fatalf("after a listing and a check, %d devices cached, want 0", n)
	}
	db.View(ctx, func(tx choso.Tx) error { _, err := tx.FindDeviceByToken(hashOf("dev_b")); return err })
	if n := cached(); n != 1 {
		t.Fatalf("after a token check, %d devices cached, want 1", n)
	}
	// A listing still reads what the cache holds, as stored.
	db.View(ctx, func(tx choso.Tx) error {
		var err error
		listed, err = tx.ListStallDevices("stl_a")
		return err
	})
	if len(listed) != 3 || listed[1].ID != "dev_b" || string(listed[1].TokenHash) != string(hashOf("dev_b")) {
		t.Fatalf("ListStallDevices after the token check: %+v", listed)
	}
}
