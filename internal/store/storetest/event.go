package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/choso/choso"
)

var eventTests = []testCase{
	{"Event_Append_SetsServerSeqAndKeepsEveryField", testEventAppend},
	{"Event_Append_SeqsIncreaseInCommitOrder", func(t *testing.T, h Harness) { testLogSeqsIncrease(t, h, eventLog) }},
	{"Event_Append_RolledBackLeavesNoHole", func(t *testing.T, h Harness) { testLogRollback(t, h, eventLog) }},
	{"Event_List_PagesWithAfterWithoutDuplicatesOrGaps", func(t *testing.T, h Harness) { testLogPages(t, h, eventLog) }},
	{"Event_List_HonoursFeedSizedLimitsAndDefaultsZero", func(t *testing.T, h Harness) { testLogLimits(t, h, eventLog) }},
	{"Event_Append_ConcurrentBatchesGiveEachSeqOnceWithoutHoles", testEventAppendConcurrentBatches},
	{"Sync_Find_ReturnsCopiesTheCallerOwns", testSyncFindCopies},
	{"Sync_WritesInView_Invalid", testSyncViewRefusesWrites},
}

func newEvent(deviceID string, seq uint64) *choso.Event {
	return &choso.Event{
		DeviceID: deviceID, StallID: stallRau.ID, MarketID: choBacGiang.ID, Seq: seq,
		ID: fmt.Sprintf("01JNF8%020d", seq), Type: choso.EventSaleRecord, V: 1,
		Payload:      []byte(`{"amount":25000,"method":"qr","ref":"CS7K3M9QXR","items":[{"name":"Rau muống","qty":2,"unit_price":12500}]}`),
		BusinessDate: "2026-03-02", DeviceBusinessDate: "2026-03-01",
		WallMs: 1772416800000 + int64(seq), AnchoredMs: 1772416801000 + int64(seq), HLC: fmt.Sprintf("1772416801000:%d:%s", seq, deviceID),
		EffectiveMs: 1772416801000 + int64(seq), TimeQuality: choso.TimeAnchored, ReceivedAt: at(9, 0).Add(time.Duration(seq) * time.Millisecond),
	}
}

// appendEvents appends events in order, in one transaction, and returns
// copies carrying the ServerSeq the store gave them.
func appendEvents(t *testing.T, s choso.Store, events ...*choso.Event) []*choso.Event {
	t.Helper()
	var out []*choso.Event
	update(t, s, func(tx choso.Tx) error {
		out = out[:0]
		for _, e := range events {
			c := *e
			seq, err := tx.AppendEvent(&c)
			if err != nil {
				return err
			}
			if seq != c.ServerSeq {
				t.Errorf("AppendEvent: got seq %d and e.ServerSeq %d, want them equal", seq, c.ServerSeq)
			}
			out = append(out, &c)
		}
		return nil
	})
	return out
}

func testEventAppend(t *testing.T, h Harness) {
	s := open(t, h)
	first := appendEvents(t, s, newEvent(devRau1.ID, 1), newEvent(devRau1.ID, 2))
	voided := newEvent(devBun.ID, 1)
	voided.Type, voided.Payload, voided.TimeQuality = choso.EventSaleVoid, []byte(`{"sale_id":"01JNF8","reason":"nhầm"}`), choso.TimeSuspect
	empty := &choso.Event{DeviceID: devBun.ID, Seq: 2, Type: choso.EventDayClose} // zero times, nil payload
	second := appendEvents(t, s, voided, empty)
	var got []*choso.Event
	view(t, s, func(tx choso.Tx) error {
		var err error
		got, err = tx.ListEvents(0, 10)
		return err
	})
	wantEqual(t, "ListEvents", got, slices.Concat(first, second))
}

