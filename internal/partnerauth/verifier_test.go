package partnerauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/choso/choso"
)

// started is when the fake server started; the tests' clock runs from here.
var started = time.Unix(1767225000, 0)

// testKeys are the keys Lookup knows: bank_a is rotating, so it has two.
var testKeys = map[string]struct {
	partner string
	secret  []byte
}{
	"pk_a1": {"bank_a", []byte("secret-of-bank-a-key-1-0123456789abcdef")},
	"pk_a2": {"bank_a", []byte("secret-of-bank-a-key-2-0123456789abcdef")},
	"pk_b1": {"bank_b", []byte("secret-of-bank-b-key-1-0123456789abcdef")},
}

func lookup(_ context.Context, keyID string) ([]byte, string, error) {
	switch keyID {
	case "pk_revoked":
		return nil, "", choso.Errorf(choso.ENotFound, "partner key %q is revoked", keyID)
	case "pk_storefail":
		return nil, "", errors.New("bbolt: database not open")
	}
	k, ok := testKeys[keyID]
	if !ok {
		return nil, "", choso.Errorf(choso.ENotFound, "no partner key %q", keyID)
	}
	return k.secret, k.partner, nil
}

// clock is a settable clock for a Verifier.
type clock struct{ now atomic.Int64 }

func (c *clock) Now() time.Time      { return time.Unix(c.now.Load(), 0) }
func (c *clock) Set(t time.Time)     { c.now.Store(t.Unix()) }
func (c *clock) Add(d time.Duration) { c.now.Add(int64(d / time.Second)) }

// newVerifier returns a Verifier whose clock stands 1000 s after started.
func newVerifier() (*Verifier, *clock) {
	c := &clock{}
	c.Set(started.Add(1000 * time.Second))
	return &Verifier{Lookup: lookup, Now: c.Now, Started: started}, c
}

// request is one partner request as the server sees it.
type request struct {
	method, path, query string
	header              http.Header
	body                []byte
}

// signed returns a request signed with keyID's secret at ts with nonce.
func signed(keyID string, ts int64, nonce string) request {
	r := request{
		method: "POST", path: "/partner/v1/credits", query: "dry=1&x=%2F",
		body: []byte(`{"credits":[{"bank_txn_id":"FT1","amount":45000}]}`),
	}
	r.header = http.Header{}
	r.header.Set(HeaderKey, keyID)
	r.header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	r.header.Set(HeaderNonce, nonce)
	r.header.Set(HeaderSignature, Sign(testKeys[keyID].secret, r.method, r.path, r.query, ts, nonce, r.body))
	return r
}

func (r request) verify(v *Verifier) (partnerID, keyID string, err error) {
	return v.Verify(context.Background(), r.method, r.path, r.query, r.header, r.body)
}

