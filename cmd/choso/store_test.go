package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/choso/choso/internal/store/postgres/pgtest"
)

// testMasterKey is a fixed CHOSO_MASTER_KEY (32 bytes in hex) for servers
// on PostgreSQL, which refuse a per-node key file.
const testMasterKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func TestConfig_PostgresStore(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Store = "postgres://choso:s3cret@db.internal:5432/choso?sslmode=require"
	if err := cfg.Validate(false); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if cfg.storeURL != cfg.Store || cfg.storePath != "" {
		t.Fatalf("storeURL %q storePath %q, want the URL and no file", cfg.storeURL, cfg.storePath)
	}
	if cfg.dataDir() != cfg.Data {
		t.Fatalf("dataDir = %q, want --data %q", cfg.dataDir(), cfg.Data)
	}
	if name := cfg.storeName(); strings.Contains(name, "s3cret") || !strings.HasPrefix(name, "postgres://choso:") {
		t.Fatalf("storeName = %q, want the URL with its password masked", name)
	}
	cfg.Store = "postgres://"
	if err := cfg.Validate(false); err == nil || !strings.Contains(err.Error(), "--store") {
		t.Fatalf("Validate(postgres:// without a host) = %v, want a --store error", err)
	}
}

func TestChoso_ServeOnPostgres_TwoNodesShareOneDatabase(t *testing.T) {
	url := pgtest.NewDatabase(t)
	env := append(cleanEnv(), "CHOSO_MASTER_KEY="+testMasterKey)
	var nodes []*process
	var bases []string
	for range 2 {
		p := startWith(t, env, "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--store", url)
		addr, _ := p.waitLog(t, "listening")["addr"].(string)
		waitReady(t, "http://"+addr)
		nodes, bases = append(nodes, p), append(bases, "http://"+addr)
	}
	// The first node created the admin; the second found a user and did not.
	admin := nodes[0].waitLog(t, "admin created")
	password, _ := admin["password"].(string)
	for i, base := range bases {
		res, err := http.Post(base+"/v1/auth/login", "application/json",
			strings.NewReader(`{"username":"admin","password":"`+password+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Token string }
		json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || body.Token == "" {
			t.Fatalf("node %d: login with the admin made on node 0: %d", i, res.StatusCode)
		}
	}
	for _, p := range nodes {
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.output())
		}
	}

	stdout, stderr, code := runCLI(t, "check", "--store", url)
	if code != 0 || !strings.Contains(stdout, "ok") {
		t.Fatalf("check: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code := runCLI(t, "backup", "--store", url, "-"); code == 0 || !strings.Contains(stderr, "pg_dump") {
		t.Fatalf("backup of a PostgreSQL store: exit %d, stderr %q; want a failure pointing at pg_dump", code, stderr)
	}
	if _, stderr, code := runCLI(t, "compact", "--store", url); code == 0 || !strings.Contains(stderr, "VACUUM") {
		t.Fatalf("compact of a PostgreSQL store: exit %d, stderr %q; want a failure saying PostgreSQL reclaims space itself", code, stderr)
	}
}

func TestChoso_ServeOnPostgres_NeedsASharedMasterKey(t *testing.T) {
	url := pgtest.NewDatabase(t)
	_, stderr, code := runCLI(t, "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--store", url)
	if code == 0 || !strings.Contains(stderr, "CHOSO_MASTER_KEY") {
		t.Fatalf("serve on PostgreSQL without CHOSO_MASTER_KEY: exit %d, stderr %q; want a failure naming it", code, stderr)
	}
}
