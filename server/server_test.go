package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/bolt"
	"github.com/labstack/echo/v4"
)

// syncBuffer is a log sink safe to read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testServer struct {
	*Server
	URL   string
	Store choso.Store
	Logs  *syncBuffer
}

// openTestStore opens the store a test server runs on: a real bbolt file in
// a temp dir, or PostgreSQL while TestPartner_OnPostgres swaps it.
var openTestStore = func(t *testing.T, observe func(string, time.Duration, error)) choso.Store {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "choso.db"), bolt.Options{ObserveTx: observe})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// newTestServer runs a real server on a loopback port over a real store
// (see openTestStore). configure may adjust the config and add test routes.
func newTestServer(t *testing.T, configure ...func(*Config)) *testServer {
	t.Helper()
	metrics := NewMetrics()
	db := openTestStore(t, metrics.ObserveTx)
	logs := &syncBuffer{}
	cfg := Config{
		Addr:    "127.0.0.1:0",
		Store:   db,
		Metrics: metrics,
		Logger:  slog.New(slog.NewJSONHandler(logs, nil)),
		Version: "test",
	}
	for _, f := range configure {
		f(&cfg)
	}
	s := New(cfg)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		db.Close()
	})
	return &testServer{Server: s, URL: "http://" + s.Addr(), Store: db, Logs: logs}
}

func (ts *testServer) do(t *testing.T, method, path string, body io.Reader, header ...string) *http.Response {
	t.Helper()
	return ts.doWith(t, http.DefaultClient, method, path, body, header...)
}

// noRedirect is a client that returns redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// doNoRedirect is do, answering a redirect with the redirect itself.
func (ts *testServer) doNoRedirect(t *testing.T, method, path string, body io.Reader, header ...string) *http.Response {
	t.Helper()
	return ts.doWith(t, noRedirect, method, path, body, header...)
}

func (ts *testServer) doWith(t *testing.T, client *http.Client, method, path string, body io.Reader, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// wantError checks that res is a JSON error with the given status and code,
// and returns its message.
func wantError(t *testing.T, res *http.Response, status int, code string) string {
	t.Helper()
	if res.StatusCode != status {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("status = %d, want %d (body %s)", res.StatusCode, status, b)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	var body errorBody
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("decode error body: %v", err)
	}
	if body.Error.Code != code {
		t.Fatalf("error code = %q, want %q (message %q)", body.Error.Code, code, body.Error.Message)
	}
	if body.Error.Message == "" {
		t.Fatal("error message is empty")
	}
	if body.Error.RequestID == "" || body.Error.RequestID != res.Header.Get(echo.HeaderXRequestID) {
		t.Fatalf("error request_id = %q, header %q: want the same, non-empty", body.Error.RequestID, res.Header.Get(echo.HeaderXRequestID))
	}
	return body.Error.Message
}

type echoRequest struct {
	Name   string `json:"name"`
	Amount int64  `json:"amount"`
	Items  []struct {
		Name string `json:"name"`
		Qty  int    `json:"qty"`
	} `json:"items"`
}

// withTestRoutes adds routes that exist only in tests: one that decodes a
// body and echoes it, one with a raised body limit, one that panics.
func withTestRoutes(s *Server) {
	echoJSON := func(c echo.Context) error {
		var req echoRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, req)
	}
	s.echo.POST("/test/echo", echoJSON)
	s.echo.POST("/test/big", echoJSON, bodyLimit(PushBodyLimit))
	s.echo.GET("/test/panic", func(c echo.Context) error {
		panic("secret internal detail: db at /var/lib/choso")
	})
	s.echo.GET("/test/internal", func(c echo.Context) error {
		return io.ErrUnexpectedEOF
	})
}

func TestServer_UnknownRoute_404JSON(t *testing.T) {
	ts := newTestServer(t)
	msg := wantError(t, ts.do(t, "GET", "/v1/nope", nil), http.StatusNotFound, choso.ENotFound)
	if !strings.Contains(msg, "/v1/nope") {
		t.Fatalf("message %q should name the path", msg)
	}
}

func TestServer_WrongMethod_405JSON(t *testing.T) {
	ts := newTestServer(t)
	wantError(t, ts.do(t, "DELETE", "/healthz", nil), http.StatusMethodNotAllowed, choso.EMethodNotAllowed)
}

