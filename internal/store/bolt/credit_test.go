package bolt

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/choso/choso"
	bolt "go.etcd.io/bbolt"
)

// A credit stored before schema 3 is in the ID index under its bank
// transaction ID alone. It is found by its partner, is still the conflict
// it was for that partner's retry, and leaves another bank free to use the
// same ID; matching it later finds it too.
func TestCredit_StoredUnderTheOldIDKey(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "choso.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	credit := func(partner string) *choso.Credit {
		return &choso.Credit{BankTxnID: "FT26061000001", PartnerID: partner, BIN: "970436", Account: "0011001234567", Amount: 25000,
			CreditedAt: time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC), BusinessDate: "2026-03-02", StallID: "stl_rau", MatchKind: choso.MatchAccountOnly}
	}
	if err := txUpdate(db, func(tx choso.Tx) error { _, err := tx.AppendCredit(credit("ptn_vcb")); return err }); err != nil {
		t.Fatal(err)
	}
	// Move its index entry to the form the release before wrote.
	err = db.db.Update(func(tx *bolt.Tx) error {
		ids := tx.Bucket(bucketCreditIDs)
		key := creditIDKey(nil, "ptn_vcb", "FT26061000001")
		seq := ids.Get(key)
		if seq == nil {
			t.Fatalf("no index entry under %q", key)
		}
		seq = append([]byte(nil), seq...)
		if err := ids.Delete(key); err != nil {
			return err
		}
		return ids.Put([]byte("FT26061000001"), seq)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = txUpdate(db, func(tx choso.Tx) error {
		if _, err := tx.AppendCredit(credit("ptn_vcb")); choso.ErrorCode(err) != choso.EConflict {
			t.Errorf("AppendCredit(the same bank's ID again): %v, want a conflict", err)
		}
		if _, err := tx.AppendCredit(credit("ptn_tcb")); err != nil {
			t.Errorf("AppendCredit(another bank's credit with the ID): %v", err)
		}
		return tx.SetCreditMatch("ptn_vcb", "FT26061000001", "stl_rau", "01JNF8SALE00000000000000MG", choso.MatchAmountTime)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(t.Context(), func(tx choso.Tx) error {
		vcb, err := tx.FindCredit("ptn_vcb", "FT26061000001")
		if err != nil || vcb.Seq != 1 || vcb.SaleID == "" {
			t.Errorf("FindCredit(ptn_vcb): %+v, %v; want seq 1, matched", vcb, err)
		}
		tcb, err := tx.FindCredit("ptn_tcb", "FT26061000001")
		if err != nil || tcb.Seq != 2 || tcb.SaleID != "" {
			t.Errorf("FindCredit(ptn_tcb): %+v, %v; want seq 2, not matched", tcb, err)
		}
		if _, err := tx.FindCredit("ptn_bidv", "FT26061000001"); choso.ErrorCode(err) != choso.ENotFound {
			t.Errorf("FindCredit(a third bank): %v, want not found", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
