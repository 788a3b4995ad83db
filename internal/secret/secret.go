// Package secret keeps the server's master key and seals secrets with it.
// Partner signing secrets must be stored in a form the server can use
// again (an HMAC needs the secret itself, so a hash will not do): they are
// sealed with AES-256-GCM under the master key, which lives outside the
// database, in CHOSO_MASTER_KEY or a key file of its own (DESIGN.md §6).
// A copy of the database alone then reveals no partner secret.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KeySize is the size of the master key in bytes (AES-256).
const KeySize = 32

// Sealed layout: version byte, GCM nonce, ciphertext and tag.
const (
	version1  = 1
	nonceSize = 12
	tagSize   = 16
	overhead  = 1 + nonceSize + tagSize
)

// ErrOpen is returned by Open when sealed data cannot be opened: it was
// altered, sealed under another key, or bound to another aad. The causes
// are indistinguishable by design.
var ErrOpen = errors.New("secret: sealed data is damaged, or was sealed under another master key or for another id")

// Seal encrypts plaintext with key (KeySize bytes) by AES-256-GCM. aad is
// authenticated but not stored: pass what the secret belongs to (a key
// id), so a sealed secret copied to another record will not open there.
// The result is a version byte, a random 12-byte nonce, then the
// ciphertext and its tag. Random nonces are safe for far more secrets than
// a server will ever seal under one key (2^32).
func Seal(key, plaintext, aad []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+nonceSize, overhead+len(plaintext))
	out[0] = version1
	rand.Read(out[1:]) // never fails (crypto/rand, Go 1.24+)
	return gcm.Seal(out, out[1:1+nonceSize], plaintext, additional(version1, aad)), nil
}

// Open decrypts what Seal returned for the same key and aad. It returns
// ErrOpen if the data was altered or the key or aad differ, and an error
// naming the problem if the data is not sealed data at all.
func Open(key, sealed, aad []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < overhead {
		return nil, fmt.Errorf("secret: sealed data is %d bytes, shorter than the %d of an empty secret", len(sealed), overhead)
	}
	if sealed[0] != version1 {
		return nil, fmt.Errorf("secret: sealed data has version %d; this server knows version %d", sealed[0], version1)
	}
	plain, err := gcm.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], additional(sealed[0], aad))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// additional binds the version byte into the authenticated data, so a
// future format cannot be passed off as this one.
func additional(version byte, aad []byte) []byte {
	out := make([]byte, 0, 1+len(aad))
	return append(append(out, version), aad...)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: master key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Sealer seals and opens with one master key. It implements choso.Sealer.
type Sealer struct {
	key []byte
}

// NewSealer returns a Sealer for key, which must be KeySize bytes.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: master key is %d bytes, want %d", len(key), KeySize)
	}
	return &Sealer{key: append([]byte(nil), key...)}, nil
}

// Seal is Seal with the Sealer's key.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) { return Seal(s.key, plaintext, aad) }

// Open is Open with the Sealer's key.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) { return Open(s.key, sealed, aad) }
