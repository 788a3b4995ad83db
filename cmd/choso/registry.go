package main

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/auth"
	"github.com/choso/choso/qr"
)

// regionsCSV is the statistics office's list of the 34 provinces and 3,321
// communes (../shared/data/regions.csv), loaded into an empty store.
//
//go:embed regions.csv
var regionsCSV string

// bankDirectory adapts the qr package's NAPAS directory to choso.BankDirectory.
type bankDirectory struct{}

func (bankDirectory) LookupBIN(bin string) (string, string, bool) {
	b, ok := qr.BankByBIN(bin)
	if !ok {
		return "", "", false
	}
	return b.BIN, b.ShortName, true
}

// newRegistry returns the registry's rules over store, with one password
// hash at a time per core.
func newRegistry(store choso.Store) *choso.Registry {
	return &choso.Registry{Store: store, Banks: bankDirectory{}, Hasher: auth.NewHasher(runtime.NumCPU()), Now: time.Now}
}

// seedRegions loads the embedded region list into a store that has none.
func seedRegions(ctx context.Context, reg *choso.Registry, log *slog.Logger) error {
	var n int
	if err := reg.Store.View(ctx, func(tx choso.Tx) error {
		var err error
		n, err = tx.CountRegions()
		return err
	}); err != nil || n > 0 {
		return err
	}
	regions, err := choso.ParseRegionCSV(strings.NewReader(regionsCSV))
	if err != nil {
		return fmt.Errorf("embedded regions: %w", err)
	}
	created, _, err := reg.PutRegions(ctx, choso.SystemPrincipal("system"), regions)
	if err != nil {
		return err
	}
	log.Info("regions loaded", "count", created)
	return nil
}

// runUser manages users on a stopped server's store: add, passwd, list.
func runUser(ctx context.Context, e *env, args []string) error {
	// The subcommand is known before the store is opened: help or a typo
	// must not create a store in the data directory.
	if len(args) == 0 || (args[0] != "add" && args[0] != "passwd" && args[0] != "list") {
		if len(args) > 0 && args[0] != "-h" && args[0] != "--help" && args[0] != "help" {
			fmt.Fprintf(e.stderr, "choso user: unknown subcommand %q\n", args[0])
		}
		fmt.Fprintln(e.stderr, "usage: choso user add|passwd|list [flags] (choso user SUBCOMMAND -h lists its flags)")
		return errUsage
	}
	sub, args := args[0], args[1:]
	cfg := DefaultConfig()
	fs := newFlagSet("user "+sub, e)
	if err := cfg.bindFlags(fs, false); err != nil {
		return err
	}
	username := fs.String("username", "", "user name (3–32 of a–z 0–9 . _ -)")
	role := fs.String("role", "", "admin, volunteer or official")
	var scope multiFlag
	fs.Var(&scope, "commune", "commune code in the user's scope (repeat for several)")
	fs.Var(&scope, "province", "province code in an official's scope (repeat for several)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if err := cfg.Validate(false); err != nil {
		return err
	}
	password := ""
	if *fromStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		password = strings.TrimRight(line, "\r\n")
		if password == "" {
			return errors.New("--password-stdin: standard input is empty")
		}
	}
	if err := os.MkdirAll(cfg.dataDir(), 0o700); err != nil { // a first command on a new machine
		return err
	}
	db, err := openStore(&cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	reg := newRegistry(db)
	if err := seedRegions(ctx, reg, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return err
	}
	cli := choso.SystemPrincipal("cli")
	switch sub {
	case "add":
		u, pw, err := reg.CreateUser(ctx, cli, choso.NewUser{Username: *username, Role: choso.Role(*role), Scope: scope, Password: password})
		if err != nil {
			return errors.New(choso.ErrorMessage(err))
		}
		fmt.Fprintf(e.stdout, "user %s (%s) created\n", u.Username, u.Role)
		if password == "" {
			fmt.Fprintf(e.stdout, "password: %s\n", pw)
		}
	case "passwd":
		u, err := reg.FindUserByUsername(ctx, cli, *username)
		if err != nil {
			return errors.New(choso.ErrorMessage(err))
		}
		pw, err := reg.SetPassword(ctx, cli, u.ID, "", password)
		if err != nil {
			return errors.New(choso.ErrorMessage(err))
		}
		fmt.Fprintf(e.stdout, "password of %s changed; their sessions are ended\n", u.Username)
		if password == "" {
			fmt.Fprintf(e.stdout, "password: %s\n", pw)
		}
	case "list":
		users, err := reg.ListUsers(ctx, cli)
		if err != nil {
			return err
		}
		for _, u := range users {
			status := ""
			if u.Disabled {
				status = " (disabled)"
			}
			fmt.Fprintf(e.stdout, "%-20s %-10s %s%s\n", u.Username, u.Role, strings.Join(u.Scope, ","), status)
		}
	}
	return nil
}

// runRegion imports regions from a CSV file: choso region import FILE.csv.
func runRegion(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(e.stderr, "usage: choso region import [--data DIR] FILE.csv")
		return errUsage
	}
	cfg, fs, err := parseConfig("region import", e, args[1:], false)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "usage: choso region import [--data DIR] FILE.csv")
		return errUsage
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	regions, err := choso.ParseRegionCSV(f)
	if err != nil {
		return errors.New(choso.ErrorMessage(err))
	}
	if err := os.MkdirAll(cfg.dataDir(), 0o700); err != nil {
		return err
	}
	db, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	reg := newRegistry(db)
	if err := seedRegions(ctx, reg, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return err
	}
	created, changed, err := reg.PutRegions(ctx, choso.SystemPrincipal("cli"), regions)
	if err != nil {
		return errors.New(choso.ErrorMessage(err))
	}
	fmt.Fprintf(e.stdout, "%d regions read: %d created, %d changed\n", len(regions), created, changed)
	return nil
}

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

func (m *multiFlag) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*m = append(*m, part)
		}
	}
	return nil
}

var _ flag.Value = (*multiFlag)(nil)
