package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/choso/choso"
)

var deviceTests = []testCase{
	{"Device_Create_FindReturnsEveryField", testDeviceCreateFind},
	{"Device_Create_ReplacingNoneReadsNil", testDeviceCreateReplacesNone},
	{"Device_Create_IDExistsConflict", testDeviceCreateIDExists},
	{"Device_Create_TokenOfAnotherDeviceConflict", testDeviceCreateTokenTaken},
	{"Device_Create_MalformedIDsInvalid", testDeviceCreateMalformed},
	{"Device_Find_MissingNotFound", testDeviceFindMissing},
	{"Device_Find_ReturnsACopyTheCallerOwns", testDeviceFindCopy},
	{"Device_FindByToken_CurrentTokenFindsTheDevice", testDeviceFindByToken},
	{"Device_FindByToken_PreviousTokenStillWorks", testDeviceFindByPreviousToken},
	{"Device_FindByToken_UnknownNotFound", testDeviceFindByTokenUnknown},
	{"Device_Update_ReplacesEveryField", testDeviceUpdate},
	{"Device_Update_RotationMovesTheTokenIndex", testDeviceUpdateRotation},
	{"Device_Update_TokenOfAnotherDeviceConflictAndNothingChanges", testDeviceUpdateTokenTaken},
	{"Device_Update_MissingNotFound", testDeviceUpdateMissing},
	{"Device_Update_MovesTheStallIndex", testDeviceUpdateMovesStall},
	{"Device_ListStallDevices_OldestFirstAndOnlyThatStalls", testDeviceListStall},
	{"Device_WritesInView_Invalid", testDeviceViewRefusesWrites},
}

// newDevice returns a device of a stall with every field set, so a round
// trip shows any field a backend drops, the ones kept out of JSON included.
func newDevice(id, stallID, token string, enrolled time.Time) *choso.Device {
	revoked := enrolled.Add(48 * time.Hour)
	return &choso.Device{
		ID: id, StallID: stallID, Status: choso.DeviceActive,
		TokenHash: tokenHash(token), PrevTokenHash: tokenHash(token + "-before"),
		PrevTokenUntil: enrolled.Add(time.Hour), TokenIssuedAt: enrolled.Add(time.Minute),
		EnrolledAt: enrolled, EnrolledBy: lan.ID,
		RevokedAt: &revoked, RevokedBy: admin.ID,
		AppliedSeq: 41, LastSeenAt: enrolled.Add(2 * time.Hour), LastPushAt: enrolled.Add(3 * time.Hour),
		AppVersion: "1.4.2", Protocol: 1, PendingCount: 3, OldestPendingWallMs: 1772416800123,
		ClockOffsetMs: -172800000, BootID: "boot-7f3a", SuspectEvents: 2,
		Flags: []string{choso.FlagGap, choso.FlagSuspectClock}, LastError: "seq_reused at 17",
		LastGoodBusinessDate: "2026-03-01",
		Replaces:             []string{id + "_before", id + "_first"},
	}
}

var (
	devRau1 = newDevice("dev_rau1", stallRau.ID, "tok-rau-1", at(8, 30))
	devRau2 = newDevice("dev_rau2", stallRau.ID, "tok-rau-2", at(7, 45)) // enrolled earlier, ID later
	devBun  = newDevice("dev_bun", stallBun.ID, "tok-bun", at(8, 0))
)

func createDevices(t *testing.T, s choso.Store, devices ...*choso.Device) {
	t.Helper()
	update(t, s, func(tx choso.Tx) error {
		for _, d := range devices {
			c := *d
			if err := tx.CreateDevice(&c); err != nil {
				return err
			}
		}
		return nil
	})
}

func updateDevice(t *testing.T, s choso.Store, d *choso.Device) {
	t.Helper()
	update(t, s, func(tx choso.Tx) error { c := *d; return tx.UpdateDevice(&c) })
}

