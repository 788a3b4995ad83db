// The store-free work on a push, done by the request before the single
// writer sees it: each event's payload decoded, its canonical form and
// fingerprint, and its type's rules.

package sync

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/choso/choso"
	"github.com/choso/choso/qr"
)

// Prepared is the work on one event that needs no store: its decoded
// payload, canonical form, fingerprint, and whether it breaks a rule of
// its type. Doing it before the write transaction keeps the single writer
// busy with the store alone, while requests prepare on every core.
type Prepared struct {
	decoded   any
	canonical []byte
	hash      []byte
	invalid   *Result // a permanent rejection, when the event breaks a rule
}

// Prepare does the store-free work on each event of req. It writes an
// event's ID in capitals when it has small letters (see fingerprint).
func Prepare(req *PushRequest) []Prepared {
	out := make([]Prepared, len(req.Events))
	f := fingerprinter{arena: make([]byte, 0, len(req.Events)*(sha256.Size+64)), sales: make([]SaleRecord, 0, len(req.Events))}
	for i := range req.Events {
		ev := &req.Events[i]
		p := &out[i]
		p.decoded, p.canonical, p.hash = f.fingerprint(ev)
		r, bad := validate(ev, p.decoded)
		if bad {
			// A copy of its own: taking r's address would put every
			// event's r on the heap, rejected or not.
			invalid := r
			p.invalid = &invalid
		}
	}
	return out
}

// fingerprint decodes an event's payload by its type and version and
// hashes its decoded content (type, v, business_date, id, canonical
// payload), so a retry that serialises differently is still a duplicate.
// decoded and canonical are nil for a payload that does not decode.
func fingerprint(ev *Event) (decoded any, canonical, hash []byte) {
	var f fingerprinter
	return f.fingerprint(ev)
}

// fingerprinter fingerprints the events of one push with two buffers for
// all of them, not three allocations an event: the bytes hashed, reused
// from one event to the next, and an arena the canonical payloads and the
// hashes are cut from. A slice cut from the arena stays valid when the
// arena grows: growing copies it and leaves the old array to the slices.
type fingerprinter struct {
	content []byte
	arena   []byte
	// sales holds the push's decoded sales, one allocation for all (a
	// push is mostly sales), and sum, made for the first event, is one
	// SHA-256 for all of them: sha256.Sum256 put a digest on the heap
	// each time.
	sales []SaleRecord
	sum   hash.Hash
}

func (f *fingerprinter) fingerprint(ev *Event) (decoded any, canonical, hash []byte) {
	// Crockford base32 ignores case, so "01jn…" and "01JN…" are one ULID:
	// the event's and a void's sale ID are kept in capitals, or one sale
	// sent in both spellings would count twice. The event is written only
	// when it changes: pushes that share a request (retries in tests) read
	// it at once.
	if id := strings.ToUpper(ev.ID); id != ev.ID { // ev.ID itself when it has no small letters
		ev.ID = id
	}
	decoded = f.decodePayload(ev)
	if v, ok := decoded.(*SaleVoid); ok {
		v.SaleID = strings.ToUpper(v.SaleID)
	}
	content := f.content[:0]
	content = append(append(content, ev.Type...), 0)
	content = binary.BigEndian.AppendUint64(content, uint64(ev.V))
	content = append(append(content, ev.BusinessDate...), 0)
	content = append(append(content, ev.ID...), 0)
	if decoded != nil {
		start := len(f.arena)
		f.arena = appendCanonicalPayload(f.arena, decoded)
		canonical = f.arena[start:len(f.arena):len(f.arena)]
		content = append(content, canonical...)
	} else {
		var buf bytes.Buffer
		if json.Compact(&buf, ev.Payload) == nil {
			content = append(content, buf.Bytes()...)
		} else {
			content = append(content, ev.Payload...)
		}
	}
	f.content = content
	if f.sum == nil {
		f.sum = sha256.New()
	}
	f.sum.Reset()
	f.sum.Write(content)
	start := len(f.arena)
	f.arena = f.sum.Sum(f.arena)
	return decoded, canonical, f.arena[start:len(f.arena):len(f.arena)]
}

