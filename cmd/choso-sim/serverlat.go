package main

import (
	"bufio"
	"context"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// pushHistogram is the server's histogram of push request durations, from
// its /metrics (choso_http_request_duration_seconds of POST /v1/sync/push,
// all statuses): the count at or under each bucket's upper bound, in
// seconds, summed over the servers.
type pushHistogram map[float64]float64

const pushBucketPrefix = `choso_http_request_duration_seconds_bucket{`

// serverMetrics are what the simulator reads from its servers' /metrics at
// each end of a timed window, summed over the servers.
type serverMetrics struct {
	cpu    time.Duration // process_cpu_seconds_total
	cpuOK  bool          // every server gave its CPU time
	pushes pushHistogram
}

// scrapeWindow scrapes the servers' /metrics at the start of a timed window
// and returns what scrapes them again at its end and records the window in
// the summary (summary.serverWindow): with cpu, their CPU time too. A
// window either scrape could not read is not recorded.
func (s *sim) scrapeWindow(ctx context.Context) func(sum *summary, cpu bool) {
	before, ok := scrapeServers(ctx, s.cfg.servers)
	return func(sum *summary, cpu bool) {
		if after, ok1 := scrapeServers(ctx, s.cfg.servers); ok && ok1 {
			sum.serverWindow(before, after, cpu)
		}
	}
}

// scrapeServers reads the /metrics of every server at bases, once each, and
// reports whether every one answered.
func scrapeServers(ctx context.Context, bases []string) (serverMetrics, bool) {
	m := serverMetrics{cpuOK: true, pushes: pushHistogram{}}
	for _, base := range bases {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/metrics", nil)
		if err != nil {
			return m, false
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return m, false
		}
		m.read(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return m, false
		}
	}
	return m, true
}

// read adds one server's Prometheus text exposition to m: its CPU time (the
// unlabelled process_cpu_seconds_total) and its push buckets. A server
// that has answered no push yet has no push buckets: its counts are zero.
func (m *serverMetrics) read(r io.Reader) {
	const cpuName = "process_cpu_seconds_total "
	cpuFound := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, cpuName); ok {
			if secs, err := strconv.ParseFloat(strings.TrimSpace(rest), 64); err == nil {
				m.cpu += time.Duration(secs * float64(time.Second))
				cpuFound = true
			}
			continue
		}
		m.pushes.addLine(line)
	}
	m.cpuOK = m.cpuOK && cpuFound
}

// addLine adds a line of an exposition to h if it is a push bucket.
func (h pushHistogram) addLine(line string) {
	line, ok := strings.CutPrefix(line, pushBucketPrefix)
	if !ok || !strings.Contains(line, `method="POST"`) || !strings.Contains(line, `route="/v1/sync/push"`) {
		return
	}
	labels, value, ok := strings.Cut(line, "} ")
	if !ok {
		return
	}
	_, le, ok := strings.Cut(labels, `le="`)
	if !ok {
		return
	}
	le, _, _ = strings.Cut(le, `"`)
	bound, err1 := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
	n, err2 := strconv.ParseFloat(strings.TrimSpace(value), 64)
	if err1 == nil && err2 == nil {
		h[bound] += n
	}
}

// quantileBound returns the upper bound, in milliseconds, of the bucket
// holding quantile q of the pushes counted between before and after: the
// server answered at least a fraction q of them within it. It reports
// false when no push was counted, or the quantile is past the last finite
// bucket. A bucket missing from before counted nothing yet.
func quantileBound(before, after pushHistogram, q float64) (float64, bool) {
	bounds := make([]float64, 0, len(after))
	for b := range after {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	total := after[math.Inf(1)] - before[math.Inf(1)]
	if total <= 0 {
		return 0, false
	}
	for _, b := range bounds {
		if after[b]-before[b] >= q*total {
			if math.IsInf(b, 1) {
				return 0, false
			}
			return b * 1000, true
		}
	}
	return 0, false
}
