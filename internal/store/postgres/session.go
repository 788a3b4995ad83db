package postgres

import (
	"time"

	"github.com/choso/choso"
)

// sessionRecord is a session as stored. choso.Session keeps the password
// time out of JSON; the store must keep it. The token hash is the key.
type sessionRecord struct {
	choso.Session
	PasswordChangedAt time.Time `json:"password_changed_at"`
}

// PutSession creates or replaces a session; see choso.SessionTx. It returns
// EInvalid for an empty token hash or user ID.
func (tx *Tx) PutSession(s *choso.Session) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if len(s.TokenHash) == 0 {
		return choso.Errorf(choso.EInvalid, "session token hash is empty")
	}
	if err := checkKeyPart("session user ID", s.UserID); err != nil {
		return err
	}
	rec := sessionRecord{Session: *s, PasswordChangedAt: s.PasswordChangedAt}
	rec.TokenHash = nil
	doc, err := marshal(rec)
	if err != nil {
		return err
	}
	_, err = tx.exec(`INSERT INTO sessions (token_hash, user_id, doc) VALUES ($1, $2, $3)
		ON CONFLICT (token_hash) DO UPDATE SET user_id = excluded.user_id, doc = excluded.doc`, s.TokenHash, s.UserID, doc)
	return err
}

// FindSession returns the session with tokenHash; see choso.SessionTx.
func (tx *Tx) FindSession(tokenHash []byte) (*choso.Session, error) {
	var rec sessionRecord
	found := false
	if len(tokenHash) > 0 {
		var err error
		if found, err = tx.getDoc(&rec, "SELECT doc FROM sessions WHERE token_hash = $1", tokenHash); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, notFound("no such session")
	}
	s := rec.Session
	s.TokenHash = append([]byte(nil), tokenHash...)
	s.PasswordChangedAt = rec.PasswordChangedAt
	return &s, nil
}

// DeleteSession removes a session; see choso.SessionTx.
func (tx *Tx) DeleteSession(tokenHash []byte) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	_, err := tx.exec("DELETE FROM sessions WHERE token_hash = $1", tokenHash)
	return err
}

// DeleteUserSessions removes every session of a user; see choso.SessionTx.
func (tx *Tx) DeleteUserSessions(userID string) (int, error) {
	if err := tx.canWrite(); err != nil {
		return 0, err
	}
	n, err := tx.exec("DELETE FROM sessions WHERE user_id = $1", userID)
	return int(n), err
}

// DeleteExpiredSessions removes the sessions Expired at now; see
// choso.SessionTx. Expiry is the root package's rule (idle and absolute
// limits, password changes), so it reads every session and asks it.
func (tx *Tx) DeleteExpiredSessions(now time.Time) (int, error) {
	if err := tx.canWrite(); err != nil {
		return 0, err
	}
	rows, err := tx.query("SELECT token_hash, doc FROM sessions")
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
		var rec sessionRecord
		if err := unmarshal(doc, &rec); err != nil {
			rows.Close()
			return 0, err
		}
		rec.Session.PasswordChangedAt = rec.PasswordChangedAt
		if rec.Expired(now) {
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
	n, err := tx.exec("DELETE FROM sessions WHERE token_hash = ANY($1)", doomed)
	return int(n), err
}
