package server

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/qr"
)

func TestStallQR_StaticPNGWithETag(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	tok := "Bearer " + rs.token(t, "volin")
	res := rs.do(t, "GET", "/v1/stalls/"+obj.stall+"/qr?size=300", nil, "Authorization", tok)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("qr: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	img, err := png.Decode(res.Body)
	if err != nil {
		t.Fatalf("decode PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 300 || b.Dy() != 300 {
		t.Fatalf("image is %v, want 300×300", b)
	}
	etag := res.Header.Get("ETag")
	if etag == "" || res.Header.Get("X-Choso-QR-Version") != "1" || res.Header.Get("Cache-Control") != "private, no-cache" {
		t.Fatalf("headers: ETag %q, version %q, cache %q", etag, res.Header.Get("X-Choso-QR-Version"), res.Header.Get("Cache-Control"))
	}
	res = rs.do(t, "GET", "/v1/stalls/"+obj.stall+"/qr?size=300", nil, "Authorization", tok, "If-None-Match", etag)
	if res.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d, want 304", res.StatusCode)
	}
	// An approved payout change makes a new code: the old ETag no longer matches.
	ctx := t.Context()
	rs.reg.ProposePayoutChange(ctx, rs.users["volpeer"].Principal(), obj.stall, choso.PayoutAccount{BIN: "970418", Account: "58110000715752", Holder: "NGUYEN THI LAN"})
	if _, err := rs.reg.ApprovePayoutChange(ctx, rs.users["volin"].Principal(), obj.stall, time.Time{}); err != nil {
		t.Fatal(err)
	}
	res = rs.do(t, "GET", "/v1/stalls/"+obj.stall+"/qr?size=300", nil, "Authorization", tok, "If-None-Match", etag)
	if res.StatusCode != http.StatusOK || res.Header.Get("ETag") == etag || res.Header.Get("X-Choso-QR-Version") != "2" {
		t.Fatalf("after a payout change: %d, ETag %q (was %q), version %s", res.StatusCode, res.Header.Get("ETag"), etag, res.Header.Get("X-Choso-QR-Version"))
	}
}

// svgPayloadCheck renders the expected payload the same way and compares:
// the SVG must be exactly the code of the stall's account.
func TestStallQR_SVGIsTheStallsStaticCode(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	res := rs.do(t, "GET", "/v1/stalls/"+obj.stall+"/qr?format=svg&size=256", nil, "Authorization", "Bearer "+rs.token(t, "official"))
	got, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("svg: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	payload, err := qr.Encode(qr.Transfer{BIN: "970436", Account: "0011001234567"})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	qr.RenderSVG(&want, payload, qr.LevelM, 256)
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("the SVG is not the static code of the stall's payout account")
	}
}

func TestStallQR_DynamicCodeCarriesAFreshReference(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	tok := "Bearer " + rs.token(t, "volin")
	refs := map[string]bool{}
	for range 3 {
		res := rs.do(t, "GET", "/v1/stalls/"+obj.stall+"/qr?amount=45000&purpose=B%C3%BAn+ch%E1%BA%A3", nil, "Authorization", tok)
		ref := res.Header.Get("X-Choso-Payment-Ref")
		if res.StatusCode != http.StatusOK || !qr.ValidReference(ref) || res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("ETag") != "" {
			t.Fatalf("dynamic: %d ref %q cache %q", res.StatusCode, ref, res.Header.Get("Cache-Control"))
		}
		refs[ref] = true
	}
	if len(refs) != 3 {
		t.Fatalf("three dynamic codes share references: %v", refs)
	}
	for _, bad := range []string{"amount=0", "amount=1000000000", "amount=12.5", "purpose=x", "format=gif", "size=10", "size=5000", "level=Z"} {
		res := rs.do(t, "GET", "/v1/stalls/"+obj.stall+"/qr?"+bad, nil, "Authorization", tok)
		wantError(t, res, http.StatusBadRequest, choso.EInvalid)
	}
}

func TestQRDecodeRoute(t *testing.T) {
	rs := newRegistryServer(t)
	tok := "Bearer " + rs.token(t, "official")
	decode := func(payload string) map[string]any {
		body, _ := json.Marshal(map[string]string{"payload": payload})
		res := rs.do(t, "POST", "/v1/qr/decode", bytes.NewReader(body), "Authorization", tok, "Content-Type", "application/json")
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("decode: %d %v", res.StatusCode, out)
		}
		return out
	}
	ok := decode("00020101021138580010A000000727012800069704180114581100007157520208QRIBFTTA53037045802VN630438C8")
	fields := ok["fields"].(map[string]any)
	if ok["transfer"] != true || ok["verdict"] != "ok" || fields["bin"] != "970418" || fields["account"] != "58110000715752" {
		t.Fatalf("valid code: %v", ok)
	}
	bad := decode("00020101021138580010A000000727012800069704180114581100007157520208QRIBFTTA53037045802VN63040000")
	if bad["transfer"] != false || bad["verdict"] != "bad_crc" || bad["emv_ok"] != false {
		t.Fatalf("bad CRC: %v", bad)
	}
	res := rs.do(t, "POST", "/v1/qr/decode", strings.NewReader(`{"payload":"`+strings.Repeat("0", 5000)+`"}`), "Authorization", tok, "Content-Type", "application/json")
	wantError(t, res, http.StatusRequestEntityTooLarge, choso.ETooLarge)
}

