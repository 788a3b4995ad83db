package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/choso/choso"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// referenceJSON is how export rows were encoded before the hand-written
// encoder: JSON v2, map keys sorted.
func referenceJSON(t testing.TB, r *choso.Revision) []byte {
	t.Helper()
	b, err := jsonv2.Marshal(r, jsonv2.Deterministic(true))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// referenceCSV is how CSV rows were written before: encoding/csv, CRLF.
func referenceCSV(t testing.TB, r *choso.Revision) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	n := func(v int64) string { return fmt.Sprint(v) }
	w.Write([]string{
		fmt.Sprint(r.ChangeSeq), r.BusinessDate, r.Status, fmt.Sprint(r.Revision), r.StallID, r.StallCode, r.MarketID,
		r.CommuneCode, r.ProvinceCode, r.BIN, r.Account,
		n(r.ByMethod[choso.MethodCash].Count), n(r.ByMethod[choso.MethodCash].Amount),
		n(r.ByMethod[choso.MethodQR].Count), n(r.ByMethod[choso.MethodQR].Amount),
		n(r.ByMethod[choso.MethodTransfer].Count), n(r.ByMethod[choso.MethodTransfer].Amount),
		n(r.Voids.Count), n(r.Voids.Amount), n(r.ConfirmedQR.Count), n(r.ConfirmedQR.Amount), r.ChangedAt.UTC().Format(time.RFC3339),
	})
	w.Flush()
	return buf.Bytes()
}

func sampleRevision() choso.Revision {
	return choso.Revision{ChangeSeq: 494058, StallID: "stl_0009y6xae0h9tyx4cjm81sp13w", StallCode: "A-30", MarketID: "mkt_kky7wfa3kw9h33peg7hhvna3yc",
		CommuneCode: "00466", ProvinceCode: "01", BIN: "970436", Account: "1000002939", BusinessDate: "2026-10-28", Status: choso.DayFinal,
		Revision: 494058, ByMethod: map[string]choso.MethodTotals{"cash": {Count: 12, Amount: 1118000}, "qr": {Count: 14, Amount: 1492000}, "transfer": {Count: 10, Amount: 1054000}},
		Voids: choso.MethodTotals{}, ConfirmedQR: choso.MethodTotals{Count: 12, Amount: 1342800}, ChangedAt: time.Date(2026, 10, 29, 19, 0, 0, 0, time.UTC)}
}

