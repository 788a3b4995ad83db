package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/choso/choso/internal/store/postgres/pgtest"
)

// buildBinary builds the real program once per test run.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func chosoBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "choso-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "choso")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("go build: %s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// process is a running choso whose JSON log lines the test can wait for.
type process struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []map[string]any
	raw   bytes.Buffer
	done  chan struct{}
}

func start(t *testing.T, args ...string) *process {
	t.Helper()
	return startWith(t, cleanEnv(), args...)
}

// startWith is start with the environment env.
func startWith(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(chosoBinary(t), args...)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line map[string]any
			json.Unmarshal(sc.Bytes(), &line)
			p.mu.Lock()
			p.raw.Write(sc.Bytes())
			p.raw.WriteByte('\n')
			if line != nil {
				p.lines = append(p.lines, line)
			}
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return p
}

// waitLog waits for a log line with the given msg and returns it.
func (p *process) waitLog(t *testing.T, msg string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for _, l := range p.lines {
			if l["msg"] == msg {
				p.mu.Unlock()
				return l
			}
		}
		p.mu.Unlock()
		select {
		case <-p.done:
			t.Fatalf("process exited before logging %q:\n%s", msg, p.output())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("no %q log line within 30s:\n%s", msg, p.output())
	return nil
}

// waitListening waits for the "listening" log line, and reports false if
// the process exited before it logged one.
func (p *process) waitListening(t *testing.T) bool {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		p.mu.Lock()
		for _, l := range p.lines {
			if l["msg"] == "listening" {
				p.mu.Unlock()
				return true
			}
		}
		p.mu.Unlock()
		select {
		case <-p.done:
			p.cmd.Wait()
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("no listening log line within 30s:\n%s", p.output())
	return false
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

// cleanEnv is the test's environment without CHOSO_* variables, so a
// developer's shell cannot change what the test runs.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CHOSO_") {
			env = append(env, kv)
		}
	}
	return env
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runCLIWith(t, cleanEnv(), args...)
}

