// Event runs: the events one transaction appends for one device, stored as
// one record under the first one's server seq.

package bolt

import (
	"encoding/binary"

	"github.com/choso/choso"
)

// A push appends its events one after another, all of one device, stall
// and market, received at one time. Stored one by one, each event was a
// bbolt put of its own (a walk from the root, a node insert) that repeated
// those four fields. A run stores them once and the events after them, in
// one put: the log stays keyed by server seq (a run's key is its first
// event's), so a log written before runs existed reads as runs of one.
//
// The value of a run: binEventRun, the event count, DeviceID, StallID,
// MarketID and ReceivedAt, then each event's other fields (eventTail) with
// its length, so that a scan can skip to the event it wants.
const binEventRun = 0x40

// Bounds of one run, so that one value stays a few pages: a push has at most
// 500 events of at most 16 KiB payload each.
const (
	maxEventRun      = 1000
	maxEventRunBytes = 256 << 10
)

// eventRun is the run a transaction is building; flush writes it.
type eventRun struct {
	first uint64 // server seq of the first event; 0 when the run is empty
	n     int
	head  choso.Event // DeviceID, StallID, MarketID, ReceivedAt
	body  []byte      // each event's tail, length-prefixed
	tail  []byte      // the last event's tail, reused: one buffer a transaction
}

// joins reports whether e, with server seq seq, can go at the end of r.
func (r *eventRun) joins(e *choso.Event, seq uint64) bool {
	return r.first != 0 && seq == r.first+uint64(r.n) && r.n < maxEventRun && len(r.body) < maxEventRunBytes &&
		e.DeviceID == r.head.DeviceID && e.StallID == r.head.StallID && e.MarketID == r.head.MarketID &&
		e.ReceivedAt.Equal(r.head.ReceivedAt) // stored as an instant: the zone is not kept
}

// appendEventToRun adds e, stored under seq, to the transaction's run,
// writing the run before it when e cannot join it.
func (tx *Tx) appendEventToRun(e *choso.Event, seq uint64) error {
	r := &tx.events
	if !r.joins(e, seq) {
		if err := tx.flushEvents(); err != nil {
			return err
		}
		r.first, r.n = seq, 0
		r.head = choso.Event{DeviceID: e.DeviceID, StallID: e.StallID, MarketID: e.MarketID, ReceivedAt: e.ReceivedAt}
		r.body = r.body[:0]
	}
	r.tail = appendEventTail(r.tail[:0], e)
	r.body = binary.AppendUvarint(r.body, uint64(len(r.tail)))
	r.body = append(r.body, r.tail...)
	r.n++
	return nil
}

// flushEvents writes the run being built: a run of one as a plain event
// record, a longer one as a run record.
func (tx *Tx) flushEvents() error {
	r := &tx.events
	if r.n == 0 {
		return nil
	}
	b := tx.bucketFilled(bucketEvents, appendFill)
	key := binary.BigEndian.AppendUint64(make([]byte, 0, 8), r.first)
	var v []byte
	if r.n == 1 {
		e := r.head
		d := newDecoder(append([]byte{binFormatCurrent}, r.body[uvarintLen(r.body):]...))
		decodeEventTail(d, &e)
		if err := d.done("event"); err != nil {
			return err
		}
		e.ServerSeq = r.first
		_, v = encodeEvent(nil, &e)
	} else {
		enc := encoder{b: make([]byte, 0, 64+len(r.head.DeviceID)+len(r.head.StallID)+len(r.head.MarketID)+len(r.body))}
		enc.b = append(enc.b, binEventRun)
		enc.uint(uint64(r.n))
		enc.str(r.head.DeviceID)
		enc.str(r.head.StallID)
		enc.str(r.head.MarketID)
		enc.time(r.head.ReceivedAt)
		enc.b = append(enc.b, r.body...)
		v = enc.b
	}
	r.first, r.n = 0, 0
	r.body = r.body[:0] // v is a copy: bbolt keeps it until the commit
	return b.Put(key, v)
}

func uvarintLen(b []byte) int {
	_, n := binary.Uvarint(b)
	return n
}

