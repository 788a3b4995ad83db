package storetest

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/choso/choso"
)

var creditTests = []testCase{
	{"Credit_Append_SetsSeqAndKeepsEveryField", testCreditAppend},
	{"Credit_Append_SameBankTxnIDConflict", testCreditAppendSameBankTxnID},
	{"Credit_Append_SameBankTxnIDOfAnotherBankIsAnotherCredit", testCreditAppendOtherBanksTxnID},
	{"Credit_Append_AnyNonEmptyBankTxnIDAccepted", testCreditAppendOpaqueBankTxnID},
	{"Credit_Append_MalformedKeysInvalid", testCreditAppendMalformed},
	{"Credit_Append_SeqsIncreaseInCommitOrder", func(t *testing.T, h Harness) { testLogSeqsIncrease(t, h, creditLog) }},
	{"Credit_Append_RolledBackLeavesNoHole", func(t *testing.T, h Harness) { testLogRollback(t, h, creditLog) }},
	{"Credit_Find_MissingNotFound", testCreditFindMissing},
	{"Credit_SetMatch_ChangesOnlyTheMatch", testCreditSetMatch},
	{"Credit_Find_ReturnsACopyTheCallerOwns", testCreditFindCopy},
	{"Credit_ListStall_PagesWithAfterWithoutDuplicatesOrGaps", func(t *testing.T, h Harness) { testLogPages(t, h, creditLog) }},
	{"Credit_ListStall_HonoursFeedSizedLimitsAndDefaultsZero", func(t *testing.T, h Harness) { testLogLimits(t, h, creditLog) }},
	{"Credit_ListStall_OnlyThatStallsCredits", testCreditListStall},
	{"Credit_ListAccount_OnlyThatAccountAndDateInSeqOrder", testCreditListAccount},
	{"SaleRef_Put_FindReturnsTheSaleAndReplaces", testSaleRefPutFind},
	{"SaleRef_Find_MissingNotFound", testSaleRefFindMissing},
	{"SaleRef_Put_EmptyInvalid", testSaleRefPutEmpty},
	{"QRSale_List_InclusiveRangeByTimeThenID", testQRSaleList},
	{"QRSale_Put_NegativeTimeAndMalformedKeysInvalid", testQRSalePutMalformed},
	{"QRSale_Put_AgainLaterKeepsTheOtherSales", testQRSalePutAgainLater},
}

// creditNo numbers the bank transaction IDs of the credit log's entries,
// which must differ across the transactions of a case.
var creditNo atomic.Uint64

// newCredit returns a credit matched to a stall's sale, with every field
// set, so a round trip shows any field a backend drops.
func newCredit(bankTxnID, stallID, date string) *choso.Credit {
	return &choso.Credit{
		BankTxnID: bankTxnID, PartnerID: partnerVCB.ID, BIN: binVCB, Account: accountLa, Amount: 25000,
		CreditedAt: at(9, 1), Content: "CS7K3M9QXR Thanh toan rau", ReceivedAt: at(9, 2).Add(time.Millisecond),
		Hash: tokenHash("credit " + bankTxnID), StallID: stallID, BusinessDate: date,
		SaleID: "01JNF8SALE000000000000000A", MatchKind: choso.MatchReference,
	}
}

var creditLog = seqLog{
	name: "AppendCredit",
	append: func(tx choso.Tx, i int) (uint64, error) {
		return tx.AppendCredit(newCredit(fmt.Sprintf("FT%08d", creditNo.Add(1)), stallRau.ID, "2026-03-02"))
	},
	list: func(tx choso.Tx, after uint64, limit int) ([]uint64, error) {
		list, err := tx.ListStallCredits(stallRau.ID, after, limit)
		var seqs []uint64
		for _, c := range list {
			seqs = append(seqs, c.Seq)
		}
		return seqs, err
	},
}

