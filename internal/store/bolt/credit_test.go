package bolt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
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

// A transaction's QR sales of a stall are stored in runs: one key for the
// sales within qrRunSpan of the first, up to maxQRRun of them. Every range
// lists what one key a sale would (the brute-force answer below), whether
// it starts before a run, inside one, or between two, alongside sales
// stored one a key before schema 4.
func TestQRSales_HeldInRuns(t *testing.T) {
	db := MustOpenDB(t)
	const base = uint64(1_780_000_000_000)
	type sale struct {
		stall string
		ms    uint64
		id    string
	}
	var sales []sale
	for i := range 300 { // a second apart: runs of 256 and 44
		sales = append(sales, sale{"stall-a", base + uint64(i)*1000, fmt.Sprintf("01KBA%021d", i)})
	}
	sales = append(sales,
		sale{"stall-a", base + 3*qrRunSpan, "01KBAFAR00000000000000000A"}, // hours later: runs of their own
		sale{"stall-a", base + 5*qrRunSpan, "01KBAFAR00000000000000000B"},
		sale{"stall-b", base, "01KBB00000000000000000000A"},
		sale{"stall-b", base + qrRunSpan, "01KBB00000000000000000000B"}, // at the span's end: same run
		sale{"stall-b", base + qrRunSpan + 1, "01KBB00000000000000000000C"},
	)
	err := db.Update(context.Background(), func(ctx choso.Tx) error {
		for _, s := range slices.Backward(sales) { // put out of order
			if err := ctx.PutQRSale(s.stall, int64(s.ms), s.id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Two sales stored before schema 4, a key each with no value, among
	// the runs: one inside the first run's time, one before every run.
	old := []sale{{"stall-a", base + 10_500, "01KBAOLD00000000000000000A"}, {"stall-a", base - 2*qrRunSpan, "01KBAOLD00000000000000000B"}}
	err = db.db.Update(func(btx *bolt.Tx) error {
		for _, s := range old {
			if err := btx.Bucket(bucketQRSales).Put(append(appendQRSaleKey(nil, s.stall, s.ms), s.id...), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sales = append(sales, old...)

	db.db.View(func(btx *bolt.Tx) error {
		// stall-a: 256 + 44 + 1 + 1 runs and 2 old keys; stall-b: 2 runs.
		if n := btx.Bucket(bucketQRSales).Stats().KeyN; n != 8 {
			t.Errorf("QR-sale index: %d keys, want 8", n)
		}
		return nil
	})
	want := func(stall string, from, to uint64) []string {
		var in []sale
		for _, s := range sales {
			if s.stall == stall && s.ms >= from && s.ms <= to {
				in = append(in, s)
			}
		}
		slices.SortFunc(in, func(a, b sale) int { return cmp.Or(cmp.Compare(a.ms, b.ms), strings.Compare(a.id, b.id)) })
		var ids []string
		for _, s := range in {
			ids = append(ids, s.id)
		}
		return ids
	}
	for _, r := range []struct {
		stall    string
		from, to uint64
	}{
		{"stall-a", 0, 1 << 62},
		{"stall-a", base, base},                                 // a run's first sale
		{"stall-a", base + 255_000, base + 256_000},             // across two runs
		{"stall-a", base + 100_000, base + 100_000},             // inside a run that began 100 s before
		{"stall-a", base + 299_000 + 1, base + 3*qrRunSpan - 1}, // between runs
		{"stall-a", base + 3*qrRunSpan, base + 5*qrRunSpan},
		{"stall-a", base - 2*qrRunSpan, base + 11_000},  // old keys and runs together
		{"stall-b", base + qrRunSpan, base + qrRunSpan}, // the last sale of a run an hour long
		{"stall-b", base + qrRunSpan - 1, base + qrRunSpan + 1},
		{"stall-c", 0, 1 << 62},
	} {
		err := db.View(context.Background(), func(tx choso.Tx) error {
			got, err := tx.ListQRSales(r.stall, int64(r.from), int64(r.to))
			if err != nil {
				return err
			}
			if w := want(r.stall, r.from, r.to); !slices.Equal(got, w) {
				t.Errorf("ListQRSales(%s, base%+d, base%+d): got %d sales %v, want %d %v",
					r.stall, int64(r.from-base), int64(r.to-base), len(got), got, len(w), w)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A run that cannot be read fails the listing that meets it with EInternal,
// rather than listing part of it.
func TestQRSales_MalformedRunFails(t *testing.T) {
	db := MustOpenDB(t)
	key := append(appendQRSaleKey(nil, "stall-a", 1_780_000_000_000), "01KBA00000000000000000000A"...)
	for name, value := range map[string][]byte{
		"truncated ID":      {0x01, 26, '0', '1'},
		"offset past span":  binary.AppendUvarint(nil, qrRunSpan+1),
		"empty ID":          {0x01, 0x00},
		"offset cut short":  {0x80},
		"length cut short":  {0x01},
		"one sale too many": bytes.Repeat([]byte{0x00, 0x01, 'X'}, maxQRRun), // the key's sale and 256 more
	} {
		err := db.db.Update(func(btx *bolt.Tx) error { return btx.Bucket(bucketQRSales).Put(key, value) })
		if err != nil {
			t.Fatal(err)
		}
		err = db.View(context.Background(), func(tx choso.Tx) error {
			_, err := tx.ListQRSales("stall-a", 0, 1<<62)
			return err
		})
		if choso.ErrorCode(err) != choso.EInternal {
			t.Errorf("%s: ListQRSales: %v, want EInternal", name, err)
		}
	}
}

// FuzzQRRun reads any value as a run: never a panic, and what it reads
// keeps the format's bounds.
func FuzzQRRun(f *testing.F) {
	f.Add([]byte{})
	f.Add(append(binary.AppendUvarint(nil, 1000), 2, '0', '1'))
	f.Add([]byte{0x80, 0x80, 0x80})
	key := append(appendQRSaleKey(nil, "stall-a", 1_780_000_000_000), "01KBA00000000000000000000A"...)
	rest := key[len("stall-a/"):]
	f.Fuzz(func(t *testing.T, value []byte) {
		list, err := appendQRRun(nil, key, rest, value, 0, math.MaxUint64)
		if err != nil {
			if choso.ErrorCode(err) != choso.EInternal {
				t.Fatalf("error %v, want EInternal", err)
			}
			return
		}
		if len(list) > maxQRRun {
			t.Fatalf("%d sales, more than %d", len(list), maxQRRun)
		}
		for _, s := range list {
			if s.ms < 1_780_000_000_000 || s.ms > 1_780_000_000_000+qrRunSpan || s.id == "" {
				t.Fatalf("sale %+v out of the run's bounds", s)
			}
		}
	})
}

// Stall IDs of any length share a transaction: a short one sorting after a
// long one is its own run, not compared past its end.
func TestQRSales_RunsOfStallIDsOfAnyLength(t *testing.T) {
	db := MustOpenDB(t)
	long, short := strings.Repeat("a", 40), "b"
	err := db.Update(context.Background(), func(tx choso.Tx) error {
		if err := tx.PutQRSale(long, 1_780_000_000_000, "01KBA00000000000000000000A"); err != nil {
			return err
		}
		return tx.PutQRSale(short, 1_780_000_000_000, "X")
	})
	if err != nil {
		t.Fatal(err)
	}
	for stall, want := range map[string]string{long: "01KBA00000000000000000000A", short: "X"} {
		db.View(context.Background(), func(tx choso.Tx) error {
			got, err := tx.ListQRSales(stall, 0, 1<<62)
			if err != nil || !slices.Equal(got, []string{want}) {
				t.Errorf("ListQRSales(%.5s…): %v, %v; want [%s]", stall, got, err, want)
			}
			return nil
		})
	}
}
