package postgres

import (
	"github.com/choso/choso"
)

// ListDaysByDate returns up to limit stall-days of a business date, in stall
// ID order after the stall ID after; see choso.DayTx. Limit 0 or less means
// DefaultListLimit, and it is capped at MaxScanLimit.
func (tx *Tx) ListDaysByDate(date, after string, limit int) ([]*choso.StallDay, error) {
	if !isDate(date) {
		return nil, nil
	}
	return listDocs[choso.StallDay](tx, "SELECT doc FROM stall_days WHERE date = $1 AND stall_id > $2 ORDER BY stall_id LIMIT "+
		itoa(scanLimit(limit)), date, after)
}

// ListDayDates returns up to limit business dates that have stall-days, in
// order after the date after; see choso.DayTx.
func (tx *Tx) ListDayDates(after string, limit int) ([]string, error) {
	return tx.listStrings("SELECT DISTINCT date FROM stall_days WHERE date > $1 ORDER BY date LIMIT "+itoa(scanLimit(limit)), after)
}

// FindChangeAsOf returns the latest change of a stall-day with ChangeSeq ≤
// asOf; see choso.DayTx.
func (tx *Tx) FindChangeAsOf(stallID, date string, asOf uint64) (*choso.Change, error) {
	var c choso.Change
	found := false
	if asOf > 0 && checkKeyPart("stall ID", stallID) == nil && isDate(date) {
		a, ok := seqArg(asOf)
		if !ok {
			a = 1<<63 - 1
		}
		var err error
		found, err = tx.getDoc(&c, `SELECT doc FROM changes WHERE stall_id = $1 AND date = $2 AND change_seq <= $3
			ORDER BY change_seq DESC LIMIT 1`, stallID, date, a)
		if err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, notFound("no change of stall %s on %s at or before this seq", stallID, date)
	}
	return &c, nil
}

// LastChangeSeq returns the highest change seq stored, 0 for none; see
// choso.DayTx.
func (tx *Tx) LastChangeSeq() (uint64, error) {
	var seq int64
	_, err := tx.scanRow("SELECT coalesce(max(change_seq), 0) FROM changes", nil, &seq)
	return uint64(seq), err
}
