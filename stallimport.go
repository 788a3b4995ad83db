package choso

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// StallCSVColumns are the columns of a stall import file (DESIGN.md §9), in
// the order the template has them; a file may order them as it likes.
var StallCSVColumns = []string{"code", "name", "category", "vendor_name", "vendor_phone", "bin", "account", "service", "holder_name"}

// MaxImportRows bounds one import file; a market has a few hundred stalls.
const MaxImportRows = 10000

// StallCSVRow is one data row of an import file, as written.
type StallCSVRow struct {
	Line   int // line in the file, header = 1
	Fields map[string]string
}

// RowError is one problem with one row (and column, when it is known).
type RowError struct {
	Line    int    `json:"line"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

// ImportReport says what an import did or, in a dry run, would do.
type ImportReport struct {
	DryRun  bool       `json:"dry_run"`
	Rows    int        `json:"rows"`
	Created int        `json:"created"` // 0 whenever Errors is not empty: all rows or none
	Errors  []RowError `json:"errors"`
}

// ParseStallCSV reads an import file: UTF-8 with or without a BOM,
// RFC 4180 / Excel quoting, a header naming every column of
// StallCSVColumns. A file that cannot be read as such is one EInvalid; row
// problems are left to ImportStalls, which reports them all.
func ParseStallCSV(rd io.Reader) ([]StallCSVRow, error) {
	cr := csv.NewReader(stripBOM(rd))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, Errorf(EInvalid, "the file is empty; the first line must name the columns: %s", strings.Join(StallCSVColumns, ","))
	}
	if err != nil {
		return nil, csvError(1, err)
	}
	col := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if _, dup := col[name]; dup {
			return nil, Errorf(EInvalid, "line 1: column %q appears twice", name)
		}
		col[name] = i
	}
	var missing, unknown []string
	for _, c := range StallCSVColumns {
		if _, ok := col[c]; !ok {
			missing = append(missing, c)
		}
	}
	for name := range col {
		if !contains(StallCSVColumns, name) {
			unknown = append(unknown, name)
		}
	}
	if len(missing) > 0 || len(unknown) > 0 {
		return nil, Errorf(EInvalid, "line 1: the header must name the columns %s (missing: %s; unknown: %s)",
			strings.Join(StallCSVColumns, ","), orNone(missing), orNone(unknown))
	}
	var rows []StallCSVRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(0, err)
		}
		line, _ := cr.FieldPos(0)
		if blankRecord(rec) {
			continue // a blank line, or a row of empty cells (",,,,"), as spreadsheets leave
		}
		if len(rows) >= MaxImportRows {
			return nil, Errorf(ETooLarge, "more than %d rows; split the file", MaxImportRows)
		}
		if len(rec) != len(header) {
			return nil, Errorf(EInvalid, "line %d has %d fields, the header has %d", line, len(rec), len(header))
		}
		fields := make(map[string]string, len(StallCSVColumns))
		for _, c := range StallCSVColumns {
			fields[c] = strings.TrimSpace(rec[col[c]])
		}
		rows = append(rows, StallCSVRow{Line: line, Fields: fields})
	}
	if len(rows) == 0 {
		return nil, Errorf(EInvalid, "the file has a header but no rows")
	}
	return rows, nil
}

// blankRecord reports whether every field of a record is blank.
func blankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// csvError reports a CSV reading error with its line. An error of the body
// itself (too large) passes through with its own code.
func csvError(line int, err error) error {
	var ce *Error
	if errors.As(err, &ce) {
		return ce
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return Errorf(EInvalid, "line %d: %v", pe.Line, pe.Err)
	}
	if line > 0 {
		return Errorf(EInvalid, "line %d: %v", line, err)
	}
	return Errorf(EInvalid, "cannot read the file: %v", err)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ",")
}

// fieldOfMessage guesses which column a validation message is about, so a
// dry run can point at the cell.
func fieldOfMessage(msg string) string {
	for _, pair := range [][2]string{
		{"vendor name", "vendor_name"}, {"phone", "vendor_phone"}, {"holder_name", "holder_name"},
		{"bin", "bin"}, {"account", "account"}, {"card", "account"}, {"service", "service"},
		{"code", "code"}, {"category", "category"}, {"name", "name"},
	} {
		if strings.Contains(strings.ToLower(msg), pair[0]) {
			return pair[1]
		}
	}
	return ""
}

// ImportStalls validates every row of an import file and, unless dryRun,
// registers them all in one transaction, or none when any row has a
// problem. consentGiven is the volunteer's word that every vendor in the
// file agreed to the privacy notice.
func (r *Registry) ImportStalls(ctx context.Context, p *Principal, marketID string, rows []StallCSVRow, consentGiven, dryRun bool) (*ImportReport, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	if !consentGiven {
		return nil, Errorf(EInvalid, "confirm that every vendor in the file agreed to the privacy notice (consent_given=true)")
	}
	now := r.now()
	report := &ImportReport{DryRun: dryRun, Rows: len(rows), Errors: []RowError{}}
	var stalls []*Stall
	run := r.Store.Update
	if dryRun {
		run = r.Store.View
	}
	errRollback := errors.New("import has errors")
	err := run(ctx, func(tx Tx) error {
		report.Errors, report.Created, stalls = report.Errors[:0], 0, stalls[:0]
		m, err := findMarketInScope(tx, p, marketID)
		if err != nil {
			return err
		}
		if err := requireWrite(p, "import stalls"); err != nil {
			return err
		}
		seen := map[string]int{}
		for _, row := range rows {
			f := row.Fields
			svc, ok := ParsePayoutService(f["service"])
			if !ok {
				report.Errors = append(report.Errors, RowError{Line: row.Line, Column: "service", Message: fmt.Sprintf("service %q: want account or card", f["service"])})
				continue
			}
			s, err := r.newStall(p, m, NewStall{
				Code: f["code"], Name: f["name"], Category: f["category"], VendorName: f["vendor_name"], VendorPhone: f["vendor_phone"],
				Payout:       PayoutAccount{BIN: f["bin"], Account: f["account"], Service: svc, Holder: f["holder_name"]},
				ConsentGiven: true,
			}, now)
			if err != nil {
				msg := ErrorMessage(err)
				report.Errors = append(report.Errors, RowError{Line: row.Line, Column: fieldOfMessage(msg), Message: msg})
				continue
			}
			if first, dup := seen[s.Code]; dup {
				report.Errors = append(report.Errors, RowError{Line: row.Line, Column: "code", Message: fmt.Sprintf("code %s is also on line %d", s.Code, first)})
				continue
			}
			seen[s.Code] = row.Line
			switch _, err := tx.FindStallByCode(m.ID, s.Code); {
			case err == nil:
				report.Errors = append(report.Errors, RowError{Line: row.Line, Column: "code", Message: fmt.Sprintf("code %s is already registered in this market", s.Code)})
				continue
			case ErrorCode(err) != ENotFound:
				return err
			}
			stalls = append(stalls, s)
		}
		if len(report.Errors) > 0 || dryRun {
			if !dryRun {
				return errRollback
			}
			return nil
		}
		for _, s := range stalls {
			if err := tx.CreateStall(s); err != nil {
				return err
			}
			if err := audit(tx, p, now, "stall.create", "stall", s.ID, stallCreatedChanges(s), "CSV import"); err != nil {
				return err
			}
		}
		report.Created = len(stalls)
		return nil
	})
	if errors.Is(err, errRollback) {
		return report, nil
	}
	if err != nil {
		return nil, err
	}
	return report, nil
}
