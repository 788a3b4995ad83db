package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/choso/choso"
)

// postPage submits a page form as name, with the session's CSRF token.
func (rs *registryServer) postPage(t *testing.T, name, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	tok := rs.token(t, name)
	form.Set(csrfField, rs.csrfToken(tok))
	res := rs.doNoRedirect(t, "POST", path, strings.NewReader(form.Encode()),
		"Authorization", "Bearer "+tok, "Content-Type", "application/x-www-form-urlencoded")
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (rs *registryServer) getPage(t *testing.T, name, path string) (*http.Response, string) {
	t.Helper()
	res := rs.doNoRedirect(t, "GET", path, nil, "Authorization", "Bearer "+rs.token(t, name))
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// A card stall whose form fails validation must come back as a card stall.
func TestWeb_StallForm_KeepsCardServiceOnError(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	res, page := rs.postPage(t, "volin", "/markets/"+obj.market+"/stalls/new", url.Values{
		"code": {"C-9"}, "name": {"Cá tươi"}, "vendor_name": {"Lê Văn Cá"}, "vendor_phone": {"0912345670"},
		"bank": {"970436"}, "service": {"card"}, "account": {"9704360000000001"}, "holder_name": {""}, // holder missing
		"consent": {"yes"},
	})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422:\n%s", res.StatusCode, page)
	}
	if !strings.Contains(page, `value="card" checked`) {
		t.Logf("%s", page[strings.Index(page, `class="error"`):][:200])
		t.Errorf("the re-rendered form lost the Card choice: the volunteer resubmits a card number as an account")
	}
}

// A rejected stall edit must show what the volunteer typed.
func TestWeb_StallEdit_KeepsTypedOnError(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	long := strings.Repeat("Bún chả ", 12) // 96 runes: over the 80 the rules allow, under the form's maxlength 120
	res, page := rs.postPage(t, "volin", "/stalls/"+obj.stall+"/edit", url.Values{
		"code": {"A-1"}, "name": {long}, "category": {"Ăn uống"}, "vendor_name": {"Nguyễn Thị Lan"}, "status": {"active"},
	})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422:\n%s", res.StatusCode, page)
	}
	if !strings.Contains(html.UnescapeString(page), `value="`+long+`"`) || !strings.Contains(html.UnescapeString(page), `value="Ăn uống"`) {
		t.Logf("%s", page[strings.Index(page, `class="error"`):][:200])
		t.Errorf("the re-rendered edit form shows the stored stall, not what was typed")
	}
}

// A form posted after the session ended must answer with a page (or the
// sign-in page), not a JSON error body.
func TestWeb_ExpiredSessionFormPost_GetsAPage(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	form := url.Values{"code": {"C-9"}, "name": {"Cá tươi"}, csrfField: {"x"}}
	res := rs.doNoRedirect(t, "POST", "/markets/"+obj.market+"/stalls/new", strings.NewReader(form.Encode()),
		"Cookie", sessionCookie+"=expired-or-logged-out", "Content-Type", "application/x-www-form-urlencoded",
		"Referer", rs.URL+"/markets/"+obj.market+"/stalls/new")
	b, _ := io.ReadAll(res.Body)
	if ct := res.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
		t.Fatalf("status %d, %s: a volunteer's browser shows raw JSON: %s", res.StatusCode, ct, b)
	}
	// The sign-in page, which leads back to the form's page.
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), `value="/markets/`+obj.market+`/stalls/new"`) {
		t.Fatalf("status %d: want the sign-in page leading back to the form's page:\n%s", res.StatusCode, b)
	}
}

