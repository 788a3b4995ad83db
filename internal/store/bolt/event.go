package bolt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"

	"github.com/choso/choso"
	bolt "go.etcd.io/bbolt"
)

// MaxScanLimit caps a page of ListEvents and ListChanges. The partner feed
// and exports read the logs in chunks (up to a thousand items and one more
// to learn whether another page follows), each in its own short read
// transaction; the cap keeps any one of them from walking the whole log. A
// limit of 0 or less means DefaultListLimit.
const MaxScanLimit = 10_000

func scanLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultListLimit
	case n > MaxScanLimit:
		return MaxScanLimit
	}
	return n
}

// How full bbolt packs a bucket's pages when they split. Its default, half,
// suits keys that arrive in random order. The push path's buckets do not:
//
//   - appendFill: keys only ever grow, at the end of the bucket (the events,
//     changes and credits logs). A page left half empty would stay so for
//     good: full pages halve the bytes on disk and the pages each commit
//     writes.
//   - mostlyAppendFill: keys mostly grow, but some land behind (a phone that
//     was offline sends ULIDs and sale times of hours ago; a new day comes
//     after older ones). A tenth of each page is left for those.
//
// Buckets that grow at the end of many owners' ranges at once (a device's
// results, a stall-day's change index) keep bbolt's default: packed full,
// every append in the middle of the key space split a full page, and their
// leaves grew 3.5 times (BENCHMARKS.md, issue 5).
const (
	appendFill       = 1.0
	mostlyAppendFill = 0.9
)

// bucketFilled returns a bucket that Open created, set to pack its pages
// fill full when they split; see appendFill.
func (tx *Tx) bucketFilled(name []byte, fill float64) *bolt.Bucket {
	b := tx.bucket(name)
	b.FillPercent = fill
	return b
}

// notFound is ENotFound without fmt: the lookups on the push path (is this
// ULID new? is there a day yet?) miss as often as they hit.
func notFound(message string) error {
	return &choso.Error{Code: choso.ENotFound, Message: message}
}

// appendResultKey appends device ID + "/" + seq BE, a result's key, to b.
// The ID holds no separator, so each device's results are a range of their
// own, in seq order.
func appendResultKey(b []byte, deviceID string, seq uint64) []byte {
	b = append(b, deviceID...)
	b = append(b, keySep...)
	return binary.BigEndian.AppendUint64(b, seq)
}

// keyBuf holds a key being built on the stack: the encoders copy keys into
// the allocation they make for the value.
type keyBuf [64]byte

// appendDayKey appends owner ID + "/" + date, a stall's or a device's day
// key, to b.
func appendDayKey(b []byte, ownerID, date string) []byte {
	b = append(b, ownerID...)
	b = append(b, keySep...)
	return append(b, date...)
}

// checkDate returns EInvalid unless date has the form YYYY-MM-DD, so that
// days sort by date and a range is a scan.
func checkDate(date string) error {
	if !isDate(date) {
		return choso.Errorf(choso.EInvalid, "business date %q: want YYYY-MM-DD", date)
	}
	return nil
}

func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i := range len(s) {
		if i != 4 && i != 7 && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}

// maxResultRun bounds the seqs one stored run of results covers, so that
// FindResult walks back a bounded distance.
const maxResultRun = 1000

// FindResult returns the result of a device's seq; see choso.SyncTx.
// Results are stored in runs (PutResults) keyed by their first seq: the
// run holding seq is the nearest key at or before it. A later single put
// for a seq inside a run shadows the run's entry.
func (tx *Tx) FindResult(deviceID string, seq uint64) (*choso.EventResult, error) {
	missing := notFound("no result for this seq of device " + deviceID)
	if checkKeyPart("device ID", deviceID) != nil || seq == 0 {
		return nil, missing
	}
	var buf keyBuf
	prefix := append(append(buf[:0], deviceID...), keySep...)
	c := tx.bucket(bucketResults).Cursor()
	k, v := c.Seek(binary.BigEndian.AppendUint64(prefix, seq))
	if k == nil || !bytes.Equal(k, binary.BigEndian.AppendUint64(prefix[:len(prefix):len(prefix)], seq)) {
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	for ; k != nil && len(k) == len(prefix)+8 && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
		first := binary.BigEndian.Uint64(k[len(prefix):])
		if first+maxResultRun <= seq {
			break
		}
		r, found, err := decodeResultAt(v, seq-first)
		if err != nil || found {
			return r, err
		}
	}
	return nil, missing
}

