package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/choso/choso"
	"github.com/jackc/pgx/v5"
)

// Tx is one PostgreSQL transaction seen through choso.Tx. Each noun adds its
// methods in its own file.
type Tx struct {
	tx       pgx.Tx
	ctx      context.Context
	writable bool
	db       *DB

	sequenced bool             // holds the sequencer lock (sequence.go)
	seqs      map[string]int64 // the counters' values, read once under the lock and written back at commit
	retryable error            // a statement failed with a serialization failure or deadlock

	// pending holds writes whose outcome nothing waits for (appended
	// events, entities, day totals …). They go to the server in one round
	// trip, before the next statement that reads or the commit, instead of
	// one each: a push of 50 events went from 266 round trips to about 110.
	// Only writes that cannot fail for a reason of the caller's go here, so
	// an error surfacing late still means the transaction must fail.
	pending *pgx.Batch
	bulk    bulkRows // rows held for one statement a table (bulk.go), sent with pending

	// entities holds the entity docs PrefetchEntities read and PutEntity
	// wrote since, by client ID; a nil doc is an ID known to be absent.
	entities map[string][]byte
	// devices holds, by ID, the token hashes of the devices this
	// transaction read or wrote: they exist, and their token index rows
	// are these (device.go).
	devices map[string][][]byte
}

var _ choso.Tx = (*Tx)(nil)

// canWrite returns EInvalid in a read-only transaction.
func (tx *Tx) canWrite() error {
	if !tx.writable {
		return choso.Errorf(choso.EInvalid, "write in a read-only transaction")
	}
	return nil
}

// fail translates a statement's error. A serialization failure or deadlock
// aborts the whole transaction, so it is remembered: Update retries fn even
// if fn swallows the error.
func (tx *Tx) fail(err error) error {
	if err == nil {
		return nil
	}
	if isRetryable(err) && tx.retryable == nil {
		tx.retryable = err
		return choso.WrapError(choso.EUnavailable, "concurrent change; the transaction will be retried", err)
	}
	return translate(err)
}

// defer_ queues a write whose result nothing waits for; see Tx.pending.
func (tx *Tx) defer_(sql string, args ...any) {
	if tx.pending == nil {
		tx.pending = &pgx.Batch{}
	}
	tx.pending.Queue(sql, args...)
}

// flush sends the pending writes in one round trip.
func (tx *Tx) flush() error {
	if (tx.pending == nil || tx.pending.Len() == 0) && tx.bulk.empty() {
		return nil
	}
	br, err := tx.sendAfterPending(func(*pgx.Batch) {})
	if err != nil {
		return err
	}
	return tx.fail(br.Close())
}

// sendAfterPending sends the pending writes and the statements queue adds
// after them in one round trip, and returns the results positioned at the
// first added statement. The caller reads those and closes the results.
func (tx *Tx) sendAfterPending(queue func(*pgx.Batch)) (pgx.BatchResults, error) {
	b := tx.pending
	if b == nil {
		b = &pgx.Batch{}
	}
	tx.pending = nil
	tx.bulk.queue(b)
	queued := b.Len()
	queue(b)
	br := tx.tx.SendBatch(tx.ctx, b)
	for range queued {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, tx.fail(err)
		}
	}
	return br, nil
}

// query flushes the pending writes and runs a query.
func (tx *Tx) query(sql string, args ...any) (pgx.Rows, error) {
	if err := tx.flush(); err != nil {
		return nil, err
	}
	rows, err := tx.tx.Query(tx.ctx, sql, args...)
	if err != nil {
		return nil, tx.fail(err)
	}
	return rows, nil
}

// exec runs a statement and returns how many rows it touched.
func (tx *Tx) exec(sql string, args ...any) (int64, error) {
	if err := tx.flush(); err != nil {
		return 0, err
	}
	tag, err := tx.tx.Exec(tx.ctx, sql, args...)
	if err != nil {
		return 0, tx.fail(err)
	}
	return tag.RowsAffected(), nil
}

// scanRow runs a query of one row into dest and reports whether there was one.
func (tx *Tx) scanRow(sql string, args []any, dest ...any) (bool, error) {
	if err := tx.flush(); err != nil {
		return false, err
	}
	err := tx.tx.QueryRow(tx.ctx, sql, args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, tx.fail(err)
	}
	return true, nil
}

// getDoc decodes the doc column of the one row sql selects into v and
// reports whether there was a row.
func (tx *Tx) getDoc(v any, sql string, args ...any) (bool, error) {
	var doc []byte
	found, err := tx.scanRow(sql, args, &doc)
	if err != nil || !found {
		return found, err
	}
	return true, unmarshal(doc, v)
}

// listDocs decodes the doc column of every row sql selects, in order.
func listDocs[T any](tx *Tx, sql string, args ...any) ([]*T, error) {
	rows, err := tx.query(sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []*T
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, tx.fail(err)
		}
		v := new(T)
		if err := unmarshal(doc, v); err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	if err := rows.Err(); err != nil {
		return nil, tx.fail(err)
	}
	return list, nil
}

// listStrings runs a SELECT of one text column and returns its values.
func (tx *Tx) listStrings(sql string, args ...any) ([]string, error) {
	rows, err := tx.query(sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, tx.fail(err)
		}
		list = append(list, v)
	}
	return list, tx.fail(rows.Err())
}

// count runs a SELECT count(*).
func (tx *Tx) count(sql string, args ...any) (int, error) {
	var n int
	_, err := tx.scanRow(sql, args, &n)
	return n, err
}

// marshal encodes a record for a doc column.
func marshal(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, choso.WrapError(choso.EInternal, fmt.Sprintf("encode %T", v), err)
	}
	return data, nil
}

// unmarshal decodes a doc column; a doc that does not decode is EInternal,
// since only this package writes them.
func unmarshal(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return choso.WrapError(choso.EInternal, "corrupt stored value", err)
	}
	return nil
}

// notFound is an ENotFound error.
func notFound(format string, args ...any) error {
	return choso.Errorf(choso.ENotFound, format, args...)
}

// filterPage returns up to limit records that keep accepts, for filters
// only Go can apply (the root package's diacritics-blind text match). It
// reads in keyset pages of limit rows: where is a condition on $1, the key
// (key) must be greater than, and $2… (args); the rows come back in key
// order. Reading page by page matters: a query that is abandoned halfway
// still sends every row it selected.
func filterPage[T any](tx *Tx, key, where string, after string, args []any, limit int, keep func(*T) bool) ([]*T, error) {
	sql := "SELECT " + key + ", doc FROM " + where + " ORDER BY " + key + " LIMIT " + itoa(limit)
	var list []*T
	for {
		rows, err := tx.query(sql, append([]any{after}, args...)...)
		if err != nil {
			return nil, err
		}
		n := 0
		for rows.Next() {
			var doc []byte
			if err := rows.Scan(&after, &doc); err != nil {
				rows.Close()
				return nil, tx.fail(err)
			}
			n++
			v := new(T)
			if err := unmarshal(doc, v); err != nil {
				rows.Close()
				return nil, err
			}
			if keep(v) && len(list) < limit {
				list = append(list, v)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, tx.fail(err)
		}
		if len(list) == limit || n < limit {
			return list, nil
		}
	}
}

// nonNil returns s, or an empty slice for nil, so that = ANY($n) gets an
// empty array rather than NULL.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