func TestVerifier_Verify(t *testing.T) {
	now := started.Add(1000 * time.Second).Unix()
	const nonce = "n0nce-0123456789abcdef"
	tests := []struct {
		name        string
		req         func() request
		wantPartner string
		wantCode    string
		wantMessage string // a substring of the message
	}{
		{"a good request verifies", func() request { return signed("pk_a1", now, nonce) }, "bank_a", "", ""},
		{"the second live key of a rotating partner verifies", func() request { return signed("pk_a2", now, nonce) }, "bank_a", "", ""},
		{"another partner's key names that partner", func() request { return signed("pk_b1", now, nonce) }, "bank_b", "", ""},
		{"a timestamp 300 s behind verifies", func() request { return signed("pk_a1", now-300, nonce) }, "bank_a", "", ""},
		{"a timestamp 300 s ahead verifies", func() request { return signed("pk_a1", now+300, nonce) }, "bank_a", "", ""},
		{"a timestamp 301 s behind is rejected", func() request { return signed("pk_a1", now-301, nonce) }, "", choso.EUnauthorized, "301 s behind"},
		{"a timestamp 301 s ahead is rejected", func() request { return signed("pk_a1", now+301, nonce) }, "", choso.EUnauthorized, "301 s ahead"},
		{"a changed body byte is rejected", func() request {
			r := signed("pk_a1", now, nonce)
			r.body = []byte(strings.Replace(string(r.body), "45000", "95000", 1))
			return r
		}, "", choso.EUnauthorized, "signature does not match"},
		{"an added trailing newline in the body is rejected", func() request {
			r := signed("pk_a1", now, nonce)
			r.body = append(r.body, '\n')
			return r
		}, "", choso.EUnauthorized, "signature does not match"},
		{"a changed query is rejected", func() request {
			r := signed("pk_a1", now, nonce)
			r.query = "x=%2F&dry=1"
			return r
		}, "", choso.EUnauthorized, "signature does not match"},
		{"a decoded query is rejected", func() request {
			r := signed("pk_a1", now, nonce)
			r.query = "dry=1&x=/"
			return r
		}, "", choso.EUnauthorized, "signature does not match"},
		{"a changed path is rejected", func() request {
			r := signed("pk_a1", now, nonce)
			r.path = "/partner/v1/credits/"
			return r
		}, "", choso.EUnauthorized, "signature does not match"},
		{"a changed method is rejected", func() request {
			r := signed("pk_a1", now, nonce)
			r.method = "PUT"
			return r
		}, "", choso.EUnauthorized, "signature does not match"},
		{"a changed timestamp is rejected", func() request {
			r := signed("pk_a1", now, nonce)
			r.header.Set(HeaderTimestamp, strconv.FormatInt(now+1, 10))
			return r
		}, "", choso.EUnauthorized, "signature does not match"},
		{"a changed nonce is rejected", func() request {
			r := signed("pk_a1", now, nonce)
			r.header.Set(HeaderNonce, nonce+"x")
			return r
		}, "", choso.EUnauthorized, "signature does not match"},
		{"a signature made with another key's secret is rejected", func() request {
			r := signed("pk_b1", now, nonce)
			r.header.Set(HeaderKey, "pk_a1")
			return r
		}, "", choso.EUnauthorized, "signature does not match"},
		{"a signature made with the partner's other key is rejected", func() request {
			r := signed("pk_a2", now, nonce)
			r.header.Set(HeaderKey, "pk_a1")
			return r
		}, "", choso.EUnauthorized, "signature does not match"},
		{"a revoked key is rejected", func() request {
			r := signed("pk_a1", now, nonce)
			r.header.Set(HeaderKey, "pk_revoked")
			return r
		}, "", choso.EUnauthorized, `unknown or revoked key id "pk_revoked"`},
		{"an unknown key is rejected", func() request {
			r := signed("pk_a1", now, nonce)
			r.header.Set(HeaderKey, "pk_nobody")
			return r
		}, "", choso.EUnauthorized, `unknown or revoked key id "pk_nobody"`},
		{"a store failure in Lookup is not the partner's fault", func() request {
			r := signed("pk_a1", now, nonce)
			r.header.Set(HeaderKey, "pk_storefail")
			return r
		}, "", choso.EInternal, "An internal error occurred."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := newVerifier()
			partner, keyID, err := tt.req().verify(v)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Verify: got %v, want success", err)
				}
				if partner != tt.wantPartner || keyID != tt.req().header.Get(HeaderKey) {
					t.Fatalf("Verify: got partner %q key %q, want %q %q", partner, keyID, tt.wantPartner, tt.req().header.Get(HeaderKey))
				}
				return
			}
			if got := choso.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("Verify: got code %q (%v), want %q", got, err, tt.wantCode)
			}
			if got := choso.ErrorMessage(err); !strings.Contains(got, tt.wantMessage) {
				t.Fatalf("Verify: got message %q, want it to contain %q", got, tt.wantMessage)
			}
			if partner != "" || keyID != "" {
				t.Fatalf("Verify failed but returned partner %q key %q, want both empty", partner, keyID)
			}
		})
	}
}

func TestVerifier_Verify_TimestampBeforeStartIsRejected(t *testing.T) {
	tests := []struct {
		name    string
		ts      int64
		wantErr string
	}{
		{"a timestamp a second before the server started is rejected", started.Unix() - 1, "before the server started"},
		{"a timestamp in the second the server started verifies", started.Unix(), ""},
		{"a timestamp after the server started verifies", started.Unix() + 5, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, clk := newVerifier()
			clk.Set(started.Add(10 * time.Second)) // well within the skew
			_, _, err := signed("pk_a1", tt.ts, "n0nce-0123456789abcdef").verify(v)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Verify: got %v, want success", err)
			case tt.wantErr != "" && (choso.ErrorCode(err) != choso.EUnauthorized || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Verify: got %v, want unauthorized, %q", err, tt.wantErr)
			}
		})
	}
}

