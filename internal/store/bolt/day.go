// The cross-stall views of day totals the partner feed needs: the days of
// a business date, the dates that have days, and a stall-day as it stood
// at a change seq.

package bolt

import (
	"bytes"
	"encoding/binary"

	"github.com/choso/choso"
)

// indexDayDate records that a stall has totals on date. A day's date never
// changes, so the entry is written once: PutStallDay runs on every push, and
// a Get spares the index a page write when the day is already known.
func (tx *Tx) indexDayDate(stallID, date string) error {
	var buf keyBuf
	k := appendDayKey(buf[:0], date, stallID)
	dates := tx.bucket(bucketDayDates)
	if dates.Get(k) != nil {
		return nil
	}
	return dates.Put(k, nil) // bbolt copies keys, so one on the stack will do
}

// appendDayChangeKey appends stall ID + "/" + date + "/" + change seq BE,
// a key of the change index, to b.
func appendDayChangeKey(b []byte, stallID, date string, seq uint64) []byte {
	b = appendDayKey(b, stallID, date)
	b = append(b, keySep...)
	return binary.BigEndian.AppendUint64(b, seq)
}

// indexDayChange records that change seq revised a stall-day. It skips a day
// that cannot be keyed (see AppendChange).
func (tx *Tx) indexDayChange(stallID, date string, seq uint64) error {
	if checkKeyPart("stall ID", stallID) != nil || !isDate(date) {
		return nil
	}
	var buf keyBuf
	return tx.bucket(bucketDayChanges).Put(appendDayChangeKey(buf[:0], stallID, date, seq), nil)
}

// ListDaysByDate returns up to limit stall-days of a business date in stall
// ID order after the stall ID after, walking the date index; see
// choso.DayTx. Limit 0 or less means DefaultListLimit, and it is capped at
// MaxScanLimit, as the feed's pages are. A malformed date has no days.
func (tx *Tx) ListDaysByDate(date, after string, limit int) ([]*choso.StallDay, error) {
	if !isDate(date) {
		return nil, nil
	}
	limit = scanLimit(limit)
	prefix := joinKey(date, "")
	days := tx.bucket(bucketStallDays)
	var list []*choso.StallDay
	var prev *choso.StallDay // a date's stalls share their market's codes
	var buf keyBuf
	for k := range ascend(tx.bucket(bucketDayDates), prefix, afterKey(prefix, after)) {
		stallID := k[len(prefix):]
		v := days.Get(appendDayKey(buf[:0], string(stallID), date))
		if v == nil {
			return nil, choso.Errorf(choso.EInternal, "date index names the day of stall %s on %s, which is not stored", stallID, date)
		}
		d, err := decodeStallDay(v, prev)
		if err != nil {
			return nil, err
		}
		prev = d
		if list = append(list, d); len(list) == limit {
			break
		}
	}
	return list, nil
}

// ListDayDates returns up to limit business dates that have stall-days, in
// order after the date after, from the date index: one seek a date, not a
// walk over its stalls; see choso.DayTx. Limit 0 or less means
// DefaultListLimit, and it is capped at MaxScanLimit.
func (tx *Tx) ListDayDates(after string, limit int) ([]string, error) {
	limit = scanLimit(limit)
	c := tx.bucket(bucketDayDates).Cursor()
	var dates []string
	for k, _ := c.Seek([]byte(after)); k != nil && len(dates) < limit; {
		i := bytes.IndexByte(k, keySep[0])
		if i < 0 {
			return nil, choso.Errorf(choso.EInternal, "date index key %q has no stall", k)
		}
		date := string(k[:i])
		if date > after {
			dates = append(dates, date)
		}
		// Past every key of the date: '0' follows the separator.
		k, _ = c.Seek([]byte(date + string(keySep[0]+1)))
	}
	return dates, nil
}

// FindChangeAsOf returns the latest change of a stall-day with ChangeSeq ≤
// asOf; see choso.DayTx. The stall-day's index entries sort by seq, so it
// is the entry at or just before asOf: one seek.
func (tx *Tx) FindChangeAsOf(stallID, date string, asOf uint64) (*choso.Change, error) {
	missing := notFound("no change of stall " + stallID + " on " + date + " at or before this seq")
	if checkKeyPart("stall ID", stallID) != nil || !isDate(date) || asOf == 0 {
		return nil, missing
	}
	var buf keyBuf
	seek := appendDayChangeKey(buf[:0], stallID, date, asOf)
	prefix := seek[:len(seek)-8]
	c := tx.bucket(bucketDayChanges).Cursor()
	k, _ := c.Seek(seek)
	if k == nil {
		k, _ = c.Last()
	} else if !bytes.Equal(k, seek) {
		k, _ = c.Prev()
	}
	if k == nil || len(k) != len(seek) || !bytes.HasPrefix(k, prefix) {
		return nil, missing
	}
	seq := binary.BigEndian.Uint64(k[len(prefix):])
	v := tx.bucket(bucketChanges).Get(k[len(prefix):])
	if v == nil {
		return nil, choso.Errorf(choso.EInternal, "change index names change %d, which is not stored", seq)
	}
	return decodeChange(v)
}

// LastChangeSeq returns the highest change seq stored, from the changes
// log's last key; see choso.DayTx.
func (tx *Tx) LastChangeSeq() (uint64, error) {
	k, _ := tx.bucket(bucketChanges).Cursor().Last()
	if k == nil {
		return 0, nil
	}
	if len(k) != 8 {
		return 0, choso.Errorf(choso.EInternal, "changes log has a key of %d bytes, want 8", len(k))
	}
	return binary.BigEndian.Uint64(k), nil
}
