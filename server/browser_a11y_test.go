package server

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The enrollment countdown ticks every second out of any live region (a
// screen reader would read every second), and when the code expires a
// polite live region says so: a TalkBack user waiting for the vendor's
// phone learns the code is dead without going back to look.
func TestBrowser_EnrollmentExpiryIsAnnouncedPolitely(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	b := newBrowser(t, rs.URL)
	b.signIn("volin", rs.pw["volin"])
	b.open("/stalls/" + obj.stall)
	b.do(chromedp.WaitVisible(chromedp.CSS("table.devices")))
	// The page's clock runs 16 minutes ahead: the 15-minute code it
	// shows has expired by the first tick.
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `(function () { var now = Date.now; Date.now = function () { return now() + 16 * 60 * 1000; }; })();`,
	}); err != nil {
		t.Fatal(err)
	}
	b.submit(`form[action$="/enroll"] button`)
	b.poll(`document.getElementById('countdown').textContent === document.getElementById('countdown').dataset.expired`)
	const live = `[aria-live=polite],[aria-live=assertive],[role=status],[role=alert],[role=log]`
	if in := b.eval(`document.getElementById('countdown').closest('` + live + `') !== null`); in != "false" {
		t.Error("the countdown ticks inside a live region: a screen reader reads it every second")
	}
	got := b.eval(`[...document.querySelectorAll('main :is(` + live + `)')].filter(e => !e.closest('[aria-live=assertive],[role=alert]')).map(e => e.textContent.trim()).join(' | ')`)
	if got != "Mã đã hết hạn." {
		b.shot("enroll-expired")
		t.Errorf("polite live regions of the enrollment page after expiry: got %q, want %q", got, "Mã đã hết hạn.")
	}
}

// The live account check speaks only when what it says changes: typed
// with TalkBack, slowly, every pause re-checked the account and wrote the
// same words into the polite region again, and each write is read again.
func TestBrowser_PayoutCheckSpeaksOnlyWhenItsAnswerChanges(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	b := newBrowser(t, rs.URL)
	b.signIn("volin", rs.pw["volin"])
	b.open("/markets/" + obj.market + "/stalls/new")
	b.do(chromedp.WaitVisible(chromedp.CSS("#account")))
	b.eval(`window.writes = 0;
		new MutationObserver(function (ms) { window.writes += ms.length; }).observe(document.getElementById('payout-status'), {childList: true, characterData: true, subtree: true});
		var f = document.querySelector('form[data-payout]');
		f.elements.bank.value = '970436'; f.elements.account.value = '0011001234567';
		f.dispatchEvent(new Event('change')); true`)
	b.poll(`document.querySelector('#payout-qr svg') !== null`)
	first := b.text("#payout-status")
	b.eval(`window.qr = document.getElementById('payout-qr').innerHTML; window.writes = 0;
		var f = document.querySelector('form[data-payout]');
		f.elements.account.value = '0011001234568';
		f.dispatchEvent(new Event('change')); true`)
	// Another valid account: another QR, the same words.
	b.poll(`document.querySelector('#payout-qr svg') !== null && document.getElementById('payout-qr').innerHTML !== window.qr`)
	if second := b.text("#payout-status"); second != first {
		t.Fatalf("the check of another valid account says %q, then %q: want the same words", first, second)
	}
	if n := b.eval(`window.writes`); n != "0" {
		t.Errorf("the polite region was written %s times with the words it already held (%q): want 0", n, first)
	}
}

