package choso

import (
	"context"
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Report groupings.
const (
	ByMarket   = "market"
	ByCommune  = "commune"
	ByProvince = "province"
)

// ActiveWindow is how recently one of a stall's phones must have synced for
// the stall to count as active.
const ActiveWindow = 7 * 24 * time.Hour

// MaxReportDays bounds a report's date range: a year and a day.
const MaxReportDays = 366

// ReportFilter selects the stalls and days of an adoption report. Regions
// and the market narrow the caller's scope, never widen it.
type ReportFilter struct {
	From, To  string // business dates, inclusive
	Provinces []string
	Communes  []string
	MarketID  string
	GroupBy   string // ByMarket (default), ByCommune or ByProvince
}

// ReportRow holds the adoption figures of one market, commune or province.
type ReportRow struct {
	Key          string `json:"key"` // market ID or region code
	Name         string `json:"name"`
	CommuneCode  string `json:"commune_code,omitempty"`
	ProvinceCode string `json:"province_code,omitempty"`

	Markets          int `json:"markets"`
	StallsRegistered int `json:"stalls_registered"` // registered by the range's last day
	StallsActive     int `json:"stalls_active"`     // of those registered, a phone synced within ActiveWindow
	StallsSelling    int `json:"stalls_selling"`    // recorded a sale in the range

	// Sales by method over the range, net of voids; every method is present.
	ByMethod map[string]MethodTotals `json:"by_method"`
	Sales    MethodTotals            `json:"sales"`
	// CashlessShare is the share of the amount paid by QR or transfer, 0–1.
	CashlessShare float64 `json:"cashless_share"`
	// ConfirmedQR is what bank credits confirmed reached the stalls' accounts.
	ConfirmedQR MethodTotals `json:"confirmed_qr"`
}

// ReportDay is the whole scope's sales of one day.
type ReportDay struct {
	Date        string                  `json:"business_date"`
	ByMethod    map[string]MethodTotals `json:"by_method"`
	ConfirmedQR MethodTotals            `json:"confirmed_qr"`
}

// Report is an adoption report: rows per market, commune or province, the
// total over them, and the days of the range.
type Report struct {
	From        string      `json:"from"`
	To          string      `json:"to"`
	GroupBy     string      `json:"group_by"`
	ActiveSince time.Time   `json:"active_since"`
	GeneratedAt time.Time   `json:"generated_at"`
	Rows        []ReportRow `json:"rows"`
	Total       ReportRow   `json:"total"`
	Days        []ReportDay `json:"days"`
}

// Methods lists the sale methods in the order reports show them.
var Methods = []string{MethodCash, MethodQR, MethodTransfer}

func newByMethod() map[string]MethodTotals {
	m := make(map[string]MethodTotals, len(Methods))
	for _, k := range Methods {
		m[k] = MethodTotals{}
	}
	return m
}

func (r *ReportRow) addDay(d *StallDay) {
	for k, v := range d.ByMethod {
		t := r.ByMethod[k]
		t.Count += v.Count
		t.Amount += v.Amount
		r.ByMethod[k] = t
		r.Sales.Count += v.Count
		r.Sales.Amount += v.Amount
	}
	r.ConfirmedQR.Count += d.ConfirmedQR.Count
	r.ConfirmedQR.Amount += d.ConfirmedQR.Amount
}

func (r *ReportRow) add(o *ReportRow) {
	r.Markets += o.Markets
	r.StallsRegistered += o.StallsRegistered
	r.StallsActive += o.StallsActive
	r.StallsSelling += o.StallsSelling
	for k, v := range o.ByMethod {
		t := r.ByMethod[k]
		t.Count += v.Count
		t.Amount += v.Amount
		r.ByMethod[k] = t
	}
	r.Sales.Count += o.Sales.Count
	r.Sales.Amount += o.Sales.Amount
	r.ConfirmedQR.Count += o.ConfirmedQR.Count
	r.ConfirmedQR.Amount += o.ConfirmedQR.Amount
}

func (r *ReportRow) finish() {
	if r.Sales.Amount > 0 {
		cashless := r.ByMethod[MethodQR].Amount + r.ByMethod[MethodTransfer].Amount
		r.CashlessShare = float64(cashless) / float64(r.Sales.Amount)
	}
}

// ParseDateRange checks a report's from and to dates.
func ParseDateRange(from, to string) (time.Time, time.Time, error) {
	f, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return time.Time{}, time.Time{}, Errorf(EInvalid, "from must be a date, YYYY-MM-DD")
	}
	t, err := time.Parse(time.DateOnly, to)
	if err != nil {
		return time.Time{}, time.Time{}, Errorf(EInvalid, "to must be a date, YYYY-MM-DD")
	}
	switch days := int(t.Sub(f).Hours()/24) + 1; {
	case days < 1:
		return time.Time{}, time.Time{}, Errorf(EInvalid, "to must not be before from")
	case days > MaxReportDays:
		return time.Time{}, time.Time{}, Errorf(EInvalid, "a report covers at most %d days", MaxReportDays)
	}
	return f, t, nil
}

