package bolt

import (
	"context"
	"testing"

	"github.com/choso/choso"
)

// txUpdate runs fn in a read-write transaction of db and returns its error.
func txUpdate(db *DB, fn func(tx choso.Tx) error) error {
	return db.Update(context.Background(), fn)
}

func TestPutRegion_MalformedRegionInvalid(t *testing.T) {
	db := MustOpenDB(t)
	if err := txUpdate(db, func(tx choso.Tx) error {
		return tx.PutRegion(&choso.Region{Code: "24", Name: "Tỉnh Bắc Ninh"})
	}); err != nil {
		t.Fatalf("PutRegion(24): %v", err)
	}
	tests := []struct {
		name string
		r    choso.Region
	}{
		{"code of three digits", choso.Region{Code: "240", Name: "Tỉnh Bắc Ninh"}},
		{"code with a slash", choso.Region{Code: "24/01", Name: "Phường Lạ", ParentCode: "24"}},
		{"empty name", choso.Region{Code: "07210", ParentCode: "24"}},
		{"province with a parent", choso.Region{Code: "01", Name: "Thành phố Hà Nội", ParentCode: "24"}},
		{"commune without a parent", choso.Region{Code: "07210", Name: "Phường Bắc Giang"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := txUpdate(db, func(tx choso.Tx) error { return tx.PutRegion(&tt.r) })
			if got := choso.ErrorCode(err); got != choso.EInvalid {
				t.Fatalf("PutRegion(%+v): got code %q (%v), want %q", tt.r, got, err, choso.EInvalid)
			}
		})
	}
}

func TestPutRegion_SetsLevelFromCode(t *testing.T) {
	db := MustOpenDB(t)
	var got *choso.Region
	err := txUpdate(db, func(tx choso.Tx) error {
		if err := tx.PutRegion(&choso.Region{Code: "24", Name: " Tỉnh Bắc Ninh ", Level: choso.LevelCommune}); err != nil {
			return err
		}
		var err error
		got, err = tx.FindRegion("24")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Level != choso.LevelProvince || got.Name != "Tỉnh Bắc Ninh" {
		t.Fatalf("stored region: got level %q name %q, want %q %q", got.Level, got.Name, choso.LevelProvince, "Tỉnh Bắc Ninh")
	}
}

func TestPrefixEnd(t *testing.T) {
	tests := []struct{ prefix, want []byte }{
		{[]byte("24/"), []byte("240")},
		{[]byte("a\xff"), []byte("b")},
		{[]byte("\xff\xff"), nil},
		{nil, nil},
	}
	for _, tt := range tests {
		if got := prefixEnd(tt.prefix); string(got) != string(tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("prefixEnd(%q): got %q, want %q", tt.prefix, got, tt.want)
		}
	}
}
