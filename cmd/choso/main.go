// Command choso runs Chợ Số: the HTTP server (the default), and the
// operator's commands that work on a stopped server's store.
//
//	choso [serve] [--addr HOST:PORT] [--data DIR] [--store bolt:PATH] …
//	choso backup FILE|-      write a consistent copy of the store
//	choso check [--events]   verify the store's integrity (and every event's records)
//	choso compact            rewrite the store without free pages
//	choso healthcheck        probe a running server's /healthz (for containers)
//	choso version            print the version
//
// Every configuration flag (--data, --store, --log-level and serve's) has a
// CHOSO_* environment variable; `choso COMMAND -h` names each one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// it is read from the module's build information.
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// errUsage marks a command line that could not be understood; the usage
// was already printed.
var errUsage = errors.New("usage")

// command is one subcommand.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, env *env, args []string) error
}

// env carries the process's streams to a command, so tests can run commands
// in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func commands() []command {
	return []command{
		{"serve", "[flags]", "run the HTTP server (the default)", runServe},
		{"backup", "[flags] FILE|-", "write a consistent copy of a stopped server's store to FILE, or to stdout with -", runBackup},
		{"check", "[flags]", "verify a stopped server's store; exit 1 when it has problems", runCheck},
		{"compact", "[flags]", "rewrite a stopped server's store without its free pages", runCompact},
		{"user", "add|passwd|list", "manage users on a stopped server's store (a running one: /v1/admin/users)", runUser},
		{"partner", "add|key|revoke", "manage bank partners and their signing keys on a stopped server's store", runPartner},
		{"region", "import FILE.csv", "load regions (code,name,parent_code) into a stopped server's store", runRegion},
		{"qr", "encode|decode", "make a VietQR payload (and image), or decode any code to JSON", runQR},
		{"healthcheck", "[--url URL]", "probe a server's /healthz; exit 0 when it answers 200", runHealthcheck},
		{"version", "", "print the version", runVersion},
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	name := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if name == "help" || name == "-h" || name == "--help" {
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, e, args)
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
			return exitUsage
		case errors.Is(err, errNotTransfer):
			return exitError // the JSON lines already say why
		default:
			fmt.Fprintf(stderr, "choso %s: %v\n", name, err)
			return exitError
		}
	}
	fmt.Fprintf(stderr, "choso: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Chợ Số: the backend for cashless markets.")
	fmt.Fprintln(w, "\nUsage: choso COMMAND [flags] [args]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %-16s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "\nRun choso COMMAND -h for a command's flags. The configuration flags (--data, --store, --log-level and")
	fmt.Fprintln(w, "serve's) can also be set as CHOSO_* variables, named there; a command's own flags (--events, --username…) cannot.")
}

// newFlagSet returns a flag set for a command whose errors go to stderr.
func newFlagSet(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("choso "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parseConfig binds the config flags for a command, and the command's own
// when it gives a function that binds them, parses args and validates once.
func parseConfig(name string, e *env, args []string, serving bool, own ...func(*flag.FlagSet)) (*Config, *flag.FlagSet, error) {
	cfg := DefaultConfig()
	fs := newFlagSet(name, e)
	if err := cfg.bindFlags(fs, serving); err != nil {
		return nil, nil, err
	}
	for _, bind := range own {
		bind(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, errUsage
	}
	if err := cfg.Validate(serving); err != nil {
		return nil, nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return &cfg, fs, nil
}

func runVersion(_ context.Context, e *env, args []string) error {
	if len(args) > 0 {
		fmt.Fprintln(e.stderr, "usage: choso version")
		return errUsage
	}
	fmt.Fprintln(e.stdout, "choso", buildVersion())
	return nil
}

// buildVersion is the version set at link time, or the module version and
// VCS revision Go recorded in the binary.
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		return fmt.Sprintf("%s (%s%s)", v, rev, modified)
	}
	return v
}