func TestBankList(t *testing.T) {
	rs := newRegistryServer(t)
	tok := "Bearer " + rs.token(t, "volin")
	var out struct {
		Data []bankView `json:"data"`
	}
	res := rs.do(t, "GET", "/v1/banks", nil, "Authorization", tok)
	json.NewDecoder(res.Body).Decode(&out)
	if len(out.Data) < 50 {
		t.Fatalf("%d banks, want the whole directory", len(out.Data))
	}
	for _, q := range []struct {
		q, wantBIN string
	}{{"970436", "970436"}, {"VCB", "970436"}, {"ngoai thuong", "970436"}, {"970459", ""}} {
		res := rs.do(t, "GET", "/v1/banks?q="+strings.ReplaceAll(q.q, " ", "+"), nil, "Authorization", tok)
		out.Data = nil
		json.NewDecoder(res.Body).Decode(&out)
		if q.wantBIN == "" {
			continue
		}
		found := false
		for _, b := range out.Data {
			found = found || b.BIN == q.wantBIN
		}
		if !found {
			t.Errorf("?q=%s did not find %s", q.q, q.wantBIN)
		}
	}
}

func TestCards_ShowWhatAVendorNeeds(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	tok := "Bearer " + rs.token(t, "volin")
	res := rs.do(t, "GET", "/v1/stalls/"+obj.stall+"/card", nil, "Authorization", tok)
	b, _ := io.ReadAll(res.Body)
	page := string(b)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("card: %d", res.StatusCode)
	}
	for _, want := range []string{"A-1", "Bún chả cô Lan", "Chợ Thương", "NGUYEN THI LAN", "*********4567", "Mã QR v1", "<svg", "/assets/print.css"} {
		if !strings.Contains(page, want) {
			t.Errorf("card lacks %q", want)
		}
	}
	if strings.Contains(page, "0011001234567") {
		t.Error("card shows the whole account number")
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"#]+)"`).FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(m[1], "/") || strings.HasPrefix(m[1], "//") {
			t.Errorf("card loads %q from outside", m[1])
		}
	}

	// Nine active stalls and one suspended: three A4 pages of up to four cards.
	ctx := t.Context()
	volin := rs.users["volin"].Principal()
	for i := 2; i <= 10; i++ {
		s, err := rs.reg.CreateStall(ctx, volin, obj.market, choso.NewStall{
			Code: "A-" + string(rune('0'+i%10)) + string(rune('a'+i)), Name: "Quầy", VendorName: "Lê Văn Tám", VendorPhone: "0987654321",
			Payout: choso.PayoutAccount{BIN: "970422", Account: "0123456789", Holder: "LE VAN TAM"}, ConsentGiven: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		if i == 10 {
			suspended := choso.StallSuspended
			rs.reg.UpdateStall(ctx, volin, s.ID, choso.StallPatch{Status: &suspended})
		}
	}
	res = rs.do(t, "GET", "/v1/markets/"+obj.market+"/cards", nil, "Authorization", tok)
	b, _ = io.ReadAll(res.Body)
	sheet := string(b)
	if n := strings.Count(sheet, `<article class="card"`); n != 9 {
		t.Fatalf("sheet has %d cards, want the 9 active stalls", n)
	}
	if n := strings.Count(sheet, `<div class="page">`); n != 3 {
		t.Fatalf("sheet has %d pages, want 3", n)
	}
	// One h1, the sheet's; each card a heading under it, so a screen
	// reader's list of headings is the list of stalls. The English half of
	// the printing note says it is English.
	if n, m := strings.Count(sheet, "<h1"), strings.Count(sheet, `<h2><span class="code">`); n != 1 || m != 9 {
		t.Errorf("sheet has %d h1 and %d card headings, want one h1 and a heading a card", n, m)
	}
	if !strings.Contains(sheet, `<span lang="en">Print at`) {
		t.Error("the printing note's English is not marked lang=en")
	}
	// A stall stored active after its vendor was erased (the registry no
	// longer allows it; older stores may hold one) has no card, and the
	// sheet of the others still prints.
	err := rs.reg.Store.Update(ctx, func(tx choso.Tx) error {
		st, err := tx.FindStall(obj.stall)
		if err != nil {
			return err
		}
		now := time.Now()
		st.ErasedAt, st.Status, st.Payout.Account, st.Payout.Holder = &now, choso.StallActive, choso.MaskAccount(st.Payout.Account), choso.ErasedMarker
		return tx.UpdateStall(st)
	})
	if err != nil {
		t.Fatal(err)
	}
	res = rs.do(t, "GET", "/v1/markets/"+obj.market+"/cards", nil, "Authorization", tok)
	b, _ = io.ReadAll(res.Body)
	if n := strings.Count(string(b), `<article class="card"`); res.StatusCode != http.StatusOK || n != 8 {
		t.Fatalf("sheet with an erased stall: %d, %d cards; want 200 and the 8 others", res.StatusCode, n)
	}
}

func TestAssets(t *testing.T) {
	ts := newTestServer(t)
	res := ts.do(t, "GET", "/assets/print.css", nil)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("print.css: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, bad := range []string{"/assets/..%2fserver.go", "/assets/nope.css", "/assets/%2e%2e"} {
		if res := ts.do(t, "GET", bad, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", bad, res.StatusCode)
		}
	}
}

// The approval form names the proposal its page showed. When the proposer
// replaces the proposal (with another account) after the approver opened
// the page, the approval is refused and the account stays; approved from
// the page showing the new proposal, it applies.
func TestWeb_PayoutApproval_NamesTheProposalShown(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, true) // volpeer proposed an account
	tok := rs.token(t, "volin")
	proposedAt := func() string {
		t.Helper()
		res := rs.do(t, "GET", "/stalls/"+obj.stall+"/edit", nil, "Authorization", "Bearer "+tok)
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		_, v, ok := strings.Cut(string(page), `name="proposed_at" value="`)
		v, _, _ = strings.Cut(v, `"`)
		if !ok || v == "" {
			t.Fatalf("the edit page (%d) has no proposal in its approval form", res.StatusCode)
		}
		return v
	}
	approve := func(seen string) int {
		t.Helper()
		form := url.Values{"_csrf": {rs.csrfToken(tok)}, "action": {"approve"}, "proposed_at": {seen}}
		res := rs.doNoRedirect(t, "POST", "/stalls/"+obj.stall+"/payout", strings.NewReader(form.Encode()),
			"Content-Type", "application/x-www-form-urlencoded", "Authorization", "Bearer "+tok)
		res.Body.Close()
		return res.StatusCode
	}
	payout := func() string {
		t.Helper()
		st := rs.stall(t, obj.stall)
		return st.Payout.Account
	}
	seen := proposedAt()
	if _, err := rs.reg.ProposePayoutChange(t.Context(), rs.users["volpeer"].Principal(), obj.stall,
		choso.PayoutAccount{BIN: "970418", Account: "99990000111122", Holder: "NGUYEN THI LAN"}); err != nil {
		t.Fatal(err)
	}
	if code := approve(seen); code == http.StatusSeeOther || payout() != "0011001234567" {
		t.Fatalf("approving a proposal replaced since the page was opened: %d, account %s", code, payout())
	}
	if code := approve(proposedAt()); code != http.StatusSeeOther || payout() != "99990000111122" {
		t.Fatalf("approving the proposal shown: %d, account %s", code, payout())
	}
}

