package client

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	chosync "github.com/choso/choso/sync"
	"github.com/choso/choso/sync/client/clienttest"
)

func TestPush_DrainsInGzipBatchesOfAtMost500(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv, func(o *Options) { o.NoSync = true })
	mustSell(t, p.Client, 1200, 12_000, "cash")
	var sent []int
	for {
		r := mustPush(t, p.Client)
		if r.Outcome == OutcomeNothing {
			break
		}
		if r.Outcome != OutcomeOK {
			t.Fatalf("push: %+v", r)
		}
		sent = append(sent, r.Sent)
	}
	if len(sent) != 3 || sent[0] != 500 || sent[1] != 500 || sent[2] != 200 {
		t.Fatalf("batches: got %v, want [500 500 200]", sent)
	}
	if srv.Requests != 3 || srv.GzipRequests != 3 {
		t.Fatalf("got %d requests, %d gzip, want 3 and 3", srv.Requests, srv.GzipRequests)
	}
	wantServerTotals(t, srv, p.stall, mustTally(t, p.Client))
}

// SYNC.md §7 #8: the answer is lost after the server committed; the resend
// is answered duplicate and the outbox is cleared once.
func Test08_LostResponse_ResendIsDuplicateAndCountsOnce(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	mustSell(t, p.Client, 5, 40_000, "qr")
	srv.Lock()
	srv.DropAfterApply = 1
	srv.Unlock()
	r := mustPush(t, p.Client)
	if r.Outcome != OutcomeNetwork || r.Acked != 0 || r.Pending != 5 {
		t.Fatalf("lost answer: got %+v, want network with nothing acked", r)
	}
	if r.NextDelayMs < 0 || r.NextDelayMs >= 20 {
		t.Fatalf("backoff after the first failure: got %d ms, want 0–20", r.NextDelayMs)
	}
	r = mustPush(t, p.Client)
	if r.Outcome != OutcomeOK || r.Duplicates != 5 || r.Acked != 5 || r.Pending != 0 {
		t.Fatalf("resend: got %+v, want 5 duplicates acked", r)
	}
	if got := srv.EventsApplied(); got != 5 {
		t.Fatalf("server applied %d events, want 5", got)
	}
	wantServerTotals(t, srv, p.stall, mustTally(t, p.Client))
}

func TestPush_429_HonoursRetryAfterAndDeletesNothing(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	mustSell(t, p.Client, 2, 1000, "cash")
	srv.Lock()
	srv.Answer429, srv.RetryAfter = 1, "7"
	srv.Unlock()
	r := mustPush(t, p.Client)
	if r.Outcome != OutcomeRateLimited || r.HTTPStatus != 429 || r.RetryAfterMs != 7000 || r.NextDelayMs != 7000 || r.Pending != 2 {
		t.Fatalf("got %+v, want rate_limited waiting 7000 ms", r)
	}
	if r := mustPush(t, p.Client); r.Outcome != OutcomeOK || r.Acked != 2 {
		t.Fatalf("after the wait: got %+v", r)
	}
}

func TestPush_503WithoutRetryAfter_BacksOffWithJitter(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	mustSell(t, p.Client, 1, 1000, "cash")
	srv.Lock()
	srv.Answer503 = 3
	srv.Unlock()
	for i, ceil := range []int64{20, 40, 80} {
		r := mustPush(t, p.Client)
		if r.Outcome != OutcomeUnavailable || r.NextDelayMs < 0 || r.NextDelayMs >= ceil {
			t.Fatalf("failure %d: got %+v, want unavailable with a delay in [0, %d)", i+1, r, ceil)
		}
	}
	if r := mustPush(t, p.Client); r.Outcome != OutcomeOK {
		t.Fatalf("got %+v", r)
	}
}

func TestPush_413_HalvesTheBatchUntilItFits(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv, func(o *Options) { o.NoSync = true })
	mustSell(t, p.Client, 300, 5000, "transfer")
	srv.Lock()
	srv.MaxEvents = 100
	srv.Unlock()
	var sizes []int
	for i := 0; i < 20; i++ {
		r := mustPush(t, p.Client)
		if r.Outcome == OutcomeNothing {
			break
		}
		sizes = append(sizes, r.Sent)
	}
	want := []int{300, 150, 75, 75, 75, 75}
	if len(sizes) != len(want) {
		t.Fatalf("batch sizes: got %v, want %v", sizes, want)
	}
	for i := range want {
		if sizes[i] != want[i] {
			t.Fatalf("batch sizes: got %v, want %v", sizes, want)
		}
	}
	wantServerTotals(t, srv, p.stall, mustTally(t, p.Client))
}

