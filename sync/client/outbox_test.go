package client

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	chosync "github.com/choso/choso/sync"
	"github.com/choso/choso/sync/client/clienttest"
)

func TestOutbox_SeqCounterAndEventsSurviveReopen(t *testing.T) {
	clk := clienttest.NewClock(t0.UnixMilli())
	path := filepath.Join(t.TempDir(), "outbox.db")
	c := mustOpen(t, path, nil, clk)
	evs := mustSell(t, c, 3, 25_000, "cash")
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d: got seq %d, want %d", i, ev.Seq, i+1)
		}
	}
	c.Close()

	c = mustOpen(t, path, nil, clk)
	ev, err := c.RecordSale(10_000, "qr", "CS12345678")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Seq != 4 {
		t.Fatalf("after reopen: got seq %d, want 4", ev.Seq)
	}
	st := mustStatus(t, c)
	if st.Pending != 4 || st.NextSeq != 5 {
		t.Fatalf("got pending %d next %d, want 4 and 5", st.Pending, st.NextSeq)
	}
	raw, _ := c.PendingEvents(0)
	var wire []chosync.Event
	if err := json.Unmarshal(raw, &wire); err != nil {
		t.Fatal(err)
	}
	if len(wire) != 4 || wire[0].ID != evs[0].ID || wire[3].Type != "sale.record" || wire[3].BusinessDate != "2026-03-02" {
		t.Fatalf("pending events: %+v", wire)
	}
	var p chosync.SaleRecord
	json.Unmarshal(wire[3].Payload, &p)
	if p.Amount != 10_000 || p.Method != "qr" || p.Ref != "CS12345678" {
		t.Fatalf("payload: got %+v", p)
	}
	tally := mustTally(t, c)
	if tally.Count != 4 || tally.Amount != 85_000 || tally.CashCount != 3 || tally.QRAmount != 10_000 {
		t.Fatalf("tally: got %+v", tally)
	}
}

func TestOutbox_ConcurrentAppendsGetDistinctContiguousSeqs(t *testing.T) {
	c := mustOpen(t, filepath.Join(t.TempDir(), "o.db"), nil, clienttest.NewClock(t0.UnixMilli()), func(o *Options) { o.NoSync = true })
	var wg sync.WaitGroup
	var mu sync.Mutex
	seqs := map[int64]bool{}
	ids := map[string]bool{}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				ev, err := c.RecordSale(1000, "cash", "")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seqs[ev.Seq], ids[ev.ID] = true, true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for s := int64(1); s <= 400; s++ {
		if !seqs[s] {
			t.Fatalf("seq %d missing from %d seqs", s, len(seqs))
		}
	}
	if len(ids) != 400 {
		t.Fatalf("got %d distinct ULIDs, want 400", len(ids))
	}
}