// appendCredits appends credits in order, in one transaction, and returns
// copies carrying the Seq the store gave them.
func appendCredits(t *testing.T, s choso.Store, credits ...*choso.Credit) []*choso.Credit {
	t.Helper()
	var out []*choso.Credit
	update(t, s, func(tx choso.Tx) error {
		out = out[:0]
		for _, c := range credits {
			cp := *c
			seq, err := tx.AppendCredit(&cp)
			if err != nil {
				return fmt.Errorf("AppendCredit(%s): %w", c.BankTxnID, err)
			}
			if seq != cp.Seq || seq == 0 {
				t.Errorf("AppendCredit(%s): got seq %d and c.Seq %d, want them equal and not 0", c.BankTxnID, seq, cp.Seq)
			}
			out = append(out, &cp)
		}
		return nil
	})
	return out
}

func findCredit(t *testing.T, s choso.Store, bankTxnID string) *choso.Credit {
	t.Helper()
	var c *choso.Credit
	view(t, s, func(tx choso.Tx) error {
		var err error
		c, err = tx.FindCredit(partnerVCB.ID, bankTxnID)
		return err
	})
	return c
}

func testCreditAppend(t *testing.T, h Harness) {
	s := open(t, h)
	matched := newCredit("FT26061000001", stallRau.ID, "2026-03-02")
	// A credit to no known account: no stall, no day, no hash.
	unmatched := &choso.Credit{BankTxnID: "FT26061000002", PartnerID: partnerVCB.ID, BIN: binTCB, Account: "1903555",
		Amount: 10000, CreditedAt: at(9, 5), ReceivedAt: at(9, 5), MatchKind: choso.MatchNone}
	got := appendCredits(t, s, matched, unmatched)
	if got[1].Seq <= got[0].Seq {
		t.Fatalf("AppendCredit seqs: got %d then %d, want increasing", got[0].Seq, got[1].Seq)
	}
	for i, want := range []*choso.Credit{matched, unmatched} {
		c := *want
		c.Seq = got[i].Seq
		wantEqual(t, "FindCredit("+want.BankTxnID+")", findCredit(t, s, want.BankTxnID), &c)
	}
	view(t, s, func(tx choso.Tx) error {
		list, err := tx.ListStallCredits(stallRau.ID, 0, 10)
		if err != nil {
			t.Fatalf("ListStallCredits: %v", err)
		}
		want := *got[0]
		want.StallPos = want.Seq // a credit not moved is at its seq
		wantEqual(t, "ListStallCredits", list, []*choso.Credit{&want})
		list, err = tx.ListAccountCredits(binVCB, accountLa, "2026-03-02")
		if err != nil {
			t.Fatalf("ListAccountCredits: %v", err)
		}
		wantEqual(t, "ListAccountCredits", list, got[:1])
		return nil
	})
}

func testCreditAppendSameBankTxnID(t *testing.T, h Harness) {
	s := open(t, h)
	first := appendCredits(t, s, newCredit("FT26061000001", stallRau.ID, "2026-03-02"))[0]
	again := newCredit("FT26061000001", stallBun.ID, "2026-03-03")
	again.Amount = 99000
	err := s.Update(t.Context(), func(tx choso.Tx) error { _, err := tx.AppendCredit(again); return err })
	wantCode(t, "AppendCredit(same bank_txn_id, another transaction)", err, choso.EConflict)
	// Within one transaction, too.
	err = s.Update(t.Context(), func(tx choso.Tx) error {
		if _, err := tx.AppendCredit(newCredit("FT26061000002", stallRau.ID, "2026-03-02")); err != nil {
			return err
		}
		_, err := tx.AppendCredit(newCredit("FT26061000002", stallRau.ID, "2026-03-02"))
		return err
	})
	wantCode(t, "AppendCredit(same bank_txn_id, same transaction)", err, choso.EConflict)
	wantEqual(t, "FindCredit after the conflict", findCredit(t, s, first.BankTxnID), first)
	view(t, s, func(tx choso.Tx) error {
		if got, err := tx.ListStallCredits(stallBun.ID, 0, 10); err != nil || len(got) != 0 {
			t.Errorf("ListStallCredits(%s) after the conflict: got %v, %v; want none", stallBun.ID, got, err)
		}
		if got, err := tx.ListStallCredits(stallRau.ID, 0, 10); err != nil || len(got) != 1 {
			t.Errorf("ListStallCredits(%s) after the conflicts: got %d credits, %v; want the first only", stallRau.ID, len(got), err)
		}
		if _, err := tx.FindCredit(partnerVCB.ID, "FT26061000002"); choso.ErrorCode(err) != choso.ENotFound {
			t.Errorf("FindCredit of the rolled-back credit: got %v, want not found", err)
		}
		return nil
	})
	next := appendCredits(t, s, newCredit("FT26061000003", stallRau.ID, "2026-03-02"))[0]
	if next.Seq != first.Seq+1 {
		t.Fatalf("AppendCredit after refused appends: got seq %d, want %d (no hole)", next.Seq, first.Seq+1)
	}
}

