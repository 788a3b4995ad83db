package storetest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/choso/choso"
)

var feedTests = []testCase{
	{"Day_ListDaysByDate_PagesInStallIDOrder", testDaysByDatePages},
	{"Day_ListDaysByDate_ReplacedDayListedOnceAsLastPut", testDaysByDateReplaced},
	{"Day_ListDaysByDate_HonoursFeedSizedLimitsAndDefaultsZero", testDaysByDateLimits},
	{"Day_FindChangeAsOf_LatestAtOrBefore", testChangeAsOf},
	{"Day_FindChangeAsOf_MissingNotFound", testChangeAsOfMissing},
	{"Day_LastChangeSeq_ZeroThenTheHighestCommitted", testLastChangeSeq},
	{"Day_Feed_ConcurrentBatchesNeverSkipAChange", testFeedConcurrentBatches},
}

func daysByDate(t *testing.T, s choso.Store, date, after string, limit int) []string {
	t.Helper()
	var ids []string
	view(t, s, func(tx choso.Tx) error {
		list, err := tx.ListDaysByDate(date, after, limit)
		for _, d := range list {
			if d.Date != date {
				t.Errorf("ListDaysByDate(%q, …): got a day of %q", date, d.Date)
			}
			ids = append(ids, d.StallID)
		}
		return err
	})
	return ids
}

func testDaysByDatePages(t *testing.T, h Harness) {
	s := open(t, h)
	stalls := []string{"stl_0ra", stallRau.ID, stallRau.ID + "2", stallBun.ID, stallCa.ID, stallXuan.ID}
	var days []*choso.StallDay
	for _, id := range stalls {
		days = append(days, newStallDay(id, "2026-03-02"))
	}
	putStallDays(t, s, days...)
	putStallDays(t, s, newStallDay(stallRau.ID, "2026-03-01"), newStallDay("stl_9other", "2026-03-03"))
	if got := daysByDate(t, s, "2026-03-02", "", 100); !slices.Equal(got, stalls) {
		t.Fatalf("ListDaysByDate(2026-03-02): got %v, want %v", got, stalls)
	}
	for _, size := range []int{1, 2, 4, len(stalls), len(stalls) + 1} {
		var got []string
		for after, pages := "", 0; ; pages++ {
			if pages > len(stalls) {
				t.Fatalf("pages of %d: more than %d pages, the cursor does not advance", size, len(stalls))
			}
			page := daysByDate(t, s, "2026-03-02", after, size)
			if len(page) > size {
				t.Fatalf("pages of %d: got a page of %d", size, len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1]
		}
		if !slices.Equal(got, stalls) {
			t.Fatalf("pages of %d: got %v, want %v", size, got, stalls)
		}
	}
	tests := []struct {
		date, after string
		want        []string
	}{
		{"2026-03-02", stallRau.ID, stalls[2:]},
		{"2026-03-02", "stl_1", stalls[3:]}, // a cursor that is no stall's ID
		{"2026-03-02", stallXuan.ID, nil},
		{"2026-03-01", "", []string{stallRau.ID}},
		{"2026-03-03", "", []string{"stl_9other"}},
		{"2026-03-04", "", nil},
		{"2026-03", "", nil},
		{"", "", nil},
	}
	for _, tt := range tests {
		if got := daysByDate(t, s, tt.date, tt.after, 100); !slices.Equal(got, tt.want) {
			t.Errorf("ListDaysByDate(%q, after %q): got %v, want %v", tt.date, tt.after, got, tt.want)
		}
	}
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.ListDaysByDate("2026-03-02", "stl_0ra", 2)
		if err != nil {
			t.Fatalf("ListDaysByDate: %v", err)
		}
		wantEqual(t, "ListDaysByDate values", got, days[1:3])
		return nil
	})
}

