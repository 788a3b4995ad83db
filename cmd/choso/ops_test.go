package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/bolt"
)

// The image's HEALTHCHECK runs `choso healthcheck` with no flags and the
// server's own environment: a server moved to another port with
// CHOSO_ADDR is still found healthy.
func TestHealthcheck_ProbesTheAddressTheEnvironmentConfigures(t *testing.T) {
	var addr string
	var env []string
	// freePort lets its port go before choso binds it, and another process
	// (a connection of a test running beside this one) may take it in
	// between: choso then fails at start, and another port is tried.
	for try := 1; ; try++ {
		addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		env = append(cleanEnv(), "CHOSO_ADDR="+addr, "CHOSO_DATA="+t.TempDir())
		p := startWith(t, env)
		if p.waitListening(t) {
			break
		}
		if out := p.output(); try == 5 || !strings.Contains(out, "address already in use") {
			t.Fatalf("choso on %s exited before listening:\n%s", addr, out)
		}
	}
	waitReady(t, "http://"+addr)
	if stdout, stderr, code := runCLIWith(t, env, "healthcheck"); code != 0 || !strings.Contains(stdout, addr) {
		t.Fatalf("healthcheck with CHOSO_ADDR=%s beside a healthy server: exit %d\n%s%s", addr, code, stdout, stderr)
	}
}

// Listening on every address, or over TLS: the probe goes to loopback, with
// https when a certificate is set.
func TestHealthcheck_DefaultURL(t *testing.T) {
	for _, tt := range []struct {
		addr, cert, want string
		local            bool
	}{
		{"", "", "http://127.0.0.1:8080/healthz", false},
		{"0.0.0.0:9000", "", "http://127.0.0.1:9000/healthz", false},
		{":9000", "", "http://127.0.0.1:9000/healthz", false},
		{"[::]:9443", "/etc/choso/cert.pem", "https://127.0.0.1:9443/healthz", true},
		{"10.0.0.5:8443", "/etc/choso/cert.pem", "https://10.0.0.5:8443/healthz", true},
	} {
		t.Setenv("CHOSO_ADDR", tt.addr)
		t.Setenv("CHOSO_TLS_CERT", tt.cert)
		if got, local := defaultHealthURL(); got != tt.want || local != tt.local {
			t.Errorf("CHOSO_ADDR=%q CHOSO_TLS_CERT=%q: %s (local %v), want %s (local %v)", tt.addr, tt.cert, got, local, tt.want, tt.local)
		}
	}
}

// An operator's first command on a new machine may be creating the admin:
// `choso user add` creates the data directory, as `choso partner add` and
// `choso serve` do.
func TestUserAdd_OnAFreshMachine_CreatesTheStore(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data") // not created yet, like ./data on a fresh checkout
	var out, errb strings.Builder
	code := run(t.Context(), []string{"user", "add", "--data", data, "--username", "alice", "--role", "admin"},
		strings.NewReader(""), &out, &errb)
	if code != exitOK {
		t.Fatalf("choso user add on a fresh data dir: exit %d\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
	}
	if _, err := os.Stat(filepath.Join(data, "choso.db")); err != nil {
		t.Fatalf("no store created: %v", err)
	}
}

// A backup from before an upgrade has an older schema version, which choso
// migrates when it opens the store. Checking it (the README's restore
// step) checks a copy migrated the same way, says so, and leaves the
// backup as it was: a good old backup is not reported broken.
func TestCheck_OlderSchemaBackup_CheckedAsMigrated(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "backup.db")
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	setVersion := func(v uint64) {
		t.Helper()
		raw, err := bbolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if err := raw.Update(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), binary.BigEndian.AppendUint64(nil, v))
		}); err != nil {
			t.Fatal(err)
		}
	}
	setVersion(uint64(bolt.SchemaVersion() - 1))
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, "check", "--events", "--store", "bolt:"+path)
	if code != 0 || !strings.Contains(stdout, "migrated") || !strings.Contains(stdout, ": ok (schema version "+strconv.Itoa(bolt.SchemaVersion())) {
		t.Fatalf("check of an older backup: exit %d\n%s%s", code, stdout, stderr)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatal("the check changed the backup")
	}
	// A store newer than this choso is still a problem.
	setVersion(uint64(bolt.SchemaVersion() + 1))
	if _, _, code := runCLI(t, "check", "--store", "bolt:"+path); code == 0 {
		t.Fatal("check of a store newer than this choso passed")
	}
}

// A backup from the release before has the current schema version but
// not the registration index (stall_created), which choso builds when it
// opens the store for writing: the README's restore step, checking the
// backup, checks a copy with the index built and passes, and leaves the
// backup as it was.
func TestCheck_BackupWithoutALaterIndex_CheckedAsOpened(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backup.db")
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Update(func(tx *bbolt.Tx) error { return tx.DeleteBucket([]byte("stall_created")) }); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, "check", "--events", "--store", "bolt:"+path)
	if code != 0 || !strings.Contains(stdout, ": ok (schema version "+strconv.Itoa(bolt.SchemaVersion())) {
		t.Fatalf("check of a backup from before the stall_created index: exit %d, want 0\n%s%s", code, stdout, stderr)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatal("the check changed the backup")
	}
}