// testCreditAppendOtherBanksTxnID checks that each bank names its own
// transactions: two banks may send one ID (core banking systems number
// them alike, "FT" and the date and a counter), and each is its own
// credit, found and matched by its bank.
func testCreditAppendOtherBanksTxnID(t *testing.T, h Harness) {
	s := open(t, h)
	vcb := newCredit("FT26061000001", stallRau.ID, "2026-03-02")
	tcb := newCredit("FT26061000001", stallBun.ID, "2026-03-02")
	tcb.PartnerID, tcb.Amount, tcb.SaleID, tcb.MatchKind = partnerTCB.ID, 40000, "", choso.MatchAccountOnly
	got := appendCredits(t, s, vcb, tcb)
	const sale = "01JNF8SALE00000000000000TC"
	update(t, s, func(tx choso.Tx) error {
		if err := tx.SetCreditMatch(partnerTCB.ID, tcb.BankTxnID, stallBun.ID, sale, choso.MatchAmountTime); err != nil {
			t.Fatalf("SetCreditMatch of the second bank's credit: %v", err)
		}
		_, err := tx.AppendCredit(newCredit("FT26061000001", stallRau.ID, "2026-03-03"))
		wantCode(t, "AppendCredit(the first bank's ID again)", err, choso.EConflict)
		return nil
	})
	matched := *got[1]
	matched.SaleID, matched.MatchKind = sale, choso.MatchAmountTime
	view(t, s, func(tx choso.Tx) error {
		for _, c := range []struct {
			partner string
			want    *choso.Credit
		}{{partnerVCB.ID, got[0]}, {partnerTCB.ID, &matched}} {
			found, err := tx.FindCredit(c.partner, "FT26061000001")
			if err != nil {
				t.Fatalf("FindCredit(%s): %v", c.partner, err)
			}
			wantEqual(t, "FindCredit("+c.partner+")", found, c.want)
		}
		_, err := tx.FindCredit("ptn_bidv", "FT26061000001")
		wantCode(t, "FindCredit(a third bank)", err, choso.ENotFound)
		list, err := tx.ListAccountCredits(binVCB, accountLa, "2026-03-02")
		if err != nil || len(list) != 2 {
			t.Fatalf("ListAccountCredits: %v, %v; want both banks' credits", list, err)
		}
		return nil
	})
}

// testCreditAppendOpaqueBankTxnID checks a bank's own ID is taken as it is:
// the bank, not Chợ Số, chooses its form.
func testCreditAppendOpaqueBankTxnID(t *testing.T, h Harness) {
	s := open(t, h)
	ids := []string{"FT26061/0001", "ft 26061 0001", "FT26061/0001/", "Mã GD: 123"}
	var credits []*choso.Credit
	for _, id := range ids {
		credits = append(credits, newCredit(id, stallRau.ID, "2026-03-02"))
	}
	got := appendCredits(t, s, credits...)
	for i, id := range ids {
		wantEqual(t, fmt.Sprintf("FindCredit(%q)", id), findCredit(t, s, id), got[i])
	}
	// An ID no store can hold is one no credit has: ENotFound, not an
	// internal error.
	view(t, s, func(tx choso.Tx) error {
		for _, id := range []string{"FT\x00missing", "FT\xffmissing"} {
			if _, err := tx.FindCredit(partnerVCB.ID, id); choso.ErrorCode(err) != choso.ENotFound {
				t.Errorf("FindCredit(%q): %v, want ENotFound", id, err)
			}
		}
		return nil
	})
}

