package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/partnerauth"
	"github.com/choso/choso/internal/store/bolt"
)

// testBanks knows a few real BINs.
type testBanks struct{}

func (testBanks) LookupBIN(bin string) (string, string, bool) {
	switch bin {
	case "970436", "970418", "970422":
		return bin, "bank", true
	}
	return "", "", false
}

// plainHasher stands in for argon2id, which internal/auth tests.
type plainHasher struct{}

func (plainHasher) Hash(_ context.Context, pw string) (string, error) { return "plain$" + pw, nil }
func (plainHasher) Verify(_ context.Context, hash, pw string) (bool, error) {
	return subtle.ConstantTimeCompare([]byte(hash), []byte("plain$"+pw)) == 1, nil
}

// registryServer is a test server with the registry's rules over a real
// bbolt store, some regions, and users of every role.
type registryServer struct {
	*testServer
	reg      *choso.Registry
	partners *choso.Partners
	users    map[string]*choso.User // by principal name
	pw       map[string]string
}

func newRegistryServer(t *testing.T) *registryServer {
	t.Helper()
	var reg *choso.Registry
	var partners *choso.Partners
	ts := newTestServer(t, func(cfg *Config) {
		reg = &choso.Registry{Store: cfg.Store, Banks: testBanks{}, Hasher: plainHasher{}, Now: time.Now}
		cfg.Registry = reg
		partners = newTestPartners(cfg.Store)
		cfg.Partners = partners
	})
	ctx := context.Background()
	admin := choso.SystemPrincipal("test")
	if _, _, err := reg.PutRegions(ctx, admin, []*choso.Region{
		{Code: "24", Name: "Tỉnh Bắc Ninh"},
		{Code: "07210", Name: "Phường Bắc Giang", ParentCode: "24"},
		{Code: "01", Name: "Thành phố Hà Nội"},
		{Code: "00004", Name: "Phường Ba Đình", ParentCode: "01"},
	}); err != nil {
		t.Fatal(err)
	}
	rs := &registryServer{testServer: ts, reg: reg, partners: partners, users: map[string]*choso.User{}, pw: map[string]string{}}
	for _, u := range []struct {
		name  string
		role  choso.Role
		scope []string
	}{
		{"admin", choso.RoleAdmin, nil},
		{"volin", choso.RoleVolunteer, []string{"07210"}},
		{"volpeer", choso.RoleVolunteer, []string{"07210"}},
		{"volout", choso.RoleVolunteer, []string{"00004"}},
		{"official", choso.RoleOfficial, []string{"24"}},
	} {
		created, pw, err := reg.CreateUser(ctx, admin, choso.NewUser{Username: u.name, Role: u.role, Scope: u.scope})
		if err != nil {
			t.Fatal(err)
		}
		rs.users[u.name], rs.pw[u.name] = created, pw
	}
	return rs
}