// SYNC.md §7 #4 from the phone's side: a gap it can fill is resent from
// next_expected_seq.
func TestPush_Gap_ResendsFromNextExpected(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	mustSell(t, p.Client, 6, 1000, "cash")
	srv.Lock()
	srv.GapNext = 2 // the server sees 3–6 and expects 1
	srv.Unlock()
	r := mustPush(t, p.Client)
	if r.Outcome != OutcomeGap || r.Acked != 0 || r.Pending != 6 || r.NextDelayMs != 0 {
		t.Fatalf("gap: got %+v, want gap, nothing acked, push again at once", r)
	}
	if r := mustPush(t, p.Client); r.Outcome != OutcomeOK || r.Acked != 6 {
		t.Fatalf("resend: got %+v", r)
	}
	wantServerTotals(t, srv, p.stall, mustTally(t, p.Client))
}

// A gap the phone cannot fill (the server lost what it had acked) stops the
// loop; enrolling again numbers the pending events afresh and their ULIDs
// keep the money counted once.
func TestPush_GapThePhoneCannotFill_NeedsReenroll(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	mustSell(t, p.Client, 5, 1000, "cash")
	drain(t, p.Client, 3)
	dev := mustStatus(t, p.Client).DeviceID
	srv.SetApplied(dev, 2) // restored from an older backup
	mustSell(t, p.Client, 1, 1000, "cash")
	r := mustPush(t, p.Client)
	if r.Outcome != OutcomeNeedsReenroll || r.Pending != 1 {
		t.Fatalf("got %+v, want needs_reenroll with the event kept", r)
	}
	if st := mustStatus(t, p.Client); st.State != StateNeedsReenroll {
		t.Fatalf("state: got %s", st.State)
	}
	before := srv.Requests
	if r := mustPush(t, p.Client); r.Outcome != OutcomeNeedsReenroll || srv.Requests != before {
		t.Fatalf("a stopped phone pushed again: %+v", r)
	}
	if err := p.Enroll(srv.EnrollmentCode(p.stall)); err != nil {
		t.Fatal(err)
	}
	st := mustStatus(t, p.Client)
	if st.State != StateOK || st.NextSeq != 2 || st.Pending != 1 || st.DeviceID == dev {
		t.Fatalf("after enrolling again: %+v", st)
	}
	drain(t, p.Client, 3)
	wantServerTotals(t, srv, p.stall, mustTally(t, p.Client))
}

// SYNC.md §7 #6: a permanent failure is consumed: dropped from the outbox,
// kept locally, taken out of the phone's day.
func TestPush_Rejected_DroppedFromOutboxKeptLocally(t *testing.T) {
	srv := clienttest.New(t)
	a := newPhone(t, srv)
	b := newPhone(t, srv)
	sale := mustSell(t, a.Client, 1, 50_000, "cash")[0]
	drain(t, a.Client, 3)
	mustSell(t, b.Client, 1, 20_000, "cash")
	if _, err := b.VoidSale(sale.ID, "wrong stall"); err != nil {
		t.Fatal(err)
	}
	mustSell(t, b.Client, 1, 20_000, "qr")
	r := mustPush(t, b.Client)
	if r.Outcome != OutcomeOK || r.Rejected != 1 || r.Applied != 2 || r.Pending != 0 {
		t.Fatalf("got %+v, want 2 applied, 1 rejected, outbox empty", r)
	}
	rj := rejections(t, b.Client)
	if len(rj) != 1 || rj[0].Seq != 2 || rj[0].Code != "foreign_sale" || rj[0].Type != "sale.void" {
		t.Fatalf("kept rejections: %+v", rj)
	}
	if st := mustStatus(t, b.Client); st.Rejected != 1 {
		t.Fatalf("status: %+v", st)
	}
	wantServerTotals(t, srv, a.stall, mustTally(t, a.Client))
	wantServerTotals(t, srv, b.stall, mustTally(t, b.Client))
}

