package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/choso/choso"
)

var enrollmentTests = []testCase{
	{"Enrollment_Put_FindReturnsEveryField", testEnrollmentPutFind},
	{"Enrollment_Put_ReplacesTheEnrollment", testEnrollmentPutReplaces},
	{"Enrollment_Put_EmptyCodeHashInvalid", testEnrollmentPutEmptyHash},
	{"Enrollment_Find_MissingNotFound", testEnrollmentFindMissing},
	{"Enrollment_DeleteExpired_RemovesOnlyThoseExpiredBeforeNow", testEnrollmentDeleteExpired},
	{"Enrollment_WritesInView_Invalid", testEnrollmentViewRefusesWrites},
}

// newEnrollment returns an unused enrollment of a code made at created.
func newEnrollment(code, stallID string, created time.Time) *choso.Enrollment {
	return &choso.Enrollment{
		CodeHash: tokenHash(code), StallID: stallID, CreatedBy: lan.ID,
		CreatedAt: created, ExpiresAt: created.Add(choso.EnrollmentTTL),
	}
}

func putEnrollments(t *testing.T, s choso.Store, enrollments ...*choso.Enrollment) {
	t.Helper()
	update(t, s, func(tx choso.Tx) error {
		for _, e := range enrollments {
			c := *e
			if err := tx.PutEnrollment(&c); err != nil {
				return err
			}
		}
		return nil
	})
}

// wantEnrollments fails the test unless exactly the codes in want of all
// codes have an enrollment.
func wantEnrollments(t *testing.T, s choso.Store, all []string, want ...string) {
	t.Helper()
	alive := map[string]bool{}
	for _, code := range want {
		alive[code] = true
	}
	view(t, s, func(tx choso.Tx) error {
		for _, code := range all {
			_, err := tx.FindEnrollment(tokenHash(code))
			switch {
			case alive[code] && err != nil:
				t.Fatalf("FindEnrollment(%s): got %v, want the enrollment", code, err)
			case !alive[code]:
				wantCode(t, "FindEnrollment("+code+")", err, choso.ENotFound)
			}
		}
		return nil
	})
}

func testEnrollmentPutFind(t *testing.T, h Harness) {
	s := open(t, h)
	fresh := newEnrollment("7K3M9QXR2T4V", stallRau.ID, at(8, 0))
	used := newEnrollment("H8N2C5D7E9F1", stallBun.ID, at(7, 0))
	usedAt := at(7, 5)
	used.UsedAt, used.DeviceID = &usedAt, devBun.ID
	putEnrollments(t, s, fresh, used)
	view(t, s, func(tx choso.Tx) error {
		for _, want := range []*choso.Enrollment{fresh, used} {
			got, err := tx.FindEnrollment(want.CodeHash)
			if err != nil {
				t.Fatalf("FindEnrollment(%x): %v", want.CodeHash, err)
			}
			// CodeHash stays out of JSON; the store gives it back.
			wantEqual(t, "FindEnrollment", got, want)
		}
		return nil
	})
}

func testEnrollmentPutReplaces(t *testing.T, h Harness) {
	s := open(t, h)
	e := newEnrollment("7K3M9QXR2T4V", stallRau.ID, at(8, 0))
	putEnrollments(t, s, e)
	redeemed := *e
	usedAt := at(8, 4)
	redeemed.UsedAt, redeemed.DeviceID = &usedAt, devRau1.ID
	putEnrollments(t, s, &redeemed)
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindEnrollment(e.CodeHash)
		if err != nil {
			t.Fatalf("FindEnrollment: %v", err)
		}
		wantEqual(t, "FindEnrollment after replace", got, &redeemed)
		return nil
	})
}

func testEnrollmentPutEmptyHash(t *testing.T, h Harness) {
	s := open(t, h)
	for _, hash := range [][]byte{nil, {}} {
		e := newEnrollment("x", stallRau.ID, at(8, 0))
		e.CodeHash = hash
		err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.PutEnrollment(e) })
		wantCode(t, fmt.Sprintf("PutEnrollment(code hash %#v)", hash), err, choso.EInvalid)
	}
}

func testEnrollmentFindMissing(t *testing.T, h Harness) {
	s := open(t, h)
	putEnrollments(t, s, newEnrollment("7K3M9QXR2T4V", stallRau.ID, at(8, 0)))
	view(t, s, func(tx choso.Tx) error {
		for _, hash := range [][]byte{nil, {}, tokenHash("H8N2C5D7E9F1"), tokenHash("7K3M9QXR2T4V")[:16]} {
			_, err := tx.FindEnrollment(hash)
			wantCode(t, fmt.Sprintf("FindEnrollment(%x)", hash), err, choso.ENotFound)
		}
		return nil
	})
}

func testEnrollmentDeleteExpired(t *testing.T, h Harness) {
	s := open(t, h)
	now := at(12, 0)
	usedAt := now.Add(-20 * time.Minute)
	enrollments := []struct {
		code    string
		created time.Time
		used    bool
		expired bool
	}{
		{"FRESH0000000", now.Add(-time.Minute), false, false},
		{"EXPIRESNOW00", now.Add(-choso.EnrollmentTTL), false, false}, // expires at now, not before
		{"EXPIRED1NS00", now.Add(-choso.EnrollmentTTL - time.Nanosecond), false, true},
		{"USEDEXPIRED0", now.Add(-30 * time.Minute), true, true},
		{"USEDFRESH000", now.Add(-5 * time.Minute), true, false},
		{"YESTERDAY000", now.Add(-24 * time.Hour), false, true},
	}
	var all, alive []string
	wantDeleted := 0
	for _, en := range enrollments {
		e := newEnrollment(en.code, stallRau.ID, en.created)
		if en.used {
			e.UsedAt, e.DeviceID = &usedAt, devRau1.ID
		}
		putEnrollments(t, s, e)
		all = append(all, en.code)
		if en.expired {
			wantDeleted++
		} else {
			alive = append(alive, en.code)
		}
	}
	update(t, s, func(tx choso.Tx) error {
		n, err := tx.DeleteExpiredEnrollments(now)
		if err != nil || n != wantDeleted {
			t.Fatalf("DeleteExpiredEnrollments(%v): got %d, %v; want %d, nil", now, n, err, wantDeleted)
		}
		return nil
	})
	wantEnrollments(t, s, all, alive...)
	update(t, s, func(tx choso.Tx) error {
		if n, err := tx.DeleteExpiredEnrollments(now); err != nil || n != 0 {
			t.Fatalf("second DeleteExpiredEnrollments: got %d, %v; want 0, nil", n, err)
		}
		return nil
	})
}

func testEnrollmentViewRefusesWrites(t *testing.T, h Harness) {
	s := open(t, h)
	old := newEnrollment("YESTERDAY000", stallRau.ID, at(0, 0))
	putEnrollments(t, s, old)
	writes := []struct {
		name  string
		write func(choso.Tx) error
	}{
		{"PutEnrollment", func(tx choso.Tx) error { return tx.PutEnrollment(newEnrollment("NEW000000000", stallRau.ID, at(9, 0))) }},
		{"DeleteExpiredEnrollments", func(tx choso.Tx) error { _, err := tx.DeleteExpiredEnrollments(at(23, 0)); return err }},
	}
	for _, w := range writes {
		err := s.View(t.Context(), w.write)
		wantCode(t, w.name+" in View", err, choso.EInvalid)
	}
	wantEnrollments(t, s, []string{"YESTERDAY000", "NEW000000000"}, "YESTERDAY000")
}
