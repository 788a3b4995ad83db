package postgres

import (
	"context"
	"fmt"
	"io"

	"github.com/choso/choso"
)

// Backup is not offered through the binary for PostgreSQL: a consistent copy
// of a database is pg_dump's job (or the provider's snapshots and point-in-
// time recovery), and a restore is pg_restore's. It returns EInvalid saying so.
func (db *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	return 0, choso.Errorf(choso.EInvalid,
		"backups of a PostgreSQL store are made with pg_dump (pg_dump -Fc DATABASE_URL > choso.dump), not through choso")
}

// Check verifies that the schema is current and that the indexes the store
// keeps beside its records agree with them: every token names a device that
// has it, the counters are at or past every stored seq.
func (db *DB) Check(ctx context.Context) []error {
	var problems []error
	err := db.View(ctx, func(ctx0 choso.Tx) error {
		tx := ctx0.(*Tx)
		v, err := tx.count("SELECT coalesce(max(version), 0) FROM schema_migrations")
		if err != nil {
			return err
		}
		if want := currentVersion(migrations); v != want {
			problems = append(problems, fmt.Errorf("schema version %d, want %d", v, want))
		}
		checks := []struct{ what, sql string }{
			{"device tokens naming a device that no longer has them",
				`SELECT count(*) FROM device_tokens t JOIN devices d ON d.id = t.device_id
				 WHERE position(('"' || encode(t.token_hash, 'base64') || '"')::bytea in d.doc) = 0`},
			{"events beyond the event counter", "SELECT count(*) FROM events e, seqs s WHERE s.name = 'event' AND e.server_seq > s.value"},
			{"changes beyond the change counter", "SELECT count(*) FROM changes c, seqs s WHERE s.name = 'change' AND c.change_seq > s.value"},
			{"credits beyond the credit counter", "SELECT count(*) FROM credits c, seqs s WHERE s.name = 'credit' AND c.seq > s.value"},
			{"missing counters", "SELECT 3 - count(*) FROM seqs WHERE name IN ('event', 'change', 'credit')"},
		}
		for _, c := range checks {
			n, err := tx.count(c.sql)
			if err != nil {
				return err
			}
			if n > 0 {
				problems = append(problems, fmt.Errorf("%d %s", n, c.what))
			}
		}
		return nil
	})
	if err != nil {
		problems = append(problems, err)
	}
	return problems
}
