package postgres_test

import (
	"context"
	"testing"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/postgres"
	"github.com/choso/choso/internal/store/postgres/pgtest"
	"github.com/choso/choso/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// MustOpenDB opens a store on a fresh database and, on cleanup, checks and
// closes it.
func MustOpenDB(t testing.TB) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if problems := db.Check(context.Background()); len(problems) > 0 && !isClosed(problems) {
			t.Errorf("Check on cleanup: %v", problems)
		}
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// isClosed reports whether Check failed only because the test closed the store.
func isClosed(problems []error) bool {
	return len(problems) == 1 && choso.ErrorCode(problems[0]) == choso.EUnavailable
}

func TestStore_Conformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(t *testing.T) choso.Store { return MustOpenDB(t) },
		// Restore is nil: PostgreSQL backups are made and restored with
		// pg_dump and pg_restore, not through the store.
	})
}