// strictPayload are the options a payload decodes with, made once.
var strictPayload = jsonv2.JoinOptions(jsonv2.RejectUnknownMembers(true))

// decodePayload decodes a known type and version strictly, or returns nil.
// A sale goes into the push's slab of sales while it has room.
func (f *fingerprinter) decodePayload(ev *Event) any {
	if ev.V != 1 || len(ev.Payload) > MaxPayloadBytes {
		return nil
	}
	switch ev.Type {
	case choso.EventSaleRecord:
		if len(f.sales) < cap(f.sales) {
			f.sales = f.sales[:len(f.sales)+1]
			if v := decodeStrictlyInto(ev.Payload, decodeSaleFast, &f.sales[len(f.sales)-1]); v != nil {
				return v
			}
			f.sales[len(f.sales)-1] = SaleRecord{} // the next sale decodes into it
			f.sales = f.sales[:len(f.sales)-1]
			return nil
		}
		return decodeStrictly(ev.Payload, decodeSaleFast)
	case choso.EventSaleVoid:
		return decodeStrictly(ev.Payload, decodeVoidFast)
	case choso.EventDayClose:
		return decodeStrictly(ev.Payload, decodeDayCloseFast)
	}
	return nil
}

// decodeStrictly decodes a payload into a new T with its fast reader, or,
// for any other form, with the strict decoder (JSON v2: exact member names,
// no duplicates, no unknown members, no trailing data). It returns nil, not
// a nil *T, when the payload does not decode.
func decodeStrictly[T any](payload []byte, fast func([]byte, *T) bool) any {
	return decodeStrictlyInto(payload, fast, new(T))
}

// decodeStrictlyInto is decodeStrictly into v, which must be zero.
func decodeStrictlyInto[T any](payload []byte, fast func([]byte, *T) bool, v *T) any {
	if fast(payload, v) {
		return v
	}
	var zero T
	*v = zero // the fast reader may have filled part of it
	if jsonv2.Unmarshal(payload, v, strictPayload) != nil {
		return nil
	}
	return v
}

// appendCanonicalPayload appends to b a decoded payload as jsonv2.Marshal
// writes it with Deterministic(true): struct fields in declaration order,
// no spaces. Those bytes are in every stored fingerprint, so they must
// never change.
func appendCanonicalPayload(b []byte, v any) []byte {
	if c, ok := appendCanonical(b, v); ok {
		return c
	}
	c, _ := jsonv2.Marshal(v, jsonv2.Deterministic(true))
	return append(b, c...)
}

// appendCanonical writes the payloads most pushes carry, sales without
// items, by hand: marshalling by reflection was a tenth of a push's CPU.
// It returns false for the others. FuzzCanonicalPayload holds it to
// jsonv2's bytes.
func appendCanonical(b []byte, v any) ([]byte, bool) {
	s, ok := v.(*SaleRecord)
	if !ok || s.Items != nil {
		return nil, false
	}
	b = strconv.AppendInt(append(b, `{"amount":`...), s.Amount, 10)
	b, err := jsontext.AppendQuote(append(b, `,"method":`...), s.Method)
	if err == nil && s.Ref != "" {
		b, err = jsontext.AppendQuote(append(b, `,"ref":`...), s.Ref)
	}
	return append(b, '}'), err == nil
}