// wantDeviceByToken fails the test unless token finds want, or, with want
// nil, finds nothing.
func wantDeviceByToken(t *testing.T, s choso.Store, token string, want *choso.Device) {
	t.Helper()
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindDeviceByToken(tokenHash(token))
		if want == nil {
			wantCode(t, "FindDeviceByToken("+token+")", err, choso.ENotFound)
			return nil
		}
		if err != nil {
			t.Fatalf("FindDeviceByToken(%s): got %v, want device %s", token, err, want.ID)
		}
		wantEqual(t, "FindDeviceByToken("+token+")", got, want)
		return nil
	})
}

func deviceIDs(list []*choso.Device) []string {
	var ids []string
	for _, d := range list {
		ids = append(ids, d.ID)
	}
	return ids
}

func listStallDevices(t *testing.T, s choso.Store, stallID string) []string {
	t.Helper()
	var ids []string
	view(t, s, func(tx choso.Tx) error {
		list, err := tx.ListStallDevices(stallID)
		ids = deviceIDs(list)
		return err
	})
	return ids
}

func testDeviceCreateFind(t *testing.T, h Harness) {
	s := open(t, h)
	createDevices(t, s, devRau1, devBun)
	view(t, s, func(tx choso.Tx) error {
		for _, want := range []*choso.Device{devRau1, devBun} {
			got, err := tx.FindDevice(want.ID)
			if err != nil {
				t.Fatalf("FindDevice(%s): %v", want.ID, err)
			}
			// The token hashes, boot ID and last good day stay out of the
			// API's JSON; the store must keep them anyway.
			wantEqual(t, "FindDevice("+want.ID+")", got, want)
		}
		return nil
	})
}

// A device enrolled without replacing another reads back with Replaces
// nil, whether it was stored with nil or an empty list.
func testDeviceCreateReplacesNone(t *testing.T, h Harness) {
	s := open(t, h)
	first, second := *devRau1, *devBun
	first.Replaces, second.Replaces = nil, []string{}
	createDevices(t, s, &first, &second)
	view(t, s, func(tx choso.Tx) error {
		for _, id := range []string{first.ID, second.ID} {
			got, err := tx.FindDevice(id)
			if err != nil {
				t.Fatalf("FindDevice(%s): %v", id, err)
			}
			if got.Replaces != nil {
				t.Errorf("FindDevice(%s).Replaces = %#v, want nil", id, got.Replaces)
			}
		}
		return nil
	})
}

func testDeviceCreateIDExists(t *testing.T, h Harness) {
	s := open(t, h)
	createDevices(t, s, devRau1)
	again := newDevice(devRau1.ID, stallBun.ID, "tok-other", at(9, 0))
	err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.CreateDevice(again) })
	wantCode(t, "CreateDevice(existing ID)", err, choso.EConflict)
	wantDeviceByToken(t, s, "tok-other", nil)
	wantDeviceByToken(t, s, "tok-rau-1", devRau1)
	if got := listStallDevices(t, s, stallBun.ID); len(got) != 0 {
		t.Fatalf("ListStallDevices(%s) after the refused create: got %v, want none", stallBun.ID, got)
	}
}

func testDeviceCreateTokenTaken(t *testing.T, h Harness) {
	s := open(t, h)
	createDevices(t, s, devRau1)
	tests := []struct {
		name string
		d    *choso.Device
	}{
		{"current token is another's current", newDevice("dev_x", stallBun.ID, "tok-rau-1", at(9, 0))},
		{"previous token is another's current", func() *choso.Device {
			d := newDevice("dev_x", stallBun.ID, "tok-x", at(9, 0))
			d.PrevTokenHash = tokenHash("tok-rau-1")
			return d
		}()},
		{"current token is another's previous", newDevice("dev_x", stallBun.ID, "tok-rau-1-before", at(9, 0))},
	}
	for _, tt := range tests {
		err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.CreateDevice(tt.d) })
		wantCode(t, "CreateDevice("+tt.name+")", err, choso.EConflict)
	}
	view(t, s, func(tx choso.Tx) error {
		_, err := tx.FindDevice("dev_x")
		wantCode(t, "FindDevice(dev_x) after the refused creates", err, choso.ENotFound)
		return nil
	})
	wantDeviceByToken(t, s, "tok-rau-1", devRau1)
	wantDeviceByToken(t, s, "tok-rau-1-before", devRau1)
}

