package choso

import (
	"strings"
	"unicode/utf8"
)

// NormalizePhone turns a Vietnamese phone number as people write it
// ("0912 345 678", "0912.345.678", "+84 912-345-678", "(84) 912345678",
// "+84 0912345678") into E.164 ("+84912345678"). It accepts mobile numbers
// (9 digits after the 0: 3x, 5x, 7x, 8x, 9x) and landlines (10 digits after
// the 0, area codes 2xx). The 11-digit mobile numbers retired in 2018 are
// refused with a message that says so.
func NormalizePhone(s string) (string, error) {
	orig := s
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && b.Len() == 0:
			b.WriteRune(r)
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')' || r == '\u00a0':
		default:
			return "", Errorf(EInvalid, "phone %q: unexpected character %q", orig, r)
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(d, "+84"):
		d = d[3:]
	case strings.HasPrefix(d, "+"):
		return "", Errorf(EInvalid, "phone %q: only Vietnamese numbers (+84) are taken", orig)
	case strings.HasPrefix(d, "84") && (len(d) == 11 || len(d) == 12):
		d = d[2:]
	}
	d = strings.TrimPrefix(d, "0")
	switch {
	case len(d) == 9 && strings.ContainsRune("35789", rune(d[0])):
		return "+84" + d, nil
	case len(d) == 10 && d[0] == '2':
		return "+84" + d, nil
	case len(d) == 10 && d[0] == '1':
		return "", Errorf(EInvalid, "phone %q: 11-digit mobile numbers were retired in 2018; use the new 10-digit number", orig)
	case d == "":
		return "", Errorf(EInvalid, "phone is empty")
	}
	return "", Errorf(EInvalid, "phone %q: want a Vietnamese mobile (0 + 9 digits, e.g. 0912 345 678) or landline (0 + 2xx area code + 7–8 digits)", orig)
}

// MaskPhone hides all but the last three digits of an E.164 number, for
// lists and logs: "+84912345678" → "+84******678".
func MaskPhone(e164 string) string {
	if len(e164) <= 6 {
		return strings.Repeat("*", len(e164))
	}
	return e164[:3] + strings.Repeat("*", len(e164)-6) + e164[len(e164)-3:]
}

// MaskName keeps a person's name to its initials, for the audit log, which
// no erasure can rewrite: "Nguyễn Thị Lan" → "N. T. L.".
func MaskName(name string) string {
	var b strings.Builder
	for _, w := range strings.Fields(name) {
		r, _ := utf8.DecodeRuneInString(w)
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
		b.WriteByte('.')
	}
	return b.String()
}

// MaskAccount hides all but the last four characters of an account or card
// number: "58110000715752" → "**********5752".
func MaskAccount(account string) string {
	if len(account) <= 4 {
		return strings.Repeat("*", len(account))
	}
	return strings.Repeat("*", len(account)-4) + account[len(account)-4:]
}
