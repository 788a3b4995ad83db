package server

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/choso/choso/internal/web"
)

// Every text a page translates has its English entry: templates call
// .T "…", handlers s.newPage(c, "…", …), p.T("…") and web.T(l, "…").
func TestWeb_EveryTextHasEnglish(t *testing.T) {
	uses := map[string]string{}
	tmpl := regexp.MustCompile(`\.T "([^"]+)"`)
	files, _ := fs.Glob(webFS, "templates/web/*.html")
	for _, f := range files {
		b, _ := fs.ReadFile(webFS, f)
		for _, m := range tmpl.FindAllStringSubmatch(string(b), -1) {
			uses[m[1]] = f
		}
	}
	code := regexp.MustCompile(`(?:newPage\(c, |\.T\(|web\.T\(l, |formError\(c, err, |title(?:, message)? = |return )"([^"]*[^\x00-\x7f][^"]*)"`)
	goFiles, _ := filepath.Glob("web_*.go")
	goFiles = append(goFiles, "web.go")
	goFiles = slices.DeleteFunc(goFiles, func(f string) bool { return strings.HasSuffix(f, "_test.go") })
	for _, f := range goFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range code.FindAllStringSubmatch(string(b), -1) {
			uses[m[1]] = f
		}
	}
	if len(uses) < 50 {
		t.Fatalf("found only %d texts: the patterns no longer match the code", len(uses))
	}
	for text, where := range uses {
		if !web.HasEnglish(text) {
			t.Errorf("%s: %q has no English", where, text)
		}
	}
}
