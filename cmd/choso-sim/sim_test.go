package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/choso/choso/sync/client/clienttest"
)

// fast are flags that keep a simulation short.
var fast = []string{"--password", "x", "--progress", "0", "--backoff-base", "10ms", "--backoff-cap", "100ms",
	"--reconnect-jitter", "0", "--drain-timeout", "20s", "--timeout", "5s"}

func runSim(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := run(ctx, append(append([]string{}, fast...), args...), &out, &errb)
	if testing.Verbose() || code != 0 {
		t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
	return code, out.String()
}

// readSummary reads the summary a run wrote with --json.
func readSummary(t *testing.T, path string) summary {
	t.Helper()
	var sum summary
	raw, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(raw, &sum)
	}
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestSim_LossyCutOfflineSkewedReinstalledPhones_TotalsVerify(t *testing.T) {
	srv := clienttest.New(t)
	code, out := runSim(t, "--server", srv.URL, "--phones", "8", "--events-per-phone", "25", "--rate", "200",
		"--loss", "0.2", "--cut", "0.1", "--offline", "0.5", "--offline-for", "30ms", "--skew", "0.5", "--reinstall", "0.3", "--voids", "0.1")
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	for _, want := range []string{"verify       OK", "push latency p50", "answers lost after commit"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// SYNC.md §7 #23: phones reconnecting at market close all at once meet 429
// and 503 with Retry-After, back off, and drain; the simulator reports it.
// Each status is tried alone with a Retry-After of one second: a phone told
// to wait cannot drain its outbox sooner, so a drain under a second means
// the phones pushed again before the server said they might (the simulator's
// own backoff is capped at 100 ms). The 2,000-phone storm against the real
// server is in BENCHMARKS.md.
func Test23_MarketCloseStorm_DrainsAndReportsIt(t *testing.T) {
	for _, status := range []int{429, 503} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			srv := clienttest.New(t)
			srv.Lock()
			if status == 429 {
				srv.Answer429 = 5
			} else {
				srv.Answer503 = 5
			}
			srv.RetryAfter = "1"
			srv.Unlock()
			dir := t.TempDir()
			jsonPath := filepath.Join(dir, "sum.json")
			code, _ := runSim(t, "--server", srv.URL, "--phones", "12", "--events-per-phone", "10", "--rate", "0",
				"--storm", "300ms", "--json", jsonPath)
			if code != 0 {
				t.Fatalf("exit %d, want 0", code)
			}
			sum := readSummary(t, jsonPath)
			if !sum.Verified || sum.RateLimited+sum.Unavailable != 5 || (status == 429) != (sum.RateLimited == 5) || sum.Refused != 0 {
				t.Fatalf("summary: %+v", sum)
			}
			if sum.DrainSeconds < 1 {
				t.Fatalf("drained %.2f s after reconnecting, with %d answers saying Retry-After: 1: the phones did not wait", sum.DrainSeconds, status)
			}
		})
	}
}

func TestSim_IngestMode_ReportsThroughputAndVerifies(t *testing.T) {
	srv := clienttest.New(t)
	code, out := runSim(t, "--server", srv.URL, "--mode", "ingest", "--phones", "6", "--events-per-phone", "120", "--batch", "50")
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	// 120 events in 50-event batches: 3 pushes a phone, plus the day.close.
	if !strings.Contains(out, "720 events in 18 push requests") || !strings.Contains(out, "verify       OK") {
		t.Fatalf("output:\n%s", out)
	}
}

// --wire builds every body first and then sends them as fast as the server
// answers: the run verifies, counts every event applied, and reports the
// driver's own CPU over the window.
func TestSim_IngestWire_VerifiesAndReportsDriverCPU(t *testing.T) {
	srv := clienttest.New(t)
	jsonPath := filepath.Join(t.TempDir(), "sum.json")
	code, out := runSim(t, "--server", srv.URL, "--mode", "ingest", "--wire", "--phones", "6", "--events-per-phone", "120",
		"--batch", "50", "--json", jsonPath)
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	sum := readSummary(t, jsonPath)
	if !sum.Verified || sum.EventsAcked < 720 || sum.Applied != sum.EventsAcked || sum.DriverCPUMs <= 0 {
		t.Fatalf("summary: %+v", sum)
	}
	if !strings.Contains(out, "driver       this simulator used") {
		t.Errorf("output lacks the driver's CPU:\n%s", out)
	}
}