func TestAppendRevisionJSON_SameBytesAsJSONv2(t *testing.T) {
	hanoi := time.FixedZone("ICT", 7*3600)
	tests := []struct {
		name   string
		change func(r *choso.Revision)
	}{
		{"a usual final row", func(*choso.Revision) {}},
		{"a stall code with quotes, backslash and control characters", func(r *choso.Revision) { r.StallCode = "A\"1\\2\n\t\r\b\f\x00\x1f\x7f" }},
		{"Vietnamese text and HTML characters as they are", func(r *choso.Revision) { r.StallCode = "Sạp <cô Lan> & con" }},
		{"U+2028 and U+2029 as they are", func(r *choso.Revision) { r.StallCode = "a\u2028b\u2029c" }},
		{"empty strings", func(r *choso.Revision) { *r = choso.Revision{ByMethod: map[string]choso.MethodTotals{}} }},
		{"a nil by_method is an empty object", func(r *choso.Revision) { r.ByMethod = nil }},
		{"by_method with one method", func(r *choso.Revision) { r.ByMethod = map[string]choso.MethodTotals{"qr": {Count: 1, Amount: 5}} }},
		{"by_method with a fourth method, sorted", func(r *choso.Revision) {
			r.ByMethod["card\"x"] = choso.MethodTotals{Count: -1, Amount: -9223372036854775808}
		}},
		{"three methods but not the usual three", func(r *choso.Revision) {
			delete(r.ByMethod, "qr")
			r.ByMethod["aa"] = choso.MethodTotals{Count: 3}
		}},
		{"the largest numbers", func(r *choso.Revision) {
			r.ChangeSeq, r.Revision = 1<<64-1, 1<<64-1
			r.Voids = choso.MethodTotals{Count: 9223372036854775807, Amount: 9223372036854775807}
		}},
		{"nanoseconds", func(r *choso.Revision) { r.ChangedAt = time.Date(2026, 1, 2, 3, 4, 5, 123456700, time.UTC) }},
		{"an offset zone", func(r *choso.Revision) { r.ChangedAt = time.Date(2026, 1, 2, 3, 4, 5, 1, hanoi) }},
		{"the zero time", func(r *choso.Revision) { r.ChangedAt = time.Time{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleRevision()
			tt.change(&r)
			if got, want := appendRevisionJSON(nil, &r), referenceJSON(t, &r); !bytes.Equal(got, want) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestAppendRevisionJSON_InvalidUTF8BecomesReplacementCharacter(t *testing.T) {
	r := sampleRevision()
	r.StallCode = "A\xff-1"
	got := appendRevisionJSON(nil, &r)
	var back choso.Revision
	if err := jsonv2.Unmarshal(got, &back); err != nil || back.StallCode != "A\uFFFD-1" {
		t.Fatalf("got %s (%v), want stall_code A\uFFFD-1", got, err)
	}
}

func TestAppendRevisionCSV_SameBytesAsEncodingCSV(t *testing.T) {
	for _, code := range []string{"A-30", "", "A,1", `A"1"`, "A\r\n1", "A\r1", "A\n1", " A", "\tA", `\.`, "\u00a0A", "Sạp cô Lan", "A\u20281"} {
		r := sampleRevision()
		r.StallCode = code
		r.ChangedAt = time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("ICT", 7*3600))
		if got, want := appendRevisionCSV(nil, &r), referenceCSV(t, &r); !bytes.Equal(got, want) {
			t.Errorf("stall code %q: got %q, want %q", code, got, want)
		}
	}
	r := sampleRevision()
	r.ByMethod = nil
	if got, want := appendRevisionCSV(nil, &r), referenceCSV(t, &r); !bytes.Equal(got, want) {
		t.Errorf("nil by_method: got %q, want %q", got, want)
	}
}

// FuzzAppendJSONString: every string encodes as JSON v2 encodes it (with
// invalid UTF-8 allowed), and a valid one decodes back to itself.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "A-30", "Sạp cô Lan", "\"\\\n\x00\x1f\x7f", "<&>", "\u2028", "\xff", "a\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendJSONString(nil, s)
		want, err := jsonv2.Marshal(s, jsontext.AllowInvalidUTF8(true))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
		var back string
		if err := jsonv2.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q encodes as %s, which does not decode: %v", s, got, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("%q decodes back as %q", s, back)
		}
	})
}

// FuzzAppendCSVField: a field is written as encoding/csv writes it, and
// reads back as itself (CR and CRLF aside, which RFC 4180 readers fold).
func FuzzAppendCSVField(f *testing.F) {
	for _, s := range []string{"", "A-30", "a,b", `a"b`, "a\r\nb", "a\rb", " a", `\.`, "\u3000a", "Sạp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := append(appendCSVField(nil, s), ",x\r\n"...)
		var want bytes.Buffer
		w := csv.NewWriter(&want)
		w.UseCRLF = true
		w.Write([]string{s, "x"})
		w.Flush()
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%q: got %q, want %q", s, got, want.Bytes())
		}
		if strings.Contains(s, "\r") || !utf8.ValidString(s) {
			return
		}
		rec, err := csv.NewReader(bytes.NewReader(got)).Read()
		if err != nil || len(rec) != 2 || rec[0] != s {
			t.Fatalf("%q written as %q reads back as %q (%v)", s, got, rec, err)
		}
	})
}