func TestOutbox_VoidTakesTheSaleOutOfItsDayOnce(t *testing.T) {
	c := mustOpen(t, filepath.Join(t.TempDir(), "o.db"), nil, clienttest.NewClock(t0.UnixMilli()))
	evs := mustSell(t, c, 2, 30_000, "qr")
	if _, err := c.VoidSale(evs[0].ID, "khách trả lại"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.VoidSale(evs[0].ID, "again"); !errors.Is(err, ErrAlreadyVoided) {
		t.Fatalf("second void: got %v, want ErrAlreadyVoided", err)
	}
	// A sale of another phone of the stall: recorded, not counted here.
	other, _ := newULID(t0.UnixMilli(), chosync.ULIDTag{1, 2, 3})
	if _, err := c.VoidSale(other, ""); err != nil {
		t.Fatal(err)
	}
	d, err := c.DayTally("2026-03-02")
	if err != nil {
		t.Fatal(err)
	}
	if d.Count != 1 || d.Amount != 30_000 || d.VoidCount != 1 || d.VoidAmount != 30_000 {
		t.Fatalf("day: got %+v, want 1 sale of 30000 and 1 void", d)
	}
	close, err := c.CloseDay("")
	if err != nil {
		t.Fatal(err)
	}
	var p chosync.DayClose
	json.Unmarshal(close.Payload, &p)
	if close.BusinessDate != "2026-03-02" || p.Count != 1 || p.Amount != 30_000 {
		t.Fatalf("day.close: got %s %+v, want 2026-03-02 {1 30000}", close.BusinessDate, p)
	}
	if st := mustStatus(t, c); st.Pending != 5 {
		t.Fatalf("got %d pending, want 5", st.Pending)
	}
}

func TestOutbox_RefusesWhatTheServerWouldReject(t *testing.T) {
	c := mustOpen(t, filepath.Join(t.TempDir(), "o.db"), nil, clienttest.NewClock(t0.UnixMilli()))
	for _, tt := range []struct {
		amount int64
		method string
	}{{0, "cash"}, {-5, "cash"}, {chosync.MaxSaleAmount + 1, "cash"}, {1000, "card"}} {
		if _, err := c.RecordSale(tt.amount, tt.method, ""); !errors.Is(err, ErrInvalidSale) {
			t.Errorf("RecordSale(%d, %q): got %v, want ErrInvalidSale", tt.amount, tt.method, err)
		}
	}
	// A ref of stray bytes, within 64 here, would reach the server over it
	// as JSON's U+FFFD: refused here, before the phone counts the sale.
	if _, err := c.RecordSale(1000, "qr", strings.Repeat("\xff", 30)); !errors.Is(err, ErrInvalidSale) {
		t.Errorf("RecordSale with a ref that is not UTF-8: got %v, want ErrInvalidSale", err)
	}
	if _, err := c.VoidSale("not-a-ulid", ""); !errors.Is(err, ErrInvalidSale) {
		t.Errorf("VoidSale: got %v, want ErrInvalidSale", err)
	}
	if _, err := c.CloseDay("2026-02-30"); !errors.Is(err, ErrInvalidSale) {
		t.Errorf("CloseDay: got %v, want ErrInvalidSale", err)
	}
	if st := mustStatus(t, c); st.Pending != 0 || st.NextSeq != 1 {
		t.Fatalf("a refused event used a seq: %+v", st)
	}
}

func TestOutbox_HLCAndTimesOfEvents(t *testing.T) {
	clk := clienttest.NewClock(t0.UnixMilli())
	c := mustOpen(t, filepath.Join(t.TempDir(), "o.db"), nil, clk)
	a, _ := c.RecordSale(1000, "cash", "")
	clk.SetWall(t0.Add(-3 * 3600e9).UnixMilli()) // the vendor sets the clock back 3 hours
	b, _ := c.RecordSale(1000, "cash", "")
	if a.HLC >= b.HLC {
		t.Fatalf("HLC went back: %s then %s", a.HLC, b.HLC)
	}
	if a.AnchoredMs != 0 || b.WallMs != clk.WallMs() {
		t.Fatalf("unenrolled phone: got anchored %d wall %d", a.AnchoredMs, b.WallMs)
	}
}

// TestOutbox_EventsCarryTheOutboxTag: every event of an outbox, before and
// after it is reopened, carries the same tag in its ULID (characters
// 11–14), which the server's entity index keeps an outbox's events
// together by; the rest of the ULID stays random.
func TestOutbox_EventsCarryTheOutboxTag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.db")
	clk := clienttest.NewClock(t0.UnixMilli())
	c := mustOpen(t, path, nil, clk)
	evs := mustSell(t, c, 3, 10_000, "cash")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c = mustOpen(t, path, nil, clk)
	evs = append(evs, mustSell(t, c, 2, 10_000, "qr")...)
	void, err := c.VoidSale(evs[0].ID, "")
	if err != nil {
		t.Fatal(err)
	}
	evs = append(evs, void)
	tag := evs[0].ID[10:14]
	rest := map[string]bool{}
	for _, ev := range evs {
		if ev.ID[10:14] != tag {
			t.Fatalf("event %d has ULID %s, tag %s; want the outbox's tag %s in every event", ev.Seq, ev.ID, ev.ID[10:14], tag)
		}
		rest[ev.ID[14:]] = true
	}
	if len(rest) != len(evs) {
		t.Fatalf("%d events share %d random tails; want each its own", len(evs), len(rest))
	}
}
