package main

import (
	"fmt"
	"strings"
	"testing"
)

// exposition is /metrics as a choso server writes it, cut to what matters:
// the push buckets of two statuses, and another route's to leave out.
// counts are the 200s' cumulative counts at 5 ms, 50 ms and +Inf.
func exposition(ok [3]int, busy [3]int) string {
	var b strings.Builder
	b.WriteString("# HELP choso_http_request_duration_seconds Time ...\n")
	for i, le := range []string{"0.005", "0.05", "+Inf"} {
		fmt.Fprintf(&b, "choso_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/sync/push\",status=\"200\",le=%q} %d\n", le, ok[i])
		fmt.Fprintf(&b, "choso_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/sync/push\",status=\"503\",le=%q} %d\n", le, busy[i])
		fmt.Fprintf(&b, "choso_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/markets\",status=\"200\",le=%q} %d\n", le, 1000)
	}
	b.WriteString("choso_http_request_duration_seconds_sum{method=\"POST\",route=\"/v1/sync/push\",status=\"200\"} 3.5\n")
	return b.String()
}

func histogram(t *testing.T, text string) pushHistogram {
	t.Helper()
	m := serverMetrics{pushes: pushHistogram{}}
	if m.read(strings.NewReader(text)); len(m.pushes) == 0 {
		t.Fatalf("no push buckets in\n%s", text)
	}
	return m.pushes
}

// The bounds come from the pushes counted between two scrapes, of every
// status, and not from other routes.
func TestQuantileBound_OfThePushesBetweenTwoScrapes(t *testing.T) {
	before := histogram(t, exposition([3]int{50, 60, 60}, [3]int{0, 0, 0}))
	// Since: 100 pushes, 80 under 5 ms, 98 under 50 ms (18 of them 503s), 2 slower.
	after := histogram(t, exposition([3]int{130, 140, 142}, [3]int{0, 18, 18}))
	for _, tc := range []struct {
		q    float64
		want float64
		ok   bool
	}{
		{0.5, 5, true}, {0.8, 5, true}, {0.81, 50, true}, {0.98, 50, true}, {0.99, 0, false}, // past 50 ms: no bound
	} {
		got, ok := quantileBound(before, after, tc.q)
		if ok != tc.ok || got != tc.want {
			t.Errorf("quantile %.2f: %g ms, %v; want %g ms, %v", tc.q, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := quantileBound(after, after, 0.5); ok {
		t.Error("a bound with no push counted between the scrapes")
	}
	// A server that had answered no push at the first scrape.
	if got, ok := quantileBound(pushHistogram{}, after, 0.5); !ok || got != 5 {
		t.Errorf("from no buckets: median %g ms, %v; want 5 ms", got, ok)
	}
}

func TestPushHistogram_NeedsThePushBuckets(t *testing.T) {
	m := serverMetrics{pushes: pushHistogram{}}
	if m.read(strings.NewReader("go_goroutines 40\nprocess_cpu_seconds_total 1.5\n")); len(m.pushes) != 0 {
		t.Error("read found push buckets in an exposition without them")
	}
}
