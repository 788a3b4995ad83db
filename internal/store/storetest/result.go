package storetest

import (
	"fmt"
	"testing"

	"github.com/choso/choso"
)

var resultTests = []testCase{
	{"Result_Put_FindReturnsEveryField", testResultPutFind},
	{"Result_Put_ReplacesTheResult", testResultPutReplaces},
	{"Result_Find_MissingNotFound", testResultFindMissing},
	{"Result_Put_MalformedKeysInvalid", testResultPutMalformed},
	{"Result_PutResults_EverySeqOfARunFound", testResultRuns},
	{"Entity_Put_FindReturnsEveryField", testEntityPutFind},
	{"Entity_Put_ReplacesTheEntity", testEntityPutReplaces},
	{"Entity_Find_MissingNotFound", testEntityFindMissing},
	{"Entity_Put_EmptyIDInvalid", testEntityPutEmptyID},
}

// Fixtures set every field, so a round trip shows any field a backend drops.

func newResult(status, code string, serverSeq uint64) *choso.EventResult {
	return &choso.EventResult{
		Status: status, Code: code, Message: "Bán 25.000 đ: đã ghi", Hash: tokenHash(fmt.Sprint("event", serverSeq)),
		ServerSeq: serverSeq, Note: "entity_exists",
	}
}

func newEntity(deviceID string, seq, serverSeq uint64) *choso.Entity {
	return &choso.Entity{
		DeviceID: deviceID, Seq: seq, Hash: tokenHash(fmt.Sprint("event", serverSeq)), ServerSeq: serverSeq,
		Type: choso.EventSaleRecord, StallID: stallRau.ID, BusinessDate: "2026-03-02",
		Method: choso.MethodQR, Amount: 25000, VoidedBy: "01JNF9V0ID000000000000000A",
		Ref: "CS7K3M9QXR", EffectiveMs: 1772416801000 + int64(seq), ConfirmedBy: "FT26061" + fmt.Sprint(serverSeq),
		PendingVoid: "01JNF9V0ID000000000000000B",
	}
}

func putResults(t *testing.T, s choso.Store, deviceID string, results map[uint64]*choso.EventResult) {
	t.Helper()
	update(t, s, func(tx choso.Tx) error {
		for seq, r := range results {
			c := *r
			if err := tx.PutResult(deviceID, seq, &c); err != nil {
				return err
			}
		}
		return nil
	})
}

func testResultPutFind(t *testing.T, h Harness) {
	s := open(t, h)
	want := map[uint64]*choso.EventResult{
		1:       newResult("applied", "", 1),
		2:       newResult("rejected", "seq_reused", 0),
		1 << 40: newResult("applied", "", 9),
	}
	putResults(t, s, devRau1.ID, want)
	putResults(t, s, devBun.ID, map[uint64]*choso.EventResult{1: newResult("rejected", "invalid", 0)})
	view(t, s, func(tx choso.Tx) error {
		for seq, r := range want {
			got, err := tx.FindResult(devRau1.ID, seq)
			if err != nil {
				t.Fatalf("FindResult(%s, %d): %v", devRau1.ID, seq, err)
			}
			wantEqual(t, fmt.Sprintf("FindResult(%s, %d)", devRau1.ID, seq), got, r)
		}
		got, err := tx.FindResult(devBun.ID, 1)
		if err != nil {
			t.Fatalf("FindResult(%s, 1): %v", devBun.ID, err)
		}
		wantEqual(t, "FindResult of another device's seq 1", got, newResult("rejected", "invalid", 0))
		return nil
	})
}

func testResultPutReplaces(t *testing.T, h Harness) {
	s := open(t, h)
	putResults(t, s, devRau1.ID, map[uint64]*choso.EventResult{5: newResult("applied", "", 3)})
	want := newResult("rejected", "invalid", 0)
	want.Hash, want.Note = nil, ""
	putResults(t, s, devRau1.ID, map[uint64]*choso.EventResult{5: want})
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindResult(devRau1.ID, 5)
		if err != nil {
			t.Fatalf("FindResult: %v", err)
		}
		wantEqual(t, "FindResult after replace", got, want)
		return nil
	})
}

func testResultFindMissing(t *testing.T, h Harness) {
	s := open(t, h)
	putResults(t, s, "dev_a", map[uint64]*choso.EventResult{1: newResult("applied", "", 1), 256: newResult("applied", "", 2)})
	view(t, s, func(tx choso.Tx) error {
		tests := []struct {
			deviceID string
			seq      uint64
		}{
			{"dev_a", 0}, {"dev_a", 2}, {"dev_a", 255}, {"dev_a", 1 << 8 << 8},
			{"dev_b", 1}, {"dev_", 1}, {"dev_ab", 1}, {"", 1}, {"dev_a/", 1},
		}
		for _, tt := range tests {
			_, err := tx.FindResult(tt.deviceID, tt.seq)
			wantCode(t, fmt.Sprintf("FindResult(%q, %d)", tt.deviceID, tt.seq), err, choso.ENotFound)
		}
		return nil
	})
}

func testResultPutMalformed(t *testing.T, h Harness) {
	s := open(t, h)
	tests := []struct {
		deviceID string
		seq      uint64
	}{
		{"", 1}, {"dev/a", 1}, {"dev_a", 0},
	}
	for _, tt := range tests {
		err := s.Update(t.Context(), func(tx choso.Tx) error {
			return tx.PutResult(tt.deviceID, tt.seq, newResult("applied", "", 1))
		})
		wantCode(t, fmt.Sprintf("PutResult(%q, %d)", tt.deviceID, tt.seq), err, choso.EInvalid)
	}
}

