package sync

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzPrepare reads arbitrary push bodies: preparing their events never
// panics, gives the same fingerprint twice, and, for a valid event, the same
// fingerprint again when it is re-serialised (another key order or spacing
// must not make a retry look new).
func FuzzPrepare(f *testing.F) {
	for _, seed := range []string{
		`{"protocol":1,"events":[{"seq":1,"id":"01JDQ4K5Z8M3N2P1Q0R9S8T7V6","type":"sale.record","v":1,"wall_ms":1764000000000,"business_date":"2026-11-26","payload":{"amount":25000,"method":"cash"}}]}`,
		`{"protocol":1,"events":[{"seq":2,"id":"01JDQ4K5Z8M3N2P1Q0R9S8T7V7","type":"sale.record","v":1,"payload":{"method":"qr","amount":1.5e5,"ref":"CSAB12CD34","items":[{"name":"Bún","qty":2,"unit_price":75000}]}}]}`,
		`{"protocol":1,"events":[{"seq":3,"id":"01JDQ4K5Z8M3N2P1Q0R9S8T7V8","type":"sale.void","v":1,"payload":{"sale_id":"01JDQ4K5Z8M3N2P1Q0R9S8T7V6","reason":"nhầm"}}]}`,
		`{"protocol":1,"events":[{"seq":4,"id":"01JDQ4K5Z8M3N2P1Q0R9S8T7V9","type":"day.close","v":1,"business_date":"2026-11-26","payload":{"count":1,"amount":25000}}]}`,
		`{"protocol":1,"events":[{"seq":5,"id":"x","type":"sale.record","v":9,"payload":{"amount":-1,"method":"gold"}}]}`,
		`{"protocol":1,"events":[{"seq":6,"id":"01JDQ4K5Z8M3N2P1Q0R9S8T7VA","type":"sale.record","v":1,"payload":null}]}`,
		`{"events":[{"payload":"not an object"},{"payload":[1,2,3]},{"payload":{"amount":99999999999999999999}}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req PushRequest
		if json.Unmarshal(body, &req) != nil {
			return
		}
		first, again := Prepare(&req), Prepare(&req)
		for i := range first {
			if !bytes.Equal(first[i].hash, again[i].hash) || (first[i].invalid == nil) != (again[i].invalid == nil) {
				t.Fatalf("event %d: two preparations differ", i)
			}
			// Prepare cuts a push's hashes from one buffer: each is still
			// the event's own.
			if _, canonical, hash := fingerprint(&req.Events[i]); !bytes.Equal(first[i].hash, hash) || !bytes.Equal(first[i].canonical, canonical) {
				t.Fatalf("event %d: prepared in a push %x %s, alone %x %s", i, first[i].hash, first[i].canonical, hash, canonical)
			}
			if first[i].invalid != nil && first[i].invalid.Status != StatusRejected {
				t.Fatalf("event %d: invalid with status %q, want rejected", i, first[i].invalid.Status)
			}
			// The same valid event, serialised again by another writer.
			ev := req.Events[i]
			var payload any
			if first[i].invalid == nil && json.Unmarshal(ev.Payload, &payload) == nil {
				indented, err := json.MarshalIndent(payload, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				ev.Payload = indented
				re := Prepare(&PushRequest{Events: []Event{ev}})
				if !bytes.Equal(re[0].hash, first[i].hash) {
					t.Fatalf("event %d: re-serialised payload %s changed the fingerprint", i, indented)
				}
			}
			// The same valid event with its ULID in small letters.
			if first[i].invalid == nil {
				lower := req.Events[i]
				lower.ID = strings.ToLower(lower.ID)
				again := &PushRequest{Events: []Event{lower}}
				if re := Prepare(again); !bytes.Equal(re[0].hash, first[i].hash) || again.Events[0].ID != req.Events[i].ID {
					t.Fatalf("event %d: id %s in small letters changed the fingerprint", i, req.Events[i].ID)
				}
			}
		}
	})
}
