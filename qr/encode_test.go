package qr

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestCRC16_MatchesTheCatalogueCheckValue(t *testing.T) {
	if got, want := CRC16("123456789"), uint16(0x29B1); got != want {
		t.Errorf("CRC16(\"123456789\"): got %04X, want %04X", got, want)
	}
}

func TestEncode_ReproducesRealCodesByteForByte(t *testing.T) {
	tests := []struct {
		name string
		in   Transfer
		want string
	}{
		{
			"NAPAS §6.1.2 static card example",
			Transfer{BIN: "970403", Account: "9704031101234567", Service: ServiceCard},
			"00020101021138600010A00000072701300006970403011697040311012345670208QRIBFTTC53037045802VN63044F52",
		},
		{
			"MB app static account code, CRC upper-cased",
			Transfer{BIN: "970422", Account: "0352350917"},
			"00020101021138540010A00000072701240006970422011003523509170208QRIBFTTA53037045802VN630479DB",
		},
		{
			"vectors row 68, dynamic with a message",
			Transfer{BIN: "970436", Account: "1023456789", Amount: 1943000, Purpose: "TT000069"},
			"00020101021238540010A00000072701240006970436011010234567890208QRIBFTTA5303704540719430005802VN62120808TT0000696304A8E5",
		},
		{
			"vectors row 7, static with a message",
			Transfer{BIN: "970437", Account: "068704070993999", Purpose: "Kohi Nguyễn Huệ"},
			"00020101021138590010A0000007270129000697043701150687040709939990208QRIBFTTA53037045802VN62190815KOHI NGUYEN HUE63047F33",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.in)
			if err != nil {
				t.Fatalf("got error %v, want %s", err, tt.want)
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestEncode_DecodesBackToTheSameFields(t *testing.T) {
	tests := []struct {
		name        string
		in          Transfer
		wantPurpose string
		wantPOI     Initiation
	}{
		{"static account", Transfer{BIN: "970436", Account: "0011001234567"}, "", Static},
		{"static card", Transfer{BIN: "970403", Account: "9704031101234567", Service: ServiceCard}, "", Static},
		{"dynamic with reference and Vietnamese purpose",
			Transfer{BIN: "970422", Account: "VQRQADIGQ4000", Amount: 125000, Reference: "CS7QW3K9MA", Purpose: "Bún bò Huế"},
			"CS7QW3K9MA BUN BO HUE", Dynamic},
		{"dynamic just under the NAPAS247 cap", Transfer{BIN: "970415", Account: "113366668888", Amount: 499_999_999}, "", Dynamic},
		{"merchant name and city folded",
			Transfer{BIN: "970407", Account: "19073030964010", MerchantName: "Cô Ba Đậu Hũ", City: "Hà Nội"}, "", Static},
		{"SBV BIN replaced by the VietQR BIN", Transfer{BIN: "970459", Account: "800012345"}, "", Static},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Encode(tt.in)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			r := Decode(s)
			if !r.Transfer || r.Verdict != VerdictOK || len(r.Warnings) != 0 {
				t.Fatalf("got transfer=%v verdict=%s warnings=%v, want a clean transfer: %s", r.Transfer, r.Verdict, r.Warnings, s)
			}
			f := r.Fields
			wantSvc := tt.in.Service
			if wantSvc == "" {
				wantSvc = ServiceAccount
			}
			for _, c := range []struct{ name, got, want string }{
				{"bin", f.BIN, EncodeBIN(tt.in.BIN)},
				{"account", f.Account, tt.in.Account},
				{"service", string(f.Service), string(wantSvc)},
				{"purpose", f.Purpose, tt.wantPurpose},
				{"initiation", string(f.Initiation), string(tt.wantPOI)},
				{"merchant name", f.MerchantName, Fold(tt.in.MerchantName)},
				{"city", f.City, Fold(tt.in.City)},
				{"crc", f.CRC, strings.ToUpper(f.CRC)},
			} {
				if c.got != c.want {
					t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
				}
			}
			if f.HasAmount != (tt.in.Amount > 0) || f.Amount != tt.in.Amount {
				t.Errorf("amount: got %d (has=%v), want %d", f.Amount, f.HasAmount, tt.in.Amount)
			}
		})
	}
}

func TestEncode_RefusesWhatItCannotEncodeFaithfully(t *testing.T) {
	ok := Transfer{BIN: "970436", Account: "0011001234567"}
	tests := []struct {
		name  string
		edit  func(*Transfer)
		field string
	}{
		{"BIN of five digits", func(t *Transfer) { t.BIN = "97043" }, "BIN"},
		{"BIN with a letter", func(t *Transfer) { t.BIN = "97043A" }, "BIN"},
		{"empty account", func(t *Transfer) { t.Account = "" }, "Account"},
		{"account of 20 characters", func(t *Transfer) { t.Account = strings.Repeat("1", 20) }, "Account"},
		{"account with a space", func(t *Transfer) { t.Account = "0011 0012" }, "Account"},
		{"account with a diacritic", func(t *Transfer) { t.Account = "ĐA123" }, "Account"},
		{"negative amount", func(t *Transfer) { t.Amount = -1 }, "Amount"},
		{"ten-digit amount", func(t *Transfer) { t.Amount = 1_000_000_000 }, "Amount"},
		{"QRPUSH service", func(t *Transfer) { t.Service = ServicePush }, "Service"},
		{"purpose of 26 characters", func(t *Transfer) { t.Purpose = strings.Repeat("A", 26) }, "Purpose"},
		{"reference and purpose over 25", func(t *Transfer) { t.Reference = "CS7QW3K9MA"; t.Purpose = "THANH TOAN DON HANG" }, "Purpose"},
		{"reference with a dash", func(t *Transfer) { t.Reference = "CS-1" }, "Reference"},
		{"merchant name of 26 characters", func(t *Transfer) { t.MerchantName = strings.Repeat("B", 26) }, "MerchantName"},
		{"city of 16 characters", func(t *Transfer) { t.City = "THANH PHO HO CHI" }, "City"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := ok
			tt.edit(&in)
			_, err := Encode(in)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got error %v, want a *qr.Error on %s", err, tt.field)
			}
			if e.Field != tt.field {
				t.Errorf("field: got %s, want %s (%v)", e.Field, tt.field, err)
			}
		})
	}
}