func TestPush_RejectedSale_LeavesThePhonesDay(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	// Another phone used this ULID for other content: id_conflict.
	ev := mustSell(t, p.Client, 1, 10_000, "cash")[0]
	other := newPhone(t, srv)
	forgeOutboxEvent(t, other, ev.ID, 99_000)
	drain(t, other.Client, 3)
	r := mustPush(t, p.Client)
	if r.Rejected != 1 || r.Acked != 1 {
		t.Fatalf("got %+v, want the sale rejected and acked", r)
	}
	if tally := mustTally(t, p.Client); tally.Count != 0 || tally.Amount != 0 {
		t.Fatalf("the phone still counts a refused sale: %+v", tally)
	}
	if _, err := p.VoidSale(ev.ID, ""); err == nil {
		t.Fatal("voiding a refused sale: got nil error")
	}
}

// forgeOutboxEvent records a sale and gives it another sale's ULID, as a
// buggy or forged install would.
func forgeOutboxEvent(t *testing.T, p *phone, id string, amount int64) {
	t.Helper()
	ev := mustSell(t, p.Client, 1, amount, "cash")[0]
	err := p.db.Update(func(tx *bolt.Tx) error {
		ob := tx.Bucket(bucketOutbox)
		raw := ob.Get(seqKey(uint64(ev.Seq)))
		var m map[string]any
		json.Unmarshal(raw, &m)
		m["id"] = id
		out, _ := json.Marshal(m)
		return ob.Put(seqKey(uint64(ev.Seq)), out)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// SYNC.md §7 #26: a revoked phone stops and keeps its outbox.
func TestPush_Revoked_StopsAndKeepsTheOutbox(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	mustSell(t, p.Client, 3, 1000, "cash")
	srv.Revoke(mustStatus(t, p.Client).DeviceID)
	r := mustPush(t, p.Client)
	if r.Outcome != OutcomeRevoked || r.Pending != 3 {
		t.Fatalf("got %+v, want revoked with 3 pending", r)
	}
	before := srv.Requests
	mustPush(t, p.Client)
	if srv.Requests != before {
		t.Fatal("a revoked phone pushed again")
	}
	st := mustStatus(t, p.Client)
	if st.State != StateRevoked || st.Pending != 3 {
		t.Fatalf("status: %+v", st)
	}
	// Enrolled again by a volunteer, the sales go up under the new device.
	if err := p.Enroll(srv.EnrollmentCode(p.stall)); err != nil {
		t.Fatal(err)
	}
	drain(t, p.Client, 3)
	wantServerTotals(t, srv, p.stall, mustTally(t, p.Client))
}

// SYNC.md §7 #25: a phone holding sales of its stall is not enrolled for
// another stall, whose sales the server would count them as: it stays as
// it was, and enrolled for its own stall it sends them there.
func TestEnroll_AnotherStallWithSalesPending_RefusedOutboxKept(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	mustSell(t, p.Client, 2, 1000, "cash")
	dev := mustStatus(t, p.Client).DeviceID
	srv.Revoke(dev)
	mustPush(t, p.Client)
	other := srv.NewStall()
	err := p.Enroll(srv.EnrollmentCode(other))
	if !errors.Is(err, ErrOtherStall) || ErrorKind(err) != KindOtherStall {
		t.Fatalf("enroll for another stall: %v (kind %q), want ErrOtherStall", err, ErrorKind(err))
	}
	if st := mustStatus(t, p.Client); st.DeviceID != dev || st.StallID != p.stall || st.State != StateRevoked || st.Pending != 2 || st.NextSeq != 3 {
		t.Fatalf("after the refusal: %+v, want the old device, revoked, 2 pending", st)
	}
	if got := srv.StallTotals(other); got["cash"].Count != 0 {
		t.Fatalf("the other stall counts %+v", got)
	}
	if err := p.Enroll(srv.EnrollmentCode(p.stall)); err != nil {
		t.Fatal(err)
	}
	drain(t, p.Client, 3)
	wantServerTotals(t, srv, p.stall, mustTally(t, p.Client))
	if err := p.Enroll(srv.EnrollmentCode(other)); err != nil {
		t.Fatalf("enroll for another stall with nothing pending: %v", err)
	}
	// The phone's day is now the new stall's: its day.close must not
	// count the old stall's sales, which the server holds for that stall.
	if tally := mustTally(t, p.Client); tally.Count != 0 {
		t.Fatalf("the new stall's phone counts the old stall's sales: %+v", tally)
	}
	mustSell(t, p.Client, 1, 4000, "qr")
	ev, err := p.CloseDay("")
	if err != nil {
		t.Fatal(err)
	}
	var closed chosync.DayClose
	json.Unmarshal(ev.Payload, &closed)
	if closed.Count != 1 || closed.Amount != 4000 {
		t.Fatalf("day.close for the new stall: %+v, want its 1 sale for 4000", closed)
	}
}

// A suspended phone keeps its sales. Its loop asks again only every
// suspendedRetry, not in a tight loop; once a volunteer reactivates the
// stall, a kick (the vendor taps "sync") resumes it at once.
func TestPush_Suspended_RetriedRarelyAndAtAKick(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	mustSell(t, p.Client, 2, 1000, "cash")
	dev := mustStatus(t, p.Client).DeviceID
	srv.Suspend(dev, true)
	if r := mustPush(t, p.Client); r.Outcome != OutcomeSuspended || r.Pending != 2 || r.NextDelayMs != suspendedRetry.Milliseconds() {
		t.Fatalf("got %+v, want suspended, 2 pending, the next try in %v", r, suspendedRetry)
	}
	requests := func() int {
		srv.Lock()
		defer srv.Unlock()
		return srv.Requests
	}
	p.Run()
	for deadline := time.Now().Add(10 * time.Second); requests() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the loop never tried the suspended phone's push")
		}
	}
	before := requests()
	time.Sleep(300 * time.Millisecond)
	if n := requests() - before; n != 0 {
		t.Fatalf("the loop pushed a suspended phone %d more times in 300 ms", n)
	}
	srv.Suspend(dev, false)
	p.Kick()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if st := mustStatus(t, p.Client); st.Pending == 0 && st.State == StateOK {
			break
		}
		if time.Now().After(deadline) {
			st := mustStatus(t, p.Client)
			t.Fatalf("after reactivation and a kick: %d pending, state %s", st.Pending, st.State)
		}
	}
}