// A server whose totals disagree with the phones makes the run fail.
func TestSim_TotalsMismatch_ExitsNonZero(t *testing.T) {
	srv := clienttest.New(t)
	up, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(up)
	rp.ModifyResponse = func(res *http.Response) error {
		if res.Request.URL.Path != "/v1/sync/totals" {
			return nil
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		raw = bytes.Replace(raw, []byte(`"voids":{"count":0`), []byte(`"voids":{"count":1`), 1)
		res.Body = io.NopCloser(bytes.NewReader(raw))
		res.ContentLength = int64(len(raw))
		res.Header.Set("Content-Length", strconv.Itoa(len(raw)))
		return nil
	}
	bad := httptest.NewServer(rp)
	defer bad.Close()
	code, out := runSim(t, "--server", bad.URL, "--phones", "2", "--events-per-phone", "5", "--rate", "0", "--voids", "0")
	if code != 1 || !strings.Contains(out, "MISMATCH") {
		t.Fatalf("exit %d, want 1 with a mismatch:\n%s", code, out)
	}
}

func TestSim_BadFlags_ExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"--mode", "party"}, {"--batch", "501"}, {"--loss", "1.5"}, {"--days", "0"},
	} {
		var out bytes.Buffer
		if code := run(context.Background(), append([]string{"--password", "x"}, args...), &out, &out); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	var out bytes.Buffer
	t.Setenv("CHOSO_SIM_PASSWORD", "")
	if code := run(context.Background(), nil, &out, &out); code != 2 || !strings.Contains(out.String(), "password") {
		t.Errorf("no password: exit %d, %s", code, out.String())
	}
}

func TestPercentile_NearestRank(t *testing.T) {
	v := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tt := range []struct {
		p    float64
		want int64
	}{{50, 5}, {95, 10}, {99, 10}, {10, 1}, {0, 1}} {
		if got := percentile(v, tt.p); got != tt.want {
			t.Errorf("p%v: got %d, want %d", tt.p, got, tt.want)
		}
	}
	if percentile(nil, 99) != 0 {
		t.Error("empty: want 0")
	}
	// The nearest rank is ⌈p·n/100⌉, not p·n/100 rounded: of 160 values,
	// the 99th percentile is the 159th (158.4 rounds down to the 158th,
	// which two values of 160, 1.25 %, exceed).
	v = make([]int64, 160)
	for i := range v {
		v[i] = int64(i + 1)
	}
	for _, tt := range []struct {
		p    float64
		want int64
	}{{99, 159}, {50, 80}, {95, 152}, {100, 160}} {
		if got := percentile(v, tt.p); got != tt.want {
			t.Errorf("160 values, p%v: got %d, want %d", tt.p, got, tt.want)
		}
	}
}

func TestNetwork_LostAnswerWasApplied_CutPushWasNot(t *testing.T) {
	srv := clienttest.New(t)
	for _, tt := range []struct {
		name              string
		loss, cut         float64
		wantApplied       uint64
		wantLost, wantCut int64
	}{
		{"loss", 1, 0, 1, 1, 0},
		{"cut", 0, 1, 0, 0, 1},
	} {
		n, err := startNetwork(srv.URL, tt.loss, tt.cut)
		if err != nil {
			t.Fatal(err)
		}
		_, base := n.addPhone()
		p := &phone{i: 0, dir: t.TempDir(), url: base, clk: newSimClock("t", 0)}
		p.opts.ReconnectJitterMs = -1
		if err := p.open(base); err != nil {
			t.Fatal(err)
		}
		stall := srv.NewStall()
		if err := p.client().Enroll(srv.EnrollmentCode(stall)); err != nil {
			t.Fatal(err)
		}
		before := srv.EventsApplied()
		p.sell(0)
		r, _ := p.client().PushOnce()
		if r.Outcome != "network" || srv.EventsApplied()-before != tt.wantApplied || n.Lost.Load() != tt.wantLost || n.Cut.Load() != tt.wantCut {
			t.Errorf("%s: outcome %s, applied %d, lost %d, cut %d", tt.name, r.Outcome, srv.EventsApplied()-before, n.Lost.Load(), n.Cut.Load())
		}
		p.client().Close()
		n.close()
	}
}

// The real server: built from this module, started by --spawn.
var (
	buildOnce sync.Once
	chosoBin  string
	buildErr  error
)

func realServer(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the real server")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "choso-sim-bin-")
		if err != nil {
			buildErr = err
			return
		}
		chosoBin = filepath.Join(dir, "choso")
		out, err := exec.Command("go", "build", "-o", chosoBin, "../choso").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("go build ../choso: %s", out)
		}
	})
	if buildErr != nil {
		t.Skipf("the server does not build yet: %v", buildErr)
	}
	return chosoBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if chosoBin != "" {
		os.RemoveAll(filepath.Dir(chosoBin))
	}
	os.Exit(code)
}

