package bolt

import (
	"testing"

	"github.com/choso/choso"
)

func TestCreateUser_UnusableKeyInvalid(t *testing.T) {
	db := MustOpenDB(t)
	tests := []struct {
		name string
		u    choso.User
	}{
		{"empty ID", choso.User{Username: "lan.nguyen", Role: choso.RoleAdmin}},
		{"ID with a slash", choso.User{ID: "usr_a/b", Username: "lan.nguyen", Role: choso.RoleAdmin}},
		{"empty username", choso.User{ID: "usr_lan", Role: choso.RoleAdmin}},
		{"username not normalized", choso.User{ID: "usr_lan", Username: " Lan.Nguyen", Role: choso.RoleAdmin}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := txUpdate(db, func(tx choso.Tx) error { return tx.CreateUser(&tt.u) })
			if got := choso.ErrorCode(err); got != choso.EInvalid {
				t.Fatalf("CreateUser(%+v): got code %q (%v), want %q", tt.u, got, err, choso.EInvalid)
			}
		})
	}
}
