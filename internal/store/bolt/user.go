package bolt

import (
	"github.com/choso/choso"
)

// userRecord is a user as stored. choso.User keeps its password hash out of
// JSON, so the API never shows it; the store must keep it, under its own tag.
type userRecord struct {
	choso.User
	PasswordHash string `json:"password_hash"`
}

func (tx *Tx) getUser(id string) (*choso.User, error) {
	var rec userRecord
	found, err := getJSON(tx.bucket(bucketUsers), []byte(id), &rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, choso.Errorf(choso.ENotFound, "no user with ID %q", id)
	}
	u := rec.User
	u.PasswordHash = rec.PasswordHash
	return &u, nil
}

func (tx *Tx) putUser(u *choso.User) error {
	return putJSON(tx.bucket(bucketUsers), []byte(u.ID), userRecord{User: *u, PasswordHash: u.PasswordHash})
}

// checkUsername refuses a username that lookups could never find.
func checkUsername(username string) error {
	if username == "" || username != choso.NormalizeUsername(username) {
		return choso.Errorf(choso.EInvalid, "username %q is not normalized", username)
	}
	return nil
}

// CreateUser stores a new user; see choso.UserTx. It also returns EConflict
// if the ID exists, and EInvalid for an empty ID or a username not in
// normalized form.
func (tx *Tx) CreateUser(u *choso.User) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := checkKeyPart("user ID", u.ID); err != nil {
		return err
	}
	if err := checkUsername(u.Username); err != nil {
		return err
	}
	if tx.bucket(bucketUsers).Get([]byte(u.ID)) != nil {
		return choso.Errorf(choso.EConflict, "user %s already exists", u.ID)
	}
	names := tx.bucket(bucketUserNames)
	if names.Get([]byte(u.Username)) != nil {
		return choso.Errorf(choso.EConflict, "username %q is taken", u.Username)
	}
	if err := names.Put([]byte(u.Username), []byte(u.ID)); err != nil {
		return err
	}
	return tx.putUser(u)
}

// UpdateUser replaces a stored user, moving the username index when the
// username changes; see choso.UserTx.
func (tx *Tx) UpdateUser(u *choso.User) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := checkUsername(u.Username); err != nil {
		return err
	}
	old, err := tx.getUser(u.ID)
	if err != nil {
		return err
	}
	if old.Username != u.Username {
		names := tx.bucket(bucketUserNames)
		if names.Get([]byte(u.Username)) != nil {
			return choso.Errorf(choso.EConflict, "username %q is taken", u.Username)
		}
		if err := names.Delete([]byte(old.Username)); err != nil {
			return err
		}
		if err := names.Put([]byte(u.Username), []byte(u.ID)); err != nil {
			return err
		}
	}
	return tx.putUser(u)
}

// FindUserByID returns the user with id; see choso.UserTx.
func (tx *Tx) FindUserByID(id string) (*choso.User, error) {
	return tx.getUser(id)
}

// FindUserByUsername returns the user with a normalized username; see
// choso.UserTx.
func (tx *Tx) FindUserByUsername(username string) (*choso.User, error) {
	id := tx.bucket(bucketUserNames).Get([]byte(username))
	if id == nil {
		return nil, choso.Errorf(choso.ENotFound, "no user named %q", username)
	}
	return tx.getUser(string(id))
}

// ListUsers returns every user in username order, from the username index;
// see choso.UserTx.
func (tx *Tx) ListUsers() ([]*choso.User, error) {
	var list []*choso.User
	for name, id := range ascend(tx.bucket(bucketUserNames), nil, nil) {
		u, err := tx.getUser(string(id))
		if choso.ErrorCode(err) == choso.ENotFound {
			return nil, choso.Errorf(choso.EInternal, "username index names %q for %q, which is not stored", id, name)
		}
		if err != nil {
			return nil, err
		}
		list = append(list, u)
	}
	return list, nil
}

// CountUsers returns how many users exist; see choso.UserTx.
func (tx *Tx) CountUsers() (int, error) {
	return tx.bucket(bucketUsers).Stats().KeyN, nil
}
