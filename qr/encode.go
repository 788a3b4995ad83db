package qr

import (
	"strconv"
	"strings"
)

// Service is the NAPAS service code in 38.02.
type Service string

// The NAPAS service codes. Only the two transfer services can be encoded.
const (
	ServiceAccount Service = "QRIBFTTA" // NAPAS247 fast transfer to an account
	ServiceCard    Service = "QRIBFTTC" // NAPAS247 fast transfer to a card
	ServicePush    Service = "QRPUSH"   // NAPAS merchant payment; not a transfer
	ServiceCash    Service = "QRCASH"   // ATM cash withdrawal; not a transfer
)

// NAPASGUID is the application identifier in 38.00 of every VietQR.
const NAPASGUID = "A000000727"

// Limits the encoder enforces (VIETQR.md §3–§6, DESIGN.md §3).
const (
	MaxAccountLen      = 19          // 38.01.01
	MaxPurposeLen      = 25          // 62.08
	MaxMerchantNameLen = 25          // 59
	MaxCityLen         = 15          // 60
	MaxAmount          = 999_999_999 // nine digits; NAPAS247 caps a transfer below 500,000,000 đồng
)

// Transfer describes a VietQR transfer code to encode.
type Transfer struct {
	BIN     string  // the beneficiary bank's 6-digit BIN; an SBV BIN is replaced by the VietQR one (EncodeBIN)
	Account string  // account or card number: 1–19 ASCII letters and digits (aliases and virtual accounts have letters)
	Service Service // ServiceAccount (the default when empty) or ServiceCard
	Amount  int64   // đồng; 0 makes a static code (01=11, no 54), 1–999,999,999 a dynamic one (01=12)

	// Reference is a payment reference (NewReference) put first in 62.08, so
	// the bank's credit notification can be matched to the sale. Upper-cased;
	// letters and digits only.
	Reference string
	// Purpose is the transfer message in 62.08, after Reference and a space.
	// It is folded to ASCII (Fold); the whole of 62.08 must fit MaxPurposeLen
	// (BuildPurpose cuts text to fit).
	Purpose string
	// MerchantName (59, folded, ≤ 25) and City (60, folded, ≤ 15) are
	// optional: banking apps show the holder's name from NAPAS's lookup, not
	// from the code, so transfer codes usually leave them out.
	MerchantName string
	City         string
}

// Error is a Transfer the encoder refuses, naming the field at fault.
type Error struct {
	Field   string // the Transfer field: "BIN", "Account", "Amount", …
	Message string
}

// Error implements error.
func (e *Error) Error() string { return "qr: " + e.Field + ": " + e.Message }

func fieldError(field, msg string) error { return &Error{Field: field, Message: msg} }

