package partnerclient

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/partnerauth"
)

// Keys the fake server knows: bank_a is rotating, so it has two.
var (
	secretA1 = []byte("Yk3vR9qLw2Tn8ZcP5xHs0JdF7mBa4GeU1tKoVi6NrQy")
	secretA2 = []byte("q2Vn8sXk1PzR7tLm4YcW0bHj6DfG3aEu9NoKi5TrSwQ")
)

// fakeServer is the partner API as the server engineer is building it,
// behind the real partnerauth.Verifier: every request the client makes is
// verified as production will verify it.
type fakeServer struct {
	t        *testing.T
	verifier *partnerauth.Verifier

	mu        sync.Mutex
	revisions []json.RawMessage
	credits   map[string]Credit
	export    func(w http.ResponseWriter) // writes the export response
	// busy makes the next len(busy) requests fail with these statuses and
	// Retry-After values ("" for none).
	busy []busyReply
	seen []http.Header // headers of every verified request
}

type busyReply struct {
	status     int
	retryAfter string
}

func newFakeServer(t *testing.T) (*fakeServer, *httptest.Server) {
	s := &fakeServer{t: t, credits: map[string]Credit{}}
	s.verifier = &partnerauth.Verifier{
		Started: time.Now().Add(-time.Minute),
		Lookup: func(_ context.Context, keyID string) ([]byte, string, error) {
			switch keyID {
			case "pk_a1":
				return secretA1, "bank_a", nil
			case "pk_a2":
				return secretA2, "bank_a", nil
			}
			return nil, "", choso.Errorf(choso.ENotFound, "no key %q", keyID)
		},
	}
	for i := 1; i <= 5; i++ {
		s.revisions = append(s.revisions, json.RawMessage(fmt.Sprintf(
			`{"change_seq":%d,"stall_id":"st_%d","stall_code":"A-%02d","market_id":"mk_1","commune_code":"26734","province_code":"79","bin":"970436","account":"04510001%05d","business_date":"2026-01-01","status":"provisional","revision":%d,"by_method":{"cash":{"count":2,"amount":30000},"qr":{"count":1,"amount":45000},"transfer":{"count":0,"amount":0}},"voids":{"count":0,"amount":0},"confirmed_qr":{"count":1,"amount":45000},"changed_at":"2026-01-01T10:00:00Z","future_field":"kept in Raw"}`,
			i*10, i, i, i, i*10)))
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs
}

var statusOf = map[string]int{
	choso.EInvalid: 400, choso.EUnauthorized: 401, choso.ENotFound: 404,
	choso.ERateLimited: 429, choso.EUnavailable: 503, choso.EInternal: 500,
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": message}})
}

func (s *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		writeError(w, 400, "invalid", err.Error())
		return
	}
	path, query := partnerauth.RequestTarget(r)
	if _, _, err := s.verifier.Verify(r.Context(), r.Method, path, query, r.Header, body); err != nil {
		writeError(w, statusOf[choso.ErrorCode(err)], choso.ErrorCode(err), choso.ErrorMessage(err))
		return
	}
	s.mu.Lock()
	s.seen = append(s.seen, r.Header.Clone())
	if len(s.busy) > 0 {
		b := s.busy[0]
		s.busy = s.busy[1:]
		s.mu.Unlock()
		if b.retryAfter != "" {
			w.Header().Set("Retry-After", b.retryAfter)
		}
		writeError(w, b.status, map[int]string{429: "rate_limited", 503: "unavailable"}[b.status], "busy, retry later")
		return
	}
	s.mu.Unlock()

	switch {
	case r.Method == "GET" && r.URL.Path == "/partner/v1/changes":
		s.handleChanges(w, r)
	case r.Method == "POST" && r.URL.Path == "/partner/v1/credits":
		s.handleCredits(w, body)
	case r.Method == "GET" && r.URL.Path == "/partner/v1/exports/summaries.ndjson":
		if r.URL.Query().Get("from") != "2026-01-01" || r.URL.Query().Get("to") != "2026-01-31" {
			writeError(w, 400, "invalid", "from and to are wrong")
			return
		}
		s.export(w)
	default:
		writeError(w, 404, "not_found", "no route")
	}
}

