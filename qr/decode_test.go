package qr

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// withCRC appends "6304" and the CRC, for building test payloads by hand.
func withCRC(body string) string {
	s := body + "6304"
	return s + hex4(CRC16(s))
}

func tlv(id, v string) string {
	return id + strconv.Itoa(100 + len(v))[1:] + v
}

// mbStatic is vectors row 16 with an upper-case CRC.
const mbStatic = "00020101021138540010A00000072701240006970422011003523509170208QRIBFTTA53037045802VN630479DB"

func warningCodes(r Result) []WarningCode {
	var out []WarningCode
	for _, w := range r.Warnings {
		out = append(out, w.Code)
	}
	return out
}

func TestDecode_AcceptsWhatRealBankAppsEmit(t *testing.T) {
	napas38 := tlv("38", "0010A000000727"+tlv("01", "0006970441"+tlv("01", "1234567890"))+"0208QRIBFTTA")
	tests := []struct {
		name        string
		payload     string
		wantWarning WarningCode
		check       func(t *testing.T, f Fields)
	}{
		{"lower-case CRC (MB Bank)", mbStatic[:len(mbStatic)-4] + "79db", WarnLowercaseCRC, nil},
		{"VIB's zero-length 62", withCRC("000201010211" + napas38 + "53037045802VN6200"), WarnZeroLength, nil},
		{"amount after country (TPBank fixture order)", withCRC("000201010212" + napas38 + "53037045802VN540550000"), "", func(t *testing.T, f Fields) {
			if f.Amount != 50000 {
				t.Errorf("amount: got %d, want 50000", f.Amount)
			}
		}},
		{"amount with a trailing point", withCRC("000201010212" + napas38 + "5303704540650000.5802VN"), WarnAmountTrailingDot, func(t *testing.T, f Fields) {
			if !f.HasAmount || f.Amount != 50000 {
				t.Errorf("amount: got %d (has=%v), want 50000", f.Amount, f.HasAmount)
			}
		}},
		{"amount of 13 digits", withCRC("000201010212" + napas38 + "530370454131000000000000" + "5802VN"), WarnAmountOverCap, nil},
		{"CIMB's SBV BIN", withCRC("000201010211" + tlv("38", "0010A000000727"+tlv("01", "0006970459"+tlv("01", "800012345"))+"0208QRIBFTTA") + "53037045802VN"), WarnSBVBIN, func(t *testing.T, f Fields) {
			if f.Bank != "CIMB" {
				t.Errorf("bank: got %q, want CIMB", f.Bank)
			}
		}},
		{"a newline after the payload", mbStatic + "\r\n", WarnTrimmed, nil},
		{"62.08 lengths counted in UTF-8 bytes (vietqr-ts fixture)",
			withCRC("000201010212" + napas38 + "530370454061800005802VN" + "62260822Thanh toán hóa đơn"), WarnByteLengths, func(t *testing.T, f Fields) {
				if f.Purpose != "Thanh toán hóa đơn" {
					t.Errorf("purpose: got %q, want %q", f.Purpose, "Thanh toán hóa đơn")
				}
			}},
		{"62.08 lengths counted in characters (VNPay wallet style)",
			withCRC("000201010212" + napas38 + "530370454061800005802VN" + "62220818Thanh toán hóa đơn"), WarnNonASCII, func(t *testing.T, f Fields) {
				if f.Purpose != "Thanh toán hóa đơn" {
					t.Errorf("purpose: got %q, want %q", f.Purpose, "Thanh toán hóa đơn")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Decode(tt.payload)
			if !r.Transfer || r.Verdict != VerdictOK {
				t.Fatalf("got transfer=%v verdict=%s (%s), want a payable transfer", r.Transfer, r.Verdict, r.Message())
			}
			if tt.wantWarning != "" && !slices.Contains(warningCodes(r), tt.wantWarning) {
				t.Errorf("warnings: got %v, want %s among them", warningCodes(r), tt.wantWarning)
			}
			if tt.check != nil {
				tt.check(t, r.Fields)
			}
		})
	}
}

func TestDecode_GivesAPreciseReasonForInvalidInput(t *testing.T) {
	napas := func(svc string) string {
		return tlv("38", "0010A000000727"+tlv("01", "0006970422"+tlv("01", "0352350917"))+svc)
	}
	tests := []struct {
		name    string
		payload string
		want    Verdict
		family  Family
	}{
		{"empty string", "  ", VerdictEmpty, FamilyNotEMV},
		{"a URL", "https://img.vietqr.io/image/vietinbank-113366668888-compact2.png", VerdictNotEMV, FamilyNotEMV},
		{"legacy MoMo pipes", "2|99|0912345678|||0|0|50000|Tra tien|transfer_myqr", VerdictNotEMV, FamilyNotEMV},
		{"one changed character", strings.Replace(mbStatic, "0352", "0353", 1), VerdictBadCRC, FamilyVietQR},
		{"CRC not hex", mbStatic[:len(mbStatic)-4] + "79DG", VerdictBadCRC, FamilyVietQR},
		{"CRC without leading zero", withCRC("00020101021138540010A00000072701240006970422011003523509170208QRIBFTTA53037045802VN")[:len(mbStatic)-1], VerdictBadCRC, FamilyVietQR},
		{"no CRC at all", mbStatic[:len(mbStatic)-8], VerdictNoCRC, FamilyVietQR},
		{"cut in the middle", mbStatic[:60], VerdictTruncated, FamilyVietQR},
		{"payload format 00", withCRC("000200010211" + napas("0208QRIBFTTA") + "53037045802VN"), VerdictBadHeader, FamilyVietQR},
		{"initiation 13", withCRC("000201010213" + napas("0208QRIBFTTA") + "53037045802VN"), VerdictBadHeader, FamilyVietQR},
		{"no service code", withCRC("000201010211" + napas("") + "53037045802VN"), VerdictBadTag38, FamilyVietQR},
		{"unknown service code", withCRC("000201010211" + napas("0206QRXXXX") + "53037045802VN"), VerdictBadTag38, FamilyVietQR},
		{"BIN of five digits", withCRC("000201010211" + tlv("38", "0010A000000727"+tlv("01", "000597042"+tlv("01", "0352350917"))+"0208QRIBFTTA") + "53037045802VN"), VerdictBadTag38, FamilyVietQR},
		{"account of 20 characters", withCRC("000201010211" + tlv("38", "0010A000000727"+tlv("01", "0006970422"+tlv("01", strings.Repeat("1", 20)))+"0208QRIBFTTA") + "53037045802VN"), VerdictBadTag38, FamilyVietQR},
		{"miscounted length inside 38.01, CRC recomputed", withCRC("000201010211" + "38540010A00000072701240006970422011103523509170208QRIBFTTA" + "53037045802VN"), VerdictBadTag38, FamilyVietQR},
		{"broken 62 in a transfer", withCRC("000201010211" + napas("0208QRIBFTTA") + "53037045802VN" + "6204B7C9"), VerdictBadTag62, FamilyVietQR},
		{"decimal amount", withCRC("000201010212" + napas("0208QRIBFTTA") + "5303704" + "540850000.50" + "5802VN"), VerdictBadAmount, FamilyVietQR},
		{"zero amount", withCRC("000201010212" + napas("0208QRIBFTTA") + "5303704" + "54010" + "5802VN"), VerdictBadAmount, FamilyVietQR},
		{"amount with a space", withCRC("000201010212" + napas("0208QRIBFTTA") + "5303704" + "540650 000" + "5802VN"), VerdictBadAmount, FamilyVietQR},
		{"currency 840", withCRC("000201010211" + napas("0208QRIBFTTA") + "53038405802VN"), VerdictBadCurrency, FamilyVietQR},
		{"no country", withCRC("000201010211" + napas("0208QRIBFTTA") + "5303704"), VerdictBadCountry, FamilyVietQR},
		{"ID with a letter, CRC recomputed", withCRC("0002010102115A0212"), VerdictBadTag, FamilyOtherEMV},
		// A sticker that states its amount or account twice may pay what
		// the vendor's checking app does not show: one app reads the first,
		// another the last.
		{"two different amounts", withCRC("000201010212" + napas("0208QRIBFTTA") + "5303704" + "540550000" + "5802VN" + "54075000000"), VerdictAmbiguous, FamilyVietQR},
		{"two different accounts in 38.01", withCRC("000201010211" + tlv("38", "0010A000000727"+tlv("01", "0006970422"+tlv("01", "0352350917")+tlv("01", "9999999999"))+"0208QRIBFTTA") + "53037045802VN"), VerdictAmbiguous, FamilyVietQR},
		{"two different beneficiaries in 38", withCRC("000201010211" + tlv("38", "0010A000000727"+tlv("01", "0006970422"+tlv("01", "0352350917"))+"0208QRIBFTTA"+tlv("01", "0006970436"+tlv("01", "0352350917"))) + "53037045802VN"), VerdictAmbiguous, FamilyVietQR},
		{"two different 38 templates", withCRC("000201010211" + napas("0208QRIBFTTA") + tlv("38", "0010A000000727"+tlv("01", "0006970422"+tlv("01", "1111111111"))+"0208QRIBFTTA") + "53037045802VN"), VerdictAmbiguous, FamilyVietQR},
		{"static and dynamic at once", withCRC("000201010211" + "010212" + napas("0208QRIBFTTA") + "53037045802VN"), VerdictAmbiguous, FamilyVietQR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Decode(tt.payload)
			if r.Verdict != tt.want {
				t.Errorf("verdict: got %s (%s), want %s", r.Verdict, r.Message(), tt.want)
			}
			if r.Transfer {
				t.Errorf("transfer: got true, want false")
			}
			if r.Family != tt.family {
				t.Errorf("family: got %s, want %s", r.Family, tt.family)
			}
			if msg := r.Message(); msg == "" || strings.HasPrefix(msg, "valid") {
				t.Errorf("message: got %q, want the reason", msg)
			}
		})
	}
}

