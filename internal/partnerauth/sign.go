// Package partnerauth authenticates bank partners' requests by HMAC-SHA256
// signatures (DESIGN.md §6; docs/partner-signing.md for banks). A partner
// signs the method, path, raw query, a timestamp, a nonce and the SHA-256 of
// the body with its secret; the server recomputes the signature with the
// secret it holds sealed, rejects timestamps more than five minutes off its
// clock, and remembers nonces in memory for that window so a captured
// request cannot be replayed.
package partnerauth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
)

// Request headers of a signed partner request.
const (
	HeaderKey       = "X-Choso-Key"       // key id, e.g. pk_3q7f…
	HeaderTimestamp = "X-Choso-Timestamp" // Unix seconds, decimal
	HeaderNonce     = "X-Choso-Nonce"     // 16–64 characters of [A-Za-z0-9_-], new for every request
	HeaderSignature = "X-Choso-Signature" // 64 lowercase hex digits
)

// Canonical returns the string a partner signs: METHOD, PATH, RAW_QUERY,
// TIMESTAMP, NONCE and the lowercase hex SHA-256 of the body, joined by
// "\n". PATH and RAW_QUERY are taken exactly as they travel on the request
// line (percent-encoding as sent, parameters in the order sent, no "?").
func Canonical(method, path, rawQuery string, timestamp int64, nonce string, body []byte) string {
	bodyHash := sha256.Sum256(body)
	var b strings.Builder
	b.Grow(len(method) + len(path) + len(rawQuery) + len(nonce) + 20 + 5 + 64)
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	b.WriteString(rawQuery)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatInt(timestamp, 10))
	b.WriteByte('\n')
	b.WriteString(nonce)
	b.WriteByte('\n')
	var hexHash [64]byte
	hex.Encode(hexHash[:], bodyHash[:])
	b.Write(hexHash[:])
	return b.String()
}

// Sign returns the X-Choso-Signature of a request: the lowercase hex
// HMAC-SHA256, under secret, of its Canonical string.
func Sign(secret []byte, method, path, rawQuery string, timestamp int64, nonce string, body []byte) string {
	return hex.EncodeToString(mac(secret, method, path, rawQuery, timestamp, nonce, body))
}

func mac(secret []byte, method, path, rawQuery string, timestamp int64, nonce string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(Canonical(method, path, rawQuery, timestamp, nonce, body)))
	return h.Sum(nil)
}

// RequestTarget returns the path and raw query of r as they travelled on
// the request line, which is what the partner signed. It falls back to the
// parsed URL for requests built in process (whose RequestURI is empty).
// Pass its results to Verify rather than r.URL.Path, which is decoded.
func RequestTarget(r *http.Request) (path, rawQuery string) {
	if uri := r.RequestURI; strings.HasPrefix(uri, "/") {
		path, rawQuery, _ = strings.Cut(uri, "?")
		return path, rawQuery
	}
	return r.URL.EscapedPath(), r.URL.RawQuery
}

// NewSecret returns a new partner secret: 32 random bytes as 43 characters
// of unpadded base64url. The HMAC key is that text itself (its ASCII
// bytes), not the bytes it decodes to, so a bank can paste it into any
// HMAC tool.
func NewSecret() []byte {
	var raw [32]byte
	rand.Read(raw[:]) // never fails (crypto/rand, Go 1.24+)
	out := make([]byte, base64.RawURLEncoding.EncodedLen(len(raw)))
	base64.RawURLEncoding.Encode(out, raw[:])
	return out
}

// NewKeyID returns a new key id: "pk_" and 20 characters of lowercase
// base32 (100 random bits). Key ids are not secret; they name the key in
// logs and in the X-Choso-Key header.
func NewKeyID() string {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz" // Crockford, lowercase
	var raw [20]byte
	rand.Read(raw[:])
	id := make([]byte, 0, 3+len(raw))
	id = append(id, "pk_"...)
	for _, b := range raw {
		id = append(id, alphabet[b&31])
	}
	return string(id)
}