func testDaysByDateReplaced(t *testing.T, h Harness) {
	s := open(t, h)
	putStallDays(t, s, newStallDay(stallRau.ID, "2026-03-02"), newStallDay(stallBun.ID, "2026-03-02"))
	final := newStallDay(stallRau.ID, "2026-03-02")
	final.Status, final.Revision, final.ByMethod = choso.DayFinal, 90, nil
	putStallDays(t, s, final)
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.ListDaysByDate("2026-03-02", "", 10)
		if err != nil {
			t.Fatalf("ListDaysByDate: %v", err)
		}
		wantEqual(t, "ListDaysByDate after a replace", got, []*choso.StallDay{final, newStallDay(stallBun.ID, "2026-03-02")})
		return nil
	})
}

func testDaysByDateLimits(t *testing.T, h Harness) {
	s := open(t, h)
	const feedPage = 1000 + 1
	update(t, s, func(tx choso.Tx) error {
		for i := range feedPage + 1 {
			if err := tx.PutStallDay(newStallDay(fmt.Sprintf("stl_%05d", i), "2026-03-02")); err != nil {
				return err
			}
		}
		return nil
	})
	for _, limit := range []int{choso.MaxPageSize + 1, feedPage} {
		if got := daysByDate(t, s, "2026-03-02", "", limit); len(got) != limit {
			t.Errorf("ListDaysByDate with limit %d: got %d days, want %d", limit, len(got), limit)
		}
	}
	for _, limit := range []int{0, -1} {
		if got := daysByDate(t, s, "2026-03-02", "", limit); len(got) < choso.DefaultPageSize {
			t.Errorf("ListDaysByDate with limit %d: got %d days, want at least %d", limit, len(got), choso.DefaultPageSize)
		}
	}
}

// appendChanges appends changes in order, in one transaction, and returns
// copies carrying the ChangeSeq the store gave them.
func appendChanges(t *testing.T, s choso.Store, changes ...*choso.Change) []*choso.Change {
	t.Helper()
	var out []*choso.Change
	update(t, s, func(tx choso.Tx) error {
		out = out[:0]
		for _, c := range changes {
			cp := *c
			if _, err := tx.AppendChange(&cp); err != nil {
				return err
			}
			out = append(out, &cp)
		}
		return nil
	})
	return out
}

func testChangeAsOf(t *testing.T, h Harness) {
	s := open(t, h)
	// Revisions of three stall-days, interleaved, over three transactions;
	// the neighbour stl_0rau2 sorts right after stl_0rau.
	var all []*choso.Change
	all = append(all, appendChanges(t, s,
		newChange(stallRau.ID, "2026-03-02", 0),
		newChange(stallRau.ID+"2", "2026-03-02", 1),
		newChange(stallRau.ID, "2026-03-01", 2))...)
	all = append(all, appendChanges(t, s,
		newChange(stallRau.ID+"2", "2026-03-02", 3),
		newChange(stallBun.ID, "2026-03-02", 4))...)
	final := newChange(stallRau.ID, "2026-03-02", 5)
	final.Day.Status = choso.DayFinal
	all = append(all, appendChanges(t, s, final, newChange(stallRau.ID, "2026-03-03", 6))...)
	rau0, rau1, rau2 := all[0], all[5], all[2] // rau 03-02 first and final, rau 03-01
	tests := []struct {
		stallID, date string
		asOf          uint64
		want          *choso.Change // nil: not found
	}{
		{stallRau.ID, "2026-03-02", rau0.ChangeSeq, rau0},
		{stallRau.ID, "2026-03-02", rau0.ChangeSeq - 1, nil},
		{stallRau.ID, "2026-03-02", rau0.ChangeSeq + 1, rau0},
		{stallRau.ID, "2026-03-02", rau1.ChangeSeq - 1, rau0},
		{stallRau.ID, "2026-03-02", rau1.ChangeSeq, rau1},
		{stallRau.ID, "2026-03-02", rau1.ChangeSeq + 100, rau1},
		{stallRau.ID, "2026-03-02", math.MaxUint64, rau1},
		{stallRau.ID, "2026-03-01", math.MaxUint64, rau2},
		{stallRau.ID, "2026-03-01", rau2.ChangeSeq - 1, nil},
		{stallRau.ID + "2", "2026-03-02", all[3].ChangeSeq, all[3]},
		{stallRau.ID + "2", "2026-03-02", all[3].ChangeSeq - 1, all[1]},
		{stallBun.ID, "2026-03-02", math.MaxUint64, all[4]},
		{stallRau.ID, "2026-03-03", all[6].ChangeSeq, all[6]},
		{stallRau.ID, "2026-03-03", all[6].ChangeSeq - 1, nil},
	}
	for _, tt := range tests {
		view(t, s, func(tx choso.Tx) error {
			got, err := tx.FindChangeAsOf(tt.stallID, tt.date, tt.asOf)
			what := fmt.Sprintf("FindChangeAsOf(%q, %q, %d)", tt.stallID, tt.date, tt.asOf)
			if tt.want == nil {
				wantCode(t, what, err, choso.ENotFound)
				return nil
			}
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			wantEqual(t, what, got, tt.want)
			return nil
		})
	}
}

