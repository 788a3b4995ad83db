package secret

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeyFile is the name of the master key file in the data directory.
const KeyFile = "master.key"

// MasterKey returns the master key. env is the value of CHOSO_MASTER_KEY
// (the caller reads the environment): when it is not empty it must be 32
// bytes in base64 (standard or URL alphabet, padded or not) or hex, and no
// file is touched. Otherwise the key is read from dataDir/master.key, which
// is created with 32 random bytes and mode 0600 at first start. A key file
// that its group or others may read is refused rather than used: the key
// opens every partner secret.
//
// The file holds the key in base64 and a newline, so an operator can move
// it into CHOSO_MASTER_KEY as it is. Back it up apart from the database:
// without it, sealed secrets cannot be opened and partners need new keys.
func MasterKey(dataDir, env string) ([]byte, error) {
	if env != "" {
		key, err := decodeKey(env)
		if err != nil {
			return nil, fmt.Errorf("CHOSO_MASTER_KEY: %w", err)
		}
		return key, nil
	}
	if dataDir == "" {
		return nil, errors.New("secret: no data directory for the master key file and CHOSO_MASTER_KEY is not set")
	}
	path := filepath.Join(dataDir, KeyFile)
	key, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKeyFile(dataDir, path); err != nil {
			return nil, err
		}
		key, err = readKeyFile(path)
	}
	return key, err
}

// NewMasterKeyText returns a new random master key as base64 text, for an
// operator who sets CHOSO_MASTER_KEY rather than using the key file.
func NewMasterKeyText() string {
	var key [KeySize]byte
	rand.Read(key[:])
	return base64.StdEncoding.EncodeToString(key[:])
}

// decodeKey reads a key in hex (64 digits) or base64, never echoing the
// value in an error: it is the master key, or close to it.
func decodeKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	if len(text) == 2*KeySize {
		if key, err := hex.DecodeString(text); err == nil {
			return key, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(text); err == nil {
			if len(key) != KeySize {
				return nil, fmt.Errorf("the key decodes to %d bytes, want %d (generate one with: openssl rand -base64 32)", len(key), KeySize)
			}
			return key, nil
		}
	}
	return nil, fmt.Errorf("the key (%d characters) is neither 64 hex digits nor base64 of %d bytes (generate one with: openssl rand -base64 32)", len(text), KeySize)
}

// readKeyFile reads and checks an existing key file.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("secret: %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("secret: %s has mode %04o, readable beyond its owner; it holds the master key, so fix it with: chmod 600 %s", path, perm, path)
	}
	data := make([]byte, 256)
	n, err := f.Read(data)
	if err != nil && n == 0 {
		return nil, fmt.Errorf("secret: %s is empty; restore it from a backup, or delete it only if no partner key was ever created", path)
	}
	key, err := decodeKey(string(bytes.TrimSpace(data[:n])))
	if err != nil {
		return nil, fmt.Errorf("secret: %s: %w", path, err)
	}
	return key, nil
}

// createKeyFile writes a new key to a temporary file (O_EXCL, mode 0600),
// syncs it, then links it into place. Linking fails if the name exists, so
// two processes starting at once cannot both create a key: the loser reads
// the winner's, and a reader never sees a half-written file.
func createKeyFile(dir, path string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secret: creating the data directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".master.key-*") // O_EXCL, mode 0600
	if err != nil {
		return fmt.Errorf("secret: creating the master key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	var key [KeySize]byte
	rand.Read(key[:])
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(key[:]) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("secret: writing the master key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // another process won the race; use its key
		}
		return fmt.Errorf("secret: creating %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the new name durable; best effort
		d.Close()
	}
	return nil
}