// handleChanges pages through s.revisions; the cursor is the index to
// start at, in an opaque-looking wrapping with characters that need
// escaping in a query.
func (s *fakeServer) handleChanges(w http.ResponseWriter, r *http.Request) {
	start := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "c1/+="))
		if err != nil {
			writeError(w, 400, "cursor_invalid", "bad cursor")
			return
		}
		start = n
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 {
		limit = 100
	}
	end := min(start+limit, len(s.revisions))
	json.NewEncoder(w).Encode(map[string]any{
		"data": s.revisions[start:end], "next_cursor": "c1/+=" + strconv.Itoa(end), "has_more": end < len(s.revisions),
	})
}

func (s *fakeServer) handleCredits(w http.ResponseWriter, body []byte) {
	var req struct {
		Credits []Credit `json:"credits"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, 400, "invalid", err.Error())
		return
	}
	if len(req.Credits) > 0 && req.Credits[0].BankTxnID == "CONFLICT-WITHOUT-RESULTS" {
		writeError(w, 409, "conflict", "something else conflicted")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// As the server answers: the stored credit in each result, and 409 for
	// a batch with any conflict.
	var results []CreditResult
	httpStatus := 200
	for _, c := range req.Credits {
		status, msg := CreditCreated, ""
		if old, ok := s.credits[c.BankTxnID]; ok {
			status = CreditDuplicate
			if old != c {
				status, msg, httpStatus = CreditConflict, "bank_txn_id was posted before with other content", 409
			}
		} else {
			s.credits[c.BankTxnID] = c
		}
		var stored *StoredCredit
		if status != CreditConflict {
			stored = &StoredCredit{Credit: c, ReceivedAt: time.Unix(1767225700, 0).UTC(), StallID: "st_1", BusinessDate: "2026-01-01", Match: MatchAccountOnly}
		}
		results = append(results, CreditResult{BankTxnID: c.BankTxnID, Status: status, Message: msg, Credit: stored})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	json.NewEncoder(w).Encode(map[string]any{"results": results})
}

func newClient(t *testing.T, hs *httptest.Server, keyID string, secret []byte, opts ...Option) (*Client, *[]time.Duration) {
	t.Helper()
	c, err := New(hs.URL, keyID, secret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	var slept []time.Duration
	c.sleep = func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}
	return c, &slept
}

func TestClient_Changes(t *testing.T) {
	_, hs := newFakeServer(t)
	c, _ := newClient(t, hs, "pk_a1", secretA1)
	page, err := c.Changes(context.Background(), "", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || !page.HasMore || page.NextCursor != "c1/+=2" {
		t.Fatalf("first page: got %d revisions, has_more %v, next %q; want 2, true, %q", len(page.Data), page.HasMore, page.NextCursor, "c1/+=2")
	}
	r := page.Data[1]
	want := Revision{
		ChangeSeq: 20, StallID: "st_2", StallCode: "A-02", MarketID: "mk_1", CommuneCode: "26734", ProvinceCode: "79",
		BIN: "970436", Account: "0451000100002", BusinessDate: "2026-01-01", Status: StatusProvisional, Revision: 20,
		ByMethod:    map[string]Totals{"cash": {2, 30000}, "qr": {1, 45000}, "transfer": {}},
		ConfirmedQR: Totals{1, 45000}, ChangedAt: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC),
	}
	raw := r.Raw
	r.Raw = nil
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("revision: got %+v, want %+v", r, want)
	}
	if !bytes.Contains(raw, []byte(`"future_field":"kept in Raw"`)) {
		t.Fatalf("Raw: got %s, want the object as sent, unknown fields included", raw)
	}
	// The cursor, with characters a query must escape, goes back signed.
	page, err = c.Changes(context.Background(), page.NextCursor, 2)
	if err != nil || len(page.Data) != 2 || page.Data[0].ChangeSeq != 30 {
		t.Fatalf("second page: got %+v, %v; want change_seq 30 first", page, err)
	}
}

func TestClient_ChangePages_FollowsTheCursorToTheEnd(t *testing.T) {
	_, hs := newFakeServer(t)
	c, _ := newClient(t, hs, "pk_a2", secretA2) // the partner's second, rotated-in key
	var seqs []uint64
	var pages int
	var last *ChangesPage
	for page, err := range c.ChangePages(context.Background(), "", 2) {
		if err != nil {
			t.Fatal(err)
		}
		pages++
		last = page
		for _, r := range page.Data {
			seqs = append(seqs, r.ChangeSeq)
		}
	}
	if want := []uint64{10, 20, 30, 40, 50}; !reflect.DeepEqual(seqs, want) || pages != 3 {
		t.Fatalf("got change_seqs %v in %d pages, want %v in 3", seqs, pages, want)
	}
	if last.HasMore || last.NextCursor != "c1/+=5" {
		t.Fatalf("last page: got has_more %v, next %q; want false, %q to resume from", last.HasMore, last.NextCursor, "c1/+=5")
	}
	// Breaking out of the loop stops the requests.
	pages = 0
	for range c.ChangePages(context.Background(), "", 1) {
		pages++
		break
	}
	if pages != 1 {
		t.Fatalf("pages after break: got %d, want 1", pages)
	}
}

func TestClient_ChangePages_StopsAtAnError(t *testing.T) {
	_, hs := newFakeServer(t)
	c, _ := newClient(t, hs, "pk_a1", secretA1)
	var errs int
	for page, err := range c.ChangePages(context.Background(), "not-a-cursor", 2) {
		var apiErr *Error
		if page != nil || !errors.As(err, &apiErr) || apiErr.Code != "cursor_invalid" || apiErr.StatusCode != 400 {
			t.Fatalf("got %v, %v; want nil and a 400 cursor_invalid *Error", page, err)
		}
		errs++
	}
	if errs != 1 {
		t.Fatalf("errors yielded: got %d, want 1", errs)
	}
}

func TestClient_PostCredits(t *testing.T) {
	s, hs := newFakeServer(t)
	c, _ := newClient(t, hs, "pk_a1", secretA1)
	at := time.Date(2026, 1, 1, 6, 59, 12, 0, time.FixedZone("ICT", 7*3600))
	credits := []Credit{
		{BankTxnID: "FT1", BIN: "970436", Account: "0451000123456", Amount: 45000, CreditedAt: at, Content: "CSQ7K2M9 thanh toán"},
		{BankTxnID: "FT2", BIN: "970436", Account: "0451000123456", Amount: 20000, CreditedAt: at, Content: "chuyen tien"},
	}
	results, err := c.PostCredits(context.Background(), credits)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.BankTxnID != credits[i].BankTxnID || r.Status != CreditCreated || r.Credit == nil || r.Credit.Match != MatchAccountOnly || r.Credit.Amount != credits[i].Amount {
			t.Errorf("result %d: got %+v, want created %s, matched account_only", i, r, credits[i].BankTxnID)
		}
	}
	// The server answers a batch with a conflict 409, with every result.
	changed := credits[1]
	changed.Amount = 200000
	results, err = c.PostCredits(context.Background(), []Credit{credits[0], changed})
	if err != nil {
		t.Fatalf("re-post with a conflict: got %v, want the results", err)
	}
	if results[0].Status != CreditDuplicate || results[1].Status != CreditConflict || results[1].Message == "" {
		t.Fatalf("re-post: got %+v; want duplicate, then conflict with a message", results)
	}
	// A 409 that is not a batch answer is an error.
	_, err = c.PostCredits(context.Background(), []Credit{{BankTxnID: "CONFLICT-WITHOUT-RESULTS"}})
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 409 || apiErr.Code != "conflict" {
		t.Fatalf("409 without results: got %v, want a 409 conflict *Error", err)
	}
	if got := s.credits["FT1"].CreditedAt; !got.Equal(at) {
		t.Fatalf("credited_at on the server: got %v, want %v", got, at)
	}
	if _, err := c.PostCredits(context.Background(), nil); err == nil {
		t.Fatal("PostCredits(nil): got nil error, want one")
	}
}

func TestClient_RetriesBusyResponses(t *testing.T) {
	tests := []struct {
		name       string
		busy       []busyReply
		opts       []Option
		wantSleeps []time.Duration
		wantStatus int // 0 for success
	}{
		{"a 429 with Retry-After is retried after it", []busyReply{{429, "2"}, {429, "3"}}, nil, []time.Duration{2 * time.Second, 3 * time.Second}, 0},
		{"a 503 without Retry-After backs off", []busyReply{{503, ""}, {503, ""}, {503, ""}}, nil, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, 0},
		{"an HTTP-date Retry-After is honoured", []busyReply{{503, time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)}}, nil, nil, 0},
		{"retries stop after the bound", []busyReply{{503, "1"}, {503, "1"}, {503, "1"}, {503, "1"}}, nil, []time.Duration{time.Second, time.Second, time.Second}, 503},
		{"a Retry-After over the longest wait is returned, not slept", []busyReply{{429, "3600"}}, nil, nil, 429},
		{"no retries when disabled", []busyReply{{429, "1"}}, []Option{WithRetries(0, time.Minute)}, nil, 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, hs := newFakeServer(t)
			s.busy = tt.busy
			c, slept := newClient(t, hs, "pk_a1", secretA1, tt.opts...)
			if tt.name == "an HTTP-date Retry-After is honoured" {
				c.maxWait = 5 * time.Minute
			}
			_, err := c.Changes(context.Background(), "", 2)
			if tt.wantStatus == 0 && err != nil {
				t.Fatalf("Changes: got %v, want success after retries", err)
			}
			if tt.wantStatus != 0 {
				var apiErr *Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.wantStatus {
					t.Fatalf("Changes: got %v, want a %d *Error", err, tt.wantStatus)
				}
				if tt.wantStatus == 429 && len(tt.busy) == 1 && apiErr.RetryAfter == 0 {
					t.Fatalf("RetryAfter: got 0, want the server's value")
				}
			}
			if tt.name == "an HTTP-date Retry-After is honoured" {
				if len(*slept) != 1 || (*slept)[0] < 80*time.Second || (*slept)[0] > 91*time.Second {
					t.Fatalf("slept %v, want about 90 s", *slept)
				}
			} else if !reflect.DeepEqual(*slept, tt.wantSleeps) {
				t.Fatalf("slept %v, want %v", *slept, tt.wantSleeps)
			}
			// Every attempt was signed afresh: the verifier refuses a reused
			// nonce, so distinct nonces are what got the attempts through.
			nonces := map[string]bool{}
			for _, h := range s.seen {
				nonces[h.Get("X-Choso-Nonce")] = true
			}
			if len(nonces) != len(s.seen) {
				t.Fatalf("%d attempts used %d nonces, want one each", len(s.seen), len(nonces))
			}
		})
	}
}

func TestClient_PostCredits_RetriedPostIsSignedAfresh(t *testing.T) {
	s, hs := newFakeServer(t)
	s.busy = []busyReply{{503, "1"}}
	c, _ := newClient(t, hs, "pk_a1", secretA1)
	results, err := c.PostCredits(context.Background(), []Credit{{BankTxnID: "FT9", BIN: "970436", Account: "1", Amount: 1, CreditedAt: time.Unix(1767225600, 0)}})
	if err != nil || results[0].Status != CreditCreated {
		t.Fatalf("PostCredits after a 503: got %+v, %v; want created", results, err)
	}
}

func TestClient_AuthenticationFailures(t *testing.T) {
	tests := []struct {
		name        string
		keyID       string
		secret      []byte
		clock       func() time.Time
		wantMessage string
	}{
		{"a wrong secret is refused", "pk_a1", secretA2, nil, "signature does not match"},
		{"an unknown or revoked key is refused", "pk_gone", secretA1, nil, `unknown or revoked key id "pk_gone"`},
		{"a clock 400 s slow is refused", "pk_a1", secretA1, func() time.Time { return time.Now().Add(-400 * time.Second) }, "behind the server's clock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, hs := newFakeServer(t)
			var opts []Option
			if tt.clock != nil {
				opts = append(opts, WithClock(tt.clock))
			}
			c, slept := newClient(t, hs, tt.keyID, tt.secret, opts...)
			_, err := c.Changes(context.Background(), "", 1)
			var apiErr *Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "unauthorized" || !strings.Contains(apiErr.Message, tt.wantMessage) {
				t.Fatalf("Changes: got %v, want 401 unauthorized containing %q", err, tt.wantMessage)
			}
			if len(*slept) != 0 {
				t.Fatalf("a 401 was retried (slept %v), want no retry", *slept)
			}
		})
	}
}

// exportBody returns n data lines and a trailer that matches them.
func exportBody(n int) (lines []byte, trailer []byte) {
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{"change_seq":%d,"stall_id":"st_%d","business_date":"2026-01-%02d","note":"Chợ Bến Thành"}`+"\n", i, i, i%28+1)
	}
	sum := sha256.Sum256(b.Bytes())
	trailer = fmt.Appendf(nil, `{"trailer":true,"rows":%d,"as_of_seq":%d,"sha256":"%s"}`+"\n", n, n+100, hex.EncodeToString(sum[:]))
	return b.Bytes(), trailer
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func TestClient_ExportNDJSON(t *testing.T) {
	lines, trailer := exportBody(2000)
	whole := append(bytes.Clone(lines), trailer...)
	tampered := bytes.Replace(bytes.Clone(whole), []byte(`"stall_id":"st_1234"`), []byte(`"stall_id":"st_9999"`), 1)
	cutAtLine := whole[:bytes.LastIndexByte(whole[:len(whole)-1], '\n')+1] // every data line, no trailer
	oneRowLess := append(bytes.Clone(lines[bytes.IndexByte(lines, '\n')+1:]), trailer...)

	tests := []struct {
		name        string
		contentType string
		encoding    string
		body        []byte
		wantErr     error // nil for success
	}{
		{"a gzip Content-Encoding export verifies", "application/x-ndjson", "gzip", gzipped(whole), nil},
		{"an application/gzip export verifies", "application/gzip", "", gzipped(whole), nil},
		{"a plain NDJSON export verifies", "application/x-ndjson", "", whole, nil},
		{"a trailer without a final newline verifies", "application/gzip", "", gzipped(bytes.TrimSuffix(whole, []byte("\n"))), nil},
		{"a gzip stream cut short is truncated", "application/gzip", "", gzipped(whole)[:len(gzipped(whole))/2], ErrExportTruncated},
		{"a gzip stream missing its footer is truncated", "application/x-ndjson", "gzip", gzipped(whole)[:len(gzipped(whole))-4], ErrExportTruncated},
		{"an export cut at a line boundary is truncated", "application/gzip", "", gzipped(cutAtLine), ErrExportTruncated},
		{"an export cut mid-line is truncated", "application/x-ndjson", "", whole[:len(whole)-20], ErrExportTruncated},
		{"an empty export is truncated", "application/gzip", "", gzipped(nil), ErrExportTruncated},
		{"a changed byte in a line fails the hash", "application/gzip", "", gzipped(tampered), ErrExportMismatch},
		{"a missing line fails the row count", "application/gzip", "", gzipped(oneRowLess), ErrExportMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, hs := newFakeServer(t)
			s.export = func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", tt.contentType)
				if tt.encoding != "" {
					w.Header().Set("Content-Encoding", tt.encoding)
				}
				w.Write(tt.body)
			}
			c, _ := newClient(t, hs, "pk_a1", secretA1)
			var out bytes.Buffer
			tr, err := c.ExportNDJSON(context.Background(), "2026-01-01", "2026-01-31", &out)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ExportNDJSON: got %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ExportNDJSON: got %v, want success", err)
			}
			if tr.Rows != 2000 || tr.AsOfSeq != 2100 || !tr.Trailer {
				t.Fatalf("trailer: got %+v, want 2000 rows as of 2100", tr)
			}
			if !bytes.Equal(out.Bytes(), lines) {
				t.Fatalf("written: got %d bytes, want the %d bytes of the data lines and no trailer", out.Len(), len(lines))
			}
		})
	}
}

