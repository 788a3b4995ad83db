package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestMasterKey_FromEnv(t *testing.T) {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = byte(i * 7)
	}
	tests := []struct {
		name    string
		env     string
		wantErr string
	}{
		{"standard base64 is accepted", base64.StdEncoding.EncodeToString(key), ""},
		{"unpadded base64 is accepted", base64.RawStdEncoding.EncodeToString(key), ""},
		{"URL-safe base64 is accepted", base64.URLEncoding.EncodeToString(key), ""},
		{"unpadded URL-safe base64 is accepted", base64.RawURLEncoding.EncodeToString(key), ""},
		{"lowercase hex is accepted", hex.EncodeToString(key), ""},
		{"uppercase hex is accepted", strings.ToUpper(hex.EncodeToString(key)), ""},
		{"surrounding whitespace is ignored", "  " + base64.StdEncoding.EncodeToString(key) + "\n", ""},
		{"16 bytes of base64 are refused", base64.StdEncoding.EncodeToString(key[:16]), "decodes to 16 bytes, want 32"},
		{"33 bytes of base64 are refused", base64.StdEncoding.EncodeToString(append(key, 0)), "decodes to 33 bytes, want 32"},
		{"31 bytes of hex are refused", hex.EncodeToString(key[:31]), "decodes to"},
		{"a passphrase is refused", "correct horse battery staple!!", "neither 64 hex digits nor base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			got, err := MasterKey(dir, tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("MasterKey: got %v, want an error containing %q", err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "CHOSO_MASTER_KEY: ") || strings.Contains(err.Error(), strings.TrimSpace(tt.env)) {
					t.Fatalf("MasterKey: got %q, want an error that names CHOSO_MASTER_KEY and not its value", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, key) {
				t.Fatalf("MasterKey: got %x, %v; want %x", got, err, key)
			}
			if _, err := os.Stat(filepath.Join(dir, KeyFile)); !os.IsNotExist(err) {
				t.Fatalf("a key file was created although CHOSO_MASTER_KEY was set (stat: %v)", err)
			}
		})
	}
}

func TestMasterKey_CreatesTheFileOnceWithMode0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // not there yet
	first, err := MasterKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != KeySize || bytes.Equal(first, make([]byte, KeySize)) {
		t.Fatalf("new key: got %x, want 32 random bytes", first)
	}
	path := filepath.Join(dir, KeyFile)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: got %04o, want 0600", info.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if want := base64.StdEncoding.EncodeToString(first) + "\n"; string(data) != want {
		t.Fatalf("key file: got %q, want the key in base64 and a newline", data)
	}
	// The file's text works as CHOSO_MASTER_KEY.
	if fromEnv, err := MasterKey(t.TempDir(), string(data)); err != nil || !bytes.Equal(fromEnv, first) {
		t.Fatalf("key file text as CHOSO_MASTER_KEY: got %x, %v; want %x", fromEnv, err, first)
	}
	second, err := MasterKey(dir, "")
	if err != nil || !bytes.Equal(second, first) {
		t.Fatalf("second start: got %x, %v; want the first start's key %x", second, err, first)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("data directory holds %d entries, want only %s (no temporary files left)", len(entries), KeyFile)
	}
}

func TestMasterKey_ConcurrentFirstStartsAgree(t *testing.T) {
	dir := t.TempDir()
	keys := make([][]byte, 16)
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = MasterKey(dir, "") })
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil || !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("start %d: got %x, %v; want the key every start got, %x", i, keys[i], errs[i], keys[0])
		}
	}
}

func TestMasterKey_RefusesABadKeyFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not Unix permissions on Windows")
	}
	good := base64.StdEncoding.EncodeToString(testKey(5)) + "\n"
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		wantErr string
	}{
		{"a group-readable file is refused", good, 0o640, "has mode 0640, readable beyond its owner"},
		{"a world-readable file is refused", good, 0o604, "has mode 0604"},
		{"a group-writable file is refused", good, 0o620, "has mode 0620"},
		{"an owner-only read-only file is accepted", good, 0o400, ""},
		{"an empty file is refused", "", 0o600, "is empty"},
		{"a short key is refused", base64.StdEncoding.EncodeToString(testKey(5)[:20]) + "\n", 0o600, "decodes to 20 bytes"},
		{"text that is not a key is refused", "hello\n", 0o600, "neither 64 hex digits nor base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, KeyFile)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			key, err := MasterKey(dir, "")
			if tt.wantErr == "" {
				if err != nil || !bytes.Equal(key, testKey(5)) {
					t.Fatalf("MasterKey: got %x, %v; want the file's key", key, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("MasterKey: got %x, %v; want an error containing %q", key, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), strings.TrimSpace(good)) {
				t.Fatalf("MasterKey: the error %q shows the key", err)
			}
			if data, _ := os.ReadFile(path); string(data) != tt.content {
				t.Fatalf("the refused key file was changed: got %q, want %q", data, tt.content)
			}
		})
	}
}

func TestMasterKey_RefusesADirectoryNamedLikeTheKeyFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, KeyFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := MasterKey(dir, ""); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("MasterKey: got %v, want an error saying master.key is not a regular file", err)
	}
}

func TestNewMasterKeyText_IsAcceptedAsEnv(t *testing.T) {
	text := NewMasterKeyText()
	if key, err := MasterKey("", text); err != nil || len(key) != KeySize {
		t.Fatalf("MasterKey(NewMasterKeyText()): got %x, %v; want a 32-byte key", key, err)
	}
}
