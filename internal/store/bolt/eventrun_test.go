package bolt

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/choso/choso"
	chosync "github.com/choso/choso/sync"
	bolt "go.etcd.io/bbolt"
)

// TestEventRuns_ListFromEverySeq: events appended as runs (several in one
// transaction from one device), as single records (a run of one, or the
// records of a file written before runs) and mixed, read back whole, in
// order, from every starting seq and with every page size.
func TestEventRuns_ListFromEverySeq(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 1, 30, 0, 0, time.UTC)
	event := func(dev string, seq int, received time.Time) *choso.Event {
		e := filled[choso.Event]()
		e.DeviceID, e.StallID, e.MarketID, e.ReceivedAt = dev, "stl_"+dev, "mkt_1", received
		e.Seq, e.ID, e.Payload = uint64(seq), fmt.Sprintf("01KB%022d", seq), []byte(fmt.Sprintf(`{"amount":%d}`, seq))
		e.ServerSeq = 0
		return e
	}
	var want []*choso.Event
	appendAll := func(events ...*choso.Event) {
		t.Helper()
		err := db.Update(ctx, func(tx choso.Tx) error {
			for _, e := range events {
				if _, err := tx.AppendEvent(e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, events...)
	}
	appendAll(event("dev_a", 1, at), event("dev_a", 2, at), event("dev_a", 3, at)) // a run of 3
	appendAll(event("dev_b", 1, at))                                               // a run of 1: a plain record
	// A plain record as a store written before runs holds it.
	old := event("dev_c", 1, at)
	err := db.db.Update(func(btx *bolt.Tx) error {
		b := btx.Bucket(bucketEvents)
		seq, _ := b.NextSequence()
		old.ServerSeq = seq
		_, v := encodeEvent(nil, old)
		return b.Put(seqKey(seq), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, old)
	// One transaction, three runs: another device, then another time.
	appendAll(event("dev_a", 4, at), event("dev_a", 5, at), event("dev_b", 2, at), event("dev_b", 3, at),
		event("dev_b", 4, at.Add(time.Millisecond)), event("dev_b", 5, at.Add(time.Millisecond)))
	for i, e := range want {
		if e.ServerSeq != uint64(i+1) {
			t.Fatalf("event %d: got server seq %d, want %d", i, e.ServerSeq, i+1)
		}
	}

	for after := 0; after <= len(want); after++ {
		for limit := 1; limit <= len(want)+1; limit++ {
			var got []*choso.Event
			db.View(ctx, func(tx choso.Tx) error {
				var err error
				got, err = tx.ListEvents(uint64(after), limit)
				return err
			})
			exp := want[after:min(len(want), after+limit)]
			if len(exp) == 0 {
				exp = nil
			}
			if !reflect.DeepEqual(got, exp) {
				t.Fatalf("ListEvents(%d, %d): got %d events %v, want %d", after, limit, len(got), seqsOf(got), len(exp))
			}
		}
	}
}

// TestEventRuns_ListInTheAppendingTransaction: a transaction lists the
// events it appended itself.
func TestEventRuns_ListInTheAppendingTransaction(t *testing.T) {
	db := MustOpenDB(t)
	err := db.Update(context.Background(), func(tx choso.Tx) error {
		for i := range 3 {
			e := filled[choso.Event]()
			e.Seq = uint64(i + 1)
			if _, err := tx.AppendEvent(e); err != nil {
				return err
			}
		}
		got, err := tx.ListEvents(1, 10)
		if err != nil || len(got) != 2 || got[0].ServerSeq != 2 {
			return fmt.Errorf("ListEvents(1, 10) in the appending transaction: got %v, %v, want seqs 2 and 3", seqsOf(got), err)
		}
		e := filled[choso.Event]()
		if _, err := tx.AppendEvent(e); err != nil {
			return err
		}
		got, err = tx.ListEvents(0, 10)
		if err != nil || len(got) != 4 {
			return fmt.Errorf("ListEvents(0, 10) after another append: got %v, %v, want 4 events", seqsOf(got), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEventRuns_CorruptRunInternal(t *testing.T) {
	for _, v := range [][]byte{{binEventRun}, {binEventRun, 5, 0}, {binEventRun, 1, 1, 'a', 0, 0, 2, 0, 9, 1}} {
		if _, err := decodeEvents(nil, seqKey(1), v, 0, 10); choso.ErrorCode(err) != choso.EInternal {
			t.Errorf("decodeEvents(%x): got %v, want %s", v, err, choso.EInternal)
		}
	}
}

func seqsOf(events []*choso.Event) []uint64 {
	var seqs []uint64
	for _, e := range events {
		seqs = append(seqs, e.ServerSeq)
	}
	return seqs
}

// FuzzEventRuns reads arbitrary bytes as an event record (plain or run) from
// every starting seq: no panic, and at most limit events, in seq order.
func FuzzEventRuns(f *testing.F) {
	var r eventRun
	for i := range 3 {
		e := filled[choso.Event]()
		e.Seq = uint64(i + 1)
		if r.n == 0 {
			r.first, r.head = 7, *e
		}
		tail := appendEventTail(nil, e)
		r.body = append(append(r.body, byte(len(tail))), tail...)
		r.n++
	}
	enc := encoder{b: []byte{binEventRun, byte(r.n)}}
	enc.str(r.head.DeviceID)
	enc.str(r.head.StallID)
	enc.str(r.head.MarketID)
	enc.time(r.head.ReceivedAt)
	seed := enc.b
	tx := struct{ events eventRun }{r}
	f.Add(append(seed, tx.events.body...), uint8(7), uint8(10))
	_, plain := encodeEvent(nil, filled[choso.Event]())
	f.Add(plain, uint8(0), uint8(1))
	f.Fuzz(func(t *testing.T, v []byte, after, limit uint8) {
		list, err := decodeEvents(nil, seqKey(7), v, uint64(after), int(limit)+1)
		if err != nil {
			return
		}
		if len(list) > int(limit)+1 {
			t.Fatalf("got %d events, want at most %d", len(list), int(limit)+1)
		}
		if len(v) == 0 || v[0] != binEventRun {
			return // a plain record: its own server seq, as stored
		}
		for i, e := range list {
			if e.ServerSeq <= uint64(after) || i > 0 && e.ServerSeq != list[i-1].ServerSeq+1 {
				t.Fatalf("got server seqs %v after %d, want consecutive after it", seqsOf(list), after)
			}
		}
	})
}

// A push whose events were all applied stores its results as an applied
// run: FindResult gives back every field as it was put, and a run that
// says anything more (a note, a rejection, a gap in server seqs) keeps the
// general form, also whole.
func TestResultRuns_AppliedFormRoundTrips(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	run := func(first uint64, n int, edit func(i int, r *choso.EventResult)) []*choso.EventResult {
		rs := make([]*choso.EventResult, n)
		for i := range rs {
			rs[i] = &choso.EventResult{Status: statusApplied, Hash: hashOf(fmt.Sprint(first, i)), ServerSeq: first + uint64(i)}
			if edit != nil {
				edit(i, rs[i])
			}
		}
		return rs
	}
	runs := map[string][]*choso.EventResult{
		"dev_applied": run(1001, 50, nil),
		"dev_note": run(2001, 5, func(i int, r *choso.EventResult) {
			if i == 3 {
				r.Note = "entity_exists"
			}
		}),
		"dev_reject": run(3001, 5, func(i int, r *choso.EventResult) {
			if i == 2 {
				*r = choso.EventResult{Status: "rejected", Code: "invalid_amount", Message: "amount 0", Hash: r.Hash}
			}
		}),
		"dev_gap":  run(4001, 5, func(i int, r *choso.EventResult) { r.ServerSeq += uint64(i / 3) }),
		"dev_hash": run(5001, 5, func(i int, r *choso.EventResult) { r.Hash = r.Hash[:i+1] }),
	}
	if err := db.Update(ctx, func(tx choso.Tx) error {
		for dev, rs := range runs {
			if err := tx.PutResults(dev, 1, rs); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	err := db.db.View(func(btx *bolt.Tx) error {
		for dev := range runs {
			v := btx.Bucket(bucketResults).Get(appendResultKey(nil, dev, 1))
			if applied := len(v) > 0 && v[0] == binAppliedRun; applied != (dev == "dev_applied") {
				t.Errorf("%s: stored as an applied run: %v, want %v", dev, applied, dev == "dev_applied")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.View(ctx, func(tx choso.Tx) error {
		for dev, rs := range runs {
			for i, want := range rs {
				got, err := tx.FindResult(dev, uint64(i+1))
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("FindResult(%s, %d) = %+v, %v; want %+v", dev, i+1, got, err, want)
				}
			}
			if _, err := tx.FindResult(dev, uint64(len(rs)+1)); choso.ErrorCode(err) != choso.ENotFound {
				t.Errorf("FindResult(%s, %d) past the run: %v, want not found", dev, len(rs)+1, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestResultRuns_CorruptAppliedRunInternal(t *testing.T) {
	hash := hashOf("x")
	for _, v := range [][]byte{
		{binAppliedRun},
		{binAppliedRun, 0, 1},
		append([]byte{binAppliedRun, 2, 1}, hash...),            // two results, one hash
		append(append([]byte{binAppliedRun, 1, 1}, hash...), 0), // a byte left over
	} {
		if _, _, err := decodeResultAt(v, 0); choso.ErrorCode(err) != choso.EInternal {
			t.Errorf("decodeResultAt(%x): got %v, want %s", v, err, choso.EInternal)
		}
	}
}

// FuzzResultRuns reads arbitrary bytes as a stored run of results at every
// index: no panic, and a result found only within the run.
func FuzzResultRuns(f *testing.F) {
	rs := []*choso.EventResult{{Status: statusApplied, Hash: hashOf("a"), ServerSeq: 7}, {Status: statusApplied, Hash: hashOf("b"), ServerSeq: 8}}
	_, applied := encodeResultRun(nil, rs)
	rs[1].Note = "entity_exists"
	_, general := encodeResultRun(nil, rs)
	f.Add(applied, uint8(1))
	f.Add(general, uint8(1))
	f.Fuzz(func(t *testing.T, v []byte, i uint8) {
		r, found, err := decodeResultAt(v, uint64(i))
		if err != nil || !found {
			return
		}
		if r == nil {
			t.Fatal("found a nil result")
		}
	})
}

// The applied form is chosen by the status the rules write; the two names
// must stay one string.
func TestResultRuns_StatusAppliedIsTheRules(t *testing.T) {
	if statusApplied != chosync.StatusApplied {
		t.Fatalf("statusApplied = %q, sync.StatusApplied = %q", statusApplied, chosync.StatusApplied)
	}
}
