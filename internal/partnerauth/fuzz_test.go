package partnerauth

import (
	"context"
	"net/http"
	"strconv"
	"testing"
)

// FuzzVerify feeds Verify arbitrary requests and headers. It must never
// panic; whatever it accepts must carry the signature Sign computes for a
// live key within the window; and a request signed correctly with
// well-formed headers must be accepted once and only once.
func FuzzVerify(f *testing.F) {
	f.Add("POST", "/partner/v1/credits", "", "pk_a1", "", int64(0), "n0nce-0123456789abcdef", "sign", []byte(`{"credits":[]}`))
	f.Add("GET", "/partner/v1/changes", "cursor=c1.AA&limit=500", "pk_a2", "", int64(-300), "0123456789abcdef", "sign", []byte(nil))
	f.Add("GET", "/partner/v1/changes", "", "pk_b1", "", int64(301), "0123456789abcdef", "sign", []byte(nil))
	f.Add("GET", "/", "", "pk_revoked", "", int64(0), "0123456789abcdef", "sign", []byte(nil))
	f.Add("GET", "/", "", "pk_a1", "+1767226000", int64(0), "0123456789abcdef", "sign", []byte(nil))
	f.Add("GET", "/", "", "pk_a1", "", int64(0), "0123456789abcdef", "00", []byte(nil))
	f.Add("GET", "/", "", "", "", int64(0), "", "", []byte(nil))
	f.Add("GET", "/", "", "pk a1", "1767226000\n", int64(0), "=====\x00=========", "ZZ", []byte("\xff"))
	f.Fuzz(func(t *testing.T, method, path, query, keyID, tsText string, offset int64, nonce, sig string, body []byte) {
		v, clk := newVerifier()
		now := clk.Now().Unix()
		ts := now + offset%1000
		if tsText == "" {
			tsText = strconv.FormatInt(ts, 10)
		} else if n, ok := parseTimestamp(tsText); ok {
			ts = n
		}
		key, live := testKeys[keyID]
		if sig == "sign" {
			sig = Sign(key.secret, method, path, query, ts, nonce, body)
		}
		h := http.Header{}
		h[HeaderKey] = []string{keyID}
		h[HeaderTimestamp] = []string{tsText}
		h[HeaderNonce] = []string{nonce}
		h[HeaderSignature] = []string{sig}

		partner, gotKey, err := v.Verify(context.Background(), method, path, query, h, body)
		if err == nil {
			if !live || partner != key.partner || gotKey != keyID {
				t.Fatalf("accepted key %q as partner %q, want a live key of its own partner", keyID, partner)
			}
			if sig != Sign(key.secret, method, path, query, ts, nonce, body) {
				t.Fatalf("accepted signature %q that Sign does not produce", sig)
			}
			if !ValidNonce(nonce) || ts < now-300 || ts > now+300 || ts < started.Unix() {
				t.Fatalf("accepted nonce %q at timestamp %d (now %d)", nonce, ts, now)
			}
			if _, _, err := v.Verify(context.Background(), method, path, query, h, body); err == nil {
				t.Fatal("accepted the same request twice")
			}
			return
		}
		wellFormed := live && ValidNonce(nonce) && tsText == strconv.FormatInt(ts, 10) &&
			ts >= now-300 && ts <= now+300 && ts >= started.Unix() &&
			sig == Sign(key.secret, method, path, query, ts, nonce, body)
		if wellFormed {
			t.Fatalf("rejected a correctly signed request: %v", err)
		}
	})
}
