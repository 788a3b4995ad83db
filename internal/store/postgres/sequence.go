package postgres

import (
	"github.com/choso/choso"
	"github.com/jackc/pgx/v5"
)

// nextSeq advances one of the commit-ordered counters (server_seq,
// change_seq, the credit seq) and returns its new value. The first call in a
// transaction takes the sequencer lock, an EXCLUSIVE lock on the seqs table
// held until the transaction ends, so that the transaction holding N
// commits, and is visible, before any other can take N+1. It then reads the
// counters once, FOR UPDATE; later calls count in memory, and finish writes
// the counters back before the commit.
//
// Under SERIALIZABLE a transaction whose snapshot predates the last commit
// of a counter cannot lock its row: PostgreSQL aborts it with a
// serialization failure right there, before it numbered anything. Update
// then runs fn again, and this time takes the lock before its first
// statement (see DB.attempt), so its snapshot is newer than any counter
// commit and the second attempt cannot fail that way. A transaction that
// never appends never waits here.
func (tx *Tx) nextSeq(name string) (uint64, error) {
	if err := tx.canWrite(); err != nil {
		return 0, err
	}
	if tx.seqs == nil {
		if err := tx.lockAndReadSeqs(); err != nil {
			return 0, err
		}
	}
	v, ok := tx.seqs[name]
	if !ok {
		return 0, choso.Errorf(choso.EInternal, "no counter %q in seqs", name)
	}
	v++
	tx.seqs[name] = v
	return uint64(v), nil
}

// lockAndReadSeqs takes the sequencer lock, unless tx holds it, and reads
// the counters FOR UPDATE. The writes queued so far, the lock and the read
// go in one round trip: the lock is held from there to the commit, and
// every round trip in that span is one every other writer waits for.
func (tx *Tx) lockAndReadSeqs() error {
	lock := !tx.sequenced
	br, err := tx.sendAfterPending(func(b *pgx.Batch) {
		if lock {
			b.Queue("LOCK TABLE seqs IN EXCLUSIVE MODE")
		}
		b.Queue("SELECT name, value FROM seqs FOR UPDATE")
	})
	if err != nil {
		return err
	}
	defer br.Close()
	if lock {
		if _, err := br.Exec(); err != nil {
			return tx.fail(err)
		}
		tx.sequenced = true
	}
	rows, err := br.Query()
	if err != nil {
		return tx.fail(err)
	}
	seqs := map[string]int64{}
	for rows.Next() {
		var n string
		var v int64
		if err := rows.Scan(&n, &v); err != nil {
			rows.Close()
			return tx.fail(err)
		}
		seqs[n] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return tx.fail(err)
	}
	if err := br.Close(); err != nil {
		return tx.fail(err)
	}
	tx.seqs = seqs
	return nil
}

// lockSequencer takes the sequencer lock unless tx holds it.
func (tx *Tx) lockSequencer() error {
	if tx.sequenced {
		return nil
	}
	if _, err := tx.exec("LOCK TABLE seqs IN EXCLUSIVE MODE"); err != nil {
		return err
	}
	tx.sequenced = true
	return nil
}

// finish writes the counters back and sends the pending writes, before the
// commit.
func (tx *Tx) finish() error {
	for name, v := range tx.seqs {
		tx.defer_("UPDATE seqs SET value = $2 WHERE name = $1", name, v)
	}
	return tx.flush()
}
