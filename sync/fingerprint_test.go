package sync

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
)

// TestFingerprint_StableAcrossReleases: the fingerprint is stored with every
// result and entity and compared with a resent event's, so it must stay the
// bytes it was when they were stored: SHA-256 over type, 0, v (8 bytes BE),
// business_date, 0, id, 0, then the canonical payload (or the compacted
// payload as sent, for one that does not decode).
func TestFingerprint_StableAcrossReleases(t *testing.T) {
	events := []Event{
		{Seq: 1, ID: "01KB0000000000000000000001", Type: "sale.record", V: 1, BusinessDate: "2026-11-27",
			Payload: json.RawMessage(`{ "method": "qr", "amount": 45000, "items": [{"name": "Bún chả", "qty": 0.5, "unit_price": 90000}] }`)},
		{Seq: 2, ID: "01KB0000000000000000000002", Type: "sale.void", V: 1, Payload: json.RawMessage(`{"sale_id":"01KB0000000000000000000001"}`)},
		{Seq: 3, ID: "01KB0000000000000000000003", Type: "sale.record", V: 7, Payload: json.RawMessage(`{"amount": 1}`)},
		{Seq: 4, ID: "01KB0000000000000000000004", Type: "sale.record", V: 1, Payload: json.RawMessage(`{not json`)},
	}
	for _, ev := range events {
		decoded, canonical, got := fingerprint(&ev)
		h := sha256.New()
		h.Write([]byte(ev.Type))
		h.Write([]byte{0})
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(ev.V)))
		h.Write([]byte(ev.BusinessDate))
		h.Write([]byte{0})
		h.Write([]byte(ev.ID))
		h.Write([]byte{0})
		switch {
		case decoded != nil:
			h.Write(canonical)
		default:
			var buf bytes.Buffer
			if json.Compact(&buf, ev.Payload) == nil {
				h.Write(buf.Bytes())
			} else {
				h.Write(ev.Payload)
			}
		}
		if want := h.Sum(nil); !bytes.Equal(got, want) {
			t.Errorf("fingerprint of seq %d: got %x, want %x", ev.Seq, got, want)
		}
	}
	if _, canonical, _ := fingerprint(&events[0]); string(canonical) != `{"amount":45000,"method":"qr","items":[{"name":"Bún chả","qty":0.5,"unit_price":90000}]}` {
		t.Errorf("canonical payload: got %s", canonical)
	}
}

// FuzzCanonicalPayload: the hand-written canonical form of a sale is the
// bytes jsonv2 writes for it, whatever its strings hold.
func FuzzCanonicalPayload(f *testing.F) {
	f.Add(int64(45000), "qr", "")
	f.Add(int64(-1), "cash", "CSAB12CD34")
	f.Add(int64(1<<62), "tr\"an\\sfer\u2028<>&\x01", "ref\t\u00e9")
	f.Fuzz(func(t *testing.T, amount int64, method, ref string) {
		s := &SaleRecord{Amount: amount, Method: method, Ref: ref}
		want, werr := jsonv2.Marshal(s, jsonv2.Deterministic(true))
		got, ok := appendCanonical(nil, s)
		if werr != nil {
			if ok {
				t.Fatalf("jsonv2 refuses %+v (%v); appendCanonical wrote %s", s, werr, got)
			}
			return
		}
		if !ok || !bytes.Equal(got, want) {
			t.Fatalf("canonical of %+v: got %s (ok %v), want %s", s, got, ok, want)
		}
	})
}

func TestAppendCanonical_LeavesOthersToJSONv2(t *testing.T) {
	for _, v := range []any{
		&SaleRecord{Amount: 1, Method: "qr", Items: []Item{}},
		&SaleVoid{SaleID: "01KB0000000000000000000001"},
		&DayClose{Count: 1, Amount: 2},
	} {
		if b, ok := appendCanonical(nil, v); ok {
			t.Errorf("appendCanonical(%T) wrote %s; want it left to jsonv2", v, b)
		}
	}
}

