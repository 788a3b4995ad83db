package server

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// owaspTests maps each risk of the OWASP API Security Top 10 (2023) to the
// tests of this package that prove the service holds against it, as
// RELIABILITY.md (b7) maps them. TestOWASP_EveryRiskHasItsTests fails when
// a named test disappears, so the map cannot rot.
var owaspTests = map[string][]string{
	"API1 broken object level authorization": {"TestAuthorization_EveryRegistryRouteEveryPrincipal", "TestPages_OutOfScopeIs404"},
	"API2 broken authentication": {"TestLogin_RateLimitedPerUsername", "TestEnroll_WrongExpiredAndRateLimited", "TestSyncAuth_RevokedAndUnknownDevices",
		"TestPartnerAuth_OverHTTP", "TestLogin_CookieSessionAndCrossSiteRefusal", "TestPages_CSRF"},
	"API3 broken object property level authorization": {"TestRegistryRoutes_RefuseServerOwnedFields", "TestDecodeJSON_RejectsWhatItMust",
		"TestStallList_MasksPersonalData", "Test22_OversizedOrZipBombBody_413NothingConsumed"},
	"API4 unrestricted resource consumption": {"TestServer_BodyOverLimit_413", "Test22_OversizedOrZipBombBody_413NothingConsumed", "TestImportRoute_Limits", "TestPartnerCredits_Limits",
		"TestSyncPush_PerDeviceRateLimit", "TestPartner_RateLimitedPerKey", "TestPartnerExport_ConcurrencyLimit", "TestSlowHeaders_ServerKeepsAnswering",
		"TestOWASP_API4_PagesAreCapped"},
	"API5 broken function level authorization":             {"TestAuthorization_EveryRegistryRouteEveryPrincipal"},
	"API6 unrestricted access to sensitive business flows": {"TestEnroll_WrongExpiredAndRateLimited", "TestBrowser_EnrollAPhoneAndSeeTheCode"},
	"API7 server side request forgery":                     {"TestOWASP_API7_NoHandlerFetchesAURL"},
	"API8 security misconfiguration": {"TestServer_HTTPServerHardened", "TestServer_IPExtractor", "TestServer_SecurityHeaders",
		"TestServer_HandlerPanic_500WithoutInternals", "TestServer_PlainError_500WithoutInternals", "TestOWASP_API8_NoCORS"},
	"API9 improper inventory management": {"TestRouteInventory", "TestOpenAPI_MatchesRouter"},
	"API10 unsafe consumption of APIs":   {"TestPartnerCredits_Limits", "FuzzPartnerCredits", "FuzzDecodeCursor", "FuzzUnmarshalStrict"},
}

func TestOWASP_EveryRiskHasItsTests(t *testing.T) {
	defined := map[string]bool{}
	files, _ := filepath.Glob("*_test.go")
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil {
				defined[fn.Name.Name] = true
			}
		}
	}
	if len(owaspTests) != 10 {
		t.Errorf("%d risks mapped, want the ten of the 2023 list", len(owaspTests))
	}
	for risk, tests := range owaspTests {
		for _, name := range tests {
			if !defined[name] {
				t.Errorf("%s: test %s does not exist", risk, name)
			}
		}
	}
}

// API7: no handler fetches a URL it was given. The only outbound HTTP of
// the service is the webhook dispatcher, to an admin-configured URL.
func TestOWASP_API7_NoHandlerFetchesAURL(t *testing.T) {
	outbound := regexp.MustCompile(`http\.(Get|Post|Head|PostForm|NewRequest|NewRequestWithContext)\(|\.Do\(req|net\.Dial|http\.DefaultClient|http\.Client\{`)
	var dirs = []string{".", ".."}
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if m := outbound.Find(b); m != nil {
				t.Errorf("%s makes outbound requests (%s): handlers must not fetch what a request names", f, m)
			}
		}
	}
}

// API8: the API answers no cross-origin request: there is no CORS, so a
// browser on another site can neither read a response nor preflight.
func TestOWASP_API8_NoCORS(t *testing.T) {
	rs := newRegistryServer(t)
	tok := rs.token(t, "admin")
	res := rs.do(t, "OPTIONS", "/v1/markets", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Credentials"} {
		if v := res.Header.Get(h); v != "" {
			t.Errorf("preflight from another site answered %s: %q", h, v)
		}
	}
	res = rs.do(t, "GET", "/v1/markets", nil, "Origin", "https://evil.example", "Authorization", "Bearer "+tok)
	if h := res.Header.Get("Access-Control-Allow-Origin"); h != "" {
		t.Errorf("GET from another site carries Access-Control-Allow-Origin %q", h)
	}
}

// API4: a client cannot ask for unbounded pages.
func TestOWASP_API4_PagesAreCapped(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	tok := rs.token(t, "admin")
	for _, path := range []string{"/v1/markets?limit=1000000", "/v1/markets/" + obj.market + "/stalls?limit=1000000", "/v1/admin/audit?limit=1000000"} {
		res := rs.do(t, "GET", path, nil, "Authorization", "Bearer "+tok)
		if res.StatusCode == http.StatusBadRequest {
			continue // refusing the limit is as good as capping it
		}
		var page struct {
			Data []json.RawMessage `json:"data"`
		}
		if err := json.NewDecoder(res.Body).Decode(&page); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d, %v", path, res.StatusCode, err)
		}
		if len(page.Data) > 200 {
			t.Errorf("%s returned %d items, over the cap of 200", path, len(page.Data))
		}
	}
}

// Behind a proxy that ends TLS (deploy/nginx.conf), the session cookies
// are Secure and responses carry HSTS, as with the server's own TLS: the
// proxy is one of TrustedProxies and says X-Forwarded-Proto: https. The
// same header from anyone else is not believed.
func TestBehindATLSProxy_SecureCookiesAndHSTS(t *testing.T) {
	for _, tt := range []struct {
		name    string
		trusted string
		proto   string
		want    bool
	}{
		{"trusted proxy, https", "127.0.0.1/32", "https", true},
		{"trusted proxy, http", "127.0.0.1/32", "http", false},
		{"untrusted client claiming https", "10.0.0.0/8", "https", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, n, _ := net.ParseCIDR(tt.trusted)
			ts := newTestServer(t, func(cfg *Config) { cfg.TrustedProxies = []*net.IPNet{n} })
			res := ts.do(t, "GET", "/login", nil, "X-Forwarded-Proto", tt.proto)
			res.Body.Close()
			var secure, found bool
			for _, c := range res.Cookies() {
				if c.Name == loginCSRFCookie {
					found, secure = true, c.Secure
				}
			}
			if !found {
				t.Fatal("the sign-in page set no CSRF cookie")
			}
			hsts := res.Header.Get("Strict-Transport-Security") != ""
			if secure != tt.want || hsts != tt.want {
				t.Errorf("cookie Secure %v, HSTS %v; want %v", secure, hsts, tt.want)
			}
		})
	}
}
