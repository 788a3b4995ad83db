package postgres_test

import (
	"testing"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/postgres"
	"github.com/choso/choso/internal/store/postgres/pgtest"
)

// During a rolling upgrade a node of the release before migration 0004
// keeps running beside the node that migrated: its payment references
// still go into and come out of sale_refs.
func TestMigration0004_NodeOfTheReleaseBefore_KeepsItsRefs(t *testing.T) {
	url := pgtest.NewDatabase(t)
	old := releaseBefore(t, url, 4) // the old node's session, its statements cached as pgx caches them
	put := func(ref, sale string) error {
		_, err := old.Exec(t.Context(), "INSERT INTO sale_refs (ref, sale_id) VALUES ($1, $2) ON CONFLICT (ref) DO UPDATE SET sale_id = excluded.sale_id", ref, sale)
		return err
	}
	find := func(ref string) (string, error) {
		var id string
		err := old.QueryRow(t.Context(), "SELECT sale_id FROM sale_refs WHERE ref = $1", ref).Scan(&id)
		return id, err
	}
	if err := put("CS1234ABCD", "01JSALE0000000000000000001"); err != nil {
		t.Fatal(err)
	}
	if id, err := find("CS1234ABCD"); err != nil || id != "01JSALE0000000000000000001" {
		t.Fatalf("before: %q, %v", id, err)
	}
	db, err := postgres.Open(t.Context(), url, postgres.Options{}) // the first new node migrates
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := put("CS5678EFGH", "01JSALE0000000000000000002"); err != nil {
		t.Errorf("old node's PutSaleRef after the migration: %v", err)
	}
	if id, err := find("CS1234ABCD"); err != nil || id != "01JSALE0000000000000000001" {
		t.Errorf("old node's FindSaleByRef after the migration: %q, %v", id, err)
	}
	// And the two releases see each other's references; one holding a
	// NUL byte, which the old release could not store, the new one keeps.
	err = db.Update(t.Context(), func(tx choso.Tx) error {
		if err := tx.PutSaleRef("CS9999WXYZ", "01JSALE0000000000000000003"); err != nil {
			return err
		}
		return tx.PutSaleRef("CS\x00NUL", "01JSALE0000000000000000004")
	})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := find("CS9999WXYZ"); err != nil || id != "01JSALE0000000000000000003" {
		t.Errorf("old node's FindSaleByRef of a new node's reference: %q, %v", id, err)
	}
	err = db.View(t.Context(), func(tx choso.Tx) error {
		for ref, want := range map[string]string{"CS5678EFGH": "01JSALE0000000000000000002", "CS\x00NUL": "01JSALE0000000000000000004"} {
			if id, err := tx.FindSaleByRef(ref); err != nil || id != want {
				t.Errorf("FindSaleByRef(%q): %q, %v; want %s", ref, id, err, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