func testEntityPutFind(t *testing.T, h Harness) {
	s := open(t, h)
	sale := newEntity(devRau1.ID, 3, 12)
	placeholder := &choso.Entity{PendingVoid: "01JNF9V0ID000000000000000C"} // a sale voided before it arrived
	update(t, s, func(tx choso.Tx) error {
		if err := tx.PutEntity("01JNF8SALE000000000000000A", sale); err != nil {
			return err
		}
		return tx.PutEntity("01JNF8SALE000000000000000B", placeholder)
	})
	view(t, s, func(tx choso.Tx) error {
		for id, want := range map[string]*choso.Entity{"01JNF8SALE000000000000000A": sale, "01JNF8SALE000000000000000B": placeholder} {
			got, err := tx.FindEntity(id)
			if err != nil {
				t.Fatalf("FindEntity(%s): %v", id, err)
			}
			wantEqual(t, "FindEntity("+id+")", got, want)
		}
		return nil
	})
}

func testEntityPutReplaces(t *testing.T, h Harness) {
	s := open(t, h)
	const id = "01JNF8SALE000000000000000A"
	update(t, s, func(tx choso.Tx) error {
		return tx.PutEntity(id, &choso.Entity{PendingVoid: "01JNF9V0ID000000000000000C"})
	})
	arrived := newEntity(devRau2.ID, 8, 40)
	update(t, s, func(tx choso.Tx) error { return tx.PutEntity(id, arrived) })
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindEntity(id)
		if err != nil {
			t.Fatalf("FindEntity: %v", err)
		}
		wantEqual(t, "FindEntity after replace", got, arrived)
		return nil
	})
}

func testEntityFindMissing(t *testing.T, h Harness) {
	s := open(t, h)
	update(t, s, func(tx choso.Tx) error {
		return tx.PutEntity("01JNF8SALE000000000000000A", newEntity(devRau1.ID, 1, 1))
	})
	view(t, s, func(tx choso.Tx) error {
		for _, id := range []string{"", "01JNF8SALE000000000000000", "01JNF8SALE000000000000000B", "01jnf8sale000000000000000a"} {
			_, err := tx.FindEntity(id)
			wantCode(t, "FindEntity("+id+")", err, choso.ENotFound)
		}
		return nil
	})
}

func testEntityPutEmptyID(t *testing.T, h Harness) {
	s := open(t, h)
	err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.PutEntity("", newEntity(devRau1.ID, 1, 1)) })
	wantCode(t, `PutEntity("")`, err, choso.EInvalid)
}

// testResultRuns stores runs of results, as one push does, and finds each
// seq in them, a later single put shadowing its seq, and nothing past a run.
func testResultRuns(t *testing.T, h Harness) {
	s := open(t, h)
	run := func(first uint64, n int) []*choso.EventResult {
		var rs []*choso.EventResult
		for i := range n {
			rs = append(rs, newResult("applied", "", first+uint64(i)+100))
		}
		return rs
	}
	update(t, s, func(tx choso.Tx) error {
		if err := tx.PutResults(devRau1.ID, 1, run(1, 50)); err != nil {
			return err
		}
		if err := tx.PutResults(devRau1.ID, 51, run(51, 3)); err != nil {
			return err
		}
		if err := tx.PutResults(devBun.ID, 1, run(1, 500)); err != nil {
			return err
		}
		if err := tx.PutResults(devRau1.ID, 60, nil); err != nil { // an empty run stores nothing
			return err
		}
		return tx.PutResult(devRau1.ID, 10, newResult("rejected", "seq_reused", 0))
	})
	view(t, s, func(tx choso.Tx) error {
		for _, tt := range []struct {
			device    string
			seq       uint64
			serverSeq uint64 // 0: want the shadowing rejection; ^0: want not found
		}{
			{devRau1.ID, 1, 101}, {devRau1.ID, 9, 109}, {devRau1.ID, 10, 0}, {devRau1.ID, 11, 111}, {devRau1.ID, 50, 150},
			{devRau1.ID, 51, 151}, {devRau1.ID, 53, 153}, {devRau1.ID, 54, ^uint64(0)}, {devRau1.ID, 1000, ^uint64(0)},
			{devBun.ID, 1, 101}, {devBun.ID, 500, 600}, {devBun.ID, 501, ^uint64(0)},
		} {
			r, err := tx.FindResult(tt.device, tt.seq)
			switch {
			case tt.serverSeq == ^uint64(0):
				if choso.ErrorCode(err) != choso.ENotFound {
					t.Errorf("FindResult(%s, %d) = %+v, %v; want not found", tt.device, tt.seq, r, err)
				}
			case err != nil:
				t.Errorf("FindResult(%s, %d): %v", tt.device, tt.seq, err)
			case tt.serverSeq == 0 && r.Code != "seq_reused":
				t.Errorf("FindResult(%s, %d) = %+v, want the later single put", tt.device, tt.seq, r)
			case tt.serverSeq != 0 && r.ServerSeq != tt.serverSeq:
				t.Errorf("FindResult(%s, %d).ServerSeq = %d, want %d", tt.device, tt.seq, r.ServerSeq, tt.serverSeq)
			}
		}
		return nil
	})
}
