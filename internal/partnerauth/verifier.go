package partnerauth

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/choso/choso"
)

// Defaults of a Verifier.
const (
	DefaultSkew            = 300 * time.Second // DESIGN.md §6
	DefaultMaxNonces       = 100_000           // about 25 MiB of remembered nonces at most
	DefaultMaxNoncesPerKey = 20_000            // 33 requests a second over the longest window
)

// Nonce length bounds, in characters.
const (
	MinNonceLen = 16
	MaxNonceLen = 64
)

// maxKeyIDLen bounds a key id; key ids are [A-Za-z0-9_.-].
const maxKeyIDLen = 64

// Verifier checks signed partner requests. Set Lookup and Started; the rest
// have defaults. A Verifier remembers nonces, so it must not be copied
// after its first use; one per process is right, since the nonce memory
// and the start time belong together.
type Verifier struct {
	// Lookup returns the secret of a live key and the partner it belongs
	// to. It returns an error with code choso.ENotFound for an unknown or
	// revoked key; any other error is passed through to the caller
	// unchanged (a store failure is not the partner's fault). During a
	// rotation a partner has two live keys: each is found by its own id.
	Lookup func(ctx context.Context, keyID string) (secret []byte, partnerID string, err error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Started is when the process started. Nonces live only in memory, so
	// a timestamp before Started is rejected: the previous process may have
	// seen its nonce. Required unless Remember is set: a zero Started then
	// rejects every request.
	Started time.Time
	// Remember, when set, records a verified request's nonce where every
	// node of a cluster sees it (choso.SharedGuards.RememberNonce) and
	// reports whether it is new, so a request replayed to another node, or
	// to this one after a restart, is refused. The memory of this process
	// is still consulted first and still bounds each key.
	Remember func(ctx context.Context, keyID, nonce string, expires time.Time) (fresh bool, err error)
	// Skew is how far a timestamp may be from Now, either way; 0 means
	// DefaultSkew. Whole seconds.
	Skew time.Duration
	// MaxNonces bounds the nonces remembered across all keys (0 means
	// DefaultMaxNonces). A verified request that would exceed it is
	// refused with choso.EUnavailable (503), never remembered unbounded.
	MaxNonces int
	// MaxNoncesPerKey bounds the nonces remembered for one key (0 means
	// DefaultMaxNoncesPerKey), so one partner cannot crowd the others
	// out; over it, requests are refused with choso.ERateLimited (429).
	MaxNoncesPerKey int

	nonces nonceCache
}

// Verify authenticates a partner request: method, path and rawQuery as they
// travelled on the request line (see RequestTarget), its headers and its
// whole body. It returns the partner and the key that signed it. Every
// refusal of the request itself is a *choso.Error with code
// choso.EUnauthorized and a message that says what to fix without
// revealing anything secret; a full nonce memory is choso.EUnavailable or
// choso.ERateLimited; errors from Lookup other than ENotFound come back
// unchanged.
//
// The nonce is remembered only once the signature verifies, so requests
// without the secret cannot fill the memory; checking and remembering are
// one step, so of two concurrent copies of a request exactly one passes.
func (v *Verifier) Verify(ctx context.Context, method, path, rawQuery string, header http.Header, body []byte) (partnerID, keyID string, err error) {
	if v.Lookup == nil || (v.Started.IsZero() && v.Remember == nil) {
		return "", "", choso.Errorf(choso.EInternal, "partnerauth: Verifier needs Lookup, and Started or Remember")
	}
	keyID, err = singleHeader(header, HeaderKey)
	if err != nil {
		return "", "", err
	}
	tsText, err := singleHeader(header, HeaderTimestamp)
	if err != nil {
		return "", "", err
	}
	nonce, err := singleHeader(header, HeaderNonce)
	if err != nil {
		return "", "", err
	}
	sigText, err := singleHeader(header, HeaderSignature)
	if err != nil {
		return "", "", err
	}
	if !validKeyID(keyID) {
		return "", "", unauthorized("X-Choso-Key is not a key id: 1 to 64 characters of A-Z, a-z, 0-9, '_', '-' or '.'")
	}
	ts, ok := parseTimestamp(tsText)
	if !ok {
		return "", "", unauthorized("X-Choso-Timestamp must be the Unix time in whole seconds, as decimal digits with no leading zero")
	}
	if !ValidNonce(nonce) {
		return "", "", unauthorized("X-Choso-Nonce must be 16 to 64 characters of A-Z, a-z, 0-9, '_' or '-'")
	}
	sig, ok := parseSignature(sigText)
	if !ok {
		return "", "", unauthorized("X-Choso-Signature must be 64 lowercase hex digits")
	}

	now := v.now().Unix()
	skew := v.skewSeconds()
	switch d := ts - now; {
	case d > skew:
		return "", "", unauthorized("X-Choso-Timestamp is %d s ahead of the server's clock, over the %d s allowed; check the client's clock", d, skew)
	case -d > skew:
		return "", "", unauthorized("X-Choso-Timestamp is %d s behind the server's clock, over the %d s allowed; check the client's clock and sign every attempt afresh", -d, skew)
	}
	if v.Remember == nil && ts < v.Started.Unix() {
		return "", "", unauthorized("X-Choso-Timestamp is before the server started; sign every request, retries included, with the current time")
	}

	secret, partnerID, err := v.Lookup(ctx, keyID)
	switch {
	case choso.ErrorCode(err) == choso.ENotFound:
		return "", "", unauthorized("unknown or revoked key id %q", keyID)
	case err != nil:
		return "", "", err
	case len(secret) == 0 || partnerID == "":
		return "", "", choso.Errorf(choso.EInternal, "partnerauth: Lookup(%q) returned no secret or no partner", keyID)
	}
	want := mac(secret, method, path, rawQuery, ts, nonce, body)
	if !hmac.Equal(sig[:], want) {
		return "", "", unauthorized("signature does not match the request: sign METHOD, path, raw query, timestamp, nonce and the body's SHA-256 in hex, joined by newlines, with the key's secret")
	}

	if err := v.nonces.add(now, keyID, nonce, ts+skew, v.maxNonces(), v.maxNoncesPerKey()); err != nil {
		return "", "", err
	}
	if v.Remember != nil {
		fresh, err := v.Remember(ctx, keyID, nonce, time.Unix(ts+skew, 0))
		if err != nil {
			return "", "", err
		}
		if !fresh {
			return "", "", errNonceUsed()
		}
	}
	return partnerID, keyID, nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) skewSeconds() int64 {
	if v.Skew <= 0 {
		return int64(DefaultSkew / time.Second)
	}
	return int64(v.Skew / time.Second)
}

func (v *Verifier) maxNonces() int {
	if v.MaxNonces <= 0 {
		return DefaultMaxNonces
	}
	return v.MaxNonces
}

func (v *Verifier) maxNoncesPerKey() int {
	if v.MaxNoncesPerKey <= 0 {
		return DefaultMaxNoncesPerKey
	}
	return v.MaxNoncesPerKey
}

func unauthorized(format string, args ...any) error {
	return choso.Errorf(choso.EUnauthorized, format, args...)
}

// singleHeader returns the one value of a header; a missing, empty or
// repeated header is an error, since a proxy that merges or duplicates
// headers would otherwise decide which value is checked.
func singleHeader(h http.Header, name string) (string, error) {
	vals := h.Values(name)
	switch {
	case len(vals) == 0 || (len(vals) == 1 && vals[0] == ""):
		return "", unauthorized("missing %s header; partner requests must be signed", name)
	case len(vals) > 1:
		return "", unauthorized("%s header is repeated; send it once", name)
	}
	return vals[0], nil
}

// ValidNonce reports whether s is a well-formed nonce: 16 to 64 characters
// of A-Z, a-z, 0-9, '_' or '-' (base64url, hex and ULIDs all fit).
func ValidNonce(s string) bool {
	if len(s) < MinNonceLen || len(s) > MaxNonceLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func validKeyID(s string) bool {
	if len(s) == 0 || len(s) > maxKeyIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// parseTimestamp accepts 1 to 12 decimal digits and nothing else (no sign,
// no spaces, no fraction, no leading zero), so one request has exactly one
// spelling: the one Canonical signs.
func parseTimestamp(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 12 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// parseSignature accepts exactly 64 lowercase hex digits.
func parseSignature(s string) (sig [32]byte, ok bool) {
	if len(s) != 64 {
		return sig, false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return sig, false
		}
	}
	_, err := hex.Decode(sig[:], []byte(s))
	return sig, err == nil
}