func TestPush_RotatedToken_IsStoredAndSurvivesReopen(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	old, _ := p.Token()
	mustSell(t, p.Client, 1, 1000, "cash")
	srv.Lock()
	srv.RotateNext = 1
	srv.Unlock()
	mustPush(t, p.Client)
	tok, _ := p.Token()
	if tok == old || tok != srv.Device(mustStatus(t, p.Client).DeviceID).Token {
		t.Fatalf("token: got %q, want the server's new one", tok)
	}
	p.Close()
	c := mustOpen(t, p.path, srv, p.clk)
	mustSell(t, c, 1, 1000, "cash")
	if r := mustPush(t, c); r.Outcome != OutcomeOK {
		t.Fatalf("push with the rotated token: %+v", r)
	}
}

// SYNC.md §7 #11: an install restored from a copy of its file reuses a seq
// for other content: the server says seq_reused, the phone keeps the event
// and, enrolled again, sends it once.
func TestPush_RestoredCopy_SeqReusedNeedsReenroll(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	mustSell(t, p.Client, 2, 1000, "cash")
	p.Close()
	backup := filepath.Join(t.TempDir(), "backup.db")
	copyFile(t, p.path, backup)
	orig := mustOpen(t, p.path, srv, p.clk)
	mustSell(t, orig, 1, 3000, "cash")
	drain(t, orig, 3)

	restored := mustOpen(t, backup, srv, p.clk)
	mustSell(t, restored, 1, 7000, "qr") // seq 3 again, other content
	r := mustPush(t, restored)
	if r.Outcome != OutcomeNeedsReenroll || r.Duplicates != 2 || r.Pending != 1 {
		t.Fatalf("got %+v, want 2 duplicates and seq 3 kept for a new enrollment", r)
	}
	if err := restored.Enroll(srv.EnrollmentCode(p.stall)); err != nil {
		t.Fatal(err)
	}
	drain(t, restored, 3)
	got := srv.StallTotals(p.stall)
	if got["cash"].Amount != 5000 || got["qr"].Amount != 7000 || got["cash"].Count != 3 {
		t.Fatalf("server totals %+v, want 3 cash for 5000 and 1 qr for 7000", got)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
}

// SYNC.md §7 #28: a push that reports a newer config makes the phone pull
// it; an unchanged one costs a 304.
func TestConfig_PulledWhenAPushSaysItChanged(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	if _, err := p.RefreshConfig(); err != nil {
		t.Fatal(err)
	}
	if changed, err := p.RefreshConfig(); err != nil || changed {
		t.Fatalf("second pull: changed %v, %v; want a 304", changed, err)
	}
	if srv.ConfigPulls != 1 || srv.NotModified != 1 {
		t.Fatalf("got %d pulls and %d 304s, want 1 and 1", srv.ConfigPulls, srv.NotModified)
	}
	mustSell(t, p.Client, 1, 1000, "cash")
	mustPush(t, p.Client)
	if mustStatus(t, p.Client).ConfigStale {
		t.Fatal("stale after a push with the same config_version")
	}
	srv.Lock()
	srv.ConfigVersion = 2
	srv.Unlock()
	mustSell(t, p.Client, 1, 1000, "cash")
	mustPush(t, p.Client)
	if !mustStatus(t, p.Client).ConfigStale {
		t.Fatal("not stale after a push with a higher config_version")
	}
	if changed, err := p.RefreshConfig(); err != nil || !changed {
		t.Fatalf("pull: changed %v, %v", changed, err)
	}
	st := mustStatus(t, p.Client)
	raw, _ := p.ConfigJSON()
	var cfg struct {
		ConfigVersion int `json:"config_version"`
	}
	json.Unmarshal(raw, &cfg)
	if st.ConfigStale || st.ConfigVersion != 2 || cfg.ConfigVersion != 2 {
		t.Fatalf("after the pull: %+v, cached %s", st, raw)
	}
	// The cache is on disk.
	p.Close()
	c := mustOpen(t, p.path, srv, p.clk)
	if raw2, _ := c.ConfigJSON(); string(raw2) != string(raw) {
		t.Fatalf("cache after reopen: %s", raw2)
	}
}

// A phone enrolled again for another stall (a phone passed to another
// vendor) drops the old stall's config at once: its QR and payout account
// must never be shown for the new stall, even before the next pull or when
// that pull fails. Enrolled again for the same stall, it keeps the config,
// for codes made offline, and its next pull is a whole config.
func TestEnroll_AnotherStall_DropsTheOldStallsConfig(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	if _, err := p.RefreshConfig(); err != nil {
		t.Fatal(err)
	}
	stallOf := func() string {
		raw, err := p.ConfigJSON()
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			Stall struct{ ID string } `json:"stall"`
		}
		json.Unmarshal(raw, &cfg)
		return cfg.Stall.ID
	}
	first := stallOf()
	if err := p.Enroll(srv.EnrollmentCode(first)); err != nil {
		t.Fatal(err)
	}
	if got := stallOf(); got != first {
		t.Fatalf("enrolled again for the same stall: config of %q, want %s kept", got, first)
	}
	if changed, err := p.RefreshConfig(); err != nil || !changed {
		t.Fatalf("the pull after enrolling again: changed %v, %v; want a whole config, not a 304", changed, err)
	}
	other := srv.NewStall()
	if err := p.Enroll(srv.EnrollmentCode(other)); err != nil {
		t.Fatal(err)
	}
	if got := stallOf(); got != "" {
		t.Fatalf("enrolled for another stall: still holds the config of %s", got)
	}
	if _, err := p.RefreshConfig(); err != nil {
		t.Fatal(err)
	}
	if got := stallOf(); got != other {
		t.Fatalf("after the pull: config of %s, want %s", got, other)
	}
}

