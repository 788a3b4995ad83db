package server

import (
	"encoding/json"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/jsonscan"
	chosync "github.com/choso/choso/sync"
)

// decodePushFast reads a push body of the form phones send (DESIGN.md §9)
// into req without reflection, and reports whether it could. It gives up
// on any other form (an escape in a string, a null, a member it does not
// know or meets twice), and the caller then decodes the body with
// unmarshalStrict, which also words the error. Where it succeeds, req is
// what unmarshalStrict makes of the same bytes: FuzzDecodePushFast holds it
// to that. It copies what it keeps, so data may be reused.
//
// It reports over when the events run past chosync.MaxEvents. Such a push
// is refused whole, so neither decoder reads the rest of it.
func decodePushFast(data []byte, req *chosync.PushRequest) (ok, over bool) {
	s := jsonscan.New(data)
	// The payloads are copied into one buffer; slices of it stay valid
	// because it never grows past the body's size.
	arena := make([]byte, 0, len(data))
	var seen jsonscan.Members
	s.Object(func(name []byte) {
		switch string(name) {
		case "protocol":
			seen.Once(s, 0)
			req.Protocol = int(s.Int())
		case "app_version":
			seen.Once(s, 1)
			req.AppVersion = s.String()
		case "client":
			seen.Once(s, 2)
			decodeClientFast(s, &req.Client)
		case "events":
			seen.Once(s, 3)
			if !s.IsArray() {
				s.Fail()
				return
			}
			req.Events = make([]chosync.Event, 0, 64)
			var last eventStrings
			s.Array(func() {
				if len(req.Events) == chosync.MaxEvents {
					over = true
					s.Fail()
					return
				}
				req.Events = append(req.Events, chosync.Event{})
				arena = decodeEventFast(s, &req.Events[len(req.Events)-1], arena, &last)
			})
		default:
			s.Fail()
		}
	})
	return s.End(), over
}

// eventStrings are the last event's strings that the next event likely
// repeats, so a push's events can share them.
type eventStrings struct {
	typ, businessDate string
}

// decodeEventFast reads one event into ev, copies its payload to the end
// of arena, and returns arena.
func decodeEventFast(s *jsonscan.Scanner, ev *chosync.Event, arena []byte, last *eventStrings) []byte {
	var seen jsonscan.Members
	s.Object(func(name []byte) {
		switch string(name) {
		case "seq":
			seen.Once(s, 0)
			ev.Seq = s.Uint()
		case "id":
			seen.Once(s, 1)
			ev.ID = s.String()
		case "type":
			seen.Once(s, 2)
			ev.Type = reuse(s.StringBytes(), &last.typ)
		case "v":
			seen.Once(s, 3)
			ev.V = int(s.Int())
		case "wall_ms":
			seen.Once(s, 4)
			ev.WallMs = s.Int()
		case "anchored_ms":
			seen.Once(s, 5)
			ev.AnchoredMs = s.Int()
		case "corrected_ms":
			seen.Once(s, 9)
			ev.CorrectedMs = s.Int()
		case "hlc":
			seen.Once(s, 6)
			ev.HLC = s.String()
		case "business_date":
			seen.Once(s, 7)
			ev.BusinessDate = reuse(s.StringBytes(), &last.businessDate)
		case "payload":
			seen.Once(s, 8)
			raw := s.Value()
			if s.Failed() {
				return
			}
			start := len(arena)
			arena = append(arena, raw...)
			ev.Payload = json.RawMessage(arena[start:len(arena):len(arena)])
		default:
			s.Fail()
		}
	})
	return arena
}

// reuse returns *last when b spells it, and otherwise b as a new string,
// which becomes *last. The event types are constants.
func reuse(b []byte, last *string) string {
	switch string(b) {
	case *last:
		return *last
	case choso.EventSaleRecord:
		return choso.EventSaleRecord
	case choso.EventSaleVoid:
		return choso.EventSaleVoid
	case choso.EventDayClose:
		return choso.EventDayClose
	}
	*last = string(b)
	return *last
}

// decodeClientFast reads the phone's own state.
func decodeClientFast(s *jsonscan.Scanner, c *chosync.ClientState) {
	var seen jsonscan.Members
	s.Object(func(name []byte) {
		switch string(name) {
		case "wall_ms":
			seen.Once(s, 0)
			c.WallMs = s.Int()
		case "elapsed_ms":
			seen.Once(s, 1)
			c.ElapsedMs = s.Int()
		case "boot_id":
			seen.Once(s, 2)
			c.BootID = s.String()
		case "hlc":
			seen.Once(s, 3)
			c.HLC = s.String()
		case "pending_count":
			seen.Once(s, 4)
			c.PendingCount = int(s.Int())
		case "oldest_pending_wall_ms":
			seen.Once(s, 5)
			c.OldestPendingWallMs = s.Int()
		default:
			s.Fail()
		}
	})
}
