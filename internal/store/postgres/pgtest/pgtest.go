// Package pgtest gives tests a fresh PostgreSQL database each.
//
// It uses the server named by CHOSO_TEST_POSTGRES (a postgres:// URL of a
// role allowed to CREATE DATABASE) when set; otherwise it starts a private
// server once per test binary, in a temp dir, with initdb and pg_ctl from
// PATH, /usr/local/bin or Debian's /usr/lib/postgresql/N/bin. As root it runs
// them as the postgres system user, since PostgreSQL refuses to run as root.
// The private server listens on a unix socket in its temp dir only, so
// several test binaries never fight over a port, and runs with fsync off:
// it holds test data only.
//
// Without PostgreSQL the tests skip with a message saying how to get it;
// with CHOSO_REQUIRE_POSTGRES=1 (CI sets it) they fail instead.
//
// A test binary that uses NewDatabase must call Main from TestMain, so the
// private server is stopped and its directory removed when the tests end.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables the harness reads.
const (
	EnvURL     = "CHOSO_TEST_POSTGRES"    // use this server instead of starting one
	EnvRequire = "CHOSO_REQUIRE_POSTGRES" // "1": fail, do not skip, when PostgreSQL is missing
)

var (
	once   sync.Once
	shared *server
	errSrv error
)

// server is the PostgreSQL the test binary's databases live in.
type server struct {
	adminURL string // a URL of a role that may create databases
	private  bool   // started by us: databases are left for Stop to remove with the directory
	dir      string // the private server's directory
	pgCtl    string
	asUser   string // the system user the private server runs as; "" for ourselves

	mu  sync.Mutex
	dbs []string // databases made on a shared server, dropped at Stop
}

// Main runs the tests, then stops the private server, if one was started,
// and exits. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// NewDatabase creates an empty database for t and returns its URL. It skips
// t (or fails it when CHOSO_REQUIRE_POSTGRES=1) when no PostgreSQL can be had.
func NewDatabase(t testing.TB) string {
	t.Helper()
	once.Do(func() { shared, errSrv = start() })
	if errSrv != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("PostgreSQL is required (%s=1) but unavailable: %v", EnvRequire, errSrv)
		}
		t.Skipf("skipping: no PostgreSQL (%v). Install Debian's postgresql package, or set %s=postgres://… to use a server",
			errSrv, EnvURL)
	}
	name, err := shared.createDatabase()
	if err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	return shared.urlFor(name)
}

// Stop stops the private server and removes its directory, or drops the
// databases made on a shared server. Tests calling NewDatabase afterwards
// fail.
func Stop() {
	if shared == nil {
		return
	}
	s := shared
	if s.private {
		s.run(s.pgCtl, "stop", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w")
		os.RemoveAll(s.dir)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.adminURL)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range s.dbs {
		conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	}
}

func start() (*server, error) {
	if u := os.Getenv(EnvURL); u != "" {
		s := &server{adminURL: u}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvURL, err)
		}
		conn.Close(ctx)
		return s, nil
	}
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	s := &server{private: true, pgCtl: filepath.Join(bin, "pg_ctl")}
	if os.Geteuid() == 0 {
		s.asUser = "postgres"
		if _, err := user.Lookup(s.asUser); err != nil {
			return nil, fmt.Errorf("running as root and there is no %q system user to run PostgreSQL as", s.asUser)
		}
	}
	reapOrphans(bin)
	s.dir, err = os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	// Record who owns the server, so that the next test binary can stop it
	// if this one dies (a panic or a -timeout) before Stop runs.
	if err := os.WriteFile(filepath.Join(s.dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(s.dir)
		return nil, err
	}
	if err := s.initAndStart(bin); err != nil {
		os.RemoveAll(s.dir)
		return nil, err
	}
	return s, nil
}

// dirPrefix names the private servers' temp dirs; ownerFile, in each,
// holds the PID of the test binary that started it.
const (
	dirPrefix = "choso-pgtest-"
	ownerFile = "owner.pid"
)

// reapOrphans stops and removes private servers whose test binary is gone.
func reapOrphans(bin string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		orphan := &server{dir: dir}
		if os.Geteuid() == 0 {
			orphan.asUser = "postgres"
		}
		orphan.run(filepath.Join(bin, "pg_ctl"), "stop", "-D", filepath.Join(dir, "data"), "-m", "immediate", "-w")
		os.RemoveAll(dir)
	}
}

// processAlive reports whether a process with pid exists and is not a
// zombie (a killed test binary whose parent has not reaped it yet).
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc: trust kill
	}
	// pid (comm) STATE …; comm may hold spaces and parentheses.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}

// initAndStart runs initdb and pg_ctl start in s.dir.
func (s *server) initAndStart(bin string) error {
	if s.asUser != "" {
		if out, err := exec.Command("chown", "-R", s.asUser, s.dir).CombinedOutput(); err != nil {
			return fmt.Errorf("chown %s to %s: %v: %s", s.dir, s.asUser, err, out)
		}
	}
	data := filepath.Join(s.dir, "data")
	if out, err := s.run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return fmt.Errorf("initdb: %v: %s", err, out)
	}
	opts := strings.Join([]string{
		"-c listen_addresses=''", "-c unix_socket_directories=" + s.dir, "-p 5432",
		"-c fsync=off", "-c full_page_writes=off", "-c max_connections=200", "-c shared_buffers=32MB",
	}, " ")
	if out, err := s.run(s.pgCtl, "start", "-D", data, "-w", "-t", "60",
		"-l", filepath.Join(s.dir, "log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		return fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, log)
	}
	s.adminURL = s.urlFor("postgres")
	return nil
}

// run runs a PostgreSQL program, as s.asUser when set.
func (s *server) run(prog string, args ...string) ([]byte, error) {
	var cmd *exec.Cmd
	if s.asUser != "" {
		cmd = exec.Command("runuser", slices.Concat([]string{"-u", s.asUser, "--", prog}, args)...)
	} else {
		cmd = exec.Command(prog, args...)
	}
	cmd.Dir = s.dir
	return cmd.CombinedOutput()
}

// findBinDir returns the directory holding initdb and pg_ctl.
func findBinDir() (string, error) {
	var candidates []string
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/usr/local/bin/initdb")
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.Reverse(debian) // the newest version first (good enough for 1-digit majors and 10+ alike: all are ≥ 10 today)
	candidates = append(candidates, debian...)
	for _, c := range candidates {
		real, err := filepath.EvalSymlinks(c)
		if err != nil {
			continue
		}
		dir := filepath.Dir(real)
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
	}
	return "", errors.New("initdb and pg_ctl not found on PATH, in /usr/local/bin or in /usr/lib/postgresql/*/bin")
}

// urlFor returns the URL of database name on s.
func (s *server) urlFor(name string) string {
	if s.private {
		q := url.Values{"host": {s.dir}, "port": {"5432"}}
		return (&url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + name, RawQuery: q.Encode()}).String()
	}
	u, err := url.Parse(s.adminURL)
	if err != nil {
		return s.adminURL
	}
	u.Path = "/" + name
	return u.String()
}

// createDatabase makes a new empty database from template0 and returns its name.
func (s *server) createDatabase() (string, error) {
	var b [6]byte
	rand.Read(b[:])
	name := "choso_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.adminURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"); err != nil {
		return "", err
	}
	if !s.private {
		s.mu.Lock()
		s.dbs = append(s.dbs, name)
		s.mu.Unlock()
	}
	return name, nil
}
