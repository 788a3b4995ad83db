package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/choso/choso/sync/client"
)

// stats gathers what every phone's push loop did; it is each client's
// Observer.
type stats struct {
	mu        sync.Mutex
	latUs     []int64 // of requests the server answered or the phone gave up on
	outcomes  map[string]int
	requests  int
	sent      int
	acked     int
	applied   int
	dups      int
	rejected  int
	wireBytes int64
}

func newStats() *stats { return &stats{outcomes: map[string]int{}} }

// PushDone implements client.Observer.
func (s *stats) PushDone(r *client.PushResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.outcomes[r.Outcome]++
	s.sent += r.Sent
	s.acked += r.Acked
	s.applied += r.Applied
	s.dups += r.Duplicates
	s.rejected += r.Rejected
	s.wireBytes += int64(r.BodyBytes)
	// A push that timed out took at least its timeout: leaving it out
	// would make a server that answers late look fast. Other failures
	// without an answer (refused, cut, lost by the simulated network)
	// say nothing of the server's time.
	if r.HTTPStatus != 0 || r.Outcome == client.OutcomeTimeout {
		s.latUs = append(s.latUs, r.LatencyUs)
	}
}

// reset forgets everything (after a setup phase).
func (s *stats) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latUs, s.outcomes = nil, map[string]int{}
	s.requests, s.sent, s.acked, s.applied, s.dups, s.rejected, s.wireBytes = 0, 0, 0, 0, 0, 0, 0
}

// rejectedEvents is how many events the server has answered rejected.
func (s *stats) rejectedEvents() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

// percentile of sorted values, nearest rank: the ⌈p·n/100⌉-th smallest.
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(p*float64(len(sorted))/100)) - 1
	return sorted[max(0, min(k, len(sorted)-1))]
}

// summary is the figures a run reports.
type summary struct {
	Mode         string         `json:"mode"`
	Phones       int            `json:"phones"`
	Seconds      float64        `json:"seconds"`
	Requests     int            `json:"requests"`
	EventsAcked  int            `json:"events_acked"`
	EventsPerSec float64        `json:"events_per_sec"`
	P50Ms        float64        `json:"p50_ms"`
	P95Ms        float64        `json:"p95_ms"`
	P99Ms        float64        `json:"p99_ms"`
	MaxMs        float64        `json:"max_ms"`
	Applied      int            `json:"applied"`
	Duplicates   int            `json:"duplicates"`
	Rejected     int            `json:"rejected"`
	Outcomes     map[string]int `json:"outcomes"`
	RateLimited  int            `json:"http_429"`
	Unavailable  int            `json:"http_503"`
	Timeouts     int            `json:"timeouts"`
	Errors       int            `json:"errors"`
	WireMB       float64        `json:"wire_mb"`
	Lost         int64          `json:"answers_lost"`
	Cut          int64          `json:"requests_cut"`
	Refused      int64          `json:"offline_refusals"`
	DrainSeconds float64        `json:"drain_seconds,omitempty"`
	// DriverCPUMs is the simulator's own CPU time over the timed window
	// (--wire only): on a machine it shares with the server, what it
	// took from the server's cores.
	DriverCPUMs float64 `json:"driver_cpu_ms,omitempty"`
	// ServerCPUMs is the server's CPU time over the same window (--wire
	// only), from its /metrics (process_cpu_seconds_total, 10 ms steps),
	// summed over the servers pushed to: without the setup and the
	// verification that a whole-process figure includes. Nil when a
	// server's /metrics did not give it.
	ServerCPUMs *float64 `json:"server_cpu_ms,omitempty"`
	// ServerP50Ms and ServerP99Ms bound the server's own push latency over
	// the window: the upper bounds of the buckets of its /metrics
	// histogram holding the median and the 99th percentile. The phones'
	// figures above add the simulator's own delays (its network proxy,
	// its outboxes) on a machine it shares with the server.
	ServerP50Ms *float64 `json:"server_p50_ms_at_most,omitempty"`
	ServerP99Ms *float64 `json:"server_p99_ms_at_most,omitempty"`
	Reinstalls  int      `json:"reinstalls,omitempty"`
	Verified    bool     `json:"verified"`
	// StoreCheck is the last line of choso check --events on a spawned
	// server's store, when it passed; empty for a server not spawned.
	StoreCheck string   `json:"store_check,omitempty"`
	Mismatches []string `json:"mismatches,omitempty"`
}

