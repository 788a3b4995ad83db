package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	chosync "github.com/choso/choso/sync"
)

// Fault drills: a full disk and a file system turned read-only under the
// running server. They mount a small tmpfs, so they need Linux and root;
// elsewhere they skip, unless CHOSO_REQUIRE_FAULT_DRILLS=1 (CI) makes that
// a failure.

func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	skip := func(why string) {
		if os.Getenv("CHOSO_REQUIRE_FAULT_DRILLS") == "1" {
			t.Fatalf("fault drill cannot run: %s", why)
		}
		t.Skipf("fault drill skipped: %s (needs Linux and root to mount a tmpfs)", why)
	}
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		skip("not root on Linux")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		skip("mount: " + strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		exec.Command("mount", "-o", "remount,rw", dir).Run()
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

func remount(t *testing.T, dir, opts string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+opts, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s: %v %s", opts, err, out)
	}
}

// fill writes a file until the file system is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			return path
		}
	}
}

// pushUntilRefused keeps pushing new sales from the first phone (the store
// may still have free pages inside its file) until the server refuses,
// and checks the refusal: 503, a Retry-After, a message naming why, and
// nothing acknowledged by it.
func pushUntilRefused(t *testing.T, s *e2eServer, p *e2ePhone, why string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	for range 2000 {
		before := p.acked
		p.record(50)
		req, err := newJSONRequest("POST", s.base+"/v1/sync/push", p.token, pushRequestOf(p))
		if err != nil {
			t.Fatal(err)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("push while %s: %v (the server must answer)", why, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			var out chosync.PushResponse
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatal(err)
			}
			p.mu.Lock()
			p.acked = max(p.acked, out.AckSeq)
			p.mu.Unlock()
			continue // it fitted in free pages of the file
		}
		var e struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(body, &e)
		if res.StatusCode != http.StatusServiceUnavailable || e.Error.Code != "unavailable" || !strings.Contains(e.Error.Message, why) || res.Header.Get("Retry-After") == "" {
			t.Fatalf("push while %s: %d %s (Retry-After %q); want 503 unavailable naming it", why, res.StatusCode, body, res.Header.Get("Retry-After"))
		}
		if p.acked != before {
			t.Fatal("a refused push was acknowledged")
		}
		if code := s.call("GET", "/healthz", "", nil, nil); code != http.StatusOK {
			t.Errorf("/healthz while %s: %d, want 200 (the process is alive)", why, code)
		}
		return
	}
	t.Fatalf("2,000 pushes went through while %s", why)
}

func TestDiskFull_RefusesClearlyAndRecovers(t *testing.T) {
	dir := mountTmpfs(t, "24m")
	s := startServer(t, dir)
	admin := s.proc.waitLog(t, "admin created")["password"].(string)
	phones := s.setupPhones(3, admin)
	for _, p := range phones {
		p.record(100)
	}
	drain(t, s.base, phones)

	filler := fill(t, dir)
	pushUntilRefused(t, s, phones[0], "disk full")
	// The other phones' pushes are refused too, and reads still work.
	for _, p := range phones[1:] {
		pushUntilRefused(t, s, p, "disk full")
	}
	if code := s.call("GET", "/v1/sync/totals?days=2", phones[0].token, nil, nil); code != http.StatusOK {
		t.Errorf("totals on a full disk: %d, want 200", code)
	}

	// Space returns: everything recorded meanwhile goes through, once.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	drain(t, s.base, phones)
	events := checkTotals(t, s, phones)
	if code := s.call("GET", "/readyz", "", nil, nil); code != http.StatusOK {
		t.Errorf("/readyz after space returned: %d", code)
	}
	s.proc.cmd.Process.Signal(syscall.SIGTERM)
	s.proc.cmd.Wait()
	if out, _, code := runCLI(t, "check", "--data", dir); code != 0 {
		t.Fatalf("check after the disk-full drill: %s", out)
	}
	t.Logf("disk full: pushes refused with 503, %d sales counted once after space returned, check clean", events)
}

// TestReadOnly_RefusesClearlyAndRecovers starts the server on a store whose
// file system is read-only (Linux will not turn a file system read-only
// under a file open for writing): it says so and exits; once writable
// again, it starts with everything it had.
func TestReadOnly_RefusesClearlyAndRecovers(t *testing.T) {
	dir := mountTmpfs(t, "64m")
	s := startServer(t, dir)
	admin := s.proc.waitLog(t, "admin created")["password"].(string)
	phones := s.setupPhones(2, admin)
	for _, p := range phones {
		p.record(100)
	}
	drain(t, s.base, phones)
	s.proc.cmd.Process.Signal(syscall.SIGTERM)
	s.proc.cmd.Wait()

	remount(t, dir, "ro")
	out, stderr, code := runCLI(t, "serve", "--data", dir, "--addr", "127.0.0.1:0")
	if code == 0 || !strings.Contains(strings.ToLower(out+stderr), "read-only") || strings.Contains(out+stderr, "panic") {
		t.Errorf("serve on a read-only file system: exit %d, output %s %s; want a clear error", code, out, stderr)
	}
	remount(t, dir, "rw")

	s = startServer(t, dir)
	for _, p := range phones {
		p.record(10)
	}
	drain(t, s.base, phones)
	checkTotals(t, s, phones)
	s.proc.cmd.Process.Signal(syscall.SIGTERM)
	s.proc.cmd.Wait()
	if out, _, code := runCLI(t, "check", "--data", dir); code != 0 {
		t.Fatalf("check after the read-only drill: %s", out)
	}
}

// pushRequestOf is the push a phone would send now: up to 50 events it has
// not seen acknowledged.
func pushRequestOf(p *e2ePhone) chosync.PushRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	to := min(uint64(len(p.events)), p.acked+50)
	return chosync.PushRequest{Protocol: 1, AppVersion: "e2e", Client: chosync.ClientState{WallMs: time.Now().UnixMilli()},
		Events: append([]chosync.Event(nil), p.events[p.acked:to]...)}
}
