package choso_test

import (
	"strings"
	"testing"

	"github.com/choso/choso"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		in, want string // want "" means an error
	}{
		{"0912345678", "+84912345678"},
		{"0912 345 678", "+84912345678"},
		{"0912.345.678", "+84912345678"},
		{"091-234-5678", "+84912345678"},
		{"+84912345678", "+84912345678"},
		{"+84 912 345 678", "+84912345678"},
		{"(+84) 912-345-678", "+84912345678"},
		{"84912345678", "+84912345678"},
		{"+84 0912 345 678", "+84912345678"}, // people keep the trunk 0 after +84
		{"0387 654 321", "+84387654321"},
		{"0567654321", "+84567654321"},
		{"0701234567", "+84701234567"},
		{"0812345678", "+84812345678"},
		{"024 3825 1234", "+842438251234"}, // Hà Nội landline
		{"0204 3851 234", "+842043851234"}, // Bắc Giang area code 204
		{"0912\u00a0345\u00a0678", "+84912345678"},
		{"01662345678", ""}, // retired 11-digit mobile
		{"091234567", ""},   // one digit short
		{"09123456789", ""}, // one digit long
		{"0112345678", ""},  // no such prefix
		{"+1 415 555 0100", ""},
		{"0912-345-67x", ""},
		{"", ""},
		{"   ", ""},
		{"+", ""},
	}
	for _, tt := range tests {
		got, err := choso.NormalizePhone(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("NormalizePhone(%q) = %q, want an error", tt.in, got)
			} else if choso.ErrorCode(err) != choso.EInvalid {
				t.Errorf("NormalizePhone(%q) error code %q, want invalid", tt.in, choso.ErrorCode(err))
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := choso.NormalizePhone("01662345678"); err == nil || !strings.Contains(err.Error(), "retired") {
		t.Errorf("old 11-digit number: %v, want a message saying they were retired", err)
	}
}

func TestMasking(t *testing.T) {
	if got := choso.MaskPhone("+84912345678"); got != "+84******678" {
		t.Errorf("MaskPhone = %q", got)
	}
	if got := choso.MaskAccount("58110000715752"); got != "**********5752" {
		t.Errorf("MaskAccount = %q", got)
	}
	if got := choso.MaskAccount("123"); got != "***" {
		t.Errorf("MaskAccount(short) = %q", got)
	}
}

func TestFoldVietnamese(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Chợ Đồng Xuân", "Cho Dong Xuan"},
		{"Bún chả cô Lan", "Bun cha co Lan"},
		{"Phường Bắc Giang", "Phuong Bac Giang"},
		{"NGUYỄN THỊ ĐÀO", "NGUYEN THI DAO"},
		{"Thuỷ sản, hoà bình", "Thuy san, hoa binh"},
		{"Cho\u0301 decomposed", "Cho decomposed"}, // combining acute dropped
		{"plain ASCII 123", "plain ASCII 123"},
	}
	for _, tt := range tests {
		if got := choso.FoldVietnamese(tt.in); got != tt.want {
			t.Errorf("FoldVietnamese(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if !choso.MatchText("Chợ Bắc Giang", "cho bac") || !choso.MatchText("Chợ Bắc Giang", "BẮC") || choso.MatchText("Chợ Bắc Giang", "nam") {
		t.Error("MatchText does not ignore case and diacritics as it should")
	}
}

// fakeBanks knows a few BINs, with CIMB's two as in banks.tsv.
type fakeBanks struct{}

func (fakeBanks) LookupBIN(bin string) (string, string, bool) {
	switch bin {
	case "970436":
		return "970436", "Vietcombank", true
	case "970418":
		return "970418", "BIDV", true
	case "422589", "970459":
		return "422589", "CIMB", true
	}
	return "", "", false
}

func validStall() choso.Stall {
	return choso.Stall{
		Code: " a-12 ", Name: "  Bún chả   cô Lan ", Category: "Ăn uống",
		Vendor: choso.Vendor{Name: "Nguyễn Thị Lan", Phone: "0912 345 678"},
		Payout: choso.PayoutAccount{BIN: "970436", Account: "0011 0012 34567", Service: choso.ServiceAccount, Holder: "NGUYEN THI LAN"},
	}
}

func TestStall_Validate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*choso.Stall)
		want   string // substring of the error; "" means valid
	}{
		{"valid, tidied", func(*choso.Stall) {}, ""},
		{"diacritics kept in names", func(s *choso.Stall) { s.Name = "Rau củ quả bà Tư Đức" }, ""},
		{"CIMB SBV BIN stored as the VietQR one", func(s *choso.Stall) { s.Payout.BIN = "970459" }, ""},
		{"card service with a card number", func(s *choso.Stall) {
			s.Payout.Service = choso.ServiceCard
			s.Payout.Account = "9704366800123456"
		}, ""},
		{"letters allowed in an account", func(s *choso.Stall) { s.Payout.Account = "MS00T06433099944571" }, ""},
		{"unknown BIN", func(s *choso.Stall) { s.Payout.BIN = "999999" }, "not in the NAPAS bank directory"},
		{"BIN not 6 digits", func(s *choso.Stall) { s.Payout.BIN = "97043" }, "6-digit BIN"},
		{"account of 20 characters", func(s *choso.Stall) { s.Payout.Account = "12345678901234567890" }, "1–19"},
		{"account with symbols", func(s *choso.Stall) { s.Payout.Account = "1234-5678" }, "letters and digits"},
		{"empty account", func(s *choso.Stall) { s.Payout.Account = "  " }, "1–19"},
		{"card number with letters", func(s *choso.Stall) {
			s.Payout.Service = choso.ServiceCard
			s.Payout.Account = "97043668ABC23456"
		}, "card number"},
		{"unknown service", func(s *choso.Stall) { s.Payout.Service = "QRPUSH" }, "service"},
		{"no holder", func(s *choso.Stall) { s.Payout.Holder = "" }, "holder_name"},
		{"empty code", func(s *choso.Stall) { s.Code = "" }, "code"},
		{"code too long", func(s *choso.Stall) { s.Code = strings.Repeat("A", 17) }, "code"},
		{"code with a space", func(s *choso.Stall) { s.Code = "A 12" }, "code"},
		{"empty name", func(s *choso.Stall) { s.Name = " " }, "name must be"},
		{"name of 81 characters", func(s *choso.Stall) { s.Name = strings.Repeat("ă", 81) }, "name must be"},
		{"no vendor name", func(s *choso.Stall) { s.Vendor.Name = "" }, "vendor name"},
		{"bad phone", func(s *choso.Stall) { s.Vendor.Phone = "12345" }, "phone"},
		{"bad status", func(s *choso.Stall) { s.Status = "closed" }, "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validStall()
			tt.change(&s)
			err := s.Validate(fakeBanks{})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want valid", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || choso.ErrorCode(err) != choso.EInvalid {
				t.Fatalf("Validate: %v, want invalid with %q", err, tt.want)
			}
		})
	}
	s := validStall()
	if err := s.Validate(fakeBanks{}); err != nil {
		t.Fatal(err)
	}
	if s.Code != "A-12" || s.Name != "Bún chả cô Lan" || s.Vendor.Phone != "+84912345678" || s.Payout.Account != "0011001234567" || s.Status != choso.StallActive {
		t.Fatalf("tidied stall = code %q name %q phone %q account %q status %q", s.Code, s.Name, s.Vendor.Phone, s.Payout.Account, s.Status)
	}
	s = validStall()
	s.Payout.BIN = "970459"
	s.Validate(fakeBanks{})
	if s.Payout.BIN != "422589" {
		t.Fatalf("CIMB BIN stored as %s, want 422589 (DESIGN.md §4)", s.Payout.BIN)
	}
}

func TestUser_Validate(t *testing.T) {
	tests := []struct {
		name string
		u    choso.User
		want string
	}{
		{"admin", choso.User{Username: "Admin", Role: choso.RoleAdmin}, ""},
		{"volunteer with communes", choso.User{Username: "lan.nguyen", Role: choso.RoleVolunteer, Scope: []string{"07210", "07210", "09187"}}, ""},
		{"official of a province", choso.User{Username: "canbo", Role: choso.RoleOfficial, Scope: []string{"24"}}, ""},
		{"volunteer without scope", choso.User{Username: "lan", Role: choso.RoleVolunteer}, "at least one commune"},
		{"volunteer with a province", choso.User{Username: "lan", Role: choso.RoleVolunteer, Scope: []string{"24"}}, "is a province"},
		{"admin with a scope", choso.User{Username: "boss", Role: choso.RoleAdmin, Scope: []string{"24"}}, "leave scope empty"},
		{"bad scope code", choso.User{Username: "lan", Role: choso.RoleOfficial, Scope: []string{"2A"}}, "scope"},
		{"unknown role", choso.User{Username: "lan", Role: "vendor"}, "role"},
		{"short username", choso.User{Username: "ab", Role: choso.RoleAdmin}, "3–32"},
		{"username with diacritics", choso.User{Username: "lân", Role: choso.RoleAdmin}, "a–z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.u.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want valid", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate: %v, want an error with %q", err, tt.want)
			}
		})
	}
	u := choso.User{Username: " Lan.Nguyen ", Role: choso.RoleVolunteer, Scope: []string{"07210", "07210"}}
	u.Validate()
	if u.Username != "lan.nguyen" || len(u.Scope) != 1 {
		t.Fatalf("tidied user = %q %v, want lan.nguyen [07210]", u.Username, u.Scope)
	}
}

func TestMarketAndRegion_Validate(t *testing.T) {
	m := choso.Market{Name: " Chợ Thương ", CommuneCode: "07210"}
	if err := m.Validate(); err != nil || m.Name != "Chợ Thương" || m.TimeZone != choso.DefaultTimeZone {
		t.Fatalf("market: %v %+v", err, m)
	}
	for _, bad := range []choso.Market{
		{Name: "", CommuneCode: "07210"},
		{Name: "Chợ", CommuneCode: "24"},
		{Name: "Chợ", CommuneCode: "07210", TimeZone: "Mars/Olympus"},
		{Name: strings.Repeat("C", 121), CommuneCode: "07210"},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("market %+v: valid, want invalid", bad)
		}
	}
	for _, tt := range []struct {
		r  choso.Region
		ok bool
	}{
		{choso.Region{Code: "24", Name: "Tỉnh Bắc Ninh"}, true},
		{choso.Region{Code: "07210", Name: "Phường Bắc Giang", ParentCode: "24"}, true},
		{choso.Region{Code: "07210", Name: "Phường Bắc Giang"}, false},
		{choso.Region{Code: "24", Name: "Tỉnh Bắc Ninh", ParentCode: "01"}, false},
		{choso.Region{Code: "072100", Name: "x", ParentCode: "24"}, false},
		{choso.Region{Code: "07210", Name: "", ParentCode: "24"}, false},
	} {
		if err := tt.r.Validate(); (err == nil) != tt.ok {
			t.Errorf("region %+v: err %v, want ok=%v", tt.r, err, tt.ok)
		}
	}
}

func TestIDs(t *testing.T) {
	a, b := choso.NewID(choso.PrefixStall), choso.NewID(choso.PrefixStall)
	if a == b || !choso.ValidID(choso.PrefixStall, a) || len(a) != len("stl_")+26 {
		t.Fatalf("NewID gave %q and %q", a, b)
	}
	if choso.ValidID(choso.PrefixMarket, a) {
		t.Fatal("a stall ID passes as a market ID")
	}
	for _, bad := range []string{"stl_", "stl_" + strings.Repeat("i", 26), "stl_../../etc/passwd", "STL_" + a[4:]} {
		if choso.ValidID(choso.PrefixStall, bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}
