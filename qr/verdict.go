package qr

import (
	"strconv"
)

// Verdict is the decoder's judgement of a payload in one stable snake_case
// word: "ok", or the first reason the code cannot be used as what it claims to
// be. The CRC is checked first, so a payload with a bad CRC says bad_crc even
// when its structure is broken too; the structural cause then appears among
// the warnings.
type Verdict string

// The verdicts.
const (
	VerdictOK          Verdict = "ok"           // valid for its family
	VerdictEmpty       Verdict = "empty"        // nothing but whitespace
	VerdictNotEMV      Verdict = "not_emv"      // does not start like an EMV payload ("00…")
	VerdictTooLong     Verdict = "too_long"     // longer than any QR code can hold (MaxPayloadLen)
	VerdictNoCRC       Verdict = "no_crc"       // no CRC object (6304xxxx) at the end
	VerdictBadCRC      Verdict = "bad_crc"      // the CRC does not match, or is not four hex digits
	VerdictTruncated   Verdict = "truncated"    // no CRC, and a declared length runs past the end: the string was cut
	VerdictBadLength   Verdict = "bad_length"   // the CRC matches but a length is wrong or unreadable
	VerdictBadTag      Verdict = "bad_tag"      // the CRC matches but an ID is not two digits
	VerdictBadHeader   Verdict = "bad_header"   // 00 is not "01", or a transfer's 01 is not 11/12
	VerdictBadTag38    Verdict = "bad_tag38"    // the NAPAS template 38 is broken or incomplete
	VerdictBadTag62    Verdict = "bad_tag62"    // the additional-data template 62 of a transfer is broken
	VerdictBadAmount   Verdict = "bad_amount"   // 54 is not a whole, non-zero number of đồng
	VerdictBadCurrency Verdict = "bad_currency" // a transfer without 53 = 704 (VND)
	VerdictBadCountry  Verdict = "bad_country"  // a transfer without 58 = VN
	VerdictAmbiguous   Verdict = "ambiguous"    // a transfer states its account, amount, currency or kind twice, differently
)

// MaxPayloadLen is the longest payload Decode reads: a version 40 QR code
// holds at most 4,296 characters (alphanumeric mode), so anything longer did
// not come from a scan.
const MaxPayloadLen = 4296

// causeCode says which message explains a verdict.
type causeCode uint8

const (
	causeNone causeCode = iota
	causeEmpty
	causeNotEMV
	causeTooLong     // n: length
	causeCRCMismatch // n: stated, m: computed
	causeCRCNotHex   // text: stated
	causeCRCShort    // text: stated
	causeCRCEmpty    // "6304" with nothing after it
	causeCRCMissing  // no 6304 at the end
	causeSyntax      // syntax
	causeCRCNotLast  // 6304xxxx at the end is not where the structure puts 63
	causeNoFormat    // first object is not 00
	causeFormat      // text: 00's value
	causeInitiation  // text: 01's value
	cause38Syntax    // syntax
	cause38NoGUID    // 38.00 missing
	cause38NoBeneficiary
	cause38BIN         // text
	cause38NoAccount   // 38.01.01 missing or empty
	cause38LongAccount // n: length
	cause38NoService
	cause38Service // text
	cause62Syntax  // syntax
	causeAmountSyntax
	causeAmountDecimals
	causeAmountZero
	causeAmountLong
	causeCurrency  // text ("" when absent)
	causeCountry   // text ("" when absent)
	causeAmbiguous // text: the path; first, second: the two values
)

// cause is what a verdict's message cites. It is kept raw and formatted only
// when Message is called, so judging a payload allocates nothing.
type cause struct {
	code          causeCode
	text          string
	first, second string
	n, m          int
	syntax        SyntaxError
}

func (c cause) message() string {
	switch c.code {
	case causeEmpty:
		return "the payload is empty"
	case causeNotEMV:
		return "not an EMV QR payload: it does not start with the payload format indicator 00"
	case causeTooLong:
		return "the payload has " + strconv.Itoa(c.n) + " bytes, more than any QR code holds"
	case causeCRCMismatch:
		return "CRC mismatch: the payload states " + hex4(uint16(c.n)) + " but its content computes to " + hex4(uint16(c.m))
	case causeCRCNotHex:
		return "the CRC " + strconv.Quote(c.text) + " is not four hexadecimal digits"
	case causeCRCShort:
		return "the CRC " + strconv.Quote(c.text) + " has " + strconv.Itoa(len(c.text)) +
			" of 4 hex digits (a generator dropped leading zeros, or the string was cut)"
	case causeCRCEmpty:
		return "tag 63 declares a 4-character CRC but the payload ends there"
	case causeCRCMissing:
		return "no CRC: the payload does not end with 6304 and four hex digits"
	case causeSyntax:
		return c.syntax.Error()
	case causeCRCNotLast:
		return "the trailing 6304… is not a data object of its own: the lengths before it do not line up"
	case causeNoFormat:
		return "the first data object is not the payload format indicator 00"
	case causeFormat:
		return "payload format indicator 00 is " + strconv.Quote(c.text) + ", want \"01\""
	case causeInitiation:
		return "point of initiation 01 is " + strconv.Quote(c.text) + ", want 11 (static) or 12 (dynamic)"
	case cause38Syntax:
		return c.syntax.Error()
	case cause38NoGUID:
		return "template 38 has no GUID 00"
	case cause38NoBeneficiary:
		return "template 38 has no beneficiary organisation 01"
	case cause38BIN:
		return "38.01.00 BIN " + strconv.Quote(c.text) + " is not 6 digits"
	case cause38NoAccount:
		return "38.01.01 account or card number is missing"
	case cause38LongAccount:
		return "38.01.01 account or card number has " + strconv.Itoa(c.n) + " characters, the limit is 19"
	case cause38NoService:
		return "template 38 has no service code 02 (QRIBFTTA or QRIBFTTC)"
	case cause38Service:
		return "38.02 service code " + strconv.Quote(c.text) + " is not a NAPAS service"
	case cause62Syntax:
		return c.syntax.Error()
	case causeAmountSyntax:
		return "amount 54 " + strconv.Quote(c.text) + " is not digits with at most one decimal point"
	case causeAmountDecimals:
		return "amount 54 " + strconv.Quote(c.text) + " has decimals, but VND has no minor unit"
	case causeAmountZero:
		return "amount 54 is zero"
	case causeAmountLong:
		return "amount 54 " + strconv.Quote(c.text) + " is longer than 13 characters"
	case causeCurrency:
		if c.text == "" {
			return "a transfer needs currency 53 = 704 (VND); it is missing"
		}
		return "currency 53 is " + strconv.Quote(c.text) + ", a transfer needs 704 (VND)"
	case causeCountry:
		if c.text == "" {
			return "a transfer needs country 58 = VN; it is missing"
		}
		return "country 58 is " + strconv.Quote(c.text) + ", a transfer needs VN"
	case causeAmbiguous:
		return "data object " + c.text + " appears twice, as " + strconv.Quote(c.first) + " and " + strconv.Quote(c.second) +
			": banking apps may read either, so the code cannot say where the money goes or how much"
	}
	return "valid"
}

func hex4(c uint16) string {
	var b [4]byte
	return string(appendCRCHex(b[:0], c))
}