// The keyboard's focus ring stands out 3:1 from what is around it (WCAG
// 1.4.11): amber #f59e0b on the page's near-white was 2.1:1, a ring a
// commune official on a bright office screen could not find.
func TestBrowser_FocusRingContrast(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	b := newBrowser(t, rs.URL)
	b.signIn("volin", rs.pw["volin"])
	b.open("/markets/" + obj.market)
	b.do(chromedp.WaitVisible(chromedp.CSS("h1")), chromedp.KeyEvent("\t")) // the keyboard in use: focus() shows the ring
	for _, c := range []struct{ sel, around string }{
		{"main a[href$='/edit']", "html"},
		{"main button[type=submit]", "html"},
		{"main input#q", "html"},
		{".top nav a", ".top"},
	} {
		got := b.eval(`(function () {
			var e = document.querySelector("` + c.sel + `"); e.focus();
			var s = getComputedStyle(e);
			return [e.matches(':focus-visible'), s.outlineStyle, s.outlineColor, getComputedStyle(document.querySelector("` + c.around + `")).backgroundColor].join(';');
		})()`)
		f := strings.Split(got, ";")
		if f[0] != "true" || f[1] == "none" {
			t.Errorf("%s focused by the keyboard: got %s, want a ring", c.sel, got)
			continue
		}
		if r := contrast(f[2], f[3]); r < 3 {
			t.Errorf("%s: its ring %s on %s is %.2f:1, want 3:1 or more", c.sel, f[2], f[3], r)
		}
	}
}

// contrast is WCAG's contrast ratio of two CSS rgb() colours.
func contrast(a, b string) float64 {
	lum := func(c string) float64 {
		var r, g, bl float64
		fmt.Sscanf(strings.TrimPrefix(c, "rgb"), "(%g, %g, %g", &r, &g, &bl)
		lin := func(v float64) float64 {
			v /= 255
			if v <= 0.03928 {
				return v / 12.92
			}
			return math.Pow((v+0.055)/1.055, 2.4)
		}
		return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(bl)
	}
	x, y := lum(a), lum(b)
	return (max(x, y) + 0.05) / (min(x, y) + 0.05)
}

// Moving through the province picker with the keyboard does not leave the
// page (WCAG 3.2.2): on a desktop each arrow key changes a closed select,
// and the picker sent its form at the first one, so an admin could reach
// only the first province, and the reload took their place on the page.
func TestBrowser_ProvincePickerWaitsForTheKeyboard(t *testing.T) {
	rs := newRegistryServer(t)
	b := newBrowser(t, rs.URL)
	b.signIn("admin", rs.pw["admin"])
	b.open("/markets/new")
	b.do(chromedp.WaitVisible(chromedp.CSS("select#province")))
	b.eval(`window.sent = 0; HTMLFormElement.prototype.submit = function () { window.sent++; };
		document.getElementById('province').focus(); true`)
	b.do(chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown))
	if v := b.eval(`document.getElementById('province').selectedIndex`); v != "2" {
		t.Fatalf("after two arrow keys the picker is at option %s, want 2", v)
	}
	if n := b.eval(`window.sent`); n != "0" {
		t.Errorf("two arrow keys on the province picker sent its form %s times, want none: the keyboard user must choose, then send", n)
	}
	if visible := b.eval(`[...document.querySelector('select#province').form.querySelectorAll('button')].some(x => x.offsetParent !== null)`); visible != "true" {
		t.Error("the province picker has no visible button to send the choice")
	}
}

// sendStallForm fills the new-stall form at 360 px with a valid stall,
// changed by change, and sends it.
func (b *browser) sendStallForm(market string, change map[string]string) {
	b.t.Helper()
	b.open("/markets/" + market + "/stalls/new")
	b.do(chromedp.WaitVisible(chromedp.CSS("#account")))
	v := map[string]string{"code": "C-9", "name": "Cá tươi", "vendor_name": "Lê Văn Cá", "vendor_phone": "0912345670",
		"bank": "970436", "account": "0011009876543", "holder_name": "LE VAN CA"}
	for k, x := range change {
		v[k] = x
	}
	js := `var f = document.querySelector('form[data-payout]'); f.elements.consent.checked = true;`
	for k, x := range v {
		js += fmt.Sprintf(" f.elements[%q].value = %q;", k, x)
	}
	b.eval(js + " true")
	b.submit("form[data-payout] button[type=submit]")
	b.do(chromedp.WaitVisible(chromedp.CSS("#form-error")))
}

