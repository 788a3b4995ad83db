package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/choso/choso"
	chosync "github.com/choso/choso/sync"
)

// sale is the phone's own record of a sale it made, so a void can take it
// out of its day and the app can show it.
type sale struct {
	Seq      uint64 `json:"seq"`
	Date     string `json:"date"`
	Amount   int64  `json:"amount"`
	Method   string `json:"method"`
	VoidID   string `json:"void_id,omitempty"`  // the void that undid it
	Rejected string `json:"rejected,omitempty"` // the server's code, when it refused the sale
}

// totals are a count and an amount.
type totals struct {
	Count  int64 `json:"count"`
	Amount int64 `json:"amount"`
}

// dayTally is the phone's own view of one business day: its sales by
// method, net of its voids, as day.close reports them.
type dayTally struct {
	ByMethod map[string]totals `json:"by_method"`
	Voids    totals            `json:"voids"`
}

func (d *dayTally) add(method string, count, amount int64) {
	if d.ByMethod == nil {
		d.ByMethod = map[string]totals{}
	}
	t := d.ByMethod[method]
	t.Count += count
	t.Amount += amount
	d.ByMethod[method] = t
}

func (d *dayTally) sum() totals {
	var s totals
	for _, t := range d.ByMethod {
		s.Count += t.Count
		s.Amount += t.Amount
	}
	return s
}

// Tally is the phone's own count and sum of sales, net of voids, by method.
type Tally struct {
	Count          int64
	Amount         int64 // đồng
	CashCount      int64
	CashAmount     int64
	QRCount        int64
	QRAmount       int64
	TransferCount  int64
	TransferAmount int64
	VoidCount      int64 // sales undone by this phone's voids
	VoidAmount     int64
}

func (t *Tally) addDay(d *dayTally) {
	for m, x := range d.ByMethod {
		t.Count += x.Count
		t.Amount += x.Amount
		switch m {
		case choso.MethodCash:
			t.CashCount += x.Count
			t.CashAmount += x.Amount
		case choso.MethodQR:
			t.QRCount += x.Count
			t.QRAmount += x.Amount
		case choso.MethodTransfer:
			t.TransferCount += x.Count
			t.TransferAmount += x.Amount
		}
	}
	t.VoidCount += d.Voids.Count
	t.VoidAmount += d.Voids.Amount
}

// Errors of the outbox.
var (
	ErrInvalidSale   = errors.New("client: invalid sale")
	ErrAlreadyVoided = errors.New("client: the sale was already voided")
)

// Event is one event of the outbox, as the app may show it.
type Event struct {
	Seq          int64
	ID           string // ULID
	Type         string // sale.record, sale.void, day.close
	WallMs       int64
	AnchoredMs   int64
	CorrectedMs  int64 // the wall clock corrected by the last known offset, with no anchor; 0 otherwise
	HLC          string
	BusinessDate string
	Payload      []byte // JSON
}

func eventOf(ev *chosync.Event) *Event {
	return &Event{Seq: int64(ev.Seq), ID: ev.ID, Type: ev.Type, WallMs: ev.WallMs, AnchoredMs: ev.AnchoredMs, CorrectedMs: ev.CorrectedMs,
		HLC: ev.HLC, BusinessDate: ev.BusinessDate, Payload: append([]byte(nil), ev.Payload...)}
}

// RecordSale records a sale of amount đồng paid by method (cash, qr or
// transfer), with the payment reference of a dynamic QR if any, and returns
// the event. The sale is numbered, named, stored and counted in the
// phone's day in one local transaction.
func (c *Client) RecordSale(amount int64, method, ref string) (*Event, error) {
	if amount < 1 || amount > chosync.MaxSaleAmount {
		return nil, fmt.Errorf("%w: amount %d: want 1–%d đồng", ErrInvalidSale, amount, chosync.MaxSaleAmount)
	}
	if method != choso.MethodCash && method != choso.MethodQR && method != choso.MethodTransfer {
		return nil, fmt.Errorf("%w: method %q: want cash, qr or transfer", ErrInvalidSale, method)
	}
	if len(ref) > 64 {
		return nil, fmt.Errorf("%w: ref over 64 characters", ErrInvalidSale)
	}
	if !utf8.ValidString(ref) {
		// JSON would send each stray byte as U+FFFD, three bytes: a ref
		// within 64 here could reach the server over it, and the sale be
		// refused after the phone counted it.
		return nil, fmt.Errorf("%w: ref is not UTF-8 text", ErrInvalidSale)
	}
	payload := chosync.SaleRecord{Amount: amount, Method: method, Ref: ref}
	return c.appendEvent(choso.EventSaleRecord, payload, "", func(tx *bolt.Tx, ev *chosync.Event) error {
		s := sale{Seq: ev.Seq, Date: ev.BusinessDate, Amount: amount, Method: method}
		if err := writeJSON(tx.Bucket(bucketSales), []byte(ev.ID), s); err != nil {
			return err
		}
		return updateDay(tx, ev.BusinessDate, func(d *dayTally) { d.add(method, 1, amount) })
	})
}

