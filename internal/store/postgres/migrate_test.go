package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/postgres"
	"github.com/choso/choso/internal/store/postgres/pgtest"
	"github.com/jackc/pgx/v5"
)

func TestOpen_NodesStartingTogetherMigrateOnce(t *testing.T) {
	url := pgtest.NewDatabase(t)
	const nodes = 4
	var wg sync.WaitGroup
	dbs := make([]*postgres.DB, nodes)
	errs := make([]error, nodes)
	for i := range nodes {
		wg.Go(func() { dbs[i], errs[i] = postgres.Open(t.Context(), url, postgres.Options{MaxConns: 2}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: Open: %v", i, err)
		}
		defer dbs[i].Close()
	}
	for i, db := range dbs {
		if v := db.Stats().SchemaVersion; v < 1 {
			t.Errorf("node %d: schema version %d, want ≥ 1", i, v)
		}
	}
	conn := connect(t, url)
	var applied, distinct int
	if err := conn.QueryRow(t.Context(), "SELECT count(*), count(DISTINCT version) FROM schema_migrations").Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied != distinct || applied != dbs[0].Stats().SchemaVersion {
		t.Fatalf("schema_migrations: got %d rows (%d versions), want each migration once (%d)", applied, distinct, dbs[0].Stats().SchemaVersion)
	}
	if problems := dbs[0].Check(t.Context()); len(problems) > 0 {
		t.Fatalf("Check after concurrent starts: %v", problems)
	}
}

func TestOpen_ReopenKeepsData(t *testing.T) {
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(t.Context(), url, postgres.Options{MaxConns: 1}) // migrating must not need a second connection
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(t.Context(), func(tx choso.Tx) error { return tx.SetMeta("k", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer db.Close()
	var v []byte
	if err := db.View(t.Context(), func(tx choso.Tx) error { v, err = tx.Meta("k"); return err }); err != nil || string(v) != "v" {
		t.Fatalf("Meta(k) after reopening: got %q, %v; want %q", v, err, "v")
	}
}

func TestOpen_NewerSchemaRefused(t *testing.T) {
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	conn := connect(t, url)
	if _, err := conn.Exec(t.Context(), "INSERT INTO schema_migrations (version, name) VALUES (9999, 'from the future')"); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.Open(t.Context(), url, postgres.Options{})
	if got := choso.ErrorCode(err); got != choso.EUnavailable {
		t.Fatalf("Open of a newer schema: got code %q (%v), want %q", got, err, choso.EUnavailable)
	}
}

func TestOpen_UnreachableUnavailable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := postgres.Open(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=1", postgres.Options{})
	if got := choso.ErrorCode(err); got != choso.EUnavailable {
		t.Fatalf("Open of an unreachable database: got code %q (%v), want %q", got, err, choso.EUnavailable)
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestOpen_SynchronousCommitOffRefused(t *testing.T) {
	url := pgtest.NewDatabase(t)
	conn := connect(t, url)
	var name string
	if err := conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" SET synchronous_commit = off"); err != nil {
		t.Fatal(err)
	}
	_, err := postgres.Open(t.Context(), url, postgres.Options{})
	if got := choso.ErrorCode(err); got != choso.EUnavailable || !strings.Contains(err.Error(), "synchronous_commit") {
		t.Fatalf("Open with synchronous_commit=off: got %q (%v), want %q naming synchronous_commit", got, err, choso.EUnavailable)
	}
}

// During a rolling upgrade a node of the release before migration 0003
// still inserts credits without stall_pos: each takes its seq, so the
// phones' paging by place finds it.
func TestMigration0003_CreditInsertedWithoutStallPos_TakesItsSeq(t *testing.T) {
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	conn := connect(t, url)
	if _, err := conn.Exec(t.Context(), `INSERT INTO credits (seq, bank_txn_id, stall_id, bin, account, business_date, doc)
		VALUES (41, 'FT-OLD-NODE', 'stl_1', '970436', '0011001234567', '2026-11-26', '{}')`); err != nil {
		t.Fatalf("an insert as the release before makes it: %v", err)
	}
	var pos int64
	if err := conn.QueryRow(t.Context(), "SELECT stall_pos FROM credits WHERE bank_txn_id = 'FT-OLD-NODE'").Scan(&pos); err != nil || pos != 41 {
		t.Fatalf("stall_pos %d, %v; want its seq, 41", pos, err)
	}
}

// releaseBefore migrates the database at url as the release before
// migration version did, from the SQL files alone, and returns a session
// of that release's node.
func releaseBefore(t *testing.T, url string, version int) *pgx.Conn {
	t.Helper()
	old := connect(t, url)
	if _, err := old.Exec(t.Context(), `CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("migrations/*.sql")
	for i, f := range files[:version-1] {
		sql, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.Exec(t.Context(), string(sql)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := old.Exec(t.Context(), "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", i+1, f); err != nil {
			t.Fatal(err)
		}
	}
	return old
}