func testEventAppendConcurrentBatches(t *testing.T, h Harness) {
	s := open(t, h)
	const workers, calls, each = 8, 12, 5
	type appended struct {
		deviceID string
		seqs     []uint64 // server seqs of the device's seqs 1, 2, … of one call
		first    uint64   // the device seq of seqs[0]
	}
	done := make(chan appended, workers*calls)
	errs := make(chan error, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			<-start
			deviceID := fmt.Sprintf("dev_w%02d", w)
			for c := range calls {
				first := uint64(c*each + 1)
				var seqs []uint64
				err := s.Batch(t.Context(), func(tx choso.Tx) error {
					seqs = nil // fn may run again: start from nothing
					for i := range each {
						seq, err := tx.AppendEvent(newEvent(deviceID, first+uint64(i)))
						if err != nil {
							return err
						}
						seqs = append(seqs, seq)
					}
					return nil
				})
				if err != nil {
					errs <- fmt.Errorf("Batch(AppendEvent) of %s: %w", deviceID, err)
					return
				}
				done <- appended{deviceID, seqs, first}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	close(done)
	for err := range errs {
		t.Fatal(err)
	}
	type origin struct {
		deviceID string
		seq      uint64
	}
	bySeq := map[uint64]origin{}
	for a := range done {
		for i, seq := range a.seqs {
			if i > 0 && seq != a.seqs[i-1]+1 {
				t.Fatalf("server seqs of one transaction: got %v, want consecutive", a.seqs)
			}
			if o, dup := bySeq[seq]; dup {
				t.Fatalf("server seq %d: got it for %s seq %d and for %s seq %d, want it once", seq, o.deviceID, o.seq, a.deviceID, a.first+uint64(i))
			}
			bySeq[seq] = origin{a.deviceID, a.first + uint64(i)}
		}
	}
	const total = workers * calls * each
	if len(bySeq) != total {
		t.Fatalf("server seqs handed out: got %d, want %d", len(bySeq), total)
	}
	// Read the log back in pages: every seq in order, none missing, each
	// event the one its seq was handed out for.
	var got []uint64
	for after := uint64(0); ; {
		var page []*choso.Event
		view(t, s, func(tx choso.Tx) error {
			var err error
			page, err = tx.ListEvents(after, 97)
			return err
		})
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if o := bySeq[e.ServerSeq]; e.DeviceID != o.deviceID || e.Seq != o.seq {
				t.Fatalf("event at server seq %d: got %s seq %d, want %s seq %d", e.ServerSeq, e.DeviceID, e.Seq, o.deviceID, o.seq)
			}
			got = append(got, e.ServerSeq)
		}
		after = page[len(page)-1].ServerSeq
	}
	if len(got) != total {
		t.Fatalf("ListEvents over every page: got %d events, want %d", len(got), total)
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("ListEvents: got seq %d after %d, want %d (no hole, in order)", got[i], got[i-1], got[i-1]+1)
		}
	}
}

// seqLog is an append-only log with seqs the store hands out (events, feed
// changes), so one set of cases checks both.
type seqLog struct {
	name   string
	append func(tx choso.Tx, i int) (uint64, error)
	list   func(tx choso.Tx, after uint64, limit int) ([]uint64, error)
}

var eventLog = seqLog{
	name: "AppendEvent",
	append: func(tx choso.Tx, i int) (uint64, error) {
		return tx.AppendEvent(newEvent(devRau1.ID, uint64(i+1)))
	},
	list: func(tx choso.Tx, after uint64, limit int) ([]uint64, error) {
		list, err := tx.ListEvents(after, limit)
		var seqs []uint64
		for _, e := range list {
			seqs = append(seqs, e.ServerSeq)
		}
		return seqs, err
	},
}

// appendLog appends n entries to the log in one transaction and returns
// their seqs.
func appendLog(t *testing.T, s choso.Store, l seqLog, n int) []uint64 {
	t.Helper()
	var seqs []uint64
	update(t, s, func(tx choso.Tx) error {
		seqs = nil
		for i := range n {
			seq, err := l.append(tx, i)
			if err != nil {
				return err
			}
			seqs = append(seqs, seq)
		}
		return nil
	})
	return seqs
}

func listLog(t *testing.T, s choso.Store, l seqLog, after uint64, limit int) []uint64 {
	t.Helper()
	var seqs []uint64
	view(t, s, func(tx choso.Tx) error {
		var err error
		seqs, err = l.list(tx, after, limit)
		return err
	})
	return seqs
}

func testLogSeqsIncrease(t *testing.T, h Harness, l seqLog) {
	s := open(t, h)
	var all []uint64
	for _, n := range []int{1, 3, 1, 2} {
		seqs := appendLog(t, s, l, n)
		if len(all) == 0 && seqs[0] == 0 {
			t.Fatalf("%s: got seq 0, want seqs from 1", l.name)
		}
		all = append(all, seqs...)
	}
	for i := 1; i < len(all); i++ {
		if all[i] != all[i-1]+1 {
			t.Fatalf("%s over four transactions: got seqs %v, want each one more than the last", l.name, all)
		}
	}
	if got := listLog(t, s, l, 0, 100); !slices.Equal(got, all) {
		t.Fatalf("list after %s: got %v, want %v", l.name, got, all)
	}
}

