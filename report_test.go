package choso_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"testing"
	"time"

	"github.com/choso/choso"
)

// putDay stores a stall-day as a push would have left it.
func (f *fixture) putDay(t *testing.T, st *choso.Stall, date string, cash, qr, confirmed int64) {
	t.Helper()
	err := f.reg.Store.Update(f.ctx, func(tx choso.Tx) error {
		return tx.PutStallDay(&choso.StallDay{
			Status: choso.DayProvisional, StallID: st.ID, MarketID: st.MarketID, CommuneCode: st.CommuneCode,
			ProvinceCode: st.ProvinceCode, Date: date,
			ByMethod: map[string]choso.MethodTotals{
				choso.MethodCash: {Count: one(cash), Amount: cash},
				choso.MethodQR:   {Count: one(qr), Amount: qr},
			},
			ConfirmedQR: choso.MethodTotals{Count: one(confirmed), Amount: confirmed},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// one is the count of a test sale of amount: one sale, or none.
func one(amount int64) int64 {
	if amount == 0 {
		return 0
	}
	return 1
}

func (f *fixture) putDevice(t *testing.T, st *choso.Stall, id string, seen time.Time, status choso.DeviceStatus) {
	t.Helper()
	err := f.reg.Store.Update(f.ctx, func(tx choso.Tx) error {
		return tx.CreateDevice(&choso.Device{ID: id, StallID: st.ID, Status: status, TokenHash: []byte(id), EnrolledAt: seen, LastSeenAt: seen})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReport_FiguresFromStallDaysInScope(t *testing.T) {
	f := newFixture(t)
	a, b := f.stall(t, f.volA, f.marketInScope.ID, "A-1"), f.stall(t, f.volA, f.marketInScope.ID, "A-2")
	f.stall(t, f.volA, f.marketInScope.ID, "A-3") // registered, never synced
	out := f.stall(t, f.volOut, f.outside.ID, "X-1")
	f.putDay(t, a, "2026-11-20", 100_000, 300_000, 300_000)
	f.putDay(t, a, "2026-11-21", 50_000, 0, 0)
	f.putDay(t, b, "2026-11-21", 0, 200_000, 150_000)
	f.putDay(t, b, "2026-10-31", 999_000, 0, 0) // before the range
	f.putDay(t, out, "2026-11-21", 7_000_000, 7_000_000, 0)
	f.putDevice(t, a, "dev_a", f.now.Add(-2*24*time.Hour), choso.DeviceActive)
	f.putDevice(t, b, "dev_b", f.now.Add(-10*24*time.Hour), choso.DeviceActive) // too long ago
	f.putDevice(t, b, "dev_b2", f.now.Add(-time.Hour), choso.DeviceRevoked)     // revoked

	rep, err := f.reg.Report(f.ctx, f.volA, choso.ReportFilter{From: "2026-11-01", To: "2026-11-30"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 1 || rep.Rows[0].Key != f.marketInScope.ID {
		t.Fatalf("rows = %+v, want only the volunteer's market", rep.Rows)
	}
	r := rep.Rows[0]
	if r.StallsRegistered != 3 || r.StallsActive != 1 || r.StallsSelling != 2 {
		t.Errorf("registered/active/selling = %d/%d/%d, want 3/1/2", r.StallsRegistered, r.StallsActive, r.StallsSelling)
	}
	if got := r.ByMethod[choso.MethodCash]; got.Amount != 150_000 || got.Count != 2 {
		t.Errorf("cash = %+v, want 2 sales of 150000 in all", got)
	}
	if got := r.ByMethod[choso.MethodQR].Amount; got != 500_000 {
		t.Errorf("qr amount = %d, want 500000", got)
	}
	if _, ok := r.ByMethod[choso.MethodTransfer]; !ok {
		t.Error("transfer missing: every method must be present")
	}
	if r.Sales.Amount != 650_000 || r.ConfirmedQR.Amount != 450_000 {
		t.Errorf("sales %d confirmed %d, want 650000 and 450000", r.Sales.Amount, r.ConfirmedQR.Amount)
	}
	if want := 500_000.0 / 650_000; r.CashlessShare != want {
		t.Errorf("cashless share = %v, want %v", r.CashlessShare, want)
	}
	if rep.Total.Sales.Amount != r.Sales.Amount || rep.Total.Markets != 1 {
		t.Errorf("total = %+v, want the one row's figures", rep.Total)
	}
	if len(rep.Days) != 30 || rep.Days[20].Date != "2026-11-21" || rep.Days[20].ByMethod[choso.MethodQR].Amount != 200_000 {
		t.Errorf("days: %d, day 21 = %+v", len(rep.Days), rep.Days[20])
	}

	// The official of the province sees the commune; grouped by province
	// the Hà Nội market stays out of scope.
	rep, err = f.reg.Report(f.ctx, f.official, choso.ReportFilter{From: "2026-11-01", To: "2026-11-30", GroupBy: choso.ByProvince})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 1 || rep.Rows[0].Key != "24" || rep.Rows[0].Name != "Tỉnh Bắc Ninh" || rep.Rows[0].Sales.Amount != 650_000 {
		t.Fatalf("official's province rows = %+v", rep.Rows)
	}
	// The admin sees both provinces.
	rep, err = f.reg.Report(f.ctx, f.admin, choso.ReportFilter{From: "2026-11-21", To: "2026-11-21", GroupBy: choso.ByCommune})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 2 || rep.Total.Sales.Amount != 50_000+200_000+14_000_000 {
		t.Fatalf("admin commune rows = %+v total %+v", rep.Rows, rep.Total.Sales)
	}

	// A market out of scope is not found; a region filter outside the scope selects nothing.
	_, err = f.reg.Report(f.ctx, f.volOut, choso.ReportFilter{From: "2026-11-01", To: "2026-11-30", MarketID: f.marketInScope.ID})
	wantCode(t, err, choso.ENotFound)
	rep, err = f.reg.Report(f.ctx, f.volA, choso.ReportFilter{From: "2026-11-01", To: "2026-11-30", Communes: []string{"00004"}})
	if err != nil || len(rep.Rows) != 0 || rep.Total.Sales.Amount != 0 {
		t.Fatalf("foreign commune filter: %+v, %v; want nothing", rep, err)
	}
}

func TestReport_RefusesBadRanges(t *testing.T) {
	f := newFixture(t)
	for _, rf := range []choso.ReportFilter{
		{From: "2026-11-30", To: "2026-11-01"},
		{From: "2025-01-01", To: "2026-11-01"},
		{From: "yesterday", To: "2026-11-01"},
		{From: "2026-11-01", To: "2026-11-02", GroupBy: "stall"},
	} {
		_, err := f.reg.Report(f.ctx, f.volA, rf)
		wantCode(t, err, choso.EInvalid)
	}
	_, err := f.reg.Report(f.ctx, nil, choso.ReportFilter{From: "2026-11-01", To: "2026-11-02"})
	wantCode(t, err, choso.EUnauthorized)
}

func TestReport_CSV(t *testing.T) {
	f := newFixture(t)
	a := f.stall(t, f.volA, f.marketInScope.ID, "A-1")
	f.putDay(t, a, "2026-11-20", 100_000, 300_000, 300_000)
	rep, err := f.reg.Report(f.ctx, f.volA, choso.ReportFilter{From: "2026-11-01", To: "2026-11-30"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rep.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || len(recs[0]) != len(choso.ReportCSVHeader) {
		t.Fatalf("csv = %q", recs)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	if got := recs[1][col["name"]]; got != "Chợ Thương" {
		t.Errorf("name = %q, want the market's name with diacritics", got)
	}
	if recs[1][col["qr_amount"]] != "300000" || recs[2][col["key"]] != "total" || recs[2][col["sales_amount"]] != "400000" {
		t.Errorf("csv rows = %q", recs[1:])
	}
}

func TestParsePeriod(t *testing.T) {
	for in, want := range map[string][2]string{
		"2026-11": {"2026-11-01", "2026-11-30"},
		"2026-02": {"2026-02-01", "2026-02-28"},
		"2026-Q4": {"2026-10-01", "2026-12-31"},
		"2026-q1": {"2026-01-01", "2026-03-31"},
	} {
		from, to, err := choso.ParsePeriod(in)
		if err != nil || from != want[0] || to != want[1] {
			t.Errorf("ParsePeriod(%q) = %s, %s, %v; want %s, %s", in, from, to, err, want[0], want[1])
		}
	}
	for _, in := range []string{"", "2026", "2026-13", "2026-Q5", "2026-Q", "26-11", "2026-11-01", "x-Q1"} {
		if _, _, err := choso.ParsePeriod(in); choso.ErrorCode(err) != choso.EInvalid {
			t.Errorf("ParsePeriod(%q) err = %v, want invalid", in, err)
		}
	}
}

func TestStatement_DaysAndTotalsInScope(t *testing.T) {
	f := newFixture(t)
	a := f.stall(t, f.volA, f.marketInScope.ID, "A-1")
	f.putDay(t, a, "2026-11-02", 100_000, 300_000, 300_000)
	f.putDay(t, a, "2026-11-15", 40_000, 0, 0)
	f.putDay(t, a, "2026-12-01", 1, 1, 0) // next month
	st, err := f.reg.Statement(f.ctx, f.volA, a.ID, "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Days) != 2 || st.Days[0].Date != "2026-11-02" || st.Days[1].Sales.Amount != 40_000 {
		t.Fatalf("days = %+v", st.Days)
	}
	if st.Sales.Amount != 440_000 || st.Sales.Count != 3 || st.ByMethod[choso.MethodQR].Amount != 300_000 || st.ConfirmedQR.Amount != 300_000 {
		t.Errorf("totals: sales %+v qr %+v confirmed %+v", st.Sales, st.ByMethod[choso.MethodQR], st.ConfirmedQR)
	}
	if !st.Provisional || st.MarketName != "Chợ Thương" || st.VendorName != "Nguyễn Thị Lan" {
		t.Errorf("provisional %v market %q vendor %q", st.Provisional, st.MarketName, st.VendorName)
	}
	q, err := f.reg.Statement(f.ctx, f.official, a.ID, "2026-Q4")
	if err != nil || len(q.Days) != 3 {
		t.Fatalf("quarter: %+v, %v", q, err)
	}
	_, err = f.reg.Statement(f.ctx, f.volOut, a.ID, "2026-11")
	wantCode(t, err, choso.ENotFound)
	_, err = f.reg.Statement(f.ctx, f.volA, a.ID, "November")
	wantCode(t, err, choso.EInvalid)
	dev, err := f.reg.DeviceStatement(f.ctx, &choso.Device{StallID: a.ID}, "2026-11")
	if err != nil || dev.Sales != st.Sales {
		t.Fatalf("device statement = %+v, %v", dev, err)
	}

	var buf bytes.Buffer
	if err := st.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 4 || recs[3][1] != "total" || recs[3][10] != "440000" {
		t.Fatalf("statement csv = %q, %v", recs, err)
	}
}

func TestReport_CSVCellsAreNotFormulas(t *testing.T) {
	rep := &choso.Report{GroupBy: choso.ByMarket, Rows: []choso.ReportRow{{Key: "mkt_1", Name: "=HYPERLINK(\"x\")"}}}
	var buf bytes.Buffer
	if err := rep.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || recs[1][2] != "'=HYPERLINK(\"x\")" {
		t.Fatalf("name cell = %q, %v; want it quoted as text", recs[1][2], err)
	}
}

// BenchmarkReport measures a month's report over one commune of 1,000
// stalls with a stall-day each for 30 days (30,000 stall-days) and one phone each.
func BenchmarkReport(b *testing.B) {
	f := newFixture(b)
	const stalls, days = 1000, 30
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	err := f.reg.Store.Update(f.ctx, func(tx choso.Tx) error {
		for i := range stalls {
			st := &choso.Stall{ID: fmt.Sprintf("stl_bench%05d", i), MarketID: f.marketInScope.ID, CommuneCode: "07210", ProvinceCode: "24",
				Code: fmt.Sprintf("B-%04d", i), Name: "Quầy", Status: choso.StallActive,
				Payout: choso.PayoutAccount{BIN: "970436", Account: fmt.Sprintf("%010d", i), Service: choso.ServiceAccount, Holder: "X"}}
			if err := tx.CreateStall(st); err != nil {
				return err
			}
			if err := tx.CreateDevice(&choso.Device{ID: "dev_" + st.ID, StallID: st.ID, Status: choso.DeviceActive, TokenHash: []byte(st.ID), LastSeenAt: f.now}); err != nil {
				return err
			}
			for d := range days {
				if err := tx.PutStallDay(&choso.StallDay{Status: choso.DayFinal, StallID: st.ID, MarketID: st.MarketID, CommuneCode: "07210", ProvinceCode: "24",
					Date:     start.AddDate(0, 0, d).Format(time.DateOnly),
					ByMethod: map[string]choso.MethodTotals{choso.MethodCash: {Count: 10, Amount: 500_000}, choso.MethodQR: {Count: 5, Amount: 400_000}}}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := f.reg.Report(f.ctx, f.volA, choso.ReportFilter{From: "2026-11-01", To: "2026-11-30"})
		if err != nil || rep.Total.StallsRegistered != stalls || rep.Total.Sales.Count != stalls*days*15 {
			b.Fatalf("report: %+v, %v", rep.Total, err)
		}
	}
}

// A store returns lists in pages it bounds itself; a report must count
// every stall past the first page.
func TestReport_CountsEveryStallPastOnePage(t *testing.T) {
	f := newFixture(t)
	const stalls = 1201
	err := f.reg.Store.Update(f.ctx, func(tx choso.Tx) error {
		for i := range stalls {
			st := &choso.Stall{ID: fmt.Sprintf("stl_page%05d", i), MarketID: f.marketInScope.ID, CommuneCode: "07210", ProvinceCode: "24",
				Code: fmt.Sprintf("P-%04d", i), Name: "Quầy", Status: choso.StallActive,
				Payout: choso.PayoutAccount{BIN: "970436", Account: fmt.Sprintf("%010d", i), Service: choso.ServiceAccount, Holder: "X"}}
			if err := tx.CreateStall(st); err != nil {
				return err
			}
			if err := tx.PutStallDay(&choso.StallDay{StallID: st.ID, MarketID: st.MarketID, CommuneCode: "07210", ProvinceCode: "24", Date: "2026-11-20",
				ByMethod: map[string]choso.MethodTotals{choso.MethodQR: {Count: 1, Amount: 1000}}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := f.reg.Report(f.ctx, f.volA, choso.ReportFilter{From: "2026-11-20", To: "2026-11-20"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total.StallsRegistered != stalls || rep.Total.StallsSelling != stalls || rep.Total.Sales.Amount != stalls*1000 {
		t.Fatalf("total = %+v, want all %d stalls", rep.Total, stalls)
	}
}

// A month's statement is provisional while any of its dates may still get
// sales (the finalizer has not passed it), even when every day recorded so
// far is final: a month in progress, or one whose last days a phone has
// not synced yet.
func TestStatement_ProvisionalUntilTheWholePeriodIsFinal(t *testing.T) {
	f := newFixture(t) // now: 2026-11-26
	a := f.stall(t, f.volA, f.marketInScope.ID, "A-1")
	f.putDay(t, a, "2026-11-02", 100_000, 0, 0)
	f.putDay(t, a, "2026-10-30", 50_000, 0, 0)
	err := f.reg.Store.Update(f.ctx, func(tx choso.Tx) error {
		for _, date := range []string{"2026-11-02", "2026-10-30"} {
			d, err := tx.FindStallDay(a.ID, date)
			if err != nil {
				return err
			}
			d.Status = choso.DayFinal
			if err := tx.PutStallDay(d); err != nil {
				return err
			}
		}
		return tx.SetMeta(choso.MetaFinalizedThrough, []byte("2026-11-23"))
	})
	if err != nil {
		t.Fatal(err)
	}
	for period, want := range map[string]bool{"2026-11": true, "2026-Q4": true, "2026-12": true, "2026-10": false} {
		st, err := f.reg.Statement(f.ctx, f.volA, a.ID, period)
		if err != nil {
			t.Fatal(err)
		}
		if st.Provisional != want {
			t.Errorf("%s: provisional %v, want %v (finalized through 2026-11-23)", period, st.Provisional, want)
		}
	}
	st, err := f.reg.DeviceStatement(f.ctx, &choso.Device{StallID: a.ID}, "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	st.WriteCSV(&buf)
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || recs[len(recs)-1][2] != choso.DayProvisional {
		t.Fatalf("a month in progress: the CSV's total row is %q, want it provisional", recs[len(recs)-1])
	}
}

// A report of a past range counts the stalls registered by its last day,
// in the market's zone: a province reads adoption over the months against
// the stalls it had then, not against those registered since.
func TestReport_StallsRegisteredByTheRangesLastDay(t *testing.T) {
	f := newFixture(t)
	registered := func(when time.Time, code string) {
		f.mu.Lock()
		f.now = when
		f.mu.Unlock()
		f.stall(t, f.volA, f.marketInScope.ID, code)
	}
	registered(time.Date(2026, 10, 5, 3, 0, 0, 0, time.UTC), "A-1")    // 10:00 on 5 October in Vietnam
	registered(time.Date(2026, 10, 31, 16, 59, 0, 0, time.UTC), "A-2") // 23:59 on 31 October
	registered(time.Date(2026, 10, 31, 17, 0, 0, 0, time.UTC), "A-3")  // 00:00 on 1 November
	registered(time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC), "A-4")
	for _, tt := range []struct {
		from, to string
		want     int
	}{
		{"2026-09-01", "2026-09-30", 0},
		{"2026-10-01", "2026-10-31", 2},
		{"2026-11-01", "2026-11-01", 3},
		{"2026-11-01", "2026-11-30", 4},
		{"2026-12-01", "2026-12-31", 4},
	} {
		rep, err := f.reg.Report(f.ctx, f.volA, choso.ReportFilter{From: tt.from, To: tt.to})
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.Total.StallsRegistered; got != tt.want {
			t.Errorf("%s to %s: %d stalls registered, want %d", tt.from, tt.to, got, tt.want)
		}
	}
}

// A stall registered after a past range is not one of its stalls: its
// phone, syncing now, does not make the range's active stalls outnumber
// the stalls it had ("registered 1, active 2").
func TestReport_ActiveStallsAreAmongThoseRegisteredByTheRangesLastDay(t *testing.T) {
	f := newFixture(t)
	registered := func(when time.Time, code string) *choso.Stall {
		f.mu.Lock()
		f.now = when
		f.mu.Unlock()
		return f.stall(t, f.volA, f.marketInScope.ID, code)
	}
	october := registered(time.Date(2026, 10, 5, 3, 0, 0, 0, time.UTC), "A-1")
	november := registered(time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC), "A-2")
	f.advance(5 * 24 * time.Hour)
	f.putDevice(t, october, "dev_oct", f.now.Add(-time.Hour), choso.DeviceActive)
	f.putDevice(t, november, "dev_nov", f.now.Add(-time.Hour), choso.DeviceActive)
	for _, tt := range []struct {
		from, to           string
		registered, active int
	}{
		{"2026-09-01", "2026-09-30", 0, 0},
		{"2026-10-01", "2026-10-31", 1, 1},
		{"2026-11-01", "2026-11-30", 2, 2},
	} {
		rep, err := f.reg.Report(f.ctx, f.volA, choso.ReportFilter{From: tt.from, To: tt.to})
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.Total; got.StallsRegistered != tt.registered || got.StallsActive != tt.active {
			t.Errorf("%s to %s: %d stalls registered and %d active, want %d and %d",
				tt.from, tt.to, got.StallsRegistered, got.StallsActive, tt.registered, tt.active)
		}
	}
}

// A market counts in a range from the day it was registered, as its
// stalls do: a report of the month before it has no row for it.
func TestReport_MarketsRegisteredByTheRangesLastDay(t *testing.T) {
	f := newFixture(t)
	f.mu.Lock()
	f.now = time.Date(2026, 9, 30, 17, 30, 0, 0, time.UTC) // 00:30 on 1 October in Vietnam
	f.mu.Unlock()
	m, err := f.reg.CreateMarket(f.ctx, f.volA, choso.NewMarket{Name: "Chợ Mới", CommuneCode: f.marketInScope.CommuneCode})
	if err != nil {
		t.Fatal(err)
	}
	f.stall(t, f.volA, m.ID, "M-1")
	for _, tt := range []struct {
		from, to string
		rows     int
	}{
		{"2026-09-01", "2026-09-30", 0},
		{"2026-09-01", "2026-10-01", 1},
	} {
		rep, err := f.reg.Report(f.ctx, f.volA, choso.ReportFilter{From: tt.from, To: tt.to, MarketID: m.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Rows) != tt.rows || rep.Total.Markets != tt.rows || rep.Total.StallsRegistered != tt.rows {
			t.Errorf("%s to %s: %d rows, %d markets, %d stalls; want %d of each", tt.from, tt.to, len(rep.Rows), rep.Total.Markets, rep.Total.StallsRegistered, tt.rows)
		}
	}
}