// The language switch (and the sign-in page's next) must not redirect off the site.
func TestWeb_LangNext_NoOpenRedirect(t *testing.T) {
	rs := newRegistryServer(t)
	for _, next := range []string{"/\t/evil.example/", "/\t\\evil.example/"} {
		req, _ := http.NewRequest("GET", rs.URL+"/lang/en?next="+url.QueryEscape(next), nil)
		res, err := http.DefaultTransport.RoundTrip(req) // the raw answer: Go's client refuses to parse such a Location
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc := res.Header.Get("Location")
		// Browsers drop ASCII tab and newline from a URL before parsing it.
		clean := strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(loc)
		if strings.HasPrefix(clean, "//") || strings.HasPrefix(clean, "/\\") {
			t.Errorf("next=%q: Location %q sends the browser to another site", next, loc)
		}
	}
}

// The dashboard's own form, submitted with "all provinces", must show the
// user's markets.
func TestWeb_Dashboard_AllProvincesShowsMarkets(t *testing.T) {
	rs := newRegistryServer(t)
	rs.objects(t, false)
	for _, who := range []string{"official", "admin"} {
		_, before := rs.getPage(t, who, "/dashboard")
		if !strings.Contains(before, "Chợ Thương") {
			t.Fatalf("%s: the dashboard does not show the market at all", who)
		}
		// What the form sends when Tỉnh/thành is left at Tất cả.
		today := time.Now().In(vietnam).Format(time.DateOnly)
		_, plain := rs.getPage(t, who, "/dashboard?to="+today+"&group=markets")
		if !strings.Contains(plain, "Chợ Thương") {
			t.Fatalf("%s: the dashboard with a date does not show the market", who)
		}
		_, after := rs.getPage(t, who, "/dashboard?to="+today+"&province=&group=markets")
		if !strings.Contains(after, "Chợ Thương") {
			t.Errorf("%s: pressing Xem with Tỉnh/thành = Tất cả empties the dashboard", who)
		}
	}
}

// postImport sends a market's import form as its page does, multipart:
// action (check or import), the consent box when ticked, the CSV as the
// uploaded file or, when asField, in the csv field the confirm form sends
// it back in. It returns the answer and its page.
func (rs *registryServer) postImport(t *testing.T, tok, market, action string, consent bool, csvText string, asField bool) (*http.Response, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField(csrfField, rs.csrfToken(tok))
	mw.WriteField("action", action)
	if consent {
		mw.WriteField("consent", "yes")
	}
	if asField {
		mw.WriteField("csv", csvText)
	} else {
		fw, _ := mw.CreateFormFile("file", "stalls.csv")
		io.WriteString(fw, csvText)
	}
	mw.Close()
	res := rs.doNoRedirect(t, "POST", "/markets/"+market+"/import", &body,
		"Authorization", "Bearer "+tok, "Content-Type", mw.FormDataContentType())
	page, _ := io.ReadAll(res.Body)
	return res, string(page)
}

// A CSV file over 64 KiB (some 800 stalls) is well under the 8 MiB the
// import page promises.
func TestWeb_ImportPage_AcceptsAFileOver64KiB(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	var csvText strings.Builder
	csvText.WriteString(strings.Join(choso.StallCSVColumns, ",") + "\n")
	for i := 0; csvText.Len() < 100<<10; i++ {
		fmt.Fprintf(&csvText, "C-%d,Quầy rau số %d,Rau,Nguyễn Thị Hoa,09123%05d,970436,00110%08d,account,NGUYEN THI HOA\n", i, i, i, i)
	}
	res, page := rs.postImport(t, rs.token(t, "volin"), obj.market, "check", true, csvText.String(), false)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `id="import-result"`) {
		i := strings.Index(page, `class="error"`)
		t.Fatalf("a %d KiB file: status %d: %s", csvText.Len()>>10, res.StatusCode, page[max(i, 0):][:120])
	}
}