// SYNC.md §7 #15: wall clock two days slow, anchor valid: anchored time and
// the business day are right. After a reboot the anchor is gone (0) and
// the day comes from the wall clock corrected by the last offset.
func TestClock_AnchorFromResponses_SurvivesWallChangesNotReboots(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	mustSell(t, p.Client, 1, 1000, "cash")
	mustPush(t, p.Client)
	p.clk.Advance(60_000)
	serverNow := p.clk.WallMs()
	p.clk.SetWall(serverNow - 2*24*3600*1000) // the vendor's clock goes two days back
	ev, _ := p.RecordSale(2000, "cash", "")
	if ev.AnchoredMs != serverNow || ev.BusinessDate != "2026-03-02" || ev.CorrectedMs != 0 {
		t.Fatalf("anchored %d corrected %d date %s, want %d, none and 2026-03-02", ev.AnchoredMs, ev.CorrectedMs, ev.BusinessDate, serverNow)
	}
	p.clk.Reboot("boot-2")
	ev, _ = p.RecordSale(3000, "cash", "")
	if ev.AnchoredMs != 0 || ev.BusinessDate != "2026-03-02" {
		t.Fatalf("after reboot: anchored %d date %s, want 0 and the offset-corrected 2026-03-02", ev.AnchoredMs, ev.BusinessDate)
	}
	// The time it dated the sale by goes to the server (SYNC.md §6.10's
	// offset_corrected), so the server dates it alike: the wall clock,
	// two days back, corrected by the offset the anchor left.
	if want := p.clk.WallMs() + 2*24*3600*1000; ev.CorrectedMs < want-1000 || ev.CorrectedMs > want+1000 {
		t.Fatalf("after reboot: corrected %d, want about %d", ev.CorrectedMs, want)
	}
	// Reopening the file keeps the anchor (same boot).
	p.Close()
	p.clk.Advance(1000)
	c := mustOpen(t, p.path, srv, p.clk)
	mustPush(t, c)
	p.clk.Advance(5000)
	ev, _ = c.RecordSale(4000, "cash", "")
	if ev.AnchoredMs == 0 {
		t.Fatal("no anchor after a push in this boot")
	}
}