// PutResult stores the result of a device's seq; see choso.SyncTx. It
// returns EInvalid for an empty device ID or seq 0 (seqs start at 1).
func (tx *Tx) PutResult(deviceID string, seq uint64, r *choso.EventResult) error {
	return tx.PutResults(deviceID, seq, []*choso.EventResult{r})
}

// PutResults stores the results of a device's seqs first, first+1, … in
// one record; see choso.SyncTx. A push of 50 events writes one record, not
// 50: a third of the sync write path's puts.
func (tx *Tx) PutResults(deviceID string, first uint64, rs []*choso.EventResult) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := checkKeyPart("device ID", deviceID); err != nil {
		return err
	}
	if len(rs) == 0 {
		return nil
	}
	if first == 0 {
		return choso.Errorf(choso.EInvalid, "device %s: seq 0 (seqs start at 1)", deviceID)
	}
	if len(rs) > maxResultRun {
		return choso.Errorf(choso.EInvalid, "%d results in one run; at most %d", len(rs), maxResultRun)
	}
	var buf keyBuf
	return tx.bucket(bucketResults).Put(encodeResultRun(appendResultKey(buf[:0], deviceID, first), rs))
}

// FindEntity returns the entity of a client ULID; see choso.SyncTx.
func (tx *Tx) FindEntity(id string) (*choso.Entity, error) {
	var buf [entityKeyMax]byte
	key := entityKey(buf[:0], id)
	v, held := tx.entities[string(key)]
	if !held && id != "" && tx.mayHoldEntity(id) {
		v = tx.bucket(bucketEntities).Get(key)
	}
	if v == nil {
		return nil, errNoEntity
	}
	return decodeEntity(v)
}

// errNoEntity is FindEntity's miss, one value for all: nearly every pushed
// event misses once (is its ULID new?), and the caller knows the ID.
var errNoEntity = notFound("no entity with that ID")

// PutEntity creates or replaces the entity of a client ULID; see
// choso.SyncTx. It returns EInvalid for an empty ID.
func (tx *Tx) PutEntity(id string, e *choso.Entity) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if id == "" || len(id) > bolt.MaxKeySize {
		return choso.Errorf(choso.EInvalid, "entity ID is empty or too long")
	}
	if tx.entities == nil {
		// The last write transaction's map, emptied, if it left one: it
		// has room for a group commit's entities already. Only a write
		// transaction, under bbolt's lock, takes it or gives it back.
		tx.entities, tx.db.spareEntities = tx.db.spareEntities, nil
		if tx.entities == nil {
			tx.entities = make(map[string][]byte)
		}
	}
	var buf [entityKeyMax]byte
	tx.entities[string(entityKey(buf[:0], id))] = tx.encodeEntity(e) // put in key order at commit; see Tx
	if f := tx.db.entities; f != nil {
		f.add(id)
	}
	return nil
}

// mayHoldEntity reports whether the entity index may hold id: false means
// it certainly does not, with no read. Only write transactions ask the
// filter, and only once it is loaded (entityfilter.go says why); before
// that, and in a read-only transaction, it reads.
func (tx *Tx) mayHoldEntity(id string) bool {
	f := tx.db.entities
	return f == nil || !tx.tx.Writable() || !f.ready.Load() || f.mayHold(id)
}

// AppendEvent stores e under the events bucket's next sequence; see
// choso.SyncTx. The sequence lives in the bucket, inside the transaction, so
// a rolled-back append leaves no hole and a committed one is never reused.
func (tx *Tx) AppendEvent(e *choso.Event) (uint64, error) {
	if err := tx.writable(); err != nil {
		return 0, err
	}
	seq, err := tx.bucket(bucketEvents).NextSequence()
	if err != nil {
		return 0, err
	}
	e.ServerSeq = seq
	return seq, tx.appendEventToRun(e, seq) // written at commit, with the rest of its run
}

// ListEvents returns up to limit events after the server seq after, in
// order; see choso.SyncTx. Limit 0 or less means DefaultListLimit, and it is
// capped at MaxScanLimit.
func (tx *Tx) ListEvents(after uint64, limit int) ([]*choso.Event, error) {
	return tx.listEvents(after, limit)
}

// FindStallDay returns a stall's totals of one day; see choso.SyncTx.
func (tx *Tx) FindStallDay(stallID, date string) (*choso.StallDay, error) {
	var v []byte
	if checkKeyPart("stall ID", stallID) == nil && isDate(date) {
		v = tx.bucket(bucketStallDays).Get(joinKey(stallID, date))
	}
	if v == nil {
		return nil, notFound("no totals of stall " + stallID + " on " + date)
	}
	return decodeStallDay(v, nil)
}

