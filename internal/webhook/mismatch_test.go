package webhook

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/secret"
	"github.com/choso/choso/internal/store/bolt"
)

// fixture is a store with one stall of province 24 and a partner whose
// webhook is a receiver on loopback.
type fixture struct {
	db      *bolt.DB
	ps      *choso.Partners
	reg     *choso.Registry
	stall   *choso.Stall
	market  *choso.Market
	partner *choso.Partner
	rcv     *receiver
	now     time.Time
	d       *Dispatcher
}

const (
	testBIN     = "970436"
	testAccount = "0011001234567"
	testDate    = "2026-11-20"
)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "choso.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	f := &fixture{db: db, now: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	f.reg = &choso.Registry{Store: db, Banks: banks{}, Hasher: plainHasher{}, Now: clock}
	sealer, err := secret.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	f.ps = &choso.Partners{Store: db, Sealer: sealer, Now: clock, Location: time.LoadLocation}
	admin := choso.SystemPrincipal("test")
	f.reg.PutRegions(ctx, admin, []*choso.Region{{Code: "24", Name: "Tỉnh Bắc Ninh"}, {Code: "07210", Name: "Phường Bắc Giang", ParentCode: "24"}})
	if f.market, err = f.reg.CreateMarket(ctx, admin, choso.NewMarket{Name: "Chợ Thương", CommuneCode: "07210"}); err != nil {
		t.Fatal(err)
	}
	f.stall, err = f.reg.CreateStall(ctx, admin, f.market.ID, choso.NewStall{Code: "A-1", Name: "Rau", VendorName: "Lê Thị Hoa", VendorPhone: "0912345678",
		Payout: choso.PayoutAccount{BIN: testBIN, Account: testAccount, Holder: "LE THI HOA"}, ConsentGiven: true})
	if err != nil {
		t.Fatal(err)
	}
	if f.partner, _, _, err = f.ps.AddPartner(ctx, admin, choso.NewPartner{Name: "VCB", Provinces: []string{"24"}}); err != nil {
		t.Fatal(err)
	}
	f.rcv = &receiver{}
	srv := httptest.NewServer(f.rcv)
	t.Cleanup(srv.Close)
	whs, err := f.ps.SetWebhook(ctx, admin, f.partner.ID, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	f.rcv.secret = []byte(whs)
	f.d = &Dispatcher{Partners: f.ps, Now: clock}
	return f
}

// day writes a revision of the stall's day on testDate with the status
// given, as the sync rules or the finalizer would.
func (f *fixture) day(t *testing.T, status string, cash int64) {
	t.Helper()
	f.dayOn(t, testDate, status, map[string]choso.MethodTotals{choso.MethodCash: {Count: 1, Amount: cash}})
}

// dayOn writes a revision of the stall's day on date with the status and
// totals given.
func (f *fixture) dayOn(t *testing.T, date, status string, byMethod map[string]choso.MethodTotals) {
	t.Helper()
	f.dayOf(t, testAccount, date, status, byMethod)
}

