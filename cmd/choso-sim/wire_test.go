package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestWireConn_AnswersAcrossClosedConnections: the hand-driven connection
// reads answers of either framing (a length, or chunks for a body written
// in parts) and goes on after the server closes it, whether the server
// said so in its answer or closed it silently while it sat idle.
func TestWireConn_AnswersAcrossClosedConnections(t *testing.T) {
	var requests, conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Path != "/base/v1/sync/push" || string(body) != fmt.Sprint("body-", n) {
			http.Error(w, fmt.Sprintf("request %d: got %s %s %q", n, r.Header.Get("Authorization"), r.URL.Path, body), http.StatusBadRequest)
			return
		}
		switch n % 3 {
		case 0: // says it closes the connection
			w.Header().Set("Connection", "close")
			fmt.Fprintf(w, "answer-%d", n)
		case 1: // chunked: written in parts with a flush between
			fmt.Fprint(w, "answer-")
			w.(http.Flusher).Flush()
			fmt.Fprint(w, n)
		default:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "answer-%d", n)
		}
	}))
	// The idle close is the test's, not an IdleTimeout's: a timeout short
	// enough to wait out would also close the connection between other
	// requests whenever a loaded machine paused the client, and a sleep
	// past it need not see the server's close done.
	var mu sync.Mutex
	idle := map[net.Conn]bool{}
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		if s == http.StateNew {
			conns.Add(1)
		}
		idle[c] = s == http.StateIdle
	}
	srv.Start()
	defer srv.Close()

	const n = 9
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = []byte(fmt.Sprint("body-", i+1))
	}
	reqs, err := wireRequests(srv.URL+"/base/", "tok", bodies)
	if err != nil {
		t.Fatal(err)
	}
	c := &wireConn{base: srv.URL + "/base/"}
	defer c.close()
	ctx := context.Background()
	for i, req := range reqs {
		if i == 4 {
			closeIdle(t, &mu, idle) // the server closes it silently while it sits idle
		}
		status, retryAfter, err := c.send(ctx, req, 5*time.Second)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		wantStatus, wantRetry := http.StatusOK, ""
		if (i+1)%3 == 2 {
			wantStatus, wantRetry = http.StatusServiceUnavailable, "7"
		}
		if got, want := c.body.String(), fmt.Sprint("answer-", i+1); status != wantStatus || retryAfter != wantRetry || got != want {
			t.Errorf("request %d: got %d, Retry-After %q, body %q; want %d, %q, %q", i+1, status, retryAfter, got, wantStatus, wantRetry, want)
		}
	}
	if got := requests.Load(); got != n {
		t.Errorf("requests the server saw: got %d, want %d (each sent once)", got, n)
	}
	// One at the start, one after each of the three closes the server
	// announced (the third is the last request's), one after the idle close.
	if got := conns.Load(); got < 4 || got > 5 {
		t.Errorf("connections: got %d, want 4 or 5", got)
	}
}

// closeIdle waits for the server's one connection to go idle, and closes
// it without a word.
func closeIdle(t *testing.T, mu *sync.Mutex, idle map[net.Conn]bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		var open []net.Conn
		for c, isIdle := range idle {
			if isIdle {
				open = append(open, c)
			}
		}
		mu.Unlock()
		if len(open) == 1 {
			open[0].Close()
			return
		}
		if len(open) > 1 || time.Now().After(deadline) {
			t.Fatalf("%d idle connections, want the one the client keeps", len(open))
		}
	}
}

// TestWireRequests_WholeRequestOnTheWire: a built request is what
// net/http's server reads as the push it stands for.
func TestWireRequests_WholeRequestOnTheWire(t *testing.T) {
	reqs, err := wireRequests("http://127.0.0.1:8080", "secret", [][]byte{[]byte("gz")})
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(string(reqs[0]))))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.URL.Path != "/v1/sync/push" || r.Host != "127.0.0.1:8080" ||
		r.Header.Get("Authorization") != "Bearer secret" || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get("Content-Encoding") != "gzip" || r.ContentLength != 2 || string(body) != "gz" {
		t.Errorf("request read back: %s %s host %s headers %v length %d body %q", r.Method, r.URL, r.Host, r.Header, r.ContentLength, body)
	}
}

// TestServerMetrics_ReadsTheUnlabelledCPUTime: the server's CPU comes from
// one line of its Prometheus text; comments, labelled series and names
// that merely start the same are not it.
func TestServerMetrics_ReadsTheUnlabelledCPUTime(t *testing.T) {
	text := `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total_extra 9
process_cpu_seconds_total{mode="x"} 8
process_cpu_seconds_total 12.34
go_goroutines 40
`
	m := serverMetrics{cpuOK: true, pushes: pushHistogram{}}
	if m.read(strings.NewReader(text)); !m.cpuOK || m.cpu != 12340*time.Millisecond {
		t.Errorf("got %v, %v; want 12.34 s", m.cpu, m.cpuOK)
	}
	m = serverMetrics{cpuOK: true, pushes: pushHistogram{}}
	if m.read(strings.NewReader("go_goroutines 40\n")); m.cpuOK {
		t.Error("found a metric that is not there")
	}
}
