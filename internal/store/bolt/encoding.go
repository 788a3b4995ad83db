// What every noun's file shares: how values are encoded, how index keys are
// built, how lists are paged.

package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/choso/choso"
	bolt "go.etcd.io/bbolt"
)

// Page sizes for ListMarkets, ListStalls and ListAudit: a Limit of 0 or less
// means DefaultListLimit, and no page holds more than MaxListLimit, so no
// request can hold a read transaction open over the whole store. The
// registry asks for choso.MaxPageSize+1 items to learn whether another page
// follows, so MaxListLimit must stay above that.
const (
	DefaultListLimit = choso.DefaultPageSize
	MaxListLimit     = 500
)

var _ = [MaxListLimit - choso.MaxPageSize - 1]struct{}{} // compile error if MaxListLimit ≤ choso.MaxPageSize

// listLimit returns the page size for a requested limit.
func listLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultListLimit
	case n > MaxListLimit:
		return MaxListLimit
	}
	return n
}

// keySep separates the parts of an index key. The parts before the last
// never contain it (IDs, codes, phones), so parent+keySep is a prefix that
// matches that parent's entries and no other's.
const keySep = "/"

// joinKey builds an index key from its parts.
func joinKey(parts ...string) []byte {
	return []byte(strings.Join(parts, keySep))
}

// checkKeyPart returns EInvalid when s cannot be the leading part of an
// index key: empty, or holding the separator.
func checkKeyPart(what, s string) error {
	if s == "" {
		return choso.Errorf(choso.EInvalid, "%s is empty", what)
	}
	if strings.Contains(s, keySep) {
		return choso.Errorf(choso.EInvalid, "%s %q must not contain %q", what, s, keySep)
	}
	return nil
}

// getJSON decodes the value under key into v and reports whether there was
// one. Decoding copies, so v stays valid after the transaction.
func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	return true, jsonUnmarshal(data, v)
}

// jsonUnmarshal decodes a stored value; a value that does not decode is
// EInternal, since only this package writes them.
func jsonUnmarshal(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return choso.WrapError(choso.EInternal, "corrupt stored value", err)
	}
	return nil
}

// putJSON stores v encoded under key.
func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return choso.WrapError(choso.EInternal, fmt.Sprintf("encode value for %q", key), err)
	}
	return b.Put(key, data)
}

// ascend yields, in key order, the keys and values of b that start with
// prefix and sort after after (every key with the prefix when after is nil).
// Keys and values belong to bbolt: copy or decode them before the
// transaction ends, and do not write to b while iterating.
func ascend(b *bolt.Bucket, prefix, after []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func(k, v []byte) bool) {
		c := b.Cursor()
		var k, v []byte
		if after != nil {
			k, v = c.Seek(after)
			if k != nil && bytes.Equal(k, after) {
				k, v = c.Next()
			}
		} else if len(prefix) == 0 {
			k, v = c.First()
		} else {
			k, v = c.Seek(prefix)
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if !yield(k, v) {
				return
			}
		}
	}
}

// descend yields, in reverse key order, the keys and values of b that start
// with prefix and sort before before (every key with the prefix when before
// is nil). The same ownership rules as ascend hold.
func descend(b *bolt.Bucket, prefix, before []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func(k, v []byte) bool) {
		c := b.Cursor()
		upper := before
		if upper == nil {
			upper = prefixEnd(prefix)
		}
		var k, v []byte
		if upper == nil {
			k, v = c.Last()
		} else if k, v = c.Seek(upper); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
			if !yield(k, v) {
				return
			}
		}
	}
}

// prefixEnd returns the smallest key greater than every key starting with
// prefix, or nil when there is none (empty prefix, or all 0xff).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// The sync records (events, results, entities, day totals, feed changes) are
// written several times per event on the push path, so they are stored in a
// compact binary form instead of JSON: a format byte, then each field in
// declaration order as a varint, a length-prefixed string or bytes, or a time
// as Unix seconds and nanoseconds. Every record type has a round-trip test
// that fills each of its fields, so a field added to the root type and not to
// its codec fails the tests instead of being silently dropped.

// The first byte of a value in the binary form names its layout. Format 2
// added Entity.Ref, EffectiveMs and ConfirmedBy and StallDay.Status (and
// the Credit record); a format 1 value reads with those fields zero, so
// files written before need no migration. Encoders write binFormatCurrent.
// Format 3 added StallDay's StallCode, BIN and Account, so a feed page
// needs no stall lookups. Format 4 added Device.Replaces.
// A layout that cannot read its predecessors' values takes another byte
// and a migration.
const (
	binFormat1       = 1
	binFormat2       = 2
	binFormat3       = 3 // StallDay.StallCode, BIN, Account
	binFormat4       = 4 // Device.Replaces
	binFormatCurrent = binFormat4
)

