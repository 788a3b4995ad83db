package server

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/choso/choso"
	"github.com/klauspost/compress/gzip"
	"github.com/labstack/echo/v4"
)

// MaxExportsPerPartner bounds a partner's exports running at once: each
// holds a core for minutes, so a third waits its turn (429).
const MaxExportsPerPartner = 2

// exportSlots counts the exports each partner is running.
type exportSlots struct {
	mu      sync.Mutex
	running map[string]int
}

// acquire takes a slot for partnerID, or reports false when it has none left.
func (e *exportSlots) acquire(partnerID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running == nil {
		e.running = map[string]int{}
	}
	if e.running[partnerID] >= MaxExportsPerPartner {
		return false
	}
	e.running[partnerID]++
	return true
}

func (e *exportSlots) release(partnerID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running[partnerID]--; e.running[partnerID] <= 0 {
		delete(e.running, partnerID)
	}
}

// limitExports refuses an export beyond the partner's concurrent ones.
func (s *Server) limitExports(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := partnerOf(c)
		if !s.exports.acquire(p.ID) {
			c.Response().Header().Set("Retry-After", "30")
			return choso.Errorf(choso.ERateLimited, "%d exports of yours are running; start another when one ends", MaxExportsPerPartner)
		}
		defer s.exports.release(p.ID)
		return next(c)
	}
}

// exportWriteTimeout replaces the server's write timeout for an export.
const exportWriteTimeout = time.Hour

// exportTrailer is the last line of an NDJSON export: a reader that does
// not find it, or finds other figures, knows the export is incomplete.
type exportTrailer struct {
	Trailer bool   `json:"trailer"`
	Rows    int    `json:"rows"`
	AsOfSeq uint64 `json:"as_of_seq"`
	SHA256  string `json:"sha256"` // of every byte of the data lines, newlines included
}

// Export write sizes. Rows are encoded into a batch of about
// exportBatch bytes, which is hashed and compressed in one call; the
// compressor's output (many small writes) goes through a buffer of
// exportBuffer bytes, so the connection sees few large writes.
const (
	exportBatch  = 64 << 10
	exportBuffer = 64 << 10
)

// exportStream is the body of an export: rows encoded into batches,
// hashed (NDJSON), optionally gzip-compressed, buffered on the way to the
// response.
type exportStream struct {
	batch []byte
	hash  hash.Hash // nil: not hashed (CSV)
	zw    *gzip.Writer
	bw    *bufio.Writer
	w     io.Writer // where batches go: zw or bw
	rows  int
}

func newExportStream(w io.Writer, compress, hashed bool) *exportStream {
	st := &exportStream{batch: make([]byte, 0, exportBatch+4<<10), bw: bufio.NewWriterSize(w, exportBuffer)}
	st.w = st.bw
	if compress {
		// klauspost/compress at BestSpeed writes a standard gzip stream
		// about twice as fast as compress/gzip's BestSpeed, at the same
		// ratio (repetitive JSON: 5.9 to 1). Huffman-only would be faster
		// still here but 3.5 times the bytes, which clients inflate 3
		// times slower (BENCHMARKS.md).
		st.zw, _ = gzip.NewWriterLevel(st.bw, gzip.BestSpeed)
		st.w = st.zw
	}
	if hashed {
		st.hash = sha256.New()
	}
	return st
}

// row ends a row that the caller appended to st.batch, writing the batch
// out once it is full.
func (st *exportStream) row() error {
	st.rows++
	if len(st.batch) < exportBatch {
		return nil
	}
	return st.flushBatch()
}

func (st *exportStream) flushBatch() error {
	if len(st.batch) == 0 {
		return nil
	}
	if st.hash != nil {
		st.hash.Write(st.batch)
	}
	_, err := st.w.Write(st.batch)
	st.batch = st.batch[:0]
	return err
}

// close writes what is left and, when tail is not nil, appends tail
// unhashed (the trailer), then ends the compressed stream and flushes.
func (st *exportStream) close(tail func() []byte) error {
	if err := st.flushBatch(); err != nil {
		return err
	}
	if tail != nil {
		if _, err := st.w.Write(tail()); err != nil {
			return err
		}
	}
	if st.zw != nil {
		if err := st.zw.Close(); err != nil {
			return err
		}
	}
	return st.bw.Flush()
}

