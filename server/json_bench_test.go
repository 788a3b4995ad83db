package server

import (
	"encoding/json"
	"fmt"
	"testing"

	chosync "github.com/choso/choso/sync"
)

// BenchmarkUnmarshalStrict_Push50 decodes a 50-event push body with the
// strict decoder every request body goes through.
func BenchmarkUnmarshalStrict_Push50(b *testing.B) {
	var events []chosync.Event
	for i := range 50 {
		payload, _ := json.Marshal(chosync.SaleRecord{Amount: 45000, Method: "qr", Items: []chosync.Item{{Name: "Bún chả", Qty: 2, UnitPrice: 22500}}})
		events = append(events, chosync.Event{Seq: uint64(i + 1), ID: fmt.Sprintf("01JD%022d", i), Type: "sale.record", V: 1, WallMs: 1764140000000, AnchoredMs: 1764140000000, HLC: "1764140000000-0001", BusinessDate: "2026-11-26", Payload: payload})
	}
	body, _ := json.Marshal(chosync.PushRequest{Protocol: 1, AppVersion: "1.0.0", Events: events})
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var req chosync.PushRequest
		if err := unmarshalStrict(body, &req); err != nil {
			b.Fatal(err)
		}
	}
}
