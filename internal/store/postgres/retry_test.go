package postgres_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/postgres"
	"github.com/choso/choso/internal/store/postgres/pgtest"
)

// conflictingUpdate runs an Update whose fn reads a value, then, through a
// connection of its own (another node), has the value changed and
// committed, then writes it: a lost update SERIALIZABLE must refuse. The
// other node conflicts on the first conflicts attempts only.
func conflictingUpdate(t *testing.T, maxRetries, conflicts int) (runs int, final string, err error) {
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(t.Context(), url, postgres.Options{MaxRetries: maxRetries})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer func() { final = string(meta(t, db, "counter")) }()
	if err := db.Update(t.Context(), func(tx choso.Tx) error { return tx.SetMeta("counter", []byte("0")) }); err != nil {
		t.Fatal(err)
	}
	other := connect(t, url)
	err = db.Update(t.Context(), func(tx choso.Tx) error {
		runs++
		v, err := tx.Meta("counter")
		if err != nil {
			return err
		}
		if runs <= conflicts {
			if _, err := other.Exec(context.Background(),
				"UPDATE meta SET value = convert_to((convert_from(value, 'UTF8')::int + 1)::text, 'UTF8') WHERE key = 'counter'"); err != nil {
				t.Fatal(err)
			}
		}
		n, _ := strconv.Atoi(string(v))
		return tx.SetMeta("counter", []byte(strconv.Itoa(n+1)))
	})
	return runs, "", err
}

func meta(t *testing.T, db *postgres.DB, key string) []byte {
	var v []byte
	if err := db.View(t.Context(), func(tx choso.Tx) error { var err error; v, err = tx.Meta(key); return err }); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestUpdate_SerializationFailure_RunsFnAgainAndLosesNoUpdate(t *testing.T) {
	runs, final, err := conflictingUpdate(t, 5, 2)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if runs != 3 || final != "3" {
		t.Fatalf("fn ran %d times, counter %s; want 3 runs (two conflicts, then a commit) and 3 (two increments elsewhere, one here)", runs, final)
	}
}

func TestUpdate_TooManySerializationFailures_Unavailable(t *testing.T) {
	runs, final, err := conflictingUpdate(t, 3, 100)
	if got := choso.ErrorCode(err); got != choso.EUnavailable {
		t.Fatalf("Update that always conflicts: got code %q (%v), want %q", got, err, choso.EUnavailable)
	}
	if runs != 4 || final != "4" {
		t.Fatalf("fn ran %d times, counter %s; want 4 runs (the first and three retries) and 4 (the other node's increments only)", runs, final)
	}
}
