package server

import (
	"crypto/rand"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/secret"
	"github.com/choso/choso/qr"
)

type testSealer struct{ key []byte }

func (s testSealer) Seal(p, aad []byte) ([]byte, error) { return secret.Seal(s.key, p, aad) }
func (s testSealer) Open(p, aad []byte) ([]byte, error) { return secret.Open(s.key, p, aad) }

// newTestPartners is the partner side over store with a random master key.
func newTestPartners(store choso.Store) *choso.Partners {
	key := make([]byte, 32)
	rand.Read(key)
	return &choso.Partners{Store: store, Sealer: testSealer{key: key}, Now: time.Now, ExtractRef: qr.ExtractReference,
		Location: time.LoadLocation}
}
