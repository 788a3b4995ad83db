package server

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// TestRouteInventory holds the router to a committed list (OWASP API9):
// a route added or removed shows up in review as a change to
// testdata/routes.txt. Rewrite it with go test ./server -run RouteInventory -update.
func TestRouteInventory(t *testing.T) {
	var routes []string
	for r := range routerRoutes(New(Config{})) {
		routes = append(routes, r)
		if strings.Contains(r, "debug") || strings.Contains(r, "pprof") {
			t.Errorf("debug route %s on the public listener", r)
		}
	}
	slices.Sort(routes)
	got := "# Every route the server answers, as METHOD /path. Generated: go test ./server -run RouteInventory -update\n" +
		strings.Join(routes, "\n") + "\n"
	const file = "testdata/routes.txt"
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if string(want) != got {
		wantSet := map[string]bool{}
		for _, l := range strings.Split(string(want), "\n") {
			wantSet[l] = true
		}
		for _, r := range routes {
			if !wantSet[r] {
				t.Errorf("route %s is served but not in %s", r, file)
			}
			delete(wantSet, r)
		}
		for l := range wantSet {
			if l != "" && !strings.HasPrefix(l, "#") {
				t.Errorf("route %s is in %s but not served", l, file)
			}
		}
		if !t.Failed() {
			t.Errorf("%s differs from the router (header?); rewrite it with -update", file)
		}
	}
}
