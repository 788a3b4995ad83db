package main

import (
	"context"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/bolt"
)

// workerFixture is a store with one stall of province 24 and a bank
// partner covering it, for the partner workers.
type workerFixture struct {
	db      *bolt.DB
	ps      *choso.Partners
	stall   *choso.Stall
	partner *choso.Partner
	loc     *time.Location

	mu  sync.Mutex
	now time.Time // the partners' clock
}

func newWorkerFixture(t *testing.T, now time.Time) *workerFixture {
	t.Helper()
	ctx := t.Context()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "choso.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg := newRegistry(db)
	if err := seedRegions(ctx, reg, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	admin := choso.SystemPrincipal("test")
	m, err := reg.CreateMarket(ctx, admin, choso.NewMarket{Name: "Chợ Thương", CommuneCode: "07210"})
	if err != nil {
		t.Fatal(err)
	}
	f := &workerFixture{db: db, now: now}
	f.stall, err = reg.CreateStall(ctx, admin, m.ID, choso.NewStall{Code: "A-1", Name: "Rau", VendorName: "Lê Thị Hoa", VendorPhone: "0912345678",
		Payout: choso.PayoutAccount{BIN: "970436", Account: "0011001234567", Holder: "LE THI HOA"}, ConsentGiven: true})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	f.ps = newPartners(db, key)
	f.ps.Now = func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.now
	}
	if f.partner, _, _, err = f.ps.AddPartner(ctx, admin, choso.NewPartner{Name: "VCB", Provinces: []string{"24"}}); err != nil {
		t.Fatal(err)
	}
	if f.loc, err = choso.LoadLocation(m.TimeZone); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *workerFixture) setNow(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
}