func testChangeAsOfMissing(t *testing.T, h Harness) {
	s := open(t, h)
	c := appendChanges(t, s, newChange(stallRau.ID, "2026-03-02", 0), &choso.Change{})[0]
	tests := []struct {
		stallID, date string
		asOf          uint64
	}{
		{stallRau.ID, "2026-03-02", 0},
		{stallRau.ID, "2026-03-01", math.MaxUint64},
		{stallRau.ID, "2026-03", math.MaxUint64},
		{stallRau.ID, "", math.MaxUint64},
		{"", "", math.MaxUint64},
		{stallBun.ID, "2026-03-02", math.MaxUint64},
		{"stl_0ra", "2026-03-02", math.MaxUint64},
		{"", "2026-03-02", math.MaxUint64},
		{stallRau.ID + "/2026-03-02", "2026-03-02", math.MaxUint64},
	}
	for _, tt := range tests {
		view(t, s, func(tx choso.Tx) error {
			_, err := tx.FindChangeAsOf(tt.stallID, tt.date, tt.asOf)
			wantCode(t, fmt.Sprintf("FindChangeAsOf(%q, %q, %d)", tt.stallID, tt.date, tt.asOf), err, choso.ENotFound)
			return nil
		})
	}
	view(t, s, func(tx choso.Tx) error {
		if _, err := tx.FindChangeAsOf(stallRau.ID, "2026-03-02", c.ChangeSeq); err != nil {
			t.Errorf("FindChangeAsOf of the stored change: got %v, want it", err)
		}
		return nil
	})
}

func lastChangeSeq(t *testing.T, s choso.Store) uint64 {
	t.Helper()
	var last uint64
	view(t, s, func(tx choso.Tx) error {
		var err error
		last, err = tx.LastChangeSeq()
		return err
	})
	return last
}

func testLastChangeSeq(t *testing.T, h Harness) {
	s := open(t, h)
	if got := lastChangeSeq(t, s); got != 0 {
		t.Fatalf("LastChangeSeq of an empty store: got %d, want 0", got)
	}
	seqs := appendLog(t, s, changeLog, 3)
	if got := lastChangeSeq(t, s); got != seqs[2] {
		t.Fatalf("LastChangeSeq: got %d, want %d", got, seqs[2])
	}
	err := s.Update(t.Context(), func(tx choso.Tx) error {
		seq, err := tx.AppendChange(newChange(stallRau.ID, "2026-03-02", 9))
		if err != nil {
			return err
		}
		if last, err := tx.LastChangeSeq(); err != nil || last != seq {
			t.Errorf("LastChangeSeq in the appending transaction: got %d, %v; want %d", last, err, seq)
		}
		return choso.Errorf(choso.EConflict, "the push itself failed")
	})
	wantCode(t, "Update that appended then failed", err, choso.EConflict)
	if got := lastChangeSeq(t, s); got != seqs[2] {
		t.Fatalf("LastChangeSeq after a rollback: got %d, want %d", got, seqs[2])
	}
	more := appendLog(t, s, changeLog, 2)
	if got := lastChangeSeq(t, s); got != more[1] {
		t.Fatalf("LastChangeSeq: got %d, want %d", got, more[1])
	}
}