// The confirm form sends the checked file back in a field; urlencoded,
// Vietnamese text grows about threefold, past the 10 MB Go reads of such a
// form, so a valid file of some 3.5–8 MiB passed the check and failed at
// Nhập. The form is multipart, as the upload is.
func TestWeb_ImportPage_ConfirmFormIsMultipart(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	res, page := rs.postImport(t, rs.token(t, "volin"), obj.market, "check", true, importCSV, false)
	_, form, ok := strings.Cut(page, `<input type="hidden" name="action" value="import">`)
	if res.StatusCode != http.StatusOK || !ok {
		t.Fatalf("the check of a valid file (%d) offers no confirm form", res.StatusCode)
	}
	start := strings.LastIndex(page[:len(page)-len(form)], "<form")
	if tag := page[start:]; !strings.HasPrefix(tag[:strings.Index(tag, ">")], `<form method="post" action="/markets/`+obj.market+`/import" enctype="multipart/form-data"`) {
		t.Errorf("the confirm form: %s, want multipart", tag[:strings.Index(tag, ">")+1])
	}
}

// The confirm form sends the checked file back from a textarea, whose line
// breaks a browser sends as CRLF (TestBrowser_ImportOf8MiBWithLFLineBreaks):
// a file of 8 MiB with LF breaks, which passed the check, must be imported.
func TestWeb_ImportPage_ConfirmOf8MiBSentBackWithCRLF(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	csvText := importCSV + strings.Repeat("\n", ImportBodyLimit-len(importCSV)) // blank lines are skipped
	res, page := rs.postImport(t, rs.token(t, "volin"), obj.market, "import", true, strings.ReplaceAll(csvText, "\n", "\r\n"), true)
	if res.StatusCode != http.StatusSeeOther {
		i := strings.Index(page, `<main`)
		rest := page[max(i, 0):]
		t.Fatalf("Nhập of a checked 8 MiB file: status %d, want 303: %s", res.StatusCode, rest[:min(len(rest), 200)])
	}
}

// The import page's 8 MiB holds for the CSV however it comes: the file, or
// the csv field the confirm form sends it back in, which the route's body
// limit (twice 8 MiB, for that round trip) would otherwise let reach 16 MiB.
func TestWeb_ImportPage_CSVFieldOver8MiB_413(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	csvText := importCSV + strings.Repeat("\n", ImportBodyLimit+1-len(importCSV)) // blank lines are skipped: only the size is wrong
	res, page := rs.postImport(t, rs.token(t, "volin"), obj.market, "check", true, csvText, true)
	if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "8 MiB") {
		i := strings.Index(page, `<main`)
		t.Fatalf("a CSV of 8 MiB and a byte in the csv field: status %d, want 413: %s", res.StatusCode, page[max(i, 0):][:200])
	}
}

// The printable statement writes its dates as Vietnam reads them.
func TestWeb_Statement_DatesAsDayMonthYear(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	res, page := rs.getPage(t, "volin", "/stalls/"+obj.stall+"/statement?period=2026-11")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "01/11/2026 – 30/11/2026") || strings.Contains(page, "2026-11-01") {
		t.Fatalf("statement %d: want its period as 01/11/2026 – 30/11/2026, no ISO dates", res.StatusCode)
	}
}

// A volunteer on a Vietnamese page reads the registry's refusal in
// Vietnamese, in a form and in an import's table of bad rows; on the
// English page, in English.
func TestWeb_FormErrors_InThePagesLanguage(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	form := url.Values{"code": {"C-9"}, "name": {"Cá tươi"}, "vendor_name": {"Lê Văn Cá"}, "vendor_phone": {"0912345670"},
		"bank": {"970436"}, "service": {"account"}, "account": {"0011009999999"}, "holder_name": {""}, "consent": {"yes"}}
	res, page := rs.postPage(t, "volin", "/markets/"+obj.market+"/stalls/new", form)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Tên chủ tài khoản phải có từ 1 đến 70 ký tự.") {
		t.Fatalf("a Vietnamese page's form error (%d): want it in Vietnamese", res.StatusCode)
	}

	tok := rs.token(t, "volin")
	csvText := strings.Join(choso.StallCSVColumns, ",") + "\n" + "X 1,Rau,Rau,Nguyễn Thị Hoa,0912345678,970436,0011001111111,account,NGUYEN THI HOA\n"
	res, page = rs.postImport(t, tok, obj.market, "check", true, csvText, false)
	if !strings.Contains(html.UnescapeString(page), `Mã quầy "X 1" chỉ được gồm chữ, số`) {
		t.Fatalf("an import's bad row (%d): want its message in Vietnamese", res.StatusCode)
	}

	res = rs.doNoRedirect(t, "POST", "/markets/"+obj.market+"/stalls/new", strings.NewReader(url.Values{
		"code": {"C-9"}, "name": {"Cá tươi"}, "vendor_name": {"Lê Văn Cá"}, "vendor_phone": {"0912345670"}, "bank": {"970436"},
		"service": {"account"}, "account": {"0011009999999"}, "holder_name": {""}, "consent": {"yes"}, csrfField: {rs.csrfToken(tok)}}.Encode()),
		"Authorization", "Bearer "+tok, "Content-Type", "application/x-www-form-urlencoded", "Cookie", langCookie+"=en")
	b, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(b), "holder_name must be 1–70 characters") {
		t.Fatalf("the English page's form error (%d): want it in English", res.StatusCode)
	}
}