func TestServer_HandlerPanic_500WithoutInternals(t *testing.T) {
	ts := newTestServer(t)
	withTestRoutes(ts.Server)
	res := ts.do(t, "GET", "/test/panic", nil)
	msg := wantError(t, res, http.StatusInternalServerError, choso.EInternal)
	if strings.Contains(msg, "secret") || strings.Contains(msg, "/var/lib") {
		t.Fatalf("500 message leaks internals: %q", msg)
	}
	if !strings.Contains(ts.Logs.String(), "secret internal detail") {
		t.Fatal("the panic is not in the server log")
	}
	// The server goes on serving after a panic.
	if res := ts.do(t, "GET", "/healthz", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("healthz after panic: %d", res.StatusCode)
	}
}

func TestServer_PlainError_500WithoutInternals(t *testing.T) {
	ts := newTestServer(t)
	withTestRoutes(ts.Server)
	msg := wantError(t, ts.do(t, "GET", "/test/internal", nil), http.StatusInternalServerError, choso.EInternal)
	if strings.Contains(msg, "EOF") {
		t.Fatalf("500 message leaks the cause: %q", msg)
	}
}

func TestServer_BodyOverLimit_413(t *testing.T) {
	ts := newTestServer(t)
	withTestRoutes(ts.Server)
	big := `{"name":"` + strings.Repeat("x", defaultBodyLimit) + `"}`

	t.Run("declared length", func(t *testing.T) {
		wantError(t, ts.do(t, "POST", "/test/echo", strings.NewReader(big), "Content-Type", "application/json"),
			http.StatusRequestEntityTooLarge, choso.ETooLarge)
	})
	t.Run("chunked, no declared length", func(t *testing.T) {
		// io.MultiReader hides the length, so the client sends chunks.
		body := io.MultiReader(strings.NewReader(big))
		wantError(t, ts.do(t, "POST", "/test/echo", body, "Content-Type", "application/json"),
			http.StatusRequestEntityTooLarge, choso.ETooLarge)
	})
	t.Run("route with a raised limit takes it", func(t *testing.T) {
		res := ts.do(t, "POST", "/test/big", strings.NewReader(big), "Content-Type", "application/json")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status = %d, want 200 under the route's own limit", res.StatusCode)
		}
	})
	t.Run("raised limit still enforced", func(t *testing.T) {
		huge := `{"name":"` + strings.Repeat("x", PushBodyLimit) + `"}`
		wantError(t, ts.do(t, "POST", "/test/big", strings.NewReader(huge), "Content-Type", "application/json"),
			http.StatusRequestEntityTooLarge, choso.ETooLarge)
	})
	t.Run("exactly at the limit passes", func(t *testing.T) {
		pad := defaultBodyLimit - len(`{"name":""}`)
		body := `{"name":"` + strings.Repeat("y", pad) + `"}`
		if len(body) != defaultBodyLimit {
			t.Fatalf("test body is %d bytes, want %d", len(body), defaultBodyLimit)
		}
		res := ts.do(t, "POST", "/test/echo", strings.NewReader(body), "Content-Type", "application/json")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status = %d at exactly the limit, want 200", res.StatusCode)
		}
	})
}

func TestDecodeJSON_RejectsWhatItMust(t *testing.T) {
	ts := newTestServer(t)
	withTestRoutes(ts.Server)
	tests := []struct {
		name, contentType, body string
		status                  int
		code, msgContains       string
	}{
		{"malformed", "application/json", `{"name": "a",}`, 400, choso.EInvalid, "malformed JSON"},
		{"truncated", "application/json", `{"name": "a"`, 400, choso.EInvalid, "ends before"},
		{"unknown field", "application/json", `{"name":"a","admin":true}`, 400, choso.EInvalid, `unknown field "admin"`},
		{"trailing data", "application/json", `{"name":"a"} {"name":"b"}`, 400, choso.EInvalid, "after the JSON value"},
		{"trailing garbage", "application/json", `{"name":"a"}x`, 400, choso.EInvalid, "after the JSON value"},
		{"a key in another case is unknown, not a second amount", "application/json", `{"amount":1,"AMOUNT":900}`, 400, choso.EInvalid, `unknown field "AMOUNT"`},
		{"duplicate key, same case", "application/json", `{"amount":1,"amount":900}`, 400, choso.EInvalid, "more than once"},
		{"a key equal under case folding (ſ is s) is unknown", "application/json", `{"items":[],"itemſ":[]}`, 400, choso.EInvalid, "unknown field"},
		{"duplicate key in a nested object", "application/json", `{"items":[{"name":"a","name":"b"}]}`, 400, choso.EInvalid, "more than once"},
		{"case variant in a nested object", "application/json", `{"items":[{"name":"a","Name":"b"}]}`, 400, choso.EInvalid, `unknown field "Name"`},
		{"wrong type", "application/json", `{"amount":"12"}`, 400, choso.EInvalid, `"amount" must be an integer`},
		{"not an object", "application/json", `[1,2]`, 400, choso.EInvalid, "must be an object"},
		{"empty body", "application/json", ``, 400, choso.EInvalid, "empty"},
		{"invalid UTF-8", "application/json", "{\"name\":\"\xff\"}", 400, choso.EInvalid, "UTF-8"},
		{"form content type", "application/x-www-form-urlencoded", `name=a`, 415, choso.EUnsupportedMedia, "must be JSON"},
		{"no content type", "", `{"name":"a"}`, 415, choso.EUnsupportedMedia, "must be JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.contentType != "" {
				hdr = []string{"Content-Type", tt.contentType}
			}
			req, _ := http.NewRequest("POST", ts.URL+"/test/echo", strings.NewReader(tt.body))
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			if tt.contentType == "" {
				req.Header["Content-Type"] = nil
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			msg := wantError(t, res, tt.status, tt.code)
			if !strings.Contains(msg, tt.msgContains) {
				t.Fatalf("message = %q, want it to contain %q", msg, tt.msgContains)
			}
		})
	}
}

