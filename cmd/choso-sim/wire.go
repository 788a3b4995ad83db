package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
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
func wireBodies(c *client.Client, batch int) ([][]byte, int, error) {
	raw, err := c.PendingEvents(0)
	if err != nil {
		return nil, 0, err
	}
	var events []json.RawMessage
	if err := json.Unmarshal(raw, &events); err != nil {
		return nil, 0, err
	}
	var bodies [][]byte
	for i := 0; i < len(events); i += batch {
		chunk := events[i:min(i+batch, len(events))]
		b, err := json.Marshal(wireRequest{Protocol: chosync.ProtocolVersion, AppVersion: "choso-sim-wire",
			Client: chosync.ClientState{WallMs: time.Now().UnixMilli(), PendingCount: len(events) - i}, Events: chunk})
		if err != nil {
			return nil, 0, err
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
		zw.Write(b)
		zw.Close()
		bodies = append(bodies, gz.Bytes())
	}
	return bodies, len(events), nil
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

// wirePush sends one phone's bodies in order, one in flight, and records
// each answer in the stats. A 429 or 503 is waited out and resent.
func (s *sim) wirePush(ctx context.Context, hc *http.Client, base, token string, bodies [][]byte, n int) error {
	for i := 0; i < len(bodies); {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/sync/push", bytes.NewReader(bodies[i]))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", "gzip")
		t0 := time.Now()
		res, err := hc.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		lat := time.Since(t0)
		r := &client.PushResult{HTTPStatus: res.StatusCode, LatencyUs: lat.Microseconds(), BodyBytes: len(bodies[i])}
		switch res.StatusCode {
		case http.StatusOK:
			var out wireAnswer
			if err := jsonv2.Unmarshal(b, &out); err != nil {
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
			r.Sent, r.Acked = len(out.Results), len(out.Results)
			i++
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			wait, _ := strconv.Atoi(res.Header.Get("Retry-After"))
			r.Outcome = client.OutcomeUnavailable
			if res.StatusCode == http.StatusTooManyRequests {
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
			return fmt.Errorf("push: %d %s", res.StatusCode, b)
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
		token  string
		bodies [][]byte
		n      int
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
		bodies, n, err := wireBodies(p.client(), s.cfg.batch)
		if err != nil {
			return err
		}
		jobs[p.i] = job{token: tok, bodies: bodies, n: n}
		return nil
	})
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: len(s.phones)}}
	s.stats.reset()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	start, cpu0 := time.Now(), processCPU()
	for i := range jobs {
		wg.Go(func() {
			if err := s.wirePush(ctx, hc, s.phones[i].direct, jobs[i].token, jobs[i].bodies, jobs[i].n); err != nil {
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