func TestVerifier_Verify_MalformedHeaders(t *testing.T) {
	now := started.Add(1000 * time.Second).Unix()
	const nonce = "n0nce-0123456789abcdef"
	tests := []struct {
		name        string
		edit        func(h http.Header)
		wantMessage string
	}{
		{"a missing key header is rejected", func(h http.Header) { h.Del(HeaderKey) }, "missing X-Choso-Key header"},
		{"a missing timestamp header is rejected", func(h http.Header) { h.Del(HeaderTimestamp) }, "missing X-Choso-Timestamp header"},
		{"a missing nonce header is rejected", func(h http.Header) { h.Del(HeaderNonce) }, "missing X-Choso-Nonce header"},
		{"a missing signature header is rejected", func(h http.Header) { h.Del(HeaderSignature) }, "missing X-Choso-Signature header"},
		{"an empty signature header is rejected", func(h http.Header) { h.Set(HeaderSignature, "") }, "missing X-Choso-Signature header"},
		{"a repeated signature header is rejected", func(h http.Header) { h.Add(HeaderSignature, h.Get(HeaderSignature)) }, "X-Choso-Signature header is repeated"},
		{"a repeated nonce header is rejected", func(h http.Header) { h.Add(HeaderNonce, "other-0123456789abcdef") }, "X-Choso-Nonce header is repeated"},
		{"a key id with a space is rejected", func(h http.Header) { h.Set(HeaderKey, "pk a1") }, "X-Choso-Key is not a key id"},
		{"a key id of 65 characters is rejected", func(h http.Header) { h.Set(HeaderKey, strings.Repeat("k", 65)) }, "X-Choso-Key is not a key id"},
		{"a timestamp with a plus sign is rejected", func(h http.Header) { h.Set(HeaderTimestamp, "+"+strconv.FormatInt(now, 10)) }, "X-Choso-Timestamp must be"},
		{"a timestamp with a leading zero is rejected", func(h http.Header) { h.Set(HeaderTimestamp, "0"+strconv.FormatInt(now, 10)) }, "X-Choso-Timestamp must be"},
		{"a negative timestamp is rejected", func(h http.Header) { h.Set(HeaderTimestamp, "-5") }, "X-Choso-Timestamp must be"},
		{"a timestamp with a fraction is rejected", func(h http.Header) { h.Set(HeaderTimestamp, strconv.FormatInt(now, 10)+".5") }, "X-Choso-Timestamp must be"},
		{"a timestamp in milliseconds is rejected", func(h http.Header) { h.Set(HeaderTimestamp, strconv.FormatInt(now*1000, 10)) }, "whole seconds"},
		{"a timestamp of 13 digits is rejected", func(h http.Header) { h.Set(HeaderTimestamp, "9999999999999") }, "X-Choso-Timestamp must be"},
		{"a timestamp of 20 digits cannot overflow", func(h http.Header) { h.Set(HeaderTimestamp, "99999999999999999999") }, "X-Choso-Timestamp must be"},
		{"an RFC 3339 timestamp is rejected", func(h http.Header) { h.Set(HeaderTimestamp, "2026-01-01T00:00:00Z") }, "X-Choso-Timestamp must be"},
		{"a nonce of 15 characters is rejected", func(h http.Header) { h.Set(HeaderNonce, strings.Repeat("n", 15)) }, "X-Choso-Nonce must be"},
		{"a nonce of 65 characters is rejected", func(h http.Header) { h.Set(HeaderNonce, strings.Repeat("n", 65)) }, "X-Choso-Nonce must be"},
		{"a nonce with base64 padding is rejected", func(h http.Header) { h.Set(HeaderNonce, "bm9uY2Utbm9uY2Utbm9uY2U=") }, "X-Choso-Nonce must be"},
		{"a nonce with a newline is rejected", func(h http.Header) { h["X-Choso-Nonce"] = []string{"n0nce-0123456789\nabcdef"} }, "X-Choso-Nonce must be"},
		{"an uppercase hex signature is rejected", func(h http.Header) { h.Set(HeaderSignature, strings.ToUpper(h.Get(HeaderSignature))) }, "64 lowercase hex digits"},
		{"a base64 signature is rejected", func(h http.Header) { h.Set(HeaderSignature, "q83vEjRWeJA=") }, "64 lowercase hex digits"},
		{"a signature one digit short is rejected", func(h http.Header) { h.Set(HeaderSignature, h.Get(HeaderSignature)[1:]) }, "64 lowercase hex digits"},
		{"a signature with a non-hex letter is rejected", func(h http.Header) { h.Set(HeaderSignature, "g"+h.Get(HeaderSignature)[1:]) }, "64 lowercase hex digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := newVerifier()
			r := signed("pk_a1", now, nonce)
			tt.edit(r.header)
			_, _, err := r.verify(v)
			if got := choso.ErrorCode(err); got != choso.EUnauthorized {
				t.Fatalf("Verify: got code %q (%v), want %q", got, err, choso.EUnauthorized)
			}
			if got := choso.ErrorMessage(err); !strings.Contains(got, tt.wantMessage) {
				t.Fatalf("Verify: got message %q, want it to contain %q", got, tt.wantMessage)
			}
		})
	}
}

