package client

import (
	"net/http"
	"strings"
	"testing"
	"time"

	chosync "github.com/choso/choso/sync"
)

func TestULID_Format_26CrockfordCharsCarryingTheTime(t *testing.T) {
	ms := time.Date(2026, 3, 1, 7, 30, 0, 0, time.UTC).UnixMilli()
	seen := map[string]bool{}
	for range 10_000 {
		id, err := newULID(ms, chosync.ULIDTag{0xA5, 0x5A, 0xC3})
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 26 || id[0] > '7' {
			t.Fatalf("got %q, want 26 characters starting 0–7", id)
		}
		for _, c := range id {
			if !strings.ContainsRune(crockford, c) {
				t.Fatalf("got %q with %q, want Crockford base32 only", id, c)
			}
		}
		if got, err := ulidTime(id); err != nil || got != ms {
			t.Fatalf("time of %q: got %d (%v), want %d", id, got, err, ms)
		}
		if id[10:14] != "MNDC" {
			t.Fatalf("got %q, want the tag A5 5A C(3) as characters 11–14, MNDC", id)
		}
		if seen[id] {
			t.Fatalf("ULID %q made twice", id)
		}
		seen[id] = true
	}
}

func TestULID_SortsByTime(t *testing.T) {
	a, _ := newULID(1_700_000_000_000, chosync.ULIDTag{0xFF, 0xFF, 0xFF})
	b, _ := newULID(1_700_000_000_001, chosync.ULIDTag{})
	if a[:10] >= b[:10] {
		t.Fatalf("got %q ≥ %q, want the earlier time first", a[:10], b[:10])
	}
}

func TestULID_DecodeRefusesBadInput(t *testing.T) {
	for _, s := range []string{"", "0123", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "0000000000000000000000000U", "01ARZ3NDEKTSV4RRFFQ69G5FA!"} {
		if _, err := decodeULID(s); err == nil {
			t.Errorf("decodeULID(%q): got nil error, want one", s)
		}
	}
}

func FuzzULID_RoundTrip(f *testing.F) {
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV")
	f.Add("7ZZZZZZZZZZZZZZZZZZZZZZZZZ")
	f.Add("00000000000000000000000000")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := decodeULID(s)
		if err != nil {
			return
		}
		// Crockford reads o/i/l as 0/1/1 in some decoders; ours refuses them.
		if got := chosync.ULID(ulidMs(b), [10]byte(b[6:])); got != strings.ToUpper(s) {
			t.Fatalf("encode(decode(%q)) = %q", s, got)
		}
	})
}

func TestAnchor_AnchoredOnlyInTheSameBoot(t *testing.T) {
	a := anchor{ServerMs: 1_000_000, ElapsedMs: 500, BootID: "b1", OffsetMs: 7_000, HasOffset: true}
	tests := []struct {
		name    string
		elapsed int64
		boot    string
		want    int64
	}{
		{"same boot, later", 1_500, "b1", 1_001_000},
		{"same boot, at the anchor", 500, "b1", 1_000_000},
		{"another boot", 1_500, "b2", 0},
		{"elapsed before the anchor", 100, "b1", 0},
	}
	for _, tt := range tests {
		if got := a.anchoredMs(tt.elapsed, tt.boot); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
	if got := a.bestMs(50_000, 1_500, "b2"); got != 57_000 {
		t.Errorf("after a reboot: got %d, want wall + offset 57000", got)
	}
	if got := (anchor{}).bestMs(50_000, 1_500, "b2"); got != 50_000 {
		t.Errorf("no anchor, no offset: got %d, want the wall clock 50000", got)
	}
}

func TestHLC_MonotonicWhenTheWallClockJumpsBack(t *testing.T) {
	var h hlc
	var prev hlc
	for i, pt := range []int64{1000, 1000, 2000, 1500, 900, 2000, 2500} {
		h.tick(pt)
		if i > 0 && (h.L < prev.L || h.L == prev.L && h.C <= prev.C) {
			t.Fatalf("tick %d at %d: got %v after %v, want it later", i, pt, h, prev)
		}
		prev = h
	}
	if got, err := parseHLC(h.String()); err != nil || got != h {
		t.Fatalf("parse(%q): got %v, %v", h.String(), got, err)
	}
}

func TestHLC_RecvMovesPastTheServer(t *testing.T) {
	h := hlc{L: 1000, C: 3}
	h.recv(5000, 1200)
	if h.L != 5000 || h.C != 1 {
		t.Fatalf("got %v, want 5000-1", h)
	}
	h.recv(4000, 1300)
	if h.L != 5000 || h.C != 2 {
		t.Fatalf("got %v, want 5000-2 (never back)", h)
	}
}

func TestBusinessDate_InTheMarketsOffset(t *testing.T) {
	ms := time.Date(2026, 3, 1, 17, 30, 0, 0, time.UTC).UnixMilli() // 00:30 on the 2nd in Hà Nội
	if got := businessDate(ms, 420); got != "2026-03-02" {
		t.Fatalf("got %s, want 2026-03-02", got)
	}
}

func TestBackoff_FullJitterUnderTheCeiling(t *testing.T) {
	tests := []struct {
		n    int
		u    float64
		want int64
	}{
		{1, 0.999, 1998}, {1, 0, 0}, {2, 0.5, 2000}, {5, 0.5, 16000},
		{8, 0.5, 128_000}, {9, 0.999, 299_700}, {100, 0.5, 150_000}, {0, 0.5, 1000},
	}
	for _, tt := range tests {
		if got := backoff(tt.n, 2000, 300_000, tt.u); got != tt.want {
			t.Errorf("backoff(%d, u=%v): got %d, want %d", tt.n, tt.u, got, tt.want)
		}
	}
}

func TestRetryAfter_SecondsDatesAndJunk(t *testing.T) {
	date := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		v, dateHdr string
		want       time.Duration
	}{
		{"7", "", 7 * time.Second},
		{" 0 ", "", 0},
		{"-3", "", 0},
		{"999999", "", time.Hour},
		{"soon", "", 0},
		{date.Add(30 * time.Second).Format(http.TimeFormat), date.Format(http.TimeFormat), 30 * time.Second},
		{date.Format(http.TimeFormat), "", 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		h.Set("Retry-After", tt.v)
		if tt.dateHdr != "" {
			h.Set("Date", tt.dateHdr)
		}
		if got := retryAfter(h); got != tt.want {
			t.Errorf("Retry-After %q: got %v, want %v", tt.v, got, tt.want)
		}
	}
}
