package web

import (
	"regexp"
	"strings"
)

// The registry words its errors in English, for the API and the logs. A
// volunteer filling a form on a Vietnamese page reads them in Vietnamese:
// each entry pairs the English message, as its format string, with its
// Vietnamese. A %q, %s or %d of the English is a part the message carries
// (a code, a BIN, a phone number, a count); the Vietnamese repeats the parts
// in order, each as %s. The field is what a form shows the message beside:
// the name (and id) of the control to correct, several space-separated when
// either may be wrong, empty when no one control is (ErrorField).
var errorsVi = []struct{ en, vi, field string }{
	{"service %q: want QRIBFTTA (account) or QRIBFTTC (card)", "Loại tài khoản %s không hợp lệ: chọn tài khoản hoặc thẻ.", ""},
	{"bin %q: want the bank's 6-digit BIN", "Mã ngân hàng %s không hợp lệ: cần mã BIN 6 chữ số.", "bank"},
	{"bin %s is not in the NAPAS bank directory", "Ngân hàng có mã BIN %s không có trong danh sách NAPAS.", "bank"},
	{"account must be 1–19 characters", "Số tài khoản phải có từ 1 đến 19 ký tự.", "account"},
	{"account may hold only letters and digits", "Số tài khoản chỉ gồm chữ và số.", "account"},
	{"a card number is 12–19 digits", "Số thẻ gồm 12 đến 19 chữ số.", "account"},
	{"holder_name must be 1–70 characters", "Tên chủ tài khoản phải có từ 1 đến 70 ký tự.", "holder_name"},
	{"code must be 1–16 characters, e.g. A-12", "Mã quầy phải có từ 1 đến 16 ký tự, ví dụ A-12.", "code"},
	{"code %q may hold only letters, digits, '-', '.' and '/'", "Mã quầy %s chỉ được gồm chữ, số và các dấu '-', '.', '/'.", "code"},
	{"name must be 1–80 characters", "Tên quầy phải có từ 1 đến 80 ký tự.", "name"},
	{"category must be at most 60 characters", "Ngành hàng tối đa 60 ký tự.", "category"},
	{"vendor name must be 1–80 characters", "Tên tiểu thương phải có từ 1 đến 80 ký tự.", "vendor_name"},
	{"record the vendor's consent (consent_given) before registering their data", "Cần ghi nhận sự đồng ý của tiểu thương trước khi đăng ký thông tin của họ.", "consent"},
	{"stall code %s is taken in this market", "Mã quầy %s đã có trong chợ này.", "code"},
	{"this vendor's personal data was erased; register the stall anew", "Dữ liệu cá nhân của tiểu thương này đã bị xoá; hãy đăng ký quầy mới.", ""},
	{"this vendor's personal data was erased: the stall cannot sell again; register it anew", "Dữ liệu cá nhân của tiểu thương này đã bị xoá: quầy không thể bán lại; hãy đăng ký quầy mới.", ""},
	{"this is the stall's current payout account", "Đây là tài khoản nhận tiền hiện tại của quầy.", "account"},
	{"this stall has no pending payout change", "Quầy không có yêu cầu đổi tài khoản nào đang chờ duyệt.", ""},
	{"the payout change was proposed again since you opened it; review the new account before approving", "Yêu cầu đổi tài khoản vừa được gửi lại sau khi bạn mở trang; hãy xem tài khoản mới trước khi duyệt.", ""},
	{"a payout change needs a second person: ask another volunteer or an admin to approve it", "Đổi tài khoản cần người thứ hai duyệt: hãy nhờ một tình nguyện viên khác hoặc quản trị viên.", ""},
	{"name must be 1–120 characters", "Tên chợ phải có từ 1 đến 120 ký tự.", "name"},
	{"commune_code %q: want a 5-digit commune code", "Mã xã/phường %s không hợp lệ: cần mã 5 chữ số.", "commune_code"},
	{"address must be at most 200 characters", "Địa chỉ tối đa 200 ký tự.", "address"},
	{"commune_code %s: no such commune", "Không có xã/phường mã %s.", "commune_code"},
	{"commune_code %s is a province; give a commune", "Mã %s là tỉnh/thành; hãy chọn xã/phường.", "commune_code"},
	{"commune %s is not in your scope", "Xã/phường %s không thuộc phạm vi của bạn.", ""},
	{"from must be a date, YYYY-MM-DD", "“Từ ngày” phải là một ngày (năm-tháng-ngày).", "from"},
	{"to must be a date, YYYY-MM-DD", "“Đến ngày” phải là một ngày (năm-tháng-ngày).", "to"},
	{"to must not be before from", "“Đến ngày” không được trước “Từ ngày”.", "to"},
	{"a report covers at most %d days", "Báo cáo tính tối đa %s ngày.", "from to"},
	{"the stall is suspended; reactivate it before enrolling a phone", "Quầy đang tạm dừng; hãy cho quầy hoạt động lại rồi mới thêm điện thoại.", ""},
	{"this vendor's data was erased", "Dữ liệu của tiểu thương này đã bị xoá.", ""},
	{"confirm that every vendor in the file agreed to the privacy notice (consent_given=true)", "Hãy xác nhận rằng mọi tiểu thương trong tệp đã đồng ý với thông báo xử lý dữ liệu cá nhân.", ""},
	{"code %s is already registered in this market", "Mã quầy %s đã có trong chợ này.", ""},
	{"code %s is also on line %d", "Mã quầy %s trùng với dòng %s.", ""},
	{"service %q: want account or card", "Loại %s không hợp lệ: ghi account (tài khoản) hoặc card (thẻ).", ""},
	{"the file is empty; the first line must name the columns: %s", "Tệp trống; dòng đầu phải ghi tên các cột: %s", ""},
	{"line 1: column %q appears twice", "Dòng 1: cột %s có hai lần.", ""},
	{"line 1: the header must name the columns %s (missing: %s; unknown: %s)", "Dòng 1: tiêu đề phải gồm các cột %s (thiếu: %s; không biết: %s).", ""},
	{"line %d has %d fields, the header has %d", "Dòng %s có %s ô, dòng tiêu đề có %s.", ""},
	{"the file has a header but no rows", "Tệp chỉ có dòng tiêu đề, chưa có dòng quầy nào.", ""},
	{"period must be a month (2026-11) or a quarter (2026-Q4)", "Kỳ phải là một tháng (2026-11) hoặc một quý (2026-Q4).", ""},
	{"phone is empty", "Chưa nhập số điện thoại.", "vendor_phone"},
	{"phone %q: unexpected character %q", "Số điện thoại %s có ký tự không hợp lệ %s.", "vendor_phone"},
	{"phone %q: only Vietnamese numbers (+84) are taken", "Số điện thoại %s: chỉ nhận số Việt Nam (+84).", "vendor_phone"},
	{"phone %q: 11-digit mobile numbers were retired in 2018; use the new 10-digit number", "Số %s là số di động 11 chữ số, đã đổi từ năm 2018; hãy dùng số 10 chữ số mới.", "vendor_phone"},
	{"phone %q: want a Vietnamese mobile (0 + 9 digits, e.g. 0912 345 678) or landline (0 + 2xx area code + 7–8 digits)", "Số điện thoại %s không hợp lệ: cần số di động (0 + 9 chữ số, ví dụ 0912 345 678) hoặc số cố định (0 + mã vùng 2xx + 7–8 chữ số).", "vendor_phone"},
}