// The approval API may name the proposal it reviewed: one replaced since is
// 409, the account unchanged; the proposal as reviewed is approved.
func TestAPI_PayoutApproval_NamesTheProposalReviewed(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, true) // volpeer proposed an account
	tok := "Bearer " + rs.token(t, "volin")
	st, err := rs.reg.FindStall(t.Context(), choso.SystemPrincipal("test"), obj.stall)
	if err != nil || st.PendingPayout == nil {
		t.Fatalf("the stall's proposal: %+v, %v", st, err)
	}
	seen := st.PendingPayout.ProposedAt
	replaced, err := rs.reg.ProposePayoutChange(t.Context(), rs.users["volpeer"].Principal(), obj.stall,
		choso.PayoutAccount{BIN: "970418", Account: "99990000111122", Holder: "NGUYEN THI LAN"})
	if err != nil {
		t.Fatal(err)
	}
	approve := func(at time.Time) *http.Response {
		body, _ := json.Marshal(map[string]time.Time{"proposed_at": at})
		return rs.do(t, "POST", "/v1/stalls/"+obj.stall+"/payout-change/approve", bytes.NewReader(body), "Authorization", tok, "Content-Type", "application/json")
	}
	wantError(t, approve(seen), http.StatusConflict, choso.EConflict)
	if res := approve(replaced.PendingPayout.ProposedAt); res.StatusCode != http.StatusOK {
		t.Fatalf("approving the proposal as reviewed: %d", res.StatusCode)
	}
	if st, _ := rs.reg.FindStall(t.Context(), choso.SystemPrincipal("test"), obj.stall); st.Payout.Account != "99990000111122" {
		t.Fatalf("account %s after the approval", st.Payout.Account)
	}
}