func TestBuildPurpose_PutsTheReferenceFirstAndCutsTheTextAtAWord(t *testing.T) {
	tests := []struct{ ref, text, want string }{
		{"CS7QW3K9MA", "Thanh toán đơn hàng", "CS7QW3K9MA THANH TOAN DON"},
		{"cs7qw3k9ma", "", "CS7QW3K9MA"},
		{"", "Mua 2 kg cà chua, 1 bó rau muống", "MUA 2 KG CA CHUA 1 BO RAU"},
		{"CS7QW3K9MA", "Supercalifragilisticexpialidocious", "CS7QW3K9MA SUPERCALIFRAGI"},
	}
	for _, tt := range tests {
		got := BuildPurpose(tt.ref, tt.text)
		if got != tt.want {
			t.Errorf("BuildPurpose(%q, %q): got %q, want %q", tt.ref, tt.text, got, tt.want)
		}
		if len(got) > MaxPurposeLen {
			t.Errorf("BuildPurpose(%q, %q): got %d characters, want at most 25", tt.ref, tt.text, len(got))
		}
	}
}

func TestFold_StripsTonesMapsDAndKeepsOnlyCapitalsDigitsAndSpaces(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Bánh mì Đức", "BANH MI DUC"},
		{"Nguyễn Thị Ánh Nguyệt", "NGUYEN THI ANH NGUYET"},
		{"đường ĐÔI", "DUONG DOI"},
		{"Phở bò #1 (tái)", "PHO BO 1 TAI"},
		{"Cà-phê_sữa/đá", "CA PHE SUA DA"},
		{"  chợ   Bến  Thành  ", "CHO BEN THANH"},
		{"Thu\u0309y ca\u0301", "THUY CA"}, // decomposed tones
		{"ỳýỷỹỵ ừứửữự ờớởỡợ", "YYYYY UUUUU OOOOO"},
		{"Crème brûlée", "CREME BRULEE"},
		{"100% 😀 ok", "100 OK"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseTLV_ReadsOneLevelAndRebuildsTheSameString(t *testing.T) {
	s := "0002010102115802VN830062080804ABCD"
	els, err := ParseTLV(s)
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	var ids []string
	var b []byte
	for _, e := range els {
		ids = append(ids, e.ID)
		b = AppendTLV(b, e.ID, e.Value)
	}
	if got, want := strings.Join(ids, ","), "00,01,58,83,62"; got != want {
		t.Errorf("ids: got %s, want %s", got, want)
	}
	if string(b) != s {
		t.Errorf("rebuilt: got %s, want %s", b, s)
	}
}

func TestParseTLV_ReportsWhereAndWhyItStopped(t *testing.T) {
	tests := []struct {
		in      string
		problem SyntaxProblem
		offset  int
	}{
		{"0002010A02", ProblemBadID, 6},
		{"000201010X", ProblemBadLength, 6},
		{"00020101051", ProblemOverrun, 6},
		{"00020112", ProblemDangling, 6},
	}
	for _, tt := range tests {
		_, err := ParseTLV(tt.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("ParseTLV(%q): got %v, want a *SyntaxError", tt.in, err)
		}
		if se.Problem != tt.problem || se.Offset != tt.offset {
			t.Errorf("ParseTLV(%q): got problem %d at %d, want %d at %d (%v)", tt.in, se.Problem, se.Offset, tt.problem, tt.offset, se)
		}
	}
}

func TestCRC16_AgreesWithTheBitwiseDefinitionAtEveryLength(t *testing.T) {
	var b []byte
	for n := 0; n < 300; n++ {
		s := string(b)
		want := crc16Slow(s)
		if got := CRC16(s); got != want {
			t.Fatalf("length %d: got %04X, want %04X", n, got, want)
		}
		if got := crc16Bytes(b); got != want {
			t.Fatalf("length %d, from bytes: got %04X, want %04X", n, got, want)
		}
		b = append(b, byte(n*131+7))
	}
}

// TestCRC16_AgreesWithTheTablesOnLongRandomInput checks the folding path of
// crc_clmul.go, where there is one, against the tables alone, up to the
// longest payload Decode reads.
func TestCRC16_AgreesWithTheTablesOnLongRandomInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 16))
	b := make([]byte, MaxPayloadLen)
	for range 2000 {
		n := rng.IntN(len(b) + 1)
		for i := range b[:n] {
			b[i] = byte(rng.Uint32())
		}
		if got, want := CRC16(string(b[:n])), crcUpdate(crcInit, b[:n]); got != want {
			t.Fatalf("length %d: got %04X, want %04X", n, got, want)
		}
	}
}