func testDeviceCreateMalformed(t *testing.T, h Harness) {
	s := open(t, h)
	tests := []struct{ id, stallID string }{
		{"", stallRau.ID},
		{"dev/1", stallRau.ID},
		{"dev_1", ""},
		{"dev_1", "stl/rau"},
	}
	for _, tt := range tests {
		d := newDevice(tt.id, tt.stallID, "tok-1", at(9, 0))
		err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.CreateDevice(d) })
		wantCode(t, fmt.Sprintf("CreateDevice(ID %q, stall %q)", tt.id, tt.stallID), err, choso.EInvalid)
	}
	wantDeviceByToken(t, s, "tok-1", nil)
}

func testDeviceFindMissing(t *testing.T, h Harness) {
	s := open(t, h)
	createDevices(t, s, devRau1)
	view(t, s, func(tx choso.Tx) error {
		for _, id := range []string{"", "dev_ghost", "dev_rau", stallRau.ID, "dev_rau1/"} {
			_, err := tx.FindDevice(id)
			wantCode(t, "FindDevice("+id+")", err, choso.ENotFound)
		}
		return nil
	})
}

func testDeviceFindCopy(t *testing.T, h Harness) {
	s := open(t, h)
	created := *devRau1
	created.TokenHash = tokenHash("tok-rau-1")
	update(t, s, func(tx choso.Tx) error { return tx.CreateDevice(&created) })
	created.TokenHash[0] ^= 0xff // the store keeps its own copy of what it was given
	view(t, s, func(tx choso.Tx) error {
		d, err := tx.FindDevice(devRau1.ID)
		if err != nil {
			t.Fatalf("FindDevice: %v", err)
		}
		d.TokenHash[0] ^= 0xff
		d.Flags[0] = "changed"
		d.Replaces[0] = "changed"
		*d.RevokedAt = at(0, 0)
		again, err := tx.FindDeviceByToken(tokenHash("tok-rau-1"))
		if err != nil {
			t.Fatalf("FindDeviceByToken: %v", err)
		}
		wantEqual(t, "device read after changing an earlier copy", again, devRau1)
		return nil
	})
}

func testDeviceFindByToken(t *testing.T, h Harness) {
	s := open(t, h)
	createDevices(t, s, devRau1, devRau2, devBun)
	wantDeviceByToken(t, s, "tok-rau-1", devRau1)
	wantDeviceByToken(t, s, "tok-rau-2", devRau2)
	wantDeviceByToken(t, s, "tok-bun", devBun)
}

func testDeviceFindByPreviousToken(t *testing.T, h Harness) {
	s := open(t, h)
	createDevices(t, s, devRau1, devBun)
	// The store finds the previous token whatever PrevTokenUntil says:
	// whether the overlap is over is the sync rules' call, at their clock.
	wantDeviceByToken(t, s, "tok-rau-1-before", devRau1)
	wantDeviceByToken(t, s, "tok-bun-before", devBun)
}

func testDeviceFindByTokenUnknown(t *testing.T, h Harness) {
	s := open(t, h)
	noPrev := newDevice("dev_noprev", stallRau.ID, "tok-noprev", at(9, 0))
	noPrev.PrevTokenHash = nil
	createDevices(t, s, devRau1, noPrev)
	view(t, s, func(tx choso.Tx) error {
		for _, hash := range [][]byte{nil, {}, tokenHash("tok-never-issued"), tokenHash("tok-rau-1")[:16], []byte(devRau1.ID)} {
			_, err := tx.FindDeviceByToken(hash)
			wantCode(t, fmt.Sprintf("FindDeviceByToken(%x)", hash), err, choso.ENotFound)
		}
		return nil
	})
}