func testLogRollback(t *testing.T, h Harness, l seqLog) {
	s := open(t, h)
	kept := appendLog(t, s, l, 2)
	err := s.Update(t.Context(), func(tx choso.Tx) error {
		if _, err := l.append(tx, 2); err != nil {
			return err
		}
		return choso.Errorf(choso.EConflict, "the push itself failed")
	})
	wantCode(t, "Update that appended then failed", err, choso.EConflict)
	if got := listLog(t, s, l, 0, 100); !slices.Equal(got, kept) {
		t.Fatalf("list after the rollback: got %v, want %v", got, kept)
	}
	next := appendLog(t, s, l, 1)
	if want := kept[1] + 1; next[0] != want {
		t.Fatalf("%s after a rollback: got seq %d, want %d (no hole in the log)", l.name, next[0], want)
	}
}

func testLogPages(t *testing.T, h Harness, l seqLog) {
	s := open(t, h)
	const n = 53
	all := appendLog(t, s, l, n)
	for _, size := range []int{1, 5, 12, n, n + 1} {
		var got []uint64
		after := uint64(0)
		for pages := 0; ; pages++ {
			if pages > n {
				t.Fatalf("pages of %d: more than %d pages, the cursor does not advance", size, n)
			}
			page := listLog(t, s, l, after, size)
			if len(page) > size {
				t.Fatalf("pages of %d: got a page of %d, want at most %d", size, len(page), size)
			}
			if len(page) < size && len(got)+len(page) < n {
				t.Fatalf("pages of %d: got a short page of %d after %d of %d", size, len(page), len(got), n)
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1]
		}
		if !slices.Equal(got, all) {
			t.Fatalf("pages of %d: got seqs %v, want %v", size, got, all)
		}
	}
	// A cursor in the middle, and one past the end.
	if got, want := listLog(t, s, l, all[9], 3), all[10:13]; !slices.Equal(got, want) {
		t.Fatalf("list after %d: got %v, want %v", all[9], got, want)
	}
	if got := listLog(t, s, l, all[n-1], 10); len(got) != 0 {
		t.Fatalf("list after the last seq: got %v, want none", got)
	}
	if got := listLog(t, s, l, all[n-1]+1000, 10); len(got) != 0 {
		t.Fatalf("list after a seq never handed out: got %v, want none", got)
	}
}

// testLogLimits checks the lists give pages as large as their readers ask:
// the partner feed asks up to 1,000 changes and one more to learn whether
// another page follows, and the registry MaxPageSize+1. A limit of 0 or less
// must give a page of at least DefaultPageSize.
func testLogLimits(t *testing.T, h Harness, l seqLog) {
	s := open(t, h)
	const feedPage = 1000 + 1
	appendLog(t, s, l, feedPage+1)
	for _, limit := range []int{choso.MaxPageSize + 1, feedPage} {
		if got := listLog(t, s, l, 0, limit); len(got) != limit {
			t.Errorf("list with limit %d: got %d items, want %d", limit, len(got), limit)
		}
	}
	for _, limit := range []int{0, -1} {
		if got := listLog(t, s, l, 0, limit); len(got) < choso.DefaultPageSize {
			t.Errorf("list with limit %d: got %d items, want at least %d", limit, len(got), choso.DefaultPageSize)
		}
	}
}

