package server

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	chosync "github.com/choso/choso/sync"
)

// observePush counts every result under its status, code and time
// quality, however many kinds one push holds.
func TestObservePush_CountsEveryResultByKind(t *testing.T) {
	m := NewMetrics()
	var results []chosync.Result
	add := func(n int, r chosync.Result) {
		for range n {
			results = append(results, r)
		}
	}
	add(40, chosync.Result{Status: "applied", TimeQuality: "good"})
	add(3, chosync.Result{Status: "applied", TimeQuality: "suspect"})
	add(2, chosync.Result{Status: "duplicate"})
	add(2, chosync.Result{Status: "rejected", Code: "invalid_amount"})
	add(1, chosync.Result{Status: "rejected", Code: "invalid_id"}) // a fifth kind
	add(2, chosync.Result{Status: "not_processed"})                // a sixth
	m.observePush(len(results), &chosync.PushResponse{Results: results, Gap: &chosync.Gap{Expected: 1, Received: 3}})
	m.observePush(1, &chosync.PushResponse{Results: []chosync.Result{{Status: "applied", TimeQuality: "good"}}})

	for _, tc := range []struct {
		status, code, quality string
		want                  float64
	}{
		{"applied", "", "good", 41}, {"applied", "", "suspect", 3}, {"duplicate", "", "", 2},
		{"rejected", "invalid_amount", "", 2}, {"rejected", "invalid_id", "", 1}, {"not_processed", "", "", 2},
	} {
		if got := testutil.ToFloat64(m.results.WithLabelValues(tc.status, tc.code, tc.quality)); got != tc.want {
			t.Errorf("%s %s %s: %v, want %v", tc.status, tc.code, tc.quality, got, tc.want)
		}
	}
	if got := testutil.CollectAndCount(m.results); got != 6 {
		t.Errorf("%d series, want 6", got)
	}
	if got := testutil.ToFloat64(m.gaps); got != 1 {
		t.Errorf("gaps %v, want 1", got)
	}
}