func TestRun_LoopDrainsThroughLossesAndBackpressure(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv, func(o *Options) { o.NoSync = true; o.BatchSize = 20 })
	srv.Lock()
	srv.DropAfterApply, srv.Answer429, srv.Answer503, srv.RetryAfter, srv.GapNext = 3, 2, 2, "0", 3
	srv.Unlock()
	p.Run()
	for i := 0; i < 150; i++ {
		if _, err := p.RecordSale(int64(1000+i), []string{"cash", "qr", "transfer"}[i%3], ""); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for mustStatus(t, p.Client).Pending > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("loop did not drain: %+v", mustStatus(t, p.Client))
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.Stop()
	wantServerTotals(t, srv, p.stall, mustTally(t, p.Client))
	if got := srv.EventsApplied(); got != 150 {
		t.Fatalf("server applied %d, want 150", got)
	}
}

func TestRun_OfflineHoldsPushesUntilOnline(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	p.SetOnline(false)
	p.Run()
	mustSell(t, p.Client, 3, 1000, "cash")
	time.Sleep(50 * time.Millisecond)
	if srv.Requests != 0 {
		t.Fatalf("pushed %d times while offline", srv.Requests)
	}
	p.SetOnline(true)
	deadline := time.Now().Add(5 * time.Second)
	for mustStatus(t, p.Client).Pending > 0 {
		if time.Now().After(deadline) {
			t.Fatal("not drained after coming online")
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.Close()
}

func TestRun_SteadySalesDoNotPostponeThePushForever(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv, func(o *Options) { o.PushDelayMs = 100; o.NoSync = true })
	p.Run()
	deadline := time.Now().Add(3 * time.Second)
	for srv.EventsApplied() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no push while sales kept coming every 20 ms")
		}
		mustSell(t, p.Client, 1, 1000, "cash")
		time.Sleep(20 * time.Millisecond)
	}
	p.Close()
}

// roundTripFunc is an http.RoundTripper from a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A config pull and pushes that rotate the token do not overlap. Were they
// to, a config request could carry the old token after a push first used
// the new one; the server refuses it, and the phone would read that as
// "enroll again" and stop syncing. Here two pushes try to run between the
// pull reading its token and sending it: the first rotates the token, the
// second uses the new one.
func TestConfig_PullBesidePushesThatRotateTheToken_StaysEnrolled(t *testing.T) {
	p, pushed := pushesDuring(t, "/v1/sync/config")
	if _, err := p.RefreshConfig(); err != nil {
		t.Fatalf("config pull beside the pushes: %v", err)
	}
	<-pushed
	if st := mustStatus(t, p.Client); st.State != StateOK || st.Pending != 0 {
		t.Fatalf("after the pull and the pushes: state %s, %d pending; want ok and none", st.State, st.Pending)
	}
}

// A suspended phone's sales do not each send a push the server refuses:
// only the app's Kick (the vendor says the stall is back) cuts the wait of
// suspendedRetry short.
func TestPush_Suspended_SalesDoNotCutTheRetryShort(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	mustSell(t, p.Client, 1, 1000, "cash")
	srv.Suspend(mustStatus(t, p.Client).DeviceID, true)
	requests := func() int {
		srv.Lock()
		defer srv.Unlock()
		return srv.Requests
	}
	p.Run()
	for deadline := time.Now().Add(10 * time.Second); mustStatus(t, p.Client).State != StateSuspended; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the phone never learnt it was suspended")
		}
	}
	time.Sleep(100 * time.Millisecond)
	before := requests()
	for range 5 {
		mustSell(t, p.Client, 1, 1000, "cash")
		p.SetOnline(false)
		p.SetOnline(true)
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if n := requests() - before; n != 0 {
		t.Fatalf("5 sales and network changes on a suspended phone made %d refused pushes; want none before the %v retry", n, suspendedRetry)
	}
}