func TestVerifier_Verify_ReusedNonceIsRejected(t *testing.T) {
	v, clk := newVerifier()
	now := clk.Now().Unix()
	r := signed("pk_a1", now, "n0nce-0123456789abcdef")
	if _, _, err := r.verify(v); err != nil {
		t.Fatalf("first Verify: got %v, want success", err)
	}
	_, _, err := r.verify(v)
	if got := choso.ErrorCode(err); got != choso.EUnauthorized || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("replayed Verify: got %v, want unauthorized, nonce already used", err)
	}
	// A replay later in the window is still caught; re-signing the same
	// nonce with a fresh timestamp does not help.
	clk.Add(250 * time.Second)
	if _, _, err := signed("pk_a1", now+200, "n0nce-0123456789abcdef").verify(v); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("re-signed nonce: got %v, want nonce already used", err)
	}
	// The same nonce under another key is another request.
	if _, _, err := signed("pk_a2", now, "n0nce-0123456789abcdef").verify(v); err != nil {
		t.Fatalf("same nonce, other key: got %v, want success", err)
	}
}

func TestVerifier_Verify_BadSignatureDoesNotUseUpTheNonce(t *testing.T) {
	v, clk := newVerifier()
	now := clk.Now().Unix()
	bad := signed("pk_a1", now, "n0nce-0123456789abcdef")
	bad.body = []byte("tampered")
	if _, _, err := bad.verify(v); err == nil {
		t.Fatal("tampered Verify: got success, want an error")
	}
	if n := v.nonces.len(); n != 0 {
		t.Fatalf("nonces remembered after a bad signature: got %d, want 0", n)
	}
	if _, _, err := signed("pk_a1", now, "n0nce-0123456789abcdef").verify(v); err != nil {
		t.Fatalf("genuine request with the nonce a forgery tried: got %v, want success", err)
	}
}

func TestVerifier_Verify_ConcurrentReplaysPassOnce(t *testing.T) {
	v, clk := newVerifier()
	r := signed("pk_a1", clk.Now().Unix(), "n0nce-0123456789abcdef")
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if _, _, err := r.verify(v); err == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if got := ok.Load(); got != 1 {
		t.Fatalf("concurrent copies of one request verified: got %d, want 1", got)
	}
}

