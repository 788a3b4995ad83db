package secret

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/choso/choso"
)

var _ choso.Sealer = (*Sealer)(nil)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSeal_OpenRoundTrip(t *testing.T) {
	key := testKey(7)
	for _, plain := range [][]byte{nil, []byte("x"), []byte("Yk3vR9qLw2Tn8ZcP5xHs0JdF7mBa4GeU1tKoVi6NrQy"), bytes.Repeat([]byte("ab"), 5000)} {
		sealed, err := Seal(key, plain, []byte("pk_a1"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(sealed), overhead+len(plain); got != want {
			t.Errorf("len(Seal(%d bytes)): got %d, want %d", len(plain), got, want)
		}
		if sealed[0] != version1 {
			t.Errorf("version byte: got %d, want %d", sealed[0], version1)
		}
		if len(plain) > 8 && bytes.Contains(sealed, plain[:8]) {
			t.Errorf("sealed data contains the plaintext")
		}
		got, err := Open(key, sealed, []byte("pk_a1"))
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("Open(Seal(%q)): got %q, %v; want the plaintext", plain, got, err)
		}
	}
}

func TestSeal_SamePlaintextSealsDifferently(t *testing.T) {
	a, _ := Seal(testKey(1), []byte("secret"), nil)
	b, _ := Seal(testKey(1), []byte("secret"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of one plaintext are equal: the nonce is not random")
	}
}

func TestOpen_RejectsWhatItShould(t *testing.T) {
	key := testKey(7)
	sealed, err := Seal(key, []byte("partner secret"), []byte("pk_a1"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		s := bytes.Clone(sealed)
		s[i] ^= 1
		return s
	}
	tests := []struct {
		name    string
		key     []byte
		sealed  []byte
		aad     string
		wantErr string // ErrOpen's text, or a substring of another error
	}{
		{"a flipped ciphertext bit is detected", key, flip(1 + nonceSize + 2), "pk_a1", ErrOpen.Error()},
		{"a flipped nonce bit is detected", key, flip(3), "pk_a1", ErrOpen.Error()},
		{"a flipped tag bit is detected", key, flip(len(sealed) - 1), "pk_a1", ErrOpen.Error()},
		{"a truncated tag is detected", key, sealed[:len(sealed)-1], "pk_a1", ErrOpen.Error()},
		{"a secret sealed for another key id does not open", key, sealed, "pk_a2", ErrOpen.Error()},
		{"an empty aad does not open a bound secret", key, sealed, "", ErrOpen.Error()},
		{"another master key does not open it", testKey(8), sealed, "pk_a1", ErrOpen.Error()},
		{"an unknown version is named", key, append([]byte{2}, sealed[1:]...), "pk_a1", "version 2"},
		{"data too short to be sealed is named", key, sealed[:overhead-1], "pk_a1", "shorter than"},
		{"a short master key is refused", key[:16], sealed, "pk_a1", "master key is 16 bytes, want 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Open(tt.key, tt.sealed, []byte(tt.aad))
			if err == nil {
				t.Fatalf("Open: got %q, want an error", got)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Open: got %v, want an error containing %q", err, tt.wantErr)
			}
			if tt.wantErr == ErrOpen.Error() && !errors.Is(err, ErrOpen) {
				t.Fatalf("Open: got %v, want ErrOpen", err)
			}
		})
	}
}

func TestSealer_SealsWithItsKey(t *testing.T) {
	key := testKey(3)
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	key[0] ^= 0xff // the Sealer keeps its own copy
	sealed, err := s.Seal([]byte("secret"), []byte("pk_a1"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Open(testKey(3), sealed, []byte("pk_a1")); err != nil || string(got) != "secret" {
		t.Fatalf("Open with the Sealer's key: got %q, %v; want %q", got, err, "secret")
	}
	if got, err := s.Open(sealed, []byte("pk_a1")); err != nil || string(got) != "secret" {
		t.Fatalf("Sealer.Open: got %q, %v; want %q", got, err, "secret")
	}
	if _, err := NewSealer(make([]byte, 31)); err == nil {
		t.Fatal("NewSealer with 31 bytes: got nil error, want one")
	}
}

func FuzzOpen(f *testing.F) {
	key := testKey(9)
	good, _ := Seal(key, []byte("partner secret"), []byte("pk_a1"))
	f.Add(good, []byte("pk_a1"))
	f.Add([]byte{1}, []byte(""))
	f.Add(append([]byte{2}, good[1:]...), []byte("pk_a1"))
	f.Fuzz(func(t *testing.T, sealed, aad []byte) {
		plain, err := Open(key, sealed, aad)
		if err != nil {
			return
		}
		// Whatever opens seals again to something that opens the same.
		again, err := Seal(key, plain, aad)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := Open(key, again, aad); err != nil || !bytes.Equal(back, plain) {
			t.Fatalf("round trip of %q: got %q, %v", plain, back, err)
		}
	})
}
