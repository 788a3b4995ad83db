package postgres

import (
	"errors"
	"math"

	"github.com/choso/choso"
	"github.com/jackc/pgx/v5"
)

// maxResultRun is how many results PutResults takes at once.
const maxResultRun = 1000

// seqArg returns seq as a bigint parameter, and false when it is beyond
// what a bigint holds, so that no row can have it.
func seqArg(seq uint64) (int64, bool) {
	if seq > math.MaxInt64 {
		return 0, false
	}
	return int64(seq), true
}

// FindResult returns the stored result of a device's seq; see choso.SyncTx.
func (tx *Tx) FindResult(deviceID string, seq uint64) (*choso.EventResult, error) {
	var r choso.EventResult
	found := false
	if s, ok := seqArg(seq); ok && seq > 0 && deviceID != "" {
		var err error
		if found, err = tx.getDoc(&r, "SELECT doc FROM results WHERE device_id = $1 AND seq = $2", deviceID, s); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, notFound("no result for this seq of device %s", deviceID)
	}
	return &r, nil
}

// PutResult stores the result of a device's seq; see choso.SyncTx.
func (tx *Tx) PutResult(deviceID string, seq uint64, r *choso.EventResult) error {
	return tx.PutResults(deviceID, seq, []*choso.EventResult{r})
}

// PutResults stores the results of a device's seqs first, first+1, … in one
// statement; see choso.SyncTx.
func (tx *Tx) PutResults(deviceID string, first uint64, rs []*choso.EventResult) error {
	if err := tx.canWrite(); err != nil {
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
	start, ok := seqArg(first + uint64(len(rs)) - 1)
	if !ok || first+uint64(len(rs))-1 < first {
		return choso.Errorf(choso.EInvalid, "device %s: seq %d out of range", deviceID, first)
	}
	start -= int64(len(rs)) - 1
	docs := make([][]byte, len(rs))
	for i, r := range rs {
		var err error
		if docs[i], err = marshal(r); err != nil {
			return err
		}
	}
	tx.defer_(`INSERT INTO results (device_id, seq, doc)
		SELECT $1, $2 + ord - 1, doc FROM unnest($3::bytea[]) WITH ORDINALITY AS t(doc, ord)
		ON CONFLICT (device_id, seq) DO UPDATE SET doc = excluded.doc`, deviceID, start, docs)
	return nil
}

// FindEntity returns the entity of a client ULID; see choso.SyncTx.
func (tx *Tx) FindEntity(id string) (*choso.Entity, error) {
	var e choso.Entity
	if doc, ok := tx.entities[id]; ok {
		if doc == nil {
			return nil, notFound("no entity with ID %s", id)
		}
		return &e, unmarshal(doc, &e)
	}
	found, err := tx.getDoc(&e, "SELECT doc FROM entities WHERE id = $1", id)
	if err != nil {
		return nil, err
	}
	if !found || id == "" {
		return nil, notFound("no entity with ID %s", id)
	}
	return &e, nil
}

var _ choso.EntityPrefetcher = (*Tx)(nil)

// PrefetchEntities reads the entities of ids in one round trip; see
// choso.EntityPrefetcher. Under SERIALIZABLE the rows read early are read
// all the same: a concurrent writer of one of them fails one of the two
// transactions at commit, as it would have later.
func (tx *Tx) PrefetchEntities(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if tx.entities == nil {
		tx.entities = make(map[string][]byte, len(ids))
	}
	var want []string
	for _, id := range ids {
		if _, ok := tx.entities[id]; !ok && id != "" {
			want = append(want, id)
		}
	}
	if len(want) == 0 {
		return nil
	}
	// One statement per ID, the same as FindEntity's, sent in one round
	// trip with the writes queued before them. A single query over all of
	// them (id = ANY($1), or a join with unnest) was planned while the
	// table was new and small, and went on scanning the whole table as it
	// grew: 44 ms a push at 64,000 rows in bench/pg-sync.sh. An equality
	// on the primary key is an index probe whatever the statistics say.
	br, err := tx.sendAfterPending(func(b *pgx.Batch) {
		for _, id := range want {
			b.Queue("SELECT doc FROM entities WHERE id = $1", id)
		}
	})
	if err != nil {
		return err
	}
	defer br.Close()
	for _, id := range want {
		var doc []byte
		switch err := br.QueryRow().Scan(&doc); {
		case errors.Is(err, pgx.ErrNoRows):
			tx.entities[id] = nil
		case err != nil:
			return tx.fail(err)
		default:
			tx.entities[id] = doc
		}
	}
	return tx.fail(br.Close())
}

// PutEntity creates or replaces the entity of a client ULID; see choso.SyncTx.
func (tx *Tx) PutEntity(id string, e *choso.Entity) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if id == "" {
		return choso.Errorf(choso.EInvalid, "entity ID is empty")
	}
	doc, err := marshal(e)
	if err != nil {
		return err
	}
	tx.bulk.addEntity(id, doc)
	if tx.entities != nil {
		tx.entities[id] = doc
	}
	return nil
}