// TestCRCASCII_FindsTheOneByteThatIsNotASCII: the decoder learns whether a
// payload is ASCII from the same pass as the CRC, so a byte of 0x80 or more
// must be seen wherever it is, in the folded blocks or in the tail.
func TestCRCASCII_FindsTheOneByteThatIsNotASCII(t *testing.T) {
	for n := 0; n < 100; n++ {
		b := []byte(strings.Repeat("0123456789ABCDEF", 7)[:n])
		for at := -1; at < n; at++ {
			if at >= 0 {
				b[at] = 0xC3
			}
			s := string(b)
			c, ascii := crcASCII(s)
			if c != crc16Slow(s) || ascii != (at < 0) {
				t.Fatalf("length %d, non-ASCII at %d: got %04X %v, want %04X %v", n, at, c, ascii, crc16Slow(s), at < 0)
			}
			if at >= 0 {
				b[at] = '7'
			}
		}
	}
}

// crc16Slow is the bit-at-a-time definition the tables are checked against.
func crc16Slow(s string) uint16 {
	c := uint16(crcInit)
	for i := 0; i < len(s); i++ {
		c ^= uint16(s[i]) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ crcPoly
			} else {
				c <<= 1
			}
		}
	}
	return c
}

func TestEncode_AmountsOfEveryLengthRoundTrip(t *testing.T) {
	for _, amount := range []int64{1, 9, 10, 99, 100, 999, 1000, 12345, 99999, 100000, 999999, 1000000, 9999999, 10000000, 99999999, 100000000, 999999999} {
		s, err := Encode(Transfer{BIN: "970436", Account: "0011001234567", Amount: amount})
		if err != nil {
			t.Fatal(err)
		}
		r := Decode(s)
		if !r.Transfer || !r.Fields.HasAmount || r.Fields.Amount != amount || r.Fields.AmountText != strconv.FormatInt(amount, 10) {
			t.Errorf("amount %d: got %q (%d, transfer %v)", amount, r.Fields.AmountText, r.Fields.Amount, r.Transfer)
		}
	}
}

// SetSale puts the reference first in the message, once, and as much of
// the purpose as fits after it; the decoded code gives both back.
func TestTransfer_SetSale_ReferenceFirstThenPurpose(t *testing.T) {
	tr := Transfer{BIN: "970436", Account: "0011001234567", Service: ServiceAccount}
	tr.SetSale(45000, "CS7KQ2M9XW", "Bún chả cô Lan, hai suất mang về nhà")
	payload, err := Encode(tr)
	if err != nil {
		t.Fatal(err)
	}
	f := Decode(payload).Fields
	if f.Amount != 45000 || f.Purpose != BuildPurpose("CS7KQ2M9XW", "Bún chả cô Lan, hai suất mang về nhà") || strings.Count(f.Purpose, "CS7KQ2M9XW") != 1 {
		t.Fatalf("amount %d, purpose %q", f.Amount, f.Purpose)
	}
}
