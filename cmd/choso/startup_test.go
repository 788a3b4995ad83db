package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/bolt"
)

// TestStartupTime measures, on the built binary, the time from exec to the
// first 200 from /healthz and from /readyz, on an empty store and on a store
// of CHOSO_BENCH_STARTUP_MIB MiB (1024 for the figure in BENCHMARKS.md). It
// is a measurement, not an assertion: it runs only when that variable is
// set, and it logs the figures.
//
//	CHOSO_BENCH_STARTUP_MIB=1024 go test -run TestStartupTime -v ./cmd/choso
//
// With CHOSO_BENCH_DROP_CACHES=1 (as root) each run starts with an empty
// page cache.
func TestStartupTime(t *testing.T) {
	mib, _ := strconv.Atoi(os.Getenv("CHOSO_BENCH_STARTUP_MIB"))
	if mib <= 0 {
		t.Skip("set CHOSO_BENCH_STARTUP_MIB to measure startup time")
	}
	bin := chosoBinary(t)

	empty := t.TempDir()
	large := t.TempDir()
	fillStore(t, filepath.Join(large, "choso.db"), int64(mib)<<20)
	fi, _ := os.Stat(filepath.Join(large, "choso.db"))
	t.Logf("large store: %d MiB on disk", fi.Size()>>20)

	for _, c := range []struct{ name, dir string }{{"empty", empty}, {fmt.Sprintf("%d MiB", mib), large}} {
		var health, ready []time.Duration
		for range 7 {
			dropCaches(t)
			h, r := timeStartup(t, bin, c.dir)
			health, ready = append(health, h), append(ready, r)
		}
		t.Logf("%s store: exec→/healthz 200 median %v [%v–%v]; exec→/readyz 200 median %v [%v–%v] (7 runs)",
			c.name, median(health), minOf(health), maxOf(health), median(ready), minOf(ready), maxOf(ready))
	}
}

// dropCaches empties the page cache before a run when
// CHOSO_BENCH_DROP_CACHES=1 (root only), so the figure is a cold start.
func dropCaches(t *testing.T) {
	if os.Getenv("CHOSO_BENCH_DROP_CACHES") != "1" {
		return
	}
	syscall.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0o200); err != nil {
		t.Fatalf("drop caches: %v", err)
	}
}

// fillStore writes about size bytes of 4 KiB values in 1,000-key transactions.
func fillStore(t *testing.T, path string, size int64) {
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	value := make([]byte, 4096)
	for i := range value {
		value[i] = byte(i * 7)
	}
	for n := 0; int64(n)*4096 < size; n += 1000 {
		err := db.Update(context.Background(), func(tx choso.Tx) error {
			for k := n; k < n+1000; k++ {
				if err := tx.SetMeta(fmt.Sprintf("bench-fill-%09d", k), value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// timeStartup starts the binary on dir and polls /healthz and /readyz on a
// fixed free port until each answers 200.
func timeStartup(t *testing.T, bin, dir string) (health, ready time.Duration) {
	t.Helper()
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(bin, "--data", dir, "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--log-level", "error")
	cmd.Env = cleanEnv()
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	client := &http.Client{Timeout: time.Second}
	poll := func(path string) time.Duration {
		deadline := began.Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if res, err := client.Get(base + path); err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					return time.Since(began)
				}
			}
			time.Sleep(time.Millisecond)
		}
		t.Fatalf("%s never answered 200", path)
		return 0
	}
	health = poll("/healthz")
	ready = poll("/readyz")
	return health, ready
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2].Round(100 * time.Microsecond)
}

func minOf(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = min(m, x)
	}
	return m.Round(100 * time.Microsecond)
}

func maxOf(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = max(m, x)
	}
	return m.Round(100 * time.Microsecond)
}
