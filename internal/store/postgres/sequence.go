package postgres

// nextSeq advances one of the commit-ordered counters (server_seq,
// change_seq, the credit seq) and returns its new value. The first call in a
// transaction takes the sequencer lock, an EXCLUSIVE lock on the seqs table
// held until the transaction ends, so that the transaction holding N
// commits, and is visible, before any other can take N+1.
//
// Under SERIALIZABLE a transaction whose snapshot predates the last commit
// of a counter cannot advance it: PostgreSQL aborts it with a serialization
// failure once it holds the lock. Update then runs fn again, and this time
// takes the lock before its first statement (see DB.attempt), so its
// snapshot is newer than any counter commit and the second attempt cannot
// fail that way. A transaction that never appends never waits here.
func (tx *Tx) nextSeq(name string) (uint64, error) {
	if err := tx.canWrite(); err != nil {
		return 0, err
	}
	if err := tx.lockSequencer(); err != nil {
		return 0, err
	}
	var v int64
	if _, err := tx.scanRow("UPDATE seqs SET value = value + 1 WHERE name = $1 RETURNING value", []any{name}, &v); err != nil {
		return 0, err
	}
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