func testCreditAppendMalformed(t *testing.T, h Harness) {
	s := open(t, h)
	tests := []struct {
		name string
		edit func(c *choso.Credit)
	}{
		{"empty bank_txn_id", func(c *choso.Credit) { c.BankTxnID = "" }},
		{"empty BIN", func(c *choso.Credit) { c.BIN = "" }},
		{"BIN with a slash", func(c *choso.Credit) { c.BIN = "970/36" }},
		{"empty account", func(c *choso.Credit) { c.Account = "" }},
		{"account with a slash", func(c *choso.Credit) { c.Account = "0011/004" }},
		{"stall ID with a slash", func(c *choso.Credit) { c.StallID = "stl/rau" }},
		{"malformed business date", func(c *choso.Credit) { c.BusinessDate = "2026-3-2" }},
		{"bank_txn_id with a NUL", func(c *choso.Credit) { c.BankTxnID = "FT26061\x000001" }},
		{"bank_txn_id not UTF-8", func(c *choso.Credit) { c.BankTxnID = "FT26061\xff0001" }},
	}
	for _, tt := range tests {
		c := newCredit("FT26061000001", stallRau.ID, "2026-03-02")
		tt.edit(c)
		err := s.Update(t.Context(), func(tx choso.Tx) error { _, err := tx.AppendCredit(c); return err })
		wantCode(t, "AppendCredit("+tt.name+")", err, choso.EInvalid)
	}
	view(t, s, func(tx choso.Tx) error {
		if _, err := tx.FindCredit(partnerVCB.ID, "FT26061000001"); choso.ErrorCode(err) != choso.ENotFound {
			t.Errorf("FindCredit after refused appends: got %v, want not found", err)
		}
		if got, err := tx.ListStallCredits(stallRau.ID, 0, 10); err != nil || len(got) != 0 {
			t.Errorf("ListStallCredits after refused appends: got %v, %v; want none", got, err)
		}
		return nil
	})
}

func testCreditFindMissing(t *testing.T, h Harness) {
	s := open(t, h)
	appendCredits(t, s, newCredit("FT26061000001", stallRau.ID, "2026-03-02"))
	view(t, s, func(tx choso.Tx) error {
		for _, id := range []string{"", "FT2606100000", "FT260610000012", "ft26061000001"} {
			_, err := tx.FindCredit(partnerVCB.ID, id)
			wantCode(t, fmt.Sprintf("FindCredit(%q)", id), err, choso.ENotFound)
		}
		return nil
	})
}

func testCreditFindCopy(t *testing.T, h Harness) {
	s := open(t, h)
	want := appendCredits(t, s, newCredit("FT26061000001", stallRau.ID, "2026-03-02"))[0]
	view(t, s, func(tx choso.Tx) error {
		c, err := tx.FindCredit(partnerVCB.ID, want.BankTxnID)
		if err != nil {
			t.Fatalf("FindCredit: %v", err)
		}
		list, err := tx.ListStallCredits(stallRau.ID, 0, 1)
		if err != nil || len(list) != 1 {
			t.Fatalf("ListStallCredits: got %v, %v; want one credit", list, err)
		}
		c.Hash[0] ^= 0xff
		list[0].Hash[1] ^= 0xff
		again, err := tx.FindCredit(partnerVCB.ID, want.BankTxnID)
		if err != nil {
			t.Fatalf("FindCredit: %v", err)
		}
		wantEqual(t, "FindCredit after changing earlier copies", again, want)
		return nil
	})
}

