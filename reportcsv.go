package choso

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

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
