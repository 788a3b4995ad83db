package choso

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// Session is a signed-in user's server-side session. The client holds an
// opaque token; the store keeps only its SHA-256.
type Session struct {
	TokenHash  []byte    `json:"-"`
	UserID     string    `json:"user_id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	// PasswordChangedAt is the user's at sign-in; a session from before a
	// password change is dead.
	PasswordChangedAt time.Time `json:"-"`
}

// Session lifetimes (DESIGN.md §3, RELIABILITY.md): 30 minutes idle, 12 hours
// at most.
const (
	SessionIdleTimeout     = 30 * time.Minute
	SessionAbsoluteTimeout = 12 * time.Hour
)

// Expired reports whether s has passed its idle or absolute limit at now.
func (s *Session) Expired(now time.Time) bool {
	return now.Sub(s.LastSeenAt) > SessionIdleTimeout || now.Sub(s.CreatedAt) > SessionAbsoluteTimeout
}

// ExpiresAt is when s ends if it stays idle.
func (s *Session) ExpiresAt() time.Time {
	idle := s.LastSeenAt.Add(SessionIdleTimeout)
	abs := s.CreatedAt.Add(SessionAbsoluteTimeout)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

// UserTx keeps users.
type UserTx interface {
	// CreateUser stores a new user. Returns EConflict if the username is taken.
	CreateUser(u *User) error
	// UpdateUser replaces a stored user. Returns ENotFound if there is none
	// with u.ID and EConflict if a changed username is taken.
	UpdateUser(u *User) error
	// FindUserByID returns ENotFound if there is no such user.
	FindUserByID(id string) (*User, error)
	// FindUserByUsername takes a normalized username; ENotFound if none.
	FindUserByUsername(username string) (*User, error)
	// ListUsers returns every user in username order.
	ListUsers() ([]*User, error)
	// CountUsers returns how many users exist.
	CountUsers() (int, error)
}

// SessionTx keeps sign-in sessions, keyed by the token's hash.
type SessionTx interface {
	// PutSession creates or replaces a session.
	PutSession(s *Session) error
	// FindSession returns ENotFound if no session has tokenHash.
	FindSession(tokenHash []byte) (*Session, error)
	// DeleteSession removes a session; removing a missing one is no error.
	DeleteSession(tokenHash []byte) error
	// DeleteUserSessions removes every session of a user and returns how many.
	DeleteUserSessions(userID string) (int, error)
	// DeleteExpiredSessions removes sessions Expired at now and returns how many.
	DeleteExpiredSessions(now time.Time) (int, error)
}

// lastSeenResolution is how stale a session's LastSeenAt may get before a
// request writes it again. Writing on every request would cost an fsync per
// request; a minute of slack on a 30-minute idle limit costs nothing.
const lastSeenResolution = time.Minute

// HashToken returns the SHA-256 of an opaque token, the form the store keeps.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// NewToken returns an opaque token of 256 random bits, URL-safe.
func NewToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Login checks a username and password and opens a session. Every failure
// is the same EUnauthorized, whether the user exists or not, and a missing
// user costs a hash too, so timing does not tell which.
func (r *Registry) Login(ctx context.Context, username, password string) (token string, s *Session, u *User, err error) {
	username = NormalizeUsername(username)
	err = r.Store.View(ctx, func(tx Tx) error {
		var err error
		u, err = tx.FindUserByUsername(username)
		if ErrorCode(err) == ENotFound {
			u, err = nil, nil
		}
		return err
	})
	if err != nil {
		return "", nil, nil, err
	}
	hash := dummyHash
	if u != nil {
		hash = u.PasswordHash
	}
	ok, err := r.Hasher.Verify(ctx, hash, password)
	if err != nil && u != nil {
		return "", nil, nil, err
	}
	if u == nil || !ok || u.Disabled {
		return "", nil, nil, Errorf(EUnauthorized, "wrong username or password")
	}
	now := r.now()
	token = NewToken()
	s = &Session{TokenHash: HashToken(token), UserID: u.ID, CreatedAt: now, LastSeenAt: now, PasswordChangedAt: u.PasswordChangedAt}
	err = r.Store.Update(ctx, func(tx Tx) error {
		if _, err := tx.DeleteExpiredSessions(now); err != nil {
			return err
		}
		return tx.PutSession(s)
	})
	if err != nil {
		return "", nil, nil, err
	}
	return token, s, u, nil
}

// dummyHash is verified against when the username does not exist, so a
// failed login takes as long either way. Its password is random and unknown.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$3rZGZ0RcTzxqX5cV8Qx2mHnZ3yYp5QK8QvY1b2k4w9M"

// Authenticate returns the principal of a session token, or EUnauthorized
// when the token is unknown, expired, from before a password change, or its
// user is disabled. It refreshes the idle timer at most once a minute.
func (r *Registry) Authenticate(ctx context.Context, token string) (*Principal, *Session, error) {
	if token == "" {
		return nil, nil, Errorf(EUnauthorized, "sign in first")
	}
	hash := HashToken(token)
	now := r.now()
	var (
		s     *Session
		u     *User
		stale bool
	)
	err := r.Store.View(ctx, func(tx Tx) error {
		var err error
		if s, err = tx.FindSession(hash); err != nil {
			return err
		}
		u, err = tx.FindUserByID(s.UserID)
		return err
	})
	switch {
	case ErrorCode(err) == ENotFound:
		return nil, nil, Errorf(EUnauthorized, "session expired or unknown; sign in again")
	case err != nil:
		return nil, nil, err
	case s.Expired(now), u.Disabled, !u.PasswordChangedAt.Equal(s.PasswordChangedAt):
		stale = true
	}
	if stale {
		r.Store.Update(ctx, func(tx Tx) error { return tx.DeleteSession(hash) })
		return nil, nil, Errorf(EUnauthorized, "session expired; sign in again")
	}
	if now.Sub(s.LastSeenAt) >= lastSeenResolution {
		s.LastSeenAt = now
		err := r.Store.Update(ctx, func(tx Tx) error {
			// Another request may have ended the session meanwhile.
			if _, err := tx.FindSession(hash); err != nil {
				return err
			}
			return tx.PutSession(s)
		})
		if err != nil {
			if ErrorCode(err) == ENotFound {
				return nil, nil, Errorf(EUnauthorized, "session ended; sign in again")
			}
			return nil, nil, err
		}
	}
	return u.Principal(), s, nil
}

// Logout ends the session of token. Ending an unknown session is no error.
func (r *Registry) Logout(ctx context.Context, token string) error {
	return r.Store.Update(ctx, func(tx Tx) error { return tx.DeleteSession(HashToken(token)) })
}
