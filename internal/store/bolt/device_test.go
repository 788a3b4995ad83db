package bolt

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/choso/choso"
	bolt "go.etcd.io/bbolt"
)

func hashOf(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// indexKeys returns every key of a bucket, as strings, in key order.
func indexKeys(t *testing.T, db *DB, bucket []byte) []string {
	t.Helper()
	var keys []string
	err := db.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, _ []byte) error {
			keys = append(keys, string(k))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestUpdateDevice_TokenIndexHoldsExactlyTheLiveHashes checks the index
// itself, not only what lookups see: a rotation must leave no stale entry
// behind, or the index would grow with every token ever issued.
func TestUpdateDevice_TokenIndexHoldsExactlyTheLiveHashes(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	d := &choso.Device{ID: "dev_a", StallID: "stl_a", Status: choso.DeviceActive, TokenHash: hashOf("t1"), EnrolledAt: time.Unix(1772416800, 0)}
	other := &choso.Device{ID: "dev_b", StallID: "stl_b", Status: choso.DeviceActive, TokenHash: hashOf("u1"), PrevTokenHash: hashOf("u0")}
	if err := db.Update(ctx, func(tx choso.Tx) error {
		if err := tx.CreateDevice(d); err != nil {
			return err
		}
		return tx.CreateDevice(other)
	}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name          string
		current, prev []byte
		stall         string
	}{
		{"rotate", hashOf("t2"), hashOf("t1"), "stl_a"},
		{"rotate again before the new one was used", hashOf("t3"), hashOf("t2"), "stl_a"},
		{"new token used", hashOf("t3"), nil, "stl_a"},
		{"moved to another stall", hashOf("t3"), nil, "stl_c"},
		{"revoked", nil, nil, "stl_c"},
	}
	for _, st := range steps {
		d.TokenHash, d.PrevTokenHash, d.StallID = st.current, st.prev, st.stall
		if err := db.Update(ctx, func(tx choso.Tx) error { return tx.UpdateDevice(d) }); err != nil {
			t.Fatalf("%s: UpdateDevice: %v", st.name, err)
		}
		want := []string{string(hashOf("u1")), string(hashOf("u0"))}
		for _, h := range [][]byte{st.current, st.prev} {
			if h != nil {
				want = append(want, string(h))
			}
		}
		slices.Sort(want)
		if got := indexKeys(t, db, bucketDeviceTokens); !slices.Equal(got, want) {
			t.Fatalf("%s: device_tokens: got %d keys %q, want %d %q", st.name, len(got), got, len(want), want)
		}
		if got, want := indexKeys(t, db, bucketStallDevices), []string{"stl_b/dev_b", st.stall + "/dev_a"}; !slices.Equal(got, sorted(want)) {
			t.Fatalf("%s: stall_devices: got %q, want %q", st.name, got, sorted(want))
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestListStallDays_EmptyEndIsOpen checks this backend's reading of an empty
// from or to: that end of the range is open.
func TestListStallDays_EmptyEndIsOpen(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	dates := []string{"2026-02-28", "2026-03-01", "2026-03-02"}
	if err := db.Update(ctx, func(tx choso.Tx) error {
		for _, date := range dates {
			if err := tx.PutStallDay(&choso.StallDay{StallID: "stl_a", Date: date}); err != nil {
				return err
			}
		}
		return tx.PutStallDay(&choso.StallDay{StallID: "stl_b", Date: "2026-03-01"})
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		from, to string
		want     []string
	}{
		{"", "", dates},
		{"", "2026-03-01", dates[:2]},
		{"2026-03-01", "", dates[1:]},
	}
	for _, tt := range tests {
		var got []string
		if err := db.View(ctx, func(tx choso.Tx) error {
			list, err := tx.ListStallDays("stl_a", tt.from, tt.to)
			for _, d := range list {
				got = append(got, d.Date)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("ListStallDays(stl_a, %q, %q): got %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

// TestFindDeviceByToken_BrokenIndexInternal checks that an index entry for
// a hash its device no longer holds is reported as a broken store, not
// answered with the wrong device.
func TestFindDeviceByToken_BrokenIndexInternal(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	d := &choso.Device{ID: "dev_a", StallID: "stl_a", TokenHash: hashOf("t1")}
	if err := db.Update(ctx, func(tx choso.Tx) error { return tx.CreateDevice(d) }); err != nil {
		t.Fatal(err)
	}
	err := db.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketDeviceTokens).Put(hashOf("stale"), []byte("dev_a")); err != nil {
			return err
		}
		return tx.Bucket(bucketDeviceTokens).Put(hashOf("ghost"), []byte("dev_ghost"))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{"stale", "ghost"} {
		err := db.View(ctx, func(tx choso.Tx) error { _, err := tx.FindDeviceByToken(hashOf(token)); return err })
		if got := choso.ErrorCode(err); got != choso.EInternal {
			t.Errorf("FindDeviceByToken(%s): got code %q (%v), want %q", token, got, err, choso.EInternal)
		}
	}
	// The store's check finds both entries, and nothing else.
	problems := fmt.Sprint(db.Check(ctx))
	if n := len(db.Check(ctx)); n != 2 || !strings.Contains(problems, `device "dev_a", which does not hold it`) || !strings.Contains(problems, `"dev_ghost"`) {
		t.Fatalf("Check: %d problems %s, want the stale and the ghost token", n, problems)
	}
	db.Close() // broken on purpose: not for the cleanup's check
}

// The check cross-checks the indexes that decide who gets in, both ways.
func TestCheck_FindsBrokenAccessIndexes(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	err := db.Update(ctx, func(tx choso.Tx) error {
		if err := tx.CreateDevice(&choso.Device{ID: "dev_b", StallID: "stl_b", TokenHash: hashOf("t2")}); err != nil {
			return err
		}
		return tx.CreateUser(&choso.User{ID: "usr_lan", Username: "lan", Role: choso.RoleVolunteer})
	})
	if err != nil {
		t.Fatal(err)
	}
	if problems := db.Check(ctx); len(problems) > 0 {
		t.Fatalf("Check of a sound store: %v", problems)
	}
	err = db.db.Update(func(tx *bolt.Tx) error {
		return errors.Join(
			tx.Bucket(bucketDeviceTokens).Delete(hashOf("t2")),
			tx.Bucket(bucketStallDevices).Delete(joinKey("stl_b", "dev_b")),
			tx.Bucket(bucketStallDevices).Put(joinKey("stl_x", "dev_b"), nil),
			tx.Bucket(bucketUserNames).Put([]byte("mai"), []byte("usr_lan")),
		)
	})
	if err != nil {
		t.Fatal(err)
	}
	problems := db.Check(ctx)
	for _, want := range []string{
		`device "dev_b": a token of its is not in device_tokens`,
		`device "dev_b": not in stall_devices under its stall "stl_b"`,
		`stall_devices: "stl_x/dev_b" lists a device that is not that stall's`,
		`user_names: "mai" names user "usr_lan", whose username is "lan"`,
	} {
		if !strings.Contains(fmt.Sprint(problems), want) {
			t.Errorf("Check: %v\nwant a problem %q", problems, want)
		}
	}
	if len(problems) != 4 {
		t.Errorf("Check: %d problems, want 4: %v", len(problems), problems)
	}
	db.Close()
}

// A device stored as JSON, as stores kept devices before the binary form,
// reads back whole, and the next update writes it in the binary form.
func TestDevice_JSONRecordStillReads(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	revoked := time.Unix(1772420000, 5).UTC()
	want := &choso.Device{ID: "dev_old", StallID: "stl_a", Status: choso.DeviceRevoked, TokenHash: hashOf("t1"), PrevTokenHash: hashOf("t0"),
		PrevTokenUntil: time.Unix(1772416900, 0).UTC(), TokenIssuedAt: time.Unix(1772416800, 0).UTC(), EnrolledAt: time.Unix(1772416000, 0).UTC(),
		EnrolledBy: "usr_v", RevokedAt: &revoked, RevokedBy: "usr_w", AppliedSeq: 41, LastSeenAt: time.Unix(1772417000, 7).UTC(),
		AppVersion: "1.2.0", Protocol: 1, PendingCount: 3, OldestPendingWallMs: 1772416999000, ClockOffsetMs: -120000, BootID: "boot-9",
		SuspectEvents: 2, Flags: []string{choso.FlagGap}, LastError: "gap", LastGoodBusinessDate: "2026-03-02", Replaces: []string{"dev_older"}}
	err := db.db.Update(func(btx *bolt.Tx) error {
		for _, token := range []string{"t0", "t1"} {
			if err := btx.Bucket(bucketDeviceTokens).Put(hashOf(token), []byte(want.ID)); err != nil {
				return err
			}
		}
		if err := btx.Bucket(bucketStallDevices).Put(joinKey(want.StallID, want.ID), nil); err != nil {
			return err
		}
		return putJSON(btx.Bucket(bucketDevices), []byte(want.ID), deviceRecord{Device: *want,
			TokenHash: want.TokenHash, PrevTokenHash: want.PrevTokenHash, PrevTokenUntil: want.PrevTokenUntil,
			TokenIssuedAt: want.TokenIssuedAt, BootID: want.BootID, LastGoodBusinessDate: want.LastGoodBusinessDate})
	})
	if err != nil {
		t.Fatal(err)
	}
	var got *choso.Device
	if err := db.View(ctx, func(tx choso.Tx) error {
		got, err = tx.FindDeviceByToken(hashOf("t1"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("JSON device read back:\n got %+v\nwant %+v", got, want)
	}
	got.AppliedSeq++
	if err := db.Update(ctx, func(tx choso.Tx) error { return tx.UpdateDevice(got) }); err != nil {
		t.Fatal(err)
	}
	err = db.db.View(func(btx *bolt.Tx) error {
		if raw := btx.Bucket(bucketDevices).Get([]byte(want.ID)); len(raw) == 0 || raw[0] != binFormatCurrent {
			t.Errorf("after an update the device is stored as %.20q, want the binary form", raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A device stored in format 3, before Device.Replaces, reads back whole,
// replacing none: stores written before need no migration.
func TestDevice_Format3RecordReadsReplacingNone(t *testing.T) {
	revoked := time.Unix(1772420000, 5).UTC()
	want := &choso.Device{ID: "dev_old", StallID: "stl_a", Status: choso.DeviceRevoked, TokenHash: hashOf("t1"),
		EnrolledAt: time.Unix(1772416000, 0).UTC(), RevokedAt: &revoked, AppliedSeq: 41, Flags: []string{choso.FlagGap}, LastError: "gap"}
	_, v := encodeDevice(nil, want)
	// Format 3 is format 4 without the trailing Replaces, a 0 (nil) here.
	if v[0] != binFormat4 || v[len(v)-1] != 0 {
		t.Fatalf("encodeDevice wrote format %d ending in %d, want format 4 ending in 0", v[0], v[len(v)-1])
	}
	old := append([]byte{binFormat3}, v[1:len(v)-1]...)
	got, err := decodeDeviceBinary(old)
	if err != nil {
		t.Fatalf("decode a format 3 device: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("format 3 device read back:\n got %+v\nwant %+v", got, want)
	}
	if _, err := decodeDeviceBinary(v[:len(v)-1]); err == nil {
		t.Error("a format 4 device cut short of its Replaces decoded without error")
	}
}
