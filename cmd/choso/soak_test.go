package main

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestSoak runs choso-sim's phones against the real server for a long time
// and samples the server's /metrics: goroutines and heap must stay flat, the
// push p99 of each window stable, and at the end the simulator verifies
// every stall's totals (it exits 1 if they differ). Behind CHOSO_SOAK=1;
// CHOSO_SOAK_PHONES (default 5000) and CHOSO_SOAK_DURATION (default 30m)
// size it.
//
//	CHOSO_SOAK=1 go test ./cmd/choso -run Soak -v -timeout 2h
func TestSoak(t *testing.T) {
	if os.Getenv("CHOSO_SOAK") != "1" {
		t.Skip("soak test: set CHOSO_SOAK=1 (and CHOSO_SOAK_PHONES, CHOSO_SOAK_DURATION) to run it")
	}
	phones, duration := 5000, 30*time.Minute
	if v, err := strconv.Atoi(os.Getenv("CHOSO_SOAK_PHONES")); err == nil && v > 0 {
		phones = v
	}
	if v, err := time.ParseDuration(os.Getenv("CHOSO_SOAK_DURATION")); err == nil && v > 0 {
		duration = v
	}
	sim := filepath.Join(t.TempDir(), "choso-sim")
	if out, err := exec.Command("go", "build", "-o", sim, "../choso-sim").CombinedOutput(); err != nil {
		t.Fatalf("build choso-sim: %v\n%s", err, out)
	}
	data := t.TempDir()
	s := startServer(t, data, "--trusted-proxies", "127.0.0.1/32")
	admin := s.proc.waitLog(t, "admin created")["password"].(string)
	defer func() {
		s.proc.cmd.Process.Signal(os.Interrupt)
		s.proc.cmd.Wait()
	}()

	cmd := exec.Command(sim, "--server", s.base, "--user", "admin", "--password", admin, "--phones", strconv.Itoa(phones),
		"--rate", "0.05", "--duration", duration.String(), "--progress", "60s", "--setup-workers", "16", "--days", "2",
		"--loss", "0.01", "--offline", "0.1", "--drain-timeout", "15m")
	// The simulator's output goes on to ours; its "selling done" line ends
	// the window the flatness is judged on: after it every phone sends its
	// day.close at once, a burst no steady state has.
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	var sellingDone atomic.Bool
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			fmt.Println(sc.Text())
			if strings.Contains(sc.Text(), "selling done") {
				sellingDone.Store(true)
			}
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	type sample struct {
		at         time.Duration
		goroutines float64
		heap       float64
		p99        float64 // push p99 of the window, seconds (bucket bound)
		pushes     float64
	}
	var samples []sample
	var prev map[float64]float64
	start := time.Now()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	var simErr error
loop:
	for {
		select {
		case simErr = <-done:
			break loop
		case <-tick.C:
		}
		m, err := scrape(s.base + "/metrics")
		if err != nil {
			t.Logf("scrape: %v", err)
			continue
		}
		buckets := m.pushBuckets()
		smp := sample{at: time.Since(start).Round(time.Second), goroutines: m.value("go_goroutines"), heap: m.value("go_memstats_heap_inuse_bytes")}
		smp.p99, smp.pushes = windowP99(prev, buckets)
		prev = buckets
		// Judged: the samples of the selling, from the first pushes (the
		// phones are enrolled) to the simulator's "selling done".
		if !sellingDone.Load() && (smp.pushes > 0 || len(samples) > 0) {
			samples = append(samples, smp)
		}
		t.Logf("%6v: %5.0f goroutines, heap %6.1f MiB, %6.0f pushes, push p99 ≤ %.0f ms", smp.at, smp.goroutines, smp.heap/(1<<20), smp.pushes, smp.p99*1000)
	}
	if simErr != nil {
		t.Fatalf("choso-sim: %v (it exits 1 when the server's totals differ from the phones')", simErr)
	}
	// Flat: past the first third of the selling (warm-up: 5,000 phones
	// connecting), the last third's highest goroutine count, heap and push
	// p99 stay within 1.5× of the middle's.
	n := len(samples)
	if n < 6 {
		t.Fatalf("only %d samples: run longer", n)
	}
	mid, last := samples[n/3:2*n/3], samples[2*n/3:]
	peak := func(ss []sample, f func(sample) float64) float64 {
		m := 0.0
		for _, s := range ss {
			m = math.Max(m, f(s))
		}
		return m
	}
	for _, c := range []struct {
		name  string
		f     func(sample) float64
		slack float64 // an absolute allowance, for small figures
		unit  float64 // the log shows figures divided by unit …
		label string  // … followed by label
	}{
		{"goroutines", func(s sample) float64 { return s.goroutines }, 50, 1, ""},
		{"heap", func(s sample) float64 { return s.heap }, 8 << 20, 1 << 20, " MiB"},
		{"push p99", func(s sample) float64 { return s.p99 }, 0.25, 1e-3, " ms"},
	} {
		if a, b := peak(mid, c.f), peak(last, c.f); b > 1.5*a+c.slack {
			t.Errorf("%s grew: peak %.0f in the middle third, %.0f in the last", c.name, a, b)
		}
		t.Logf("%s: peak %.0f%s in the first third of the selling, %.0f%s in the middle, %.0f%s in the last", c.name,
			peak(samples[:n/3], c.f)/c.unit, c.label, peak(mid, c.f)/c.unit, c.label, peak(last, c.f)/c.unit, c.label)
	}
}

type metrics []metricLine

type metricLine struct {
	name, labels string
	value        float64
}

func scrape(url string) (metrics, error) {
	res, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var out metrics
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		name, labels, _ := strings.Cut(line[:sp], "{")
		out = append(out, metricLine{name: name, labels: labels, value: v})
	}
	return out, sc.Err()
}

func (m metrics) value(name string) float64 {
	for _, l := range m {
		if l.name == name {
			return l.value
		}
	}
	return 0
}

// pushBuckets sums the push latency histogram's buckets over statuses, by
// upper bound.
func (m metrics) pushBuckets() map[float64]float64 {
	out := map[float64]float64{}
	for _, l := range m {
		if l.name != "choso_http_request_duration_seconds_bucket" || !strings.Contains(l.labels, `route="/v1/sync/push"`) {
			continue
		}
		i := strings.Index(l.labels, `le="`)
		if i < 0 {
			continue
		}
		le := l.labels[i+4:]
		le = le[:strings.IndexByte(le, '"')]
		bound := math.Inf(1)
		if le != "+Inf" {
			bound, _ = strconv.ParseFloat(le, 64)
		}
		out[bound] += l.value
	}
	return out
}

// windowP99 is the upper bound of the bucket holding the 99th percentile of
// the pushes between two scrapes, and how many there were.
func windowP99(prev, cur map[float64]float64) (float64, float64) {
	var bounds []float64
	for b := range cur {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	if len(bounds) == 0 {
		return 0, 0
	}
	total := cur[bounds[len(bounds)-1]] - prev[bounds[len(bounds)-1]]
	if total <= 0 {
		return 0, 0
	}
	for _, b := range bounds {
		if cur[b]-prev[b] >= 0.99*total {
			return b, total
		}
	}
	return bounds[len(bounds)-1], total
}