func testSyncFindCopies(t *testing.T, h Harness) {
	s := open(t, h)
	putResults(t, s, devRau1.ID, map[uint64]*choso.EventResult{1: newResult("applied", "", 1)})
	putStallDays(t, s, newStallDay(stallRau.ID, "2026-03-02"))
	update(t, s, func(tx choso.Tx) error {
		if err := tx.PutEntity("01JNF8SALE000000000000000A", newEntity(devRau1.ID, 1, 1)); err != nil {
			return err
		}
		if err := tx.PutDeviceDay(newDeviceDay(devRau1.ID, "2026-03-02")); err != nil {
			return err
		}
		if _, err := tx.AppendEvent(newEvent(devRau1.ID, 1)); err != nil {
			return err
		}
		_, err := tx.AppendChange(newChange(stallRau.ID, "2026-03-02", 0))
		return err
	})
	view(t, s, func(tx choso.Tx) error {
		r, _ := tx.FindResult(devRau1.ID, 1)
		e, _ := tx.FindEntity("01JNF8SALE000000000000000A")
		sd, _ := tx.FindStallDay(stallRau.ID, "2026-03-02")
		dd, _ := tx.FindDeviceDay(devRau1.ID, "2026-03-02")
		ev, _ := tx.ListEvents(0, 1)
		ch, _ := tx.ListChanges(0, 1)
		if r == nil || e == nil || sd == nil || dd == nil || len(ev) != 1 || len(ch) != 1 {
			t.Fatalf("reads: got %v %v %v %v %v %v, want each stored value", r, e, sd, dd, ev, ch)
		}
		r.Hash[0] ^= 0xff
		e.Hash[0] ^= 0xff
		sd.ByMethod[choso.MethodCash] = choso.MethodTotals{}
		dd.ByMethod[choso.MethodCash] = choso.MethodTotals{}
		ev[0].Payload[0] = 'X'
		ch[0].Day.ByMethod[choso.MethodCash] = choso.MethodTotals{}
		r2, _ := tx.FindResult(devRau1.ID, 1)
		wantEqual(t, "result read after changing an earlier copy", r2, newResult("applied", "", 1))
		e2, _ := tx.FindEntity("01JNF8SALE000000000000000A")
		wantEqual(t, "entity read after changing an earlier copy", e2, newEntity(devRau1.ID, 1, 1))
		sd2, _ := tx.FindStallDay(stallRau.ID, "2026-03-02")
		wantEqual(t, "stall day read after changing an earlier copy", sd2, newStallDay(stallRau.ID, "2026-03-02"))
		dd2, _ := tx.FindDeviceDay(devRau1.ID, "2026-03-02")
		wantEqual(t, "device day read after changing an earlier copy", dd2, newDeviceDay(devRau1.ID, "2026-03-02"))
		ev2, _ := tx.ListEvents(0, 1)
		if want := newEvent(devRau1.ID, 1).Payload; len(ev2) != 1 || string(ev2[0].Payload) != string(want) {
			t.Fatalf("event read after changing an earlier copy: got %v, want payload %s", ev2, want)
		}
		ch2, _ := tx.ListChanges(0, 1)
		if len(ch2) != 1 || ch2[0].Day.ByMethod[choso.MethodCash] != newStallDay("", "").ByMethod[choso.MethodCash] {
			t.Fatalf("change read after changing an earlier copy: got %v, want the stored totals", ch2)
		}
		return nil
	})
}

func testSyncViewRefusesWrites(t *testing.T, h Harness) {
	s := open(t, h)
	writes := []struct {
		name  string
		write func(choso.Tx) error
	}{
		{"PutResult", func(tx choso.Tx) error { return tx.PutResult(devRau1.ID, 1, newResult("applied", "", 1)) }},
		{"PutEntity", func(tx choso.Tx) error {
			return tx.PutEntity("01JNF8SALE000000000000000A", newEntity(devRau1.ID, 1, 1))
		}},
		{"AppendEvent", func(tx choso.Tx) error { _, err := tx.AppendEvent(newEvent(devRau1.ID, 1)); return err }},
		{"PutStallDay", func(tx choso.Tx) error { return tx.PutStallDay(newStallDay(stallRau.ID, "2026-03-02")) }},
		{"PutDeviceDay", func(tx choso.Tx) error { return tx.PutDeviceDay(newDeviceDay(devRau1.ID, "2026-03-02")) }},
		{"AppendChange", func(tx choso.Tx) error {
			_, err := tx.AppendChange(newChange(stallRau.ID, "2026-03-02", 0))
			return err
		}},
	}
	for _, w := range writes {
		err := s.View(t.Context(), w.write)
		wantCode(t, w.name+" in View", err, choso.EInvalid)
	}
	view(t, s, func(tx choso.Tx) error {
		if _, err := tx.FindResult(devRau1.ID, 1); choso.ErrorCode(err) != choso.ENotFound {
			t.Errorf("FindResult after the refused put: got %v, want not found", err)
		}
		if _, err := tx.FindEntity("01JNF8SALE000000000000000A"); choso.ErrorCode(err) != choso.ENotFound {
			t.Errorf("FindEntity after the refused put: got %v, want not found", err)
		}
		if _, err := tx.FindStallDay(stallRau.ID, "2026-03-02"); choso.ErrorCode(err) != choso.ENotFound {
			t.Errorf("FindStallDay after the refused put: got %v, want not found", err)
		}
		if _, err := tx.FindDeviceDay(devRau1.ID, "2026-03-02"); choso.ErrorCode(err) != choso.ENotFound {
			t.Errorf("FindDeviceDay after the refused put: got %v, want not found", err)
		}
		if got, err := tx.ListEvents(0, 10); err != nil || len(got) != 0 {
			t.Errorf("ListEvents after the refused append: got %d events, %v; want none", len(got), err)
		}
		if got, err := tx.ListChanges(0, 10); err != nil || len(got) != 0 {
			t.Errorf("ListChanges after the refused append: got %d changes, %v; want none", len(got), err)
		}
		return nil
	})
}