// AppendEvent stores e with the next server_seq, in commit order; see
// choso.SyncTx and the package doc.
func (tx *Tx) AppendEvent(e *choso.Event) (uint64, error) {
	if err := tx.canWrite(); err != nil {
		return 0, err
	}
	seq, err := tx.nextSeq("event")
	if err != nil {
		return 0, err
	}
	e.ServerSeq = seq
	doc, err := marshal(e)
	if err != nil {
		return 0, err
	}
	tx.bulk.addEvent(int64(seq), doc)
	return seq, nil
}

// ListEvents returns up to limit events with ServerSeq > after, in order;
// see choso.SyncTx. Limit 0 or less means DefaultListLimit, and it is capped
// at MaxScanLimit.
func (tx *Tx) ListEvents(after uint64, limit int) ([]*choso.Event, error) {
	a, ok := seqArg(after)
	if !ok {
		return nil, nil
	}
	return listDocs[choso.Event](tx, "SELECT doc FROM events WHERE server_seq > $1 ORDER BY server_seq LIMIT "+itoa(scanLimit(limit)), a)
}

// FindStallDay returns a stall's totals of one day; see choso.SyncTx.
func (tx *Tx) FindStallDay(stallID, date string) (*choso.StallDay, error) {
	var d choso.StallDay
	found, err := tx.getDoc(&d, "SELECT doc FROM stall_days WHERE stall_id = $1 AND date = $2", stallID, date)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("no totals of stall %s on %s", stallID, date)
	}
	return &d, nil
}

// PutStallDay creates or replaces a stall's totals of one day; see
// choso.SyncTx. It returns EInvalid for an empty stall ID or a malformed date.
func (tx *Tx) PutStallDay(d *choso.StallDay) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if err := checkKeyPart("stall ID", d.StallID); err != nil {
		return err
	}
	if err := checkDate(d.Date); err != nil {
		return err
	}
	doc, err := marshal(d)
	if err != nil {
		return err
	}
	tx.defer_(`INSERT INTO stall_days (stall_id, date, doc) VALUES ($1, $2, $3)
		ON CONFLICT (stall_id, date) DO UPDATE SET doc = excluded.doc`, d.StallID, d.Date, doc)
	return nil
}

// ListStallDays returns a stall's days from (inclusive) to (inclusive, ""
// for no end), by date; see choso.SyncTx.
func (tx *Tx) ListStallDays(stallID, from, to string) ([]*choso.StallDay, error) {
	if to == "" {
		return listDocs[choso.StallDay](tx, "SELECT doc FROM stall_days WHERE stall_id = $1 AND date >= $2 ORDER BY date", stallID, from)
	}
	return listDocs[choso.StallDay](tx, "SELECT doc FROM stall_days WHERE stall_id = $1 AND date >= $2 AND date <= $3 ORDER BY date",
		stallID, from, to)
}

// FindDeviceDay returns a device's tally of one day; see choso.SyncTx.
func (tx *Tx) FindDeviceDay(deviceID, date string) (*choso.DeviceDay, error) {
	var d choso.DeviceDay
	found, err := tx.getDoc(&d, "SELECT doc FROM device_days WHERE device_id = $1 AND date = $2", deviceID, date)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("no tally of device %s on %s", deviceID, date)
	}
	return &d, nil
}

// PutDeviceDay creates or replaces a device's tally of one day; see
// choso.SyncTx.
func (tx *Tx) PutDeviceDay(d *choso.DeviceDay) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if err := checkKeyPart("device ID", d.DeviceID); err != nil {
		return err
	}
	if err := checkDate(d.Date); err != nil {
		return err
	}
	doc, err := marshal(d)
	if err != nil {
		return err
	}
	tx.defer_(`INSERT INTO device_days (device_id, date, doc) VALUES ($1, $2, $3)
		ON CONFLICT (device_id, date) DO UPDATE SET doc = excluded.doc`, d.DeviceID, d.Date, doc)
	return nil
}

// AppendChange stores c with the next change_seq, in commit order, and sets
// c.ChangeSeq and c.Day.Revision to it; see choso.SyncTx and the package doc.
func (tx *Tx) AppendChange(c *choso.Change) (uint64, error) {
	if err := tx.canWrite(); err != nil {
		return 0, err
	}
	seq, err := tx.nextSeq("change")
	if err != nil {
		return 0, err
	}
	c.ChangeSeq, c.Day.Revision = seq, seq
	doc, err := marshal(c)
	if err != nil {
		return 0, err
	}
	tx.defer_("INSERT INTO changes (change_seq, stall_id, date, doc) VALUES ($1, $2, $3, $4)",
		int64(seq), c.Day.StallID, c.Day.Date, doc)
	return seq, nil
}

// ListChanges returns up to limit changes with ChangeSeq > after, in order;
// see choso.SyncTx. Limit 0 or less means DefaultListLimit, and it is capped
// at MaxScanLimit.
func (tx *Tx) ListChanges(after uint64, limit int) ([]*choso.Change, error) {
	a, ok := seqArg(after)
	if !ok {
		return nil, nil
	}
	return listDocs[choso.Change](tx, "SELECT doc FROM changes WHERE change_seq > $1 ORDER BY change_seq LIMIT "+itoa(scanLimit(limit)), a)
}
