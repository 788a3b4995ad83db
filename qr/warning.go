package qr

import (
	"encoding/json"
	"strconv"
)

// WarningCode names something off about a payload that does not stop it
// being used: real banking apps emit these and other apps accept them.
// A failure that did not become the verdict (the verdict is the first one)
// also appears as a warning, with the Verdict's word as its code.
type WarningCode string

// The warning codes.
const (
	WarnZeroLength           WarningCode = "zero_length"            // a data object with an empty value (Techcombank's 8300, VIB's 6200)
	WarnLongValue            WarningCode = "long_value"             // a value over its spec limit (payOS's 62.08 of 26–35 characters)
	WarnNonASCII             WarningCode = "non_ascii"              // characters outside ASCII in the payload
	WarnByteLengths          WarningCode = "byte_lengths"           // lengths count UTF-8 bytes, not characters
	WarnTrimmed              WarningCode = "trimmed"                // whitespace around the payload was removed
	WarnLowercaseCRC         WarningCode = "lowercase_crc"          // CRC in lower-case hex (MB Bank, Techcombank)
	WarnDynamicWithoutAmount WarningCode = "dynamic_without_amount" // 01 = 12 but no 54
	WarnStaticWithAmount     WarningCode = "static_with_amount"     // 01 = 11 with a 54
	WarnAmountTrailingDot    WarningCode = "amount_trailing_dot"    // "50000.": allowed by NAPAS, unusual
	WarnAmountLeadingZero    WarningCode = "amount_leading_zero"    // "050000"
	WarnAmountOverCap        WarningCode = "amount_over_cap"        // 500,000,000 đồng or more: NAPAS247 refuses it
	WarnUnknownBIN           WarningCode = "unknown_bin"            // a BIN the bank directory does not know
	WarnSBVBIN               WarningCode = "sbv_bin"                // the SBV BIN of a bank whose VietQR BIN differs (CIMB 970459)
	WarnExtraSubtag          WarningCode = "extra_subtag"           // an unexpected sub-tag, usually a sign of a miscounted length
	WarnDuplicateTag         WarningCode = "duplicate_tag"          // the same ID twice in one template; the first is used
	WarnBadTemplate          WarningCode = "bad_template"           // a template this decoder does not depend on cannot be read
	WarnCurrency             WarningCode = "unexpected_currency"    // a non-transfer code without 53 = 704
	WarnCountry              WarningCode = "unexpected_country"     // a non-transfer code without 58 = VN
	WarnInitiation           WarningCode = "unexpected_initiation"  // a non-transfer code whose 01 is not 11 or 12
	WarnAmount               WarningCode = "unexpected_amount"      // a non-transfer code whose 54 is not a whole amount
)

// Warning is one thing off about a payload. Its message is built on demand,
// so decoding a payload with warnings still does not allocate for them.
type Warning struct {
	Code WarningCode
	Path string // the data object concerned ("62.08"), or "" for the whole payload
	N    int    // a length or count the message cites
	Max  int    // the limit the message cites
	Text string // a value the message cites, or the whole message for failures demoted to warnings
}

// Message explains the warning in English.
func (w Warning) Message() string {
	switch w.Code {
	case WarnZeroLength:
		return "zero-length data object " + w.Path
	case WarnLongValue:
		return w.Path + " has " + strconv.Itoa(w.N) + " characters, over the limit of " + strconv.Itoa(w.Max)
	case WarnNonASCII:
		return "non-ASCII characters: QR fields should be plain ASCII"
	case WarnByteLengths:
		return "lengths count UTF-8 bytes, not characters as NAPAS specifies"
	case WarnTrimmed:
		return "whitespace around the payload was removed"
	case WarnLowercaseCRC:
		return "CRC in lower-case hex"
	case WarnDynamicWithoutAmount:
		return "dynamic code (01 = 12) without an amount (54)"
	case WarnStaticWithAmount:
		return "static code (01 = 11) with an amount (54)"
	case WarnAmountTrailingDot:
		return "amount " + strconv.Quote(w.Text) + " ends in a decimal point"
	case WarnAmountLeadingZero:
		return "amount " + strconv.Quote(w.Text) + " has a leading zero"
	case WarnAmountOverCap:
		return "amount " + strconv.Quote(w.Text) + " is 500,000,000 đồng or more, over the NAPAS247 cap"
	case WarnUnknownBIN:
		return "BIN " + w.Text + " is not in the bank directory"
	case WarnSBVBIN:
		if b, ok := BankByBIN(w.Text); ok {
			return "BIN " + w.Text + " is the SBV BIN of " + b.ShortName + "; VietQR bank lists use " + b.BIN
		}
		return "BIN " + w.Text + " is an SBV BIN that VietQR bank lists do not use"
	case WarnExtraSubtag:
		return "template " + w.Path + " has an unexpected sub-tag " + w.Text
	case WarnDuplicateTag:
		return "data object " + w.Path + " appears more than once; the first is used"
	case WarnCurrency:
		if w.Text == "" {
			return "no currency 53"
		}
		return "currency 53 is " + strconv.Quote(w.Text) + ", not 704"
	case WarnCountry:
		if w.Text == "" {
			return "no country 58"
		}
		return "country 58 is " + strconv.Quote(w.Text) + ", not VN"
	case WarnInitiation:
		return "point of initiation 01 is " + strconv.Quote(w.Text) + ", not 11 or 12"
	case WarnAmount:
		return "amount 54 " + strconv.Quote(w.Text) + " is not a whole, non-zero number of đồng"
	}
	return w.Text
}

// String returns the message.
func (w Warning) String() string { return w.Message() }

// MarshalJSON writes {"code": …, "message": …}.
func (w Warning) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Code    WarningCode `json:"code"`
		Message string      `json:"message"`
	}{w.Code, w.Message()})
}