// A form over its route's body limit is a 413 page that says so, not the
// "form expired" 403 of a missing CSRF token, which the volunteer would
// retry forever; and it changes nothing. The sign-in form too.
func TestWeb_FormOverBodyLimit_413(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	res, page := rs.postPage(t, "volin", "/markets/"+obj.market+"/edit", url.Values{
		"name": {"Chợ Mới"}, "address": {strings.Repeat("a", defaultBodyLimit)},
	})
	if res.StatusCode != http.StatusRequestEntityTooLarge || strings.Contains(page, "Biểu mẫu đã hết hạn") || !strings.Contains(page, "64 KiB") {
		t.Fatalf("oversized form: status %d, want 413 naming the limit:\n%s", res.StatusCode, page)
	}
	m, err := rs.reg.FindMarket(t.Context(), rs.users["volin"].Principal(), obj.market)
	if err != nil || m.Name != "Chợ Thương" {
		t.Fatalf("an oversized form changed the market: %+v, %v", m, err)
	}

	// The sign-in form: its CSRF cookie and token are right, the form is
	// too large.
	tok := "0123456789abcdef0123456789"
	form := url.Values{csrfField: {tok}, "username": {"volin"}, "password": {strings.Repeat("p", defaultBodyLimit)}}
	res = rs.doNoRedirect(t, "POST", "/login", strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Cookie", loginCSRFCookie+"="+tok)
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusRequestEntityTooLarge || strings.Contains(string(b), "Biểu mẫu đã hết hạn") {
		t.Fatalf("oversized sign-in form: status %d, want 413:\n%s", res.StatusCode, b)
	}
}

// The stall form's live account check speaks the page's language: a
// volunteer on the Vietnamese page reads why the account is refused in
// Vietnamese, as the form's answer after saving says it.
func TestWeb_PayoutCheck_InThePagesLanguage(t *testing.T) {
	rs := newRegistryServer(t)
	tok := rs.token(t, "volin")
	check := func(lang, query string) payoutCheck {
		t.Helper()
		res := rs.doNoRedirect(t, "GET", "/web/payout-check?"+query, nil, "Cookie", sessionCookie+"="+tok+"; "+langCookie+"="+lang)
		var out payoutCheck
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d, %v", query, res.StatusCode, err)
		}
		return out
	}
	for query, want := range map[string]string{
		"bank=970436&account=00110012!":             "Số tài khoản chỉ gồm chữ và số.",
		"bank=970436&account=12345&service=card":    "Số thẻ gồm 12 đến 19 chữ số.",
		"bank=Vietcom&account=0011001234567":        `Mã ngân hàng "Vietcom" không hợp lệ: cần mã BIN 6 chữ số.`,
		"bank=970400&account=0011001234567":         "Ngân hàng có mã BIN 970400 không có trong danh sách NAPAS.",
		"bank=970436&account=0011001234567&x=valid": "Tài khoản hợp lệ.",
	} {
		if got := check("vi", query); got.Message != want {
			t.Errorf("%s on the Vietnamese page: %q, want %q", query, got.Message, want)
		}
	}
	if got := check("en", "bank=970436&account=00110012!"); got.Message != "account may hold only letters and digits" {
		t.Errorf("on the English page: %q", got.Message)
	}
}