// dayOf is dayOn for a day that, when it is new, names account as the
// stall's (its account after a payout change).
func (f *fixture) dayOf(t *testing.T, account, date, status string, byMethod map[string]choso.MethodTotals) {
	t.Helper()
	err := f.db.Update(t.Context(), func(tx choso.Tx) error {
		d, err := tx.FindStallDay(f.stall.ID, date)
		if choso.ErrorCode(err) == choso.ENotFound {
			d, err = &choso.StallDay{StallID: f.stall.ID, MarketID: f.market.ID, CommuneCode: "07210", ProvinceCode: "24", Date: date,
				StallCode: f.stall.Code, BIN: testBIN, Account: account}, nil
		}
		if err != nil {
			return err
		}
		d.Status, d.UpdatedAt, d.ByMethod = status, f.now, byMethod
		seq, err := tx.AppendChange(&choso.Change{Day: *d, At: f.now})
		if err != nil {
			return err
		}
		d.Revision = seq
		return tx.PutStallDay(d)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// qrSale records a QR sale of the stall on testDate at 10:00 local time,
// as the sync rules index it.
func (f *fixture) qrSale(t *testing.T, id string, amount int64) time.Time {
	t.Helper()
	loc, _ := time.LoadLocation(choso.DefaultTimeZone)
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, loc)
	f.qrSaleAt(t, id, amount, at, testDate)
	return at
}

// qrSaleAt records a QR sale of the stall at a time, counted on date.
func (f *fixture) qrSaleAt(t *testing.T, id string, amount int64, at time.Time, date string) {
	t.Helper()
	err := f.db.Update(t.Context(), func(tx choso.Tx) error {
		if err := tx.PutEntity(id, &choso.Entity{Type: "sale.record", StallID: f.stall.ID, BusinessDate: date, Method: choso.MethodQR,
			Amount: amount, EffectiveMs: at.UnixMilli()}); err != nil {
			return err
		}
		return tx.PutQRSale(f.stall.ID, at.UnixMilli(), id)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) credit(t *testing.T, id string, amount int64, at time.Time) string {
	t.Helper()
	res, err := f.ps.PostCredits(t.Context(), f.partner, []choso.CreditInput{{BankTxnID: id, BIN: testBIN, Account: testAccount, Amount: amount, CreditedAt: at, Content: "chuyen tien"}})
	if err != nil || res[0].Status != choso.CreditCreated {
		t.Fatalf("credit %s: %+v %v", id, res, err)
	}
	return res[0].Credit.MatchKind
}

// tick runs one round and moves the clock past any backoff.
func (f *fixture) tick(t *testing.T) {
	f.d.Tick(t.Context())
	f.now = f.now.Add(15 * time.Minute)
}

func (f *fixture) status(t *testing.T) *choso.Reconciliation {
	t.Helper()
	rec, err := f.ps.Reconcile(t.Context(), f.partner, testDate, testBIN, testAccount)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func reasons(ev receivedEvent) string { return strings.Join(ev.mismatch().Reasons, ",") }

// told lists mismatch events as "date: reasons" for a failure message.
func told(evs []receivedEvent) string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.mismatch().BusinessDate+": "+reasons(ev))
	}
	return "[" + strings.Join(out, "; ") + "]"
}

// A day that turns mismatch is told once; re-runs that find the same
// mismatch tell nothing more; when it turns matched and then mismatch
// again, that is a new change of state, told again.
func TestDispatcher_ReconciliationMismatch_OncePerChangeOfState(t *testing.T) {
	f := newFixture(t)
	sale := f.qrSale(t, "01JSALE0000000000000000001", 45000)
	f.day(t, choso.DayProvisional, 1000)
	f.tick(t)
	if got := f.rcv.events(EventReconciliationMismatch); len(got) != 0 {
		t.Fatalf("a provisional day (pending) was told as a mismatch: %+v", got)
	}

	// The day turns final: the unpaid QR sale is a mismatch.
	f.day(t, choso.DayFinal, 1000)
	f.tick(t)
	got := f.rcv.events(EventReconciliationMismatch)
	if len(got) != 1 {
		t.Fatalf("after the day turned final: %d mismatch events, want 1", len(got))
	}
	m := got[0].mismatch()
	if m.BIN != testBIN || m.Account != testAccount || m.BusinessDate != testDate || m.StallID != f.stall.ID ||
		reasons(got[0]) != "amount_differs,unmatched_qr_sales" || got[0].Header != got[0].ID || !strings.HasPrefix(got[0].ID, choso.PrefixEvent) {
		t.Fatalf("mismatch event %+v %+v, want account %s %s on %s, reasons amount_differs,unmatched_qr_sales", got[0], m, testBIN, testAccount, testDate)
	}
	if rec := f.status(t); rec.Status != choso.ReconMismatch {
		t.Fatalf("reconciliation %s, want mismatch", rec.Status)
	}

	// Re-runs of the same state: an adjusted revision with other cash
	// figures, and rounds with nothing new.
	f.day(t, choso.DayAdjusted, 2000)
	f.tick(t)
	f.tick(t)
	if got := f.rcv.events(EventReconciliationMismatch); len(got) != 1 {
		t.Fatalf("re-runs of an unchanged mismatch sent %d events, want still 1", len(got))
	}

	// The bank's credit pays the sale (amount and time): matched, nothing
	// to tell.
	if kind := f.credit(t, "FT1", 45000, sale.Add(time.Minute)); kind != choso.MatchAmountTime {
		t.Fatalf("credit matched by %s, want amount_time", kind)
	}
	f.tick(t)
	if rec := f.status(t); rec.Status != choso.ReconMatched {
		t.Fatalf("after the credit: %s %v, want matched", rec.Status, rec.Reasons)
	}
	if got := f.rcv.events(EventReconciliationMismatch); len(got) != 1 {
		t.Fatalf("a day that turned matched sent a mismatch event: %d events", len(got))
	}

	// A credit nothing explains: mismatch again, with other reasons.
	if kind := f.credit(t, "FT2", 99000, sale.Add(3*time.Hour)); kind != choso.MatchAccountOnly {
		t.Fatalf("credit matched by %s, want account_only", kind)
	}
	f.tick(t)
	f.tick(t)
	got = f.rcv.events(EventReconciliationMismatch)
	if len(got) != 2 || reasons(got[1]) != "amount_differs,unmatched_bank_lines" || got[1].ID == got[0].ID {
		t.Fatalf("after an unexplained credit: %+v, want a second event with reasons amount_differs,unmatched_bank_lines", got)
	}

	// A new dispatcher (a restart) does not tell it again: the state is
	// in the store.
	f.d = &Dispatcher{Partners: f.ps, Now: f.d.Now}
	f.tick(t)
	if got := f.rcv.events(EventReconciliationMismatch); len(got) != 2 {
		t.Fatalf("after a restart: %d mismatch events, want still 2", len(got))
	}
	if f.rcv.bad != 0 {
		t.Fatalf("%d badly signed deliveries", f.rcv.bad)
	}
}

// A sale at 23:58 paid at 00:03, the credit posted before the phone synced
// the sale: the credit's day reconciles as a mismatch (a bank line with no
// sale). The late pass then matches it. The feed names the sale's day, not
// the credit's, so the credit's day must be re-run: it turns matched (the
// bank line is paired with the day before's sale), which is told by
// nothing, but a later mismatch of the same reasons is told again.
func TestDispatcher_ReconciliationMismatch_LateMatchReRunsTheCreditsDay(t *testing.T) {
	f := newFixture(t)
	loc, _ := time.LoadLocation(choso.DefaultTimeZone)
	const creditDate = "2026-11-21"
	f.dayOn(t, creditDate, choso.DayFinal, map[string]choso.MethodTotals{choso.MethodCash: {Count: 1, Amount: 1000}})
	f.tick(t) // the partner's re-runs start at the feed's end
	if kind := f.credit(t, "FT1", 37000, time.Date(2026, 11, 21, 0, 3, 0, 0, loc)); kind != choso.MatchAccountOnly {
		t.Fatalf("credit before its sale matched by %s, want account_only", kind)
	}
	f.tick(t)
	got := f.rcv.events(EventReconciliationMismatch)
	if len(got) != 1 || got[0].mismatch().BusinessDate != creditDate || reasons(got[0]) != "amount_differs,unmatched_bank_lines" {
		t.Fatalf("after the credit: %s, want one mismatch on %s: amount_differs,unmatched_bank_lines", told(got), creditDate)
	}

	// The phone syncs the sale, on the day before.
	f.qrSaleAt(t, "01JSALE0000000000000000009", 37000, time.Date(2026, 11, 20, 23, 58, 0, 0, loc), testDate)
	f.dayOn(t, testDate, choso.DayProvisional, map[string]choso.MethodTotals{choso.MethodQR: {Count: 1, Amount: 37000}})
	if n, _, err := f.ps.MatchLateCredits(t.Context()); err != nil || n != 1 {
		t.Fatalf("late pass: %d matched, %v; want 1", n, err)
	}
	f.tick(t)
	if got := f.rcv.events(EventReconciliationMismatch); len(got) != 1 {
		t.Fatalf("after the late match: %s, want still the one mismatch (the day turned matched)", told(got))
	}
	rec, err := f.ps.Reconcile(t.Context(), f.partner, creditDate, testBIN, testAccount)
	if err != nil || rec.Status != choso.ReconMatched || !slices.Equal(rec.Notes, []string{"day_boundary"}) {
		t.Fatalf("reconciliation of %s after the late match: %+v, %v; want matched, noted day_boundary", creditDate, rec, err)
	}

	// Were the credit's day not re-run, the dispatcher would still hold its
	// first mismatch, and this one, of the same reasons, would go untold.
	if kind := f.credit(t, "FT2", 5000, time.Date(2026, 11, 21, 10, 0, 0, 0, loc)); kind != choso.MatchAccountOnly {
		t.Fatalf("second credit matched by %s, want account_only", kind)
	}
	f.tick(t)
	got = f.rcv.events(EventReconciliationMismatch)
	if len(got) != 2 || got[1].mismatch().BusinessDate != creditDate || reasons(got[1]) != "amount_differs,unmatched_bank_lines" {
		t.Fatalf("after an unmatched credit: %s, want a second event on %s: amount_differs,unmatched_bank_lines", told(got), creditDate)
	}
}

// A sale at 23:58 paid at 00:03, the sale synced first: one payment on two
// business days. Each day lists its own line, paired with the other day's,
// and both reconcile matched, noted day_boundary, so nothing is told. Were
// the sale voided, the credit would be money for no sale: its day turns
// mismatch, and that is told.
//
// It runs again with every read transaction run twice, as PostgreSQL runs
// one again after a serialization failure: the re-runs' results must stay
// with their days.
func TestReconcile_PaymentAcrossMidnight_BothDaysMatch(t *testing.T) {
	t.Run("once", func(t *testing.T) { testPaymentAcrossMidnight(t, false) })
	t.Run("read transactions run twice", func(t *testing.T) { testPaymentAcrossMidnight(t, true) })
}

// viewsTwice runs every read transaction twice.
type viewsTwice struct{ choso.Store }

func (s viewsTwice) View(ctx context.Context, fn func(choso.Tx) error) error {
	if err := s.Store.View(ctx, fn); err != nil {
		return err
	}
	return s.Store.View(ctx, fn)
}

func testPaymentAcrossMidnight(t *testing.T, twice bool) {
	f := newFixture(t)
	if twice {
		f.ps.Store = viewsTwice{f.db}
	}
	loc, _ := time.LoadLocation(choso.DefaultTimeZone)
	const creditDate = "2026-11-21"
	const sale = "01JSALE0000000000000000009"
	f.tick(t) // the partner's re-runs start at the feed's end
	f.qrSaleAt(t, sale, 37000, time.Date(2026, 11, 20, 23, 58, 0, 0, loc), testDate)
	f.dayOn(t, testDate, choso.DayFinal, map[string]choso.MethodTotals{choso.MethodQR: {Count: 1, Amount: 37000}})
	f.dayOn(t, creditDate, choso.DayFinal, map[string]choso.MethodTotals{choso.MethodCash: {Count: 1, Amount: 1000}})
	if kind := f.credit(t, "FT1", 37000, time.Date(2026, 11, 21, 0, 3, 0, 0, loc)); kind != choso.MatchAmountTime {
		t.Fatalf("credit matched by %s, want amount_time", kind)
	}
	f.tick(t)
	for _, date := range []string{testDate, creditDate} {
		rec, err := f.ps.Reconcile(t.Context(), f.partner, date, testBIN, testAccount)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status != choso.ReconMatched || len(rec.Reasons) != 0 || !slices.Equal(rec.Notes, []string{"day_boundary"}) || len(rec.Lines) != 1 {
			t.Errorf("reconciliation of %s: %s, reasons %v, notes %v, %d lines; want matched, no reasons, noted day_boundary, its one line",
				date, rec.Status, rec.Reasons, rec.Notes, len(rec.Lines))
		}
	}
	if got := f.rcv.events(EventReconciliationMismatch); len(got) != 0 {
		t.Fatalf("mismatches told: %s, want none", told(got))
	}

	err := f.db.Update(t.Context(), func(tx choso.Tx) error {
		e, err := tx.FindEntity(sale)
		if err != nil {
			return err
		}
		e.VoidedBy = "01JVOID0000000000000000009"
		return tx.PutEntity(sale, e)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.dayOn(t, testDate, choso.DayAdjusted, map[string]choso.MethodTotals{})
	f.tick(t)
	rec, err := f.ps.Reconcile(t.Context(), f.partner, creditDate, testBIN, testAccount)
	if err != nil || rec.Status != choso.ReconMismatch || !slices.Equal(rec.Reasons, []string{"amount_differs"}) || len(rec.Notes) != 0 {
		t.Fatalf("the credit's day once its sale is voided: %+v, %v; want mismatch, amount_differs, no notes", rec, err)
	}
	got := f.rcv.events(EventReconciliationMismatch)
	if len(got) != 1 || got[0].mismatch().BusinessDate != creditDate || reasons(got[0]) != "amount_differs" {
		t.Fatalf("after the void: %s, want one mismatch on %s: amount_differs", told(got), creditDate)
	}
}

// A vendor's payout account changes at 09:00 UTC (16:00 in Vietnam). A
// customer had paid the old account at 15:01 from the card printed before,
// and its bank posts that credit after the change: it still pays the
// stall's 15:00 sale. Each account's reconciliation holds the sales whose
// money came to it, or, not paid yet, that were made while it was in force:
// both reconcile, neither lists the other's.
func TestReconcile_PayoutAccountChanged(t *testing.T) {
	f := newFixture(t)
	loc, _ := time.LoadLocation(choso.DefaultTimeZone)
	const day, newAccount = "2026-11-26", "0011009999999"
	f.qrSaleAt(t, "01JSALE000000000000000000A", 37000, time.Date(2026, 11, 26, 15, 0, 0, 0, loc), day)
	f.qrSaleAt(t, "01JSALE000000000000000000B", 52000, time.Date(2026, 11, 26, 17, 0, 0, 0, loc), day)
	f.qrSaleAt(t, "01JSALE000000000000000000C", 5000, time.Date(2026, 11, 26, 14, 0, 0, 0, loc), day) // never paid
	f.dayOn(t, day, choso.DayFinal, map[string]choso.MethodTotals{choso.MethodQR: {Count: 3, Amount: 94000}})
	if _, err := f.reg.ProposePayoutChange(t.Context(), choso.SystemPrincipal("volunteer"), f.stall.ID,
		choso.PayoutAccount{BIN: testBIN, Account: newAccount, Holder: "LE THI HOA"}); err != nil {
		t.Fatal(err)
	}
	st, err := f.reg.ApprovePayoutChange(t.Context(), choso.SystemPrincipal("admin"), f.stall.ID, time.Time{})
	if err != nil || len(st.FormerPayouts) != 1 || st.FormerPayouts[0].Account.Account != testAccount {
		t.Fatalf("after the change: %+v, %v; want the old account kept as former", st, err)
	}
	f.now = time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC)
	post := func(id, account string, amount int64, at time.Time) *choso.Credit {
		t.Helper()
		res, err := f.ps.PostCredits(t.Context(), f.partner, []choso.CreditInput{{BankTxnID: id, BIN: testBIN, Account: account, Amount: amount, CreditedAt: at, Content: "chuyen tien"}})
		if err != nil || res[0].Status != choso.CreditCreated {
			t.Fatalf("credit %s: %+v, %v", id, res, err)
		}
		return res[0].Credit
	}
	if c := post("FT1", testAccount, 37000, time.Date(2026, 11, 26, 15, 1, 0, 0, loc)); c.StallID != f.stall.ID || c.SaleID != "01JSALE000000000000000000A" {
		t.Fatalf("a credit to the former account: stall %q, sale %q by %s; want the stall's 15:00 sale", c.StallID, c.SaleID, c.MatchKind)
	}
	if c := post("FT2", newAccount, 52000, time.Date(2026, 11, 26, 17, 1, 0, 0, loc)); c.SaleID != "01JSALE000000000000000000B" {
		t.Fatalf("a credit to the new account: sale %q by %s; want the 17:00 sale", c.SaleID, c.MatchKind)
	}
	for _, c := range []struct {
		account string
		sales   []string
		reasons []string
	}{
		{testAccount, []string{"01JSALE000000000000000000A", "01JSALE000000000000000000C"}, []string{"unmatched_qr_sales", "amount_differs"}},
		{newAccount, []string{"01JSALE000000000000000000B"}, []string{}},
	} {
		rec, err := f.ps.Reconcile(t.Context(), f.partner, day, testBIN, c.account)
		if err != nil {
			t.Fatalf("reconciliation of %s: %v", c.account, err)
		}
		var sales []string
		for _, l := range rec.Lines {
			if l.Kind == "sale" {
				sales = append(sales, l.ID)
			}
		}
		slices.Sort(sales)
		if !slices.Equal(sales, c.sales) || !slices.Equal(rec.Reasons, c.reasons) {
			t.Errorf("reconciliation of %s: sales %v, reasons %v; want %v and %v", c.account, sales, rec.Reasons, c.sales, c.reasons)
		}
	}
}

// A QR sale made while the old payout account was in force and never paid
// is the old account's to reconcile. When its day turns final, the day
// names the stall's new account; the old account's day is re-run too, and
// its mismatch told, though no credit to it came.
func TestDispatcher_ReconciliationMismatch_FormerAccountsDayIsReRun(t *testing.T) {
	f := newFixture(t)
	loc, _ := time.LoadLocation(choso.DefaultTimeZone)
	const day, newAccount = "2026-11-26", "0011009999999"
	f.tick(t) // the partner's re-runs start at the feed's end
	f.qrSaleAt(t, "01JSALE000000000000000000C", 5000, time.Date(2026, 11, 26, 14, 0, 0, 0, loc), day)
	if _, err := f.reg.ProposePayoutChange(t.Context(), choso.SystemPrincipal("volunteer"), f.stall.ID,
		choso.PayoutAccount{BIN: testBIN, Account: newAccount, Holder: "LE THI HOA"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.ApprovePayoutChange(t.Context(), choso.SystemPrincipal("admin"), f.stall.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.dayOf(t, newAccount, day, choso.DayFinal, map[string]choso.MethodTotals{choso.MethodQR: {Count: 1, Amount: 5000}})
	f.tick(t)
	got := f.rcv.events(EventReconciliationMismatch)
	if len(got) != 1 || got[0].mismatch().Account != testAccount || got[0].mismatch().BusinessDate != day || reasons(got[0]) != "amount_differs,unmatched_qr_sales" {
		t.Fatalf("after the day turned final: %s, want one mismatch of the former account on %s: amount_differs,unmatched_qr_sales", told(got), day)
	}
}

// Credits to a stall on days it recorded nothing (a vendor who takes QR
// payments without the app): each credit starts the stall's day with no
// sales, so the finalizer turns it final like any day and the partner is
// told of the bank line no sale explains, rather than the reconciliation
// staying pending for ever. A credit to a date the finalizer has already
// passed starts its day final.
func TestDispatcher_ReconciliationMismatch_CreditsOnADayWithNoSales(t *testing.T) {
	f := newFixture(t)
	loc, _ := time.LoadLocation(choso.DefaultTimeZone)
	f.tick(t) // the partner's re-runs start at the feed's end
	if kind := f.credit(t, "FT1", 45000, time.Date(2026, 11, 20, 10, 0, 0, 0, loc)); kind != choso.MatchAccountOnly {
		t.Fatalf("credit matched by %s, want account_only", kind)
	}
	f.tick(t)
	if rec := f.status(t); rec.Status != choso.ReconPending || rec.DayStatus != choso.DayProvisional {
		t.Fatalf("before the day is final: %s (day %s), want pending", rec.Status, rec.DayStatus)
	}
	if got := f.rcv.events(EventReconciliationMismatch); len(got) != 0 {
		t.Fatalf("a pending day was told: %s", told(got))
	}
	if _, err := f.ps.FinalizeDays(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.tick(t)
	got := f.rcv.events(EventReconciliationMismatch)
	if len(got) != 1 || got[0].mismatch().BusinessDate != testDate || reasons(got[0]) != "amount_differs,unmatched_bank_lines" {
		t.Fatalf("after the finalizer: %s, want one mismatch on %s: amount_differs,unmatched_bank_lines", told(got), testDate)
	}
	var day *choso.StallDay
	err := f.db.View(t.Context(), func(tx choso.Tx) (err error) { day, err = tx.FindStallDay(f.stall.ID, testDate); return err })
	if err != nil || day.Status != choso.DayFinal || len(day.ByMethod) != 0 || day.BIN != testBIN || day.ProvinceCode != "24" {
		t.Fatalf("the day the credit started: %+v, %v; want final, no sales, the stall's account and province", day, err)
	}

	// The finalizer has passed the 19th: a credit to it starts its day final.
	if kind := f.credit(t, "FT2", 20000, time.Date(2026, 11, 19, 10, 0, 0, 0, loc)); kind != choso.MatchAccountOnly {
		t.Fatalf("credit matched by %s, want account_only", kind)
	}
	f.tick(t)
	got = f.rcv.events(EventReconciliationMismatch)
	if len(got) != 2 || got[1].mismatch().BusinessDate != "2026-11-19" || reasons(got[1]) != "amount_differs,unmatched_bank_lines" {
		t.Fatalf("after a credit to a finalized date: %s, want a second mismatch on 2026-11-19", told(got))
	}
}

// A credit matched to its sale as it is posted, on the day after the
// sale's (a sale at 23:58 paid at 00:03), on which the stall recorded
// nothing: the credit's own day is started too, so the finalizer closes it
// and its reconciliation does not stay pending for good.
func TestDispatcher_CreditMatchedAcrossMidnight_ItsOwnDayTurnsFinal(t *testing.T) {
	f := newFixture(t)
	loc, _ := time.LoadLocation(choso.DefaultTimeZone)
	const creditDate = "2026-11-21"
	f.qrSaleAt(t, "01JSALE0000000000000000009", 37000, time.Date(2026, 11, 20, 23, 58, 0, 0, loc), testDate)
	f.dayOn(t, testDate, choso.DayProvisional, map[string]choso.MethodTotals{choso.MethodQR: {Count: 1, Amount: 37000}})
	if kind := f.credit(t, "FT1", 37000, time.Date(2026, 11, 21, 0, 3, 0, 0, loc)); kind != choso.MatchAmountTime {
		t.Fatalf("matched by %s, want amount_time", kind)
	}
	if _, err := f.ps.FinalizeDays(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec, err := f.ps.Reconcile(t.Context(), f.partner, creditDate, testBIN, testAccount)
	if err != nil || rec.Status == choso.ReconPending || rec.DayStatus != choso.DayFinal {
		t.Fatalf("%s after the finalizer: %+v, %v; want its day final, not pending", creditDate, rec, err)
	}
}

// A failed delivery is retried with backoff under the same webhook-id
// until the receiver takes it, and every attempt is in the delivery log.
func TestDispatcher_ReconciliationMismatch_RetriedUntilTaken(t *testing.T) {
	f := newFixture(t)
	f.qrSale(t, "01JSALE0000000000000000001", 45000)
	f.day(t, choso.DayFinal, 1000)
	f.d.Tick(t.Context()) // summaries.changed, then the mismatch notice
	if got := f.rcv.events(""); len(got) != 2 {
		t.Fatalf("first round: %+v, want summaries.changed and reconciliation.mismatch", got)
	}
	first := f.rcv.events(EventReconciliationMismatch)[0]

	// Another mismatch on another day, whose deliveries fail twice.
	f.rcv.mu.Lock()
	f.rcv.got, f.rcv.tried, f.rcv.failures = nil, nil, 2
	f.rcv.mu.Unlock()
	loc, _ := time.LoadLocation(choso.DefaultTimeZone)
	f.credit(t, "FT9", 5000, time.Date(2026, 11, 21, 9, 0, 0, 0, loc))
	if err := f.db.Update(t.Context(), func(tx choso.Tx) error {
		d := &choso.StallDay{StallID: f.stall.ID, MarketID: f.market.ID, CommuneCode: "07210", ProvinceCode: "24", Date: "2026-11-21",
			Status: choso.DayFinal, StallCode: f.stall.Code, BIN: testBIN, Account: testAccount, UpdatedAt: f.now}
		seq, err := tx.AppendChange(&choso.Change{Day: *d, At: f.now})
		d.Revision = seq
		if err != nil {
			return err
		}
		return tx.PutStallDay(d)
	}); err != nil {
		t.Fatal(err)
	}
	f.d.Tick(t.Context())              // summaries.changed fails (502)
	f.d.Tick(t.Context())              // within the backoff: no attempt
	f.now = f.now.Add(2 * time.Second) // past it
	f.d.Tick(t.Context())              // summaries.changed fails again
	f.now = f.now.Add(3 * time.Second)
	f.d.Tick(t.Context()) // both delivered
	f.d.Tick(t.Context()) // nothing new
	got := f.rcv.events(EventReconciliationMismatch)
	if len(got) != 1 || got[0].mismatch().BusinessDate != "2026-11-21" || got[0].ID == first.ID {
		t.Fatalf("retried: %+v, want the 2026-11-21 mismatch once", got)
	}
	if tried := f.rcv.tried; len(tried) != 4 || tried[0] == tried[1] || tried[3] != got[0].ID {
		t.Fatalf("attempts %v: want 2 failed summaries.changed (fresh ids), then summaries.changed and the mismatch", tried)
	}

	// Now the mismatch notice itself fails: retried under its own ID.
	f.rcv.mu.Lock()
	f.rcv.got, f.rcv.tried, f.rcv.failures = nil, nil, 1
	f.rcv.mu.Unlock()
	f.credit(t, "FT10", 7000, time.Date(2026, 11, 21, 9, 30, 0, 0, loc)) // same day, same reasons: no event
	f.credit(t, "FT11", 7000, time.Date(2026, 11, 20, 11, 0, 0, 0, loc)) // 11-20 gains unmatched_bank_lines
	f.d.Tick(t.Context())
	f.now = f.now.Add(2 * time.Second)
	f.d.Tick(t.Context())
	f.d.Tick(t.Context())
	got = f.rcv.events(EventReconciliationMismatch)
	if len(got) != 1 || got[0].mismatch().BusinessDate != testDate || reasons(got[0]) != "amount_differs,unmatched_bank_lines,unmatched_qr_sales" {
		t.Fatalf("after FT10 and FT11: %+v, want one event for %s with three reasons", got, testDate)
	}
	if tried := f.rcv.tried; len(tried) != 2 || tried[0] != tried[1] {
		t.Fatalf("attempts %v: want the same webhook-id twice (failed, then taken)", tried)
	}

	page, err := f.reg.ListAudit(t.Context(), choso.SystemPrincipal("test"), choso.AuditFilter{ObjectID: f.partner.ID, ActorID: "webhook"})
	if err != nil {
		t.Fatal(err)
	}
	var mismatchLog []string
	for _, e := range page.Data {
		if strings.Contains(e.Note, EventReconciliationMismatch) {
			mismatchLog = append(mismatchLog, e.Action)
		}
	}
	slices.Reverse(mismatchLog) // the log lists newest first
	if got, want := strings.Join(mismatchLog, " "), "webhook.delivered webhook.delivered webhook.failed webhook.delivered"; got != want {
		t.Fatalf("delivery log of mismatch events %q, want %q", got, want)
	}
}

// Days that were mismatched before the webhook was set are history: the
// first round tells of changes after it only.
func TestDispatcher_ReconciliationMismatch_NewsNotHistory(t *testing.T) {
	f := newFixture(t)
	if _, err := f.ps.SetWebhook(t.Context(), choso.SystemPrincipal("test"), f.partner.ID, ""); err != nil {
		t.Fatal(err)
	}
	f.qrSale(t, "01JSALE0000000000000000001", 45000)
	f.day(t, choso.DayFinal, 1000)
	whs, err := f.ps.SetWebhook(t.Context(), choso.SystemPrincipal("test"), f.partner.ID, "http://127.0.0.1:1/unused")
	if err != nil {
		t.Fatal(err)
	}
	_ = whs
	n, more, err := f.ps.RerunReconciliations(t.Context(), f.partner)
	if err != nil || n != 0 || more {
		t.Fatalf("first pass: %d re-run, more %v, %v; want nothing: the mismatch predates the webhook", n, more, err)
	}
	if q, _ := f.ps.ReconNotices(t.Context(), f.partner.ID); len(q) != 0 {
		t.Fatalf("queued %+v, want nothing", q)
	}
}

// Delivery never holds up ingest: while the receiver hangs on a delivery,
// credits and phone data still commit.
func TestDispatcher_SlowReceiverDoesNotBlockIngest(t *testing.T) {
	f := newFixture(t)
	f.qrSale(t, "01JSALE0000000000000000001", 45000)
	f.day(t, choso.DayFinal, 1000)
	hold := make(chan struct{})
	f.rcv.mu.Lock()
	f.rcv.hold = hold
	f.rcv.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.d.Tick(context.Background())
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	loc, _ := time.LoadLocation(choso.DefaultTimeZone)
	res, err := f.ps.PostCredits(ctx, f.partner, []choso.CreditInput{{BankTxnID: "FT1", BIN: testBIN, Account: testAccount, Amount: 1000,
		CreditedAt: time.Date(2026, 11, 20, 12, 0, 0, 0, loc), Content: "x"}})
	if err != nil || res[0].Status != choso.CreditCreated {
		t.Fatalf("a credit while a delivery hangs: %+v %v", res, err)
	}
	if err := f.db.Update(ctx, func(tx choso.Tx) error { return tx.SetMeta("probe", []byte("x")) }); err != nil {
		t.Fatalf("a write while a delivery hangs: %v", err)
	}
	close(hold)
	<-done
}

// While the receiver is behind and the queue is full, passes pause and
// lose nothing: once the queue drains, the mismatch found meanwhile is
// queued.
func TestPartners_RerunReconciliations_PausesWhileQueueIsFull(t *testing.T) {
	f := newFixture(t)
	// 501 notices waiting (as a receiver down for long would leave): a
	// pass may queue 1,500 (500 days, and the days either side paired with
	// them by payments across midnight), which would pass the bound.
	full := make([]choso.ReconNotice, choso.ReconQueueMax-3*choso.ReconPassDays+1)
	for i := range full {
		full[i] = choso.ReconNotice{ID: choso.NewID(choso.PrefixEvent), BIN: testBIN, Account: "1", BusinessDate: "2026-01-01", Reasons: []string{"amount_differs"}}
	}
	data, _ := json.Marshal(full)
	if err := f.db.Update(t.Context(), func(tx choso.Tx) error { return tx.SetMeta("recon_queue/"+f.partner.ID, data) }); err != nil {
		t.Fatal(err)
	}
	f.qrSale(t, "01JSALE0000000000000000001", 45000)
	f.day(t, choso.DayFinal, 1000)
	if n, _, err := f.ps.RerunReconciliations(t.Context(), f.partner); err != nil || n != 0 {
		t.Fatalf("with a full queue: %d re-run, %v; want a pause", n, err)
	}
	if err := f.db.Update(t.Context(), func(tx choso.Tx) error { return tx.SetMeta("recon_queue/"+f.partner.ID, nil) }); err != nil {
		t.Fatal(err)
	}
	n, _, err := f.ps.RerunReconciliations(t.Context(), f.partner)
	q, _ := f.ps.ReconNotices(t.Context(), f.partner.ID)
	if err != nil || n != 1 || len(q) != 1 || q[0].BusinessDate != testDate {
		t.Fatalf("after the queue drained: %d re-run, queue %+v, %v; want the %s mismatch queued", n, q, err, testDate)
	}
}

// The audit entries of a mismatch notice's delivery, failed or not, name
// the account masked: the log is append-only, so no erasure could take a
// vendor's account number out of it again.
func TestDispatcher_ReconciliationMismatch_AuditMasksTheAccount(t *testing.T) {
	f := newFixture(t)
	f.qrSale(t, "01JSALE0000000000000000001", 45000)
	f.rcv.mu.Lock()
	f.rcv.failures = 2 // summaries.changed fails, then the mismatch notice
	f.rcv.mu.Unlock()
	f.day(t, choso.DayFinal, 1000)
	f.tick(t)
	f.tick(t)
	f.tick(t)
	if got := f.rcv.events(EventReconciliationMismatch); len(got) != 1 {
		t.Fatalf("%d mismatch events delivered, want 1", len(got))
	}
	var entries []*choso.AuditEntry
	err := f.db.View(t.Context(), func(tx choso.Tx) error {
		var err error
		entries, err = tx.ListAudit(choso.AuditFilter{ObjectID: f.partner.ID, Limit: 200})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Action] = true
		if strings.Contains(e.Note, testAccount) {
			t.Errorf("audit %s holds the full account number: %q", e.Action, e.Note)
		}
	}
	if !seen["webhook.failed"] || !seen["webhook.delivered"] {
		t.Fatalf("audit actions %v, want a failed and a delivered attempt", seen)
	}
}