func testCreditSetMatch(t *testing.T, h Harness) {
	s := open(t, h)
	// A credit that came before its sale: its stall is known, its sale not.
	// It went to the first stall on the account, and its sale is another's.
	early := newCredit("FT26061000001", stallRau.ID, "2026-03-02")
	early.SaleID, early.MatchKind = "", choso.MatchAccountOnly
	other := newCredit("FT26061000002", stallRau.ID, "2026-03-02")
	stored := appendCredits(t, s, early, other)
	const sale = "01JNF8SALE00000000000000LT"
	update(t, s, func(tx choso.Tx) error {
		if err := tx.SetCreditMatch(partnerVCB.ID, early.BankTxnID, stallBun.ID, sale, choso.MatchAmountTime); err != nil {
			t.Fatalf("SetCreditMatch: %v", err)
		}
		wantCode(t, "SetCreditMatch of a matched credit", tx.SetCreditMatch(partnerVCB.ID, early.BankTxnID, stallBun.ID, sale, choso.MatchAmountTime), choso.EConflict)
		wantCode(t, "SetCreditMatch of a missing credit", tx.SetCreditMatch(partnerVCB.ID, "FT00000000000", stallRau.ID, sale, choso.MatchAmountTime), choso.ENotFound)
		wantCode(t, "SetCreditMatch without a sale", tx.SetCreditMatch(partnerVCB.ID, other.BankTxnID, stallRau.ID, "", choso.MatchAmountTime), choso.EInvalid)
		wantCode(t, "SetCreditMatch without a stall", tx.SetCreditMatch(partnerVCB.ID, other.BankTxnID, "", sale, choso.MatchAmountTime), choso.EInvalid)
		return nil
	})
	want := *stored[0]
	want.StallID, want.SaleID, want.MatchKind = stallBun.ID, sale, choso.MatchAmountTime
	wantEqual(t, "FindCredit after SetCreditMatch", findCredit(t, s, early.BankTxnID), &want)
	wantEqual(t, "the other credit", findCredit(t, s, other.BankTxnID), stored[1])
	later := appendCredits(t, s, newCredit("FT26061000003", stallBun.ID, "2026-03-02"))[0]
	view(t, s, func(tx choso.Tx) error {
		// It left its first stall's credits.
		rau, err := tx.ListStallCredits(stallRau.ID, 0, 10)
		if err != nil || len(rau) != 1 || rau[0].BankTxnID != other.BankTxnID || rau[0].StallPos != rau[0].Seq {
			t.Fatalf("ListStallCredits(%s): %v, %v; want the other credit alone, at its seq", stallRau.ID, rau, err)
		}
		// It is at the end of its sale's stall's credits, past every seq a
		// phone had paged by when it moved, and before a later credit.
		for _, after := range []uint64{0, stored[1].Seq} {
			bun, err := tx.ListStallCredits(stallBun.ID, after, 10)
			if err != nil || len(bun) != 2 {
				t.Fatalf("ListStallCredits(%s, %d): %v, %v; want the moved credit and the later one", stallBun.ID, after, bun, err)
			}
			if bun[0].StallPos <= stored[1].Seq || bun[0].StallPos >= later.Seq || bun[1].StallPos != later.Seq {
				t.Fatalf("places %d and %d, want the first past seq %d and before seq %d, the second at it", bun[0].StallPos, bun[1].StallPos, stored[1].Seq, later.Seq)
			}
			moved := want
			moved.StallPos = bun[0].StallPos
			wantEqual(t, "ListStallCredits[0]", bun[0], &moved)
		}
		// The account-day index still finds it, under its seq.
		byDay, err := tx.ListAccountCredits(binVCB, accountLa, "2026-03-02")
		if err != nil || len(byDay) != 3 {
			t.Fatalf("ListAccountCredits: %v, %v; want the three credits", byDay, err)
		}
		wantEqual(t, "ListAccountCredits[0]", byDay[0], &want)
		return nil
	})
	view(t, s, func(tx choso.Tx) error {
		wantCode(t, "SetCreditMatch in a read transaction", tx.SetCreditMatch(partnerVCB.ID, other.BankTxnID, stallRau.ID, sale, choso.MatchAmountTime), choso.EInvalid)
		return nil
	})
}

func creditSeqs(list []*choso.Credit) []uint64 {
	var seqs []uint64
	for _, c := range list {
		seqs = append(seqs, c.Seq)
	}
	return seqs
}