// handlePartnerExportNDJSON streams the partner's stall-days of a date
// range, one revision a line, gzip, then the trailer line.
func (s *Server) handlePartnerExportNDJSON(c echo.Context) error {
	p := partnerOf(c)
	from, to := c.QueryParam("from"), c.QueryParam("to")
	res := c.Response()
	http.NewResponseController(res.Writer).SetWriteDeadline(time.Now().Add(exportWriteTimeout))
	var st *exportStream
	start := func() {
		res.Header().Set(echo.HeaderContentType, "application/x-ndjson")
		res.Header().Set(echo.HeaderContentEncoding, "gzip")
		res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="summaries-`+from+`-`+to+`.ndjson"`)
		res.WriteHeader(http.StatusOK)
		st = newExportStream(res, true, true)
	}
	asOf, err := s.partners.Export(c.Request().Context(), p, from, to, func(r *choso.Revision) error {
		if st == nil {
			start()
		}
		st.batch = append(appendRevisionJSON(st.batch, r), '\n')
		return st.row()
	})
	if err != nil {
		if st == nil {
			return err
		}
		// Headers are gone: end without a trailer, so the reader knows.
		s.log.Error("export failed mid-stream", "request_id", c.Get(ctxRequestID), "err", err)
		st.close(nil)
		return nil
	}
	if st == nil {
		start()
	}
	return st.close(func() []byte {
		trailer, _ := json.Marshal(exportTrailer{Trailer: true, Rows: st.rows, AsOfSeq: asOf, SHA256: hex.EncodeToString(st.hash.Sum(nil))})
		return append(trailer, '\n')
	})
}

// exportCSVColumns are the fixed columns of the CSV export (documented in
// the OpenAPI document).
var exportCSVColumns = []string{"change_seq", "business_date", "status", "revision", "stall_id", "stall_code", "market_id",
	"commune_code", "province_code", "bin", "account", "cash_count", "cash_amount", "qr_count", "qr_amount",
	"transfer_count", "transfer_amount", "void_count", "void_amount", "confirmed_qr_count", "confirmed_qr_amount", "changed_at"}

// handlePartnerExportCSV streams the same rows as CSV (RFC 4180, UTF-8,
// ?bom=true for Excel).
func (s *Server) handlePartnerExportCSV(c echo.Context) error {
	p := partnerOf(c)
	from, to := c.QueryParam("from"), c.QueryParam("to")
	bom, err := queryBool(c, "bom")
	if err != nil {
		return err
	}
	res := c.Response()
	http.NewResponseController(res.Writer).SetWriteDeadline(time.Now().Add(exportWriteTimeout))
	var st *exportStream
	start := func() {
		res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
		res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="summaries-`+from+`-`+to+`.csv"`)
		res.WriteHeader(http.StatusOK)
		st = newExportStream(res, false, false)
		if bom {
			st.batch = append(st.batch, "\uFEFF"...)
		}
		for i, col := range exportCSVColumns {
			if i > 0 {
				st.batch = append(st.batch, ',')
			}
			st.batch = appendCSVField(st.batch, col)
		}
		st.batch = append(st.batch, "\r\n"...)
	}
	_, err = s.partners.Export(c.Request().Context(), p, from, to, func(r *choso.Revision) error {
		if st == nil {
			start()
		}
		st.batch = appendRevisionCSV(st.batch, r)
		return st.row()
	})
	if err != nil && st == nil {
		return err
	}
	if err != nil {
		// CSV has no trailer to leave out: a cut must show as a cut, so the
		// connection is dropped before the response's end, and the bank's
		// client reads an unexpected EOF, not a shorter, well-formed file.
		s.log.Error("export failed mid-stream", "request_id", c.Get(ctxRequestID), "err", err)
		st.flushBatch()
		panic(http.ErrAbortHandler)
	}
	if st == nil {
		start()
	}
	return st.close(nil)
}

// appendRevisionJSON appends r as one JSON object: byte for byte what JSON
// v2 with Deterministic(true) makes of a choso.Revision (fields in struct
// order, by_method keys sorted, strings escaped alike), without reflection
// and without allocating. An export is a million of these, and reflection
// cost a third of its CPU. partner_export_test.go holds it to JSON v2, so a
// field added to Revision and not here fails there.
func appendRevisionJSON(b []byte, r *choso.Revision) []byte {
	b = append(b, `{"change_seq":`...)
	b = strconv.AppendUint(b, r.ChangeSeq, 10)
	b = append(b, `,"stall_id":`...)
	b = appendJSONString(b, r.StallID)
	b = append(b, `,"stall_code":`...)
	b = appendJSONString(b, r.StallCode)
	b = append(b, `,"market_id":`...)
	b = appendJSONString(b, r.MarketID)
	b = append(b, `,"commune_code":`...)
	b = appendJSONString(b, r.CommuneCode)
	b = append(b, `,"province_code":`...)
	b = appendJSONString(b, r.ProvinceCode)
	b = append(b, `,"bin":`...)
	b = appendJSONString(b, r.BIN)
	b = append(b, `,"account":`...)
	b = appendJSONString(b, r.Account)
	b = append(b, `,"business_date":`...)
	b = appendJSONString(b, r.BusinessDate)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, r.Status)
	b = append(b, `,"revision":`...)
	b = strconv.AppendUint(b, r.Revision, 10)
	b = append(b, `,"by_method":{`...)
	b = appendMethodTotalsJSON(b, r.ByMethod)
	b = append(b, `},"voids":`...)
	b = appendTotalsJSON(b, r.Voids)
	b = append(b, `,"confirmed_qr":`...)
	b = appendTotalsJSON(b, r.ConfirmedQR)
	b = append(b, `,"changed_at":"`...)
	b = r.ChangedAt.AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