// The live account check names the field its answer is about, for the
// script to mark: a BIN the directory lacks is the bank's problem, not the
// account's, and a valid account names none.
func TestWeb_PayoutCheck_NamesTheField(t *testing.T) {
	rs := newRegistryServer(t)
	tok := rs.token(t, "volin")
	for query, want := range map[string]string{
		"bank=970400&account=0011001234567":      "bank",
		"bank=Vietcom&account=0011001234567":     "bank",
		"bank=970436&account=00110012!":          "account",
		"bank=970436&account=12345&service=card": "account",
		"bank=970436&account=0011001234567":      "",
	} {
		res := rs.doNoRedirect(t, "GET", "/web/payout-check?"+query, nil, "Cookie", sessionCookie+"="+tok)
		var out payoutCheck
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d, %v", query, res.StatusCode, err)
		}
		if out.Field != want {
			t.Errorf("%s: field %q, want %q (%s)", query, out.Field, want, out.Message)
		}
	}
}

// The volunteer who proposed a payout change and presses Approve (the
// button is on their page too) stays on the stall's edit page and reads,
// in Vietnamese, that someone else must approve it: not a bare error page
// in English.
func TestWeb_PayoutApproveByProposer_StaysOnTheEditPage(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, true) // volpeer proposed the change
	_, edit := rs.getPage(t, "volpeer", "/stalls/"+obj.stall+"/edit")
	m := regexp.MustCompile(`name="proposed_at" value="([^"]+)"`).FindStringSubmatch(edit)
	if m == nil {
		t.Fatal("the edit page offers no approval")
	}
	res, page := rs.postPage(t, "volpeer", "/stalls/"+obj.stall+"/payout", url.Values{"action": {"approve"}, "proposed_at": {html.UnescapeString(m[1])}})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("status %d, want 403", res.StatusCode)
	}
	if want := "Đổi tài khoản cần người thứ hai duyệt: hãy nhờ một tình nguyện viên khác hoặc quản trị viên."; !strings.Contains(page, want) {
		t.Errorf("the page does not say, in Vietnamese, that someone else must approve:\n%s", page[strings.Index(page, "<main"):])
	}
	if !strings.Contains(page, "<h1>Sửa · A-1</h1>") || !strings.Contains(page, `value="reject"`) {
		t.Errorf("the proposer is not left on the stall's edit page")
	}
	// Another volunteer approves it.
	_, edit = rs.getPage(t, "volin", "/stalls/"+obj.stall+"/edit")
	m = regexp.MustCompile(`name="proposed_at" value="([^"]+)"`).FindStringSubmatch(edit)
	if res, _ := rs.postPage(t, "volin", "/stalls/"+obj.stall+"/payout", url.Values{"action": {"approve"}, "proposed_at": {html.UnescapeString(m[1])}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("a second volunteer's approval: status %d, want 303", res.StatusCode)
	}
}

