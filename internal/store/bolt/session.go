package bolt

import (
	"encoding/hex"
	"time"

	"github.com/choso/choso"
)

// sessionRecord is a session as stored. choso.Session keeps the password
// time out of JSON; the store must keep it. The token hash is the key.
type sessionRecord struct {
	choso.Session
	PasswordChangedAt time.Time `json:"password_changed_at"`
}

func (tx *Tx) getSession(tokenHash []byte) (*choso.Session, error) {
	var rec sessionRecord
	found, err := getJSON(tx.bucket(bucketSessions), tokenHash, &rec)
	if err != nil {
		return nil, err
	}
	if !found || len(tokenHash) == 0 {
		return nil, choso.Errorf(choso.ENotFound, "no such session")
	}
	s := rec.Session
	s.TokenHash = copyBytes(tokenHash)
	s.PasswordChangedAt = rec.PasswordChangedAt
	return &s, nil
}

// sessionUserKey is the session_users index key of a session.
func sessionUserKey(userID string, tokenHash []byte) []byte {
	return joinKey(userID, hex.EncodeToString(tokenHash))
}

// PutSession creates or replaces a session; see choso.SessionTx. It returns
// EInvalid for an empty token hash or user ID.
func (tx *Tx) PutSession(s *choso.Session) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if len(s.TokenHash) == 0 {
		return choso.Errorf(choso.EInvalid, "session token hash is empty")
	}
	if err := checkKeyPart("session user ID", s.UserID); err != nil {
		return err
	}
	index := tx.bucket(bucketSessionUsers)
	old, err := tx.getSession(s.TokenHash)
	switch {
	case err == nil && old.UserID != s.UserID:
		if err := index.Delete(sessionUserKey(old.UserID, s.TokenHash)); err != nil {
			return err
		}
	case err != nil && choso.ErrorCode(err) != choso.ENotFound:
		return err
	}
	rec := sessionRecord{Session: *s, PasswordChangedAt: s.PasswordChangedAt}
	rec.TokenHash = nil
	if err := putJSON(tx.bucket(bucketSessions), s.TokenHash, rec); err != nil {
		return err
	}
	return index.Put(sessionUserKey(s.UserID, s.TokenHash), nil)
}

// FindSession returns the session with tokenHash; see choso.SessionTx.
func (tx *Tx) FindSession(tokenHash []byte) (*choso.Session, error) {
	return tx.getSession(tokenHash)
}

// DeleteSession removes a session; see choso.SessionTx.
func (tx *Tx) DeleteSession(tokenHash []byte) error {
	if err := tx.writable(); err != nil {
		return err
	}
	s, err := tx.getSession(tokenHash)
	if choso.ErrorCode(err) == choso.ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	return tx.deleteSession(s)
}

func (tx *Tx) deleteSession(s *choso.Session) error {
	if err := tx.bucket(bucketSessionUsers).Delete(sessionUserKey(s.UserID, s.TokenHash)); err != nil {
		return err
	}
	return tx.bucket(bucketSessions).Delete(s.TokenHash)
}

// DeleteUserSessions removes every session of a user, found through the
// session_users index; see choso.SessionTx.
func (tx *Tx) DeleteUserSessions(userID string) (int, error) {
	if err := tx.writable(); err != nil {
		return 0, err
	}
	if checkKeyPart("user ID", userID) != nil {
		return 0, nil // no session can belong to it
	}
	prefix := joinKey(userID, "")
	var doomed [][]byte
	for k := range ascend(tx.bucket(bucketSessionUsers), prefix, nil) {
		hash, err := hex.DecodeString(string(k[len(prefix):]))
		if err != nil {
			return 0, choso.WrapError(choso.EInternal, "corrupt session index key", err)
		}
		doomed = append(doomed, hash)
	}
	// Deleting under a live cursor skips keys in bbolt, so delete after.
	for _, hash := range doomed {
		if err := tx.deleteSession(&choso.Session{UserID: userID, TokenHash: hash}); err != nil {
			return 0, err
		}
	}
	return len(doomed), nil
}

// DeleteExpiredSessions removes the sessions Expired at now; see
// choso.SessionTx. It reads every session: sessions are few (one per
// signed-in volunteer or official), and their idle deadline moves on every
// request, so an expiry index would be rewritten as often as it is read.
func (tx *Tx) DeleteExpiredSessions(now time.Time) (int, error) {
	if err := tx.writable(); err != nil {
		return 0, err
	}
	var doomed []*choso.Session
	for k, v := range ascend(tx.bucket(bucketSessions), nil, nil) {
		var rec sessionRecord
		if err := jsonUnmarshal(v, &rec); err != nil {
			return 0, err
		}
		if rec.Expired(now) {
			s := rec.Session
			s.TokenHash = copyBytes(k)
			doomed = append(doomed, &s)
		}
	}
	for _, s := range doomed {
		if err := tx.deleteSession(s); err != nil {
			return 0, err
		}
	}
	return len(doomed), nil
}