func TestDecodeJSON_AcceptsStrictlyValid(t *testing.T) {
	ts := newTestServer(t)
	withTestRoutes(ts.Server)
	body := `{"name":"Bún chả cô Lan","amount":45000,"items":[{"name":"bún","qty":2},{"name":"chả","qty":1}]}`
	res := ts.do(t, "POST", "/test/echo", strings.NewReader(body), "Content-Type", "application/json; charset=utf-8")
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("status = %d, want 200 (%s)", res.StatusCode, b)
	}
	var got echoRequest
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Name != "Bún chả cô Lan" || got.Amount != 45000 || len(got.Items) != 2 || got.Items[1].Qty != 1 {
		t.Fatalf("decoded %+v, want the body's values", got)
	}
}

func TestServer_SecurityHeaders(t *testing.T) {
	ts := newTestServer(t)
	res := ts.do(t, "GET", "/healthz", nil)
	for h, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "same-origin",
		"Cache-Control":          "no-store",
	} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy = %q, want default-src 'self'", csp)
	}
	if got := res.Header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("HSTS on plain HTTP = %q, want none", got)
	}
}

func TestServer_RequestID(t *testing.T) {
	ts := newTestServer(t)
	if got := ts.do(t, "GET", "/healthz", nil, "X-Request-ID", "phone-42.retry_3").Header.Get("X-Request-ID"); got != "phone-42.retry_3" {
		t.Errorf("plain caller ID: got %q, want it kept", got)
	}
	got := ts.do(t, "GET", "/healthz", nil, "X-Request-ID", "bad\"id with spaces").Header.Get("X-Request-ID")
	if got == "" || strings.Contains(got, " ") {
		t.Errorf("unsafe caller ID: got %q, want a fresh one", got)
	}
	a := ts.do(t, "GET", "/healthz", nil).Header.Get("X-Request-ID")
	b := ts.do(t, "GET", "/healthz", nil).Header.Get("X-Request-ID")
	if a == "" || a == b {
		t.Errorf("generated IDs %q and %q, want distinct non-empty", a, b)
	}
}

func TestServer_Healthz(t *testing.T) {
	ts := newTestServer(t)
	res := ts.do(t, "GET", "/healthz", nil)
	var body healthResponse
	json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != 200 || body.Status != "ok" || body.Version != "test" {
		t.Fatalf("healthz = %d %+v, want 200 ok test", res.StatusCode, body)
	}
}

func TestServer_Readyz_WritesToTheStore(t *testing.T) {
	ts := newTestServer(t)
	res := ts.do(t, "GET", "/readyz", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("readyz = %d, want 200", res.StatusCode)
	}
	var probe []byte
	ts.Store.View(context.Background(), func(tx choso.Tx) error { probe, _ = tx.Meta("ready_probe"); return nil })
	if len(probe) == 0 {
		t.Fatal("readyz did not write its probe record")
	}
}

func TestServer_Readyz_ClosedStore_503(t *testing.T) {
	ts := newTestServer(t)
	ts.Store.Close()
	res := ts.do(t, "GET", "/readyz", nil)
	wantError(t, res, http.StatusServiceUnavailable, choso.EUnavailable)
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	// Health is about the process, not the store.
	if res := ts.do(t, "GET", "/healthz", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("healthz with a closed store = %d, want 200", res.StatusCode)
	}
}

