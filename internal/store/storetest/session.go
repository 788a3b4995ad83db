package storetest

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/choso/choso"
)

var sessionTests = []testCase{
	{"Session_Put_FindReturnsEveryField", testSessionPutFind},
	{"Session_Put_ReplacesTheSession", testSessionPutReplaces},
	{"Session_Find_MissingNotFound", testSessionFindMissing},
	{"Session_Delete_RemovesItAndAMissingOneIsNoError", testSessionDelete},
	{"Session_DeleteUserSessions_RemovesOnlyThatUsersSessions", testSessionDeleteUser},
	{"Session_DeleteUserSessions_FollowsASessionPutForAnotherUser", testSessionDeleteUserAfterMove},
	{"Session_DeleteExpiredSessions_RemovesIdleAndTooOldSessions", testSessionDeleteExpired},
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func newSession(token, userID string, created, lastSeen time.Time) *choso.Session {
	return &choso.Session{
		TokenHash: tokenHash(token), UserID: userID,
		CreatedAt: created, LastSeenAt: lastSeen, PasswordChangedAt: at(6, 0),
	}
}

func putSessions(t *testing.T, s choso.Store, sessions ...*choso.Session) {
	t.Helper()
	update(t, s, func(tx choso.Tx) error {
		for _, se := range sessions {
			c := *se
			if err := tx.PutSession(&c); err != nil {
				return err
			}
		}
		return nil
	})
}

// wantSessions fails the test unless exactly the sessions of tokens in want
// of all tokens exist.
func wantSessions(t *testing.T, s choso.Store, all []string, want ...string) {
	t.Helper()
	alive := map[string]bool{}
	for _, tok := range want {
		alive[tok] = true
	}
	view(t, s, func(tx choso.Tx) error {
		for _, tok := range all {
			_, err := tx.FindSession(tokenHash(tok))
			switch {
			case alive[tok] && err != nil:
				t.Fatalf("FindSession(%s): got %v, want the session", tok, err)
			case !alive[tok]:
				wantCode(t, "FindSession("+tok+")", err, choso.ENotFound)
			}
		}
		return nil
	})
}

func testSessionPutFind(t *testing.T, h Harness) {
	s := open(t, h)
	want := newSession("tok-lan-1", lan.ID, at(8, 0), at(8, 10))
	putSessions(t, s, want)
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindSession(tokenHash("tok-lan-1"))
		if err != nil {
			t.Fatalf("FindSession: %v", err)
		}
		// TokenHash and PasswordChangedAt stay out of JSON; the store keeps them.
		wantEqual(t, "FindSession", got, want)
		return nil
	})
}

func testSessionPutReplaces(t *testing.T, h Harness) {
	s := open(t, h)
	first := newSession("tok-lan-1", lan.ID, at(8, 0), at(8, 10))
	putSessions(t, s, first)
	seen := *first
	seen.LastSeenAt = at(8, 35)
	putSessions(t, s, &seen)
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindSession(first.TokenHash)
		if err != nil {
			t.Fatalf("FindSession: %v", err)
		}
		wantEqual(t, "FindSession after replace", got, &seen)
		return nil
	})
}

func testSessionFindMissing(t *testing.T, h Harness) {
	s := open(t, h)
	putSessions(t, s, newSession("tok-lan-1", lan.ID, at(8, 0), at(8, 10)))
	view(t, s, func(tx choso.Tx) error {
		for _, hash := range [][]byte{nil, {}, tokenHash("tok-lan-2"), tokenHash("tok-lan-1")[:16]} {
			_, err := tx.FindSession(hash)
			wantCode(t, "FindSession(unknown hash)", err, choso.ENotFound)
		}
		return nil
	})
}

func testSessionDelete(t *testing.T, h Harness) {
	s := open(t, h)
	all := []string{"tok-lan-1", "tok-lan-2"}
	putSessions(t, s,
		newSession(all[0], lan.ID, at(8, 0), at(8, 10)),
		newSession(all[1], lan.ID, at(9, 0), at(9, 10)))
	update(t, s, func(tx choso.Tx) error { return tx.DeleteSession(tokenHash(all[0])) })
	wantSessions(t, s, all, all[1])
	update(t, s, func(tx choso.Tx) error { return tx.DeleteSession(tokenHash(all[0])) })
	update(t, s, func(tx choso.Tx) error { return tx.DeleteSession(tokenHash("never-issued")) })
	wantSessions(t, s, all, all[1])
	// The deleted session no longer counts as the user's.
	update(t, s, func(tx choso.Tx) error {
		n, err := tx.DeleteUserSessions(lan.ID)
		if err != nil || n != 1 {
			t.Fatalf("DeleteUserSessions after DeleteSession = %d, %v; want 1, nil", n, err)
		}
		return nil
	})
}

