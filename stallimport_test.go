package choso_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/choso/choso"
)

const importHeader = "code,name,category,vendor_name,vendor_phone,bin,account,service,holder_name\n"

func importRow(i int) string {
	return fmt.Sprintf("A-%d,Hàng %d,Rau củ,Nguyễn Văn %d,09%08d,970436,00110%08d,account,NGUYEN VAN %d\n", i, i, i, i, i, i)
}

func TestParseStallCSV_MalformedFiles(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{"empty", "", "empty"},
		{"header only", importHeader, "no rows"},
		{"missing column", "code,name\nA-1,x\n", "missing: category"},
		{"unknown column", strings.TrimSuffix(importHeader, "\n") + ",nickname\n", "unknown: nickname"},
		{"duplicate column", "code,code,name,category,vendor_name,vendor_phone,bin,account,service,holder_name\n", "twice"},
		{"bare quote", importHeader + "A-1,Bún \"chả\" cô Lan,x,y,0912345678,970436,1,account,H\n", "line 2"},
		{"wrong field count", importHeader + "A-1,x\n", "line 2 has 2 fields"},
		{"unterminated quote", importHeader + "A-1,\"Bún chả,x,y,0912345678,970436,1,account,H\n", "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := choso.ParseStallCSV(strings.NewReader(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.want) || choso.ErrorCode(err) != choso.EInvalid {
				t.Fatalf("ParseStallCSV: %v, want invalid with %q", err, tt.want)
			}
		})
	}
}

