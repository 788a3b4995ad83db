package choso_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The import rules of DESIGN.md §2, as data. Each rule names packages by
// path prefix (relative to the module) and the imports they may not have.
// The test reads each package's direct imports: transitive lists are
// useless here, since fmt and skip2/go-qrcode themselves pull in os.
type importRule struct {
	why       string
	forbidden []string // import paths; "x/..." means x and everything under it
	// appliesTo reports whether the rule covers pkg (module-relative path,
	// "" for the root package).
	appliesTo func(pkg string) bool
}

const module = "github.com/choso/choso"

var (
	echoPaths  = []string{"github.com/labstack/echo/..."}
	boltPaths  = []string{"go.etcd.io/bbolt/...", "github.com/boltdb/bolt/..."}
	purePaths  = []string{"os/...", "net", "net/http/...", "syscall"}
	thirdParty = []string{"github.com/...", "go.etcd.io/...", "golang.org/x/...", "gopkg.in/...", "go.yaml.in/..."}
)

func under(prefixes ...string) func(string) bool {
	return func(pkg string) bool {
		for _, p := range prefixes {
			if pkg == p || strings.HasPrefix(pkg, p+"/") {
				return true
			}
		}
		return false
	}
}

var importRules = []importRule{
	{
		why:       "only server/ speaks HTTP through Echo (bench/ holds measuring tools, not the product)",
		forbidden: echoPaths,
		appliesTo: func(pkg string) bool { return !under("server", "bench")(pkg) },
	},
	{
		why:       "only internal/store/bolt (and the phone's sync/client outbox, and bench/'s tools) use bbolt",
		forbidden: boltPaths,
		appliesTo: func(pkg string) bool { return !under("internal/store/bolt", "sync/client", "bench")(pkg) },
	},
	{
		why:       "only internal/store/postgres (and its test harness) use pgx",
		forbidden: []string{"github.com/jackc/..."},
		appliesTo: func(pkg string) bool { return !under("internal/store/postgres")(pkg) },
	},
	{
		why:       "qr/ is pure: no os, no net, no bbolt, no Echo",
		forbidden: concat(purePaths, boltPaths, echoPaths),
		appliesTo: under("qr"),
	},
	{
		why:       "sync/ is pure (sync/client, the phone's adapter, excepted): no os, no net, no bbolt, no Echo",
		forbidden: concat(purePaths, boltPaths, echoPaths),
		appliesTo: func(pkg string) bool { return under("sync")(pkg) && !under("sync/client")(pkg) },
	},
	{
		why:       "the root package holds the nouns and imports the standard library only",
		forbidden: concat(thirdParty, []string{module + "/..."}),
		appliesTo: func(pkg string) bool { return pkg == "" },
	},
	{
		why:       "adapters never import each other: server does not know the store's engine",
		forbidden: []string{module + "/internal/store/bolt/..."},
		appliesTo: under("server"),
	},
	{
		why:       "adapters never import each other: the store does not know HTTP",
		forbidden: []string{module + "/server/..."},
		appliesTo: under("internal/store"),
	},
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// violations returns one line for each import that breaks a rule. imports
// maps a full package path to its direct imports.
func violations(imports map[string][]string) []string {
	var bad []string
	for pkg, imps := range imports {
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		for _, r := range importRules {
			if !r.appliesTo(rel) {
				continue
			}
			for _, imp := range imps {
				for _, f := range r.forbidden {
					if matchImport(f, imp) {
						bad = append(bad, pkg+" imports "+imp+": "+r.why)
					}
				}
			}
		}
	}
	return bad
}

// matchImport reports whether imp matches pattern, where "x/..." matches x
// and every path under it, and anything else matches itself only.
func matchImport(pattern, imp string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return imp == base || strings.HasPrefix(imp, base+"/")
	}
	return imp == pattern
}

func TestDeps_PackagesImportOnlyWhatDesignAllows(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		imports[fields[0]] = fields[1:]
	}
	for _, want := range []string{module, module + "/server", module + "/internal/store/bolt"} {
		if _, ok := imports[want]; !ok {
			t.Fatalf("go list did not report %s; the test would check nothing", want)
		}
	}
	for _, v := range violations(imports) {
		t.Error(v)
	}
}

// TestDeps_RulesCatchViolations proves the checker can fail.
func TestDeps_RulesCatchViolations(t *testing.T) {
	tests := []struct {
		pkg, imp string
		bad      bool
	}{
		{module + "/qr", "os", true},
		{module + "/qr", "net/http", true},
		{module + "/qr", "github.com/skip2/go-qrcode", false},
		{module + "/qr", "net/url", false},
		{module + "/qr", "net", true},
		{module + "/sync", "os/signal", true},
		{module + "/sync", "go.etcd.io/bbolt", true},
		{module + "/sync", "os", true},
		{module + "/sync/client", "go.etcd.io/bbolt", false},
		{module + "/sync/client", "net/http", false},
		{module + "/internal/report", "github.com/labstack/echo/v4", true},
		{module + "/internal/report", "go.etcd.io/bbolt", true},
		{module + "/server", "github.com/labstack/echo/v4/middleware", false},
		{module + "/server", module + "/internal/store/bolt", true},
		{module + "/internal/store/bolt", "go.etcd.io/bbolt/errors", false},
		{module + "/internal/store/bolt", module + "/server", true},
		{module, "github.com/labstack/echo/v4", true},
		{module, module + "/qr", true},
		{module, "golang.org/x/text/unicode/norm", true},
		{module, "context", false},
		{module + "/cmd/choso", module + "/internal/store/bolt", false},
	}
	for _, tt := range tests {
		got := len(violations(map[string][]string{tt.pkg: {tt.imp}})) > 0
		if got != tt.bad {
			t.Errorf("%s importing %s: violation = %v, want %v", tt.pkg, tt.imp, got, tt.bad)
		}
	}
}

// TestDeps_PureCodeReadsNoClock guards DESIGN.md §2: domain code takes its
// time from an injected clock. It reads the non-test files of the root
// package, qr/ and sync/ (sync/client takes its clocks from the app).
func TestDeps_PureCodeReadsNoClock(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.Dir}} {{join .GoFiles \" \"}}", ".", "./qr/...", "./sync/...").Output()
	if err != nil {
		// qr/ or sync/ may not exist yet; list the root alone.
		out, err = exec.Command("go", "list", "-f", "{{.Dir}} {{join .GoFiles \" \"}}", ".").Output()
		if err != nil {
			t.Fatalf("go list: %v", err)
		}
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.Contains(fields[0], "/sync/client") {
			continue
		}
		for _, f := range fields[1:] {
			src, err := os.ReadFile(filepath.Join(fields[0], f))
			if err != nil {
				t.Fatal(err)
			}
			checked++
			for _, call := range []string{"time.Now()", "time.Since(", "time.Until("} {
				if strings.Contains(string(src), call) {
					t.Errorf("%s calls %s: take a choso.Clock instead", filepath.Join(fields[0], f), call)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no files checked")
	}
}

// TestSource_Gofmt fails when a Go file is not gofmt-formatted, so CI
// catches what an editor missed.
func TestSource_Gofmt(t *testing.T) {
	gofmt := filepath.Join(runtimeGOROOT(t), "bin", "gofmt")
	out, err := exec.Command(gofmt, "-l", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("gofmt: %v\n%s", err, out)
	}
	if files := strings.TrimSpace(string(out)); files != "" {
		t.Fatalf("not gofmt-formatted (run gofmt -w):\n%s", files)
	}
}

func runtimeGOROOT(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	return strings.TrimSpace(string(out))
}
