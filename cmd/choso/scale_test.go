package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/choso/choso/internal/secret"
	"github.com/choso/choso/partnerclient"
)

// TestScale measures a large store made by choso-gen (a province at full
// adoption for a year): cold startup, push latency, partner feed page and
// report latency, hot backup, offline compaction, and the file's size per
// sale. It changes the store (a partner key, a user, a few thousand pushes,
// compaction): run it on a copy. Behind CHOSO_SCALE_DATA (the store's data
// directory); figures go to the log for BENCHMARKS.md.
//
//	go run ./cmd/choso-gen --data /tmp/big --stalls 50000 --events 10000000
//	CHOSO_SCALE_DATA=/tmp/big go test ./cmd/choso -run TestScale -v -timeout 2h
func TestScale(t *testing.T) {
	data := os.Getenv("CHOSO_SCALE_DATA")
	if data == "" {
		t.Skip("set CHOSO_SCALE_DATA to a store made by choso-gen to measure it")
	}
	dbPath := filepath.Join(data, "choso.db")
	before := fileSize(t, dbPath)

	// A partner key and a volunteer of one commune, on the stopped store.
	out, stderr, code := runCLI(t, "partner", "add", "Ngân hàng đo tải", "--province", "24", "--data", data)
	if code != 0 {
		t.Fatalf("partner add: %s", stderr)
	}
	var key struct {
		PartnerID string `json:"partner_id"`
		KeyID     string `json:"key_id"`
		Secret    string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(out), &key); err != nil {
		t.Fatalf("partner add: %v: %s", err, out)
	}

	// Cold start: the page cache dropped when we may, exec to /healthz 200.
	if os.Geteuid() == 0 {
		exec.Command("sync").Run()
		os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0o200)
	}
	start := time.Now()
	s := startServer(t, data, "--push-limit", "off")
	for {
		res, err := http.Get(s.base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("store %d bytes (%.2f GiB); cold start exec → /healthz 200: %v", before, float64(before)/(1<<30), time.Since(start).Round(time.Millisecond))
	admin := s.proc.waitLog(t, "admin created")["password"].(string)
	var login struct{ Token string }
	if code := s.call("POST", "/v1/auth/login", "", map[string]string{"username": "admin", "password": admin}, &login); code != 200 {
		t.Fatalf("login: %d", code)
	}

	// Push latency: 8 phones of existing stalls push 50-sale batches for 30 s.
	var phones []*e2ePhone
	for i := range 8 { // the enrollment limit allows ten at once from one address
		stall := fmt.Sprintf("stl_%026d", i*61) // stalls of several markets
		var enr struct{ Code string }
		if code := s.call("POST", "/v1/stalls/"+stall+"/enrollments", login.Token, nil, &enr); code != 201 {
			t.Fatalf("enrollment of %s: %d", stall, code)
		}
		var dev struct{ Token, StallID string }
		if code := s.call("POST", "/v1/devices/enroll", "", map[string]string{"code": enr.Code}, &dev); code != 201 {
			t.Fatalf("enroll: %d", code)
		}
		phones = append(phones, &e2ePhone{token: dev.Token, stallID: dev.StallID})
	}
	lat, n := pushFor(phones, s.base, 30*time.Second)
	t.Logf("push on the big store: 8 phones, 50-sale batches, 30 s: %d pushes, %.0f sales/s, latency %s", len(lat), float64(n)/30, quantiles(lat))

	// Feed pages of 500 at random cursors.
	master, err := secret.MasterKey(data, "")
	if err != nil {
		t.Fatal(err)
	}
	bank, err := partnerclient.New(s.base, key.KeyID, []byte(key.Secret), partnerclient.WithRetries(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := bank.Changes(ctx, "", 500)
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	if len(first.Data) > 0 {
		// The newest change seq: read the tail from a cursor past the end.
		for lo, hi := uint64(0), uint64(1)<<40; lo < hi; {
			mid := (lo + hi + 1) / 2
			page, err := bank.Changes(ctx, scaleCursor(master, key.PartnerID, mid), 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Data) > 0 {
				lo = mid
			} else {
				hi = mid - 1
			}
			last = lo + 1
		}
	}
	var feed []time.Duration
	for range 200 {
		time.Sleep(60 * time.Millisecond) // under the key's rate limit (20 a second): measure pages, not waits
		c := scaleCursor(master, key.PartnerID, mrand.Uint64N(max(last, 1)))
		t0 := time.Now()
		page, err := bank.Changes(ctx, c, 500)
		if err != nil {
			t.Fatal(err)
		}
		feed = append(feed, time.Since(t0))
		if len(page.Data) == 0 && last > 500 {
			t.Errorf("an empty page inside the feed")
		}
	}
	t.Logf("feed: about %d changes; 200 pages of 500 at random cursors: %s", last, quantiles(feed))

	// Reports: the whole province over the year and over a month, and one
	// commune's month.
	for _, r := range []struct{ name, path string }{
		{"province, a month, by market", "/v1/reports/markets?from=2026-10-27&to=2026-11-26"},
		{"province, a month, by commune", "/v1/reports/communes?from=2026-10-27&to=2026-11-26"},
		{"one commune, a month", "/v1/reports/markets?commune=90000&from=2026-10-27&to=2026-11-26"},
		{"province, the year, by province", "/v1/reports/provinces?from=2025-11-27&to=2026-11-26"},
	} {
		var d []time.Duration
		for range 3 {
			t0 := time.Now()
			if code := s.call("GET", r.path, login.Token, nil, nil); code != 200 {
				t.Fatalf("%s: %d", r.path, code)
			}
			d = append(d, time.Since(t0))
		}
		slices.Sort(d)
		t.Logf("report %s: %v (median of 3; min %v)", r.name, d[1].Round(time.Millisecond), d[0].Round(time.Millisecond))
	}

	// Hot backup, streamed to nowhere.
	req, _ := newJSONRequest("GET", s.base+"/v1/admin/backup", login.Token, nil)
	t0 := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	nb, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("backup: %d %v", res.StatusCode, err)
	}
	took := time.Since(t0)
	t.Logf("hot backup: %d bytes in %v (%.0f MB/s)", nb, took.Round(time.Millisecond), float64(nb)/1e6/took.Seconds())
	s.proc.cmd.Process.Signal(syscall.SIGTERM)
	s.proc.cmd.Wait()

	// Offline compaction.
	size := fileSize(t, dbPath)
	t0 = time.Now()
	if _, stderr, code := runCLI(t, "compact", "--data", data); code != 0 {
		t.Fatalf("compact: %s", stderr)
	}
	after := fileSize(t, dbPath)
	t.Logf("compaction: %d → %d bytes in %v", size, after, time.Since(t0).Round(time.Second))
}

// pushFor has each phone push 50-sale batches for d and returns every
// acknowledged push's latency and the sales acknowledged.
func pushFor(phones []*e2ePhone, base string, d time.Duration) ([]time.Duration, int) {
	var mu sync.Mutex
	var lat []time.Duration
	sales := 0
	client := &http.Client{Timeout: 30 * time.Second}
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for _, p := range phones {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				p.record(50)
				before := p.acked
				t0 := time.Now()
				if ok, _ := p.pushOnce(client, base); ok {
					mu.Lock()
					lat = append(lat, time.Since(t0))
					sales += int(p.acked - before)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return lat, sales
}

// scaleCursor makes the feed cursor the server would give for seq.
func scaleCursor(master []byte, partnerID string, seq uint64) string {
	return benchCursor(derive(master, "partner feed cursors"), partnerID, seq)
}
