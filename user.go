package choso

import (
	"context"
	"crypto/rand"
	"strconv"
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

// MaxUsernameLength bounds a username, in bytes (they are ASCII).
const MaxUsernameLength = 32

// NormalizeUsername returns the form usernames are stored and compared in.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CanBeUsername reports whether s, normalized, is a name a user could
// have (Validate's rules). Sign-in answers any other as a wrong username
// before it keys a limit or reaches a store: a NUL or bytes that are not
// UTF-8 are text PostgreSQL cannot even look up.
func CanBeUsername(s string) bool {
	return len(s) >= 3 && len(s) <= MaxUsernameLength && strings.IndexFunc(s, notUsernameRune) < 0
}

func notUsernameRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
}

// Validate checks a user's own fields. That scope codes name real regions
// is checked where users are stored.
func (u *User) Validate() error {
	u.Username = NormalizeUsername(u.Username)
	if n := len(u.Username); n < 3 || n > MaxUsernameLength {
		return Errorf(EInvalid, "username must be 3–%d characters", MaxUsernameLength)
	}
	if strings.IndexFunc(u.Username, notUsernameRune) >= 0 {
		return Errorf(EInvalid, "username may hold only a–z, 0–9, '.', '_' and '-'")
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

// PasswordHasher hashes and verifies passwords. It is slow on purpose, so
// callers hash outside store transactions.
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, hash, password string) (bool, error)
}

// NewUser is what an admin gives to create a user. An empty Password makes
// the server generate one, returned once by CreateUser.
type NewUser struct {
	Username string
	Role     Role
	Scope    []string
	Password string
}

// CreateUser creates a user; admin only. It returns the user and the
// password, generated when none was given (shown once, never stored).
func (r *Registry) CreateUser(ctx context.Context, p *Principal, in NewUser) (*User, string, error) {
	if err := requireAdmin(p); err != nil {
		return nil, "", err
	}
	now := r.now()
	u := &User{ID: NewID(PrefixUser), Username: in.Username, Role: in.Role, Scope: in.Scope, CreatedAt: now, UpdatedAt: now, PasswordChangedAt: now}
	if err := u.Validate(); err != nil {
		return nil, "", err
	}
	password := in.Password
	if password == "" {
		password = GeneratePassword()
	}
	if err := ValidatePassword(password); err != nil {
		return nil, "", err
	}
	hash, err := r.Hasher.Hash(ctx, password)
	if err != nil {
		return nil, "", err
	}
	u.PasswordHash = hash
	err = r.Store.Update(ctx, func(tx Tx) error {
		if err := checkScopeExists(tx, u.Scope); err != nil {
			return err
		}
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		var cs changeSet
		cs.add("username", "", u.Username)
		cs.add("role", "", string(u.Role))
		cs.add("scope", "", strings.Join(u.Scope, ","))
		return audit(tx, p, now, "user.create", "user", u.ID, cs, "")
	})
	if err != nil {
		return nil, "", err
	}
	return u, password, nil
}

// checkScopeExists returns EInvalid when a scope code names no region.
func checkScopeExists(tx Tx, scope []string) error {
	for _, code := range scope {
		if _, err := tx.FindRegion(code); err != nil {
			if ErrorCode(err) == ENotFound {
				return Errorf(EInvalid, "scope: no region with code %s", code)
			}
			return err
		}
	}
	return nil
}

// UserPatch changes a user's role, scope or status; nil fields stay.
type UserPatch struct {
	Role     *Role
	Scope    *[]string
	Disabled *bool
}

// UpdateUser applies patch to a user; admin only. A change of role, scope
// or status ends the user's sessions, so it takes effect at once.
func (r *Registry) UpdateUser(ctx context.Context, p *Principal, id string, patch UserPatch) (*User, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	now := r.now()
	var u *User
	err := r.Store.Update(ctx, func(tx Tx) error {
		var err error
		if u, err = tx.FindUserByID(id); err != nil {
			return err
		}
		before := *u
		if patch.Role != nil {
			u.Role = *patch.Role
		}
		if patch.Scope != nil {
			u.Scope = *patch.Scope
		}
		if patch.Disabled != nil {
			u.Disabled = *patch.Disabled
		}
		if err := u.Validate(); err != nil {
			return err
		}
		if err := checkScopeExists(tx, u.Scope); err != nil {
			return err
		}
		if u.ID == p.UserID && (u.Role != RoleAdmin || u.Disabled) {
			return Errorf(EConflict, "an admin cannot demote or disable themselves; ask another admin")
		}
		var cs changeSet
		cs.add("role", string(before.Role), string(u.Role))
		cs.add("scope", strings.Join(before.Scope, ","), strings.Join(u.Scope, ","))
		cs.add("disabled", strconv.FormatBool(before.Disabled), strconv.FormatBool(u.Disabled))
		if len(cs) == 0 {
			return nil
		}
		u.UpdatedAt = now
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		if _, err := tx.DeleteUserSessions(u.ID); err != nil {
			return err
		}
		return audit(tx, p, now, "user.update", "user", u.ID, cs, "")
	})
	return u, err
}

