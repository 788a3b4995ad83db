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
)

// pushHistogram is the server's histogram of push request durations, from
// its /metrics (choso_http_request_duration_seconds of POST /v1/sync/push,
// all statuses): the count at or under each bucket's upper bound, in
// seconds, summed over the servers.
type pushHistogram map[float64]float64

const pushBucketPrefix = `choso_http_request_duration_seconds_bucket{`

// scrapePushHistogram reads the push histogram of every server at bases.
func scrapePushHistogram(ctx context.Context, bases []string) (pushHistogram, bool) {
	h := pushHistogram{}
	for _, base := range bases {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/metrics", nil)
		if err != nil {
			return nil, false
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, false
		}
		// A server that has answered no push yet has no push buckets:
		// its counts are zero.
		h.read(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return nil, false
		}
	}
	return h, true
}

// read adds the push buckets of a Prometheus text exposition to h, and
// reports whether it found them.
func (h pushHistogram) read(r io.Reader) bool {
	found := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), pushBucketPrefix)
		if !ok || !strings.Contains(line, `method="POST"`) || !strings.Contains(line, `route="/v1/sync/push"`) {
			continue
		}
		labels, value, ok := strings.Cut(line, "} ")
		if !ok {
			continue
		}
		_, le, ok := strings.Cut(labels, `le="`)
		if !ok {
			continue
		}
		le, _, _ = strings.Cut(le, `"`)
		bound, err1 := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
		n, err2 := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err1 != nil || err2 != nil {
			continue
		}
		h[bound] += n
		found = true
	}
	return found
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
