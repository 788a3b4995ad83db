package postgres

import "github.com/choso/choso"

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
	if err := tx.lockSequencer(); err != nil {
		return 0, err
	}
	if tx.seqs == nil {
		rows, err := tx.query("SELECT name, value FROM seqs FOR UPDATE")
		if err != nil {
			return 0, err
		}
		seqs := map[string]int64{}
		for rows.Next() {
			var n string
			var v int64
			if err := rows.Scan(&n, &v); err != nil {
				rows.Close()
				return 0, tx.fail(err)
			}
			seqs[n] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, tx.fail(err)
		}
		tx.seqs = seqs
	}
	v, ok := tx.seqs[name]
	if !ok {
		return 0, choso.Errorf(choso.EInternal, "no counter %q in seqs", name)
	}
	v++
	tx.seqs[name] = v
	return uint64(v), nil
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