// validate checks an event against its type's rules. A failure is a
// rejected result: permanent, consumed.
func validate(ev *Event, decoded any) (Result, bool) {
	switch {
	case !validULID(ev.ID):
		return rejected(ev.Seq, CodeInvalidID, "id %s is not a ULID", quoteShort(ev.ID)), true
	case ev.Type != choso.EventSaleRecord && ev.Type != choso.EventSaleVoid && ev.Type != choso.EventDayClose:
		return rejected(ev.Seq, CodeUnknownType, "no event type %s", quoteShort(ev.Type)), true
	case len(ev.HLC) > MaxStringBytes:
		return rejected(ev.Seq, CodeInvalidHLC, "hlc is longer than %d bytes", MaxStringBytes), true
	case ev.V != 1:
		return rejected(ev.Seq, CodeUnsupportedVersion, "%s v%d is not known; this server takes v1", ev.Type, ev.V), true
	case len(ev.Payload) > MaxPayloadBytes:
		return rejected(ev.Seq, CodePayloadTooLarge, "payload over %d bytes", MaxPayloadBytes), true
	case decoded == nil:
		return rejected(ev.Seq, CodeInvalidPayload, "payload does not decode as %s v1", ev.Type), true
	case len(ev.BusinessDate) > MaxStringBytes:
		return rejected(ev.Seq, CodeInvalidDate, "business_date is longer than %d bytes", MaxStringBytes), true
	}
	// Otherwise a sale's or a void's business_date is the phone's clock
	// speaking: evidence, and money is never rejected for a clock (timeOf
	// doubts one that is no date, such as a year past 9999). A day.close's
	// is the day it closes: it must be a date.
	switch v := decoded.(type) {
	case *SaleRecord:
		switch {
		case v.Amount < 1 || v.Amount > MaxSaleAmount:
			return rejected(ev.Seq, CodeInvalidAmount, "amount %d: want 1–%d đồng", v.Amount, MaxSaleAmount), true
		case v.Method != choso.MethodCash && v.Method != choso.MethodQR && v.Method != choso.MethodTransfer:
			return rejected(ev.Seq, CodeInvalidMethod, "method %q: want cash, qr or transfer", v.Method), true
		case len(v.Items) > 200 || len(v.Ref) > 64:
			return rejected(ev.Seq, CodeInvalidPayload, "too many items or too long a ref"), true
		}
	case *SaleVoid:
		if !validULID(v.SaleID) {
			return rejected(ev.Seq, CodeInvalidPayload, "sale_id %q is not a ULID", v.SaleID), true
		}
	case *DayClose:
		switch {
		case !ValidDate(ev.BusinessDate):
			return rejected(ev.Seq, CodeInvalidDate, "day.close needs the business_date it closes (YYYY-MM-DD), not %s", quoteShort(ev.BusinessDate)), true
		case v.Count < 0 || v.Amount < 0:
			return rejected(ev.Seq, CodeInvalidAmount, "count and amount must not be negative"), true
		}
	}
	return Result{}, false
}

// quoteShort quotes s for a rejection's message, which the server keeps:
// at most 40 bytes of it, marked when cut.
func quoteShort(s string) string {
	if len(s) <= 40 {
		return strconv.Quote(s)
	}
	return strconv.Quote(strings.ToValidUTF8(s[:40], "")) + "…"
}

// MaxSaleAmount bounds one sale: what a VietQR amount can say
// (qr.MaxAmount, nine digits; DESIGN.md), far past any market sale (NAPAS
// caps a transfer below 500 million đồng). A phone makes a sale's dynamic
// code with that amount, so the two must not drift apart.
const MaxSaleAmount = qr.MaxAmount

// validULID reports whether s is 26 characters of Crockford base32 with a
// first character of at most 7 (a 128-bit value).
func validULID(s string) bool {
	if len(s) != 26 || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') || c == 'I' || c == 'L' || c == 'O' || c == 'U' {
			return false
		}
	}
	return true
}

// ValidDate reports whether s is a calendar date written YYYY-MM-DD, the
// form of every business_date: what time.Parse(time.DateOnly, s) accepts,
// without parsing a layout for each of a push's events. FuzzValidDate holds
// it to time.Parse.
func ValidDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	var n [10]int
	for i := range len(s) {
		if i == 4 || i == 7 {
			continue
		}
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		n[i] = int(s[i] - '0')
	}
	year := n[0]*1000 + n[1]*100 + n[2]*10 + n[3]
	month := n[5]*10 + n[6]
	day := n[8]*10 + n[9]
	if month < 1 || month > 12 || day < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day <= days
}