func TestSim_RealServer_FlakyDayVerifies(t *testing.T) {
	bin := realServer(t)
	code, out := runSim(t, "--spawn", bin, "--phones", "8", "--events-per-phone", "20", "--rate", "100",
		"--loss", "0.15", "--cut", "0.05", "--offline", "0.5", "--offline-for", "50ms", "--skew", "0.5", "--reinstall", "0.25", "--voids", "0.1")
	if code != 0 || !strings.Contains(out, "verify       OK") {
		t.Fatalf("exit %d, want 0 and a verified run", code)
	}
	if !strings.Contains(out, "store check  ") || !strings.Contains(out, "events agree") {
		t.Errorf("the spawned server's store was not checked event by event:\n%s", out)
	}
}

// A spawned server's store is checked event by event at the end (the
// totals the phones are compared with are running sums); a store that
// fails the check fails the run, whatever the totals said (verify.go).
func TestSpawned_CheckEvents_ChecksTheServersStoreAndReportsAFailure(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "choso")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"$@\"\necho 'event 7: no entry in the QR-sale index'\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	close(done)
	srv := &spawned{cmd: &exec.Cmd{}, bin: fake, extra: []string{"--store", "bolt:/x/y.db"}, dir: dir, done: done}
	out, err := srv.checkEvents(context.Background())
	if err == nil {
		t.Fatalf("a check that exits 1: got no error (output %q)", out)
	}
	if !strings.Contains(out, "check --events --data "+dir+" --store bolt:/x/y.db") || !strings.Contains(out, "QR-sale index") {
		t.Errorf("check output %q: want the arguments (the server's data and store) and the problem", out)
	}
}

func TestSim_RealServer_IngestVerifies(t *testing.T) {
	bin := realServer(t)
	code, out := runSim(t, "--spawn", bin, "--mode", "ingest", "--phones", "8", "--events-per-phone", "100", "--batch", "50")
	if code != 0 || !strings.Contains(out, "verify       OK") {
		t.Fatalf("exit %d, want 0 and a verified run", code)
	}
}

// Ingest mode spreads phones over several nodes; the first is the one the
// simulator signs in to. Other modes take one server.
func TestParseFlags_Servers(t *testing.T) {
	c, err := parseFlags([]string{"--mode", "ingest", "--password", "pw", "--server", "http://a:1,http://b:2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.server != "http://a:1" || len(c.servers) != 2 || c.servers[1] != "http://b:2" {
		t.Fatalf("server %q, servers %q", c.server, c.servers)
	}
	if _, err := parseFlags([]string{"--password", "pw", "--server", "http://a:1,http://b:2"}, io.Discard); err == nil {
		t.Fatal("sim mode took two servers")
	}
}

// --wire against the real server also reports the server's CPU over the
// window, from its /metrics: the figure bench/sync.sh compares builds by.
func TestSim_RealServer_IngestWireReportsServerCPU(t *testing.T) {
	bin := realServer(t)
	jsonPath := filepath.Join(t.TempDir(), "sum.json")
	code, out := runSim(t, "--spawn", bin, "--mode", "ingest", "--wire", "--phones", "8", "--events-per-phone", "500", "--batch", "50",
		"--json", jsonPath)
	if code != 0 || !strings.Contains(out, "verify       OK") {
		t.Fatalf("exit %d, want 0 and a verified run", code)
	}
	// 4,000 events are tens of milliseconds of the server's CPU: several
	// of the 10 ms steps the figure comes in.
	sum := readSummary(t, jsonPath)
	if sum.ServerCPUMs == nil || *sum.ServerCPUMs <= 0 || !strings.Contains(out, "server       used") {
		t.Fatalf("server CPU: %v in %s", sum.ServerCPUMs, out)
	}
	// And its own push latency, from its histogram: bounds of buckets, so
	// positive, the median's no more than the 99th percentile's.
	if sum.ServerP50Ms == nil || sum.ServerP99Ms == nil || *sum.ServerP50Ms <= 0 || *sum.ServerP50Ms > *sum.ServerP99Ms ||
		!strings.Contains(out, "server       answered pushes p50 ≤") {
		t.Fatalf("server latency: p50 %v, p99 %v in %s", sum.ServerP50Ms, sum.ServerP99Ms, out)
	}
}

// refusingServer is srv behind a proxy that makes the server refuse the
// first event of the first n pushes: it turns the event's "v":1 into an
// unknown version on the way. The phones recorded valid sales; the server
// does not have them.
func refusingServer(t *testing.T, srv *clienttest.Server, n int64) string {
	t.Helper()
	up, _ := url.Parse(srv.URL)
	left := atomic.Int64{}
	left.Store(n)
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(up)
		if r.In.URL.Path != "/v1/sync/push" || left.Add(-1) < 0 {
			return
		}
		raw, _ := io.ReadAll(r.Out.Body)
		r.Out.Body.Close()
		if r.Out.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Error(err)
				return
			}
			raw, _ = io.ReadAll(zr)
		}
		raw = bytes.Replace(raw, []byte(`"v":1`), []byte(`"v":9`), 1)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(raw)
		zw.Close()
		r.Out.Header.Set("Content-Encoding", "gzip")
		r.Out.Body = io.NopCloser(bytes.NewReader(gz.Bytes()))
		r.Out.ContentLength = int64(gz.Len())
		r.Out.Header.Set("Content-Length", strconv.Itoa(gz.Len()))
	}}
	front := httptest.NewServer(rp)
	t.Cleanup(front.Close)
	return front.URL
}