func TestClient_ExportNDJSON_ServerErrorIsAnError(t *testing.T) {
	s, hs := newFakeServer(t)
	s.busy = []busyReply{{429, "7200"}} // one streaming export at a time
	c, _ := newClient(t, hs, "pk_a1", secretA1)
	_, err := c.ExportNDJSON(context.Background(), "2026-01-01", "2026-01-31", io.Discard)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.RetryAfter != 2*time.Hour {
		t.Fatalf("ExportNDJSON: got %v, want a 429 *Error with RetryAfter 2h", err)
	}
}

func TestNew_RejectsBadArguments(t *testing.T) {
	tests := []struct {
		name, baseURL, keyID string
		secret               []byte
	}{
		{"a base URL without a scheme is refused", "choso.example.vn", "pk_a1", secretA1},
		{"an ftp base URL is refused", "ftp://choso.example.vn", "pk_a1", secretA1},
		{"a base URL with a query is refused", "https://choso.example.vn/?x=1", "pk_a1", secretA1},
		{"an empty key id is refused", "https://choso.example.vn", "", secretA1},
		{"an empty secret is refused", "https://choso.example.vn", "pk_a1", nil},
	}
	for _, tt := range tests {
		if _, err := New(tt.baseURL, tt.keyID, tt.secret); err == nil {
			t.Errorf("%s: got nil error, want one", tt.name)
		}
	}
}