// errorPattern is one entry of errorsVi, compiled: the English as a
// pattern that captures its parts.
type errorPattern struct {
	re    *regexp.Regexp
	vi    string
	field string
}

var errorPatterns = func() []errorPattern {
	verb := regexp.MustCompile(`%[qsd]`)
	out := make([]errorPattern, 0, len(errorsVi))
	for _, e := range errorsVi {
		var b strings.Builder
		b.WriteString("^")
		last := 0
		for _, m := range verb.FindAllStringIndex(e.en, -1) {
			b.WriteString(regexp.QuoteMeta(e.en[last:m[0]]))
			switch e.en[m[0]+1] {
			case 'q':
				b.WriteString(`("(?:[^"\\]|\\.)*")`)
			case 'd':
				b.WriteString(`(\d+)`)
			default:
				b.WriteString(`(\S+)`)
			}
			last = m[1]
		}
		b.WriteString(regexp.QuoteMeta(e.en[last:]))
		b.WriteString("$")
		out = append(out, errorPattern{re: regexp.MustCompile(b.String()), vi: e.vi, field: e.field})
	}
	return out
}()

// ErrorText returns an error message for a page in lang: the Vietnamese of
// a message errorsVi knows, with its parts, or the message as it is.
func ErrorText(lang Lang, msg string) string {
	if lang != Vietnamese {
		return msg
	}
	for _, p := range errorPatterns {
		m := p.re.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		var b strings.Builder
		pieces := strings.Split(p.vi, "%s")
		for i, piece := range pieces {
			b.WriteString(piece)
			if i < len(pieces)-1 && i < len(m)-1 {
				b.WriteString(m[i+1])
			}
		}
		return b.String()
	}
	return msg
}

// ErrorField returns the form controls an error message is about, by their
// ids, space-separated: "account" for a malformed account number, "bank"
// for a BIN the directory lacks. It returns "" for a message errorsVi does
// not know or that no one control causes.
func ErrorField(msg string) string {
	for _, p := range errorPatterns {
		if p.re.MatchString(msg) {
			return p.field
		}
	}
	return ""
}
