package server

import (
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"
)

// TestSlowHeaders_ServerKeepsAnswering opens 200 connections that send half
// a request header and hang (slowloris, OWASP API4). /healthz must keep
// answering while they hang, and the server must cut them off at its
// ReadHeaderTimeout. The latencies go to the log (-v) for BENCHMARKS.md;
// the only bound asserted is a generous timeout, since the machine is shared.
func TestSlowHeaders_ServerKeepsAnswering(t *testing.T) {
	const slow, headerTimeout = 200, 2 * time.Second
	ts := newTestServer(t, func(cfg *Config) { cfg.ReadHeaderTimeout = headerTimeout })
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range slow {
		c, err := net.Dial("tcp", ts.Server.Addr())
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: choso\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	opened := time.Now()

	client := &http.Client{Timeout: 10 * time.Second}
	var lat []time.Duration
	for range 50 {
		start := time.Now()
		res, err := client.Get(ts.URL + "/healthz")
		if err != nil {
			t.Fatalf("/healthz while %d clients hang: %v", slow, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("/healthz: %d", res.StatusCode)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	t.Logf("/healthz with %d slow-header clients hanging: p50 %v, p99 %v, max %v (50 requests)", slow, lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])

	// Past the header timeout every slow connection is closed by the server.
	time.Sleep(max(0, headerTimeout+time.Second-time.Since(opened)))
	closed := 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := io.ReadAll(c)
		var ne net.Error
		if err == nil || !(errors.As(err, &ne) && ne.Timeout()) {
			closed++ // EOF, a reset, or a 408 followed by EOF: the server hung up
		}
	}
	if closed != slow {
		t.Errorf("%d of %d slow connections are still open after the header timeout", slow-closed, slow)
	}
}
