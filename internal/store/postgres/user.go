package postgres

import (
	"github.com/choso/choso"
)

// userRecord is a user as stored. choso.User keeps its password hash out of
// JSON, so the API never shows it; the store must keep it, under its own tag.
type userRecord struct {
	choso.User
	PasswordHash string `json:"password_hash"`
}

func (rec *userRecord) user() *choso.User {
	u := rec.User
	u.PasswordHash = rec.PasswordHash
	return &u
}

func userDoc(u *choso.User) ([]byte, error) {
	return marshal(userRecord{User: *u, PasswordHash: u.PasswordHash})
}

// checkUsername refuses a username that lookups could never find.
func checkUsername(username string) error {
	if username == "" || username != choso.NormalizeUsername(username) {
		return choso.Errorf(choso.EInvalid, "username %q is not normalized", username)
	}
	return nil
}

func (tx *Tx) findUser(where string, arg string) (*choso.User, bool, error) {
	var rec userRecord
	found, err := tx.getDoc(&rec, "SELECT doc FROM users WHERE "+where+" = $1", arg)
	if err != nil || !found {
		return nil, false, err
	}
	return rec.user(), true, nil
}

// CreateUser stores a new user; see choso.UserTx. It also returns EConflict
// if the ID exists, and EInvalid for an empty ID or a username not in
// normalized form.
func (tx *Tx) CreateUser(u *choso.User) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if err := checkKeyPart("user ID", u.ID); err != nil {
		return err
	}
	if err := checkUsername(u.Username); err != nil {
		return err
	}
	if _, found, err := tx.findUser("id", u.ID); err != nil {
		return err
	} else if found {
		return choso.Errorf(choso.EConflict, "user %s already exists", u.ID)
	}
	if _, found, err := tx.findUser("username", u.Username); err != nil {
		return err
	} else if found {
		return choso.Errorf(choso.EConflict, "username %q is taken", u.Username)
	}
	doc, err := userDoc(u)
	if err != nil {
		return err
	}
	_, err = tx.exec("INSERT INTO users (id, username, doc) VALUES ($1, $2, $3)", u.ID, u.Username, doc)
	return err
}

// UpdateUser replaces a stored user; see choso.UserTx.
func (tx *Tx) UpdateUser(u *choso.User) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if err := checkUsername(u.Username); err != nil {
		return err
	}
	old, found, err := tx.findUser("id", u.ID)
	if err != nil {
		return err
	}
	if !found {
		return notFound("no user with ID %q", u.ID)
	}
	if old.Username != u.Username {
		if _, taken, err := tx.findUser("username", u.Username); err != nil {
			return err
		} else if taken {
			return choso.Errorf(choso.EConflict, "username %q is taken", u.Username)
		}
	}
	doc, err := userDoc(u)
	if err != nil {
		return err
	}
	_, err = tx.exec("UPDATE users SET username = $2, doc = $3 WHERE id = $1", u.ID, u.Username, doc)
	return err
}

// FindUserByID returns the user with id; see choso.UserTx.
func (tx *Tx) FindUserByID(id string) (*choso.User, error) {
	u, found, err := tx.findUser("id", id)
	if err == nil && !found {
		err = notFound("no user with ID %q", id)
	}
	return u, err
}

// FindUserByUsername returns the user with a normalized username; see
// choso.UserTx.
func (tx *Tx) FindUserByUsername(username string) (*choso.User, error) {
	u, found, err := tx.findUser("username", username)
	if err == nil && !found {
		err = notFound("no user named %q", username)
	}
	return u, err
}

// ListUsers returns every user in username order; see choso.UserTx.
func (tx *Tx) ListUsers() ([]*choso.User, error) {
	recs, err := listDocs[userRecord](tx, "SELECT doc FROM users ORDER BY username")
	if err != nil {
		return nil, err
	}
	list := make([]*choso.User, len(recs))
	for i, rec := range recs {
		list[i] = rec.user()
	}
	return list, nil
}

// CountUsers returns how many users exist; see choso.UserTx.
func (tx *Tx) CountUsers() (int, error) {
	return tx.count("SELECT count(*) FROM users")
}