// Asking `choso user` or `choso partner` for help, or mistyping the
// subcommand, prints the usage and touches nothing: no store, no master key
// is created in the data directory (by default ./data, wherever the
// operator happens to be).
func TestUserAndPartner_HelpOrUnknownSubcommand_CreatesNothing(t *testing.T) {
	for _, args := range [][]string{
		{"user", "-h"},
		{"user", "--help"},
		{"user", "lst"},
		{"partner", "-h"},
		{"partner", "--help"},
		{"partner", "list", "x"},
	} {
		data := filepath.Join(t.TempDir(), "data")
		_, stderr, code := runCLI(t, append(args, "--data", data)...)
		if code != exitUsage {
			t.Errorf("choso %s: exit %d, want %d\n%s", strings.Join(args, " "), code, exitUsage, stderr)
		}
		want := "add|passwd|list"
		if args[0] == "partner" {
			want = "add NAME"
		}
		if !strings.Contains(stderr, want) {
			t.Errorf("choso %s: stderr does not show the usage (%q):\n%s", strings.Join(args, " "), want, stderr)
		}
		if _, err := os.Stat(data); err == nil {
			t.Errorf("choso %s created %s", strings.Join(args, " "), data)
		}
	}
}

// A --webhook-url that is refused adds no partner: otherwise the partner
// exists with a key whose secret was never shown, and the operator's
// corrected retry adds a second one.
func TestPartnerAdd_BadWebhookURL_AddsNoPartner(t *testing.T) {
	data := t.TempDir()
	_, stderr, code := runCLI(t, "partner", "add", "Agribank Bắc Ninh", "--province", "24", "--webhook-url", "ftp://bank.example/hook", "--data", data)
	if code != exitError || !strings.Contains(stderr, "webhook_url") {
		t.Fatalf("partner add with a bad webhook URL: exit %d, want %d and the reason\n%s", code, exitError, stderr)
	}
	path := filepath.Join(data, "choso.db")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return // refused before the store was touched
	}
	db, err := bolt.Open(path, bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var partners []*choso.Partner
	if err := db.View(t.Context(), func(tx choso.Tx) error {
		partners, err = tx.ListPartners()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(partners) != 0 {
		t.Fatalf("the refused partner add left %d partners (%q), whose key secret nobody saw", len(partners), partners[0].Name)
	}
}

// A store restored without its master.key (the README's restore: move the
// backup to DATA/choso.db and start) holds partner keys sealed under the
// old master key. Neither the server nor `choso partner` makes a new key
// file beside it, which would open none of them: they refuse, and say to
// put the master key back.
func TestRestore_WithoutMasterKey_RefusesToMakeANewOne(t *testing.T) {
	orig := t.TempDir()
	stdout, stderr, code := runCLI(t, "partner", "add", "Vietcombank Bắc Ninh", "--province", "24", "--data", orig)
	if code != 0 {
		t.Fatalf("partner add: exit %d\n%s%s", code, stdout, stderr)
	}
	var added struct {
		PartnerID string `json:"partner_id"`
		KeyID     string `json:"key_id"`
	}
	if err := json.Unmarshal([]byte(stdout), &added); err != nil {
		t.Fatalf("partner add printed %q: %v", stdout, err)
	}
	restored := t.TempDir()
	if err := copyFile(filepath.Join(orig, "choso.db"), filepath.Join(restored, "choso.db")); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(restored, "master.key")

	if _, stderr, code := runCLI(t, "partner", "key", added.PartnerID, "--data", restored); code != exitError || !strings.Contains(stderr, "master.key") {
		t.Errorf("partner key on a store restored without its master key: exit %d, want %d and a word on master.key\n%s", code, exitError, stderr)
	}
	if _, err := os.Stat(keyFile); err == nil {
		t.Fatal("choso partner made a new master key beside a store whose partner keys it cannot open")
	}

	// Revoking a key seals nothing: it works without the master key, and
	// makes none.
	if stdout, stderr, code := runCLI(t, "partner", "revoke", added.KeyID, "--data", restored); code != 0 || !strings.Contains(stdout, "revoked") {
		t.Errorf("partner revoke on a store restored without its master key: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(keyFile); err == nil {
		t.Fatal("choso partner revoke made a new master key")
	}

	p := start(t, "--data", restored, "--addr", "127.0.0.1:0")
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the server started on a store restored without its master key:\n%s", p.output())
	}
	if err := p.cmd.Wait(); err == nil || !strings.Contains(p.output(), "master.key") {
		t.Fatalf("serve on a store restored without its master key: %v, want exit 1 and a word on master.key\n%s", err, p.output())
	}
	if _, err := os.Stat(keyFile); err == nil {
		t.Fatal("the server made a new master key beside a store whose partner keys it cannot open")
	}

	// With the key put back, both work.
	if err := copyFile(filepath.Join(orig, "master.key"), keyFile); err != nil {
		t.Fatal(err)
	}
	if stdout, stderr, code := runCLI(t, "partner", "key", added.PartnerID, "--data", restored); code != 0 {
		t.Fatalf("partner key with the master key restored: exit %d\n%s%s", code, stdout, stderr)
	}
}

// A certificate and key that do not load (here given the wrong way round)
// are a configuration error, found before the store is opened: otherwise
// the first start creates the admin, logs its only password, and exits on
// the certificate, and the next start shows no password.
func TestServe_BadTLSPair_FailsBeforeTheStore(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), 0o600)
	os.WriteFile(key, []byte("not a key\n"), 0o600)
	data := filepath.Join(dir, "data")
	_, stderr, code := runCLI(t, "serve", "--data", data, "--addr", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key)
	if code != exitError || !strings.Contains(stderr, "invalid configuration") || !strings.Contains(stderr, "TLS") {
		t.Fatalf("serve with a certificate that does not load: exit %d, want %d and an invalid configuration naming TLS\n%s", code, exitError, stderr)
	}
	if strings.Contains(stderr, "admin created") {
		t.Fatalf("the admin was created (its password logged) before the certificate was refused:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(data, "choso.db")); err == nil {
		t.Fatal("the store was created before the certificate was refused")
	}
}
