package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	chosync "github.com/choso/choso/sync"
	"github.com/choso/choso/sync/client"
)

// wireRequest is a push body built from a phone's stored events as they
// are, without decoding them.
type wireRequest struct {
	Protocol   int                 `json:"protocol"`
	AppVersion string              `json:"app_version"`
	Client     chosync.ClientState `json:"client"`
	Events     []json.RawMessage   `json:"events"`
}

// wireBodies builds a phone's push bodies, gzipped, from its outbox: the
// work a phone does before it sends, done before the timed window (as wrk
// sends a fixed body), so that the figure is the server's.
func wireBodies(c *client.Client, batch int) ([][]byte, error) {
	raw, err := c.PendingEvents(0)
	if err != nil {
		return nil, err
	}
	var events []json.RawMessage
	if err := json.Unmarshal(raw, &events); err != nil {
		return nil, err
	}
	var bodies [][]byte
	for i := 0; i < len(events); i += batch {
		chunk := events[i:min(i+batch, len(events))]
		b, err := json.Marshal(wireRequest{Protocol: chosync.ProtocolVersion, AppVersion: "choso-sim-wire",
			Client: chosync.ClientState{WallMs: time.Now().UnixMilli(), PendingCount: len(events) - i}, Events: chunk})
		if err != nil {
			return nil, err
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
		zw.Write(b)
		zw.Close()
		bodies = append(bodies, gz.Bytes())
	}
	return bodies, nil
}

// wireAnswer is the part of a push's answer the wire driver counts. The
// driver shares the server's cores, so it decodes no more than it needs,
// with JSON v2: that took its CPU over a 64-phone run from about 600 ms to
// 440. The full check is the server's totals against the phones' at the end.
type wireAnswer struct {
	Results []struct {
		Status string `json:"status"`
	} `json:"results"`
}

// wireConn is one phone's keep-alive connection to the server, written to
// and read from by hand, as wrk drives the harness's servers: each request
// is built whole before the timed window and sent in one write, and only
// the answer is parsed. net/http's client, with its two goroutines a
// connection and a request and header to build each time, cost this
// simulator 2.4× wrk's CPU a request on the cores the server shares.
type wireConn struct {
	base string
	conn net.Conn // nil after the server closed it: the next send dials again
	br   *bufio.Reader
	body bytes.Buffer // the last answer's body
}

// dial connects to the server at c.base (http or https).
func (c *wireConn) dial(ctx context.Context) error {
	u, err := url.Parse(c.base)
	if err != nil {
		return err
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	var d net.Dialer
	var conn net.Conn
	switch u.Scheme {
	case "http":
		conn, err = d.DialContext(ctx, "tcp", host)
	case "https":
		conn, err = (&tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: u.Hostname()}}).DialContext(ctx, "tcp", host)
	default:
		return fmt.Errorf("server %s: want http or https", c.base)
	}
	if err != nil {
		return err
	}
	c.conn, c.br = conn, bufio.NewReaderSize(conn, 16<<10)
	return nil
}

// close closes the connection, if open.
func (c *wireConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// wireRequests turns a phone's push bodies into whole HTTP requests.
func wireRequests(base, token string, bodies [][]byte) ([][]byte, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	reqs := make([][]byte, len(bodies))
	for i, b := range bodies {
		head := fmt.Sprintf("POST %s/v1/sync/push HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n",
			strings.TrimSuffix(u.Path, "/"), u.Host, token, len(b))
		reqs[i] = append([]byte(head), b...)
	}
	return reqs, nil
}

// send writes one request and reads its answer: the status, Retry-After,
// and the body into c.body. A connection the server closed while it sat
// idle fails on first use; send then dials again and sends once more, as
// net/http's client does (a push is safe to repeat: SYNC.md §6.5).
func (c *wireConn) send(ctx context.Context, req []byte, timeout time.Duration) (int, string, error) {
	reused := c.conn != nil
	status, retryAfter, err := c.roundTrip(ctx, req, timeout)
	if err != nil && reused {
		c.close()
		status, retryAfter, err = c.roundTrip(ctx, req, timeout)
	}
	if err != nil {
		c.close()
	}
	return status, retryAfter, err
}

// roundTrip is one request and its answer on the connection, dialled if
// closed.
func (c *wireConn) roundTrip(ctx context.Context, req []byte, timeout time.Duration) (int, string, error) {
	if c.conn == nil {
		if err := c.dial(ctx); err != nil {
			return 0, "", err
		}
	}
	c.conn.SetDeadline(time.Now().Add(timeout))
	if _, err := c.conn.Write(req); err != nil {
		return 0, "", err
	}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, "", err
	}
	c.body.Reset()
	_, err = c.body.ReadFrom(res.Body)
	res.Body.Close()
	if err != nil {
		return 0, "", err
	}
	if res.Close {
		c.close()
	}
	return res.StatusCode, res.Header.Get("Retry-After"), nil
}

