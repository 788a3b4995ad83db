package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/choso/choso"
)

var dayTests = []testCase{
	{"StallDay_Put_FindReturnsEveryField", testStallDayPutFind},
	{"StallDay_Put_ReplacesTheDay", testStallDayPutReplaces},
	{"StallDay_Find_MissingNotFound", testStallDayFindMissing},
	{"StallDay_Put_MalformedKeysInvalid", testStallDayPutMalformed},
	{"StallDay_List_InclusiveRangeInDateOrder", testStallDayList},
	{"StallDay_ListDayDates_EachDateWithDaysOnceInOrder", testStallDayListDates},
	{"DeviceDay_Put_FindReturnsEveryFieldAndReplaces", testDeviceDayPutFind},
	{"DeviceDay_Find_MissingNotFound", testDeviceDayFindMissing},
	{"DeviceDay_Put_MalformedKeysInvalid", testDeviceDayPutMalformed},
}

func newStallDay(stallID, date string) *choso.StallDay {
	return &choso.StallDay{
		Status:  choso.DayProvisional,
		StallID: stallID, MarketID: choBacGiang.ID, CommuneCode: bacGiang.Code, ProvinceCode: bacNinh.Code, Date: date,
		ByMethod: map[string]choso.MethodTotals{
			choso.MethodCash:     {Count: 12, Amount: 340000},
			choso.MethodQR:       {Count: 7, Amount: 415000},
			choso.MethodTransfer: {Count: 1, Amount: 1200000},
		},
		Voids: choso.MethodTotals{Count: 1, Amount: 25000}, ConfirmedQR: choso.MethodTotals{Count: 6, Amount: 390000},
		Revision: 77, LastServerSeq: 1042, UpdatedAt: at(17, 45),
	}
}

func newDeviceDay(deviceID, date string) *choso.DeviceDay {
	return &choso.DeviceDay{
		DeviceID: deviceID, Date: date,
		ByMethod: map[string]choso.MethodTotals{
			choso.MethodCash: {Count: 3, Amount: 90000},
			choso.MethodQR:   {Count: 2, Amount: 50000},
		},
		MinSeq: 17, MaxSeq: 23, Sales: 6,
	}
}

func putStallDays(t *testing.T, s choso.Store, days ...*choso.StallDay) {
	t.Helper()
	update(t, s, func(tx choso.Tx) error {
		for _, d := range days {
			c := *d
			if err := tx.PutStallDay(&c); err != nil {
				return err
			}
		}
		return nil
	})
}

func testStallDayPutFind(t *testing.T, h Harness) {
	s := open(t, h)
	want := newStallDay(stallRau.ID, "2026-03-02")
	bare := &choso.StallDay{StallID: stallBun.ID, Date: "2026-03-02"} // nil map, zero times
	emptyMap := &choso.StallDay{StallID: stallCa.ID, Date: "2026-03-02", ByMethod: map[string]choso.MethodTotals{}}
	putStallDays(t, s, want, bare, emptyMap)
	view(t, s, func(tx choso.Tx) error {
		for _, d := range []*choso.StallDay{want, bare, emptyMap} {
			got, err := tx.FindStallDay(d.StallID, d.Date)
			if err != nil {
				t.Fatalf("FindStallDay(%s, %s): %v", d.StallID, d.Date, err)
			}
			wantEqual(t, "FindStallDay("+d.StallID+")", got, d)
		}
		return nil
	})
}

func testStallDayPutReplaces(t *testing.T, h Harness) {
	s := open(t, h)
	first := newStallDay(stallRau.ID, "2026-03-02")
	putStallDays(t, s, first)
	next := newStallDay(stallRau.ID, "2026-03-02")
	next.ByMethod = map[string]choso.MethodTotals{choso.MethodCash: {Count: 13, Amount: 365000}}
	next.Revision, next.LastServerSeq, next.UpdatedAt = 78, 1043, at(17, 50)
	putStallDays(t, s, next)
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindStallDay(stallRau.ID, "2026-03-02")
		if err != nil {
			t.Fatalf("FindStallDay: %v", err)
		}
		wantEqual(t, "FindStallDay after replace", got, next)
		return nil
	})
}