func (s *stats) summary(mode string, phones int, took time.Duration) *summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	lat := slices.Clone(s.latUs)
	slices.Sort(lat)
	ms := func(us int64) float64 { return float64(us) / 1000 }
	sum := &summary{
		Mode: mode, Phones: phones, Seconds: took.Seconds(), Requests: s.requests, EventsAcked: s.acked,
		P50Ms: ms(percentile(lat, 50)), P95Ms: ms(percentile(lat, 95)), P99Ms: ms(percentile(lat, 99)),
		Applied: s.applied, Duplicates: s.dups, Rejected: s.rejected, Outcomes: map[string]int{},
		RateLimited: s.outcomes[client.OutcomeRateLimited], Unavailable: s.outcomes[client.OutcomeUnavailable],
		Timeouts: s.outcomes[client.OutcomeTimeout], WireMB: float64(s.wireBytes) / (1 << 20),
	}
	if len(lat) > 0 {
		sum.MaxMs = ms(lat[len(lat)-1])
	}
	for k, v := range s.outcomes {
		sum.Outcomes[k] = v
		switch k {
		case client.OutcomeNetwork, client.OutcomeServerError, client.OutcomeBadResponse, client.OutcomeInvalid:
			sum.Errors += v
		}
	}
	if took > 0 {
		sum.EventsPerSec = float64(s.acked) / took.Seconds()
	}
	return sum
}

func (s *summary) print(w io.Writer) {
	fmt.Fprintf(w, "mode %s: %d phones, %.1f s\n", s.Mode, s.Phones, s.Seconds)
	fmt.Fprintf(w, "  throughput   %.0f events/s acked (%d events in %d push requests, %.1f MB gzip on the wire)\n",
		s.EventsPerSec, s.EventsAcked, s.Requests, s.WireMB)
	fmt.Fprintf(w, "  push latency p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms\n", s.P50Ms, s.P95Ms, s.P99Ms, s.MaxMs)
	fmt.Fprintf(w, "  results      %d applied, %d duplicate, %d rejected\n", s.Applied, s.Duplicates, s.Rejected)
	fmt.Fprintf(w, "  answers      429: %d, 503: %d, timeouts: %d, other errors: %d\n", s.RateLimited, s.Unavailable, s.Timeouts, s.Errors)
	if s.Lost+s.Cut+s.Refused > 0 {
		fmt.Fprintf(w, "  network      %d answers lost after commit, %d pushes cut, %d requests refused offline\n", s.Lost, s.Cut, s.Refused)
	}
	if s.DrainSeconds > 0 {
		fmt.Fprintf(w, "  drain        every outbox empty %.1f s after reconnecting\n", s.DrainSeconds)
	}
	if s.DriverCPUMs > 0 {
		fmt.Fprintf(w, "  driver       this simulator used %.0f ms of CPU over the %.1f s\n", s.DriverCPUMs, s.Seconds)
	}
	if s.ServerP50Ms != nil && s.ServerP99Ms != nil {
		fmt.Fprintf(w, "  server       answered pushes p50 ≤ %g ms, p99 ≤ %g ms (its /metrics histogram)\n", *s.ServerP50Ms, *s.ServerP99Ms)
	}
	if s.ServerCPUMs != nil && s.EventsAcked > 0 {
		fmt.Fprintf(w, "  server       used %.0f ms of CPU over the same window, %.1f µs an event\n", *s.ServerCPUMs, *s.ServerCPUMs*1000/float64(s.EventsAcked))
	}
	if s.Reinstalls > 0 {
		fmt.Fprintf(w, "  reinstalls   %d phones wiped and enrolled again\n", s.Reinstalls)
	}
	keys := make([]string, 0, len(s.Outcomes))
	for k := range s.Outcomes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprintf(w, "  outcomes    ")
	for _, k := range keys {
		fmt.Fprintf(w, " %s=%d", k, s.Outcomes[k])
	}
	fmt.Fprintln(w)
	if s.Verified {
		fmt.Fprintln(w, "  verify       OK: the server's totals equal what the phones recorded")
		if s.StoreCheck != "" {
			fmt.Fprintf(w, "  store check  %s\n", s.StoreCheck)
		}
	} else {
		fmt.Fprintf(w, "  verify       MISMATCH (%d):\n", len(s.Mismatches))
		for i, m := range s.Mismatches {
			if i == 20 {
				fmt.Fprintf(w, "    … %d more\n", len(s.Mismatches)-20)
				break
			}
			fmt.Fprintln(w, "    "+m)
		}
	}
}

// serverWindow records what two scrapes of the servers' /metrics, at the
// ends of the timed window, say of it: the servers' push latency, and with
// cpu their CPU time.
func (sum *summary) serverWindow(before, after serverMetrics, cpu bool) {
	if cpu && before.cpuOK && after.cpuOK {
		ms := float64(after.cpu-before.cpu) / float64(time.Millisecond)
		sum.ServerCPUMs = &ms
	}
	p50, ok50 := quantileBound(before.pushes, after.pushes, 0.50)
	p99, ok99 := quantileBound(before.pushes, after.pushes, 0.99)
	if ok50 && ok99 {
		sum.ServerP50Ms, sum.ServerP99Ms = &p50, &p99
	}
}
