package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	chosync "github.com/choso/choso/sync"
)

// Every note a push result carries is one the document lists: here a sale
// whose void arrived first, from another phone of the stall.
func TestOpenAPIResponses_PushNotesAreDocumented(t *testing.T) {
	doc := specDoc(t)
	res := specResponseSchema(t, doc, "POST", "/v1/sync/push", "200")
	note := specResolve(doc, res)["properties"].(map[string]any)["results"].(map[string]any)["items"].(map[string]any)["properties"].(map[string]any)["note"].(map[string]any)
	desc := regexp.MustCompile(`\([^)]*\)`).ReplaceAllString(note["description"].(string), "")
	var documented []string
	for _, n := range strings.Split(desc, ",") {
		documented = append(documented, strings.TrimSpace(strings.Trim(strings.TrimSpace(n), ".")))
	}

	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	seller, other := rs.enroll(t, obj.stall), rs.enroll(t, obj.stall)
	sale := seller.sales(1, 30000, "cash")[0]
	other.seq++
	vp, _ := json.Marshal(chosync.SaleVoid{SaleID: sale.ID, Reason: "nhầm"})
	now := time.Now()
	void := chosync.Event{Seq: other.seq, ID: testULID(), Type: "sale.void", V: 1, WallMs: now.UnixMilli(), AnchoredMs: now.UnixMilli(), Payload: vp}
	decodePush(t, other.push(t, pushBody(t, []chosync.Event{void})))
	out := decodePush(t, seller.push(t, pushBody(t, []chosync.Event{sale})))
	for _, r := range out.Results {
		if r.Note != "" && !slices.Contains(documented, r.Note) {
			t.Errorf("result seq %d: note %q is not one of the documented %q", r.Seq, r.Note, documented)
		}
	}
}

// A request that omits a documented-required parameter or member is 400
// invalid, not 404 not_found.
func TestOpenAPIResponses_MissingRequiredParam_400(t *testing.T) {
	doc := specDoc(t)
	rs := newRegistryServer(t)
	b := rs.bank(t, "24")

	required := func(method, path, name string) bool {
		op := specOp(t, doc, method, path)
		for _, p := range op["parameters"].([]any) {
			if p := p.(map[string]any); p["name"] == name && p["required"] == true {
				return true
			}
		}
		return false
	}
	if !required("GET", "/partner/v1/reconciliation", "bin") || !required("GET", "/partner/v1/reconciliation", "account") {
		t.Fatal("premise: bin and account are documented required")
	}
	res := b.signed(t, "GET", "/partner/v1/reconciliation", url.Values{"date": {"2026-11-26"}}, nil, nil)
	if got := errCode(t, res); res.StatusCode != http.StatusBadRequest || got != "invalid" {
		t.Errorf("reconciliation without bin and account: %d %s; documented 400 invalid (documented statuses %v)",
			res.StatusCode, got, specStatuses(t, doc, "GET", "/partner/v1/reconciliation"))
	}

	body := specOp(t, doc, "POST", "/v1/devices/enroll")["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
	if !slices.Contains(body["required"].([]any), any("code")) {
		t.Fatal("premise: code is documented required")
	}
	res = rs.do(t, "POST", "/v1/devices/enroll", strings.NewReader(`{"app_version":"1.0.0"}`), "Content-Type", "application/json")
	if got := errCode(t, res); res.StatusCode != http.StatusBadRequest || got != "invalid" {
		t.Errorf("enroll without code: %d %s; documented 400 invalid for a body missing a required member", res.StatusCode, got)
	}
}

// A statement's period is documented required, and a request without one
// is refused as invalid.
func TestOpenAPIResponses_StatementPeriodRequired(t *testing.T) {
	doc := specDoc(t)
	for _, path := range []string{"/v1/sync/statement", "/v1/stalls/{id}/statement"} {
		required := false
		for _, p := range specOp(t, doc, "GET", path)["parameters"].([]any) {
			if p := p.(map[string]any); p["name"] == "period" && p["required"] == true {
				required = true
			}
		}
		if !required {
			t.Errorf("%s does not document period as required", path)
		}
	}
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	phone := rs.enroll(t, obj.stall)
	if res := rs.do(t, "GET", "/v1/sync/statement", nil, "Authorization", "Bearer "+phone.token); res.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /v1/sync/statement without period: %d %s, want 400", res.StatusCode, errCode(t, res))
	}
	if res := rs.do(t, "GET", "/v1/stalls/"+obj.stall+"/statement", nil, "Authorization", "Bearer "+rs.token(t, "admin")); res.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /v1/stalls/{id}/statement without period: %d %s, want 400", res.StatusCode, errCode(t, res))
	}
}

func TestOpenAPIResponses_DocumentedArraysNeverNull(t *testing.T) {
	doc := specDoc(t)
	rs := newRegistryServer(t)
	adm := []string{"Authorization", "Bearer " + rs.token(t, "admin")}
	for _, c := range []struct{ method, path, url string }{
		{"GET", "/v1/auth/me", "/v1/auth/me"},
		{"GET", "/v1/admin/users", "/v1/admin/users"},
		{"GET", "/v1/banks", "/v1/banks?q=vcb"},
	} {
		res := rs.do(t, c.method, c.url, nil, adm...)
		v := readJSON(t, res)
		for _, p := range specCheck(doc, specResponseSchema(t, doc, c.method, c.path, "200"), v, c.path) {
			if strings.Contains(p, "got null") {
				t.Error(p)
			}
		}
	}
}

func errCode(t *testing.T, res *http.Response) string {
	t.Helper()
	var body errorBody
	json.NewDecoder(res.Body).Decode(&body)
	return body.Error.Code
}