func testDeviceUpdate(t *testing.T, h Harness) {
	s := open(t, h)
	createDevices(t, s, devRau1)
	pushed := *devRau1
	pushed.AppliedSeq, pushed.LastSeenAt, pushed.LastPushAt = 57, at(11, 0), at(11, 0)
	pushed.AppVersion, pushed.PendingCount, pushed.OldestPendingWallMs = "1.5.0", 0, 0
	pushed.ClockOffsetMs, pushed.BootID, pushed.SuspectEvents = 1200, "boot-8e01", 0
	pushed.Flags = []string{choso.FlagCloned}
	pushed.LastError, pushed.LastGoodBusinessDate = "", "2026-03-02"
	pushed.RevokedAt, pushed.RevokedBy = nil, ""
	pushed.Replaces = []string{"dev_rau0"}
	updateDevice(t, s, &pushed)
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindDevice(devRau1.ID)
		if err != nil {
			t.Fatalf("FindDevice: %v", err)
		}
		wantEqual(t, "FindDevice after UpdateDevice", got, &pushed)
		return nil
	})
	wantDeviceByToken(t, s, "tok-rau-1", &pushed)
}

func testDeviceUpdateRotation(t *testing.T, h Harness) {
	s := open(t, h)
	createDevices(t, s, devRau1, devBun)
	d := *devRau1

	// Rotate: the current token becomes the previous one.
	d.PrevTokenHash, d.TokenHash = d.TokenHash, tokenHash("tok-rau-1-next")
	d.PrevTokenUntil, d.TokenIssuedAt = at(12, 0), at(11, 0)
	updateDevice(t, s, &d)
	wantDeviceByToken(t, s, "tok-rau-1-next", &d)
	wantDeviceByToken(t, s, "tok-rau-1", &d)
	wantDeviceByToken(t, s, "tok-rau-1-before", nil)

	// The new token is used: the previous one stops working.
	d.PrevTokenHash, d.PrevTokenUntil = nil, time.Time{}
	updateDevice(t, s, &d)
	wantDeviceByToken(t, s, "tok-rau-1-next", &d)
	wantDeviceByToken(t, s, "tok-rau-1", nil)

	// Revoked: no token finds it.
	d.Status, d.TokenHash = choso.DeviceRevoked, nil
	updateDevice(t, s, &d)
	wantDeviceByToken(t, s, "tok-rau-1-next", nil)

	// The swept hashes are free again, and the other device kept its own.
	reuse := newDevice("dev_rau3", stallRau.ID, "tok-rau-1", at(13, 0))
	createDevices(t, s, reuse)
	wantDeviceByToken(t, s, "tok-rau-1", reuse)
	wantDeviceByToken(t, s, "tok-bun", devBun)
	wantDeviceByToken(t, s, "tok-bun-before", devBun)
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindDevice(devRau1.ID)
		if err != nil {
			t.Fatalf("FindDevice: %v", err)
		}
		wantEqual(t, "revoked device", got, &d)
		return nil
	})
}

func testDeviceUpdateTokenTaken(t *testing.T, h Harness) {
	s := open(t, h)
	createDevices(t, s, devRau1, devBun)
	for _, token := range []string{"tok-bun", "tok-bun-before"} {
		d := *devRau1
		d.PrevTokenHash, d.TokenHash = d.TokenHash, tokenHash(token)
		d.AppliedSeq = 99
		err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.UpdateDevice(&d) })
		wantCode(t, "UpdateDevice(to "+token+")", err, choso.EConflict)
		wantDeviceByToken(t, s, token, devBun)
	}
	wantDeviceByToken(t, s, "tok-rau-1", devRau1)
	wantDeviceByToken(t, s, "tok-rau-1-before", devRau1)
}