// encoder appends a record's fields to b, after the key the record goes
// under, so that a Put takes one allocation for both.
type encoder struct {
	b   []byte
	key int // length of the key at the front of b
}

// newEncoder starts a record of about size bytes under key (nil for none);
// it copies key, which may live on the caller's stack.
func newEncoder(key []byte, size int) encoder {
	b := make([]byte, 0, len(key)+1+size)
	b = append(b, key...)
	return encoder{b: append(b, binFormatCurrent), key: len(key)}
}

// keyValue returns the key and the encoded value, ready for Put.
func (e *encoder) keyValue() (k, v []byte) { return e.b[:e.key:e.key], e.b[e.key:] }

func (e *encoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }

func (e *encoder) str(s string) {
	e.uint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// bytes keeps nil apart from empty, as JSON does (null and "").
func (e *encoder) bytes(p []byte) {
	if p == nil {
		e.uint(0)
		return
	}
	e.uint(uint64(len(p)) + 1)
	e.b = append(e.b, p...)
}

// strs writes a count plus one, so nil stays apart from empty, then each
// string.
func (e *encoder) strs(list []string) {
	if list == nil {
		e.uint(0)
		return
	}
	e.uint(uint64(len(list)) + 1)
	for _, s := range list {
		e.str(s)
	}
}

func (e *encoder) time(t time.Time) {
	e.int(t.Unix())
	e.uint(uint64(t.Nanosecond()))
}

// decoder reads a record's fields in the order encoder wrote them. The first
// malformed field sets bad, and every later read returns a zero value, so a
// decoding function checks once, at the end (see done).
type decoder struct {
	b      []byte
	bad    bool
	format byte // the value's layout: which fields it holds
}

// newDecoder starts reading a stored value in the binary form.
func newDecoder(data []byte) *decoder {
	if len(data) == 0 || data[0] < binFormat1 || data[0] > binFormatCurrent {
		return &decoder{bad: true}
	}
	return &decoder{b: data[1:], format: data[0]}
}

// since reports whether the value's layout holds the fields format added.
func (d *decoder) since(format byte) bool { return d.format >= format }

func (d *decoder) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

// take returns the next n bytes, which still belong to bbolt.
func (d *decoder) take(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.bad, d.b = true, nil
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

// str copies, so the string outlives the transaction.
func (d *decoder) str() string { return string(d.take(d.uint())) }

// word reads a string that is nearly always one the package names (a
// payment method, a day's status) and returns those as the constant, not
// as an allocation of their own.
func (d *decoder) word() string {
	b := d.take(d.uint())
	switch string(b) { // compared in place: no allocation
	case choso.DayProvisional:
		return choso.DayProvisional
	case choso.DayFinal:
		return choso.DayFinal
	case choso.DayAdjusted:
		return choso.DayAdjusted
	}
	return choso.MethodOf(b)
}

// strLike reads a string and returns prev when it has the same bytes: the
// records of a scan repeat their owner's IDs and codes from one to the
// next, an allocation each otherwise.
func (d *decoder) strLike(prev string) string {
	b := d.take(d.uint())
	if string(b) == prev {
		return prev
	}
	return string(b)
}

// strs reads what encoder.strs wrote.
func (d *decoder) strs() []string {
	n := d.uint()
	if n == 0 {
		return nil
	}
	if n-1 > uint64(len(d.b)) { // each string takes at least a byte
		d.bad, d.b = true, nil
		return nil
	}
	list := make([]string, n-1)
	for i := range list {
		list[i] = d.str()
	}
	return list
}

// bytes copies, so the slice outlives the transaction.
func (d *decoder) bytes() []byte {
	n := d.uint()
	if n == 0 {
		return nil
	}
	return append([]byte{}, d.take(n-1)...)
}

func (d *decoder) time() time.Time {
	sec, nsec := d.int(), d.uint()
	if nsec >= 1e9 {
		d.bad = true
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec)).UTC()
	if t.Unix() != sec { // outside the range time.Time holds: never written
		d.bad = true
	}
	return t
}

// done returns EInternal if the value was malformed or had bytes left over:
// only this package writes values, so either means a corrupt store.
func (d *decoder) done(what string) error {
	if d.bad || len(d.b) > 0 {
		return choso.Errorf(choso.EInternal, "corrupt stored %s", what)
	}
	return nil
}
