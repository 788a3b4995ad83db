package webhook

import (
	"testing"
	"time"

	"github.com/choso/choso"
)

// saleOf records a QR sale of stall st at a time, counted on date.
func (f *fixture) saleOf(t *testing.T, st *choso.Stall, id string, amount int64, at time.Time, date string) {
	t.Helper()
	err := f.db.Update(t.Context(), func(tx choso.Tx) error {
		if err := tx.PutEntity(id, &choso.Entity{Type: "sale.record", StallID: st.ID, BusinessDate: date, Method: choso.MethodQR,
			Amount: amount, EffectiveMs: at.UnixMilli()}); err != nil {
			return err
		}
		return tx.PutQRSale(st.ID, at.UnixMilli(), id)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// changePayout moves stall id's payout to account, approved.
func (f *fixture) changePayout(t *testing.T, id, account string) *choso.Stall {
	t.Helper()
	if _, err := f.reg.ProposePayoutChange(t.Context(), choso.SystemPrincipal("volunteer"), id,
		choso.PayoutAccount{BIN: testBIN, Account: account, Holder: "LE THI HOA"}); err != nil {
		t.Fatal(err)
	}
	st, err := f.reg.ApprovePayoutChange(t.Context(), choso.SystemPrincipal("admin"), id, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// One vendor's two stalls shared an account; the second moved to an
// account of its own. A credit to the shared account, by amount and time,
// pays the sale of the stall whose account it is now, though the other
// stall made a sale of the same amount then (paid into its new account,
// whose credit comes later): a former holder's sale is the credit's only
// when no current holder's fits.
func TestPostCredits_CurrentHolderBeforeFormer(t *testing.T) {
	f := newFixture(t)
	loc, _ := time.LoadLocation(choso.DefaultTimeZone)
	const day, newAccount = "2026-11-26", "0011009999999"
	b, err := f.reg.CreateStall(t.Context(), choso.SystemPrincipal("test"), f.market.ID, choso.NewStall{Code: "A-2", Name: "Cá", VendorName: "Lê Thị Hoa", VendorPhone: "0912345678",
		Payout: choso.PayoutAccount{BIN: testBIN, Account: testAccount, Holder: "LE THI HOA"}, ConsentGiven: true})
	if err != nil {
		t.Fatal(err)
	}
	f.changePayout(t, b.ID, newAccount)
	at := time.Date(2026, 11, 26, 17, 0, 0, 0, loc)
	f.qrSaleAt(t, "01JSALE000000000000000000A", 37000, at, day)
	f.saleOf(t, b, "01JSALE000000000000000000B", 37000, at, day)
	f.now = at.Add(2 * time.Minute)
	res, err := f.ps.PostCredits(t.Context(), f.partner, []choso.CreditInput{{BankTxnID: "FT1", BIN: testBIN, Account: testAccount, Amount: 37000, CreditedAt: at.Add(time.Minute), Content: "chuyen tien"}})
	if err != nil || res[0].Credit == nil {
		t.Fatalf("credit: %+v, %v", res, err)
	}
	if c := res[0].Credit; c.StallID != f.stall.ID || c.SaleID != "01JSALE000000000000000000A" {
		t.Fatalf("a credit to the shared account: stall %q, sale %q by %s; want %s's sale A", c.StallID, c.SaleID, c.MatchKind, f.stall.ID)
	}
	res, err = f.ps.PostCredits(t.Context(), f.partner, []choso.CreditInput{{BankTxnID: "FT2", BIN: testBIN, Account: newAccount, Amount: 37000, CreditedAt: at.Add(time.Minute), Content: "chuyen tien"}})
	if err != nil || res[0].Credit == nil || res[0].Credit.SaleID != "01JSALE000000000000000000B" {
		t.Fatalf("a credit to the second stall's new account: %+v, %v; want its sale B", res[0].Credit, err)
	}
}

// A customer pays the card printed before the stall's payout change while
// the vendor's phone is offline: the bank's credit to the former account
// comes first and matches nothing. When the phone syncs the sale, its day
// names the stall's new account; the late pass still finds the credit to
// the former one and matches it.
func TestMatchLateCredits_FormerAccount(t *testing.T) {
	f := newFixture(t)
	loc, _ := time.LoadLocation(choso.DefaultTimeZone)
	const day, newAccount = "2026-11-26", "0011009999999"
	f.changePayout(t, f.stall.ID, newAccount)
	at := time.Date(2026, 11, 26, 17, 0, 0, 0, loc)
	f.now = at.Add(2 * time.Minute)
	res, err := f.ps.PostCredits(t.Context(), f.partner, []choso.CreditInput{{BankTxnID: "FT1", BIN: testBIN, Account: testAccount, Amount: 37000, CreditedAt: at.Add(time.Minute), Content: "chuyen tien"}})
	if err != nil || res[0].Credit == nil || res[0].Credit.SaleID != "" {
		t.Fatalf("credit before the sale synced: %+v, %v; want it unmatched", res, err)
	}
	f.qrSaleAt(t, "01JSALE000000000000000000A", 37000, at, day)
	err = f.db.Update(t.Context(), func(tx choso.Tx) error { // the push's day, naming the stall's account now
		d, err := tx.FindStallDay(f.stall.ID, day)
		if err != nil {
			return err
		}
		d.BIN, d.Account = testBIN, newAccount
		d.ByMethod = map[string]choso.MethodTotals{choso.MethodQR: {Count: 1, Amount: 37000}}
		return choso.StoreRevision(tx, d, f.now)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, _, err := f.ps.MatchLateCredits(t.Context()); err != nil || n != 1 {
		t.Fatalf("late pass: %d matched, %v; want the credit to the former account matched", n, err)
	}
	rec, err := f.ps.Reconcile(t.Context(), f.partner, day, testBIN, testAccount)
	if err != nil || len(rec.Lines) != 2 || rec.Lines[0].MatchedTo != "01JSALE000000000000000000A" {
		t.Fatalf("the former account's reconciliation: %+v, %v; want the credit and the sale it paid", rec, err)
	}
}