// Dates the dashboard refuses (to before from, a range over 366 days) come
// back as the dashboard's form, with the dates chosen and the reason in
// Vietnamese, not as an error page in English with the form gone.
func TestWeb_Dashboard_BadDatesKeepTheForm(t *testing.T) {
	rs := newRegistryServer(t)
	rs.objects(t, false)
	for query, want := range map[string]string{
		"from=2026-11-20&to=2026-11-01&group=communes": "“Đến ngày” không được trước “Từ ngày”.",
		"from=2025-01-01&to=2026-11-27&group=communes": "Báo cáo tính tối đa 366 ngày.",
	} {
		res, page := rs.getPage(t, "official", "/dashboard?"+query)
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", query, res.StatusCode)
		}
		if !strings.Contains(page, `<p class="error" role="alert" id="form-error">`+html.EscapeString(want)+`</p>`) {
			t.Errorf("%s: the page does not say %q:\n%s", query, want, page[strings.Index(page, "<main"):])
		}
		from, to, _ := strings.Cut(strings.TrimPrefix(query, "from="), "&to=")
		to, _, _ = strings.Cut(to, "&")
		if !strings.Contains(page, `<h1>Tổng quan</h1>`) || !strings.Contains(page, `id="from" name="from" type="date" value="`+from+`"`) ||
			!strings.Contains(page, `id="to" name="to" type="date" value="`+to+`"`) || !strings.Contains(page, `<option value="communes" selected>`) {
			t.Errorf("%s: the dashboard's form is not there with the dates chosen", query)
		}
		if strings.Contains(page, `id="kpi-registered"`) || strings.Contains(page, `id="report"`) {
			t.Errorf("%s: the page shows figures for dates it refused", query)
		}
	}
}

// The import page says in Vietnamese what is wrong with the file: the
// consent box left unticked, a code the market already has or that the file
// repeats, a bad service, an empty file.
func TestWeb_Import_ProblemsInVietnamese(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	tok := rs.token(t, "volin")
	check := func(csvText string, consent bool) (int, string) {
		t.Helper()
		res, page := rs.postImport(t, tok, obj.market, "check", consent, csvText, false)
		return res.StatusCode, html.UnescapeString(page)
	}
	header := "code,name,category,vendor_name,vendor_phone,bin,account,service,holder_name\n"
	rows := "A-1,Gạo ngon,Gạo,Đỗ Thị Thu,0901234567,970436,0099887766,account,DO THI THU\n" +
		"C-2,Rau sạch,Rau,Lê Văn Tám,0901234568,970436,0099887767,tai khoan,LE VAN TAM\n" +
		"C-3,Thịt lợn,Thịt,Phạm Thị Mai,0901234569,970418,0099887768,account,PHAM THI MAI\n" +
		"C-3,Thịt bò,Thịt,Phạm Văn Bò,0901234560,970418,0099887769,account,PHAM VAN BO\n"
	for _, c := range []struct {
		name    string
		csv     string
		consent bool
		want    []string
	}{
		{"consent unticked", header + rows, false, []string{"Hãy xác nhận rằng mọi tiểu thương trong tệp đã đồng ý với thông báo xử lý dữ liệu cá nhân."}},
		{"bad rows", header + rows, true, []string{"Mã quầy A-1 đã có trong chợ này.", `Loại "tai khoan" không hợp lệ: ghi account (tài khoản) hoặc card (thẻ).`, "Mã quầy C-3 trùng với dòng 4."}},
		{"header only", header, true, []string{"Tệp chỉ có dòng tiêu đề, chưa có dòng quầy nào."}},
		{"empty file", "", true, []string{"Hãy chọn tệp CSV."}},
		{"wrong header", "ma,ten\nA,B\n", true, []string{"Dòng 1: tiêu đề phải gồm các cột code,name,category,vendor_name,vendor_phone,bin,account,service,holder_name (thiếu: code,name,category,vendor_name,vendor_phone,bin,account,service,holder_name; không biết: "}},
	} {
		status, page := check(c.csv, c.consent)
		if status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", c.name, status)
		}
		for _, w := range c.want {
			if !strings.Contains(page, w) {
				i := max(strings.Index(page, `class="error"`), 0)
				t.Errorf("%s: the page lacks %q:\n%s", c.name, w, page[i:min(i+1200, len(page))])
			}
		}
	}
}