// token signs name in (through the registry, not the rate-limited route).
func (rs *registryServer) token(t *testing.T, name string) string {
	t.Helper()
	if name == "anonymous" {
		return ""
	}
	tok, _, _, err := rs.reg.Login(context.Background(), name, rs.pw[name])
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// objects are fresh registry objects for one request of the matrix.
type objects struct {
	market, stall, foreignMarket string
	device, code                 string // an enrolled phone of the stall, and a fresh enrollment code
	partner, partnerKey          string // a bank partner of province 24 and its key
	partnerSecret                string
	// Device tokens: a phone of the stall (A), a phone of a stall of the
	// foreign market (B), and a revoked phone of the stall.
	deviceA, deviceB, revoked string
}

// stall reads a stall as the system sees it, for a test to build on.
func (rs *registryServer) stall(t *testing.T, id string) *choso.Stall {
	t.Helper()
	st, err := rs.reg.FindStall(t.Context(), choso.SystemPrincipal("test"), id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (rs *registryServer) objects(t *testing.T, pendingPayout bool) objects {
	t.Helper()
	ctx := context.Background()
	volin := rs.users["volin"].Principal()
	m, err := rs.reg.CreateMarket(ctx, volin, choso.NewMarket{Name: "Chợ Thương", CommuneCode: "07210"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := rs.reg.CreateStall(ctx, volin, m.ID, choso.NewStall{
		Code: "A-1", Name: "Bún chả cô Lan", VendorName: "Nguyễn Thị Lan", VendorPhone: "0912345678",
		Payout: choso.PayoutAccount{BIN: "970436", Account: "0011001234567", Holder: "NGUYEN THI LAN"}, ConsentGiven: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if pendingPayout {
		if _, err := rs.reg.ProposePayoutChange(ctx, rs.users["volpeer"].Principal(), s.ID,
			choso.PayoutAccount{BIN: "970418", Account: "58110000715752", Holder: "NGUYEN THI LAN"}); err != nil {
			t.Fatal(err)
		}
	}
	fm, err := rs.reg.CreateMarket(ctx, rs.users["volout"].Principal(), choso.NewMarket{Name: "Chợ Đồng Xuân", CommuneCode: "00004"})
	if err != nil {
		t.Fatal(err)
	}
	code, _, err := rs.reg.CreateEnrollment(ctx, volin, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	d, tokA, err := rs.reg.RedeemEnrollment(ctx, code, "1.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _, err := rs.reg.CreateEnrollment(ctx, volin, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	pt, key, secret, err := rs.partners.AddPartner(ctx, choso.SystemPrincipal("test"), choso.NewPartner{Name: "Ngân hàng thử", Provinces: []string{"24"}})
	if err != nil {
		t.Fatal(err)
	}
	volout := rs.users["volout"].Principal()
	sb, err := rs.reg.CreateStall(ctx, volout, fm.ID, choso.NewStall{
		Code: "B-1", Name: "Phở cô Hà", VendorName: "Trần Thị Hà", VendorPhone: "0977123456",
		Payout: choso.PayoutAccount{BIN: "970418", Account: "12010000123456", Holder: "TRAN THI HA"}, ConsentGiven: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	redeem := func(p *choso.Principal, stallID string) (*choso.Device, string) {
		code, _, err := rs.reg.CreateEnrollment(ctx, p, stallID)
		if err != nil {
			t.Fatal(err)
		}
		d, tok, err := rs.reg.RedeemEnrollment(ctx, code, "1.0.0", nil)
		if err != nil {
			t.Fatal(err)
		}
		return d, tok
	}
	_, tokB := redeem(volout, sb.ID)
	dr, tokR := redeem(volin, s.ID)
	if _, err := rs.reg.RevokeDevice(ctx, volin, dr.ID); err != nil {
		t.Fatal(err)
	}
	return objects{market: m.ID, stall: s.ID, foreignMarket: fm.ID, device: d.ID, code: fresh, partner: pt.ID, partnerKey: key.ID,
		partnerSecret: secret, deviceA: tokA, deviceB: tokB, revoked: tokR}
}

// matrixRow says who may succeed on one route. Everyone else must fail;
// anonymous callers with 401, and volout, for whom the objects are foreign,
// with 404 on routes that name an object.
type matrixRow struct {
	allowed     []string
	body        string
	contentType string
	pending     bool   // the stall has a payout change proposed by volpeer
	path        string // the path to request, when the route's own has parameters the matrix does not fill
	capability  bool   // the body carries a capability (an enrollment code) that names its own objects
	scoped      bool   // the path names an object in volin's scope
	page        bool   // a web page: success may be a 303 to a page other than /login
}

// principals: users of every role, anonymous callers, phones (of the
// stall, of a foreign stall, revoked), a session past its idle timeout, the
// bank partner, and a caller with a bad partner signature.
var principals = []string{"admin", "volin", "volout", "official", "anonymous", "deviceA", "deviceB", "revoked", "expired", "partner", "badsig"}

var (
	phones  = []string{"deviceA", "deviceB"}
	partner = []string{"partner"}
)

const stallBody = `{"code":"B-2","name":"Rau sạch","vendor_name":"Lê Thị Hoa","vendor_phone":"0387 654 321","payout":{"bin":"970422","account":"0123456789","holder_name":"LE THI HOA"},"consent_given":true}`

func registryMatrix() map[string]matrixRow {
	everyone := principals
	users := []string{"admin", "volin", "volout", "official"}
	inScope := []string{"admin", "volin", "official"}
	writers := []string{"admin", "volin"}
	admin := []string{"admin"}
	return map[string]matrixRow{
		"GET /healthz":                               {allowed: everyone},
		"GET /readyz":                                {allowed: everyone},
		"GET /metrics":                               {allowed: everyone},
		"GET /openapi.json":                          {allowed: everyone},
		"GET /docs":                                  {allowed: everyone},
		"GET /docs/docs.css":                         {allowed: everyone},
		"POST /v1/auth/logout":                       {allowed: everyone},
		"GET /v1/auth/me":                            {allowed: users},
		"POST /v1/auth/password":                     {allowed: users, body: `{"current_password":"PASSWORD","new_password":"a brand new password"}`},
		"GET /v1/regions":                            {allowed: users},
		"POST /v1/regions":                           {allowed: admin, body: `{"code":"07228","name":"Phường Đa Mai","parent_code":"24"}`},
		"GET /v1/markets":                            {allowed: users},
		"POST /v1/markets":                           {allowed: writers, body: `{"name":"Chợ mới","commune_code":"07210"}`},
		"GET /v1/markets/{id}":                       {allowed: inScope, scoped: true},
		"PATCH /v1/markets/{id}":                     {allowed: writers, scoped: true, body: `{"name":"Chợ Thương mới"}`},
		"GET /v1/markets/{id}/stalls":                {allowed: inScope, scoped: true},
		"POST /v1/markets/{id}/stalls":               {allowed: writers, scoped: true, body: stallBody},
		"POST /v1/markets/{id}/stalls/import":        {allowed: writers, scoped: true, contentType: "text/csv", body: importCSV},
		"GET /v1/stalls/{id}":                        {allowed: inScope, scoped: true},
		"PATCH /v1/stalls/{id}":                      {allowed: writers, scoped: true, body: `{"category":"Ăn uống"}`},
		"POST /v1/stalls/{id}/payout-change":         {allowed: writers, scoped: true, body: `{"bin":"970418","account":"58110000715752","holder_name":"NGUYEN THI LAN"}`},
		"POST /v1/stalls/{id}/payout-change/approve": {allowed: writers, scoped: true, pending: true},
		"POST /v1/stalls/{id}/payout-change/reject":  {allowed: writers, scoped: true, pending: true},
		"GET /v1/admin/users":                        {allowed: admin},
		"POST /v1/admin/users":                       {allowed: admin, body: `{"username":"newvol","role":"volunteer","scope":["07210"]}`},
		"GET /v1/admin/users/{id}":                   {allowed: admin},
		"PATCH /v1/admin/users/{id}":                 {allowed: admin, body: `{"scope":["07210","00004"]}`},
		"POST /v1/admin/users/{id}/password":         {allowed: admin, body: `{}`},
		"GET /v1/admin/audit":                        {allowed: admin},
		"GET /v1/admin/backup":                       {allowed: admin},
		"POST /v1/admin/vendors/export":              {allowed: admin, body: `{"phone":"0912 345 678"}`},
		"POST /v1/admin/stalls/{id}/erase":           {allowed: admin}, // an admin function: 403 for every other role
		"GET /assets/{name}":                         {allowed: everyone, path: "/assets/print.css"},
		"GET /v1/banks":                              {allowed: users},
		"POST /v1/qr/decode":                         {allowed: users, body: `{"payload":"00020101021138580010A000000727012800069704180114581100007157520208QRIBFTTA53037045802VN630438C8"}`},
		"GET /v1/stalls/{id}/qr":                     {allowed: inScope, scoped: true},
		"GET /v1/stalls/{id}/card":                   {allowed: inScope, scoped: true},
		"GET /v1/markets/{id}/cards":                 {allowed: inScope, scoped: true},
		"POST /v1/stalls/{id}/enrollments":           {allowed: writers, scoped: true},
		"GET /v1/stalls/{id}/devices":                {allowed: inScope, scoped: true},
		"POST /v1/devices/{id}/revoke":               {allowed: writers, scoped: true},
		"POST /v1/devices/enroll":                    {allowed: everyone, body: `{"code":"CODE"}`, capability: true},
		// Phones' routes: a user's session is not a device token.
		"POST /v1/sync/push":     {allowed: phones, body: `{"protocol":1,"events":[]}`},
		"GET /v1/sync/config":    {allowed: phones},
		"GET /v1/sync/totals":    {allowed: phones},
		"GET /v1/sync/status":    {allowed: phones},
		"GET /v1/sync/credits":   {allowed: phones},
		"GET /v1/sync/statement": {allowed: phones, path: "/v1/sync/statement?period=2026-11"},
		// The bank's routes: a user's session is no signature.
		"GET /partner/v1/changes":                  {allowed: partner},
		"GET /partner/v1/summaries":                {allowed: partner, path: "/partner/v1/summaries?business_date=2026-11-26"},
		"GET /partner/v1/exports/summaries.ndjson": {allowed: partner, path: "/partner/v1/exports/summaries.ndjson?from=2026-11-01&to=2026-11-26"},
		"GET /partner/v1/exports/summaries.csv":    {allowed: partner, path: "/partner/v1/exports/summaries.csv?from=2026-11-01&to=2026-11-26"},
		"POST /partner/v1/credits":                 {allowed: partner, body: `{"credits":[{"bank_txn_id":"FT26112600001","bin":"970436","account":"0011001234567","amount":25000,"credited_at":"2026-11-26T02:30:00Z","content":"thanh toan"}]}`},
		"GET /partner/v1/reconciliation":           {allowed: partner, path: "/partner/v1/reconciliation?date=2026-11-26&bin=970436&account=0011001234567"},
		"GET /v1/admin/partners":                   {allowed: admin},
		"POST /v1/admin/partners":                  {allowed: admin, body: `{"name":"Ngân hàng mới","provinces":["24"]}`},
		"PUT /v1/admin/partners/{id}/webhook":      {allowed: admin, body: `{"url":"https://bank.example/hooks"}`},
		"POST /v1/admin/partners/{id}/keys":        {allowed: admin},
		"POST /v1/admin/partner-keys/{id}/revoke":  {allowed: admin},
		"GET /v1/reports/{group}":                  {allowed: users, path: "/v1/reports/markets"},
		"GET /v1/stalls/{id}/statement":            {allowed: inScope, scoped: true, path: "/v1/stalls/{id}/statement?period=2026-11"},
		"POST /v1/auth/login":                      {}, // tested on its own: it is how a principal comes to be

		// Web pages. Anonymous callers are sent to /login (GET) or refused
		// with 401 (POST); forms carry the session's CSRF token.
		"GET /":                         {allowed: everyone, page: true},
		"GET /login":                    {allowed: everyone, page: true},
		"POST /login":                   {}, // tested on its own, as the API's login is
		"GET /lang/{code}":              {allowed: everyone, page: true, path: "/lang/en"},
		"POST /logout":                  {allowed: users, page: true, body: "_csrf=CSRF"},
		"GET /dashboard":                {allowed: users, page: true},
		"GET /reconciliation":           {allowed: users, page: true},
		"GET /web/payout-check":         {allowed: users, page: true, path: "/web/payout-check?bank=970436&account=0011001234567"},
		"GET /markets":                  {allowed: users, page: true},
		"GET /markets/new":              {allowed: []string{"admin", "volin", "volout"}, page: true}, // the form, for the communes of one's own scope
		"POST /markets/new":             {allowed: writers, page: true, body: "_csrf=CSRF&name=Ch%E1%BB%A3+m%E1%BB%9Bi&commune_code=07210"},
		"GET /markets/{id}":             {allowed: inScope, page: true, scoped: true},
		"GET /markets/{id}/edit":        {allowed: writers, page: true, scoped: true},
		"POST /markets/{id}/edit":       {allowed: writers, page: true, scoped: true, body: "_csrf=CSRF&name=Ch%E1%BB%A3+Th%C6%B0%C6%A1ng+m%E1%BB%9Bi"},
		"GET /markets/{id}/stalls/new":  {allowed: writers, page: true, scoped: true},
		"POST /markets/{id}/stalls/new": {allowed: writers, page: true, scoped: true, body: "_csrf=CSRF&code=B-2&name=Rau&vendor_name=L%C3%AA+Th%E1%BB%8B+Hoa&vendor_phone=0387654321&bank=970422&service=account&account=0123456789&holder_name=LE+THI+HOA&consent=yes"},
		"GET /markets/{id}/import":      {allowed: writers, page: true, scoped: true},
		"POST /markets/{id}/import":     {allowed: writers, page: true, scoped: true, body: "_csrf=CSRF&action=check&consent=yes&csv=" + url.QueryEscape(importCSV)},
		"GET /stalls/{id}":              {allowed: inScope, page: true, scoped: true},
		"GET /stalls/{id}/edit":         {allowed: writers, page: true, scoped: true},
		"POST /stalls/{id}/edit":        {allowed: writers, page: true, scoped: true, body: "_csrf=CSRF&category=%C4%82n+u%E1%BB%91ng"},
		"POST /stalls/{id}/payout":      {allowed: writers, page: true, scoped: true, pending: true, body: "_csrf=CSRF&action=reject"},
		"POST /stalls/{id}/enroll":      {allowed: writers, page: true, scoped: true, body: "_csrf=CSRF"},
		"GET /stalls/{id}/statement":    {allowed: inScope, page: true, scoped: true},
		"POST /devices/{id}/revoke":     {allowed: writers, page: true, scoped: true, body: "_csrf=CSRF"},
	}
}

const importCSV = "code,name,category,vendor_name,vendor_phone,bin,account,service,holder_name\nC-1,Gạo ngon,Gạo,Đỗ Thị Thu,0901234567,970436,0099887766,account,DO THI THU\n"

func TestAuthorization_EveryRegistryRouteEveryPrincipal(t *testing.T) {
	rs := newRegistryServer(t)
	matrix := registryMatrix()
	for route := range routerRoutes(rs.Server) {
		if _, ok := matrix[route]; !ok {
			t.Errorf("route %s has no row in the authorization matrix", route)
		}
	}
	// Forty enrollments a second from one address: the matrix, not an attack.
	rs.enrollByIP = newAttemptGuard("enroll-ip", 1_000_000, time.Microsecond, time.Now, nil)
	users := []string{"admin", "volin", "volout", "official"}
	for route, row := range matrix {
		if route == "POST /v1/auth/login" || route == "POST /login" {
			continue
		}
		// Objects are made once per route, and afresh for each principal
		// allowed to change them; a refused request changes nothing, so the
		// others share them (a leak would show in that principal's case).
		var shared *objects
		for _, who := range principals {
			t.Run(route+" as "+who, func(t *testing.T) {
				method, path, _ := strings.Cut(route, " ")
				if shared == nil {
					o := rs.objects(t, row.pending)
					shared = &o
				}
				obj := *shared
				if contains(row.allowed, who) && method != http.MethodGet {
					obj = rs.objects(t, row.pending)
				}
				if row.path != "" {
					path = row.path
				}
				switch {
				case strings.HasPrefix(path, "/v1/markets/{id}"), strings.HasPrefix(path, "/markets/{id}"):
					path = strings.Replace(path, "{id}", obj.market, 1)
				case strings.HasPrefix(path, "/v1/stalls/{id}"), strings.HasPrefix(path, "/v1/admin/stalls/{id}"), strings.HasPrefix(path, "/stalls/{id}"):
					path = strings.Replace(path, "{id}", obj.stall, 1)
				case strings.HasPrefix(path, "/v1/admin/partners/{id}"):
					path = strings.Replace(path, "{id}", obj.partner, 1)
				case strings.HasPrefix(path, "/v1/admin/partner-keys/{id}"):
					path = strings.Replace(path, "{id}", obj.partnerKey, 1)
				case strings.HasPrefix(path, "/v1/devices/{id}"), strings.HasPrefix(path, "/devices/{id}"):
					path = strings.Replace(path, "{id}", obj.device, 1)
				case strings.HasPrefix(path, "/v1/admin/users/{id}"):
					path = strings.Replace(path, "{id}", rs.users["volpeer"].ID, 1)
				}
				tok := rs.credential(t, who, obj)
				body := strings.ReplaceAll(row.body, "PASSWORD", rs.pw[who])
				body = strings.ReplaceAll(body, "CODE", obj.code)
				if tok != "" {
					body = strings.ReplaceAll(body, "CSRF", rs.csrfToken(tok))
				}
				hdr := []string{}
				if body != "" {
					ct := row.contentType
					switch {
					case ct != "":
					case row.page:
						ct = "application/x-www-form-urlencoded"
					default:
						ct = "application/json"
					}
					hdr = append(hdr, "Content-Type", ct)
				}
				if path == strings.Replace("/v1/markets/{id}/stalls/import", "{id}", obj.market, 1) {
					path += "?consent_given=true"
				}
				if tok != "" {
					hdr = append(hdr, "Authorization", "Bearer "+tok)
				}
				if who == "partner" || who == "badsig" {
					secret := obj.partnerSecret
					if who == "badsig" {
						secret = "not the secret"
					}
					hdr = append(hdr, signatureHeaders(method, path, obj.partnerKey, secret, []byte(body))...)
				}
				res := rs.doNoRedirect(t, method, path, strings.NewReader(body), hdr...)
				got, _ := io.ReadAll(res.Body)
				if route == "POST /v1/auth/password" && rs.users[who] != nil {
					// Put the password back for the cases after this one.
					rs.reg.SetPassword(context.Background(), choso.SystemPrincipal("test"), rs.users[who].ID, "", rs.pw[who])
				}
				allowed := contains(row.allowed, who)
				ok := res.StatusCode >= 200 && res.StatusCode < 300
				toLogin := res.StatusCode == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/login")
				if row.page && res.StatusCode == http.StatusSeeOther && (!toLogin || route == "GET /" || route == "POST /logout") {
					ok = true // a page's success sends the browser on
				}
				if row.page && !allowed && !contains(users, who) && method == http.MethodGet && toLogin {
					return // sent to sign in: the page's 401
				}
				switch {
				case allowed && !ok:
					t.Fatalf("%s may, got %d: %s", who, res.StatusCode, got)
				case !allowed && ok:
					t.Fatalf("%s may not, got %d: %s", who, res.StatusCode, got)
				case !allowed && who == "revoked" && strings.HasPrefix(path, "/v1/sync/"):
					if res.StatusCode != http.StatusForbidden || !strings.Contains(string(got), choso.EDeviceRevoked) {
						t.Fatalf("a revoked phone got %d %s, want 403 device_revoked", res.StatusCode, got)
					}
				case !allowed && !contains(users, who) && res.StatusCode != http.StatusUnauthorized:
					t.Fatalf("%s got %d, want 401: %s", who, res.StatusCode, got)
				case !allowed && who == "volout" && row.scoped && res.StatusCode != http.StatusNotFound:
					t.Fatalf("volout on a foreign object got %d, want 404 (no existence leak)", res.StatusCode)
				}
				// Lists never carry objects outside the caller's scope.
				if ok && who == "volout" && !row.capability && (strings.Contains(string(got), obj.market) || strings.Contains(string(got), obj.stall)) {
					t.Fatalf("volout's response carries a foreign object: %s", got)
				}
				if ok && who == "volin" && strings.Contains(string(got), obj.foreignMarket) {
					t.Fatalf("volin's response carries a foreign object: %s", got)
				}
			})
		}
	}
}

// credential returns the bearer token who calls with: a session for a
// user, a device token for a phone, a session past its idle timeout for
// "expired", and nothing for the others.
func (rs *registryServer) credential(t *testing.T, who string, obj objects) string {
	t.Helper()
	switch who {
	case "deviceA":
		return obj.deviceA
	case "deviceB":
		return obj.deviceB
	case "revoked":
		return obj.revoked
	case "expired":
		tok := rs.token(t, "volin")
		err := rs.reg.Store.Update(context.Background(), func(tx choso.Tx) error {
			s, err := tx.FindSession(choso.HashToken(tok))
			if err != nil {
				return err
			}
			s.LastSeenAt = time.Now().Add(-choso.SessionIdleTimeout - time.Minute)
			return tx.PutSession(s)
		})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	case "admin", "volin", "volout", "official":
		return rs.token(t, who)
	}
	return ""
}

// signatureHeaders signs a partner request (docs/partner-signing.md).
func signatureHeaders(method, target, keyID, secret string, body []byte) []string {
	path, query, _ := strings.Cut(target, "?")
	ts := time.Now().Unix()
	n := nonce()
	return []string{
		partnerauth.HeaderKey, keyID,
		partnerauth.HeaderTimestamp, strconv.FormatInt(ts, 10),
		partnerauth.HeaderNonce, n,
		partnerauth.HeaderSignature, partnerauth.Sign([]byte(secret), method, path, query, ts, n, body),
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestLogin_RateLimitedPerUsername(t *testing.T) {
	rs := newRegistryServer(t)
	var last *http.Response
	for i := range 6 {
		last = rs.do(t, "POST", "/v1/auth/login", strings.NewReader(`{"username":"volin","password":"wrong"}`), "Content-Type", "application/json")
		if i < 5 && last.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i+1, last.StatusCode)
		}
	}
	wantError(t, last, http.StatusTooManyRequests, choso.ERateLimited)
	if ra := last.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After = %q, want seconds", ra)
	}
	// The right password is refused too while the user is locked out.
	res := rs.do(t, "POST", "/v1/auth/login", strings.NewReader(`{"username":"volin","password":"`+rs.pw["volin"]+`"}`), "Content-Type", "application/json")
	wantError(t, res, http.StatusTooManyRequests, choso.ERateLimited)
	// Another user is not.
	res = rs.do(t, "POST", "/v1/auth/login", strings.NewReader(`{"username":"official","password":"`+rs.pw["official"]+`"}`), "Content-Type", "application/json")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("other user's login: %d", res.StatusCode)
	}
}

// A username longer than any user's is refused as a wrong sign-in: it gets
// no bucket of its own, so sign-in attempts cannot park up to 64 KiB of
// chosen text per try in memory (one node) or fail the shared bucket's
// index and answer 500 (PostgreSQL, TestLogin_OverlongUsername_OnPostgres).
// It still costs an attempt of the network's.
func TestLogin_OverlongUsername_401NoBucket(t *testing.T) {
	rs := newRegistryServer(t)
	// The network's budget on a clock that stands still (one node's: the
	// shared buckets keep the database's): it never refills, however slowly
	// a loaded machine sends the attempts.
	frozen := time.Now()
	rs.loginByUser, rs.loginByIP = newLoginGuards(func() time.Time { return frozen }, sharedGuards(rs.Store))
	b := make([]byte, 30<<10)
	rand.Read(b)
	long := hex.EncodeToString(b) // random, so PostgreSQL cannot compress it into its index
	res := rs.do(t, "POST", "/v1/auth/login", strings.NewReader(`{"username":"`+long+`","password":"wrong password"}`), "Content-Type", "application/json")
	wantError(t, res, http.StatusUnauthorized, choso.EUnauthorized)
	if rs.loginByUser.local != nil {
		if n := rs.loginByUser.local.Len(); n != 0 {
			t.Fatalf("an overlong username took %d sign-in buckets, want 0", n)
		}
	}
	form := url.Values{csrfField: {"0123456789abcdef0123456789"}, "username": {long}, "password": {"wrong password"}}
	res = rs.doNoRedirect(t, "POST", "/login", strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Cookie", loginCSRFCookie+"=0123456789abcdef0123456789")
	page, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusUnauthorized || strings.Contains(string(page), long) {
		t.Fatalf("sign-in page with an overlong username: %d, want 401 without the name echoed", res.StatusCode)
	}
	// The network's budget: 20 attempts in all, two of them spent above.
	for i := range 18 {
		if res := rs.do(t, "POST", "/v1/auth/login", strings.NewReader(`{"username":"`+long+`","password":"x"}`), "Content-Type", "application/json"); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i+3, res.StatusCode)
		}
	}
	res = rs.do(t, "POST", "/v1/auth/login", strings.NewReader(`{"username":"`+long+`","password":"x"}`), "Content-Type", "application/json")
	wantError(t, res, http.StatusTooManyRequests, choso.ERateLimited)
}

// Names no user can have (a NUL, characters outside a–z 0–9 . _ -) are a
// wrong sign-in on every store, without a bucket: PostgreSQL cannot even
// look up a NUL, which made the sign-in a 400 there.
func TestLogin_ImpossibleUsername_401NoBucket(t *testing.T) {
	rs := newRegistryServer(t)
	for _, name := range []string{`vo\u0000lin`, `vo lin`, `võlin`, `volin\u0007`} {
		res := rs.do(t, "POST", "/v1/auth/login", strings.NewReader(`{"username":"`+name+`","password":"wrong password"}`), "Content-Type", "application/json")
		wantError(t, res, http.StatusUnauthorized, choso.EUnauthorized)
	}
	if rs.loginByUser.local != nil {
		if n := rs.loginByUser.local.Len(); n != 0 {
			t.Fatalf("impossible usernames took %d sign-in buckets, want 0", n)
		}
	}
	// The real user still signs in.
	res := rs.do(t, "POST", "/v1/auth/login", strings.NewReader(`{"username":"volin","password":"`+rs.pw["volin"]+`"}`), "Content-Type", "application/json")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("volin's sign-in: %d", res.StatusCode)
	}
}

func TestLogin_CookieSessionAndCrossSiteRefusal(t *testing.T) {
	rs := newRegistryServer(t)
	res := rs.do(t, "POST", "/v1/auth/login", strings.NewReader(`{"username":"volin","password":"`+rs.pw["volin"]+`"}`), "Content-Type", "application/json")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", res.StatusCode)
	}
	var body loginResponse
	json.NewDecoder(res.Body).Decode(&body)
	if body.Token == "" || body.User == nil || body.User.Username != "volin" || body.ExpiresAt.IsZero() {
		t.Fatalf("login response = %+v", body)
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Value != body.Token {
		t.Fatalf("session cookie = %+v, want HttpOnly SameSite=Strict with the token", cookie)
	}
	if strings.Contains(string(mustJSON(body.User)), "plain$") {
		t.Fatal("the user in the login response carries the password hash")
	}
	ck := "choso_session=" + cookie.Value
	if res := rs.do(t, "GET", "/v1/auth/me", nil, "Cookie", ck); res.StatusCode != http.StatusOK {
		t.Fatalf("GET me with the cookie: %d", res.StatusCode)
	}
	res = rs.do(t, "POST", "/v1/markets", strings.NewReader(`{"name":"Chợ","commune_code":"07210"}`),
		"Cookie", ck, "Content-Type", "application/json", "Origin", "https://evil.example")
	wantError(t, res, http.StatusForbidden, choso.EForbidden)
	res = rs.do(t, "POST", "/v1/markets", strings.NewReader(`{"name":"Chợ","commune_code":"07210"}`),
		"Cookie", ck, "Content-Type", "application/json", "Origin", rs.URL)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("same-origin POST with the cookie: %d", res.StatusCode)
	}
	if res := rs.do(t, "POST", "/v1/auth/logout", nil, "Cookie", ck); res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	wantError(t, rs.do(t, "GET", "/v1/auth/me", nil, "Cookie", ck), http.StatusUnauthorized, choso.EUnauthorized)
}

func TestRegistryRoutes_RefuseServerOwnedFields(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	tok := rs.token(t, "admin")
	for _, tt := range []struct{ method, path, body, field string }{
		{"PATCH", "/v1/markets/" + obj.market, `{"id":"mkt_x"}`, "id"},
		{"PATCH", "/v1/markets/" + obj.market, `{"commune_code":"00004"}`, "commune_code"},
		{"PATCH", "/v1/markets/" + obj.market, `{"created_at":"2020-01-01T00:00:00Z"}`, "created_at"},
		{"PATCH", "/v1/stalls/" + obj.stall, `{"payout":{"bin":"970418"}}`, "payout"},
		{"PATCH", "/v1/stalls/" + obj.stall, `{"qr_version":9}`, "qr_version"},
		{"PATCH", "/v1/stalls/" + obj.stall, `{"market_id":"` + obj.foreignMarket + `"}`, "market_id"},
		{"POST", "/v1/markets", `{"name":"Chợ","commune_code":"07210","province_code":"01"}`, "province_code"},
		{"PATCH", "/v1/admin/users/" + rs.users["volin"].ID, `{"password_hash":"x"}`, "password_hash"},
	} {
		res := rs.do(t, tt.method, tt.path, strings.NewReader(tt.body), "Content-Type", "application/json", "Authorization", "Bearer "+tok)
		msg := wantError(t, res, http.StatusBadRequest, choso.EInvalid)
		if !strings.Contains(msg, tt.field) {
			t.Errorf("%s %s: message %q does not name %s", tt.method, tt.path, msg, tt.field)
		}
	}
}

func TestStallList_MasksPersonalData(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	tok := rs.token(t, "volin")
	res := rs.do(t, "GET", "/v1/markets/"+obj.market+"/stalls", nil, "Authorization", "Bearer "+tok)
	b, _ := io.ReadAll(res.Body)
	if strings.Contains(string(b), "+84912345678") || strings.Contains(string(b), "0011001234567") {
		t.Fatalf("stall list shows an unmasked phone or account: %s", b)
	}
	if !strings.Contains(string(b), "*********4567") {
		t.Fatalf("stall list lacks the masked account: %s", b)
	}
}

func TestImportRoute_Limits(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	tok := rs.token(t, "volin")
	path := "/v1/markets/" + obj.market + "/stalls/import?consent_given=true"
	res := rs.do(t, "POST", path, strings.NewReader(importCSV), "Content-Type", "application/json", "Authorization", "Bearer "+tok)
	wantError(t, res, http.StatusUnsupportedMediaType, choso.EUnsupportedMedia)
	huge := importCSV + strings.Repeat("x", ImportBodyLimit)
	res = rs.do(t, "POST", path, strings.NewReader(huge), "Content-Type", "text/csv", "Authorization", "Bearer "+tok)
	wantError(t, res, http.StatusRequestEntityTooLarge, choso.ETooLarge)
	bad := importCSV + "C-2,Gạo,Gạo,Đỗ Thị Thu,12,970436,0099887766,account,DO THI THU\n"
	res = rs.do(t, "POST", path, strings.NewReader(bad), "Content-Type", "text/csv", "Authorization", "Bearer "+tok)
	var report choso.ImportReport
	json.NewDecoder(res.Body).Decode(&report)
	if res.StatusCode != http.StatusUnprocessableEntity || report.Created != 0 || len(report.Errors) != 1 || report.Errors[0].Line != 3 {
		t.Fatalf("import with a bad row: %d %+v", res.StatusCode, report)
	}
}

func TestBackupRoute_StreamsAStoreThatChecksClean(t *testing.T) {
	rs := newRegistryServer(t)
	rs.objects(t, false)
	res := rs.do(t, "GET", "/v1/admin/backup", nil, "Authorization", "Bearer "+rs.token(t, "admin"))
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("backup: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	b, _ := io.ReadAll(res.Body)
	if err := writeFile(path, b); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if problems := db.Check(context.Background()); len(problems) > 0 {
		t.Fatalf("backup check: %v", problems)
	}
	var n int
	db.View(context.Background(), func(tx choso.Tx) error { n, _ = tx.CountMarkets(); return nil })
	if n != 2 {
		t.Fatalf("backup holds %d markets, want 2", n)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// Signing out through the API with the session cookie is refused from
// another origin, as every other cookie request that changes something is:
// a page of a sibling site (same-site, so the SameSite cookie goes along)
// must not end a volunteer's session.
func TestLogout_CookieFromAnotherOriginRefused(t *testing.T) {
	rs := newRegistryServer(t)
	ck := sessionCookie + "=" + rs.token(t, "volin")
	wantError(t, rs.do(t, "POST", "/v1/auth/logout", nil, "Cookie", ck, "Origin", "https://evil.example"), http.StatusForbidden, choso.EForbidden)
	if res := rs.do(t, "GET", "/v1/auth/me", nil, "Cookie", ck); res.StatusCode != http.StatusOK {
		t.Fatalf("after a cross-site sign-out, GET me: %d, want the session alive", res.StatusCode)
	}
	if res := rs.do(t, "POST", "/v1/auth/logout", nil, "Cookie", ck, "Origin", rs.URL); res.StatusCode != http.StatusNoContent {
		t.Fatalf("same-origin sign-out: %d", res.StatusCode)
	}
	wantError(t, rs.do(t, "GET", "/v1/auth/me", nil, "Cookie", ck), http.StatusUnauthorized, choso.EUnauthorized)
}

// The per-network sign-in budget is an IPv6 /64's, not each address's: a
// phone on a carrier's IPv6 may take any address of its /64, and keyed by
// the full address every try would come with a fresh budget.
func TestLogin_RateLimitedPerIPv6Network(t *testing.T) {
	_, loopback, _ := net.ParseCIDR("127.0.0.1/32")
	ts := newTestServer(t, func(cfg *Config) {
		cfg.Registry = &choso.Registry{Store: cfg.Store, Banks: testBanks{}, Hasher: plainHasher{}, Now: time.Now}
		cfg.TrustedProxies = []*net.IPNet{loopback}
	})
	// The network's budget on a clock that stands still: it never refills,
	// however slowly a loaded machine sends the attempts.
	frozen := time.Now()
	_, ts.loginByIP = newLoginGuards(func() time.Time { return frozen }, nil)
	try := func(i int, from string) *http.Response {
		// A different username each time: only the network's budget is spent.
		return ts.do(t, "POST", "/v1/auth/login", strings.NewReader(fmt.Sprintf(`{"username":"nobody%d","password":"wrong password"}`, i)),
			"Content-Type", "application/json", "X-Forwarded-For", from)
	}
	for i := range 20 {
		if res := try(i, fmt.Sprintf("2001:db8:1:2::%x", i+1)); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i+1, res.StatusCode)
		}
	}
	wantError(t, try(20, "2001:db8:1:2:ffff::99"), http.StatusTooManyRequests, choso.ERateLimited)
	// Another /64, and an IPv4 address, have budgets of their own.
	if res := try(21, "2001:db8:1:3::1"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("another /64: %d, want 401", res.StatusCode)
	}
	if res := try(22, "203.0.113.7"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("an IPv4 address: %d, want 401", res.StatusCode)
	}
}