func testSessionDeleteUser(t *testing.T, h Harness) {
	s := open(t, h)
	all := []string{"tok-lan-1", "tok-lan-2", "tok-lan-3", "tok-minh-1", "tok-admin-1"}
	putSessions(t, s,
		newSession(all[0], lan.ID, at(8, 0), at(8, 10)),
		newSession(all[1], lan.ID, at(9, 0), at(9, 10)),
		newSession(all[2], lan.ID, at(10, 0), at(10, 10)),
		newSession(all[3], minh.ID, at(8, 0), at(8, 10)),
		newSession(all[4], admin.ID, at(8, 0), at(8, 10)))
	tests := []struct {
		userID string
		want   int
		alive  []string
	}{
		{lan.ID, 3, all[3:]},
		{lan.ID, 0, all[3:]},
		{"usr_ghost", 0, all[3:]},
		{"", 0, all[3:]},
		{minh.ID, 1, all[4:]},
	}
	for _, tt := range tests {
		update(t, s, func(tx choso.Tx) error {
			n, err := tx.DeleteUserSessions(tt.userID)
			if err != nil || n != tt.want {
				t.Fatalf("DeleteUserSessions(%q) = %d, %v; want %d, nil", tt.userID, n, err, tt.want)
			}
			return nil
		})
		wantSessions(t, s, all, tt.alive...)
	}
}

func testSessionDeleteUserAfterMove(t *testing.T, h Harness) {
	s := open(t, h)
	putSessions(t, s, newSession("tok-1", lan.ID, at(8, 0), at(8, 10)))
	putSessions(t, s, newSession("tok-1", minh.ID, at(8, 0), at(8, 10)))
	update(t, s, func(tx choso.Tx) error {
		if n, err := tx.DeleteUserSessions(lan.ID); err != nil || n != 0 {
			t.Fatalf("DeleteUserSessions(old user) = %d, %v; want 0, nil", n, err)
		}
		if n, err := tx.DeleteUserSessions(minh.ID); err != nil || n != 1 {
			t.Fatalf("DeleteUserSessions(new user) = %d, %v; want 1, nil", n, err)
		}
		return nil
	})
	wantSessions(t, s, []string{"tok-1"})
}

func testSessionDeleteExpired(t *testing.T, h Harness) {
	s := open(t, h)
	now := at(20, 0)
	sessions := []struct {
		token   string
		created time.Time
		seen    time.Time
		expired bool
	}{
		{"fresh", now.Add(-time.Hour), now.Add(-time.Minute), false},
		{"idle-exactly-30m", now.Add(-time.Hour), now.Add(-choso.SessionIdleTimeout), false},
		{"idle-31m", now.Add(-time.Hour), now.Add(-31 * time.Minute), true},
		{"busy-but-13h-old", now.Add(-13 * time.Hour), now.Add(-time.Minute), true},
		{"busy-exactly-12h-old", now.Add(-choso.SessionAbsoluteTimeout), now, false},
		{"from-yesterday", now.Add(-30 * time.Hour), now.Add(-25 * time.Hour), true},
	}
	var all, alive []string
	wantDeleted := 0
	for i, se := range sessions {
		user := lan.ID
		if i%2 == 1 {
			user = minh.ID
		}
		putSessions(t, s, newSession(se.token, user, se.created, se.seen))
		all = append(all, se.token)
		if se.expired {
			wantDeleted++
		} else {
			alive = append(alive, se.token)
		}
	}
	update(t, s, func(tx choso.Tx) error {
		n, err := tx.DeleteExpiredSessions(now)
		if err != nil || n != wantDeleted {
			t.Fatalf("DeleteExpiredSessions(%v) = %d, %v; want %d, nil", now, n, err, wantDeleted)
		}
		return nil
	})
	wantSessions(t, s, all, alive...)
	update(t, s, func(tx choso.Tx) error {
		if n, err := tx.DeleteExpiredSessions(now); err != nil || n != 0 {
			t.Fatalf("second DeleteExpiredSessions = %d, %v; want 0, nil", n, err)
		}
		// The expired sessions left the user index too.
		n, err := tx.DeleteUserSessions(lan.ID)
		if want := 2; err != nil || n != want { // fresh, busy-exactly-12h-old
			t.Fatalf("DeleteUserSessions(lan) after expiry = %d, %v; want %d, nil", n, err, want)
		}
		return nil
	})
}
