package qr

import (
	"sort"
	"strconv"
	"strings"
	"testing"
)

func TestBankByBIN_NamesCIMBByEitherBIN(t *testing.T) {
	for _, bin := range []string{"422589", "970459"} {
		b, ok := BankByBIN(bin)
		if !ok || b.ShortName != "CIMB" || b.BIN != "422589" {
			t.Errorf("BankByBIN(%s): got %+v, %v, want CIMB with VietQR BIN 422589", bin, b, ok)
		}
	}
	if b, _ := BankByBIN("970459"); len(b.OtherBINs) != 1 || b.OtherBINs[0] != "970459" {
		t.Errorf("CIMB other BINs: got %v, want [970459]", b.OtherBINs)
	}
	if b, ok := BankByBIN("970468"); !ok || b.BIN != "977777" {
		t.Errorf("BankByBIN(970468): got %+v, %v, want MAFC at 977777", b, ok)
	}
}

func TestEncodeBIN_UsesTheBINTheVietQRListsUse(t *testing.T) {
	for in, want := range map[string]string{"970459": "422589", "422589": "422589", "970468": "977777", "970436": "970436", "123456": "123456"} {
		if got := EncodeBIN(in); got != want {
			t.Errorf("EncodeBIN(%s): got %s, want %s", in, got, want)
		}
	}
}

func TestBankByCode_FindsTheBankCaseInsensitively(t *testing.T) {
	tests := map[string]string{"VCB": "970436", "vcb": "970436", "MB": "970422", "ICB": "970415", "TIMO": "963388", " tcb ": "970407"}
	for code, bin := range tests {
		b, ok := BankByCode(code)
		if !ok || b.BIN != bin {
			t.Errorf("BankByCode(%q): got %s, %v, want %s", code, b.BIN, ok, bin)
		}
	}
	if _, ok := BankByCode("NOPE"); ok {
		t.Errorf("BankByCode(NOPE): got a bank, want none")
	}
}

func TestLookupBanks_ExposesAmbiguousNames(t *testing.T) {
	got := LookupBanks("BVB")
	var names []string
	for _, b := range got {
		names = append(names, b.ShortName)
	}
	if strings.Join(names, ",") != "BaoVietBank,VietCapitalBank" {
		t.Errorf("LookupBanks(BVB): got %v, want BaoVietBank and VietCapitalBank", names)
	}
	if got := LookupBanks("970459"); len(got) != 1 || got[0].ShortName != "CIMB" {
		t.Errorf("LookupBanks(970459): got %v, want CIMB", got)
	}
	if got := BanksByShortName("mbbank"); len(got) != 1 || got[0].BIN != "970422" {
		t.Errorf("BanksByShortName(mbbank): got %v, want MBBank", got)
	}
}

func TestBanks_IsSortedForAPickerWithOneEntryPerBank(t *testing.T) {
	list := Banks()
	if len(list) < 60 {
		t.Fatalf("got %d banks, want the whole directory", len(list))
	}
	if !sort.SliceIsSorted(list, func(i, j int) bool {
		return strings.ToLower(list[i].ShortName) < strings.ToLower(list[j].ShortName)
	}) {
		t.Errorf("got banks out of order by short name")
	}
	bins := map[string]bool{}
	names := map[string]bool{}
	for _, b := range list {
		if len(b.BIN) != 6 || !isDigits(b.BIN) {
			t.Errorf("%s: got BIN %q, want 6 digits (every listed bank can receive)", b.ShortName, b.BIN)
		}
		if bins[b.BIN] {
			t.Errorf("BIN %s: listed twice", b.BIN)
		}
		bins[b.BIN] = true
		if names[b.ShortName] {
			t.Errorf("short name %s: listed twice", b.ShortName)
		}
		names[b.ShortName] = true
		switch b.AppCanPay {
		case AppPays, AppDoesNotPay, AppSupportUnknown:
		default:
			t.Errorf("%s: got vietqr_app_can_pay %q", b.ShortName, b.AppCanPay)
		}
	}
	for _, b := range list {
		for _, other := range b.OtherBINs {
			if bins[other] {
				t.Errorf("%s: SBV BIN %s also listed as a bank of its own", b.ShortName, other)
			}
		}
	}
	list[0].ShortName = "changed"
	if Banks()[0].ShortName == "changed" {
		t.Errorf("Banks: got the directory itself, want a copy")
	}
}

func TestBankDirectory_KnowsWhichAppsCanPay(t *testing.T) {
	for bin, want := range map[string]AppSupport{"970436": AppPays, "458761": AppDoesNotPay, "970404": AppSupportUnknown, "971025": AppPays} {
		b, ok := BankByBIN(bin)
		if !ok || b.AppCanPay != want {
			t.Errorf("BankByBIN(%s).AppCanPay: got %q, %v, want %q", bin, b.AppCanPay, ok, want)
		}
	}
	if b, _ := BankByBIN("970436"); b.Name != "Ngân hàng TMCP Ngoại Thương Việt Nam" {
		t.Errorf("Vietcombank name: got %q, want it with diacritics", b.Name)
	}
}

func TestLookupBIN_ArrayAndMapAgreeForEveryBIN(t *testing.T) {
	for k, want := range banks.byBIN {
		bin := strconv.FormatUint(uint64(k), 10)
		if got, ok := banks.lookupBIN(bin); !ok || got != want {
			t.Errorf("lookupBIN(%s): got %d, %v, want %d", bin, got, ok, want)
		}
	}
	for _, bin := range []string{"970000", "971999", "972000", "969999", "000000", "97043", "9704366", "97O436", "+70436"} {
		if _, ok := banks.byBIN[binKey(bin)]; ok && isDigits(bin) && len(bin) == 6 {
			continue
		}
		if i, ok := banks.lookupBIN(bin); ok {
			t.Errorf("lookupBIN(%q): got bank %d, want none", bin, i)
		}
	}
}