// SetPassword sets a user's password and ends all their sessions. An admin
// may set anyone's; a user may set their own when they give the current one.
// An empty password generates one, which is returned.
func (r *Registry) SetPassword(ctx context.Context, p *Principal, id, current, password string) (string, error) {
	if err := requireUser(p); err != nil {
		return "", err
	}
	if !p.IsAdmin() && p.UserID != id {
		return "", Errorf(ENotFound, "no such user")
	}
	if password == "" {
		password = GeneratePassword()
	}
	if err := ValidatePassword(password); err != nil {
		return "", err
	}
	if !p.IsAdmin() {
		var u *User
		if err := r.Store.View(ctx, func(tx Tx) error {
			var err error
			u, err = tx.FindUserByID(id)
			return err
		}); err != nil {
			return "", err
		}
		ok, err := r.Hasher.Verify(ctx, u.PasswordHash, current)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", Errorf(EInvalid, "the current password is wrong")
		}
	}
	hash, err := r.Hasher.Hash(ctx, password)
	if err != nil {
		return "", err
	}
	now := r.now()
	err = r.Store.Update(ctx, func(tx Tx) error {
		u, err := tx.FindUserByID(id)
		if err != nil {
			return err
		}
		u.PasswordHash, u.PasswordChangedAt, u.UpdatedAt = hash, now, now
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		if _, err := tx.DeleteUserSessions(u.ID); err != nil {
			return err
		}
		return audit(tx, p, now, "user.password", "user", u.ID, nil, "password changed; sessions ended")
	})
	return password, err
}

// FindUserByUsername returns a user by name; admin only.
func (r *Registry) FindUserByUsername(ctx context.Context, p *Principal, username string) (*User, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	var u *User
	err := r.Store.View(ctx, func(tx Tx) error {
		var err error
		u, err = tx.FindUserByUsername(NormalizeUsername(username))
		return err
	})
	return u, err
}

// FindUser returns a user by ID: an admin sees anyone, others only themselves.
func (r *Registry) FindUser(ctx context.Context, p *Principal, id string) (*User, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	if !p.IsAdmin() && p.UserID != id {
		return nil, Errorf(ENotFound, "no such user")
	}
	var u *User
	err := r.Store.View(ctx, func(tx Tx) error {
		var err error
		u, err = tx.FindUserByID(id)
		return err
	})
	return u, err
}

// ListUsers returns every user; admin only.
func (r *Registry) ListUsers(ctx context.Context, p *Principal) ([]*User, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	var out []*User
	err := r.Store.View(ctx, func(tx Tx) error {
		var err error
		out, err = tx.ListUsers()
		return err
	})
	return out, err
}

// EnsureFirstAdmin creates the user "admin" with a generated password when
// the store has no users at all, in one transaction so two starts cannot
// both create one. It returns the password, or "" when users existed.
func (r *Registry) EnsureFirstAdmin(ctx context.Context) (string, error) {
	password := GeneratePassword()
	hash, err := r.Hasher.Hash(ctx, password)
	if err != nil {
		return "", err
	}
	now := r.now()
	created := false
	err = r.Store.Update(ctx, func(tx Tx) error {
		n, err := tx.CountUsers()
		if err != nil || n > 0 {
			return err
		}
		u := &User{ID: NewID(PrefixUser), Username: "admin", Role: RoleAdmin, PasswordHash: hash, PasswordChangedAt: now, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		created = true
		return audit(tx, SystemPrincipal("system"), now, "user.create", "user", u.ID, []FieldChange{{Field: "username", After: "admin"}, {Field: "role", After: "admin"}}, "first admin")
	})
	if err != nil || !created {
		return "", err
	}
	return password, nil
}

// GeneratePassword returns 16 random characters from an alphabet without
// look-alikes (no 0/O, 1/l/I): about 90 bits.
func GeneratePassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	const limit = 256 - 256%len(alphabet) // reject bytes past it: no modulo bias
	out := make([]byte, 0, 16)
	var buf [32]byte
	for len(out) < 16 {
		rand.Read(buf[:])
		for _, c := range buf {
			if int(c) < limit && len(out) < 16 {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
}
