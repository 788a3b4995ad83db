package auth

import (
	"context"
	"github.com/choso/choso"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestHasher_HashThenVerify(t *testing.T) {
	h := NewHasher(2)
	ctx := context.Background()
	hash, err := h.Hash(ctx, "mật khẩu dài đủ")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash = %q, want an argon2id PHC string with the OWASP parameters", hash)
	}
	tests := []struct {
		password string
		want     bool
	}{
		{"mật khẩu dài đủ", true},
		{"mat khau dai du", false},
		{"", false},
		{"mật khẩu dài đủ ", false},
	}
	for _, tt := range tests {
		got, err := h.Verify(ctx, hash, tt.password)
		if err != nil || got != tt.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tt.password, got, err, tt.want)
		}
	}
	other, _ := h.Hash(ctx, "mật khẩu dài đủ")
	if other == hash {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestHasher_MalformedHashIsAnError(t *testing.T) {
	h := NewHasher(1)
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=4000000,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", // 4 GiB: refused
		"$argon2id$v=19$m=19456,t=2,p=1$!!$a2V5a2V5a2V5a2V5a2V5a2V5",
	} {
		if ok, err := h.Verify(context.Background(), bad, "x"); err == nil || ok {
			t.Errorf("Verify(%q) = %v, %v; want an error", bad, ok, err)
		}
	}
}

func TestHasher_BoundsConcurrentHashes(t *testing.T) {
	h := NewHasher(2)
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			h.acquire(context.Background())
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			running.Add(-1)
			h.release()
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 2 {
		t.Fatalf("peak concurrent hashes = %d, want ≤ 2", p)
	}
}

func TestHasher_WaitingGivesUpWithContext(t *testing.T) {
	h := NewHasher(1)
	h.acquire(context.Background())
	defer h.release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "whatever-long"); err == nil {
		t.Fatal("Hash with every slot taken and a cancelled context succeeded")
	}
}

// A request waits for a turn to hash for a bounded time, then is told the
// server is busy (503), rather than held for as long as its client waits.
func TestHasher_WaitingGivesUpAfterMaxHashWait(t *testing.T) {
	h := NewHasher(1)
	h.wait = 20 * time.Millisecond
	if err := h.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer h.release()
	_, err := h.Verify(context.Background(), "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", "whatever-long")
	if choso.ErrorCode(err) != choso.EUnavailable {
		t.Fatalf("Verify with every slot taken past the wait: got %v, want %s", err, choso.EUnavailable)
	}
}

func TestLimiter_BurstThenRefill(t *testing.T) {
	now := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	l := NewLimiter(5, 6*time.Second, func() time.Time { return now })
	for i := range 5 {
		if ok, _ := l.Allow("lan"); !ok {
			t.Fatalf("attempt %d refused within the burst of 5", i+1)
		}
	}
	ok, retry := l.Allow("lan")
	if ok || retry <= 0 || retry > 6*time.Second {
		t.Fatalf("6th attempt: ok=%v retry=%v, want refused with 0 < retry ≤ 6s", ok, retry)
	}
	if ok, _ := l.Allow("minh"); !ok {
		t.Fatal("another key was refused: buckets must be per key")
	}
	now = now.Add(6 * time.Second)
	if ok, _ := l.Allow("lan"); !ok {
		t.Fatal("refused after one interval: a token should have refilled")
	}
	if ok, _ := l.Allow("lan"); ok {
		t.Fatal("two tokens after one interval")
	}
	l.Reset("lan")
	if ok, _ := l.Allow("lan"); !ok {
		t.Fatal("refused after Reset")
	}
}

func TestLimiter_ForgetsIdleKeys(t *testing.T) {
	now := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	l := NewLimiter(5, time.Second, func() time.Time { return now })
	for i := range 1000 {
		l.Allow(strings.Repeat("k", i%50) + string(rune('a'+i%26)))
	}
	now = now.Add(2 * time.Minute)
	l.Allow("fresh")
	if n := l.Len(); n != 1 {
		t.Fatalf("after 2 idle minutes the limiter holds %d keys, want 1", n)
	}
}