func testStallDayFindMissing(t *testing.T, h Harness) {
	s := open(t, h)
	putStallDays(t, s, newStallDay(stallRau.ID, "2026-03-02"))
	view(t, s, func(tx choso.Tx) error {
		tests := []struct{ stallID, date string }{
			{stallRau.ID, "2026-03-01"},
			{stallRau.ID, "2026-03"},
			{stallRau.ID, ""},
			{stallBun.ID, "2026-03-02"},
			{"stl_0ra", "2026-03-02"},
			{"", "2026-03-02"},
			{stallRau.ID + "/2026", "03-02"},
		}
		for _, tt := range tests {
			_, err := tx.FindStallDay(tt.stallID, tt.date)
			wantCode(t, fmt.Sprintf("FindStallDay(%q, %q)", tt.stallID, tt.date), err, choso.ENotFound)
		}
		return nil
	})
}

func testStallDayPutMalformed(t *testing.T, h Harness) {
	s := open(t, h)
	tests := []struct{ stallID, date string }{
		{"", "2026-03-02"},
		{"stl/rau", "2026-03-02"},
		{stallRau.ID, ""},
		{stallRau.ID, "2026-3-2"},
		{stallRau.ID, "02/03/2026"},
		{stallRau.ID, "2026-03-02T00:00"},
	}
	for _, tt := range tests {
		err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.PutStallDay(newStallDay(tt.stallID, tt.date)) })
		wantCode(t, fmt.Sprintf("PutStallDay(%q, %q)", tt.stallID, tt.date), err, choso.EInvalid)
	}
}

func testStallDayList(t *testing.T, h Harness) {
	s := open(t, h)
	dates := []string{"2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02", "2026-03-10", "2026-12-31", "2027-01-01"}
	var days []*choso.StallDay
	for _, d := range dates {
		days = append(days, newStallDay(stallRau.ID, d))
	}
	// Neighbours whose keys sort next to stl_0rau's must not leak in.
	putStallDays(t, s, days...)
	putStallDays(t, s, newStallDay(stallRau.ID+"2", "2026-03-01"), newStallDay("stl_0ra", "2026-03-01"), newStallDay(stallBun.ID, "2026-03-01"))
	tests := []struct {
		stallID, from, to string
		want              []string
	}{
		{stallRau.ID, "2026-03-01", "2026-03-02", dates[2:4]},
		{stallRau.ID, "2026-03-02", "2026-03-02", dates[3:4]},
		{stallRau.ID, "2026-02-01", "2026-02-28", dates[0:2]},
		{stallRau.ID, "2026-02-28", "2026-03-09", dates[1:4]},
		{stallRau.ID, "2026-03-03", "2026-03-09", nil},
		{stallRau.ID, "2026-12-31", "2027-12-31", dates[5:]},
		{stallRau.ID, "2000-01-01", "2099-12-31", dates},
		{stallRau.ID, "2026-03-02", "2026-03-01", nil}, // from after to
		{stallRau.ID + "2", "2026-03-01", "2026-03-01", []string{"2026-03-01"}},
		{stallCa.ID, "2000-01-01", "2099-12-31", nil},
		{"", "2000-01-01", "2099-12-31", nil},
	}
	for _, tt := range tests {
		var got []string
		view(t, s, func(tx choso.Tx) error {
			list, err := tx.ListStallDays(tt.stallID, tt.from, tt.to)
			for _, d := range list {
				if d.StallID != tt.stallID {
					t.Errorf("ListStallDays(%q, …): got a day of %q", tt.stallID, d.StallID)
				}
				got = append(got, d.Date)
			}
			return err
		})
		if !slices.Equal(got, tt.want) {
			t.Errorf("ListStallDays(%q, %s, %s): got %v, want %v", tt.stallID, tt.from, tt.to, got, tt.want)
		}
	}
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.ListStallDays(stallRau.ID, dates[2], dates[3])
		if err != nil {
			t.Fatalf("ListStallDays: %v", err)
		}
		wantEqual(t, "ListStallDays values", got, days[2:4])
		return nil
	})
}

func listDayDates(t *testing.T, s choso.Store, after string, limit int) []string {
	t.Helper()
	var dates []string
	view(t, s, func(tx choso.Tx) error {
		var err error
		dates, err = tx.ListDayDates(after, limit)
		return err
	})
	return dates
}