// refreshingObserver pulls the config after every push that went through,
// as an app refreshing its QR screen after a sync would.
type refreshingObserver struct{ c **Client }

func (o refreshingObserver) PushDone(r *PushResult) {
	if r.Outcome == OutcomeOK {
		(*o.c).RefreshConfig()
	}
}

// An observer may pull the config (or push) when told of a push: it is
// told after the push let go of the token lock.
func TestPush_ObserverPullingTheConfig_DoesNotDeadlock(t *testing.T) {
	srv := clienttest.New(t)
	var c *Client
	p := newPhone(t, srv, func(o *Options) { o.Observer = refreshingObserver{&c} })
	c = p.Client
	mustSell(t, p.Client, 1, 1000, "cash")
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.PushOnce()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("PushOnce never returned: the observer's config pull waits for the lock the push holds")
	}
	srv.Lock()
	pulls := srv.ConfigPulls
	srv.Unlock()
	if pulls != 1 {
		t.Fatalf("%d config pulls, want the observer's one", pulls)
	}
}

// A void naming the sale in small letters (a ULID is case-blind) voids it
// on the phone as on the server: the phone's day loses it, and a second
// void of it, in capitals, is refused.
func TestVoidSale_SaleIDInSmallLetters(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	sale := mustSell(t, p.Client, 1, 45_000, "cash")[0]
	mustSell(t, p.Client, 1, 20_000, "cash")
	if _, err := p.VoidSale(strings.ToLower(sale.ID), "nhầm"); err != nil {
		t.Fatal(err)
	}
	day, err := p.DayTally("")
	if err != nil || day.Count != 1 || day.Amount != 20_000 || day.VoidCount != 1 {
		t.Fatalf("the phone's day after the void: %+v, %v; want the 20,000 sale left and one void", day, err)
	}
	if _, err := p.VoidSale(sale.ID, "again"); !errors.Is(err, ErrAlreadyVoided) {
		t.Fatalf("a second void of the sale: %v, want ErrAlreadyVoided", err)
	}
}

// A phone enrolled again numbers its events from 1 again: a refusal then
// is kept beside the earlier one, not over it.
func TestReenroll_KeepsEarlierRejections(t *testing.T) {
	srv := clienttest.New(t)
	p, other := newPhone(t, srv), newPhone(t, srv)
	a := mustSell(t, other.Client, 1, 1000, "cash")[0]
	b := mustSell(t, other.Client, 1, 2000, "cash")[0]
	drain(t, other.Client, 3)
	forgeOutboxEvent(t, p, a.ID, 5000) // seq 1: id_conflict
	drain(t, p.Client, 3)
	if n := len(rejections(t, p.Client)); n != 1 {
		t.Fatalf("got %d rejections, want 1", n)
	}
	if err := p.Enroll(srv.EnrollmentCode(p.stall)); err != nil {
		t.Fatal(err)
	}
	forgeOutboxEvent(t, p, b.ID, 6000) // seq 1 of the new device: id_conflict
	drain(t, p.Client, 3)
	if rj := rejections(t, p.Client); len(rj) != 2 {
		t.Fatalf("got %d rejections after enrolling again, want 2: %+v", len(rj), rj)
	}
}

// stoppingObserver stops the loop when told the phone was revoked, as an
// app showing "ask a volunteer" would.
type stoppingObserver struct {
	c    **Client
	done chan struct{}
}

func (o stoppingObserver) PushDone(r *PushResult) {
	if r.Outcome == OutcomeRevoked {
		(*o.c).Stop()
		close(o.done)
	}
}

// An observer may stop the loop that tells it of a push.
func TestObserver_StoppingTheLoop_DoesNotDeadlock(t *testing.T) {
	srv := clienttest.New(t)
	var c *Client
	done := make(chan struct{})
	p := newPhone(t, srv, func(o *Options) { o.Observer = stoppingObserver{&c, done} })
	c = p.Client
	mustSell(t, p.Client, 1, 1000, "cash")
	srv.Revoke(mustStatus(t, p.Client).DeviceID)
	p.Run()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop from the observer never returned")
	}
}