func TestVerifier_Verify_NonceMemoryIsBoundedAndExpires(t *testing.T) {
	v, clk := newVerifier()
	v.MaxNonces, v.MaxNoncesPerKey = 3, 2
	now := clk.Now().Unix()
	steps := []struct {
		keyID    string
		nonce    string
		wantCode string
	}{
		{"pk_a1", "nonce-a1-0000000001", ""},
		{"pk_a1", "nonce-a1-0000000002", ""},
		{"pk_a1", "nonce-a1-0000000003", choso.ERateLimited}, // key's bound
		{"pk_b1", "nonce-b1-0000000001", ""},
		{"pk_a2", "nonce-a2-0000000001", choso.EUnavailable}, // overall bound
	}
	for i, s := range steps {
		_, _, err := signed(s.keyID, now, s.nonce).verify(v)
		if got := choso.ErrorCode(err); got != s.wantCode {
			t.Fatalf("step %d (%s): got code %q (%v), want %q", i, s.keyID, got, err, s.wantCode)
		}
	}
	if n := v.nonces.len(); n != 3 {
		t.Fatalf("nonces remembered: got %d, want 3", n)
	}
	// Once the timestamps are out of the window, their nonces are forgotten.
	clk.Add(301 * time.Second)
	if _, _, err := signed("pk_a2", now+301, "nonce-a2-0000000001").verify(v); err != nil {
		t.Fatalf("after the window: got %v, want success", err)
	}
	if n := v.nonces.len(); n != 1 {
		t.Fatalf("nonces remembered after the window: got %d, want 1", n)
	}
}

func TestVerifier_Verify_FutureTimestampsAreRememberedUntilTheyExpire(t *testing.T) {
	v, clk := newVerifier()
	now := clk.Now().Unix()
	r := signed("pk_a1", now+300, "n0nce-0123456789abcdef")
	if _, _, err := r.verify(v); err != nil {
		t.Fatal(err)
	}
	// 590 s later the timestamp is 10 s behind: still in the window, so the
	// nonce must still be remembered.
	clk.Add(590 * time.Second)
	if _, _, err := r.verify(v); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("replay 590 s later: got %v, want nonce already used", err)
	}
}

func TestVerifier_Verify_UnconfiguredVerifierRejectsEverything(t *testing.T) {
	now := started.Add(1000 * time.Second)
	for name, v := range map[string]*Verifier{
		"no Started": {Lookup: lookup, Now: func() time.Time { return now }},
		"no Lookup":  {Started: started, Now: func() time.Time { return now }},
	} {
		_, _, err := signed("pk_a1", now.Unix(), "n0nce-0123456789abcdef").verify(v)
		if got := choso.ErrorCode(err); got != choso.EInternal {
			t.Errorf("%s: got code %q, want %q", name, got, choso.EInternal)
		}
	}
}

func TestVerifier_Verify_CustomSkew(t *testing.T) {
	v, clk := newVerifier()
	v.Skew = 30 * time.Second
	now := clk.Now().Unix()
	if _, _, err := signed("pk_a1", now-30, "n0nce-0123456789abcde1").verify(v); err != nil {
		t.Fatalf("30 s behind: got %v, want success", err)
	}
	if _, _, err := signed("pk_a1", now-31, "n0nce-0123456789abcde2").verify(v); err == nil {
		t.Fatal("31 s behind: got success, want an error")
	}
}

func TestRequestTarget(t *testing.T) {
	tests := []struct {
		target    string
		wantPath  string
		wantQuery string
	}{
		{"/partner/v1/changes?cursor=c1.AA%2Fx&limit=500", "/partner/v1/changes", "cursor=c1.AA%2Fx&limit=500"},
		{"/partner/v1/changes", "/partner/v1/changes", ""},
		{"/partner/v1/changes?", "/partner/v1/changes", ""},
		{"/partner/v1/a%2Fb?x=1", "/partner/v1/a%2Fb", "x=1"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.target, nil)
		path, query := RequestTarget(r)
		if path != tt.wantPath || query != tt.wantQuery {
			t.Errorf("RequestTarget(%q): got %q %q, want %q %q", tt.target, path, query, tt.wantPath, tt.wantQuery)
		}
		r.RequestURI = "" // as built by a client, not read by a server
		path, query = RequestTarget(r)
		if path != tt.wantPath || query != tt.wantQuery {
			t.Errorf("RequestTarget(%q) without RequestURI: got %q %q, want %q %q", tt.target, path, query, tt.wantPath, tt.wantQuery)
		}
	}
}