// appendEventTail appends to b the fields of x a run does not share, in the
// current format, without the format byte.
func appendEventTail(b []byte, x *choso.Event) []byte {
	e := encoder{b: b}
	e.uint(x.Seq)
	e.str(x.ID)
	e.str(x.Type)
	e.int(int64(x.V))
	e.bytes(x.Payload)
	e.str(x.BusinessDate)
	e.str(x.DeviceBusinessDate)
	e.int(x.WallMs)
	e.int(x.AnchoredMs)
	e.str(x.HLC)
	e.int(x.EffectiveMs)
	e.str(x.TimeQuality)
	return e.b
}

func decodeEventTail(d *decoder, x *choso.Event) {
	x.Seq = d.uint()
	x.ID = d.str()
	x.Type = d.str()
	x.V = int(d.int())
	x.Payload = d.bytes()
	x.BusinessDate = d.str()
	x.DeviceBusinessDate = d.str()
	x.WallMs = d.int()
	x.AnchoredMs = d.int()
	x.HLC = d.str()
	x.EffectiveMs = d.int()
	x.TimeQuality = d.str()
}

// decodeEvents appends to list the events of the record stored under key
// whose server seqs are after after, up to limit in all.
func decodeEvents(list []*choso.Event, key, v []byte, after uint64, limit int) ([]*choso.Event, error) {
	if len(key) != 8 {
		return nil, choso.Errorf(choso.EInternal, "events log has a key of %d bytes, want 8", len(key))
	}
	first := binary.BigEndian.Uint64(key)
	if len(v) == 0 || v[0] != binEventRun {
		if first <= after {
			return list, nil
		}
		e, err := decodeEvent(v)
		if err != nil {
			return nil, err
		}
		return append(list, e), nil
	}
	d := &decoder{b: v[1:], format: binFormatCurrent}
	n := d.uint()
	head := choso.Event{DeviceID: d.str(), StallID: d.str(), MarketID: d.str(), ReceivedAt: d.time()}
	if d.bad || n > uint64(len(d.b)) {
		return nil, choso.Errorf(choso.EInternal, "corrupt stored event run")
	}
	for i := range n {
		size := d.uint()
		tail := d.take(size)
		if d.bad {
			return nil, choso.Errorf(choso.EInternal, "corrupt stored event run")
		}
		seq := first + i
		if seq <= after {
			continue
		}
		e := head
		e.ServerSeq = seq
		td := &decoder{b: tail, format: binFormatCurrent}
		decodeEventTail(td, &e)
		if err := td.done("event"); err != nil {
			return nil, err
		}
		if list = append(list, &e); len(list) == limit {
			return list, nil
		}
	}
	return list, d.done("event run")
}

// runHolds reports whether the record under key, with value v, is a run
// that holds server seq seq.
func runHolds(key, v []byte, seq uint64) bool {
	if len(key) != 8 || len(v) == 0 || v[0] != binEventRun {
		return false
	}
	n, k := binary.Uvarint(v[1:])
	first := binary.BigEndian.Uint64(key)
	return k > 0 && first <= seq && seq-first < n
}

// listEvents returns up to limit events after the server seq after, reading
// plain records and runs; a run may start at or before after.
func (tx *Tx) listEvents(after uint64, limit int) ([]*choso.Event, error) {
	if err := tx.flushEvents(); err != nil { // this transaction's own appends
		return nil, err
	}
	limit = scanLimit(limit)
	c := tx.bucket(bucketEvents).Cursor()
	k, v := c.Seek(seqKey(after + 1))
	if k == nil || binary.BigEndian.Uint64(k) > after+1 {
		// The record before may be a run that holds after+1.
		var pk, pv []byte
		if k == nil {
			pk, pv = c.Last()
		} else {
			pk, pv = c.Prev()
		}
		if pk != nil && runHolds(pk, pv, after+1) {
			k, v = pk, pv
		} else if pk != nil {
			k, v = c.Next()
		}
	}
	var list []*choso.Event
	for ; k != nil; k, v = c.Next() {
		var err error
		if list, err = decodeEvents(list, k, v, after, limit); err != nil {
			return nil, err
		}
		if len(list) >= limit {
			break
		}
	}
	return list, nil
}