// TestSign_MatchesTheGuide checks the client's own signing code against
// the first worked example of docs/partner-signing.md.
func TestSign_MatchesTheGuide(t *testing.T) {
	body := []byte(`{"credits":[{"bank_txn_id":"FT26001948571203","bin":"970436","account":"0451000123456","amount":45000,"credited_at":"2026-01-01T06:59:12+07:00","content":"CSQ7K2M9 thanh toan"}]}`)
	const want = "bf06c52ed83b94caead41dfd7b5e04567cb0e3cf4e5125e394d8040d64264577"
	if got := sign(secretA1, "POST", "/partner/v1/credits", "", 1767225600, "Q2hvU28tZXhhbXBsZS0x", body); got != want {
		t.Fatalf("sign: got %s, want %s", got, want)
	}
	doc, err := readGuide()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc, "X-Choso-Signature: "+want) {
		t.Fatalf("docs/partner-signing.md no longer shows signature %s", want)
	}
}

// TestRevision_MatchesTheServersJSON guards against drift between the
// client's Revision and the server's choso.Revision: every field the
// server sends has a home here, under the same name.
func TestRevision_MatchesTheServersJSON(t *testing.T) {
	names := func(typ reflect.Type) []string {
		var out []string
		for f := range typ.Fields() {
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" && tag != "-" {
				out = append(out, tag)
			}
		}
		return out
	}
	if got, want := names(reflect.TypeFor[Revision]()), names(reflect.TypeFor[choso.Revision]()); !reflect.DeepEqual(got, want) {
		t.Fatalf("Revision JSON fields: got %v, want the server's %v", got, want)
	}
	if got, want := names(reflect.TypeFor[Totals]()), names(reflect.TypeFor[choso.MethodTotals]()); !reflect.DeepEqual(got, want) {
		t.Fatalf("Totals JSON fields: got %v, want the server's %v", got, want)
	}
	if got, want := names(reflect.TypeFor[CreditResult]()), names(reflect.TypeFor[choso.CreditResult]()); !reflect.DeepEqual(got, want) {
		t.Fatalf("CreditResult JSON fields: got %v, want the server's %v", got, want)
	}
	if got, want := names(reflect.TypeFor[Credit]()), names(reflect.TypeFor[choso.CreditInput]()); !reflect.DeepEqual(got, want) {
		t.Fatalf("Credit JSON fields: got %v, want the server's %v", got, want)
	}
	// A stored credit decodes from the server's JSON with every field this
	// client names.
	at := time.Date(2026, 1, 1, 6, 59, 12, 0, time.UTC)
	server := choso.Credit{Seq: 7, BankTxnID: "FT1", PartnerID: "bank_a", BIN: "970436", Account: "1", Amount: 45000, CreditedAt: at,
		Content: "CSQ7K2M9", ReceivedAt: at.Add(time.Second), StallID: "st_1", BusinessDate: "2026-01-01", SaleID: "01J", MatchKind: choso.MatchReference}
	data, _ := json.Marshal(server)
	var got StoredCredit
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := StoredCredit{Credit: Credit{BankTxnID: "FT1", BIN: "970436", Account: "1", Amount: 45000, CreditedAt: at, Content: "CSQ7K2M9"},
		ReceivedAt: at.Add(time.Second), StallID: "st_1", BusinessDate: "2026-01-01", SaleID: "01J", Match: MatchReference}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("StoredCredit from the server's JSON: got %+v, want %+v", got, want)
	}
}