// runCLIWith is runCLI with the environment env.
func runCLIWith(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(chosoBinary(t), args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s/readyz never answered 200", base)
}

func TestChoso_ServeReadyTerminateCheck(t *testing.T) {
	data := t.TempDir()
	p := start(t, "--data", data, "--addr", "127.0.0.1:0")
	addr, _ := p.waitLog(t, "listening")["addr"].(string)
	if addr == "" || strings.HasSuffix(addr, ":0") {
		t.Fatalf("listening addr = %q, want the real port", addr)
	}
	base := "http://" + addr
	waitReady(t, base)

	res, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"status":"ok"`) {
		t.Fatalf("/healthz = %d %s", res.StatusCode, body)
	}

	if stdout, stderr, code := runCLI(t, "healthcheck", "--url", base+"/healthz"); code != 0 {
		t.Fatalf("healthcheck against a running server: exit %d\n%s%s", code, stdout, stderr)
	}

	t.Run("second instance on the same data dir fails fast", func(t *testing.T) {
		began := time.Now()
		_, stderr, code := runCLI(t, "--data", data, "--addr", "127.0.0.1:0")
		if code != exitError {
			t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitError, stderr)
		}
		if !strings.Contains(stderr, "locked by another process") {
			t.Fatalf("stderr does not say the store is locked:\n%s", stderr)
		}
		t.Logf("second instance gave up after %v", time.Since(began).Round(time.Millisecond))
	})

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v, want 0\n%s", err, p.output())
	}
	<-p.done
	p.waitLog(t, "stopped")

	if _, _, code := runCLI(t, "healthcheck", "--url", base+"/healthz", "--timeout", "500ms"); code != exitError {
		t.Fatalf("healthcheck against a stopped server: exit %d, want %d", code, exitError)
	}

	stdout, stderr, code := runCLI(t, "check", "--data", data)
	if code != 0 || !strings.Contains(stdout, "ok") {
		t.Fatalf("check after shutdown: exit %d\n%s%s", code, stdout, stderr)
	}

	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, stderr, code := runCLI(t, "backup", "--data", data, backup); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, stderr)
	}
	if stdout, stderr, code := runCLI(t, "check", "--store", "bolt:"+backup); code != 0 {
		t.Fatalf("check of the backup: exit %d\n%s%s", code, stdout, stderr)
	}
	if stdout, stderr, code := runCLI(t, "compact", "--data", data); code != 0 || !strings.Contains(stdout, "compacted") {
		t.Fatalf("compact: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code := runCLI(t, "check", "--data", data); code != 0 {
		t.Fatalf("check after compact: exit %d: %s", code, stderr)
	}
}

func TestChoso_SIGINTAlsoStopsCleanly(t *testing.T) {
	p := start(t, "--data", t.TempDir(), "--addr", "127.0.0.1:0")
	addr, _ := p.waitLog(t, "listening")["addr"].(string)
	waitReady(t, "http://"+addr)
	p.cmd.Process.Signal(syscall.SIGINT)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGINT: %v\n%s", err, p.output())
	}
}

func TestChoso_BusyPortFailsAtStart(t *testing.T) {
	p := start(t, "--data", t.TempDir(), "--addr", "127.0.0.1:0")
	addr, _ := p.waitLog(t, "listening")["addr"].(string)
	_, stderr, code := runCLI(t, "--data", t.TempDir(), "--addr", addr)
	if code != exitError || !strings.Contains(stderr, "address already in use") {
		t.Fatalf("second server on %s: exit %d, stderr:\n%s", addr, code, stderr)
	}
}

func TestChoso_BadConfigListsEveryProblem(t *testing.T) {
	_, stderr, code := runCLI(t, "--addr", "nonsense", "--trusted-proxies", "10.0.0.0/33", "--tls-cert", "x.pem", "--store", "mysql://u:hunter2@db/x")
	if code != exitError {
		t.Fatalf("exit = %d, want %d", code, exitError)
	}
	for _, want := range []string{"--addr", "--trusted-proxies", "--tls-cert and --tls-key", "--store"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "hunter2") {
		t.Errorf("stderr shows the store password:\n%s", stderr)
	}
}

func TestChoso_CheckMissingStore(t *testing.T) {
	_, stderr, code := runCLI(t, "check", "--data", t.TempDir())
	if code != exitError || !strings.Contains(stderr, "no store") {
		t.Fatalf("check on an empty dir: exit %d: %s", code, stderr)
	}
}

func TestChoso_VersionAndUsage(t *testing.T) {
	stdout, _, code := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(stdout, "choso ") {
		t.Fatalf("version: exit %d, %q", code, stdout)
	}
	_, stderr, code := runCLI(t, "frobnicate")
	if code != exitUsage || !strings.Contains(stderr, "unknown command") {
		t.Fatalf("unknown command: exit %d, %q", code, stderr)
	}
}

func TestConfig_FlagBeatsEnvBeatsDefault(t *testing.T) {
	t.Setenv("CHOSO_ADDR", "127.0.0.1:9999")
	t.Setenv("CHOSO_DATA", "/srv/choso")
	t.Setenv("CHOSO_SHUTDOWN_TIMEOUT", "7s")
	e := &env{stdout: io.Discard, stderr: io.Discard}
	cfg, _, err := parseConfig("serve", e, []string{"--addr", "127.0.0.1:7000"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:7000" {
		t.Errorf("Addr = %s, want the flag's 127.0.0.1:7000", cfg.Addr)
	}
	if cfg.Data != "/srv/choso" || cfg.storePath != "/srv/choso/choso.db" {
		t.Errorf("Data = %s (store %s), want the env's /srv/choso", cfg.Data, cfg.storePath)
	}
	if cfg.ShutdownTimeout != 7*time.Second {
		t.Errorf("ShutdownTimeout = %v, want the env's 7s", cfg.ShutdownTimeout)
	}
	if cfg.LogLevel != "info" {
		t.Errorf("LogLevel = %s, want the default info", cfg.LogLevel)
	}
}

func TestConfig_Defaults(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(true); err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:8080" || cfg.storePath != filepath.Join("data", "choso.db") {
		t.Fatalf("defaults: addr %s store %s, want 127.0.0.1:8080 and data/choso.db", cfg.Addr, cfg.storePath)
	}
}

func TestConfig_BadEnvFailsAtStart(t *testing.T) {
	t.Setenv("CHOSO_SHUTDOWN_TIMEOUT", "soon")
	e := &env{stdout: io.Discard, stderr: io.Discard}
	if _, _, err := parseConfig("serve", e, nil, true); err == nil || !strings.Contains(err.Error(), "CHOSO_SHUTDOWN_TIMEOUT") {
		t.Fatalf("parseConfig with a bad env var: %v, want an error naming it", err)
	}
}

func TestConfig_LogAttrsMaskSecrets(t *testing.T) {
	if got := redactDSN("postgres://choso:s3cret@db:5432/choso"); strings.Contains(got, "s3cret") {
		t.Fatalf("redactDSN = %s, want the password masked", got)
	}
}

// The server collects garbage at 4× heap growth unless GOGC says otherwise.
func TestSetServeGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	if got := setServeGC(); got != serveGCPercent || debug.SetGCPercent(serveGCPercent) != serveGCPercent {
		t.Fatalf("GOGC unset: %d, want %d in force", got, serveGCPercent)
	}
	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150) // as the runtime would have read it at start
	if got := setServeGC(); got != 150 || debug.SetGCPercent(150) != 150 {
		t.Fatalf("GOGC=150: %d in force, want 150 left alone", got)
	}
}
