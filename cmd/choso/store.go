package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/bolt"
	"github.com/choso/choso/internal/store/postgres"
	chosync "github.com/choso/choso/sync"
)

// openStoreTimeout bounds connecting to PostgreSQL and migrating at start.
const openStoreTimeout = 30 * time.Second

// openStore opens the configured store read-write for a command. A bbolt
// file must not be in use by a server; a PostgreSQL database may be.
func openStore(cfg *Config) (choso.Store, error) {
	return openServerStore(context.Background(), cfg, nil)
}

// openServerStore opens the configured store, reporting every transaction
// to observe when it is set.
func openServerStore(ctx context.Context, cfg *Config, observe func(string, time.Duration, error)) (choso.Store, error) {
	if cfg.storeURL != "" {
		ctx, cancel := context.WithTimeout(ctx, openStoreTimeout)
		defer cancel()
		return postgres.Open(ctx, cfg.storeURL, postgres.Options{ObserveTx: observe})
	}
	return bolt.Open(cfg.storePath, bolt.Options{ObserveTx: observe})
}

// runBackup writes a consistent copy of the store. The server must be
// stopped (bbolt locks its file); a running server offers the same hot
// backup to admins over HTTP. A PostgreSQL store is backed up with pg_dump.
func runBackup(ctx context.Context, e *env, args []string) error {
	cfg, fs, err := parseConfig("backup", e, args, false)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "usage: choso backup [--data DIR | --store bolt:PATH] FILE|-")
		return errUsage
	}
	if cfg.storeURL != "" {
		return errors.New("choso backup does not copy a PostgreSQL store: run pg_dump -Fc 'postgres://…' > choso.dump " +
			"(restore with pg_restore), or use your provider's snapshots and point-in-time recovery")
	}
	db, err := bolt.Open(cfg.storePath, bolt.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	dest := fs.Arg(0)
	if dest == "-" {
		_, err := db.Backup(ctx, e.stdout)
		return err
	}
	n, err := db.BackupFile(ctx, dest)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "backup of %s written to %s (%d bytes)\n", cfg.storePath, dest, n)
	return nil
}

// runCheck verifies the store and prints each problem. It exits 1 when the
// store has any. A PostgreSQL store may be checked while servers run: the
// check reads one snapshot.
func runCheck(ctx context.Context, e *env, args []string) error {
	var events *bool
	cfg, fs, err := parseConfig("check", e, args, false, func(fs *flag.FlagSet) {
		events = fs.Bool("events", false, "also walk every stored event and check its entity, result, QR-sale index entry and payment reference, and each stall's day totals against its sales (minutes on a year's store)")
	})
	if err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(e.stderr, "usage: choso check [--events] [--data DIR | --store bolt:PATH | --store postgres://…]")
		return errUsage
	}
	var db choso.Store
	if cfg.storeURL != "" {
		db, err = openStore(cfg)
	} else {
		db, err = bolt.Open(cfg.storePath, bolt.Options{ReadOnly: true})
	}
	if err != nil {
		return err
	}
	defer func() { db.Close() }()
	if bdb, ok := db.(*bolt.DB); ok && bdb.NeedsMigration() {
		// An older store (a backup from before an upgrade, with an older
		// schema version or without an index added since) is migrated when
		// choso opens it: check what choso would serve from it, a copy
		// migrated the same way, and leave the file itself as it is.
		have, want := db.Stats().SchemaVersion, bolt.SchemaVersion()
		db.Close()
		copyPath, err := migratedCopy(cfg.storePath)
		if err != nil {
			return fmt.Errorf("%s: schema version %d, older than this choso's %d or without its newer indexes, and a migrated copy could not be made: %w", cfg.storeName(), have, want, err)
		}
		defer os.RemoveAll(filepath.Dir(copyPath))
		if have < want {
			fmt.Fprintf(e.stdout, "%s: schema version %d, older than this choso's %d: checking a copy migrated as choso migrates the store when it opens it\n",
				cfg.storeName(), have, want)
		} else {
			fmt.Fprintf(e.stdout, "%s: written before some of this choso's indexes: checking a copy migrated as choso migrates the store when it opens it (building them)\n",
				cfg.storeName())
		}
		if db, err = bolt.Open(copyPath, bolt.Options{ReadOnly: true}); err != nil {
			return err
		}
	}
	problems := db.Check(ctx)
	checked := 0
	if *events && len(problems) == 0 {
		var more []error
		if more, checked, err = chosync.CheckEvents(ctx, db); err != nil {
			return fmt.Errorf("%s: checking events: %w", cfg.storeName(), err)
		}
		problems = append(problems, more...)
	}
	for _, p := range problems {
		fmt.Fprintln(e.stdout, "problem:", p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %d problems found", cfg.storeName(), len(problems))
	}
	st := db.Stats()
	if *events {
		fmt.Fprintf(e.stdout, "%s: ok (schema version %d, %d bytes; %d events agree with their entities, results, QR-sale index, payment references and day totals)\n",
			cfg.storeName(), st.SchemaVersion, st.SizeBytes, checked)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s: ok (schema version %d, %d bytes)\n", cfg.storeName(), st.SchemaVersion, st.SizeBytes)
	return nil
}

// runCompact rewrites the store without free pages. PostgreSQL reclaims
// space itself, so for it the command does nothing and says so.
func runCompact(ctx context.Context, e *env, args []string) error {
	cfg, fs, err := parseConfig("compact", e, args, false)
	if err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(e.stderr, "usage: choso compact [--data DIR | --store bolt:PATH]")
		return errUsage
	}
	if cfg.storeURL != "" {
		return errors.New("choso compact does nothing for a PostgreSQL store: autovacuum reclaims space; " +
			"to return it to the operating system, run VACUUM FULL in psql during a quiet hour")
	}
	if _, err := os.Stat(cfg.storePath); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no store at %s", cfg.storePath)
	}
	before, after, err := bolt.Compact(cfg.storePath, bolt.Options{})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s compacted: %d → %d bytes\n", cfg.storePath, before, after)
	return nil
}

// migratedCopy copies a bbolt store into a new temporary directory and
// opens the copy for writing once, which migrates it; it returns the copy's
// path.
func migratedCopy(path string) (string, error) {
	dir, err := os.MkdirTemp("", "choso-check-")
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, "choso.db")
	if err := copyFile(path, dst); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	db, err := bolt.Open(dst, bolt.Options{})
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	if err := db.Close(); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dst, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
