package bolt

import (
	"time"

	"github.com/choso/choso"
)

// Enrollments are stored as JSON under their code hash, which is the key and
// so is not repeated in the value (choso.Enrollment keeps it out of JSON).

// PutEnrollment creates or replaces the enrollment with e.CodeHash; see
// choso.EnrollmentTx. It returns EInvalid for an empty code hash.
func (tx *Tx) PutEnrollment(e *choso.Enrollment) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if len(e.CodeHash) == 0 {
		return choso.Errorf(choso.EInvalid, "enrollment code hash is empty")
	}
	return putJSON(tx.bucket(bucketEnrollments), copyBytes(e.CodeHash), e)
}

// FindEnrollment returns the enrollment with codeHash; see choso.EnrollmentTx.
func (tx *Tx) FindEnrollment(codeHash []byte) (*choso.Enrollment, error) {
	var e choso.Enrollment
	found := false
	if len(codeHash) > 0 {
		var err error
		if found, err = getJSON(tx.bucket(bucketEnrollments), codeHash, &e); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, choso.Errorf(choso.ENotFound, "no such enrollment code")
	}
	e.CodeHash = copyBytes(codeHash)
	return &e, nil
}

// DeleteExpiredEnrollments removes the enrollments whose ExpiresAt is before
// now; see choso.EnrollmentTx. It reads every enrollment: codes live fifteen
// minutes and are swept often, so few are ever stored.
func (tx *Tx) DeleteExpiredEnrollments(now time.Time) (int, error) {
	if err := tx.writable(); err != nil {
		return 0, err
	}
	b := tx.bucket(bucketEnrollments)
	var doomed [][]byte
	for k, v := range ascend(b, nil, nil) {
		var e choso.Enrollment
		if err := jsonUnmarshal(v, &e); err != nil {
			return 0, err
		}
		if e.ExpiresAt.Before(now) {
			doomed = append(doomed, copyBytes(k))
		}
	}
	// Deleting under a live cursor skips keys in bbolt, so delete after.
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(doomed), nil
}
