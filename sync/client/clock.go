package client

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Clock is what the app tells the client about time. The client never reads
// the system clock for an event's times: on a phone the wall clock may be
// days off, and only the app knows the monotonic clock and the boot.
type Clock interface {
	// WallMs is the phone's wall clock in Unix milliseconds
	// (System.currentTimeMillis on Android). It may be wrong by days.
	WallMs() int64
	// ElapsedMs is the monotonic time since boot in milliseconds, counting
	// deep sleep (SystemClock.elapsedRealtime on Android).
	ElapsedMs() int64
	// BootID names the current boot: it changes when the phone restarts
	// (Settings.Global.BOOT_COUNT, or /proc/sys/kernel/random/boot_id).
	BootID() string
}

// anchor ties the phone's monotonic clock to the server's time, as of the
// last response (SYNC.md §6.10). OffsetMs (server − wall at that moment)
// corrects the wall clock after a reboot, when the anchor no longer holds.
type anchor struct {
	ServerMs  int64  `json:"server_ms"`
	ElapsedMs int64  `json:"elapsed_ms"`
	BootID    string `json:"boot_id"`
	OffsetMs  int64  `json:"offset_ms"`
	HasOffset bool   `json:"has_offset"`
}

// anchoredMs is the server's time now by the monotonic clock: the anchor's
// server time plus the elapsed time since it, while the boot is the same;
// 0 when there is no anchor this boot.
func (a anchor) anchoredMs(elapsedMs int64, bootID string) int64 {
	if a.ServerMs <= 0 || a.BootID == "" || a.BootID != bootID || elapsedMs < a.ElapsedMs {
		return 0
	}
	return a.ServerMs + (elapsedMs - a.ElapsedMs)
}

// bestMs is the client's best idea of the time: anchored, else the wall
// clock corrected by the last known offset, else the wall clock.
func (a anchor) bestMs(wallMs, elapsedMs int64, bootID string) int64 {
	if t := a.anchoredMs(elapsedMs, bootID); t > 0 {
		return t
	}
	if a.HasOffset {
		return wallMs + a.OffsetMs
	}
	return wallMs
}

// hlc is a hybrid logical clock (Kulkarni et al., 2014): L never goes
// back, C orders events within one L. It is evidence of causality for
// people reading the event log, never the order of money.
type hlc struct {
	L int64 `json:"l"`
	C int64 `json:"c"`
}

// tick advances the clock for a local event at physical time pt.
func (h *hlc) tick(pt int64) {
	if pt > h.L {
		h.L, h.C = pt, 0
		return
	}
	h.C++
}

// recv merges a time the server sent (whose counter is 0).
func (h *hlc) recv(m, pt int64) {
	l := max(h.L, m, pt)
	switch {
	case l == h.L && l == m:
		h.C++
	case l == h.L:
		h.C++
	case l == m:
		h.C = 1
	default:
		h.C = 0
	}
	h.L = l
}

// String is the wire form "wallms-counter", the counter zero-padded to
// four digits so equal-length strings compare like the clock.
func (h hlc) String() string { return fmt.Sprintf("%d-%04d", h.L, h.C) }

// parseHLC reads the wire form back.
func parseHLC(s string) (hlc, error) {
	l, c, ok := strings.Cut(s, "-")
	if !ok {
		return hlc{}, fmt.Errorf("hlc %q: want wallms-counter", s)
	}
	li, err1 := strconv.ParseInt(l, 10, 64)
	ci, err2 := strconv.ParseInt(c, 10, 64)
	if err1 != nil || err2 != nil || li < 0 || ci < 0 {
		return hlc{}, fmt.Errorf("hlc %q: want wallms-counter", s)
	}
	return hlc{L: li, C: ci}, nil
}

// businessDate is the calendar day of ms in a zone offsetMin minutes east
// of UTC (Vietnam: +420, no daylight saving), as YYYY-MM-DD.
func businessDate(ms int64, offsetMin int) string {
	return time.UnixMilli(ms).UTC().Add(time.Duration(offsetMin) * time.Minute).Format(time.DateOnly)
}
