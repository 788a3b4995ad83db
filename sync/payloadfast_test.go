package sync

import (
	"encoding/json"
	"reflect"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
)

// payloadReaders are the fast readers by the payload type they fill.
var payloadReaders = []struct {
	name string
	read func([]byte) (any, bool)
	zero func() any
}{
	{"sale", func(b []byte) (any, bool) { v := new(SaleRecord); return v, decodeSaleFast(b, v) }, func() any { return new(SaleRecord) }},
	{"void", func(b []byte) (any, bool) { v := new(SaleVoid); return v, decodeVoidFast(b, v) }, func() any { return new(SaleVoid) }},
	{"day close", func(b []byte) (any, bool) { v := new(DayClose); return v, decodeDayCloseFast(b, v) }, func() any { return new(DayClose) }},
}

// checkPayloadFast fails when a fast reader accepts data and the strict
// decoder refuses it or reads it otherwise; it returns which readers
// accepted it.
func checkPayloadFast(t *testing.T, data []byte) (accepted []string) {
	t.Helper()
	for _, r := range payloadReaders {
		got, ok := r.read(data)
		if !ok {
			continue
		}
		want := r.zero()
		if err := jsonv2.Unmarshal(data, want, strictPayload); err != nil {
			t.Fatalf("%s reader accepted %q, strict decoder refused it: %v", r.name, data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s readers disagree on %q:\nfast:   %+v\nstrict: %+v", r.name, data, got, want)
		}
		accepted = append(accepted, r.name)
	}
	return accepted
}

// The payloads phones send, as sync/client marshals them, take the fast
// readers.
func TestPayloadFast_TakesWhatPhonesSend(t *testing.T) {
	for _, tc := range []struct {
		reader  string
		payload any
	}{
		{"sale", SaleRecord{Amount: 45000, Method: "cash"}},
		{"sale", SaleRecord{Amount: 120000, Method: "qr", Ref: "CS7KQ2M9XW4T"}},
		{"sale", SaleRecord{Amount: 67500, Method: "transfer", Items: []Item{{Name: "Bún chả", Qty: 1.5, UnitPrice: 45000}, {Name: "trà đá", Qty: 1, UnitPrice: 0}}}},
		{"void", SaleVoid{SaleID: "01JD0000000000000000000001", Reason: "khách trả lại"}},
		{"void", SaleVoid{SaleID: "01JD0000000000000000000001"}},
		{"day close", DayClose{Count: 37, Amount: 2150000}},
	} {
		b, err := json.Marshal(tc.payload)
		if err != nil {
			t.Fatal(err)
		}
		accepted := checkPayloadFast(t, b)
		if !reflect.DeepEqual(accepted, []string{tc.reader}) {
			t.Errorf("%s: taken by %v, want the %s reader alone", b, accepted, tc.reader)
		}
	}
}

// What the readers cannot read they leave to the strict decoder.
func TestPayloadFast_LeavesTheRestToTheStrictDecoder(t *testing.T) {
	for _, body := range []string{
		``, `null`, `{"amount":1,"amount":2}`, `{"Amount":1}`, `{"amount":1,"tip":2}`,
		`{"amount":1.0}`, `{"amount":-0}`, `{"amount":null}`, `{"method":"q\u0072"}`,
		`{"items":null}`, `{"items":[{"qty":1e400}]}`, `{"items":[{"name":"a","name":"b"}]}`,
		`{"count":1} {}`,
	} {
		if accepted := checkPayloadFast(t, []byte(body)); len(accepted) > 0 {
			t.Errorf("%q taken by %v; it should be left to the strict decoder", body, accepted)
		}
	}
}

// FuzzPayloadFast holds every fast reader to the strict decoder.
func FuzzPayloadFast(f *testing.F) {
	for _, seed := range []string{
		`{"amount":45000,"method":"qr","ref":"R1"}`,
		`{"amount":-9223372036854775808,"method":"cash","items":[{"name":"x","qty":0.25,"unit_price":4},{}]}`,
		`{"items":[]}`, `{"sale_id":"01JD","reason":"ế"}`, `{"count":3,"amount":9223372036854775807}`,
		` { "qty" : 1 } `, `{}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkPayloadFast(t, data)
	})
}