func TestNewSecretAndNewKeyID(t *testing.T) {
	s1, s2 := NewSecret(), NewSecret()
	if len(s1) != 43 || string(s1) == string(s2) {
		t.Fatalf("NewSecret: got %q and %q, want two different 43-character secrets", s1, s2)
	}
	id1, id2 := NewKeyID(), NewKeyID()
	if !validKeyID(id1) || !strings.HasPrefix(id1, "pk_") || len(id1) != 23 || id1 == id2 {
		t.Fatalf("NewKeyID: got %q and %q, want two different valid pk_ ids of 23 characters", id1, id2)
	}
}

func ExampleSign() {
	secret := []byte("Yk3vR9qLw2Tn8ZcP5xHs0JdF7mBa4GeU1tKoVi6NrQy")
	fmt.Println(Sign(secret, "GET", "/partner/v1/changes", "cursor=c1.AAAAAAAAD6g.x9Qe&limit=500", 1767225660, "b7d1e0c2a94f4f7a9c3e5d8b6a1f2e3c", nil))
	// Output: 914bb083ecf3376ee830d7029fd3ea6a63fa74776d7bcb4775c63f650343e685
}

func BenchmarkVerify(b *testing.B) {
	v, clk := newVerifier()
	v.MaxNonces, v.MaxNoncesPerKey = 1<<30, 1<<30
	now := clk.Now().Unix()
	reqs := make([]request, b.N)
	for i := range reqs {
		reqs[i] = signed("pk_a1", now, fmt.Sprintf("bench-nonce-%016d", i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, _, err := reqs[i].verify(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	body := make([]byte, 4096)
	secret := testKeys["pk_a1"].secret
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		Sign(secret, "POST", "/partner/v1/credits", "", 1767225600, "n0nce-0123456789abcdef", body)
	}
}

// sharedNonces stands in for the store several nodes share: a map under a
// lock, as the PostgreSQL table's primary key behaves.
type sharedNonces struct {
	mu   sync.Mutex
	seen map[string]time.Time
	fail error
}

func (s *sharedNonces) remember(_ context.Context, keyID, nonce string, expires time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return false, s.fail
	}
	k := keyID + "\x00" + nonce
	if _, ok := s.seen[k]; ok {
		return false, nil
	}
	s.seen[k] = expires
	return true, nil
}

// With a shared memory a request replayed to another node, or to a node
// that restarted, is refused; without one each node would accept it.
func TestVerifier_Remember_ReplayToAnotherNodeIsRejected(t *testing.T) {
	shared := &sharedNonces{seen: map[string]time.Time{}}
	nodeA, clk := newVerifier()
	nodeB := &Verifier{Lookup: lookup, Now: clk.Now, Remember: shared.remember} // no Started: the shared memory outlives restarts
	nodeA.Remember = shared.remember
	now := clk.Now().Unix()
	r := signed("pk_a1", now, "n0nce-0123456789abcdef")
	if _, _, err := r.verify(nodeA); err != nil {
		t.Fatalf("node A: got %v, want success", err)
	}
	if _, _, err := r.verify(nodeB); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("replay to node B: got %v, want nonce already used", err)
	}
	if got := shared.seen["pk_a1\x00n0nce-0123456789abcdef"]; !got.Equal(time.Unix(now+int64(DefaultSkew/time.Second), 0)) {
		t.Fatalf("remembered until %v, want the end of the timestamp's window", got)
	}
	// A request signed before a node started is fine when nonces are shared.
	if _, _, err := signed("pk_a1", started.Unix()-10, "n0nce-before-start-01").verify(&Verifier{Lookup: lookup, Now: func() time.Time { return started }, Remember: shared.remember}); err != nil {
		t.Fatalf("signed before the node started, shared memory: got %v, want success", err)
	}
	// The shared memory failing refuses the request with its error.
	shared.fail = choso.Errorf(choso.EUnavailable, "database down")
	if _, _, err := signed("pk_a1", now, "n0nce-while-db-down-1").verify(nodeB); choso.ErrorCode(err) != choso.EUnavailable {
		t.Fatalf("shared memory failing: got %v, want unavailable", err)
	}
	// Without Started or Remember the Verifier refuses to work.
	if _, _, err := signed("pk_a1", now, "n0nce-misconfigured-1").verify(&Verifier{Lookup: lookup, Now: clk.Now}); choso.ErrorCode(err) != choso.EInternal {
		t.Fatalf("neither Started nor Remember: got %v, want internal", err)
	}
}
