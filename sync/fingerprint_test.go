package sync

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"testing"
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
