package choso

import (
	"strings"
	"time"
)

// User is a person who signs in: an admin, a volunteer or an official.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Role     Role   `json:"role"`
	// Scope lists the region codes the user works in: communes for a
	// volunteer, communes or provinces for an official, none for an admin.
	Scope []string `json:"scope"`
	// PasswordHash is an argon2id PHC string. It never leaves the server.
	PasswordHash      string    `json:"-"`
	PasswordChangedAt time.Time `json:"password_changed_at"`
	Disabled          bool      `json:"disabled"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// Principal returns the principal a session of u acts as.
func (u *User) Principal() *Principal {
	return &Principal{UserID: u.ID, Username: u.Username, Role: u.Role, Scope: append([]string(nil), u.Scope...)}
}

// NormalizeUsername returns the form usernames are stored and compared in.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Validate checks a user's own fields. That scope codes name real regions
// is checked where users are stored.
func (u *User) Validate() error {
	u.Username = NormalizeUsername(u.Username)
	if n := len(u.Username); n < 3 || n > 32 {
		return Errorf(EInvalid, "username must be 3–32 characters")
	}
	for _, r := range u.Username {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return Errorf(EInvalid, "username may hold only a–z, 0–9, '.', '_' and '-'")
		}
	}
	if !u.Role.Valid() {
		return Errorf(EInvalid, "role must be admin, volunteer or official")
	}
	seen := map[string]bool{}
	scope := u.Scope[:0:0]
	for _, c := range u.Scope {
		c = strings.TrimSpace(c)
		if LevelOf(c) == "" {
			return Errorf(EInvalid, "scope %q: want a 5-digit commune or 2-digit province code", c)
		}
		if !seen[c] {
			seen[c] = true
			scope = append(scope, c)
		}
	}
	u.Scope = scope
	switch u.Role {
	case RoleAdmin:
		if len(u.Scope) > 0 {
			return Errorf(EInvalid, "an admin's scope is everything; leave scope empty")
		}
	case RoleVolunteer:
		if len(u.Scope) == 0 {
			return Errorf(EInvalid, "a volunteer needs at least one commune in scope")
		}
		for _, c := range u.Scope {
			if LevelOf(c) != LevelCommune {
				return Errorf(EInvalid, "a volunteer's scope holds communes; %q is a province", c)
			}
		}
	case RoleOfficial:
		if len(u.Scope) == 0 {
			return Errorf(EInvalid, "an official needs at least one commune or province in scope")
		}
	}
	return nil
}

// Password rules: long enough to resist guessing, short enough to hash
// cheaply. Everything else (character classes) is left to the person.
const (
	MinPasswordLength = 10
	MaxPasswordLength = 128
)

// ValidatePassword checks a new password's length.
func ValidatePassword(pw string) error {
	if n := len([]rune(pw)); n < MinPasswordLength || len(pw) > MaxPasswordLength {
		return Errorf(EInvalid, "password must be %d–%d characters", MinPasswordLength, MaxPasswordLength)
	}
	return nil
}

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
