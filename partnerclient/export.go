package partnerclient

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Export errors: errors.Is tells them apart. Either way the lines already
// written to w must be discarded.
var (
	// ErrExportTruncated: the export ended before its trailer line.
	ErrExportTruncated = errors.New("partnerclient: export truncated: no trailer line at the end")
	// ErrExportMismatch: the trailer's row count or SHA-256 does not
	// match the lines received.
	ErrExportMismatch = errors.New("partnerclient: export does not match its trailer")
)

// maxExportLine bounds one line of an export, so a broken stream cannot
// make the client buffer without end.
const maxExportLine = 16 << 20

// Trailer is the last line of an NDJSON export.
type Trailer struct {
	Trailer bool   `json:"trailer"`
	Rows    int64  `json:"rows"`      // data lines before the trailer
	AsOfSeq uint64 `json:"as_of_seq"` // the export shows the feed up to this change_seq
	SHA256  string `json:"sha256"`    // hex SHA-256 of every byte of the data lines, newlines included
}

// ExportNDJSON streams the summaries export for business days from to to
// (YYYY-MM-DD, inclusive) into w: one revision a line, newline-terminated,
// exactly the bytes the server hashed, without the trailer. It checks the
// trailer and returns it; on an error, what was written to w is incomplete
// or wrong and must be discarded (write to a temporary file and rename it
// on success). The server may send gzip as Content-Encoding or as an
// application/gzip body; both are handled, and so is plain NDJSON.
func (c *Client) ExportNDJSON(ctx context.Context, from, to string, w io.Writer) (*Trailer, error) {
	q := url.Values{"from": {from}, "to": {to}}
	// Asked for explicitly, gzip is not undone by the transport, so the
	// code below sees what the server sent.
	resp, err := c.do(ctx, "GET", "/partner/v1/exports/summaries.ndjson", q, nil, http.Header{"Accept-Encoding": {"gzip"}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	br := bufio.NewReaderSize(resp.Body, 64<<10)
	compressed := strings.EqualFold(strings.TrimSpace(resp.Header.Get("Content-Encoding")), "gzip")
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil && (mt == "application/gzip" || mt == "application/x-gzip") {
		compressed = true
	}
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		compressed = true
	}
	var r io.Reader = br
	if compressed {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrExportTruncated, err)
		}
		defer zr.Close()
		r = zr
	}
	return copyExport(w, r)
}

// copyExport copies the data lines of an NDJSON export from r to w, one
// line behind, so the last line (the trailer) is never written; it hashes
// what it writes and checks the trailer at the end.
func copyExport(w io.Writer, r io.Reader) (*Trailer, error) {
	lr := bufio.NewReaderSize(r, 64<<10)
	h := sha256.New()
	var rows int64
	var held, line []byte // held: the previous line, written once another follows
	for {
		var err error
		line, err = readLine(lr, line[:0])
		if len(line) > 0 {
			if held != nil {
				if _, werr := w.Write(held); werr != nil {
					return nil, werr
				}
				h.Write(held)
				rows++
			}
			held, line = line, held
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
				return nil, fmt.Errorf("%w (after %d lines: %v)", ErrExportTruncated, rows, err)
			}
			return nil, fmt.Errorf("partnerclient: reading the export after %d lines: %w", rows, err)
		}
	}
	if held == nil {
		return nil, fmt.Errorf("%w (the export is empty)", ErrExportTruncated)
	}
	var t Trailer
	if err := json.Unmarshal(bytes.TrimSuffix(held, []byte("\n")), &t); err != nil || !t.Trailer {
		return nil, fmt.Errorf("%w (%d data lines, then a last line that is not a trailer)", ErrExportTruncated, rows)
	}
	if t.Rows != rows {
		return &t, fmt.Errorf("%w: trailer says %d rows, received %d", ErrExportMismatch, t.Rows, rows)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(t.SHA256) {
		return &t, fmt.Errorf("%w: SHA-256 of the lines is %s, trailer says %s", ErrExportMismatch, got, t.SHA256)
	}
	return &t, nil
}

// readLine appends the next line of r, its newline included, to buf. At
// the end of the stream it returns the last bytes (without a newline, if
// the stream ended without one) and io.EOF.
func readLine(r *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if err != bufio.ErrBufferFull {
			return buf, err
		}
		if len(buf) > maxExportLine {
			return buf, fmt.Errorf("partnerclient: export line over %d bytes", maxExportLine)
		}
	}
}
