// Package auth holds the credentials machinery the server's rules need but
// the root package cannot import: argon2id password hashing with a bound on
// concurrent hashes, and in-memory rate limiting.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/choso/choso"
	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: the OWASP minimum (19 MiB, 2 passes, 1 lane). About
// 40 ms a hash on the project's machine (RELIABILITY.md).
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// Hasher hashes and verifies passwords with argon2id. Each hash holds
// 19 MiB for its duration, so at most a fixed number run at once; the rest
// wait their turn, for at most MaxHashWait, or give up with their request's
// context. A flood of sign-ins is answered 503 (with Retry-After), not held
// for as long as each client cares to wait.
type Hasher struct {
	slots chan struct{}
	wait  time.Duration // MaxHashWait; shorter in tests
}

// MaxHashWait is how long a request waits for a turn to hash: about
// seventy hashes' time on one core.
const MaxHashWait = 3 * time.Second

var _ choso.PasswordHasher = (*Hasher)(nil)

// NewHasher returns a Hasher that runs at most concurrent hashes at once
// (at least 1).
func NewHasher(concurrent int) *Hasher {
	return &Hasher{slots: make(chan struct{}, max(concurrent, 1)), wait: MaxHashWait}
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-t.C:
		return choso.Errorf(choso.EUnavailable, "the server is busy checking passwords; try again in a few seconds")
	case <-ctx.Done():
		return choso.WrapError(choso.EUnavailable, "the server is busy checking passwords; try again", ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns an argon2id PHC string for password:
// $argon2id$v=19$m=19456,t=2,p=1$SALT$HASH.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify reports whether password matches the PHC string hash, comparing in
// constant time. A malformed hash is an error, not a mismatch.
func (h *Hasher) Verify(ctx context.Context, hash, password string) (bool, error) {
	p, err := parsePHC(hash)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

type phc struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// parsePHC reads an argon2id PHC string, refusing parameters that would let
// a stored hash make verification absurdly expensive.
func parsePHC(s string) (*phc, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, fmt.Errorf("auth: not an argon2id PHC string")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return nil, fmt.Errorf("auth: unsupported argon2 version %q", parts[2])
	}
	var p phc
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return nil, fmt.Errorf("auth: bad argon2 parameters %q", parts[3])
	}
	if p.memory < 8*1024 || p.memory > 256*1024 || p.time < 1 || p.time > 10 || p.threads < 1 || p.threads > 8 {
		return nil, fmt.Errorf("auth: argon2 parameters out of range %q", parts[3])
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(p.salt) < 8 {
		return nil, fmt.Errorf("auth: bad salt")
	}
	if p.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(p.key) < 16 || len(p.key) > 64 {
		return nil, fmt.Errorf("auth: bad key")
	}
	return &p, nil
}