// Report computes adoption figures over p's scope narrowed by f, from the
// stall-day totals (never the raw events): one read transaction that walks
// the markets, stalls and devices in scope and each stall's days in range.
func (r *Registry) Report(ctx context.Context, p *Principal, f ReportFilter) (*Report, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	from, to, err := ParseDateRange(f.From, f.To)
	if err != nil {
		return nil, err
	}
	switch f.GroupBy {
	case "":
		f.GroupBy = ByMarket
	case ByMarket, ByCommune, ByProvince:
	default:
		return nil, Errorf(EInvalid, "group_by must be market, commune or province")
	}
	now := r.now()
	rep := &Report{From: f.From, To: f.To, GroupBy: f.GroupBy, ActiveSince: now.Add(-ActiveWindow), GeneratedAt: now,
		Rows: []ReportRow{}, Total: ReportRow{Key: "total", ByMethod: newByMethod()}}
	days := map[string]*ReportDay{}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		date := d.Format(time.DateOnly)
		days[date] = &ReportDay{Date: date, ByMethod: newByMethod()}
	}
	err = r.Store.View(ctx, func(tx Tx) error {
		markets, err := reportMarkets(tx, p, f)
		if err != nil {
			return err
		}
		rows := map[string]*ReportRow{}
		var order []string
		for _, m := range markets {
			mr, err := marketFigures(ctx, tx, m, f.From, f.To, to, rep.ActiveSince, days)
			if err != nil {
				return err
			}
			if mr.Markets == 0 && mr.StallsRegistered == 0 && mr.Sales.Count == 0 && mr.ConfirmedQR.Count == 0 {
				continue // registered after the range, with nothing in it: not a row of it
			}
			key, row := m.ID, ReportRow{Key: m.ID, Name: m.Name, CommuneCode: m.CommuneCode, ProvinceCode: m.ProvinceCode}
			switch f.GroupBy {
			case ByCommune:
				key, row = m.CommuneCode, ReportRow{Key: m.CommuneCode, CommuneCode: m.CommuneCode, ProvinceCode: m.ProvinceCode}
			case ByProvince:
				key, row = m.ProvinceCode, ReportRow{Key: m.ProvinceCode, ProvinceCode: m.ProvinceCode}
			}
			if rows[key] == nil {
				row.ByMethod = newByMethod()
				if row.Name == "" {
					row.Name = regionName(tx, key)
				}
				rows[key] = &row
				order = append(order, key)
			}
			rows[key].add(mr)
		}
		for _, k := range order {
			row := rows[k]
			row.finish()
			rep.Total.add(row)
			rep.Rows = append(rep.Rows, *row)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(rep.Rows, func(a, b ReportRow) int {
		if c := strings.Compare(strings.ToLower(FoldVietnamese(a.Name)), strings.ToLower(FoldVietnamese(b.Name))); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	rep.Total.Name = "total"
	rep.Total.finish()
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		rep.Days = append(rep.Days, *days[d.Format(time.DateOnly)])
	}
	return rep, nil
}

// reportMarkets returns the markets a report covers: f's market, or every
// market in p's scope narrowed by f's regions.
func reportMarkets(tx Tx, p *Principal, f ReportFilter) ([]*Market, error) {
	if f.MarketID != "" {
		m, err := tx.FindMarket(f.MarketID)
		if err != nil || !p.Covers(m.CommuneCode, m.ProvinceCode) {
			return nil, Errorf(ENotFound, "no such market")
		}
		return []*Market{m}, nil
	}
	mf := MarketFilter{Communes: f.Communes, Provinces: f.Provinces, Limit: 1000}
	if !p.IsAdmin() {
		var err error
		if mf.Communes, mf.Provinces, err = scopeFilter(tx, p, f.Communes, f.Provinces); err != nil {
			return nil, err
		}
		if len(mf.Communes) == 0 && len(mf.Provinces) == 0 {
			return nil, nil
		}
	}
	var out []*Market
	for {
		ms, err := tx.ListMarkets(mf)
		if err != nil {
			return nil, err
		}
		if len(ms) == 0 { // a store may return fewer than asked: stop at an empty page
			return out, nil
		}
		out = append(out, ms...)
		mf.After = ms[len(ms)-1].ID
	}
}

// marketFigures walks one market's stalls: registered by the range's last
// day (last, as ParseDateRange read to), active, and their days in range,
// added to days as it goes.
func marketFigures(ctx context.Context, tx Tx, m *Market, from, to string, last, activeSince time.Time, days map[string]*ReportDay) (*ReportRow, error) {
	row := &ReportRow{ByMethod: newByMethod()}
	loc, err := LoadLocation(m.TimeZone)
	if err != nil {
		return nil, err
	}
	end := time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, loc) // the range's end, in the market's zone
	// A market counts from the day it was registered, as its stalls do.
	if m.CreatedAt.Before(end) {
		row.Markets = 1
	}
	for after := ""; ; {
		if err := ctx.Err(); err != nil {
			return nil, Errorf(EUnavailable, "report cancelled")
		}
		stalls, err := tx.ListStallRefs(m.ID, after, 1000)
		if err != nil {
			return nil, err
		}
		if len(stalls) == 0 { // a store may return fewer than asked: stop at an empty page
			return row, nil
		}
		for _, st := range stalls {
			// A report of last month counts the stalls registered then,
			// not those that came since: adoption is read against it. Its
			// active stalls are among them, or a stall registered since,
			// its phone syncing now, would make them outnumber the
			// stalls the range had.
			if st.CreatedAt.Before(end) {
				row.StallsRegistered++
				devs, err := tx.ListStallDevices(st.ID)
				if err != nil {
					return nil, err
				}
				if slices.ContainsFunc(devs, func(d *Device) bool {
					return d.Status == DeviceActive && !d.LastSeenAt.Before(activeSince)
				}) {
					row.StallsActive++
				}
			}
			sds, err := tx.ListStallDays(st.ID, from, to)
			if err != nil {
				return nil, err
			}
			selling := false
			for _, sd := range sds {
				row.addDay(sd)
				if day := days[sd.Date]; day != nil {
					for k, v := range sd.ByMethod {
						t := day.ByMethod[k]
						t.Count += v.Count
						t.Amount += v.Amount
						day.ByMethod[k] = t
						selling = selling || v.Count > 0
					}
					day.ConfirmedQR.Count += sd.ConfirmedQR.Count
					day.ConfirmedQR.Amount += sd.ConfirmedQR.Amount
				}
			}
			if selling {
				row.StallsSelling++
			}
		}
		after = stalls[len(stalls)-1].Code
	}
}

func regionName(tx Tx, code string) string {
	if reg, err := tx.FindRegion(code); err == nil {
		return reg.Name
	}
	return code
}

// StatementDay is one business day of a revenue statement.
type StatementDay struct {
	Date        string                  `json:"business_date"`
	Status      string                  `json:"status"` // provisional, final, adjusted
	ByMethod    map[string]MethodTotals `json:"by_method"`
	Sales       MethodTotals            `json:"sales"`
	Voids       MethodTotals            `json:"voids"`
	ConfirmedQR MethodTotals            `json:"confirmed_qr"`
}

// Statement is a stall's revenue over a month or a quarter, by day and
// method: what a household business declares now that presumptive tax has
// ended (1 January 2026).
type Statement struct {
	Period      string                  `json:"period"` // 2026-11 or 2026-Q4
	From        string                  `json:"from"`
	To          string                  `json:"to"`
	StallID     string                  `json:"stall_id"`
	StallCode   string                  `json:"stall_code"`
	StallName   string                  `json:"stall_name"`
	VendorName  string                  `json:"vendor_name"`
	MarketName  string                  `json:"market_name"`
	Address     string                  `json:"market_address"`
	Days        []StatementDay          `json:"days"` // days with any sale, by date
	ByMethod    map[string]MethodTotals `json:"by_method"`
	Sales       MethodTotals            `json:"sales"`
	Voids       MethodTotals            `json:"voids"`
	ConfirmedQR MethodTotals            `json:"confirmed_qr"`
	// Provisional says some day may still change: phones may still sync,
	// to a day recorded or to one not yet (a date the finalizer has not
	// passed).
	Provisional bool      `json:"provisional"`
	GeneratedAt time.Time `json:"generated_at"`
}

// ParsePeriod reads a statement period, a month (2026-11) or a quarter
// (2026-Q4), and returns its first and last dates.
func ParsePeriod(period string) (from, to string, err error) {
	if y, q, ok := strings.Cut(strings.ToUpper(period), "-Q"); ok && len(q) == 1 && q[0] >= '1' && q[0] <= '4' {
		start, err := time.Parse("2006-01", y+"-01")
		if err == nil && len(y) == 4 {
			start = start.AddDate(0, 3*int(q[0]-'1'), 0)
			return start.Format(time.DateOnly), start.AddDate(0, 3, -1).Format(time.DateOnly), nil
		}
	}
	start, err := time.Parse("2006-01", period)
	if err != nil || len(period) != 7 {
		return "", "", Errorf(EInvalid, "period must be a month (2026-11) or a quarter (2026-Q4)")
	}
	return start.Format(time.DateOnly), start.AddDate(0, 1, -1).Format(time.DateOnly), nil
}

// Statement returns a stall's revenue statement for a period; the stall
// must be in p's scope.
func (r *Registry) Statement(ctx context.Context, p *Principal, stallID, period string) (*Statement, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	return r.statement(ctx, stallID, period, func(st *Stall) bool { return p.Covers(st.CommuneCode, st.ProvinceCode) })
}

// DeviceStatement returns the revenue statement of a device's own stall,
// for the vendor's phone.
func (r *Registry) DeviceStatement(ctx context.Context, d *Device, period string) (*Statement, error) {
	if d == nil {
		return nil, Errorf(EUnauthorized, "no device")
	}
	return r.statement(ctx, d.StallID, period, func(*Stall) bool { return true })
}

func (r *Registry) statement(ctx context.Context, stallID, period string, allowed func(*Stall) bool) (*Statement, error) {
	from, to, err := ParsePeriod(period)
	if err != nil {
		return nil, err
	}
	st := &Statement{Period: strings.ToUpper(period), From: from, To: to, StallID: stallID,
		Days: []StatementDay{}, ByMethod: newByMethod(), GeneratedAt: r.now()}
	err = r.Store.View(ctx, func(tx Tx) error {
		stall, err := tx.FindStall(stallID)
		if err != nil || !allowed(stall) {
			return Errorf(ENotFound, "no such stall")
		}
		st.StallCode, st.StallName, st.VendorName = stall.Code, stall.Name, stall.Vendor.Name
		if m, err := tx.FindMarket(stall.MarketID); err == nil {
			st.MarketName, st.Address = m.Name, m.Address
		}
		// A date the finalizer has not passed may still get sales, recorded
		// or not: a month in progress, a phone that has not synced its
		// last days.
		through, err := tx.Meta(MetaFinalizedThrough)
		if err != nil {
			return err
		}
		st.Provisional = to > string(through)
		days, err := tx.ListStallDays(stallID, from, to)
		if err != nil {
			return err
		}
		for _, d := range days {
			day := StatementDay{Date: d.Date, Status: d.Status, ByMethod: newByMethod(), Voids: d.Voids, ConfirmedQR: d.ConfirmedQR}
			for k, v := range d.ByMethod {
				day.ByMethod[k] = v
				day.Sales.Count += v.Count
				day.Sales.Amount += v.Amount
				t := st.ByMethod[k]
				t.Count += v.Count
				t.Amount += v.Amount
				st.ByMethod[k] = t
			}
			if day.Sales.Count == 0 && day.Voids.Count == 0 && day.ConfirmedQR.Count == 0 {
				continue
			}
			st.Provisional = st.Provisional || d.Status == DayProvisional
			st.Sales.Count += day.Sales.Count
			st.Sales.Amount += day.Sales.Amount
			st.Voids.Count += d.Voids.Count
			st.Voids.Amount += d.Voids.Amount
			st.ConfirmedQR.Count += d.ConfirmedQR.Count
			st.ConfirmedQR.Amount += d.ConfirmedQR.Amount
			st.Days = append(st.Days, day)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// ReportCSVHeader names the columns of a report's CSV, one row per market,
// commune or province and a last row "total". Amounts are whole đồng.
var ReportCSVHeader = []string{
	"group_by", "key", "name", "commune_code", "province_code", "from", "to",
	"markets", "stalls_registered", "stalls_active", "stalls_selling",
	"cash_count", "cash_amount", "qr_count", "qr_amount", "transfer_count", "transfer_amount",
	"sales_count", "sales_amount", "cashless_share", "confirmed_qr_count", "confirmed_qr_amount",
}

// WriteCSV writes the report as RFC 4180 CSV, UTF-8, with ReportCSVHeader.
func (rep *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(ReportCSVHeader)
	row := func(r *ReportRow) {
		rec := []string{rep.GroupBy, r.Key, textCell(r.Name), r.CommuneCode, r.ProvinceCode, rep.From, rep.To,
			itoa(int64(r.Markets)), itoa(int64(r.StallsRegistered)), itoa(int64(r.StallsActive)), itoa(int64(r.StallsSelling))}
		for _, m := range Methods {
			rec = append(rec, itoa(r.ByMethod[m].Count), itoa(r.ByMethod[m].Amount))
		}
		rec = append(rec, itoa(r.Sales.Count), itoa(r.Sales.Amount), strconv.FormatFloat(r.CashlessShare, 'f', 4, 64),
			itoa(r.ConfirmedQR.Count), itoa(r.ConfirmedQR.Amount))
		cw.Write(rec)
	}
	for i := range rep.Rows {
		row(&rep.Rows[i])
	}
	row(&rep.Total)
	cw.Flush()
	return cw.Error()
}

// StatementCSVHeader names the columns of a statement's CSV: one row per
// day with sales, then a row "total". Amounts are whole đồng.
var StatementCSVHeader = []string{
	"stall_code", "business_date", "status",
	"cash_count", "cash_amount", "qr_count", "qr_amount", "transfer_count", "transfer_amount",
	"sales_count", "sales_amount", "voids_count", "voids_amount", "confirmed_qr_count", "confirmed_qr_amount",
}

// WriteCSV writes the statement as RFC 4180 CSV, UTF-8, with
// StatementCSVHeader.
func (st *Statement) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(StatementCSVHeader)
	row := func(date, status string, by map[string]MethodTotals, sales, voids, confirmed MethodTotals) {
		rec := []string{textCell(st.StallCode), date, status}
		for _, m := range Methods {
			rec = append(rec, itoa(by[m].Count), itoa(by[m].Amount))
		}
		rec = append(rec, itoa(sales.Count), itoa(sales.Amount), itoa(voids.Count), itoa(voids.Amount), itoa(confirmed.Count), itoa(confirmed.Amount))
		cw.Write(rec)
	}
	for _, d := range st.Days {
		row(d.Date, d.Status, d.ByMethod, d.Sales, d.Voids, d.ConfirmedQR)
	}
	status := DayFinal
	if st.Provisional {
		status = DayProvisional
	}
	row("total", status, st.ByMethod, st.Sales, st.Voids, st.ConfirmedQR)
	cw.Flush()
	return cw.Error()
}

// textCell keeps a spreadsheet from reading a name as a formula: a cell
// that starts with = + - @ or a control character gets a leading quote.
func textCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
