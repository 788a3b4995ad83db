package storetest

import (
	"testing"
	"time"

	"github.com/choso/choso"
)

var changeTests = []testCase{
	{"Change_Append_SetsChangeSeqAndKeepsEveryField", testChangeAppend},
	{"Change_Append_SeqsIncreaseInCommitOrder", func(t *testing.T, h Harness) { testLogSeqsIncrease(t, h, changeLog) }},
	{"Change_Append_RolledBackLeavesNoHole", func(t *testing.T, h Harness) { testLogRollback(t, h, changeLog) }},
	{"Change_List_PagesWithAfterWithoutDuplicatesOrGaps", func(t *testing.T, h Harness) { testLogPages(t, h, changeLog) }},
	{"Change_List_HonoursFeedSizedLimitsAndDefaultsZero", func(t *testing.T, h Harness) { testLogLimits(t, h, changeLog) }},
}

func newChange(stallID, date string, minute int) *choso.Change {
	return &choso.Change{Day: *newStallDay(stallID, date), At: at(18, 0).Add(time.Duration(minute) * time.Minute)}
}

var changeLog = seqLog{
	name: "AppendChange",
	append: func(tx choso.Tx, i int) (uint64, error) {
		return tx.AppendChange(newChange(stallRau.ID, "2026-03-02", i))
	},
	list: func(tx choso.Tx, after uint64, limit int) ([]uint64, error) {
		list, err := tx.ListChanges(after, limit)
		var seqs []uint64
		for _, c := range list {
			seqs = append(seqs, c.ChangeSeq)
		}
		return seqs, err
	},
}

func testChangeAppend(t *testing.T, h Harness) {
	s := open(t, h)
	var want []*choso.Change
	update(t, s, func(tx choso.Tx) error {
		want = nil
		for i, c := range []*choso.Change{newChange(stallRau.ID, "2026-03-02", 0), newChange(stallBun.ID, "2026-03-01", 1), {}} {
			seq, err := tx.AppendChange(c)
			if err != nil {
				return err
			}
			if seq != c.ChangeSeq || seq == 0 {
				t.Errorf("AppendChange %d: got seq %d and c.ChangeSeq %d, want them equal and not 0", i, seq, c.ChangeSeq)
			}
			want = append(want, c)
		}
		return nil
	})
	var got []*choso.Change
	view(t, s, func(tx choso.Tx) error {
		var err error
		got, err = tx.ListChanges(0, 10)
		return err
	})
	wantEqual(t, "ListChanges", got, want)
}