func testCreditListStall(t *testing.T, h Harness) {
	s := open(t, h)
	unmatched := newCredit("FT00", "", "")
	unmatched.MatchKind = choso.MatchNone
	got := appendCredits(t, s,
		newCredit("FT01", stallRau.ID, "2026-03-02"),
		newCredit("FT02", stallRau.ID+"2", "2026-03-02"), // a neighbour whose key sorts next to stl_0rau's
		newCredit("FT03", "stl_0ra", "2026-03-02"),
		unmatched,
		newCredit("FT04", stallBun.ID, "2026-03-01"),
		newCredit("FT05", stallRau.ID, "2026-03-01"),
	)
	tests := []struct {
		stallID string
		after   uint64
		want    []uint64
	}{
		{stallRau.ID, 0, []uint64{got[0].Seq, got[5].Seq}},
		{stallRau.ID, got[0].Seq, []uint64{got[5].Seq}},
		{stallRau.ID, got[1].Seq, []uint64{got[5].Seq}}, // after a seq of another stall
		{stallRau.ID, got[5].Seq, nil},
		{stallRau.ID + "2", 0, []uint64{got[1].Seq}},
		{stallBun.ID, 0, []uint64{got[4].Seq}},
		{stallCa.ID, 0, nil},
		{"", 0, nil},
		{stallRau.ID + "/", 0, nil},
	}
	for _, tt := range tests {
		view(t, s, func(tx choso.Tx) error {
			list, err := tx.ListStallCredits(tt.stallID, tt.after, 10)
			if err != nil {
				t.Fatalf("ListStallCredits(%q, %d): %v", tt.stallID, tt.after, err)
			}
			if seqs := creditSeqs(list); !slices.Equal(seqs, tt.want) {
				t.Errorf("ListStallCredits(%q, %d): got seqs %v, want %v", tt.stallID, tt.after, seqs, tt.want)
			}
			return nil
		})
	}
}

func testCreditListAccount(t *testing.T, h Harness) {
	s := open(t, h)
	credit := func(id, bin, account, date string) *choso.Credit {
		c := newCredit(id, stallRau.ID, date)
		c.BIN, c.Account = bin, account
		return c
	}
	undated := credit("FT08", binVCB, accountLa, "")
	undated.StallID, undated.MatchKind = "", choso.MatchNone
	got := appendCredits(t, s,
		credit("FT01", binVCB, accountLa, "2026-03-02"),
		credit("FT02", binVCB, accountLa, "2026-03-01"),
		credit("FT03", binTCB, accountLa, "2026-03-02"),
		credit("FT04", binVCB, accountLa+"7", "2026-03-02"),
		credit("FT05", binVCB, accountLa[:len(accountLa)-1], "2026-03-02"),
		credit("FT06", binVCB, accountLa, "2026-03-02"),
		credit("FT07", binVCB, accountLa, "2026-03-03"),
		undated,
	)
	tests := []struct {
		bin, account, date string
		want               []uint64
	}{
		{binVCB, accountLa, "2026-03-02", []uint64{got[0].Seq, got[5].Seq}},
		{binVCB, accountLa, "2026-03-01", []uint64{got[1].Seq}},
		{binVCB, accountLa, "2026-03-03", []uint64{got[6].Seq}},
		{binVCB, accountLa, "2026-03-04", nil},
		{binTCB, accountLa, "2026-03-02", []uint64{got[2].Seq}},
		{binVCB, accountLa + "7", "2026-03-02", []uint64{got[3].Seq}},
		{binVCB, accountLa[:len(accountLa)-1], "2026-03-02", []uint64{got[4].Seq}},
		{binVCB, accountLa, "", nil},
		{binVCB, accountLa, "2026-03", nil},
		{"", accountLa, "2026-03-02", nil},
		{binVCB, "", "2026-03-02", nil},
	}
	for _, tt := range tests {
		view(t, s, func(tx choso.Tx) error {
			list, err := tx.ListAccountCredits(tt.bin, tt.account, tt.date)
			if err != nil {
				t.Fatalf("ListAccountCredits(%q, %q, %q): %v", tt.bin, tt.account, tt.date, err)
			}
			if seqs := creditSeqs(list); !slices.Equal(seqs, tt.want) {
				t.Errorf("ListAccountCredits(%q, %q, %q): got seqs %v, want %v", tt.bin, tt.account, tt.date, seqs, tt.want)
			}
			return nil
		})
	}
	view(t, s, func(tx choso.Tx) error {
		list, err := tx.ListAccountCredits(binVCB, accountLa, "2026-03-02")
		if err != nil {
			t.Fatalf("ListAccountCredits: %v", err)
		}
		wantEqual(t, "ListAccountCredits values", list, []*choso.Credit{got[0], got[5]})
		return nil
	})
}

