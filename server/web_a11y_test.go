package server

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/choso/choso"
)

// a11yPages signs in as volin on objects with a sale and a bank line on
// 2026-11-20 (a mismatch), and returns the pages that show tables.
func a11yPages(t *testing.T) map[string]string {
	t.Helper()
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	ctx := context.Background()
	st, err := rs.reg.FindStall(ctx, choso.SystemPrincipal("test"), obj.stall)
	if err != nil {
		t.Fatal(err)
	}
	date := "2026-11-20"
	err = rs.reg.Store.Update(ctx, func(tx choso.Tx) error {
		return tx.PutStallDay(&choso.StallDay{Status: choso.DayFinal, StallID: st.ID, MarketID: st.MarketID,
			CommuneCode: st.CommuneCode, ProvinceCode: st.ProvinceCode, Date: date,
			ByMethod: map[string]choso.MethodTotals{choso.MethodCash: {Count: 1, Amount: 10_000}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	pt, _, _, err := rs.partners.AddPartner(ctx, choso.SystemPrincipal("test"), choso.NewPartner{Name: "Ngân hàng", Provinces: []string{"24"}})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 9, 30, 0, 0, vietnam)
	if _, err := rs.partners.PostCredits(ctx, pt, []choso.CreditInput{{BankTxnID: "FT2611200001", BIN: st.Payout.BIN, Account: st.Payout.Account, Amount: 75_000, CreditedAt: at, Content: "chuyen tien"}}); err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{}
	for _, path := range []string{"/dashboard?from=2026-11-01&to=2026-11-30", "/markets/" + obj.market, "/stalls/" + obj.stall,
		"/stalls/" + obj.stall + "/statement?period=2026-11", "/reconciliation?market_id=" + obj.market + "&date=" + date} {
		res, page := rs.getPage(t, "volin", path)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", path, res.StatusCode)
		}
		pages[path] = page
	}
	bad := strings.Replace(importCSV, ",970436,", ",123456,", 1)
	res, page := rs.postImport(t, rs.token(t, "volin"), obj.market, "check", true, bad, false)
	if res.StatusCode != http.StatusUnprocessableEntity && res.StatusCode != http.StatusOK {
		t.Fatalf("import check: status %d", res.StatusCode)
	}
	pages["import check"] = page
	return pages
}

// Every table has a name, a caption or an aria-label(ledby): a screen
// reader's list of tables, and the table it enters, says what it holds
// ("table, 4 columns" of a stall page told a TalkBack user nothing).
func TestWeb_EveryTableHasAName(t *testing.T) {
	open := regexp.MustCompile(`<table[^>]*>\s*(<caption)?`)
	n := 0
	for path, page := range a11yPages(t) {
		for _, m := range open.FindAllStringSubmatch(page, -1) {
			n++
			if m[1] == "" && !strings.Contains(m[0], "aria-label") {
				t.Errorf("%s: got %s, want a caption or an aria-label(ledby)", path, m[0])
			}
		}
	}
	if n < 7 {
		t.Fatalf("found %d tables, want the dashboard's, the stalls', the phones', the statement's, the import's and the reconciliation's", n)
	}
}

// A stall's phones each have their Revoke: read out of their row (Tab,
// or TalkBack's list of controls), each says which phone it removes, not
// "Thu hồi, Thu hồi".
func TestWeb_RevokeButtonsSayWhichPhone(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	ctx := context.Background()
	code, _, err := rs.reg.CreateEnrollment(ctx, rs.users["volin"].Principal(), obj.stall)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rs.reg.RedeemEnrollment(ctx, code, "1.0.0", nil); err != nil {
		t.Fatal(err)
	}
	_, page := rs.getPage(t, "volin", "/stalls/"+obj.stall)
	button := regexp.MustCompile(`(?s)action="/devices/([^"/]+)/revoke".*?<button[^>]*>(.*?)</button>`)
	tag := regexp.MustCompile(`<[^>]+>`)
	seen := map[string]bool{}
	buttons := button.FindAllStringSubmatch(page, -1)
	for _, m := range buttons {
		name := strings.Join(strings.Fields(tag.ReplaceAllString(m[2], "")), " ")
		if seen[name] || !strings.Contains(name, m[1]) {
			t.Errorf("the Revoke of %s is named %q: want a name of its own that names the phone", m[1], name)
		}
		seen[name] = true
	}
	if len(buttons) != 2 {
		t.Fatalf("found %d Revoke buttons, want the stall's two phones'", len(buttons))
	}
}

// A QR code is one image to a screen reader, named by its wrapper ("Mã
// VietQR A-1"): the svg inside it is hidden, or Chromium's tree held a
// second, unnamed image under the named one.
func TestWeb_QRCodeIsOneNamedImage(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	_, stallPage := rs.getPage(t, "volin", "/stalls/"+obj.stall)
	res, enrollPage := rs.postPage(t, "volin", "/stalls/"+obj.stall+"/enroll", url.Values{})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("enroll: status %d", res.StatusCode)
	}
	wrapped := regexp.MustCompile(`(?s)<div class="qr" role="img" aria-label="[^"]+"><span aria-hidden="true"><svg`)
	for name, page := range map[string]string{"stall page": stallPage, "enrollment page": enrollPage} {
		if !strings.Contains(page, "<svg") {
			t.Fatalf("%s: no QR code", name)
		}
		if !wrapped.MatchString(page) {
			i := strings.Index(page, `class="qr"`)
			t.Errorf("%s: the QR's svg is not hidden inside its named image: %.200s", name, page[max(0, i-5):])
		}
	}
}
