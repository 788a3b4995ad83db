package postgres

import (
	"time"

	"github.com/choso/choso"
)

// PutEnrollment creates or replaces the enrollment with e.CodeHash; see
// choso.EnrollmentTx. It returns EInvalid for an empty code hash.
func (tx *Tx) PutEnrollment(e *choso.Enrollment) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if len(e.CodeHash) == 0 {
		return choso.Errorf(choso.EInvalid, "enrollment code hash is empty")
	}
	doc, err := marshal(e)
	if err != nil {
		return err
	}
	_, err = tx.exec(`INSERT INTO enrollments (code_hash, expires_us, doc) VALUES ($1, $2, $3)
		ON CONFLICT (code_hash) DO UPDATE SET expires_us = excluded.expires_us, doc = excluded.doc`,
		e.CodeHash, e.ExpiresAt.UnixMicro(), doc)
	return err
}

// FindEnrollment returns the enrollment with codeHash; see choso.EnrollmentTx.
func (tx *Tx) FindEnrollment(codeHash []byte) (*choso.Enrollment, error) {
	var e choso.Enrollment
	found := false
	if len(codeHash) > 0 {
		var err error
		if found, err = tx.getDoc(&e, "SELECT doc FROM enrollments WHERE code_hash = $1", codeHash); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, notFound("no such enrollment code")
	}
	e.CodeHash = append([]byte(nil), codeHash...)
	return &e, nil
}

// DeleteExpiredEnrollments removes enrollments that expired before now,
// used or not; see choso.EnrollmentTx. The index is in microseconds, so the
// candidates it finds are checked at full precision before they go.
func (tx *Tx) DeleteExpiredEnrollments(now time.Time) (int, error) {
	if err := tx.canWrite(); err != nil {
		return 0, err
	}
	rows, err := tx.query("SELECT code_hash, doc FROM enrollments WHERE expires_us <= $1", now.UnixMicro())
	if err != nil {
		return 0, err
	}
	var doomed [][]byte
	for rows.Next() {
		var hash, doc []byte
		if err := rows.Scan(&hash, &doc); err != nil {
			rows.Close()
			return 0, tx.fail(err)
		}
		var e choso.Enrollment
		if err := unmarshal(doc, &e); err != nil {
			rows.Close()
			return 0, err
		}
		if e.ExpiresAt.Before(now) {
			doomed = append(doomed, hash)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, tx.fail(err)
	}
	if len(doomed) == 0 {
		return 0, nil
	}
	n, err := tx.exec("DELETE FROM enrollments WHERE code_hash = ANY($1)", doomed)
	return int(n), err
}
