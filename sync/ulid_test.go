package sync

import "testing"

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