func TestDecode_ARepeatedPaymentFieldWithTheSameValueIsOnlyAWarning(t *testing.T) {
	payload := withCRC("000201010212" + tlv("38", "0010A000000727"+tlv("01", "0006970422"+tlv("01", "0352350917"))+"0208QRIBFTTA") +
		"5303704" + "540550000" + "5802VN" + "540550000")
	r := Decode(payload)
	if !r.Transfer || r.Verdict != VerdictOK {
		t.Fatalf("got transfer=%v verdict=%s (%s), want a payable transfer", r.Transfer, r.Verdict, r.Message())
	}
	if !slices.Contains(warningCodes(r), WarnDuplicateTag) {
		t.Errorf("warnings: got %v, want %s among them", warningCodes(r), WarnDuplicateTag)
	}
	if r.Fields.Amount != 50000 {
		t.Errorf("amount: got %d, want 50000", r.Fields.Amount)
	}
}

func TestDecode_NamesWhatAnAmbiguousCodeStatesTwice(t *testing.T) {
	r := Decode(withCRC("000201010212" + tlv("38", "0010A000000727"+tlv("01", "0006970422"+tlv("01", "0352350917"))+"0208QRIBFTTA") +
		"5303704" + "540550000" + "5802VN" + "54075000000"))
	msg := r.Message()
	for _, want := range []string{"54", `"50000"`, `"5000000"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not name %s", msg, want)
		}
	}
}

func TestDecode_NamesTheFamilyOfOtherCodes(t *testing.T) {
	napasTransfer := tlv("38", "0010A000000727"+tlv("01", "0006970454"+tlv("01", "99ZP24334O00721677"))+"0208QRIBFTTA")
	tests := []struct {
		name     string
		payload  string
		want     Family
		transfer bool
	}{
		{"ShopeePay", withCRC("000201010211" + tlv("26", "0013vn.airpay.www0105123455204581253037045802VN")), FamilyShopeePay, false},
		{"MoMo gateway", withCRC("000201010212" + tlv("26", "0007vn.momo0105abcde") + napasTransfer + "530370454041000" + "5802VN"), FamilyMoMo, true},
		{"MoMo at BIN 971025", withCRC("000201010211" + tlv("38", "0010A000000727"+tlv("01", "0006971025"+tlv("01", "PSP2602112300000007"))+"0208QRIBFTTA") + "53037045802VN" + tlv("62", tlv("05", "MOMOW2W12345"))), FamilyMoMo, true},
		{"EVN bill", withCRC("000201010212" + tlv("26", "000200"+tlv("01", "PE01000012345")) + "530370454061000005802VN"), FamilyOtherEMV, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Decode(tt.payload)
			if r.Family != tt.want || r.Transfer != tt.transfer {
				t.Errorf("got family %s transfer %v (%s %s), want %s transfer %v", r.Family, r.Transfer, r.Verdict, r.Message(), tt.want, tt.transfer)
			}
		})
	}
}

func TestDecode_NeverPanicsOnHostileInput(t *testing.T) {
	inputs := []string{
		"00", "0002", "000201", "00020", "0099", "6304", "00026304ABCD",
		"0002\xff\xfe0102", "00020101021238\xc3", "0002ΩΩ6304ΩΩΩΩ",
		"000201" + strings.Repeat("9999", 30), strings.Repeat("0", 1000),
		"000201" + "38990010A000000727" + strings.Repeat("0", 200),
		withCRC("000201" + "6200"), withCRC("00020101021138000"),
		withCRC("000201" + tlv("62", tlv("99", tlv("00", "x")))),
	}
	for _, in := range inputs {
		r := Decode(in)
		_ = r.Message()
		for _, w := range r.Warnings {
			_ = w.Message()
		}
		if _, err := json.Marshal(r); err != nil {
			t.Errorf("json of %q: got error %v, want none", in, err)
		}
	}
}

func TestDecodeInto_AllocatesNothingForAValidPayload(t *testing.T) {
	payloads := map[string]string{
		"static MB":           mbStatic,
		"payOS with long msg": "00020101021238570010A000000727012700069704480113CAS09741550130208QRIBFTTA53037045405100005802VN62300826CS0O5GCGTG0 Thanh Toan ABC6304F4E5",
		"bench harness":       benchPayload,
		"ZaloPay":             "00020101021226530010vn.zalopay01061800050203001031817718612500414873838620010A00000072701320006970454011899ZP26096O025982170208QRIBFTTA5204739953037045405110005802VN630456DA",
	}
	for name, p := range payloads {
		t.Run(name, func(t *testing.T) {
			var r Result
			DecodeInto(&r, p)
			if !r.Transfer {
				t.Fatalf("got verdict %s (%s), want a transfer", r.Verdict, r.Message())
			}
			if n := testing.AllocsPerRun(100, func() { DecodeInto(&r, p) }); n != 0 {
				t.Errorf("got %v allocations per decode, want 0", n)
			}
		})
	}
}

// TestResult_Elements_ListsEachTemplatesChildrenAfterIt: the tree the walk
// does not keep is rebuilt on request, root objects in payload order, each
// template the decoder reads followed by its children, 38.01's after 38's.
func TestResult_Elements_ListsEachTemplatesChildrenAfterIt(t *testing.T) {
	r := Decode(benchPayload)
	var got []string
	for _, e := range r.Elements() {
		path := e.ID
		for p := e.Parent; p >= 0; p = r.Elements()[p].Parent {
			path = r.Elements()[p].ID + "." + path
		}
		if benchPayload[e.Offset:e.Offset+2] != e.ID || benchPayload[e.Offset+4:e.Offset+4+len(e.Value)] != e.Value {
			t.Errorf("element %s does not point into the payload: %+v", path, e)
		}
		got = append(got, path)
	}
	want := []string{"00", "01", "38", "38.00", "38.01", "38.02", "38.01.00", "38.01.01", "53", "54", "58", "62", "62.08", "63"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if r := Decode("hello"); r.Elements() != nil {
		t.Errorf("not EMV: got %v, want no elements", r.Elements())
	}
}

func TestResult_MarshalsTheShapeTheCLIPrints(t *testing.T) {
	r := Decode("00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA530370454061800005802VN62340107NPS68690819thanh toan don hang63042E2E")
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"emv_ok", "transfer", "family", "verdict", "warnings", "fields"} {
		if _, ok := got[k]; !ok {
			t.Errorf("key %s: missing in %s", k, b)
		}
	}
	fields := got["fields"].(map[string]any)
	want := map[string]any{
		"bin": "970403", "bank": "Sacombank", "account": "0011012345678", "service": "QRIBFTTA",
		"initiation": "dynamic", "amount": 180000.0, "currency": "704", "country": "VN", "mcc": "",
		"merchant_name": "", "city": "", "bill_number": "NPS6869", "store_label": "", "reference_label": "",
		"terminal_label": "", "purpose": "thanh toan don hang", "crc": "2E2E",
	}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("fields.%s: got %v, want %v", k, fields[k], v)
		}
	}
	if got["verdict"] != "ok" || got["transfer"] != true || got["emv_ok"] != true {
		t.Errorf("got verdict %v transfer %v emv_ok %v, want ok true true", got["verdict"], got["transfer"], got["emv_ok"])
	}

	var none map[string]any
	b, _ = json.Marshal(Decode(mbStatic))
	_ = json.Unmarshal(b, &none)
	if a := none["fields"].(map[string]any)["amount"]; a != nil {
		t.Errorf("amount of a static code: got %v, want null", a)
	}
}
