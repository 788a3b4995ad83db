package server

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/choso/choso"
)

// mismatchDay makes 2026-11-20 a mismatch for stall: a final day of one
// cash sale of 10,000 đồng and a bank line of 75,000 (FT2611200001) to its
// account that pays no sale. It returns the date.
func (rs *registryServer) mismatchDay(t *testing.T, stall string) string {
	t.Helper()
	ctx := context.Background()
	st := rs.stall(t, stall)
	date := "2026-11-20"
	err := rs.reg.Store.Update(ctx, func(tx choso.Tx) error {
		return tx.PutStallDay(&choso.StallDay{Status: choso.DayFinal, StallID: st.ID, MarketID: st.MarketID,
			CommuneCode: st.CommuneCode, ProvinceCode: st.ProvinceCode, Date: date,
			ByMethod: map[string]choso.MethodTotals{choso.MethodCash: {Count: 1, Amount: 10_000}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	pt := rs.bankPartner(t)
	at := time.Date(2026, 11, 20, 9, 30, 0, 0, vietnam)
	res, err := rs.partners.PostCredits(ctx, pt, []choso.CreditInput{{BankTxnID: "FT2611200001", BIN: st.Payout.BIN, Account: st.Payout.Account, Amount: 75_000, CreditedAt: at, Content: "chuyen tien"}})
	if err != nil || res[0].Status != choso.CreditCreated {
		t.Fatalf("post credit: %+v, %v", res, err)
	}
	return date
}

// putQRSale records a QR sale of a stall as the sync rules index it.
func putQRSale(tx choso.Tx, st *choso.Stall, id string, amount int64, at time.Time, date string) error {
	if err := tx.PutEntity(id, &choso.Entity{Type: choso.EventSaleRecord, StallID: st.ID, BusinessDate: date,
		Method: choso.MethodQR, Amount: amount, EffectiveMs: at.UnixMilli()}); err != nil {
		return err
	}
	return tx.PutQRSale(st.ID, at.UnixMilli(), id)
}

// bankPartner adds a bank partner covering province 24.
func (rs *registryServer) bankPartner(t *testing.T) *choso.Partner {
	t.Helper()
	pt, _, _, err := rs.partners.AddPartner(t.Context(), choso.SystemPrincipal("test"), choso.NewPartner{Name: "Ngân hàng", Provinces: []string{"24"}})
	if err != nil {
		t.Fatal(err)
	}
	return pt
}

// a11yPages signs in as volin on objects with a sale and a bank line on
// 2026-11-20 (a mismatch), and returns the pages that show tables.
func a11yPages(t *testing.T) map[string]string {
	t.Helper()
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	date := rs.mismatchDay(t, obj.stall)
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

// fieldMark reads how a page marks its form control with id: the control's
// aria-invalid, and the text of the elements its aria-describedby names,
// joined by " | ". found is false when the page has no such control.
func fieldMark(page, id string) (invalid, described string, found bool) {
	control := regexp.MustCompile(`<(?:input|select|textarea)\b[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(page)
	if control == "" {
		return "", "", false
	}
	if m := regexp.MustCompile(`\baria-invalid="([^"]*)"`).FindStringSubmatch(control); m != nil {
		invalid = m[1]
	}
	m := regexp.MustCompile(`\baria-describedby="([^"]*)"`).FindStringSubmatch(control)
	if m == nil {
		return invalid, "", true
	}
	tag := regexp.MustCompile(`<[^>]+>`)
	var texts []string
	for _, ref := range strings.Fields(m[1]) {
		el := regexp.MustCompile(`(?s)<(\w+)\b[^>]*\bid="` + regexp.QuoteMeta(ref) + `"[^>]*>(.*?)</(\w+)>`).FindStringSubmatch(page)
		if el == nil {
			texts = append(texts, "(no element "+ref+")")
			continue
		}
		texts = append(texts, strings.Join(strings.Fields(html.UnescapeString(tag.ReplaceAllString(el[2], ""))), " "))
	}
	return invalid, strings.Join(texts, " | "), true
}

// A CSV the check refuses marks the file field, described by the count
// of its bad lines (the table below lists them), so TalkBack reads with
// the field why another file is wanted. A file the check takes leaves it
// unmarked.
func TestWeb_ImportCheckMarksTheFile(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	for _, c := range []struct {
		name, csv, invalid, described string
	}{
		{"a BIN not in NAPAS", strings.Replace(importCSV, ",970436,", ",123456,", 1), "true", "Có 1 dòng lỗi; chưa nhập quầy nào."},
		{"a good file", importCSV, "", ""},
	} {
		_, page := rs.postImport(t, rs.token(t, "volin"), obj.market, "check", true, c.csv, false)
		invalid, described, found := fieldMark(page, "file")
		if !found || invalid != c.invalid || described != c.described {
			t.Errorf("%s: #file aria-invalid=%q, described by %q (found %v); want %q and %q", c.name, invalid, described, found, c.invalid, c.described)
		}
	}
}

// A form the server refuses marks the field it is about: aria-invalid on
// that control, and its aria-describedby naming the message, so TalkBack
// reads the problem with the field and a volunteer on a 360 px phone sees
// which of a long form's fields to fix. The other fields stay unmarked,
// and the account keeps its live check's description.
func TestWeb_FormErrorMarksItsField(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	stall := func(change map[string]string) url.Values {
		v := url.Values{"code": {"C-9"}, "name": {"Cá tươi"}, "vendor_name": {"Lê Văn Cá"}, "vendor_phone": {"0912345670"},
			"bank": {"970436"}, "service": {"account"}, "account": {"0011009876543"}, "holder_name": {"LE VAN CA"}, "consent": {"yes"}}
		for k, x := range change {
			v.Set(k, x)
		}
		return v
	}
	edit := url.Values{"code": {"A-1"}, "name": {"Bún chả cô Lan"}, "category": {""}, "vendor_name": {"Nguyễn Thị Lan"}, "status": {"active"}}
	const checkHint = "Mã VietQR sẽ hiện khi tài khoản hợp lệ." // the live check's words before it answers
	longName := url.Values{"name": {strings.Repeat("Chợ ", 40)}, "commune_code": {"07210"}, "address": {""}}
	for _, c := range []struct {
		name, method, path string
		form               url.Values
		field, message     string   // the control marked and the words its description holds
		others             []string // controls of the same form left unmarked
		describedToo       string   // words the field's description keeps beside the message
	}{
		{"stall form, a phone of 11 digits", "POST", "/markets/" + obj.market + "/stalls/new", stall(map[string]string{"vendor_phone": "01234567890"}),
			"vendor_phone", "11 chữ số", []string{"code", "name", "bank", "account"}, ""},
		{"stall form, a code taken", "POST", "/markets/" + obj.market + "/stalls/new", stall(map[string]string{"code": "A-1"}),
			"code", "Mã quầy A-1 đã có trong chợ này.", []string{"name", "vendor_phone", "account"}, ""},
		{"stall form, a BIN not in NAPAS", "POST", "/markets/" + obj.market + "/stalls/new", stall(map[string]string{"bank": "912345"}),
			"bank", "không có trong danh sách NAPAS", []string{"account", "code"}, checkHint},
		{"stall form, an account with a dash", "POST", "/markets/" + obj.market + "/stalls/new", stall(map[string]string{"account": "0011-00"}),
			"account", "Số tài khoản chỉ gồm chữ và số.", []string{"bank", "holder_name"}, checkHint},
		{"stall edit, a name too long", "POST", "/stalls/" + obj.stall + "/edit", func() url.Values {
			v := url.Values{}
			for k, x := range edit {
				v[k] = x
			}
			v.Set("name", strings.Repeat("Bún chả ", 12))
			return v
		}(), "name", "Tên quầy phải có từ 1 đến 80 ký tự.", []string{"code", "category"}, ""},
		{"payout change, an account with a dash", "POST", "/stalls/" + obj.stall + "/payout", url.Values{"action": {"propose"},
			"bank": {"970436"}, "service": {"account"}, "account": {"0011-00"}, "holder_name": {"NGUYEN THI LAN"}},
			"account", "Số tài khoản chỉ gồm chữ và số.", []string{"bank", "code", "name"}, checkHint},
		{"new market, a commune that is not one", "POST", "/markets/new", url.Values{"name": {"Chợ Mới"}, "commune_code": {"99999"}, "address": {""}},
			"commune_code", "Không có xã/phường mã 99999.", []string{"name", "address"}, ""},
		{"new market, a name too long", "POST", "/markets/new", longName,
			"name", "Tên chợ phải có từ 1 đến 120 ký tự.", []string{"commune_code", "address"}, ""},
		{"market edit, a name too long", "POST", "/markets/" + obj.market + "/edit", longName,
			"name", "Tên chợ phải có từ 1 đến 120 ký tự.", []string{"address"}, ""},
		{"dashboard, to before from", "GET", "/dashboard?from=2026-11-30&to=2026-11-01", nil,
			"to", "“Đến ngày” không được trước “Từ ngày”.", []string{"group"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var res *http.Response
			var page string
			if c.method == "GET" {
				res, page = rs.getPage(t, "volin", c.path)
			} else {
				res, page = rs.postPage(t, "volin", c.path, c.form)
			}
			if res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", res.StatusCode)
			}
			if !strings.Contains(html.UnescapeString(page), `role="alert"`) || !strings.Contains(html.UnescapeString(page), c.message) {
				t.Fatalf("the page does not say %q in its alert", c.message)
			}
			invalid, described, found := fieldMark(page, c.field)
			if !found {
				t.Fatalf("the page has no control #%s", c.field)
			}
			if invalid != "true" {
				t.Errorf("#%s: aria-invalid=%q, want \"true\"", c.field, invalid)
			}
			if !strings.Contains(described, c.message) {
				t.Errorf("#%s: its description reads %q, want the message %q", c.field, described, c.message)
			}
			if c.describedToo != "" && !strings.Contains(described, c.describedToo) {
				t.Errorf("#%s: its description reads %q, want the message and the live check's %q", c.field, described, c.describedToo)
			}
			for _, other := range c.others {
				if inv, _, ok := fieldMark(page, other); ok && inv == "true" {
					t.Errorf("#%s is marked invalid too: the problem is #%s", other, c.field)
				}
			}
			if focused := regexp.MustCompile(`<(?:input|select|textarea)\b[^>]*\bautofocus\b[^>]*>`).FindAllString(page, -1); len(focused) != 1 || !strings.Contains(focused[0], `id="`+c.field+`"`) {
				t.Errorf("the controls taking the focus: %q, want #%s alone", focused, c.field)
			}
		})
	}
}
