package postgres_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/postgres"
	"github.com/choso/choso/internal/store/postgres/pgtest"
)

// Migration 0006 makes a credit one by its partner and bank transaction
// ID. The credits stored before it, and those a node of the release before
// inserts during a rolling upgrade (without naming partner_id), are found
// by their partner all the same, are the conflict they were for their own
// bank, and leave another bank free to use their ID.
func TestMigration0006_CreditsOfBothReleasesByTheirPartner(t *testing.T) {
	url := pgtest.NewDatabase(t)
	old := releaseBefore(t, url, 6)
	insert := func(seq int64, id, partner string) error {
		doc, err := json.Marshal(choso.Credit{Seq: uint64(seq), BankTxnID: id, PartnerID: partner, BIN: "970436", Account: "0011001234567",
			Amount: 25000, CreditedAt: time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC), BusinessDate: "2026-03-02", MatchKind: choso.MatchAccountOnly,
			StallID: "stl_rau"})
		if err != nil {
			return err
		}
		_, err = old.Exec(t.Context(), `INSERT INTO credits (seq, bank_txn_id, stall_id, bin, account, business_date, doc)
			VALUES ($1, $2, 'stl_rau', '970436', '0011001234567', '2026-03-02', $3)`, seq, id, doc)
		return err
	}
	if err := insert(1001, "FT1", "ptn_vcb"); err != nil {
		t.Fatal(err)
	}
	db, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := insert(1002, "FT2", "ptn_vcb"); err != nil {
		t.Fatalf("the release before inserts a credit after the migration: %v", err)
	}
	if err := insert(1003, "FT1", "ptn_tcb"); err == nil {
		t.Fatal("the release before took another bank's FT1; it must refuse it as it did")
	}
	credit := func(id, partner string) *choso.Credit {
		return &choso.Credit{BankTxnID: id, PartnerID: partner, BIN: "970436", Account: "0011001234567", Amount: 40000,
			CreditedAt: time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC), BusinessDate: "2026-03-02", MatchKind: choso.MatchNone}
	}
	err = db.Update(t.Context(), func(tx choso.Tx) error {
		for _, id := range []string{"FT1", "FT2"} {
			if _, err := tx.AppendCredit(credit(id, "ptn_vcb")); choso.ErrorCode(err) != choso.EConflict {
				t.Errorf("AppendCredit(%s of the same bank): %v, want a conflict", id, err)
			}
			if _, err := tx.AppendCredit(credit(id, "ptn_tcb")); err != nil {
				t.Errorf("AppendCredit(%s of another bank): %v", id, err)
			}
		}
		return tx.SetCreditMatch("ptn_vcb", "FT1", "stl_rau", "01JNF8SALE00000000000000MG", choso.MatchAmountTime)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(t.Context(), func(tx choso.Tx) error {
		for _, c := range []struct {
			id, partner string
			seq         uint64
			sale        string
		}{{"FT1", "ptn_vcb", 1001, "01JNF8SALE00000000000000MG"}, {"FT2", "ptn_vcb", 1002, ""}, {"FT1", "ptn_tcb", 0, ""}, {"FT2", "ptn_tcb", 0, ""}} {
			got, err := tx.FindCredit(c.partner, c.id)
			if err != nil {
				t.Errorf("FindCredit(%s, %s): %v", c.partner, c.id, err)
				continue
			}
			if got.PartnerID != c.partner || c.seq != 0 && got.Seq != c.seq || got.SaleID != c.sale {
				t.Errorf("FindCredit(%s, %s): %s's seq %d for %q; want seq %d for %q", c.partner, c.id, got.PartnerID, got.Seq, got.SaleID, c.seq, c.sale)
			}
		}
		if _, err := tx.FindCredit("ptn_bidv", "FT1"); choso.ErrorCode(err) != choso.ENotFound {
			t.Errorf("FindCredit(a third bank's FT1): %v, want not found", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A node of the release before, still running during a rolling upgrade,
// matches a credit late as that release did: it reads the one credit with
// the ID and writes it back with UPDATE … WHERE bank_txn_id. Once a node
// of the new release has stored another bank's credit with the same ID,
// that statement reaches both rows: the other bank's credit must keep its
// own doc, not become a second copy of the matched one.
func TestMigration0006_LateMatchOfTheReleaseBeforeKeepsTheOtherBanksCredit(t *testing.T) {
	url := pgtest.NewDatabase(t)
	old := releaseBefore(t, url, 6)
	db, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	credit := func(partner string, amount int64) *choso.Credit {
		return &choso.Credit{BankTxnID: "FT1", PartnerID: partner, BIN: "970436", Account: "0011001234567", Amount: amount,
			CreditedAt: time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC), BusinessDate: "2026-03-02", StallID: "stl_rau", MatchKind: choso.MatchAccountOnly}
	}
	err = db.Update(t.Context(), func(tx choso.Tx) error {
		for _, c := range []*choso.Credit{credit("ptn_vcb", 25000), credit("ptn_tcb", 40000)} {
			if _, err := tx.AppendCredit(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The release before's SetCreditMatch, statement for statement.
	var doc []byte
	if err := old.QueryRow(t.Context(), "SELECT doc FROM credits WHERE bank_txn_id = $1", "FT1").Scan(&doc); err != nil {
		t.Fatal(err)
	}
	var rec struct { // the release before's creditRecord
		choso.Credit
		Hash     []byte `json:"hash,omitempty"`
		StallPos uint64 `json:"stall_pos,omitempty"`
	}
	if err := json.Unmarshal(doc, &rec); err != nil {
		t.Fatal(err)
	}
	const sale = "01JNF8SALE00000000000000MG"
	rec.SaleID, rec.MatchKind, rec.StallPos = sale, choso.MatchAmountTime, 9999
	if doc, err = json.Marshal(rec); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(t.Context(), "UPDATE credits SET doc = $1, stall_id = $2, stall_pos = $3 WHERE bank_txn_id = $4",
		doc, "stl_rau", 9999, "FT1"); err != nil {
		t.Fatalf("the release before's late match: %v", err)
	}
	matched := rec.PartnerID
	err = db.View(t.Context(), func(tx choso.Tx) error {
		for partner, amount := range map[string]int64{"ptn_vcb": 25000, "ptn_tcb": 40000} {
			c, err := tx.FindCredit(partner, "FT1")
			if err != nil {
				t.Errorf("FindCredit(%s, FT1): %v", partner, err)
				continue
			}
			wantSale := ""
			if partner == matched {
				wantSale = sale
			}
			if c.PartnerID != partner || c.Amount != amount || c.SaleID != wantSale {
				t.Errorf("FindCredit(%s, FT1): %s's credit of %d for %q; want its own of %d for %q", partner, c.PartnerID, c.Amount, c.SaleID, amount, wantSale)
			}
		}
		list, err := tx.ListAccountCredits("970436", "0011001234567", "2026-03-02")
		if err != nil {
			return err
		}
		var total int64
		for _, c := range list {
			total += c.Amount
		}
		if len(list) != 2 || total != 65000 {
			t.Errorf("the account's credits: %d of %d đồng in all; want both banks', 65000", len(list), total)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