// reviseDay writes a revision of the stall's day on date with a feed
// change, as the sync rules would.
func (f *workerFixture) reviseDay(t *testing.T, tx choso.Tx, date, status string, byMethod map[string]choso.MethodTotals) {
	t.Helper()
	d := &choso.StallDay{StallID: f.stall.ID, MarketID: f.stall.MarketID, CommuneCode: f.stall.CommuneCode, ProvinceCode: f.stall.ProvinceCode,
		Date: date, StallCode: f.stall.Code, BIN: f.stall.Payout.BIN, Account: f.stall.Payout.Account, Status: status, ByMethod: byMethod}
	seq, err := tx.AppendChange(&choso.Change{Day: *d, At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	d.Revision = seq
	if err := tx.PutStallDay(d); err != nil {
		t.Fatal(err)
	}
}

// creditBeforeSale posts the bank's credit of a QR sale, then records the
// sale, as a phone that was offline when the customer paid syncs it later:
// the credit comes in account_only.
func (f *workerFixture) creditBeforeSale(t *testing.T, bankTxnID, saleID string, amount int64, soldAt time.Time) {
	t.Helper()
	res, err := f.ps.PostCredits(t.Context(), f.partner, []choso.CreditInput{{BankTxnID: bankTxnID, BIN: f.stall.Payout.BIN,
		Account: f.stall.Payout.Account, Amount: amount, CreditedAt: soldAt.Add(time.Minute), Content: "chuyen tien"}})
	if err != nil || res[0].Status != choso.CreditCreated || res[0].Credit.MatchKind != choso.MatchAccountOnly {
		t.Fatalf("credit %s before its sale: %+v, %v", bankTxnID, res, err)
	}
	date := soldAt.In(f.loc).Format(time.DateOnly)
	err = f.db.Update(t.Context(), func(tx choso.Tx) error {
		if err := tx.PutEntity(saleID, &choso.Entity{Type: choso.EventSaleRecord, StallID: f.stall.ID, BusinessDate: date,
			Method: choso.MethodQR, Amount: amount, EffectiveMs: soldAt.UnixMilli()}); err != nil {
			return err
		}
		if err := tx.PutQRSale(f.stall.ID, soldAt.UnixMilli(), saleID); err != nil {
			return err
		}
		f.reviseDay(t, tx, date, choso.DayProvisional, map[string]choso.MethodTotals{choso.MethodQR: {Count: 1, Amount: amount}})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *workerFixture) saleOf(t *testing.T, bankTxnID string) string {
	t.Helper()
	var sale string
	err := f.db.View(t.Context(), func(tx choso.Tx) error {
		c, err := tx.FindCredit(f.partner.ID, bankTxnID)
		if err == nil {
			sale = c.SaleID
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return sale
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline: a correctness bound, not a timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
	}
}

// startWorker runs a worker until the test stops it, and stop waits for it to
// return.
func startWorker(t *testing.T, worker func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		worker(ctx)
	}()
	return func() {
		t.Helper()
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("the worker did not return after its context ended")
		}
	}
}

// The late matcher reads the feed to its end in each round, not one page
// per round: a credit whose sale's change lies past a full page of other
// changes is matched in the first round. Later rounds match what comes
// after, and the worker returns when its context ends.
func TestRunLateMatcher_DrainsTheFeedEachRoundAndRunsAgain(t *testing.T) {
	t.Cleanup(func() { lateMatchEvery = 30 * time.Second })
	now := time.Now()
	f := newWorkerFixture(t, now)
	log := slog.New(slog.DiscardHandler)

	// A full feed page of cash days before the QR sale's change.
	err := f.db.Update(t.Context(), func(tx choso.Tx) error {
		for i := range choso.MaxFeedLimit {
			f.reviseDay(t, tx, now.AddDate(0, 0, -200+i%100).In(f.loc).Format(time.DateOnly), choso.DayProvisional,
				map[string]choso.MethodTotals{choso.MethodCash: {Count: int64(i + 1), Amount: 1000}})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.creditBeforeSale(t, "FT1", "01JSALE0000000000000000001", 45000, now.Add(-time.Hour))

	// Only the first round can run before the test ends.
	lateMatchEvery = time.Hour
	stop := startWorker(t, func(ctx context.Context) { runLateMatcher(ctx, f.ps, log) })
	waitFor(t, "the first round to match FT1 past a full page of the feed", func() bool { return f.saleOf(t, "FT1") != "" })
	stop()

	// Rounds every 20 ms: a credit posted after the first round is
	// matched by a later one.
	lateMatchEvery = 20 * time.Millisecond
	stop = startWorker(t, func(ctx context.Context) { runLateMatcher(ctx, f.ps, log) })
	waitFor(t, "the first round to reach the feed's end", func() bool {
		var cursor, last uint64
		f.db.View(t.Context(), func(tx choso.Tx) error {
			v, _ := tx.Meta("late_match_cursor")
			cursor, _ = strconv.ParseUint(string(v), 10, 64)
			last, _ = tx.LastChangeSeq()
			return nil
		})
		return cursor == last
	})
	f.creditBeforeSale(t, "FT2", "01JSALE0000000000000000002", 20000, now.Add(-30*time.Minute))
	waitFor(t, "a later round to match FT2", func() bool { return f.saleOf(t, "FT2") != "" })
	stop()
	if f.saleOf(t, "FT1") != "01JSALE0000000000000000001" || f.saleOf(t, "FT2") != "01JSALE0000000000000000002" {
		t.Fatalf("credits matched to %q and %q", f.saleOf(t, "FT1"), f.saleOf(t, "FT2"))
	}
}

// The finalizer turns an aged provisional day final in its first round,
// and in a later round a day that aged since.
func TestRunFinalizer_TurnsAgedDaysFinalEachRound(t *testing.T) {
	t.Cleanup(func() { finalizeEvery = 10 * time.Minute })
	loc, err := choso.LoadLocation(choso.DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	f := newWorkerFixture(t, time.Date(2026, 11, 26, 12, 0, 0, 0, loc))
	log := slog.New(slog.DiscardHandler)
	status := func(date string) string {
		var s string
		f.db.View(t.Context(), func(tx choso.Tx) error {
			d, err := tx.FindStallDay(f.stall.ID, date)
			if err == nil {
				s = d.Status
			}
			return err
		})
		return s
	}
	provisional := func(date string) {
		err := f.db.Update(t.Context(), func(tx choso.Tx) error {
			f.reviseDay(t, tx, date, choso.DayProvisional, map[string]choso.MethodTotals{choso.MethodCash: {Count: 1, Amount: 1000}})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// 48 hours after its end, 2026-11-23 is final at noon on the 26th;
	// 2026-11-24 is not yet.
	provisional("2026-11-23")
	provisional("2026-11-24")
	finalizeEvery = 20 * time.Millisecond
	stop := startWorker(t, func(ctx context.Context) { runFinalizer(ctx, f.ps, log) })
	defer stop()
	waitFor(t, "the first round to finalize 2026-11-23", func() bool { return status("2026-11-23") == choso.DayFinal })
	if s := status("2026-11-24"); s != choso.DayProvisional {
		t.Fatalf("2026-11-24 is %s at noon on the 26th, want provisional", s)
	}
	f.setNow(time.Date(2026, 11, 27, 12, 0, 0, 0, loc))
	waitFor(t, "a later round to finalize 2026-11-24 a day on", func() bool { return status("2026-11-24") == choso.DayFinal })
}