// putDays writes n stall-days of date in province 24 straight to the
// store, as the sync rules leave them, with awkward stall codes.
func putDays(t *testing.T, rs *registryServer, date string, n int) {
	t.Helper()
	codes := []string{"A-1", "B,2", `C"3"`, "D\n4", " E5", "Sạp cô Lan"}
	err := rs.Store.Update(t.Context(), func(tx choso.Tx) error {
		for i := range n {
			d := &choso.StallDay{StallID: fmt.Sprintf("stl_%06d", i), MarketID: "mkt_1", CommuneCode: "07210", ProvinceCode: "24", Date: date,
				Status: choso.DayFinal, StallCode: codes[i%len(codes)], BIN: "970436", Account: fmt.Sprintf("00%08d", i),
				ByMethod: map[string]choso.MethodTotals{"cash": {Count: int64(i), Amount: int64(i) * 1000}, "qr": {Count: 1, Amount: 25000}},
				Voids:    choso.MethodTotals{Count: int64(i % 3), Amount: 500}, ConfirmedQR: choso.MethodTotals{Count: 1, Amount: 25000},
				UpdatedAt: time.Date(2026, 11, 2, 3, 4, 5, 0, time.UTC)}
			if i%7 == 0 {
				d.ProvinceCode = "01" // another programme's
			}
			seq, err := tx.AppendChange(&choso.Change{Day: *d, At: d.UpdatedAt})
			if err != nil {
				return err
			}
			d.Revision = seq
			if err := tx.PutStallDay(d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// An export of several chunks and batches: every line is what JSON v2
// made of the row, in date then stall order, the trailer matches, and the
// CSV export holds the same rows as encoding/csv wrote them.
func TestPartnerExport_ManyRowsAsBefore(t *testing.T) {
	rs := newRegistryServer(t)
	b := rs.bank(t, "24")
	const perDate = choso.ExportChunk + 700
	putDays(t, rs, "2026-11-01", perDate)
	putDays(t, rs, "2026-11-02", perDate)
	covered := 0
	for i := range perDate {
		if i%7 != 0 {
			covered += 2
		}
	}
	q := url.Values{"from": {"2026-11-01"}, "to": {"2026-11-02"}}
	res := b.signed(t, "GET", "/partner/v1/exports/summaries.ndjson", q, nil, nil)
	if res.StatusCode != http.StatusOK || !res.Uncompressed {
		t.Fatalf("export: %d, uncompressed %v: want a gzip stream", res.StatusCode, res.Uncompressed)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(body), "\n"), "\n")
	data := strings.Join(lines[:len(lines)-1], "")
	var trailer exportTrailer
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &trailer); err != nil || !trailer.Trailer {
		t.Fatalf("last line is not a trailer: %q", lines[len(lines)-1])
	}
	sum := sha256.Sum256([]byte(data))
	if trailer.Rows != covered || len(lines)-1 != covered || trailer.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("trailer %+v over %d lines (sha %x), want %d rows", trailer, len(lines)-1, sum, covered)
	}
	var rows []choso.Revision
	prev := ""
	for i, line := range lines[:len(lines)-1] {
		var r choso.Revision
		if err := jsonv2.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if want := string(referenceJSON(t, &r)) + "\n"; line != want {
			t.Fatalf("line %d:\ngot  %s\nwant %s", i, line, want)
		}
		if key := r.BusinessDate + "/" + r.StallID; key <= prev || r.ProvinceCode != "24" {
			t.Fatalf("line %d: %s after %s in province %s", i, key, prev, r.ProvinceCode)
		} else {
			prev = key
		}
		rows = append(rows, r)
	}

	res = b.signed(t, "GET", "/partner/v1/exports/summaries.csv", q, nil, nil)
	got, _ := io.ReadAll(res.Body)
	var want bytes.Buffer
	want.WriteString(strings.Join(exportCSVColumns, ",") + "\r\n")
	for i := range rows {
		want.Write(referenceCSV(t, &rows[i]))
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("csv export differs from encoding/csv's: %d bytes, want %d", len(got), want.Len())
	}
	recs, err := csv.NewReader(bufio.NewReader(bytes.NewReader(got))).ReadAll()
	if err != nil || len(recs) != covered+1 {
		t.Fatalf("csv: %d records (%v), want %d", len(recs), err, covered+1)
	}
}

// An emit that fails ends the export with its error, and a cancelled
// request ends it too, however far the reader got ahead.
func TestPartners_Export_StopsOnEmitErrorAndCancel(t *testing.T) {
	rs := newRegistryServer(t)
	rs.bank(t, "24")
	putDays(t, rs, "2026-11-01", choso.ExportChunk*3)
	partners, _, err := rs.partners.ListPartners(t.Context(), choso.SystemPrincipal("test"))
	if err != nil || len(partners) != 1 {
		t.Fatalf("partners: %v %v", partners, err)
	}
	p := partners[0]
	boom := errors.New("client went away")
	n := 0
	_, err = rs.partners.Export(t.Context(), p, "2026-11-01", "2026-11-01", func(*choso.Revision) error {
		if n++; n == choso.ExportChunk+10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != choso.ExportChunk+10 {
		t.Fatalf("after %d rows: got %v, want the emit error after %d", n, err, choso.ExportChunk+10)
	}
	ctx, cancel := context.WithCancel(t.Context())
	n = 0
	_, err = rs.partners.Export(ctx, p, "2026-11-01", "2026-11-01", func(*choso.Revision) error {
		if n++; n == 5 {
			cancel()
		}
		return nil
	})
	if err == nil || n > choso.ExportChunk {
		t.Fatalf("cancelled export: %d rows, err %v; want an error before the end", n, err)
	}
}

// countingStore is the real store, counting its read transactions, and
// failing them from the failFrom-th on (0: never): a read error in the
// middle of an export.
type countingStore struct {
	choso.Store
	mu              sync.Mutex
	views, failFrom int
}

func (s *countingStore) View(ctx context.Context, fn func(choso.Tx) error) error {
	s.mu.Lock()
	s.views++
	fail := s.failFrom > 0 && s.views >= s.failFrom
	s.mu.Unlock()
	if fail {
		return errors.New("disk read error")
	}
	return s.Store.View(ctx, fn)
}

// A CSV export that fails after its first rows went out has no trailer to
// leave out: the connection is dropped before the response ends, so the
// bank's client reads an error, never a shorter, well-formed file.
func TestPartnerExport_CSVCutMidStream_ReadsAsCut(t *testing.T) {
	rs := newRegistryServer(t)
	b := rs.bank(t, "24")
	putDays(t, rs, "2026-11-01", 3*choso.ExportChunk)
	cs := &countingStore{Store: rs.partners.Store}
	rs.partners.Store = cs
	get := func() (*http.Response, []byte, error) {
		res := b.signed(t, "GET", "/partner/v1/exports/summaries.csv", url.Values{"from": {"2026-11-01"}, "to": {"2026-11-01"}}, nil, nil)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		return res, body, err
	}
	// A whole export, to learn how many reads it takes and how many rows.
	res, whole, err := get()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("whole export: %d, %v", res.StatusCode, err)
	}
	rows, _ := csv.NewReader(bytes.NewReader(whole)).ReadAll()
	cs.mu.Lock()
	reads := cs.views
	cs.views, cs.failFrom = 0, reads-1 // the export's next-to-last chunk fails
	cs.mu.Unlock()
	res, cut, err := get()
	if err == nil && res.StatusCode == http.StatusOK {
		got, perr := csv.NewReader(bytes.NewReader(cut)).ReadAll()
		t.Fatalf("a CSV export cut mid-stream read cleanly: %d of %d rows, parse error %v", len(got), len(rows), perr)
	}
}