// fieldStyle is a form control's aria-invalid and the computed style that
// marks it: left border colour and width, box shadow.
func (b *browser) fieldStyle(id string) []string {
	b.t.Helper()
	return strings.Split(b.eval(`(function () {
		var e = document.getElementById('`+id+`'), s = getComputedStyle(e);
		return [e.getAttribute('aria-invalid'), s.borderLeftColor, s.borderLeftWidth, s.boxShadow].join(';');
	})()`), ";")
}

// A stall form the server refuses marks, at 360 px, the field to correct:
// a red border 3:1 or more against the page (WCAG 1.4.11), thicker than
// the others' grey one, with a bar on its left, so it is not told by
// colour alone.
func TestBrowser_RefusedFormMarksItsField(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	b := newBrowser(t, rs.URL)
	b.signIn("volin", rs.pw["volin"])
	b.sendStallForm(obj.market, map[string]string{"vendor_phone": "01234567890"}) // 11 digits: retired in 2018
	b.shot("refused")
	b.fitsPhone("the refused stall form")
	if focused := b.eval(`document.activeElement.id`); focused != "vendor_phone" {
		t.Errorf("the refused form opens with the focus on %q, want the field to fix, #vendor_phone", focused)
	}
	bad, other := b.fieldStyle("vendor_phone"), b.fieldStyle("vendor_name")
	if bad[0] != "true" || other[0] == "true" {
		t.Fatalf("aria-invalid of #vendor_phone %q, of #vendor_name %q: want \"true\" for the phone only", bad[0], other[0])
	}
	page := b.eval(`getComputedStyle(document.documentElement).backgroundColor`)
	if bad[1] == other[1] || contrast(bad[1], page) < 3 {
		t.Errorf("#vendor_phone's border %s beside #vendor_name's %s on %s: want the marked field's border to differ and stand out 3:1", bad[1], other[1], page)
	}
	if bad[2] == other[2] || bad[3] == other[3] {
		t.Errorf("#vendor_phone (border %s, shadow %s) beside #vendor_name (%s, %s): want a thicker border and a bar, not colour alone", bad[2], bad[3], other[2], other[3])
	}
}

// The live account check marks the field its answer is about: a BIN the
// directory lacks marks the bank, not the account (it marked the account
// whatever was wrong), and the page's first check leaves the marks of the
// server's answer as they are.
func TestBrowser_UnknownBINMarksTheBankNotTheAccount(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	b := newBrowser(t, rs.URL)
	b.signIn("volin", rs.pw["volin"])
	b.sendStallForm(obj.market, map[string]string{"bank": "970400"})
	b.poll(`document.getElementById('payout-status').className === 'hint bad'`) // the first check has answered
	if bank, account := b.fieldStyle("bank")[0], b.fieldStyle("account")[0]; bank != "true" || account == "true" {
		b.shot("bin-refused")
		t.Errorf("after the server refused the BIN: aria-invalid of #bank %q, of #account %q; want the bank's only", bank, account)
	}
	// Typed: a bad account under a good bank marks the account, then a
	// bad BIN under a good account the bank.
	b.eval(`var f = document.querySelector('form[data-payout]'); f.elements.bank.value = '970436'; f.elements.account.value = '0011-00';
		f.dispatchEvent(new Event('change')); true`)
	b.poll(`document.getElementById('account').getAttribute('aria-invalid') === 'true'`)
	if bank := b.fieldStyle("bank")[0]; bank == "true" {
		t.Errorf("a bad account under a good bank leaves #bank marked")
	}
	b.eval(`var f = document.querySelector('form[data-payout]'); f.elements.bank.value = '970400'; f.elements.account.value = '0011009876543';
		f.dispatchEvent(new Event('change')); true`)
	b.poll(`document.getElementById('bank').getAttribute('aria-invalid') === 'true'`)
	if account := b.fieldStyle("account")[0]; account == "true" {
		b.shot("bin-typed")
		t.Errorf("a BIN the directory lacks, typed, marks #account invalid: the problem is the bank")
	}
}