func testDeviceUpdateMissing(t *testing.T, h Harness) {
	s := open(t, h)
	createDevices(t, s, devRau1)
	ghost := newDevice("dev_ghost", stallRau.ID, "tok-ghost", at(9, 0))
	err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.UpdateDevice(ghost) })
	wantCode(t, "UpdateDevice(missing)", err, choso.ENotFound)
	wantDeviceByToken(t, s, "tok-ghost", nil)
	if got, want := listStallDevices(t, s, stallRau.ID), []string{devRau1.ID}; !slices.Equal(got, want) {
		t.Fatalf("ListStallDevices after the refused update: got %v, want %v", got, want)
	}
}

func testDeviceUpdateMovesStall(t *testing.T, h Harness) {
	s := open(t, h)
	createDevices(t, s, devRau1, devRau2, devBun)
	moved := *devRau2
	moved.StallID = stallBun.ID
	updateDevice(t, s, &moved)
	if got, want := listStallDevices(t, s, stallRau.ID), []string{devRau1.ID}; !slices.Equal(got, want) {
		t.Fatalf("ListStallDevices(old stall): got %v, want %v", got, want)
	}
	if got, want := listStallDevices(t, s, stallBun.ID), []string{devRau2.ID, devBun.ID}; !slices.Equal(got, want) {
		t.Fatalf("ListStallDevices(new stall): got %v, want %v", got, want)
	}
}

func testDeviceListStall(t *testing.T, h Harness) {
	s := open(t, h)
	// "stl_0rau" is a prefix of "stl_0rau2": their lists must not mix.
	prefixed := newDevice("dev_prefixed", stallRau.ID+"2", "tok-prefixed", at(6, 0))
	sameTime := newDevice("dev_rau0", stallRau.ID, "tok-rau-0", devRau1.EnrolledAt)
	createDevices(t, s, devRau1, devBun, prefixed, devRau2, sameTime)
	tests := []struct {
		stallID string
		want    []string
	}{
		// Oldest first; devices enrolled at the same moment in ID order.
		{stallRau.ID, []string{devRau2.ID, sameTime.ID, devRau1.ID}},
		{stallRau.ID + "2", []string{prefixed.ID}},
		{stallBun.ID, []string{devBun.ID}},
		{stallCa.ID, nil},
		{"stl_0", nil},
		{"", nil},
		{"stl/0rau", nil},
	}
	for _, tt := range tests {
		if got := listStallDevices(t, s, tt.stallID); !slices.Equal(got, tt.want) {
			t.Errorf("ListStallDevices(%q): got %v, want %v", tt.stallID, got, tt.want)
		}
	}
	view(t, s, func(tx choso.Tx) error {
		list, err := tx.ListStallDevices(stallBun.ID)
		if err != nil {
			t.Fatalf("ListStallDevices: %v", err)
		}
		wantEqual(t, "ListStallDevices(bun)", list, []*choso.Device{devBun})
		return nil
	})
}

func testDeviceViewRefusesWrites(t *testing.T, h Harness) {
	s := open(t, h)
	createDevices(t, s, devRau1)
	rotated := *devRau1
	rotated.TokenHash, rotated.AppliedSeq = tokenHash("tok-rau-1-next"), 99
	writes := []struct {
		name  string
		write func(choso.Tx) error
	}{
		{"CreateDevice", func(tx choso.Tx) error {
			return tx.CreateDevice(newDevice("dev_new", stallBun.ID, "tok-new", at(9, 0)))
		}},
		{"UpdateDevice", func(tx choso.Tx) error { c := rotated; return tx.UpdateDevice(&c) }},
	}
	for _, w := range writes {
		err := s.View(t.Context(), w.write)
		wantCode(t, w.name+" in View", err, choso.EInvalid)
	}
	wantDeviceByToken(t, s, "tok-new", nil)
	wantDeviceByToken(t, s, "tok-rau-1-next", nil)
	wantDeviceByToken(t, s, "tok-rau-1", devRau1)
}