func TestParseStallCSV_ExcelFile(t *testing.T) {
	// Excel: a BOM, CRLF line ends, columns in its own order, a quoted field
	// with a comma and doubled quotes, rows of empty cells a cleared row
	// leaves (",,,,"), and a blank line at the end.
	file := "\uFEFFname,code,category,vendor_name,vendor_phone,bin,account,service,holder_name\r\n" +
		",,,,,,,,\r\n" +
		"\"Bún chả \"\"Hà Nội\"\", cô Lan\",A-1,Ăn uống,Nguyễn Thị Lan,0912 345 678,970436,0011001234567,account,NGUYEN THI LAN\r\n" +
		", , ,,,,,,\r\n" +
		"\r\n"
	rows, err := choso.ParseStallCSV(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Fields["name"] != `Bún chả "Hà Nội", cô Lan` || rows[0].Fields["code"] != "A-1" || rows[0].Line != 3 {
		t.Fatalf("rows = %+v", rows)
	}
}

func TestParseStallCSV_TooManyRows(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(importHeader)
	for i := range choso.MaxImportRows + 1 {
		b.WriteString(importRow(i))
	}
	_, err := choso.ParseStallCSV(&b)
	wantCode(t, err, choso.ETooLarge)
}

func TestRegistry_ImportStalls_OneBadRowAppliesNothing(t *testing.T) {
	f := newFixture(t)
	var b strings.Builder
	b.WriteString(importHeader)
	for i := 1; i <= 50; i++ {
		if i == 25 {
			b.WriteString("A-25,Hàng 25,Rau,Lê Văn Tư,0912 345,970436,0011,account,LE VAN TU\n") // phone too short
			continue
		}
		b.WriteString(importRow(i))
	}
	rows, err := choso.ParseStallCSV(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	report, err := f.reg.ImportStalls(f.ctx, f.volA, f.marketInScope.ID, rows, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if report.Created != 0 || len(report.Errors) != 1 || report.Errors[0].Line != 26 || report.Errors[0].Column != "vendor_phone" {
		t.Fatalf("report = %+v, want one error on line 26, vendor_phone, nothing created", report)
	}
	page, _ := f.reg.ListStalls(f.ctx, f.admin, choso.StallFilter{MarketID: f.marketInScope.ID})
	if len(page.Data) != 0 {
		t.Fatalf("%d stalls exist after a failed import, want 0", len(page.Data))
	}
}

func TestRegistry_ImportStalls_DryRunReportsEveryProblem(t *testing.T) {
	f := newFixture(t)
	f.stall(t, f.volA, f.marketInScope.ID, "A-3")
	file := importHeader +
		importRow(1) +
		"A-2,Hàng 2,Rau,Lê Thị Hoa,0912345678,999999,0011,account,LE THI HOA\n" + // unknown BIN
		importRow(3) + // code taken in the market
		strings.Replace(importRow(1), "Hàng 1", "Hàng 1 lặp", 1) + // code repeated in the file
		"A-5,Hàng 5,Rau,Lê Thị Hoa,0912345678,970436,12345678901234567890,account,LE THI HOA\n" + // account too long
		"A-6,Hàng 6,Rau,Lê Thị Hoa,0912345678,970436,0011,wire,LE THI HOA\n" + // bad service
		"A-7,Hàng 7,Rau,,0912345678,970436,0011,card,LE THI HOA\n" // no vendor name (checked before the card rule)
	rows, err := choso.ParseStallCSV(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	report, err := f.reg.ImportStalls(f.ctx, f.volA, f.marketInScope.ID, rows, true, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []choso.RowError{
		{Line: 3, Column: "bin"},
		{Line: 4, Column: "code"},
		{Line: 5, Column: "code"},
		{Line: 6, Column: "account"},
		{Line: 7, Column: "service"},
		{Line: 8, Column: "vendor_name"},
	}
	if !report.DryRun || report.Created != 0 || len(report.Errors) != len(want) {
		t.Fatalf("report = %+v, want %d errors", report, len(want))
	}
	for i, w := range want {
		if got := report.Errors[i]; got.Line != w.Line || got.Column != w.Column || got.Message == "" {
			t.Errorf("error %d = %+v, want line %d column %s", i, got, w.Line, w.Column)
		}
	}
	page, _ := f.reg.ListStalls(f.ctx, f.admin, choso.StallFilter{MarketID: f.marketInScope.ID})
	if len(page.Data) != 1 {
		t.Fatalf("dry run wrote: %d stalls, want the 1 from before", len(page.Data))
	}
	// A clean dry run writes nothing either.
	rows, _ = choso.ParseStallCSV(strings.NewReader(importHeader + importRow(10)))
	report, err = f.reg.ImportStalls(f.ctx, f.volA, f.marketInScope.ID, rows, true, true)
	if err != nil || len(report.Errors) != 0 || report.Created != 0 {
		t.Fatalf("clean dry run: %+v, %v", report, err)
	}
}

func TestRegistry_ImportStalls_ScopeAndConsent(t *testing.T) {
	f := newFixture(t)
	rows, _ := choso.ParseStallCSV(strings.NewReader(importHeader + importRow(1)))
	_, err := f.reg.ImportStalls(f.ctx, f.volOut, f.marketInScope.ID, rows, true, false)
	wantCode(t, err, choso.ENotFound)
	_, err = f.reg.ImportStalls(f.ctx, f.official, f.marketInScope.ID, rows, true, false)
	wantCode(t, err, choso.EForbidden)
	_, err = f.reg.ImportStalls(f.ctx, f.volA, f.marketInScope.ID, rows, false, false)
	wantCode(t, err, choso.EInvalid)
}

func TestRegistry_ImportStalls_5000Rows(t *testing.T) {
	f := newFixture(t)
	rows := make5000(t)
	report, err := f.reg.ImportStalls(f.ctx, f.volA, f.marketInScope.ID, rows, true, false)
	if err != nil || report.Created != 5000 || len(report.Errors) != 0 {
		t.Fatalf("import: %+v, %v", report, err)
	}
	n := 0
	filter := choso.StallFilter{MarketID: f.marketInScope.ID, Limit: choso.MaxPageSize}
	for {
		page, err := f.reg.ListStalls(f.ctx, f.volA, filter)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Data)
		if !page.HasMore {
			break
		}
		filter.After = page.NextCursor
	}
	if n != 5000 {
		t.Fatalf("listed %d stalls, want 5000", n)
	}
}

func make5000(t testing.TB) []choso.StallCSVRow {
	var b bytes.Buffer
	b.WriteString(importHeader)
	for i := range 5000 {
		b.WriteString(importRow(i))
	}
	rows, err := choso.ParseStallCSV(&b)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// BenchmarkImportStalls_5000Rows commits a 5,000-row import in one
// transaction, fsync included: the figure in BENCHMARKS.md.
//
//	go test -run '^$' -bench ImportStalls -benchtime 5x .
func BenchmarkImportStalls_5000Rows(b *testing.B) {
	var file bytes.Buffer
	file.WriteString(importHeader)
	for i := range 5000 {
		file.WriteString(importRow(i))
	}
	for b.Loop() {
		b.StopTimer()
		f := newFixture(b)
		b.StartTimer()
		rows, err := choso.ParseStallCSV(bytes.NewReader(file.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		report, err := f.reg.ImportStalls(f.ctx, f.volA, f.marketInScope.ID, rows, true, false)
		if err != nil || report.Created != 5000 {
			b.Fatalf("import: %+v, %v", report, err)
		}
	}
}