// wirePush sends one phone's requests in order, one in flight, and records
// each answer in the stats. A 429 or 503 is waited out and resent.
func (s *sim) wirePush(ctx context.Context, c *wireConn, reqs [][]byte, bodyBytes []int) error {
	for i := 0; i < len(reqs); {
		t0 := time.Now()
		status, retryAfter, err := c.send(ctx, reqs[i], s.cfg.timeout)
		if err != nil {
			return err
		}
		r := &client.PushResult{HTTPStatus: status, LatencyUs: time.Since(t0).Microseconds(), BodyBytes: bodyBytes[i]}
		switch status {
		case http.StatusOK:
			var out wireAnswer
			if err := jsonv2.Unmarshal(c.body.Bytes(), &out); err != nil {
				return err
			}
			r.Outcome = client.OutcomeOK
			for _, x := range out.Results {
				switch x.Status {
				case chosync.StatusApplied:
					r.Applied++
				case chosync.StatusDuplicate:
					r.Duplicates++
				case chosync.StatusRejected:
					r.Rejected++
				}
			}
			// Acked are the events the server consumed, as the client
			// counts them: not those it answered not_processed (a gap),
			// which it did not take.
			r.Sent, r.Acked = len(out.Results), r.Applied+r.Duplicates+r.Rejected
			i++
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			wait, _ := strconv.Atoi(retryAfter)
			r.Outcome = client.OutcomeUnavailable
			if status == http.StatusTooManyRequests {
				r.Outcome = client.OutcomeRateLimited
			}
			s.stats.PushDone(r)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(max(wait, 1)) * time.Second):
			}
			continue
		default:
			return fmt.Errorf("push: %d %s", status, c.body.Bytes())
		}
		s.stats.PushDone(r)
	}
	return nil
}

// ingestWire is ingest mode with --wire: the phones' outboxes are filled and
// their push bodies built first; then 64 senders push them as fast as the
// server answers, one request in flight per phone.
func (s *sim) ingestWire(ctx context.Context) (*summary, error) {
	type job struct {
		conn      *wireConn
		reqs      [][]byte
		bodyBytes []int
	}
	jobs := make([]job, len(s.phones))
	err := s.parallel(ctx, 8, func(p *phone) error {
		for k := 0; k < s.cfg.eventsPerPhone; k++ {
			if err := p.sell(0); err != nil {
				return err
			}
		}
		tok, err := p.client().Token()
		if err != nil {
			return err
		}
		bodies, err := wireBodies(p.client(), s.cfg.batch)
		if err != nil {
			return err
		}
		reqs, err := wireRequests(p.direct, tok, bodies)
		if err != nil {
			return err
		}
		conn := &wireConn{base: p.direct}
		if err := conn.dial(ctx); err != nil {
			return err
		}
		sizes := make([]int, len(bodies))
		for k, b := range bodies {
			sizes[k] = len(b)
		}
		jobs[p.i] = job{conn: conn, reqs: reqs, bodyBytes: sizes}
		return nil
	})
	defer func() {
		for _, j := range jobs {
			if j.conn != nil {
				j.conn.close()
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	s.stats.reset()
	endWindow := s.scrapeWindow(ctx)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	start, cpu0 := time.Now(), processCPU()
	for i := range jobs {
		wg.Go(func() {
			if err := s.wirePush(ctx, jobs[i].conn, jobs[i].reqs, jobs[i].bodyBytes); err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("phone %d: %w", i, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sum := s.stats.summary("ingest-wire", len(s.phones), time.Since(start))
	sum.DriverCPUMs = float64(processCPU()-cpu0) / float64(time.Millisecond)
	endWindow(sum, true)
	if first != nil {
		return sum, first
	}
	return sum, s.verify(ctx, sum)
}

// processCPU returns the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