func testStallDayListDates(t *testing.T, h Harness) {
	s := open(t, h)
	if got := listDayDates(t, s, "", 0); got != nil {
		t.Fatalf("ListDayDates of an empty store: %v", got)
	}
	// Several stalls a date, stall IDs on both sides of the date's.
	putStallDays(t, s,
		newStallDay(stallRau.ID, "2026-03-01"), newStallDay(stallBun.ID, "2026-03-01"), newStallDay(stallCa.ID, "2026-03-01"),
		newStallDay(stallBun.ID, "2026-02-28"),
		newStallDay(stallRau.ID, "2026-03-10"), newStallDay(stallCa.ID, "2026-03-10"),
		newStallDay(stallXuan.ID, "2027-01-01"))
	all := []string{"2026-02-28", "2026-03-01", "2026-03-10", "2027-01-01"}
	tests := []struct {
		after string
		limit int
		want  []string
	}{
		{"", 0, all},
		{"2026-02-28", 0, all[1:]},
		{"2026-03-01", 0, all[2:]},
		{"2026-03-02", 0, all[2:]}, // a date without days
		{"2026-03", 0, all[1:]},    // not a date: dates after it in order
		{"2027-01-01", 0, nil},
		{"", 2, all[:2]},
		{"2026-02-28", 1, all[1:2]},
	}
	for _, tt := range tests {
		wantEqual(t, fmt.Sprintf("ListDayDates(%q, %d)", tt.after, tt.limit), listDayDates(t, s, tt.after, tt.limit), tt.want)
	}
	var paged []string
	for after := ""; len(paged) <= len(all); {
		page := listDayDates(t, s, after, 1)
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1]
	}
	wantEqual(t, "dates paged one at a time", paged, all)
}

func testDeviceDayPutFind(t *testing.T, h Harness) {
	s := open(t, h)
	want := newDeviceDay(devRau1.ID, "2026-03-02")
	other := newDeviceDay(devRau1.ID, "2026-03-01")
	other.ByMethod, other.Sales = nil, 0
	update(t, s, func(tx choso.Tx) error {
		for _, d := range []*choso.DeviceDay{want, other} {
			c := *d
			if err := tx.PutDeviceDay(&c); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx choso.Tx) error {
		for _, d := range []*choso.DeviceDay{want, other} {
			got, err := tx.FindDeviceDay(d.DeviceID, d.Date)
			if err != nil {
				t.Fatalf("FindDeviceDay(%s, %s): %v", d.DeviceID, d.Date, err)
			}
			wantEqual(t, "FindDeviceDay("+d.Date+")", got, d)
		}
		return nil
	})
	next := newDeviceDay(devRau1.ID, "2026-03-02")
	next.MaxSeq, next.Sales = 24, 7
	update(t, s, func(tx choso.Tx) error { c := *next; return tx.PutDeviceDay(&c) })
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindDeviceDay(devRau1.ID, "2026-03-02")
		if err != nil {
			t.Fatalf("FindDeviceDay: %v", err)
		}
		wantEqual(t, "FindDeviceDay after replace", got, next)
		return nil
	})
}

func testDeviceDayFindMissing(t *testing.T, h Harness) {
	s := open(t, h)
	update(t, s, func(tx choso.Tx) error { return tx.PutDeviceDay(newDeviceDay(devRau1.ID, "2026-03-02")) })
	view(t, s, func(tx choso.Tx) error {
		tests := []struct{ deviceID, date string }{
			{devRau1.ID, "2026-03-03"},
			{devRau1.ID, ""},
			{devRau2.ID, "2026-03-02"},
			{"dev_rau", "2026-03-02"},
			{"", "2026-03-02"},
		}
		for _, tt := range tests {
			_, err := tx.FindDeviceDay(tt.deviceID, tt.date)
			wantCode(t, fmt.Sprintf("FindDeviceDay(%q, %q)", tt.deviceID, tt.date), err, choso.ENotFound)
		}
		return nil
	})
}

func testDeviceDayPutMalformed(t *testing.T, h Harness) {
	s := open(t, h)
	tests := []struct{ deviceID, date string }{
		{"", "2026-03-02"},
		{"dev/rau", "2026-03-02"},
		{devRau1.ID, ""},
		{devRau1.ID, "20260302"},
	}
	for _, tt := range tests {
		err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.PutDeviceDay(newDeviceDay(tt.deviceID, tt.date)) })
		wantCode(t, fmt.Sprintf("PutDeviceDay(%q, %q)", tt.deviceID, tt.date), err, choso.EInvalid)
	}
}