func TestServer_Metrics(t *testing.T) {
	ts := newTestServer(t)
	ts.do(t, "GET", "/readyz", nil)
	ts.do(t, "GET", "/no/such/route/12345", nil)
	res := ts.do(t, "GET", "/metrics", nil)
	b, _ := io.ReadAll(res.Body)
	text := string(b)
	for _, want := range []string{
		`choso_http_requests_total{method="GET",route="/readyz",status="200"} 1`,
		`choso_http_request_duration_seconds_bucket{method="GET",route="/readyz",status="200"`,
		`choso_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`choso_store_tx_duration_seconds_count{kind="update"}`,
		`choso_store_size_bytes `,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(text, "12345") {
		t.Error("/metrics carries a raw unknown path as a label")
	}
}

func TestServer_Logs_NoSecretsOrBodies(t *testing.T) {
	ts := newTestServer(t)
	withTestRoutes(ts.Server)
	ts.do(t, "POST", "/test/echo?token=querysecret", strings.NewReader(`{"name":"bodysecret"}`),
		"Content-Type", "application/json", "Authorization", "Bearer headersecret", "Cookie", "session=cookiesecret")
	logs := ts.Logs.String()
	for _, secret := range []string{"headersecret", "cookiesecret", "bodysecret", "querysecret"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q:\n%s", secret, logs)
		}
	}
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		if strings.Contains(l, `"route":"/test/echo"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatalf("log line is not JSON: %v", err)
			}
		}
	}
	if line == nil || line["status"] != float64(200) || line["request_id"] == "" {
		t.Fatalf("request log line = %v, want status 200 and a request_id", line)
	}
}

func TestServer_HTTPServerHardened(t *testing.T) {
	s := New(Config{Addr: "127.0.0.1:0"})
	h := s.http
	if h.ReadHeaderTimeout <= 0 || h.ReadTimeout <= 0 || h.WriteTimeout <= 0 || h.IdleTimeout <= 0 || h.MaxHeaderBytes <= 0 {
		t.Fatalf("http.Server limits unset: %+v", h)
	}
	if s.echo.Debug {
		t.Fatal("Echo debug mode is on")
	}
	if s.echo.IPExtractor == nil {
		t.Fatal("IPExtractor unset: X-Forwarded-For would be trusted from anyone")
	}
}

func TestServer_IPExtractor(t *testing.T) {
	ipOf := func(s *Server, remote, xff string) string {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = remote
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		return s.echo.NewContext(req, httptest.NewRecorder()).RealIP()
	}
	direct := New(Config{})
	if got := ipOf(direct, "203.0.113.7:5555", "1.2.3.4"); got != "203.0.113.7" {
		t.Errorf("direct: RealIP = %s, want the peer 203.0.113.7 (X-Forwarded-For ignored)", got)
	}
	_, proxies, _ := net.ParseCIDR("10.0.0.0/8")
	proxied := New(Config{TrustedProxies: []*net.IPNet{proxies}})
	if got := ipOf(proxied, "10.1.2.3:5555", "198.51.100.9"); got != "198.51.100.9" {
		t.Errorf("behind a trusted proxy: RealIP = %s, want the forwarded 198.51.100.9", got)
	}
	if got := ipOf(proxied, "203.0.113.7:5555", "198.51.100.9"); got != "203.0.113.7" {
		t.Errorf("untrusted peer: RealIP = %s, want the peer 203.0.113.7", got)
	}
}

func TestServer_Close_FinishesRequestsInFlight(t *testing.T) {
	ts := newTestServer(t)
	entered, release := make(chan struct{}), make(chan struct{})
	ts.echo.GET("/test/slow", func(c echo.Context) error {
		close(entered)
		<-release
		return c.String(http.StatusOK, "finished")
	})
	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		res, err := http.Get(ts.URL + "/test/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- result{status: res.StatusCode, body: string(b)}
	}()
	<-entered

	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		closed <- ts.Close(ctx)
	}()
	// New connections are refused once shutdown has begun.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := net.DialTimeout("tcp", ts.Addr(), time.Second); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server still accepts connections during shutdown")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a request was in flight", err)
	default:
	}
	close(release)
	r := <-got
	if r.err != nil || r.status != http.StatusOK || r.body != "finished" {
		t.Fatalf("in-flight request: %+v, want 200 finished", r)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// A connection that never sends a request must not hold shutdown: Go's
// http.Server alone would wait up to 5 s for it.
func TestServer_Close_DropsNeverUsedConnections(t *testing.T) {
	ts := newTestServer(t)
	var conns []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", ts.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	// And one idle keep-alive connection that has served a request.
	client := &http.Client{Transport: &http.Transport{}}
	res, err := client.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := ts.Close(ctx); err != nil {
		t.Fatalf("Close with never-used connections open: %v, want nil well before 5 s", err)
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("never-used connection after Close: read %v, want EOF", err)
		}
	}
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }
