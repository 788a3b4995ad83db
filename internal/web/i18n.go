// Package web holds what the server's pages need that is not HTTP: the
// Vietnamese–English catalog and the SVG charts drawn on the server. It
// imports neither Echo nor the store.
package web

import "fmt"

// Lang is a page language. Vietnamese comes first; English is the switch.
type Lang string

const (
	Vietnamese Lang = "vi"
	English    Lang = "en"
)

// ParseLang returns the language a code names, Vietnamese by default.
func ParseLang(s string) Lang {
	if s == string(English) {
		return English
	}
	return Vietnamese
}

// T translates a page text. Texts are written in Vietnamese in the
// templates and the handlers; English has its entry in the catalog. A text
// with verbs (%d, %s) is formatted with args after translation.
func T(l Lang, text string, args ...any) string {
	if l == English {
		if en, ok := english[text]; ok {
			text = en
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(text, args...)
	}
	return text
}

// HasEnglish reports whether a text has its English entry.
func HasEnglish(text string) bool {
	_, ok := english[text]
	return ok
}

// english maps each Vietnamese page text to its English.
var english = map[string]string{
	"Chợ Số":                "Chợ Số",
	"Chuyển sang tiếng Anh": "Chuyển sang tiếng Anh",
	"Đăng nhập":             "Sign in",
	"Đăng xuất":             "Sign out",
	"Tên đăng nhập":         "Username",
	"Mật khẩu":              "Password",
	"Sai tên đăng nhập hoặc mật khẩu.": "Wrong username or password.",
	"Tổng quan":                "Dashboard",
	"Chợ":                      "Markets",
	"Đối soát":                 "Reconciliation",
	"Đăng nhập với tư cách %s": "Signed in as %s",
	"Chuyển ngôn ngữ":          "Language",
	"Tìm kiếm":                 "Search",
	"Tìm":                      "Search",
	"Thêm chợ":                 "Add a market",
	"Tên chợ":                  "Market name",
	"Xã/phường":                "Commune",
	"Tỉnh/thành":               "Province",
	"Địa chỉ":                  "Address",
	"Lưu":                      "Save",
	"Hủy":                      "Cancel",
	"Sửa":                      "Edit",
	"Chưa có chợ nào.":         "No markets yet.",
	"Chưa có quầy nào.":        "No stalls yet.",
	"Trang sau":                "Next page",
	"Quầy hàng":                "Stalls",
	"Thêm quầy":                "Add a stall",
	"Nhập từ CSV":              "Import CSV",
	"In thẻ cả chợ":            "Print the market's cards",
	"Mã quầy":                  "Stall code",
	"Tên quầy":                 "Stall name",
	"Ngành hàng":               "Category",
	"Tiểu thương":              "Vendor",
	"Số điện thoại":            "Phone",
	"Ngân hàng":                "Bank",
	"Số tài khoản":             "Account number",
	"Số thẻ":                   "Card number",
	"Loại":                     "Type",
	"Tài khoản":                "Account",
	"Thẻ":                      "Card",
	"Chủ tài khoản":            "Account holder",
	"Trạng thái":               "Status",
	"Hoạt động":                "Active",
	"Tạm dừng":                 "Suspended",
	"Tất cả":                   "All",
	"Tiểu thương đã đồng ý với thông báo xử lý dữ liệu cá nhân.": "The vendor agreed to the personal data notice.",
	"Tìm theo tên, mã hoặc BIN":               "Search by name, code or BIN",
	"Mã VietQR sẽ hiện khi tài khoản hợp lệ.": "The VietQR code shows once the account is valid.",
	"Tài khoản hợp lệ.":                       "The account is valid.",
	"Mã VietQR":                               "VietQR code",
	"In thẻ":                                  "Print card",
	"Báo cáo doanh thu":                       "Revenue statement",
	"Điện thoại của quầy":                     "The stall's phones",
	"Thêm điện thoại":                         "Enroll a phone",
	"Chưa có điện thoại nào.":                 "No phones yet.",
	"Lần đồng bộ cuối":                        "Last sync",
	"Chờ gửi":                                 "Pending",
	"Cờ":                                      "Flags",
	"Thu hồi":                                 "Revoke",
	"Đã thu hồi":                              "Revoked",
	"Chưa bao giờ":                            "Never",
	"Mã kích hoạt":                            "Enrollment code",
	"Mở ứng dụng Chợ Số trên điện thoại của tiểu thương và quét mã này, hoặc nhập mã.": "Open the Chợ Số app on the vendor's phone and scan this code, or type it.",
	"Hết hạn sau":       "Expires in",
	"Mã đã hết hạn.":    "The code has expired.",
	"Về trang quầy":     "Back to the stall",
	"Nhập quầy từ CSV":  "Import stalls from CSV",
	"Tệp CSV":           "CSV file",
	"Hãy chọn tệp CSV.": "Choose a CSV file.",
	"Kiểm tra":          "Check",
	"Nhập":              "Import",
	"Dòng":              "Line",
	"Cột":               "Column",
	"Lỗi":               "Error",
	"Có %d dòng lỗi; chưa nhập quầy nào.": "%d rows have errors; no stall was imported.",
	"%d dòng hợp lệ. Bấm Nhập để lưu.":    "%d rows are valid. Press Import to save them.",
	"Đã nhập %d quầy.":                    "Imported %d stalls.",
	"Cột: %s":                             "Columns: %s",
	"Từ ngày":                             "From",
	"Đến ngày":                            "To",
	"Xem":                                 "Show",
	"Tải CSV":                             "Download CSV",
	"Quầy đăng ký":                        "Stalls registered",
	"Quầy hoạt động (7 ngày)":             "Stalls active (7 days)",
	"Quầy có bán hàng":                    "Stalls selling",
	"Tiền mặt":                            "Cash",
	"Chuyển khoản":                        "Transfer",
	"Không tiền mặt":                      "Cashless",
	"Tỷ lệ không tiền mặt":                "Cashless share",
	"Ngân hàng đã xác nhận":               "Confirmed by the bank",
	"Doanh số":                            "Sales",
	"Số giao dịch":                        "Transactions",
	"Theo chợ":                            "By market",
	"Theo xã/phường":                      "By commune",
	"Theo ngày":                           "By day",
	"Tổng":                                "Total",
	"Ngày":                                "Date",
	"Kỳ":                                  "Period",
	"In":                                  "Print",
	"Số liệu tạm tính: điện thoại có thể còn đồng bộ.": "Provisional figures: phones may still sync.",
	"Không có bán hàng trong kỳ này.":                  "No sales in this period.",
	"Giao dịch hủy":                                    "Voids",
	"Khớp":                                             "Matched",
	"Lệch":                                             "Mismatch",
	"Chờ":                                              "Pending",
	"Lý do":                                            "Reasons",
	"Ghi chú":                                          "Notes",
	"Tiền về":                                          "Bank credits",
	"Bán QR/chuyển khoản":                              "QR and transfer sales",
	"Chi tiết":                                         "Lines",
	"Không có gì để đối soát.":                         "Nothing to reconcile.",
	"Chưa có đối tác ngân hàng.":                       "No bank partner is set up.",
	"Không tìm thấy":                                   "Not found",
	"Trang này không có hoặc bạn không có quyền xem.": "This page does not exist or is not yours to see.",
	"Không được phép": "Not allowed",
	"Có lỗi":          "Something went wrong",
	"Về trang chủ":    "Home",
	"Biểu mẫu đã hết hạn; hãy thử lại.":                               "The form expired; please try again.",
	"Phiên đăng nhập đã hết; hãy đăng nhập lại rồi gửi lại biểu mẫu.": "Your session ended; sign in again, then send the form again.",
	"Đã lưu.":                      "Saved.",
	"Đã thu hồi điện thoại.":       "The phone was revoked.",
	"Bỏ qua đến nội dung":          "Skip to content",
	"Đổi tài khoản nhận tiền":      "Change the payout account",
	"Đang chờ duyệt đổi tài khoản": "Payout change awaiting approval",
	"Duyệt":       "Approve",
	"Từ chối":     "Reject",
	"Đề xuất đổi": "Propose the change",
	"Một người khác phải duyệt thay đổi này.": "Someone else must approve this change.",
	"tiền":                          "amount",
	"gd":                            "txns",
	"Doanh số theo phương thức":     "Sales by method",
	"Doanh số theo ngày":            "Sales by day",
	"chưa khớp giao dịch ngân hàng": "unmatched bank lines",
	"chưa khớp bán QR":              "unmatched QR sales",
	"số tiền lệch":                  "amounts differ",
	"khớp với giao dịch của ngày khác": "matched with a line of another day",
	"Phiên bản QR":         "QR version",
	"Mã QR cho điện thoại": "QR for the phone",
}
