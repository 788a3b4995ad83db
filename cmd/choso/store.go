package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/choso/choso/internal/store/bolt"
)

// runBackup writes a consistent copy of the store. The server must be
// stopped (bbolt locks its file); a running server offers the same hot
// backup to admins over HTTP.
func runBackup(ctx context.Context, e *env, args []string) error {
	cfg, fs, err := parseConfig("backup", e, args, false)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "usage: choso backup [--data DIR] FILE|-")
		return errUsage
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
// store has any.
func runCheck(ctx context.Context, e *env, args []string) error {
	cfg, fs, err := parseConfig("check", e, args, false)
	if err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(e.stderr, "usage: choso check [--data DIR | --store bolt:PATH]")
		return errUsage
	}
	db, err := bolt.Open(cfg.storePath, bolt.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	problems := db.Check(ctx)
	for _, p := range problems {
		fmt.Fprintln(e.stdout, "problem:", p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %d problems found", cfg.storePath, len(problems))
	}
	st := db.Stats()
	fmt.Fprintf(e.stdout, "%s: ok (schema version %d, %d bytes)\n", cfg.storePath, st.SchemaVersion, st.SizeBytes)
	return nil
}

// runCompact rewrites the store without free pages.
func runCompact(ctx context.Context, e *env, args []string) error {
	cfg, fs, err := parseConfig("compact", e, args, false)
	if err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(e.stderr, "usage: choso compact [--data DIR | --store bolt:PATH]")
		return errUsage
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
