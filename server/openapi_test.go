package server

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// routeKey names a route as "METHOD /path/{param}", the OpenAPI way.
func routeKey(method, path string) string {
	return strings.ToUpper(method) + " " + regexp.MustCompile(`:([a-z_]+)`).ReplaceAllString(path, "{$1}")
}

// routerRoutes lists the routes the router serves.
func routerRoutes(s *Server) map[string]bool {
	got := map[string]bool{}
	for _, r := range s.echo.Routes() {
		if r.Method == echo.RouteNotFound {
			continue
		}
		got[routeKey(r.Method, r.Path)] = true
	}
	return got
}

// apiRoutes lists the routes the router serves but the web pages, which are
// HTML for people, not API.
func apiRoutes(s *Server) map[string]bool {
	got := routerRoutes(s)
	for r := range s.pageRoutes {
		method, path, _ := strings.Cut(r, " ")
		delete(got, routeKey(method, path))
	}
	return got
}

func TestOpenAPI_MatchesRouter(t *testing.T) {
	doc, err := parseOpenAPI()
	if err != nil {
		t.Fatalf("embedded openapi.json: %v", err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[routeKey(method, path)] = true
		}
	}
	served := apiRoutes(New(Config{}))
	var missing, extra []string
	for r := range served {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !served[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes served but not in openapi.json: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("routes in openapi.json that the router does not serve: %v", extra)
	}
}

func TestOpenAPI_DocumentIsOpenAPI31(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	// Every $ref points at something that exists.
	refs := regexp.MustCompile(`"\$ref":\s*"#/components/([a-zA-Z]+)/([A-Za-z0-9_]+)"`).FindAllStringSubmatch(string(openAPIDoc), -1)
	comps, _ := doc["components"].(map[string]any)
	for _, m := range refs {
		kind, _ := comps[m[1]].(map[string]any)
		if _, ok := kind[m[2]]; !ok {
			t.Errorf("$ref to missing #/components/%s/%s", m[1], m[2])
		}
	}
	for path, ops := range doc["paths"].(map[string]any) {
		for method, op := range ops.(map[string]any) {
			o := op.(map[string]any)
			if o["summary"] == nil || o["responses"] == nil || o["operationId"] == nil {
				t.Errorf("%s %s lacks summary, operationId or responses", method, path)
			}
		}
	}
}

func TestServer_OpenAPIAndDocsServed(t *testing.T) {
	ts := newTestServer(t)
	res := ts.do(t, "GET", "/openapi.json", nil)
	var doc map[string]any
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/openapi.json: %d, %v", res.StatusCode, err)
	}

	res = ts.do(t, "GET", "/docs", nil)
	b, _ := io.ReadAll(res.Body)
	page := string(b)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for r := range apiRoutes(ts.Server) {
		method, path, _ := strings.Cut(r, " ")
		if !strings.Contains(page, `<code class="m `+method+`">`+method+`</code> <code>`+path+`</code>`) {
			t.Errorf("/docs does not show %s", r)
		}
	}
	// No CDN: every script, style and image the page loads is our own.
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"#]+)"`).FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(m[1], "/") || strings.HasPrefix(m[1], "//") {
			t.Errorf("/docs loads %q from elsewhere", m[1])
		}
	}
	if res := ts.do(t, "GET", "/docs/docs.css", nil); res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("/docs/docs.css: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
}
