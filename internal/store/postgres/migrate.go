package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/choso/choso"
	"github.com/jackc/pgx/v5"
)

// The schema is a list of SQL files, migrations/NNNN_name.sql, embedded in
// the binary and applied in order at Open. The runner is our own: it is a
// few dozen lines (an advisory lock, a version table, one transaction per
// file), where goose or golang-migrate would bring a dependency, their own
// CLI and file conventions, and a second idea of how the schema version is
// kept, for nothing this store needs. Files are append-only: a released
// migration is never edited, because databases in the field have run it.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one SQL file of the schema's history.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations is the schema's history, oldest first, read from migrationFS.
var migrations = mustLoadMigrations(migrationFS)

func mustLoadMigrations(fsys fs.FS) []migration {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		panic(err)
	}
	var migs []migration
	for i, name := range names { // fs.Glob returns names sorted
		base := strings.TrimSuffix(path.Base(name), ".sql")
		num, title, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != i+1 {
			panic(fmt.Sprintf("postgres: migration %s: want NNNN_name.sql numbered from 1 without gaps", name))
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			panic(err)
		}
		migs = append(migs, migration{version: v, name: title, sql: string(data)})
	}
	return migs
}

// migrationLock is the advisory lock key held while migrating: two nodes
// starting together take turns, and the second finds the work done.
const migrationLock = 0x63686f736f_01 // "choso" + 1

// migrate applies, in order, each migration newer than the database, each in
// its own transaction together with its row in schema_migrations, under
// migrationLock. A database newer than this binary is refused rather than
// written by code that does not know its layout.
func (db *DB) migrate(ctx context.Context, migs []migration) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return choso.WrapError(choso.EUnavailable, "cannot connect to PostgreSQL", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return choso.WrapError(choso.EUnavailable, "cannot take the migration lock", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock)
	_, err = conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    int PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`)
	if err != nil {
		return choso.WrapError(choso.EUnavailable, "cannot create schema_migrations", err)
	}
	have, err := schemaVersion(ctx, conn)
	if err != nil {
		return err
	}
	if want := currentVersion(migs); have > want {
		return choso.Errorf(choso.EUnavailable,
			"database has schema version %d, newer than this choso understands (%d): run a newer choso", have, want)
	}
	for _, m := range migs {
		if m.version <= have {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return choso.WrapError(choso.EUnavailable,
				fmt.Sprintf("migration to version %d (%s) failed; the database is left at version %d", m.version, m.name, have), err)
		}
		have = m.version
	}
	return nil
}

// currentVersion is the schema version this binary writes.
func currentVersion(migs []migration) int {
	if len(migs) == 0 {
		return 0
	}
	return migs[len(migs)-1].version
}

// querier is a connection or the pool.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// schemaVersion returns the newest migration applied, 0 for none. migrate
// passes the connection holding the migration lock: asking the pool for a
// second would wait forever with MaxConns 1.
func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	err := q.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v)
	if err != nil {
		return 0, choso.WrapError(choso.EUnavailable, "cannot read the schema version", err)
	}
	return v, nil
}