// testFeedConcurrentBatches is PARTNER.md §2 as a test: while Batch callers
// append changes, a partner polls, reading LastChangeSeq and the changes
// after its cursor in one read transaction each time. It must see every
// committed change exactly once, in order, and never one past what
// LastChangeSeq reported: a backend that let a later seq commit before an
// earlier one (a sequence taken outside the transaction) would make the
// poller step over the earlier one for good.
func testFeedConcurrentBatches(t *testing.T, h Harness) {
	s := open(t, h)
	const writers, calls, each, page = 8, 12, 3, 7
	committed := make(chan []uint64, writers*calls)
	errs := make(chan error, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			stallID := fmt.Sprintf("stl_w%02d", w)
			for c := range calls {
				var seqs []uint64
				err := s.Batch(context.Background(), func(tx choso.Tx) error {
					seqs = nil // fn may run again: start from nothing
					for i := range each {
						seq, err := tx.AppendChange(newChange(stallID, "2026-03-02", c*each+i))
						if err != nil {
							return err
						}
						seqs = append(seqs, seq)
					}
					return nil
				})
				if err != nil {
					errs <- fmt.Errorf("Batch(AppendChange) of %s: %w", stallID, err)
					return
				}
				committed <- seqs
			}
		})
	}
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()

	close(start)
	var seen []uint64
	var cursor uint64
	for polls := 0; ; polls++ {
		if polls > 100_000 {
			t.Fatalf("poller: no end after %d polls at cursor %d", polls, cursor)
		}
		finished := false
		select {
		case <-writersDone:
			finished = true // every write committed before this poll's read began
		default:
		}
		var got []*choso.Change
		var last uint64
		view(t, s, func(tx choso.Tx) error {
			var err error
			if last, err = tx.LastChangeSeq(); err != nil {
				return err
			}
			if got, err = tx.ListChanges(cursor, page); err != nil {
				return err
			}
			for _, c := range got {
				if c.ChangeSeq > last {
					t.Fatalf("poll at cursor %d: ListChanges gave seq %d past LastChangeSeq %d in the same transaction", cursor, c.ChangeSeq, last)
				}
				// The stall-day index agrees with the log it was written with.
				asOf, err := tx.FindChangeAsOf(c.Day.StallID, c.Day.Date, c.ChangeSeq)
				if err != nil || asOf.ChangeSeq != c.ChangeSeq {
					t.Fatalf("FindChangeAsOf(%s, %s, %d) in the poll: got %+v, %v; want that change", c.Day.StallID, c.Day.Date, c.ChangeSeq, asOf, err)
				}
			}
			if len(got) < page && len(got) > 0 && got[len(got)-1].ChangeSeq != last {
				t.Fatalf("poll at cursor %d: a short page ended at %d, but LastChangeSeq is %d in the same transaction", cursor, got[len(got)-1].ChangeSeq, last)
			}
			if len(got) == 0 && cursor != last {
				t.Fatalf("poll at cursor %d: no changes, but LastChangeSeq is %d in the same transaction", cursor, last)
			}
			return nil
		})
		for _, c := range got {
			if c.ChangeSeq <= cursor {
				t.Fatalf("poll at cursor %d: got seq %d, want each seq after the cursor, in order", cursor, c.ChangeSeq)
			}
			seen = append(seen, c.ChangeSeq)
			cursor = c.ChangeSeq
		}
		if finished && len(got) < page {
			break
		}
	}
	close(errs)
	close(committed)
	for err := range errs {
		t.Fatal(err)
	}
	var all []uint64
	for seqs := range committed {
		all = append(all, seqs...)
	}
	slices.Sort(all)
	if len(all) != writers*calls*each || len(slices.Compact(slices.Clone(all))) != len(all) {
		t.Fatalf("change seqs handed out: got %d (%d distinct), want %d distinct", len(all), len(slices.Compact(slices.Clone(all))), writers*calls*each)
	}
	if !slices.Equal(seen, all) {
		t.Fatalf("the poller saw %d changes, want the %d committed, each once, in order:\n got %v\nwant %v", len(seen), len(all), seen, all)
	}
}
