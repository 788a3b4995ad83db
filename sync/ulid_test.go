package sync

import (
	"math/rand/v2"
	"testing"
)

func TestULID(t *testing.T) {
	for _, tt := range []struct {
		ms      int64
		entropy [10]byte
		want    string
	}{
		{0, [10]byte{}, "00000000000000000000000000"},
		{1<<48 - 1, [10]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"},
		// The ULID spec's example time, 1469918176385 ms, is 01ARYZ6S41.
		{1469918176385, [10]byte{}, "01ARYZ6S410000000000000000"},
		{0, [10]byte{9: 1}, "00000000000000000000000001"},
		{0, [10]byte{0: 0x80}, "0000000000G000000000000000"},
	} {
		got := ULID(tt.ms, tt.entropy)
		if got != tt.want {
			t.Errorf("ULID(%d, %x) = %s, want %s", tt.ms, tt.entropy, got, tt.want)
		}
		if !validULID(got) {
			t.Errorf("ULID(%d, %x) = %s, which the push refuses", tt.ms, tt.entropy, got)
		}
	}
	// Later milliseconds sort later, whatever the entropy.
	if a, b := ULID(1000, [10]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), ULID(1001, [10]byte{}); a >= b {
		t.Errorf("%s (1000 ms) sorts after %s (1001 ms)", a, b)
	}
}

// TestULIDTag: a tag takes the first 20 bits of the randomness, characters
// 11–14, and leaves the other 60 to the entropy; the tools' seeded ULIDs
// carry their device's tag.
func TestULIDTag(t *testing.T) {
	var ones [10]byte
	for i := range ones {
		ones[i] = 0xff
	}
	for _, tt := range []struct {
		tag     ULIDTag
		entropy [10]byte
		want    string
	}{
		{ULIDTag{0xff, 0xff, 0xff}, [10]byte{}, "0000000000ZZZZ000000000000"},
		{ULIDTag{}, ones, "00000000000000ZZZZZZZZZZZZ"},
		{ULIDTag{0xa5, 0x5a, 0xc3}, [10]byte{}, "0000000000MNDC000000000000"},
	} {
		if got := ULID(0, tt.tag.Tagged(tt.entropy)); got != tt.want {
			t.Errorf("ULID with tag %x over entropy %x = %s, want %s", tt.tag, tt.entropy, got, tt.want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	want := ULID(0, TagOf("dev_a").Tagged([10]byte{}))[10:14]
	for ms := range int64(50) {
		if got := SeededULID(ms, TagOf("dev_a"), rng); got[10:14] != want {
			t.Fatalf("SeededULID for dev_a = %s, tag %s; want %s in every one", got, got[10:14], want)
		}
	}
	if TagOf("dev_a") == TagOf("dev_b") {
		t.Errorf("dev_a and dev_b share the tag %x", TagOf("dev_a"))
	}
}