// appendMethodTotalsJSON appends the members of a by_method object, keys
// in sorted order.
func appendMethodTotalsJSON(b []byte, m map[string]choso.MethodTotals) []byte {
	// The usual map holds the three methods, already in sorted order.
	if len(m) == 3 {
		cash, ok1 := m[choso.MethodCash]
		qr, ok2 := m[choso.MethodQR]
		transfer, ok3 := m[choso.MethodTransfer]
		if ok1 && ok2 && ok3 {
			b = append(b, `"cash":`...)
			b = appendTotalsJSON(b, cash)
			b = append(b, `,"qr":`...)
			b = appendTotalsJSON(b, qr)
			b = append(b, `,"transfer":`...)
			return appendTotalsJSON(b, transfer)
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendTotalsJSON(b, m[k])
	}
	return b
}

func appendTotalsJSON(b []byte, t choso.MethodTotals) []byte {
	b = append(b, `{"count":`...)
	b = strconv.AppendInt(b, t.Count, 10)
	b = append(b, `,"amount":`...)
	b = strconv.AppendInt(b, t.Amount, 10)
	return append(b, '}')
}

// appendJSONString appends s quoted as JSON v2 does by default: '"', '\\'
// and control characters escaped (\b \f \n \r \t, else \u00XX), everything
// else as it is; an invalid UTF-8 byte becomes U+FFFD (where JSON v2 would
// fail the row).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	i := 0
	for n := 0; n < len(s); {
		c := s[n]
		if c < utf8.RuneSelf {
			n++
			if c >= 0x20 && c != '"' && c != '\\' {
				continue
			}
			b = append(b, s[i:n-1]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, `\b`...)
			case '\f':
				b = append(b, `\f`...)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			default:
				const hex = "0123456789abcdef"
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i = n
			continue
		}
		r, size := utf8.DecodeRuneInString(s[n:])
		n += size
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[i:n-1]...)
			b = append(b, "\ufffd"...)
			i = n
		}
	}
	b = append(b, s[i:]...)
	return append(b, '"')
}

// appendRevisionCSV appends r as one CSV record of exportCSVColumns,
// CRLF-terminated: byte for byte what encoding/csv with UseCRLF writes.
func appendRevisionCSV(b []byte, r *choso.Revision) []byte {
	b = strconv.AppendUint(b, r.ChangeSeq, 10)
	b = append(b, ',')
	b = appendCSVField(b, r.BusinessDate)
	b = append(b, ',')
	b = appendCSVField(b, r.Status)
	b = append(b, ',')
	b = strconv.AppendUint(b, r.Revision, 10)
	for _, f := range [...]string{r.StallID, r.StallCode, r.MarketID, r.CommuneCode, r.ProvinceCode, r.BIN, r.Account} {
		b = append(b, ',')
		b = appendCSVField(b, f)
	}
	for _, t := range [...]choso.MethodTotals{r.ByMethod[choso.MethodCash], r.ByMethod[choso.MethodQR], r.ByMethod[choso.MethodTransfer], r.Voids, r.ConfirmedQR} {
		b = append(b, ',')
		b = strconv.AppendInt(b, t.Count, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, t.Amount, 10)
	}
	b = append(b, ',')
	b = r.ChangedAt.UTC().AppendFormat(b, time.RFC3339)
	return append(b, "\r\n"...)
}

// appendCSVField appends one field as encoding/csv's Writer (comma, CRLF)
// does: quoted when it holds a comma, quote, CR or LF, starts with a space,
// or is `\.`; inside quotes '"' doubles, LF becomes CRLF and a lone CR is
// dropped.
func appendCSVField(b []byte, f string) []byte {
	if !csvNeedsQuotes(f) {
		return append(b, f...)
	}
	b = append(b, '"')
	for i := 0; i < len(f); i++ {
		switch c := f[i]; c {
		case '"':
			b = append(b, '"', '"')
		case '\r':
		case '\n':
			b = append(b, '\r', '\n')
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func csvNeedsQuotes(f string) bool {
	if f == "" {
		return false
	}
	if f == `\.` || strings.ContainsAny(f, ",\"\r\n") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(f)
	return unicode.IsSpace(r)
}