// PutStallDay creates or replaces a stall's totals of one day; see
// choso.SyncTx. It returns EInvalid for an empty stall ID or a date not in
// the form YYYY-MM-DD.
func (tx *Tx) PutStallDay(d *choso.StallDay) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := checkKeyPart("stall ID", d.StallID); err != nil {
		return err
	}
	if err := checkDate(d.Date); err != nil {
		return err
	}
	var buf keyBuf
	if err := tx.bucketFilled(bucketStallDays, mostlyAppendFill).Put(encodeStallDay(appendDayKey(buf[:0], d.StallID, d.Date), d)); err != nil {
		return err
	}
	return tx.indexDayDate(d.StallID, d.Date)
}

// ListStallDays returns a stall's days from from to to, both inclusive, in
// date order, by one scan of the stall's range; see choso.SyncTx. An empty
// from or to leaves that end open.
func (tx *Tx) ListStallDays(stallID, from, to string) ([]*choso.StallDay, error) {
	if checkKeyPart("stall ID", stallID) != nil {
		return nil, nil
	}
	prefix := joinKey(stallID, "")
	c := tx.bucket(bucketStallDays).Cursor()
	var list []*choso.StallDay
	var prev *choso.StallDay
	for k, v := c.Seek(joinKey(stallID, from)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if to != "" && string(k[len(prefix):]) > to {
			break
		}
		d, err := decodeStallDay(v, prev)
		if err != nil {
			return nil, err
		}
		list, prev = append(list, d), d
	}
	return list, nil
}

// FindDeviceDay returns a device's tally of one day; see choso.SyncTx.
func (tx *Tx) FindDeviceDay(deviceID, date string) (*choso.DeviceDay, error) {
	var v []byte
	if checkKeyPart("device ID", deviceID) == nil && isDate(date) {
		v = tx.bucket(bucketDeviceDays).Get(joinKey(deviceID, date))
	}
	if v == nil {
		return nil, notFound("no tally of device " + deviceID + " on " + date)
	}
	return decodeDeviceDay(v)
}

// PutDeviceDay creates or replaces a device's tally of one day; see
// choso.SyncTx. It returns EInvalid for an empty device ID or a date not in
// the form YYYY-MM-DD.
func (tx *Tx) PutDeviceDay(d *choso.DeviceDay) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := checkKeyPart("device ID", d.DeviceID); err != nil {
		return err
	}
	if err := checkDate(d.Date); err != nil {
		return err
	}
	var buf keyBuf
	return tx.bucketFilled(bucketDeviceDays, mostlyAppendFill).Put(encodeDeviceDay(appendDayKey(buf[:0], d.DeviceID, d.Date), d))
}

// AppendChange stores c under the changes bucket's next sequence, with an
// entry in its stall-day's change index (for FindChangeAsOf); see
// choso.SyncTx and AppendEvent. A change whose day has no stall ID or date
// that can be a key is logged but not indexed: no lookup could name it.
func (tx *Tx) AppendChange(c *choso.Change) (uint64, error) {
	if err := tx.writable(); err != nil {
		return 0, err
	}
	b := tx.bucketFilled(bucketChanges, appendFill)
	seq, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	c.ChangeSeq, c.Day.Revision = seq, seq
	var buf keyBuf
	if err := b.Put(encodeChange(binary.BigEndian.AppendUint64(buf[:0], seq), c)); err != nil {
		return 0, err
	}
	return seq, tx.indexDayChange(c.Day.StallID, c.Day.Date, seq)
}

// ListChanges returns up to limit changes after the change seq after, in
// order; see choso.SyncTx. Limit 0 or less means DefaultListLimit, and it is
// capped at MaxScanLimit.
func (tx *Tx) ListChanges(after uint64, limit int) ([]*choso.Change, error) {
	return scanSeqs(tx.bucket(bucketChanges), after, limit, decodeChange)
}

// scanSeqs decodes up to limit values of a log keyed by seq BE, after the
// key of after.
func scanSeqs[T any](b *bolt.Bucket, after uint64, limit int, decode func([]byte) (*T, error)) ([]*T, error) {
	limit = scanLimit(limit)
	var list []*T
	for _, v := range ascend(b, nil, seqKey(after)) {
		x, err := decode(v)
		if err != nil {
			return nil, err
		}
		if list = append(list, x); len(list) == limit {
			break
		}
	}
	return list, nil
}

