package sync

import (
	"github.com/choso/choso"
	"github.com/choso/choso/internal/jsonscan"
)

// The payloads of most events, read without reflection (see
// internal/jsonscan). Each reader reports whether it could; when it could
// not, decodePayload reads the payload with the strict decoder, which
// accepts or refuses it. FuzzPayloadFast holds each reader to the strict
// decoder: what a reader accepts, the strict decoder reads the same.

func decodeSaleFast(b []byte, v *SaleRecord) bool {
	s := jsonscan.New(b)
	var m jsonscan.Members
	s.Object(func(name []byte) {
		switch string(name) {
		case "amount":
			m.Once(s, 0)
			v.Amount = s.Int()
		case "method":
			m.Once(s, 1)
			v.Method = choso.MethodOf(s.StringBytes())
		case "ref":
			m.Once(s, 2)
			v.Ref = s.String()
		case "items":
			m.Once(s, 3)
			if !s.IsArray() {
				s.Fail()
				return
			}
			v.Items = []Item{}
			s.Array(func() {
				v.Items = append(v.Items, Item{})
				decodeItemFast(s, &v.Items[len(v.Items)-1])
			})
		default:
			s.Fail()
		}
	})
	return s.End()
}

func decodeItemFast(s *jsonscan.Scanner, it *Item) {
	var m jsonscan.Members
	s.Object(func(name []byte) {
		switch string(name) {
		case "name":
			m.Once(s, 0)
			it.Name = s.String()
		case "qty":
			m.Once(s, 1)
			it.Qty = s.Float()
		case "unit_price":
			m.Once(s, 2)
			it.UnitPrice = s.Int()
		default:
			s.Fail()
		}
	})
}

func decodeVoidFast(b []byte, v *SaleVoid) bool {
	s := jsonscan.New(b)
	var m jsonscan.Members
	s.Object(func(name []byte) {
		switch string(name) {
		case "sale_id":
			m.Once(s, 0)
			v.SaleID = s.String()
		case "reason":
			m.Once(s, 1)
			v.Reason = s.String()
		default:
			s.Fail()
		}
	})
	return s.End()
}

func decodeDayCloseFast(b []byte, v *DayClose) bool {
	s := jsonscan.New(b)
	var m jsonscan.Members
	s.Object(func(name []byte) {
		switch string(name) {
		case "count":
			m.Once(s, 0)
			v.Count = s.Int()
		case "amount":
			m.Once(s, 1)
			v.Amount = s.Int()
		default:
			s.Fail()
		}
	})
	return s.End()
}