// Encode builds the payload of a VietQR transfer code: ASCII, with the CRC in
// upper-case hex. It returns an *Error for a transfer it cannot encode
// faithfully; it never truncates or guesses.
func Encode(t Transfer) (string, error) {
	var buf [256]byte
	b, err := AppendEncode(buf[:0], t)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// AppendEncode is Encode appending to dst, for callers that reuse a buffer.
func AppendEncode(dst []byte, t Transfer) ([]byte, error) {
	bin := EncodeBIN(t.BIN)
	if len(bin) != 6 || !isDigits(bin) {
		return dst, fieldError("BIN", "want 6 digits, got "+strconv.Quote(t.BIN))
	}
	if t.Account == "" || len(t.Account) > MaxAccountLen || !isAlnumString(t.Account) {
		return dst, fieldError("Account", "want 1–19 ASCII letters or digits, got "+strconv.Quote(t.Account))
	}
	svc := t.Service
	if svc == "" {
		svc = ServiceAccount
	}
	if svc != ServiceAccount && svc != ServiceCard {
		return dst, fieldError("Service", "want "+string(ServiceAccount)+" or "+string(ServiceCard)+", got "+strconv.Quote(string(svc)))
	}
	if t.Amount < 0 || t.Amount > MaxAmount {
		return dst, fieldError("Amount", "want 0 (static) or 1–999999999 đồng, got "+strconv.FormatInt(t.Amount, 10))
	}

	ref := t.Reference
	if ref != "" && !isAlnumString(ref) {
		return dst, fieldError("Reference", "want ASCII letters and digits, got "+strconv.Quote(ref))
	}

	start := len(dst)
	if t.Amount > 0 {
		dst = append(dst, "000201"+"010212"...)
	} else {
		dst = append(dst, "000201"+"010211"...)
	}
	// 38 = 00 GUID (14) + 01 beneficiary (4 + 10 + 4 + account) + 02 service (4 + 8).
	beneficiary := 10 + 4 + len(t.Account)
	dst = appendHeader(dst, "38", 14+4+beneficiary+4+len(svc))
	dst = append(dst, "0010"+NAPASGUID...)
	dst = appendHeader(dst, "01", beneficiary)
	dst = append(dst, "0006"...)
	dst = append(dst, bin...)
	dst = append(appendHeader(dst, "01", len(t.Account)), t.Account...)
	dst = append(appendHeader(dst, "02", len(svc)), svc...)
	dst = append(dst, "5303704"...)
	if t.Amount > 0 {
		dst = appendAmount(dst, t.Amount)
	}
	dst = append(dst, "5802VN"...)

	// Text is folded straight into dst behind a header whose length is
	// filled in once known, so encoding does not allocate for it.
	var n int
	if t.MerchantName != "" {
		if dst, n = appendFoldedTLV(dst, "59", t.MerchantName); n > MaxMerchantNameLen {
			return dst[:start], fieldError("MerchantName", "folded name "+strconv.Quote(Fold(t.MerchantName))+" is over 25 characters")
		}
	}
	if t.City != "" {
		if dst, n = appendFoldedTLV(dst, "60", t.City); n > MaxCityLen {
			return dst[:start], fieldError("City", "folded city "+strconv.Quote(Fold(t.City))+" is over 15 characters")
		}
	}
	// 62.08: the reference, upper-cased, then the folded purpose.
	if ref != "" || t.Purpose != "" {
		h := len(dst)
		dst = append(dst, "62000800"...)
		for i := 0; i < len(ref); i++ {
			dst = append(dst, upper(ref[i]))
		}
		if ref != "" {
			dst = append(dst, ' ')
		}
		p := len(dst)
		dst = appendFold(dst, t.Purpose)
		if len(dst) == p && ref != "" {
			dst = dst[:p-1] // no purpose after all: drop the separating space
		}
		msgLen := len(dst) - h - 8
		if msgLen > MaxPurposeLen {
			return dst[:start], fieldError("Purpose", "62.08 would be "+strconv.Itoa(msgLen)+" characters, the limit is 25 (see BuildPurpose)")
		}
		if msgLen == 0 {
			dst = dst[:h]
		} else {
			putLen(dst[h+2:], 4+msgLen)
			putLen(dst[h+6:], msgLen)
		}
	}
	dst = append(dst, "6304"...)
	return appendCRCHex(dst, crc16Bytes(dst[start:])), nil
}

// BuildPurpose makes the content of 62.08 for a dynamic code: the reference,
// a space, and as much of the folded text as fits in 25 characters, cut at a
// word boundary. The reference comes first so it survives a bank cutting the
// message further (VIETQR.md §5).
func BuildPurpose(ref, text string) string {
	ref = upperIfNeeded(ref)
	if ref == "" {
		return FoldMax(text, MaxPurposeLen)
	}
	rest := FoldMax(text, MaxPurposeLen-len(ref)-1)
	if rest == "" {
		return ref
	}
	return ref + " " + rest
}

// SetSale makes t the dynamic code of one sale: amount đồng, the payment
// reference ref first in 62.08, and as much of purpose as fits after it
// (BuildPurpose; the encoder writes the reference itself). The server's
// dynamic codes and the phone's offline ones are made by it alike.
func (t *Transfer) SetSale(amount int64, ref, purpose string) {
	t.Amount, t.Reference = amount, ref
	t.Purpose = strings.TrimSpace(strings.TrimPrefix(BuildPurpose(ref, purpose), upperIfNeeded(ref)))
}

// appendAmount appends data object 54 for an amount of 1–999,999,999 đồng,
// its digits written two at a time from the right into a small buffer
// (strconv would format into a scratch buffer too, with more checks).
func appendAmount(dst []byte, amount int64) []byte {
	var b [9]byte
	v := uint32(amount) // at most nine digits
	i := len(b)
	for v >= 100 {
		q := v / 100
		d := (v - q*100) * 2
		i -= 2
		b[i], b[i+1] = digitPairs[d], digitPairs[d+1]
		v = q
	}
	if v >= 10 {
		i -= 2
		b[i], b[i+1] = digitPairs[v*2], digitPairs[v*2+1]
	} else {
		i--
		b[i] = byte('0' + v)
	}
	return append(appendHeader(dst, "54", len(b)-i), b[i:]...)
}

// digitPairs holds 00 to 99, two characters each.
const digitPairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" + "60616263646566676869" +
	"70717273747576777879" + "80818283848586878889" + "90919293949596979899"

// appendHeader appends a data object's ID and a length of at most 99.
func appendHeader(dst []byte, id string, n int) []byte {
	return append(dst, id[0], id[1], byte('0'+n/10), byte('0'+n%10))
}

func putLen(b []byte, n int) {
	b[0], b[1] = byte('0'+n/10), byte('0'+n%10)
}

// appendFoldedTLV appends data object id with text folded as its value, and
// returns the value's length; it appends nothing for text that folds to "".
// The caller checks the length against the field's limit (at most 99 is
// written, so a too-long value is still well-formed until the caller drops it).
func appendFoldedTLV(dst []byte, id, text string) ([]byte, int) {
	if text == "" {
		return dst, 0
	}
	h := len(dst)
	dst = append(dst, id...)
	dst = append(dst, "00"...)
	dst = appendFold(dst, text)
	n := len(dst) - h - 4
	if n == 0 {
		return dst[:h], 0
	}
	putLen(dst[h+2:], min(n, 99))
	return dst, n
}

func upperIfNeeded(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'a' && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = upper(b[j])
			}
			return string(b)
		}
	}
	return s
}

func isAlnumString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}