// The record codecs. Each writes every field of its type in declaration
// order; see the binary form in encoding.go.

func encodeResult(key []byte, r *choso.EventResult) (k, v []byte) {
	e := newEncoder(key, 16+len(r.Status)+len(r.Code)+len(r.Message)+len(r.Hash)+len(r.Note))
	e.result(r)
	return e.keyValue()
}

func (e *encoder) result(r *choso.EventResult) {
	e.str(r.Status)
	e.str(r.Code)
	e.str(r.Message)
	e.bytes(r.Hash)
	e.uint(r.ServerSeq)
	e.str(r.Note)
}

// binAppliedRun starts a run of results that were all applied, to
// consecutive server seqs, with nothing else to say: almost every push's.
// After it come the count, the first server seq and each result's 32-byte
// fingerprint, a third less than the general form and nothing to skip
// through. The general form starts with a format byte (1 to 3).
const binAppliedRun = 0x41

// statusApplied is sync.StatusApplied, which this package does not import.
const statusApplied = "applied"

// appliedRun reports whether rs can be written as an applied run.
func appliedRun(rs []*choso.EventResult) bool {
	for i, r := range rs {
		if r.Status != statusApplied || r.Code != "" || r.Message != "" || r.Note != "" || len(r.Hash) != sha256.Size ||
			r.ServerSeq == 0 || r.ServerSeq != rs[0].ServerSeq+uint64(i) {
			return false
		}
	}
	return len(rs) > 0
}

// encodeResultRun writes an applied run when it can, and otherwise a
// count, then each result's encoding with its length, so one entry can be
// found without decoding the others.
func encodeResultRun(key []byte, rs []*choso.EventResult) (k, v []byte) {
	if appliedRun(rs) {
		b := make([]byte, 0, len(key)+1+2*binary.MaxVarintLen64+len(rs)*sha256.Size)
		b = append(b, key...)
		b = append(b, binAppliedRun)
		b = binary.AppendUvarint(b, uint64(len(rs)))
		b = binary.AppendUvarint(b, rs[0].ServerSeq)
		for _, r := range rs {
			b = append(b, r.Hash...)
		}
		return b[:len(key):len(key)], b[len(key):]
	}
	size := binary.MaxVarintLen64
	for _, r := range rs {
		size += binary.MaxVarintLen64 + 16 + len(r.Status) + len(r.Code) + len(r.Message) + len(r.Hash) + len(r.Note)
	}
	e := newEncoder(key, size)
	e.uint(uint64(len(rs)))
	one := encoder{b: make([]byte, 0, 128)} // each result as encodeResult writes it, in one scratch buffer
	for _, r := range rs {
		one.b = append(one.b[:0], binFormatCurrent)
		one.result(r)
		e.bytes(one.b)
	}
	return e.keyValue()
}

// decodeResultAt returns the i-th result of a run, or found false when the
// run is shorter.
func decodeResultAt(v []byte, i uint64) (*choso.EventResult, bool, error) {
	if len(v) > 0 && v[0] == binAppliedRun {
		return decodeAppliedAt(v[1:], i)
	}
	d := newDecoder(v)
	n := d.uint()
	if d.bad {
		return nil, false, choso.Errorf(choso.EInternal, "corrupt stored result run")
	}
	if i >= n {
		return nil, false, nil
	}
	for range i {
		if l := d.uint(); l > 0 { // bytes writes length+1, nil as 0
			d.take(l - 1)
		}
	}
	one := d.bytes()
	if d.bad {
		return nil, false, choso.Errorf(choso.EInternal, "corrupt stored result run")
	}
	r, err := decodeResult(one)
	return r, err == nil, err
}

// decodeAppliedAt returns the i-th result of an applied run, after its
// first byte.
func decodeAppliedAt(v []byte, i uint64) (*choso.EventResult, bool, error) {
	d := &decoder{b: v, format: binFormatCurrent}
	n, first := d.uint(), d.uint()
	if d.bad || n == 0 || n > maxResultRun || uint64(len(d.b)) != n*sha256.Size {
		return nil, false, choso.Errorf(choso.EInternal, "corrupt stored result run")
	}
	if i >= n {
		return nil, false, nil
	}
	hash := d.b[i*sha256.Size : (i+1)*sha256.Size]
	return &choso.EventResult{Status: statusApplied, Hash: bytes.Clone(hash), ServerSeq: first + i}, true, nil
}