// VoidSale records a void of the sale with the given ULID. A sale this
// phone made comes out of its day at once; a sale of another phone of the
// stall is voided on the server when both arrive.
func (c *Client) VoidSale(saleID, reason string) (*Event, error) {
	if _, err := decodeULID(saleID); err != nil {
		return nil, fmt.Errorf("%w: sale id %q is not a ULID", ErrInvalidSale, saleID)
	}
	// A ULID is case-blind; the phone keeps its sales, and the server its
	// entities, in capitals.
	saleID = strings.ToUpper(saleID)
	if len(reason) > 500 {
		return nil, fmt.Errorf("%w: reason over 500 characters", ErrInvalidSale)
	}
	payload := chosync.SaleVoid{SaleID: saleID, Reason: reason}
	return c.appendEvent(choso.EventSaleVoid, payload, "", func(tx *bolt.Tx, ev *chosync.Event) error {
		sb := tx.Bucket(bucketSales)
		var s sale
		if sb.Get([]byte(saleID)) == nil {
			return nil // another phone's sale
		}
		if err := readJSON(sb, []byte(saleID), &s); err != nil {
			return err
		}
		switch {
		case s.VoidID != "":
			return ErrAlreadyVoided
		case s.Rejected != "":
			return fmt.Errorf("%w: the server refused that sale (%s)", ErrInvalidSale, s.Rejected)
		}
		s.VoidID = ev.ID
		if err := writeJSON(sb, []byte(saleID), s); err != nil {
			return err
		}
		return updateDay(tx, s.Date, func(d *dayTally) {
			d.add(s.Method, -1, -s.Amount)
			d.Voids.Count++
			d.Voids.Amount += s.Amount
		})
	})
}

// CloseDay records the phone's own count and sum of the sales of a
// business day (YYYY-MM-DD; "" for today), net of its voids, so the server
// can tell whether events went missing.
func (c *Client) CloseDay(date string) (*Event, error) {
	if date != "" && !chosync.ValidDate(date) {
		return nil, fmt.Errorf("%w: date %q is not YYYY-MM-DD", ErrInvalidSale, date)
	}
	var payload chosync.DayClose
	return c.appendEvent(choso.EventDayClose, &payload, date, func(tx *bolt.Tx, ev *chosync.Event) error {
		var d dayTally
		if err := readJSON(tx.Bucket(bucketDays), []byte(ev.BusinessDate), &d); err != nil {
			return err
		}
		s := d.sum()
		payload.Count, payload.Amount = s.Count, s.Amount
		return nil
	})
}