// TestPrepare_ArenaKeepsEveryEventsFingerprint: Prepare cuts a push's
// canonical payloads and hashes from one growing buffer; each must stay the
// event's own after later events grew it past its first capacity.
func TestPrepare_ArenaKeepsEveryEventsFingerprint(t *testing.T) {
	var req PushRequest
	for i := range 200 {
		payload := fmt.Sprintf(`{"amount":%d,"method":"cash"}`, 1000+i)
		if i%3 == 0 { // a canonical form longer than the arena's share an event
			payload = fmt.Sprintf(`{"amount":%d,"method":"qr","ref":"CS%08d","items":[{"name":"Phở bò tái nạm gầu","qty":2,"unit_price":%d}]}`, 2000*i, i, 1000*i)
		}
		if i%7 == 0 {
			payload = `{not json`
		}
		req.Events = append(req.Events, Event{Seq: uint64(i + 1), ID: fmt.Sprintf("01KB%022d", i), Type: "sale.record", V: 1,
			BusinessDate: "2026-11-27", Payload: json.RawMessage(payload)})
	}
	prepared := Prepare(&req)
	for i := range req.Events {
		_, canonical, hash := fingerprint(&req.Events[i])
		if p := prepared[i]; !bytes.Equal(p.hash, hash) || !bytes.Equal(p.canonical, canonical) {
			t.Fatalf("event %d: Prepare gave %x %s, alone it is %x %s", i, p.hash, p.canonical, hash, canonical)
		}
	}
}

// TestPrepare_SameAsOneEventAtATime: Prepare decodes a push's sales into one
// slab and hashes with one digest; each event's decoded payload, canonical
// form and fingerprint are still what fingerprint gives it alone. A sale
// that fails to decode between two that decode leaves nothing behind in
// the slot the next one takes.
func TestPrepare_SameAsOneEventAtATime(t *testing.T) {
	sale := func(seq uint64, payload string) Event {
		return Event{Seq: seq, ID: fmt.Sprintf("01KB00000000000000000000%02d", seq), Type: "sale.record", V: 1, BusinessDate: "2026-11-27",
			Payload: json.RawMessage(payload)}
	}
	req := &PushRequest{Protocol: 1, Events: []Event{
		sale(1, `{"amount":45000,"method":"qr","ref":"CSAB12CD34","items":[{"name":"Bún","qty":1,"unit_price":45000}]}`),
		sale(2, `{"amount":30000,"method":"qr","ref":"CSAB12CD35","tip":5}`), // an unknown member: does not decode
		sale(3, `{"amount":20000,"method":"cash"}`),
		{Seq: 4, ID: "01KB0000000000000000000004", Type: "sale.void", V: 1, Payload: json.RawMessage(`{"sale_id":"01KB0000000000000000000001"}`)},
		sale(5, `{"method":"transfer","amount":7000}`),
	}}
	got := Prepare(req)
	for i := range req.Events {
		ev := req.Events[i]
		decoded, canonical, hash := fingerprint(&ev)
		p := got[i]
		if fmt.Sprintf("%+v", p.decoded) != fmt.Sprintf("%+v", decoded) || !bytes.Equal(p.canonical, canonical) || !bytes.Equal(p.hash, hash) {
			t.Errorf("event %d: Prepare gave %+v %s %x, alone %+v %s %x", ev.Seq, p.decoded, p.canonical, p.hash, decoded, canonical, hash)
		}
	}
	if s, ok := got[2].decoded.(*SaleRecord); !ok || s.Ref != "" || s.Method != "cash" || s.Amount != 20000 {
		t.Errorf("the sale after one that failed: %+v, want cash 20000 and no reference", got[2].decoded)
	}
	if got[1].decoded != nil || got[1].invalid == nil || got[0].invalid != nil {
		t.Errorf("the sale that failed: decoded %+v, invalid %+v; the first's invalid %+v", got[1].decoded, got[1].invalid, got[0].invalid)
	}
}