func decodeResult(v []byte) (*choso.EventResult, error) {
	d := newDecoder(v)
	r := &choso.EventResult{
		Status:    d.str(),
		Code:      d.str(),
		Message:   d.str(),
		Hash:      d.bytes(),
		ServerSeq: d.uint(),
		Note:      d.str(),
	}
	return r, d.done("event result")
}

func encodeEntity(key []byte, x *choso.Entity) (k, v []byte) {
	e := newEncoder(key, entitySize(x))
	e.entity(x)
	return e.keyValue()
}

// encodeEntity encodes an entity into bytes cut from the Tx's arena.
func (tx *Tx) encodeEntity(x *choso.Entity) []byte {
	e := encoder{b: append(tx.hold(1+entitySize(x)), binFormatCurrent)}
	e.entity(x)
	return e.b
}

// entitySize is about the bytes an entity encodes to: more, mostly.
func entitySize(x *choso.Entity) int {
	return 40 + len(x.DeviceID) + len(x.Hash) + len(x.Type) + len(x.StallID) + len(x.BusinessDate) +
		len(x.Method) + len(x.VoidedBy) + len(x.Ref) + len(x.ConfirmedBy) + len(x.PendingVoid)
}

func (e *encoder) entity(x *choso.Entity) {
	e.str(x.DeviceID)
	e.uint(x.Seq)
	e.bytes(x.Hash)
	e.uint(x.ServerSeq)
	e.str(x.Type)
	e.str(x.StallID)
	e.str(x.BusinessDate)
	e.str(x.Method)
	e.int(x.Amount)
	e.str(x.VoidedBy)
	e.str(x.Ref)
	e.int(x.EffectiveMs)
	e.str(x.ConfirmedBy)
	e.str(x.PendingVoid)
}

func decodeEntity(v []byte) (*choso.Entity, error) {
	d := newDecoder(v)
	x := &choso.Entity{
		DeviceID:     d.str(),
		Seq:          d.uint(),
		Hash:         d.bytes(),
		ServerSeq:    d.uint(),
		Type:         d.str(),
		StallID:      d.str(),
		BusinessDate: d.str(),
		Method:       d.str(),
		Amount:       d.int(),
		VoidedBy:     d.str(),
	}
	if d.since(binFormat2) {
		x.Ref, x.EffectiveMs, x.ConfirmedBy = d.str(), d.int(), d.str()
	}
	x.PendingVoid = d.str()
	return x, d.done("entity")
}

func encodeEvent(key []byte, x *choso.Event) (k, v []byte) {
	e := newEncoder(key, 80+len(x.DeviceID)+len(x.StallID)+len(x.MarketID)+len(x.ID)+len(x.Type)+
		len(x.Payload)+len(x.BusinessDate)+len(x.DeviceBusinessDate)+len(x.HLC)+len(x.TimeQuality))
	e.uint(x.ServerSeq)
	e.str(x.DeviceID)
	e.str(x.StallID)
	e.str(x.MarketID)
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
	e.time(x.ReceivedAt)
	return e.keyValue()
}

func decodeEvent(v []byte) (*choso.Event, error) {
	d := newDecoder(v)
	x := &choso.Event{
		ServerSeq:          d.uint(),
		DeviceID:           d.str(),
		StallID:            d.str(),
		MarketID:           d.str(),
		Seq:                d.uint(),
		ID:                 d.str(),
		Type:               d.str(),
		V:                  int(d.int()),
		Payload:            d.bytes(),
		BusinessDate:       d.str(),
		DeviceBusinessDate: d.str(),
		WallMs:             d.int(),
		AnchoredMs:         d.int(),
		HLC:                d.str(),
		EffectiveMs:        d.int(),
		TimeQuality:        d.str(),
		ReceivedAt:         d.time(),
	}
	return x, d.done("event")
}

// methodTotals writes a map's length plus one, so nil stays apart from
// empty, then its entries.
func (e *encoder) methodTotals(m map[string]choso.MethodTotals) {
	if m == nil {
		e.uint(0)
		return
	}
	e.uint(uint64(len(m)) + 1)
	for k, t := range m {
		e.str(k)
		e.totals(t)
	}
}

func (e *encoder) totals(t choso.MethodTotals) {
	e.int(t.Count)
	e.int(t.Amount)
}

func (d *decoder) methodTotals() map[string]choso.MethodTotals {
	n := d.uint()
	if n == 0 {
		return nil
	}
	n--
	if n > uint64(len(d.b)) { // each entry takes at least three bytes
		d.bad, d.b = true, nil
		return nil
	}
	m := make(map[string]choso.MethodTotals, n)
	for range n {
		k := d.word()
		m[k] = d.totals()
	}
	return m
}

