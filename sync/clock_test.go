package sync

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The day cache gives, for any time in any order, the date formatting the
// time in the zone gives: across midnights, across the short and long days
// of daylight saving time, and in zones whose clocks change at midnight, so
// that a local midnight is missing or comes twice.
func TestDayCache_AgreesWithFormat(t *testing.T) {
	for _, zone := range []string{"Asia/Ho_Chi_Minh", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "America/Havana", "Asia/Beirut", "America/Asuncion"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Skipf("no zone %s: %v", zone, err)
		}
		var c dayCache
		start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
		rng := rand.New(rand.NewPCG(1, 2))
		ms := start
		for range 50000 {
			switch rng.IntN(4) {
			case 0: // anywhere in the year
				ms = start + rng.Int64N(365*24*3600*1000)
			default: // a little after the last: mostly the same day
				ms += rng.Int64N(3 * 3600 * 1000)
			}
			want := time.UnixMilli(ms).In(loc).Format(time.DateOnly)
			if got := c.of(ms, loc); got != want {
				t.Fatalf("%s: day of %s: got %s, want %s", zone, time.UnixMilli(ms).In(loc), got, want)
			}
		}
	}
}
