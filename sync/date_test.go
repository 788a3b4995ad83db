package sync_test

import (
	"testing"
	"time"

	chosync "github.com/choso/choso/sync"
)

func TestValidDate(t *testing.T) {
	for s, want := range map[string]bool{
		"2026-11-27":  true,
		"2024-02-29":  true,  // leap year
		"2000-02-29":  true,  // divisible by 400
		"1900-02-29":  false, // divisible by 100, not 400
		"2026-02-29":  false,
		"2026-04-31":  false,
		"2026-12-31":  true,
		"2026-13-01":  false,
		"2026-00-10":  false,
		"2026-01-00":  false,
		"0000-01-01":  true,
		"2026-1-01":   false,
		"2026/11/27":  false,
		"2026-11-2x":  false,
		"+026-11-27":  false,
		"２026-11-2":   false, // a full-width digit is three bytes
		"":            false,
		"2026-11-27 ": false,
	} {
		if got := chosync.ValidDate(s); got != want {
			t.Errorf("ValidDate(%q) = %v, want %v", s, got, want)
		}
	}
}

// FuzzValidDate holds ValidDate to time.Parse with time.DateOnly, which it
// replaces on the push path.
func FuzzValidDate(f *testing.F) {
	for _, s := range []string{"2026-11-27", "2024-02-29", "1900-02-29", "2026-04-31", "9999-12-31", "0000-00-00", "2026-11-2x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := time.Parse(time.DateOnly, s)
		if got, want := chosync.ValidDate(s), err == nil; got != want {
			t.Fatalf("ValidDate(%q) = %v; time.Parse says %v (%v)", s, got, want, err)
		}
	})
}
