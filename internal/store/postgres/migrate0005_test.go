package postgres_test

import (
	"encoding/json"
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

// A stall's doc is JSON, and a name may hold any character the registry's
// rules let through, a NUL among them (written \u0000), which jsonb
// refuses: migration 0005 reads each doc's registration time all the same,
// or no node of the new release could start on such a database. And it
// keeps the time on its day, as a node writing the column does.
func TestMigration0005_StallWhoseDocHoldsANUL(t *testing.T) {
	url := pgtest.NewDatabase(t)
	old := releaseBefore(t, url, 5)
	// The last instant of 4 March in Vietnam: kept on its day, to the
	// microsecond, as a node of the new release writes it (pgx truncates).
	created := time.Date(2026, 3, 4, 23, 59, 59, 999_999_900, time.FixedZone("ICT", 7*3600))
	stall := &choso.Stall{ID: "stl_nul", MarketID: "mkt_1", Code: "A-01", Name: "Rau\x00sạch", Category: "Rau \\u0000 củ",
		Vendor: choso.Vendor{Name: "Nguyễn Thị\x00Lan", Phone: "+84912345678"}, CreatedAt: created}
	doc, err := json.Marshal(stall) // as the release before's CreateStall wrote it
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(t.Context(), `INSERT INTO stalls (id, market_id, code, phone, bin, account, doc) VALUES ($1, $2, $3, $4, '', '', $5)`,
		stall.ID, stall.MarketID, stall.Code, stall.Vendor.Phone, doc); err != nil {
		t.Fatal(err)
	}
	db, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatalf("open (migration 0005) a database with a stall named %q: %v", stall.Name, err)
	}
	defer db.Close()
	var refs []choso.StallRef
	if err := db.View(t.Context(), func(tx choso.Tx) error {
		refs, err = tx.ListStallRefs(stall.MarketID, "", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if want := created.Truncate(time.Microsecond); len(refs) != 1 || !refs[0].CreatedAt.Equal(want) {
		t.Fatalf("refs: %+v, want the stall registered at %v", refs, want)
	}
}