func (d *decoder) totals() choso.MethodTotals {
	return choso.MethodTotals{Count: d.int(), Amount: d.int()}
}

func methodTotalsSize(m map[string]choso.MethodTotals) int {
	n := 1
	for k := range m {
		n += 1 + len(k) + 2*binary.MaxVarintLen64
	}
	return n
}

func (e *encoder) stallDay(x *choso.StallDay) {
	e.str(x.Status)
	e.str(x.StallID)
	e.str(x.MarketID)
	e.str(x.CommuneCode)
	e.str(x.ProvinceCode)
	e.str(x.Date)
	e.methodTotals(x.ByMethod)
	e.totals(x.Voids)
	e.totals(x.ConfirmedQR)
	e.uint(x.Revision)
	e.uint(x.LastServerSeq)
	e.time(x.UpdatedAt)
	e.str(x.StallCode)
	e.str(x.BIN)
	e.str(x.Account)
}

// stallDay reads a stall-day. like, when not nil, is the day read before it
// in a scan: strings equal to its (the stall's IDs, codes and account) are
// shared with it rather than allocated again.
func (d *decoder) stallDay(like *choso.StallDay) choso.StallDay {
	if like == nil {
		like = &choso.StallDay{}
	}
	var status string
	if d.since(binFormat2) {
		status = d.word()
	}
	day := choso.StallDay{
		Status:        status,
		StallID:       d.strLike(like.StallID),
		MarketID:      d.strLike(like.MarketID),
		CommuneCode:   d.strLike(like.CommuneCode),
		ProvinceCode:  d.strLike(like.ProvinceCode),
		Date:          d.str(),
		ByMethod:      d.methodTotals(),
		Voids:         d.totals(),
		ConfirmedQR:   d.totals(),
		Revision:      d.uint(),
		LastServerSeq: d.uint(),
		UpdatedAt:     d.time(),
	}
	if d.since(binFormat3) {
		day.StallCode, day.BIN, day.Account = d.strLike(like.StallCode), d.strLike(like.BIN), d.strLike(like.Account)
	}
	return day
}

func stallDaySize(x *choso.StallDay) int {
	return 100 + len(x.Status) + len(x.StallID) + len(x.MarketID) + len(x.CommuneCode) + len(x.ProvinceCode) + len(x.Date) +
		len(x.StallCode) + len(x.BIN) + len(x.Account) + methodTotalsSize(x.ByMethod)
}

func encodeStallDay(key []byte, x *choso.StallDay) (k, v []byte) {
	e := newEncoder(key, stallDaySize(x))
	e.stallDay(x)
	return e.keyValue()
}

// decodeStallDay decodes a stored stall-day; like is as for
// decoder.stallDay.
func decodeStallDay(v []byte, like *choso.StallDay) (*choso.StallDay, error) {
	d := newDecoder(v)
	x := d.stallDay(like)
	return &x, d.done("stall day")
}

func encodeDeviceDay(key []byte, x *choso.DeviceDay) (k, v []byte) {
	e := newEncoder(key, 40+len(x.DeviceID)+len(x.Date)+methodTotalsSize(x.ByMethod))
	e.str(x.DeviceID)
	e.str(x.Date)
	e.methodTotals(x.ByMethod)
	e.uint(x.MinSeq)
	e.uint(x.MaxSeq)
	e.int(x.Sales)
	return e.keyValue()
}

func decodeDeviceDay(v []byte) (*choso.DeviceDay, error) {
	d := newDecoder(v)
	x := &choso.DeviceDay{
		DeviceID: d.str(),
		Date:     d.str(),
		ByMethod: d.methodTotals(),
		MinSeq:   d.uint(),
		MaxSeq:   d.uint(),
		Sales:    d.int(),
	}
	return x, d.done("device day")
}

func encodeChange(key []byte, x *choso.Change) (k, v []byte) {
	e := newEncoder(key, 24+stallDaySize(&x.Day))
	e.uint(x.ChangeSeq)
	e.stallDay(&x.Day)
	e.time(x.At)
	return e.keyValue()
}

func decodeChange(v []byte) (*choso.Change, error) {
	d := newDecoder(v)
	x := &choso.Change{
		ChangeSeq: d.uint(),
		Day:       d.stallDay(nil),
		At:        d.time(),
	}
	return x, d.done("change")
}