func testSaleRefPutFind(t *testing.T, h Harness) {
	s := open(t, h)
	refs := map[string]string{
		"CS7K3M9QXR": "01JNF8SALE000000000000000A",
		"CS7K3M9QXS": "01JNF8SALE000000000000000B",
		"CS/7K3":     "01JNF8SALE000000000000000C", // a reference is a whole key: anything but empty
	}
	update(t, s, func(tx choso.Tx) error {
		for ref, id := range refs {
			if err := tx.PutSaleRef(ref, id); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx choso.Tx) error {
		for ref, want := range refs {
			got, err := tx.FindSaleByRef(ref)
			if err != nil || got != want {
				t.Errorf("FindSaleByRef(%q): got %q, %v; want %q", ref, got, err, want)
			}
		}
		return nil
	})
	update(t, s, func(tx choso.Tx) error { return tx.PutSaleRef("CS7K3M9QXR", "01JNF8SALE000000000000000D") })
	view(t, s, func(tx choso.Tx) error {
		if got, err := tx.FindSaleByRef("CS7K3M9QXR"); err != nil || got != "01JNF8SALE000000000000000D" {
			t.Errorf("FindSaleByRef after a replace: got %q, %v; want the new sale", got, err)
		}
		return nil
	})
}

func testSaleRefFindMissing(t *testing.T, h Harness) {
	s := open(t, h)
	update(t, s, func(tx choso.Tx) error { return tx.PutSaleRef("CS7K3M9QXR", "01JNF8SALE000000000000000A") })
	view(t, s, func(tx choso.Tx) error {
		for _, ref := range []string{"", "CS7K3M9QX", "CS7K3M9QXR0", "cs7k3m9qxr"} {
			_, err := tx.FindSaleByRef(ref)
			wantCode(t, fmt.Sprintf("FindSaleByRef(%q)", ref), err, choso.ENotFound)
		}
		return nil
	})
}

func testSaleRefPutEmpty(t *testing.T, h Harness) {
	s := open(t, h)
	for _, tt := range []struct{ ref, saleID string }{{"", "01JNF8SALE000000000000000A"}, {"CS7K3M9QXR", ""}} {
		err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.PutSaleRef(tt.ref, tt.saleID) })
		wantCode(t, fmt.Sprintf("PutSaleRef(%q, %q)", tt.ref, tt.saleID), err, choso.EInvalid)
	}
	view(t, s, func(tx choso.Tx) error {
		_, err := tx.FindSaleByRef("CS7K3M9QXR")
		wantCode(t, "FindSaleByRef after the refused put", err, choso.ENotFound)
		return nil
	})
}

