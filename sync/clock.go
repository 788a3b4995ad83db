package sync

import (
	"time"

	"github.com/choso/choso"
)

// Plausibility window of an event's time (SYNC.md §6.10): not before a day
// before the device was enrolled, not after five minutes past its arrival.
const (
	maxBeforeEnrollment = 24 * time.Hour
	maxAhead            = 5 * time.Minute
	maxDateDisagreement = 24 * time.Hour
)

// eventTime is what the server makes of an event's time: the effective
// time, how much it trusts it, and the business day it counts the event on.
type eventTime struct {
	effectiveMs int64
	quality     string
	date        string
}

// dayCache remembers the last business day an applier derived, with its
// bounds: a push's events are mostly of one day, and formatting each
// one's date in the market's zone was a twentieth of applying a sale.
type dayCache struct {
	startMs, endMs int64 // [start, end) of date, in Unix ms
	date           string
}

// of returns the business date of ms in loc. It keeps a day's bounds only
// when the zone's offset holds from its midnight to the next: across a
// daylight-saving change a local midnight may be missing or come twice.
func (c *dayCache) of(ms int64, loc *time.Location) string {
	if c.date != "" && ms >= c.startMs && ms < c.endMs {
		return c.date
	}
	t := time.UnixMilli(ms).In(loc)
	date := t.Format(time.DateOnly)
	y, m, d := t.Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, loc)
	end := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	zoneStart, zoneEnd := t.ZoneBounds()
	c.date = ""
	if !zoneStart.After(start) && (zoneEnd.IsZero() || !zoneEnd.Before(end)) {
		c.startMs, c.endMs, c.date = start.UnixMilli(), end.UnixMilli(), date
	}
	return date
}

// timeOf derives an event's business day in the market's time zone. The
// anchored time (the phone's monotonic clock tied to a server response this
// boot) beats the wall clock corrected by the phone's last known offset,
// which beats the wall clock. An implausible time is marked suspect and the
// event is counted on the day of the device's previous plausible event, or
// failing that on the day it arrived: money is never rejected for a clock.
func (a *applier) timeOf(ev *Event) eventTime {
	t := eventTime{effectiveMs: ev.AnchoredMs, quality: choso.TimeAnchored}
	if t.effectiveMs <= 0 && ev.CorrectedMs > 0 {
		t.effectiveMs, t.quality = ev.CorrectedMs, choso.TimeCorrected
	}
	if t.effectiveMs <= 0 {
		t.effectiveMs, t.quality = ev.WallMs, choso.TimeWall
	}
	lo := a.dev.EnrolledAt.Add(-maxBeforeEnrollment).UnixMilli()
	hi := a.now.Add(maxAhead).UnixMilli()
	suspect := t.effectiveMs <= 0 || t.effectiveMs < lo || t.effectiveMs > hi
	if !suspect {
		t.date = a.day.of(t.effectiveMs, a.loc)
		// An anchored time is the server's own clock carried forward; only a
		// wall time is doubted when the phone's own day disagrees with it.
		// A phone that names the day its clock is in agrees, by definition.
		if t.quality == choso.TimeWall && ev.BusinessDate != "" && ev.BusinessDate != t.date {
			if claimed, err := time.ParseInLocation(time.DateOnly, ev.BusinessDate, a.loc); err != nil {
				// The phone's own day is no date at all.
				suspect = true
			} else if d := time.UnixMilli(t.effectiveMs).Sub(claimed); d < -maxDateDisagreement || d > 2*maxDateDisagreement {
				// The phone's own day is more than a day off its clock.
				suspect = true
			}
		}
	}
	if suspect {
		t.quality = choso.TimeSuspect
		t.date = a.dev.LastGoodBusinessDate
		if t.date == "" {
			t.date = a.now.In(a.loc).Format(time.DateOnly)
		}
		// The phone's time is no time at all: the sale is placed where
		// the bank's credit and the reconciliation of its day can find it.
		if est, ok := a.offsetEstimate(ev, lo); ok {
			t.effectiveMs = est
		} else {
			t.effectiveMs = a.arrivalWithin(t.date)
		}
		a.dev.SuspectEvents++
		a.dev.SetFlag(choso.FlagSuspectClock)
		return t
	}
	a.dev.LastGoodBusinessDate = t.date
	return t
}

// arrivalWithin places a suspect event whose time cannot be corrected: at
// its arrival, the latest it can have happened, or, when it is counted on
// another business day than that, at the nearest moment of that day, so
// that the day's reconciliation lists it.
func (a *applier) arrivalWithin(date string) int64 {
	now := a.now.In(a.loc)
	today := now.Format(time.DateOnly)
	day, err := time.ParseInLocation(time.DateOnly, date, a.loc)
	switch {
	case date == today || err != nil:
		return now.UnixMilli()
	case date > today: // a previous good event a few minutes past a midnight the server has not reached
		return day.UnixMilli()
	}
	return time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, a.loc).UnixMilli() - 1
}

// offsetEstimate corrects a suspect wall time by the phone's clock error
// at this push (the server's time less the phone's wall clock now, which
// the push reports): a phone whose clock has been two days fast since the
// sale sold it at its wall time less two days. The estimate stands only
// when it falls between lo and the push's arrival. It moves the time the
// bank's credit is matched against (a QR sale paid at the real time), not
// the business day: SYNC.md §6.10 counts a suspect event on its
// neighbour's day, and the event stays marked suspect.
func (a *applier) offsetEstimate(ev *Event, lo int64) (int64, bool) {
	if ev.AnchoredMs > 0 || ev.WallMs <= 0 || a.clientWallMs <= 0 {
		return 0, false // an anchored time is the server's own clock; nothing to correct by
	}
	now := a.now.UnixMilli()
	est := ev.WallMs + (now - a.clientWallMs)
	if est < lo || est > now {
		return 0, false
	}
	return est, true
}
