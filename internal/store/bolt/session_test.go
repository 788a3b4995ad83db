package bolt

import (
	"testing"

	"github.com/choso/choso"
)

func TestPutSession_UnusableKeyInvalid(t *testing.T) {
	db := MustOpenDB(t)
	tests := []struct {
		name string
		s    choso.Session
	}{
		{"empty token hash", choso.Session{UserID: "usr_lan"}},
		{"empty user ID", choso.Session{TokenHash: []byte{1, 2, 3}}},
		{"user ID with a slash", choso.Session{TokenHash: []byte{1, 2, 3}, UserID: "usr_a/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := txUpdate(db, func(tx choso.Tx) error { return tx.PutSession(&tt.s) })
			if got := choso.ErrorCode(err); got != choso.EInvalid {
				t.Fatalf("PutSession(%+v): got code %q (%v), want %q", tt.s, got, err, choso.EInvalid)
			}
		})
	}
}