// appendEvent is the one local transaction of an event: the next seq, a
// fresh ULID, the times, the event's effect on the phone's own records, and
// the event itself in the outbox. effect runs before the payload is
// marshalled, so it may fill the payload in.
func (c *Client) appendEvent(typ string, payload any, date string, effect func(*bolt.Tx, *chosync.Event) error) (*Event, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	wall, elapsed, boot := c.clock.WallMs(), c.clock.ElapsedMs(), c.clock.BootID()
	var out *Event
	err := c.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		var a anchor
		if err := readJSON(m, keyAnchor, &a); err != nil {
			return err
		}
		var h hlc
		if err := readJSON(m, keyHLC, &h); err != nil {
			return err
		}
		best := a.bestMs(wall, elapsed, boot)
		tag, err := outboxTag(m)
		if err != nil {
			return err
		}
		id, err := newULID(best, tag)
		if err != nil {
			return err
		}
		h.tick(best)
		if date == "" {
			date = businessDate(best, c.tzOffset)
		}
		ev := &chosync.Event{
			Seq: nextSeq(m), ID: id, Type: typ, V: 1, WallMs: wall, AnchoredMs: a.anchoredMs(elapsed, boot),
			HLC: h.String(), BusinessDate: date,
		}
		if ev.AnchoredMs <= 0 && a.HasOffset {
			ev.CorrectedMs = wall + a.OffsetMs // what dated the event: sent, so the server dates it alike
		}
		if ev.AnchoredMs > 0 && a.OffsetMs != ev.AnchoredMs-wall {
			// Keep the wall clock's offset fresh while the anchor holds, so a
			// reboot after the vendor changed the clock still dates sales right.
			a.OffsetMs, a.HasOffset = ev.AnchoredMs-wall, true
			if err := writeJSON(m, keyAnchor, a); err != nil {
				return err
			}
		}
		if err := effect(tx, ev); err != nil {
			return err
		}
		if ev.Payload, err = json.Marshal(payload); err != nil {
			return err
		}
		if len(ev.Payload) > chosync.MaxPayloadBytes {
			return fmt.Errorf("%w: payload over %d bytes", ErrInvalidSale, chosync.MaxPayloadBytes)
		}
		raw, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketOutbox).Put(seqKey(ev.Seq), raw); err != nil {
			return err
		}
		if err := putUint(m, keyNextSeq, ev.Seq+1); err != nil {
			return err
		}
		if err := putUint(m, keyPending, getUint(m, keyPending)+1); err != nil {
			return err
		}
		if err := writeJSON(m, keyHLC, h); err != nil {
			return err
		}
		out = eventOf(ev)
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.eventAdded()
	return out, nil
}

func updateDay(tx *bolt.Tx, date string, f func(*dayTally)) error {
	b := tx.Bucket(bucketDays)
	var d dayTally
	if err := readJSON(b, []byte(date), &d); err != nil {
		return err
	}
	f(&d)
	return writeJSON(b, []byte(date), d)
}

// DayTally returns the phone's own tally of one business day (YYYY-MM-DD;
// "" for today).
func (c *Client) DayTally(date string) (*Tally, error) {
	if date == "" {
		date = c.Today()
	}
	t := &Tally{}
	err := c.db.View(func(tx *bolt.Tx) error {
		var d dayTally
		if err := readJSON(tx.Bucket(bucketDays), []byte(date), &d); err != nil {
			return err
		}
		t.addDay(&d)
		return nil
	})
	return t, err
}

// TotalTally returns the phone's own tally over every day it recorded.
func (c *Client) TotalTally() (*Tally, error) {
	t := &Tally{}
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDays).ForEach(func(_, v []byte) error {
			var d dayTally
			if err := json.Unmarshal(v, &d); err != nil {
				return err
			}
			t.addDay(&d)
			return nil
		})
	})
	return t, err
}

// Today is the phone's business day now, by its best clock.
func (c *Client) Today() string {
	wall, elapsed, boot := c.clock.WallMs(), c.clock.ElapsedMs(), c.clock.BootID()
	var a anchor
	c.db.View(func(tx *bolt.Tx) error { return readJSON(tx.Bucket(bucketMeta), keyAnchor, &a) })
	return businessDate(a.bestMs(wall, elapsed, boot), c.tzOffset)
}

// PendingEvents returns up to limit of the oldest events not yet
// acknowledged, as JSON (an array of the wire events).
func (c *Client) PendingEvents(limit int) ([]byte, error) {
	evs := []json.RawMessage{}
	err := c.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketOutbox).Cursor()
		for k, v := cur.First(); k != nil && (limit <= 0 || len(evs) < limit); k, v = cur.Next() {
			evs = append(evs, append(json.RawMessage(nil), v...))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return json.Marshal(evs)
}

// rejection is an event the server refused, kept so the app can show it.
type rejection struct {
	Seq     uint64          `json:"seq"`
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Code    string          `json:"code"`
	Message string          `json:"message,omitempty"`
	Event   json.RawMessage `json:"event"`
}

// RejectedJSON returns the events the server refused, oldest first, as a
// JSON array of {seq, id, type, code, message, event}.
func (c *Client) RejectedJSON() ([]byte, error) {
	out := []json.RawMessage{}
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRejected).ForEach(func(_, v []byte) error {
			out = append(out, append(json.RawMessage(nil), v...))
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}
