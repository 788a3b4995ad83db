package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	chosync "github.com/choso/choso/sync"
)

// phoneBody is a push as sync/client sends it: encoding/json of a
// PushRequest whose payloads are the client's own marshalled records.
func phoneBody(t testing.TB, n int, payload any) []byte {
	t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	req := chosync.PushRequest{Protocol: chosync.ProtocolVersion, AppVersion: "1.4.2 (Android 13)",
		Client: chosync.ClientState{WallMs: 1764140000000, ElapsedMs: 123456, BootID: "b0f1c2d3", HLC: "1764140000000-0003",
			PendingCount: n, OldestPendingWallMs: 1764139000000}}
	for i := range n {
		req.Events = append(req.Events, chosync.Event{Seq: uint64(i + 1), ID: fmt.Sprintf("01JD%022d", i), Type: "sale.record", V: 1,
			WallMs: 1764140000000 + int64(i), AnchoredMs: 1764140000000, HLC: "1764140000000-0001", BusinessDate: "2026-11-26", Payload: raw})
	}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// checkFastAgrees fails when decodePushFast accepts data and the strict
// decoder refuses it or reads it otherwise.
func checkFastAgrees(t *testing.T, data []byte) (fast bool) {
	t.Helper()
	var got chosync.PushRequest
	ok, over := decodePushFast(data, &got)
	if over {
		// Refused as too large: what the strict decoder reads, it must
		// read as more events than a push may hold.
		var all chosync.PushRequest
		if unmarshalStrict(data, &all) == nil && len(all.Events) <= chosync.MaxEvents {
			t.Fatalf("fast decoder found more than %d events, strict decoder %d", chosync.MaxEvents, len(all.Events))
		}
		return false
	}
	if !ok {
		return false
	}
	var want chosync.PushRequest
	if err := unmarshalStrict(data, &want); err != nil {
		t.Fatalf("fast decoder accepted %q, strict decoder refused it: %v", data, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoders disagree on %q:\nfast:   %+v\nstrict: %+v", data, got, want)
	}
	return true
}

// What phones send takes the fast path, and reads as the strict decoder
// reads it.
func TestDecodePushFast_TakesWhatPhonesSend(t *testing.T) {
	for name, payload := range map[string]any{
		"cash sale":       chosync.SaleRecord{Amount: 45000, Method: "cash"},
		"qr sale":         chosync.SaleRecord{Amount: 120000, Method: "qr", Ref: "CS7KQ2M9XW4T"},
		"sale with items": chosync.SaleRecord{Amount: 67500, Method: "transfer", Items: []chosync.Item{{Name: "Bún chả", Qty: 1.5, UnitPrice: 45000}}},
		"void":            chosync.SaleVoid{SaleID: "01JD0000000000000000000001", Reason: "khách trả lại"},
		"day close":       chosync.DayClose{Count: 37, Amount: 2150000},
	} {
		t.Run(name, func(t *testing.T) {
			for _, n := range []int{1, 50, chosync.MaxEvents} {
				if !checkFastAgrees(t, phoneBody(t, n, payload)) {
					t.Fatalf("a %d-event push of the phone's form fell back to the strict decoder", n)
				}
			}
		})
	}
}

// Whatever the fast decoder cannot read, it leaves to the strict decoder,
// which accepts or refuses it.
func TestDecodePushFast_LeavesTheRestToTheStrictDecoder(t *testing.T) {
	for _, body := range []string{
		``, `   `, `null`, `[]`, `{"events":null}`, `{"protocol":null}`,
		`{"protocol":1,"protocol":1}`, // repeated member
		`{"Protocol":1}`,              // names match exactly
		`{"protocol":1,"extra":true}`, // unknown member
		`{"protocol":1.0}`, `{"protocol":1e2}`, `{"protocol":-0}`, `{"protocol":01}`, `{"protocol":"1"}`,
		`{"protocol":99999999999999999999}`,                  // out of range
		`{"app_version":"a\"b"}`, `{"app_version":"\u00e9"}`, // escapes
		"{\"app_version\":\"\xff\"}",             // not UTF-8
		`{"events":[{"seq":-1}]}`,                // seq is unsigned
		`{"events":[{"payload":{"a":1,"a":2}}]}`, // repeated member inside a payload
		`{"events":[{"payload":{"a":}}]}`,
		`{"events":[{"seq":1,}]}`, `{"events":[{"seq":1}],}`, `{"events":[{"seq":1}]} x`,
		`{"events":[` + strings.Repeat(`{},`, chosync.MaxEvents) + `{}]}`, // over the batch limit
		`{"events":[{"payload":` + strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}]}`,
	} {
		if checkFastAgrees(t, []byte(body)) {
			t.Errorf("fast decoder took %q; it should leave it to the strict decoder", body)
		}
	}
}

// The fast decoder keeps no reference to the body, which goes back to a
// pool when the push is decoded.
func TestDecodePushFast_CopiesWhatItKeeps(t *testing.T) {
	body := phoneBody(t, 3, chosync.SaleRecord{Amount: 1000, Method: "qr", Ref: "REF1"})
	var req chosync.PushRequest
	if ok, _ := decodePushFast(body, &req); !ok {
		t.Fatal("fell back")
	}
	want := string(req.Events[2].Payload) + req.Events[2].ID + req.AppVersion
	for i := range body {
		body[i] = 'x'
	}
	if got := string(req.Events[2].Payload) + req.Events[2].ID + req.AppVersion; got != want {
		t.Fatalf("after the body was overwritten the request reads %q, want %q", got, want)
	}
}

// A push of more events than a push may hold is refused as too large at
// the first one past the limit: the rest is not read, by either decoder,
// however it goes on.
func TestDecodePushFast_StopsPastTheBatchLimit(t *testing.T) {
	body := phoneBody(t, chosync.MaxEvents+1, chosync.SaleRecord{Amount: 1000, Method: "cash"})
	for name, data := range map[string][]byte{
		"501 events":             body,
		"500 and a broken 501st": append(bytes.TrimRight(body, "]} \n"), []byte(`,{"seq":"x", garbage`)...),
		"exactly 500 (not over)": phoneBody(t, chosync.MaxEvents, chosync.SaleRecord{Amount: 1000, Method: "cash"}),
	} {
		var req chosync.PushRequest
		ok, over := decodePushFast(data, &req)
		if want := name != "exactly 500 (not over)"; over != want || ok == want {
			t.Errorf("%s: ok %v, over %v; want over %v", name, ok, over, want)
		}
	}
}

// FuzzDecodePushFast holds the fast decoder to the strict one: whatever it
// accepts, the strict decoder accepts and reads the same.
func FuzzDecodePushFast(f *testing.F) {
	f.Add(phoneBody(f, 2, chosync.SaleRecord{Amount: 45000, Method: "qr", Ref: "R1"}))
	f.Add(phoneBody(f, 1, chosync.SaleRecord{Amount: 1, Method: "cash", Items: []chosync.Item{{Name: "x", Qty: 0.25, UnitPrice: 4}}}))
	f.Add([]byte(`{"protocol":1,"events":[{"seq":1,"payload":{"a":[1,-2.5e-3,true,false,null,"s",{}]}}]}`))
	f.Add([]byte(` { "client" : { "wall_ms" : -9223372036854775808 } , "events" : [ ] } `))
	f.Add([]byte(`{"events":[{"seq":18446744073709551615,"v":9223372036854775807}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastAgrees(t, data)
	})
}

func BenchmarkDecodePushFast_Push50(b *testing.B) {
	body := phoneBody(b, 50, chosync.SaleRecord{Amount: 45000, Method: "qr", Ref: "CS7KQ2M9XW4T"})
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var req chosync.PushRequest
		if ok, _ := decodePushFast(body, &req); !ok {
			b.Fatal("fell back")
		}
	}
}

func BenchmarkDecodePushStrict_Push50(b *testing.B) {
	body := phoneBody(b, 50, chosync.SaleRecord{Amount: 45000, Method: "qr", Ref: "CS7KQ2M9XW4T"})
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var req chosync.PushRequest
		if err := unmarshalStrict(body, &req); err != nil {
			b.Fatal(err)
		}
	}
}