// A server that refuses valid sales does not have them: the run must not
// verify. The phones' own tallies drop a sale the server rejects, so
// comparing with them alone would call this server's totals equal.
func TestSim_RejectedValidSales_DoNotVerify(t *testing.T) {
	for _, mode := range [][]string{
		{"--mode", "ingest"},
		{"--rate", "0"},
	} {
		srv := clienttest.New(t)
		jsonPath := filepath.Join(t.TempDir(), "sum.json")
		args := append([]string{"--server", refusingServer(t, srv, 2), "--phones", "3", "--events-per-phone", "20",
			"--voids", "0", "--json", jsonPath}, mode...)
		code, out := runSim(t, args...)
		sum := readSummary(t, jsonPath)
		if sum.Rejected == 0 {
			t.Fatalf("%v: the proxy made the server reject nothing; the test proves nothing:\n%s", mode, out)
		}
		if code != 1 || sum.Verified {
			t.Errorf("%v: %d valid sales rejected, yet exit %d, verified %v:\n%s", mode, sum.Rejected, code, sum.Verified, out)
		}
	}
}

// --wire counts as acked only the events the server consumed: applied,
// duplicate or rejected, not those it answered not_processed (after a
// gap), which it did not take and which must not count in events/s.
func TestSim_IngestWire_NotProcessedIsNotAcked(t *testing.T) {
	srv := clienttest.New(t)
	srv.Lock()
	srv.GapNext = 1
	srv.Unlock()
	jsonPath := filepath.Join(t.TempDir(), "sum.json")
	code, out := runSim(t, "--server", srv.URL, "--mode", "ingest", "--wire", "--phones", "3", "--events-per-phone", "100",
		"--batch", "50", "--json", jsonPath)
	sum := readSummary(t, jsonPath)
	if consumed := sum.Applied + sum.Duplicates + sum.Rejected; sum.EventsAcked != consumed || consumed == 300 {
		t.Errorf("%d events acked, but the server consumed %d of the 300 sent:\n%s", sum.EventsAcked, consumed, out)
	}
	if code != 1 || sum.Verified {
		t.Errorf("a phone's events were not processed, yet exit %d, verified %v", code, sum.Verified)
	}
}

// A push the phone gave up on took at least its timeout: the latency
// figures must count it, or a server that answers late looks fast.
//
// The timeout is every request's (enrollment, pushes, the totals read at
// the end), so it is one no answer of a loaded machine comes near; the
// slow push is held until the phone has given up on it, however long
// that takes, rather than for a fixed time that must outlast the timeout.
func TestSim_TimedOutPushes_CountInTheLatency(t *testing.T) {
	const timeoutMs = 2000
	srv := clienttest.New(t)
	up, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(up)
	var slow atomic.Int64
	slow.Store(1)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/sync/push" && slow.Add(-1) >= 0 {
			// Held past the phone's timeout, till it hangs up (which the
			// server sees once the body is read); nothing applied.
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute): // a hang detector: the phone never gave up
			}
			http.Error(w, "late", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer front.Close()
	jsonPath := filepath.Join(t.TempDir(), "sum.json")
	code, out := runSim(t, "--server", front.URL, "--mode", "ingest", "--phones", "2", "--events-per-phone", "20",
		"--timeout", strconv.Itoa(timeoutMs)+"ms", "--json", jsonPath)
	sum := readSummary(t, jsonPath)
	if code != 0 || sum.Timeouts != 1 {
		t.Fatalf("exit %d, %d timeouts, want 0 and 1:\n%s", code, sum.Timeouts, out)
	}
	if sum.MaxMs < timeoutMs || sum.P99Ms < timeoutMs {
		t.Errorf("a push timed out after %d ms, yet p99 %.1f ms, max %.1f ms", timeoutMs, sum.P99Ms, sum.MaxMs)
	}
}