// Enroll a phone on a suspended stall: the stall's page again, saying in
// Vietnamese why no code was made, not an error page in English.
func TestWeb_EnrollOnASuspendedStall_SaysWhy(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	suspended := choso.StallSuspended
	if _, err := rs.reg.UpdateStall(context.Background(), rs.users["volin"].Principal(), obj.stall, choso.StallPatch{Status: &suspended}); err != nil {
		t.Fatal(err)
	}
	res, page := rs.postPage(t, "volin", "/stalls/"+obj.stall+"/enroll", url.Values{})
	if res.StatusCode != http.StatusConflict {
		t.Errorf("status %d, want 409", res.StatusCode)
	}
	if want := "Quầy đang tạm dừng; hãy cho quầy hoạt động lại rồi mới thêm điện thoại."; !strings.Contains(page, want) {
		t.Errorf("the page does not say %q:\n%s", want, page[strings.Index(page, "<main"):])
	}
	if !strings.Contains(page, "<h1>A-1 · Bún chả cô Lan</h1>") || !strings.Contains(page, `href="/stalls/`+obj.stall+`/edit"`) {
		t.Errorf("the volunteer is not left on the stall's page, with its Edit link to reactivate it")
	}
}

// A period the statement refuses is explained in the page's language.
func TestWeb_Statement_BadPeriodInVietnamese(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	res, page := rs.getPage(t, "volin", "/stalls/"+obj.stall+"/statement?period=2026-13")
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", res.StatusCode)
	}
	if want := "Kỳ phải là một tháng (2026-11) hoặc một quý (2026-Q4)."; !strings.Contains(page, want) {
		t.Errorf("the page does not say %q:\n%s", want, page[strings.Index(page, "<main"):])
	}
}

// An erased vendor's stall has no code to print: its page offers no Print
// card link, which led to a JSON error.
func TestWeb_ErasedStall_NoCardToPrint(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	if _, err := rs.reg.EraseVendor(context.Background(), choso.SystemPrincipal("test"), obj.stall); err != nil {
		t.Fatal(err)
	}
	_, page := rs.getPage(t, "volin", "/stalls/"+obj.stall)
	if strings.Contains(page, `href="/v1/stalls/`+obj.stall+`/card"`) {
		res := rs.doNoRedirect(t, "GET", "/v1/stalls/"+obj.stall+"/card", nil, "Authorization", "Bearer "+rs.token(t, "volin"))
		b, _ := io.ReadAll(res.Body)
		t.Errorf("the erased stall's page links its card, which answers %d %s", res.StatusCode, b)
	}
}

// The reconciliation page's market picker lists every market in the
// user's scope, not the first page of them: a province official has more
// than MaxPageSize markets.
func TestWeb_ReconciliationPage_PicksFromEveryMarket(t *testing.T) {
	rs := newRegistryServer(t)
	rs.objects(t, false)
	for i := range choso.MaxPageSize + 1 {
		if _, err := rs.reg.CreateMarket(t.Context(), rs.users["volin"].Principal(), choso.NewMarket{Name: fmt.Sprintf("Chợ số %d", i), CommuneCode: "07210"}); err != nil {
			t.Fatal(err)
		}
	}
	res, page := rs.getPage(t, "official", "/reconciliation")
	if got, want := strings.Count(page, `<option value="mkt_`), choso.MaxPageSize+2; res.StatusCode != http.StatusOK || got != want {
		t.Fatalf("reconciliation page (%d): %d markets to pick from, want %d", res.StatusCode, got, want)
	}
}

// The new-stall form lets a volunteer type no more than the rules take
// (stall.go's Validate and PayoutAccount.Validate): a longer holder name
// was cut by nothing and refused after the whole form was sent.
func TestWeb_StallForm_MaxlengthsAreTheRules(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	_, page := rs.getPage(t, "volin", "/markets/"+obj.market+"/stalls/new")
	for field, limit := range map[string]int{"code": 16, "name": 80, "category": 60, "vendor_name": 80, "holder_name": 70, "account": 19} {
		_, rest, ok := strings.Cut(page, `name="`+field+`"`)
		tag, _, _ := strings.Cut(rest, ">")
		if want := fmt.Sprintf(`maxlength="%d"`, limit); !ok || !strings.Contains(tag, want) {
			t.Errorf("field %s: %q, want %s", field, tag, want)
		}
	}
}
