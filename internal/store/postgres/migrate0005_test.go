package postgres_test

import (
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/postgres"
	"github.com/choso/choso/internal/store/postgres/pgtest"
)

// Migration 0005 gives every stall stored before it the registration time
// its doc holds, and a node of the release before, inserting stalls
// without the column during a rolling upgrade, gets the time of its
// insert: the reports count either by its registration day.
func TestMigration0005_StallsKeepTheirRegistrationTime(t *testing.T) {
	url := pgtest.NewDatabase(t)
	old := releaseBefore(t, url, 5)
	insert := func(id, code, created string) error {
		_, err := old.Exec(t.Context(), `INSERT INTO stalls (id, market_id, code, phone, bin, account, doc) VALUES ($1, 'mkt_1', $2, '', '', '', $3)`,
			id, code, []byte(`{"id":"`+id+`","market_id":"mkt_1","code":"`+code+`","created_at":"`+created+`"}`))
		return err
	}
	if err := insert("stl_before", "A-01", "2026-03-04T05:06:07.891234+07:00"); err != nil {
		t.Fatal(err)
	}
	db, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	if err := insert("stl_during", "A-02", "2026-11-27T01:02:03Z"); err != nil {
		t.Fatalf("the release before inserts a stall after the migration: %v", err)
	}
	end := time.Now()
	var refs []choso.StallRef
	if err := db.View(t.Context(), func(tx choso.Tx) error {
		refs, err = tx.ListStallRefs("mkt_1", "", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(refs) != 2 {
		t.Fatalf("refs: %+v, want both stalls", refs)
	}
	if want := time.Date(2026, 3, 3, 22, 6, 7, 891_234_000, time.UTC); !refs[0].CreatedAt.Equal(want) {
		t.Errorf("a stall stored before the migration: registered %v, want its doc's %v", refs[0].CreatedAt, want)
	}
	// The database's clock is this machine's: the time of the insert.
	if got := refs[1].CreatedAt; got.Before(start.Add(-time.Second)) || got.After(end.Add(time.Second)) {
		t.Errorf("a stall the release before inserted at %v: registered %v", start, got)
	}
}
