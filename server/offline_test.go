package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/sync/client"
	"github.com/choso/choso/sync/client/clienttest"
)

// The tests of this file run the phone's own client, on a real bbolt
// outbox, against the real server on loopback, with one clock for the
// server, the registry and the finalizer that a test moves by days.

// movableClock is the server's clock in these tests.
type movableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *movableClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// offlineWorld is a server, its registry and partners on a movable clock,
// and one stall of one market.
type offlineWorld struct {
	*testServer
	clock    *movableClock
	reg      *choso.Registry
	partners *choso.Partners
	admin    *choso.Principal
	market   string
	stall    string
}

func newOfflineWorld(t *testing.T, start time.Time) *offlineWorld {
	t.Helper()
	w := &offlineWorld{clock: &movableClock{t: start}}
	ts := newTestServer(t, func(cfg *Config) {
		cfg.Now = w.clock.Now
		w.reg = &choso.Registry{Store: cfg.Store, Banks: testBanks{}, Hasher: plainHasher{}, Now: w.clock.Now}
		cfg.Registry = w.reg
		w.partners = newTestPartners(cfg.Store)
		w.partners.Now = w.clock.Now
		cfg.Partners = w.partners
	})
	w.testServer = ts
	ctx := context.Background()
	if _, _, err := w.reg.PutRegions(ctx, choso.SystemPrincipal("test"), []*choso.Region{
		{Code: "24", Name: "Tỉnh Bắc Ninh"},
		{Code: "07210", Name: "Phường Bắc Giang", ParentCode: "24"},
	}); err != nil {
		t.Fatal(err)
	}
	u, _, err := w.reg.CreateUser(ctx, choso.SystemPrincipal("test"), choso.NewUser{Username: "admin", Role: choso.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	w.admin = u.Principal()
	m, err := w.reg.CreateMarket(ctx, w.admin, choso.NewMarket{Name: "Chợ Thương", CommuneCode: "07210"})
	if err != nil {
		t.Fatal(err)
	}
	w.market = m.ID
	w.stall = w.newStall(t, "A-1")
	return w
}

func (w *offlineWorld) newStall(t *testing.T, code string) string {
	t.Helper()
	s, err := w.reg.CreateStall(context.Background(), w.admin, w.market, choso.NewStall{
		Code: code, Name: "Bún chả cô Lan", VendorName: "Nguyễn Thị Lan", VendorPhone: "0912345678",
		Payout: choso.PayoutAccount{BIN: "970436", Account: "0011001234567", Holder: "NGUYEN THI LAN"}, ConsentGiven: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s.ID
}

// code is a fresh enrollment code for a stall.
func (w *offlineWorld) code(t *testing.T, stallID string) string {
	t.Helper()
	code, _, err := w.reg.CreateEnrollment(context.Background(), w.admin, stallID)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// offlinePhone is the vendor's app: the real client on a real outbox file,
// with a clock that follows the server's unless a test sets it.
type offlinePhone struct {
	*client.Client
	clk  *clienttest.Clock
	path string
}

// phone enrolls a new phone for a stall, talking to base (the server's
// URL, or a proxy's).
func (w *offlineWorld) phone(t *testing.T, stallID, base string) *offlinePhone {
	t.Helper()
	clk := clienttest.NewClock(w.clock.Now().UnixMilli())
	path := filepath.Join(t.TempDir(), "outbox.db")
	c, err := client.Open(path, &client.Options{ServerURL: base, AppVersion: "test/1", Clock: clk,
		BackoffBaseMs: 20, BackoffCapMs: 200, ReconnectJitterMs: -1, TimeoutMs: 5000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Enroll(w.code(t, stallID)); err != nil {
		t.Fatal(err)
	}
	return &offlinePhone{Client: c, clk: clk, path: path}
}

// advance moves the server's clock and the phone's (both its wall and its
// monotonic clock) by d: time passes for everyone.
func (w *offlineWorld) advance(d time.Duration, phones ...*offlinePhone) {
	w.clock.Advance(d)
	for _, p := range phones {
		p.clk.Advance(d.Milliseconds())
	}
}

func (p *offlinePhone) sell(t *testing.T, n int, amount int64, method string) []*client.Event {
	t.Helper()
	var out []*client.Event
	for range n {
		ev, err := p.RecordSale(amount, method, "")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func (p *offlinePhone) push(t *testing.T) *client.PushResult {
	t.Helper()
	r, err := p.PushOnce()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// drain pushes until the outbox is empty; it fails on any outcome but ok.
func (p *offlinePhone) drain(t *testing.T) {
	t.Helper()
	for range 50 {
		r := p.push(t)
		switch {
		case r.Outcome == client.OutcomeNothing:
			return
		case r.Outcome != client.OutcomeOK:
			t.Fatalf("push: %+v", r)
		case r.Pending == 0:
			return
		}
	}
	t.Fatal("the outbox did not drain in 50 pushes")
}

// stallSales sums a stall's day totals over every date: count and amount,
// net of voids.
func (w *offlineWorld) stallSales(t *testing.T, stallID string) (count, amount int64) {
	t.Helper()
	days, err := w.reg.StallDays(context.Background(), stallID, "2000-01-01", "2999-12-31")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range days {
		for _, m := range d.ByMethod {
			count += m.Count
			amount += m.Amount
		}
	}
	return count, amount
}

func (w *offlineWorld) device(t *testing.T, id string) *choso.Device {
	t.Helper()
	dc, err := w.reg.LoadDeviceContext(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return dc.Device
}

// lossyProxy stands between phones and the server on loopback. It
// forwards every request; when told, it lets the server answer the next
// push and then cuts the phone's connection without the answer, as a 3G
// link that drops after the server committed.
type lossyProxy struct {
	*httptest.Server
	target string
	mu     sync.Mutex
	lose   int
}

func newLossyProxy(t *testing.T, target string) *lossyProxy {
	t.Helper()
	p := &lossyProxy{target: target}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

// loseNextAnswers makes the next n pushes' answers lost.
func (p *lossyProxy) loseNextAnswers(n int) {
	p.mu.Lock()
	p.lose = n
	p.mu.Unlock()
}

func (p *lossyProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	p.mu.Lock()
	lose := r.URL.Path == "/v1/sync/push" && p.lose > 0
	if lose {
		p.lose--
	}
	p.mu.Unlock()
	if lose {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	w.Write(raw)
}

// A phone whose answer carrying a rotated token was lost, and which then
// stays offline past the old token's overlap, is refused 401: its outbox
// stays whole, and enrolled again it brings every sale in once, those the
// lost answer had applied included.
func TestOffline_LostRotationThenPastOverlap_ReenrollBringsEverySaleOnce(t *testing.T) {
	w := newOfflineWorld(t, time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC))
	proxy := newLossyProxy(t, w.URL)
	p := w.phone(t, w.stall, proxy.URL)
	first, _ := p.Status()
	p.sell(t, 3, 10_000, "cash")
	p.drain(t)

	w.advance(choso.TokenRotateAfter+time.Hour, p)
	p.sell(t, 2, 20_000, "qr")
	proxy.loseNextAnswers(1)
	if r := p.push(t); r.Outcome != client.OutcomeNetwork {
		t.Fatalf("push whose answer is lost: %+v", r)
	}
	if d := w.device(t, first.DeviceID); d.AppliedSeq != 5 || len(d.PrevTokenHash) == 0 {
		t.Fatalf("server after the lost answer: applied %d, rotation pending %v; want 5, true", d.AppliedSeq, len(d.PrevTokenHash) > 0)
	}

	// A month and more offline, selling every day.
	for range 35 {
		w.advance(24*time.Hour, p)
		p.sell(t, 1, 5_000, "cash")
	}
	r := p.push(t)
	if r.Outcome != client.OutcomeUnauthorized || r.HTTPStatus != http.StatusUnauthorized || r.Pending != 37 {
		t.Fatalf("push past the overlap: %+v", r)
	}
	if st, _ := p.Status(); st.State != client.StateUnauthorized || st.Pending != 37 {
		t.Fatalf("status past the overlap: %+v", st)
	}
	if _, err := p.Totals(7); client.ErrorKind(err) != client.OutcomeUnauthorized {
		t.Fatalf("a read past the overlap: kind %q (%v)", client.ErrorKind(err), err)
	}

	if err := p.Enroll(w.code(t, w.stall)); err != nil {
		t.Fatal(err)
	}
	p.drain(t)
	count, amount := w.stallSales(t, w.stall)
	if count != 3+2+35 || amount != 3*10_000+2*20_000+35*5_000 {
		t.Fatalf("stall totals: %d sales for %d đồng, want 40 for 245000", count, amount)
	}
	tally, _ := p.TotalTally()
	if tally.Count != count || tally.Amount != amount {
		t.Fatalf("phone tally %+v, server %d for %d", tally, count, amount)
	}
}

// A phone revoked with sales in its outbox, some of which the server had
// applied before (their answer lost), keeps them; enrolled again for its
// stall, it brings each in once.
func TestOffline_RevokedWithPendingSales_ReenrollSameStall_EachOnce(t *testing.T) {
	w := newOfflineWorld(t, time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC))
	proxy := newLossyProxy(t, w.URL)
	p := w.phone(t, w.stall, proxy.URL)
	st, _ := p.Status()
	sales := p.sell(t, 4, 10_000, "qr")
	proxy.loseNextAnswers(1)
	if r := p.push(t); r.Outcome != client.OutcomeNetwork {
		t.Fatalf("push whose answer is lost: %+v", r)
	}
	if _, err := p.VoidSale(sales[1].ID, "nhầm"); err != nil {
		t.Fatal(err)
	}
	p.sell(t, 2, 7_000, "cash")
	if _, err := w.reg.RevokeDevice(context.Background(), w.admin, st.DeviceID); err != nil {
		t.Fatal(err)
	}
	if r := p.push(t); r.Outcome != client.OutcomeRevoked || r.HTTPStatus != http.StatusForbidden || r.Pending != 7 {
		t.Fatalf("push after revocation: %+v", r)
	}
	if err := p.Enroll(w.code(t, w.stall)); err != nil {
		t.Fatal(err)
	}
	p.drain(t)
	count, amount := w.stallSales(t, w.stall)
	if count != 3+2 || amount != 3*10_000+2*7_000 {
		t.Fatalf("stall totals: %d sales for %d đồng, want 5 for 44000", count, amount)
	}
}

// SYNC.md §7 #25: the sales a phone recorded for one stall are that
// stall's. A phone enrolled again for another stall (handed to another
// vendor) while it holds them is refused, and keeps them; enrolled for its
// own stall, it sends them there, and then it may move.
func TestOffline_ReenrollForAnotherStall_PendingSalesStayTheirStalls(t *testing.T) {
	w := newOfflineWorld(t, time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC))
	p := w.phone(t, w.stall, w.URL)
	st, _ := p.Status()
	p.sell(t, 3, 10_000, "cash")
	if _, err := w.reg.RevokeDevice(context.Background(), w.admin, st.DeviceID); err != nil {
		t.Fatal(err)
	}
	if r := p.push(t); r.Outcome != client.OutcomeRevoked {
		t.Fatalf("push after revocation: %+v", r)
	}
	other := w.newStall(t, "B-2")
	err := p.Enroll(w.code(t, other))
	if client.ErrorKind(err) != client.KindOtherStall {
		t.Fatalf("enroll for another stall with 3 sales pending: kind %q (%v), want %q", client.ErrorKind(err), err, client.KindOtherStall)
	}
	if after, _ := p.Status(); after.DeviceID != st.DeviceID || after.StallID != w.stall || after.State != client.StateRevoked || after.Pending != 3 {
		t.Fatalf("after the refused enrollment: %+v, want the old device, revoked, 3 pending", after)
	}
	if count, _ := w.stallSales(t, other); count != 0 {
		t.Fatalf("stall B counts %d sales that stall A's phone recorded", count)
	}

	if err := p.Enroll(w.code(t, w.stall)); err != nil {
		t.Fatal(err)
	}
	p.drain(t)
	// Enrolled again for its own stall, the phone is recorded as the same
	// one; for another stall it is a new install there, whatever it claims.
	own := mustStatusOf(t, p).DeviceID
	if d := w.device(t, own); len(d.Replaces) != 1 || d.Replaces[0] != st.DeviceID {
		t.Fatalf("the phone enrolled again for its stall replaces %v, want [%s]", d.Replaces, st.DeviceID)
	}
	if err := p.Enroll(w.code(t, other)); err != nil {
		t.Fatalf("enroll for another stall with nothing pending: %v", err)
	}
	if d := w.device(t, mustStatusOf(t, p).DeviceID); d.Replaces != nil {
		t.Fatalf("the phone enrolled for another stall replaces %v, want nothing", d.Replaces)
	}
	p.sell(t, 1, 4_000, "qr")
	if _, err := p.CloseDay(""); err != nil {
		t.Fatal(err)
	}
	p.drain(t)
	if d := w.device(t, mustStatusOf(t, p).DeviceID); d.HasFlag(choso.FlagDayCloseMismatch) {
		t.Fatalf("stall B's phone: %s", d.LastError)
	}
	if count, amount := w.stallSales(t, w.stall); count != 3 || amount != 30_000 {
		t.Fatalf("stall A: %d sales for %d đồng, want 3 for 30000", count, amount)
	}
	if count, amount := w.stallSales(t, other); count != 1 || amount != 4_000 {
		t.Fatalf("stall B: %d sales for %d đồng, want 1 for 4000", count, amount)
	}
}

// A phone offline across ten business days and a month's end, closing each
// day, while its stall's other phone syncs every day and the finalizer
// turns the days final behind it: when it comes back, every sale counts on
// its own day, each day it changed is adjusted (or final, if it is new), its
// day.close checks agree, and the month's statement holds the late sales.
func TestOffline_TenDaysAcrossMonthEnd_LateSalesCountOnFinalizedDays(t *testing.T) {
	hcm, err := time.LoadLocation(choso.DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	w := newOfflineWorld(t, time.Date(2026, 3, 25, 10, 0, 0, 0, hcm))
	away := w.phone(t, w.stall, w.URL)
	home := w.phone(t, w.stall, w.URL)
	awayID := mustStatusOf(t, away).DeviceID
	ctx := context.Background()

	var awayCount, awayAmount, homeCount, homeAmount int64
	dates, homeDates := map[string]bool{}, map[string]bool{}
	for day := range 10 {
		date := w.clock.Now().In(hcm).Format(time.DateOnly)
		dates[date] = true
		// The away phone sells every day, and on odd days only.
		n := int64(2 + day%3)
		away.sell(t, int(n), 11_000, "cash")
		awayCount, awayAmount = awayCount+n, awayAmount+n*11_000
		if day%2 == 1 {
			home.sell(t, 1, 3_000, "qr")
			homeCount, homeAmount = homeCount+1, homeAmount+3_000
			homeDates[date] = true
			home.drain(t)
		}
		w.advance(10*time.Hour, away, home) // 20:00: closing time
		if ev, err := away.CloseDay(""); err != nil || ev.BusinessDate != date {
			t.Fatalf("close of %s: %+v %v", date, ev, err)
		}
		if day == 4 {
			away.clk.Reboot("boot-2") // a reboot offline: no anchor, the wall clock corrected by the last offset
		}
		w.advance(14*time.Hour, away, home) // the next morning
		if _, err := w.partners.FinalizeDays(ctx); err != nil {
			t.Fatal(err)
		}
	}
	away.drain(t)

	count, amount := w.stallSales(t, w.stall)
	if count != awayCount+homeCount || amount != awayAmount+homeAmount {
		t.Fatalf("stall totals: %d sales for %d đồng, want %d for %d", count, amount, awayCount+homeCount, awayAmount+homeAmount)
	}
	d := w.device(t, awayID)
	if d.HasFlag(choso.FlagDayCloseMismatch) || d.HasFlag(choso.FlagSuspectClock) || d.HasFlag(choso.FlagGap) {
		t.Fatalf("away phone flags %v (%s)", d.Flags, d.LastError)
	}
	days, err := w.reg.StallDays(ctx, w.stall, "2026-03-01", "2026-04-30")
	if err != nil {
		t.Fatal(err)
	}
	through, _ := w.metaFinalizedThrough(t)
	for _, sd := range days {
		if !dates[sd.Date] {
			t.Errorf("a stall-day on %s, a date nobody sold on", sd.Date)
		}
		var n int64
		for _, m := range sd.ByMethod {
			n += m.Count
		}
		if n < 2 {
			t.Errorf("%s: %d sales, want the away phone's 2 or more", sd.Date, n)
		}
		switch {
		case sd.Date > through && sd.Status != choso.DayProvisional:
			t.Errorf("%s (after %s): %s, want provisional", sd.Date, through, sd.Status)
		case sd.Date <= through && homeDates[sd.Date] && sd.Status != choso.DayAdjusted:
			t.Errorf("%s (finalized through %s, final before the away phone came): %s, want adjusted", sd.Date, through, sd.Status)
		case sd.Date <= through && !homeDates[sd.Date] && sd.Status != choso.DayFinal:
			t.Errorf("%s (finalized through %s, new when the away phone came): %s, want final", sd.Date, through, sd.Status)
		}
	}
	if len(days) != len(dates) {
		t.Errorf("%d stall-days, want %d", len(days), len(dates))
	}
	march, err := w.reg.DeviceStatement(ctx, d, "2026-03")
	if err != nil {
		t.Fatal(err)
	}
	april, err := w.reg.DeviceStatement(ctx, d, "2026-04")
	if err != nil {
		t.Fatal(err)
	}
	if march.Sales.Count+april.Sales.Count != count || march.Sales.Amount+april.Sales.Amount != amount {
		t.Fatalf("statements: March %+v, April %+v; want %d sales for %d in all", march.Sales, april.Sales, count, amount)
	}
}

func mustStatusOf(t *testing.T, p *offlinePhone) *client.Status {
	t.Helper()
	st, err := p.Status()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (w *offlineWorld) metaFinalizedThrough(t *testing.T) (string, error) {
	t.Helper()
	var v []byte
	err := w.Store.View(context.Background(), func(tx choso.Tx) error {
		var err error
		v, err = tx.Meta(choso.MetaFinalizedThrough)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(v), nil
}

// SYNC.md §6.10: a phone whose clock is years off, after a reboot that
// lost its anchor, still has every sale taken: counted once, on the day of
// its last good event, marked suspect, never rejected.
func TestOffline_ClockYearsOff_SalesTakenSuspect(t *testing.T) {
	for _, tt := range []struct {
		name string
		wall time.Time
	}{
		{"five years ahead", time.Date(2031, 7, 1, 2, 0, 0, 0, time.UTC)},
		{"thirty years behind", time.Date(1996, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"the epoch (a dead clock battery)", time.Unix(0, 0)},
		{"before the epoch", time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)},
		{"2038 and past", time.Date(2040, 2, 29, 12, 0, 0, 0, time.UTC)},
		{"past the year 9999", time.Date(10000, 1, 2, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newOfflineWorld(t, time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC))
			p := w.phone(t, w.stall, w.URL)
			p.sell(t, 1, 10_000, "cash")
			p.drain(t)
			good := w.clock.Now().In(time.FixedZone("ICT", 7*3600)).Format(time.DateOnly)
			w.advance(30*time.Hour, p)
			// The vendor sets the clock, then the phone restarts offline:
			// no anchor, and the last offset no longer corrects the clock.
			p.clk.SetWall(tt.wall.UnixMilli())
			p.clk.Reboot("boot-2")
			sales := p.sell(t, 3, 20_000, "qr")
			if _, err := p.VoidSale(sales[0].ID, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := p.CloseDay(""); err != nil {
				t.Fatal(err)
			}
			p.drain(t)
			// A day.close names the day it closes: past the year 9999 the
			// phone's day is no date, and only the close is refused.
			var rejected []struct{ Type, Code string }
			rj, _ := p.RejectedJSON()
			json.Unmarshal(rj, &rejected)
			for _, r := range rejected {
				if r.Type != choso.EventDayClose || tt.wall.Year() < 10000 {
					t.Fatalf("rejected: %s", rj)
				}
			}
			count, amount := w.stallSales(t, w.stall)
			if count != 3 || amount != 50_000 {
				t.Fatalf("stall totals: %d sales for %d đồng, want 3 for 50000", count, amount)
			}
			days, _ := w.reg.StallDays(context.Background(), w.stall, good, good)
			if len(days) != 1 || days[0].ByMethod["qr"].Count != 2 {
				t.Fatalf("day %s: %+v, want the suspect sales on it", good, days)
			}
			st, _ := p.Status()
			if d := w.device(t, st.DeviceID); !d.HasFlag(choso.FlagSuspectClock) {
				t.Fatalf("device flags %v, want suspect_clock", d.Flags)
			}
		})
	}
}

// A phone revoked by mistake and enrolled again for its own stall, on the
// same install, keeps its day's tally: its day.close counts the sales it
// made under the old device too. The server checks it against the sales
// of both devices, whichever device each arrived under: sent before the
// revocation, applied under the old device with the answer lost and sent
// again under the new one (entity_exists), sold after, or one of the old
// device's sales voided from the new one. Money is counted once either way;
// the new device is flagged only if a sale really went missing.
func TestOffline_ReenrolledSameStallMidDay_DayCloseCountsBothDevices(t *testing.T) {
	for _, tt := range []struct {
		name      string
		loseFirst bool // the answer to the first push is lost
		void      bool // the phone voids one of the old device's sales after enrolling again
		pending   bool // two sales still in the outbox at the revocation: numbered again, sent under the new device
	}{
		{name: "pushed before the revocation"},
		{name: "answer lost, sent again under the new device", loseFirst: true},
		{name: "an old sale voided from the new device", void: true},
		{name: "answer lost, then an old sale voided", loseFirst: true, void: true},
		{name: "sales pending at the revocation", pending: true},
		{name: "answer lost and sales pending", loseFirst: true, pending: true, void: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newOfflineWorld(t, time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC))
			proxy := newLossyProxy(t, w.URL)
			p := w.phone(t, w.stall, proxy.URL)
			old := mustStatusOf(t, p).DeviceID
			sales := p.sell(t, 3, 10_000, "cash")
			if tt.loseFirst {
				proxy.loseNextAnswers(1)
				if r := p.push(t); r.Outcome != client.OutcomeNetwork {
					t.Fatalf("push whose answer is lost: %+v", r)
				}
			} else {
				p.drain(t)
			}
			if d := w.device(t, old); d.AppliedSeq != 3 {
				t.Fatalf("old device applied %d, want 3", d.AppliedSeq)
			}
			count, amount := int64(4), int64(3*10_000+25_000)
			if tt.pending {
				p.sell(t, 2, 6_000, "transfer")
				count, amount = count+2, amount+12_000
			}
			if _, err := w.reg.RevokeDevice(context.Background(), w.admin, old); err != nil {
				t.Fatal(err)
			}
			if err := p.Enroll(w.code(t, w.stall)); err != nil {
				t.Fatal(err)
			}
			if tt.void {
				if _, err := p.VoidSale(sales[0].ID, "nhầm"); err != nil {
					t.Fatal(err)
				}
				count, amount = count-1, amount-10_000
			}
			p.sell(t, 1, 25_000, "qr")
			if _, err := p.CloseDay(""); err != nil {
				t.Fatal(err)
			}
			p.drain(t)

			st := mustStatusOf(t, p)
			if st.DeviceID == old {
				t.Fatal("the phone kept its old device")
			}
			if tally, _ := p.DayTally(""); tally.Count != count || tally.Amount != amount {
				t.Fatalf("phone tally %d for %d, want %d for %d", tally.Count, tally.Amount, count, amount)
			}
			if c, a := w.stallSales(t, w.stall); c != count || a != amount {
				t.Fatalf("stall totals: %d sales for %d đồng, want %d for %d", c, a, count, amount)
			}
			if d := w.device(t, st.DeviceID); d.HasFlag(choso.FlagDayCloseMismatch) || d.LastError != "" {
				t.Fatalf("new device flags %v: %s", d.Flags, d.LastError)
			}
		})
	}
}