func testQRSaleList(t *testing.T, h Harness) {
	s := open(t, h)
	const base = int64(1772416800000) // 2026-03-02 09:00 ICT
	type sale struct {
		stallID string
		ms      int64
		id      string
	}
	sales := []sale{
		{stallRau.ID, base, "01JNF8SALE0000000000000B00"},
		{stallRau.ID, base, "01JNF8SALE0000000000000A00"}, // same time: by ID
		{stallRau.ID, base - 600_000, "01JNF8SALE0000000000000C00"},
		{stallRau.ID, base + 600_000, "01JNF8SALE0000000000000D00"},
		{stallRau.ID, base + 600_001, "01JNF8SALE0000000000000E00"},
		{stallRau.ID, 0, "01JNF8SALE0000000000000F00"},
		{stallRau.ID, 1 << 50, "01JNF8SALE0000000000000G00"}, // times past 2^32 ms sort as numbers
		{stallRau.ID + "2", base, "01JNF8SALE0000000000000N00"},
		{"stl_0ra", base, "01JNF8SALE0000000000000N01"},
		{stallBun.ID, base, "01JNF8SALE0000000000000N02"},
	}
	update(t, s, func(tx choso.Tx) error {
		for _, sl := range sales {
			if err := tx.PutQRSale(sl.stallID, sl.ms, sl.id); err != nil {
				return err
			}
		}
		return tx.PutQRSale(stallRau.ID, base, "01JNF8SALE0000000000000A00") // again: listed once
	})
	tests := []struct {
		stallID    string
		from, to   int64
		want       []string
		wantReason string
	}{
		{stallRau.ID, base - 600_000, base + 600_000, []string{"C00", "A00", "B00", "D00"}, "both ends inclusive"},
		{stallRau.ID, base, base, []string{"A00", "B00"}, "one instant"},
		{stallRau.ID, base + 1, base + 599_999, nil, "between sales"},
		{stallRau.ID, base + 600_001, base + 600_001, []string{"E00"}, "one ms later"},
		{stallRau.ID, 0, base - 600_000, []string{"F00", "C00"}, "from zero"},
		{stallRau.ID, -5, 0, []string{"F00"}, "a negative from reads as zero"},
		{stallRau.ID, base + 600_002, 1 << 62, []string{"G00"}, "far future"},
		{stallRau.ID, base + 600_000, base - 600_000, nil, "from after to"},
		{stallRau.ID, -10, -1, nil, "before 1970"},
		{stallCa.ID, 0, 1 << 62, nil, "a stall without sales"},
		{"", 0, 1 << 62, nil, "empty stall ID"},
	}
	for _, tt := range tests {
		view(t, s, func(tx choso.Tx) error {
			got, err := tx.ListQRSales(tt.stallID, tt.from, tt.to)
			if err != nil {
				t.Fatalf("ListQRSales(%q, %d, %d): %v", tt.stallID, tt.from, tt.to, err)
			}
			var want []string
			for _, suffix := range tt.want {
				want = append(want, "01JNF8SALE0000000000000"+suffix)
			}
			if !slices.Equal(got, want) {
				t.Errorf("ListQRSales(%q, %d, %d) (%s): got %v, want %v", tt.stallID, tt.from, tt.to, tt.wantReason, got, want)
			}
			return nil
		})
	}
}

// A sale indexed again after its first put was written, in a later
// transaction or after a listing in the same one, is listed once, and the
// sales indexed with it stay listed.
func testQRSalePutAgainLater(t *testing.T, h Harness) {
	s := open(t, h)
	const base = int64(1772416800000)
	ids := []string{"01JNF8SALE0000000000000A00", "01JNF8SALE0000000000000B00", "01JNF8SALE0000000000000C00", "01JNF8SALE0000000000000D00"}
	update(t, s, func(tx choso.Tx) error {
		for i, id := range ids[:2] {
			if err := tx.PutQRSale(stallRau.ID, base+int64(i)*1000, id); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx choso.Tx) error { return tx.PutQRSale(stallRau.ID, base, ids[0]) })
	update(t, s, func(tx choso.Tx) error {
		for i, id := range ids[2:] {
			if err := tx.PutQRSale(stallRau.ID, base+int64(i+2)*1000, id); err != nil {
				return err
			}
		}
		if _, err := tx.ListQRSales(stallRau.ID, base, base); err != nil {
			return err
		}
		return tx.PutQRSale(stallRau.ID, base+2000, ids[2])
	})
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.ListQRSales(stallRau.ID, 0, 1<<62)
		if err != nil || !slices.Equal(got, ids) {
			t.Errorf("ListQRSales: got %v, %v; want %v", got, err, ids)
		}
		return nil
	})
}

func testQRSalePutMalformed(t *testing.T, h Harness) {
	s := open(t, h)
	tests := []struct {
		stallID string
		ms      int64
		saleID  string
	}{
		{stallRau.ID, -1, "01JNF8SALE000000000000000A"},
		{stallRau.ID, -1772416800000, "01JNF8SALE000000000000000A"},
		{"", 1772416800000, "01JNF8SALE000000000000000A"},
		{"stl/rau", 1772416800000, "01JNF8SALE000000000000000A"},
		{stallRau.ID, 1772416800000, ""},
	}
	for _, tt := range tests {
		err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.PutQRSale(tt.stallID, tt.ms, tt.saleID) })
		wantCode(t, fmt.Sprintf("PutQRSale(%q, %d, %q)", tt.stallID, tt.ms, tt.saleID), err, choso.EInvalid)
	}
	view(t, s, func(tx choso.Tx) error {
		if got, err := tx.ListQRSales(stallRau.ID, 0, 1<<62); err != nil || len(got) != 0 {
			t.Errorf("ListQRSales after refused puts: got %v, %v; want none", got, err)
		}
		return nil
	})
}
