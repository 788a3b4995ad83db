package qr

import (
	"errors"
	"io"
)

// A payment reference is "CS" followed by seven random symbols and one check
// symbol, all from Crockford's base-32 alphabet. Dynamic codes carry it first in
// 62.08 so that the bank's credit notification, whose content is the transfer
// message, can be matched to the sale even after the bank truncates, re-cases
// or prefixes the message (DESIGN.md §4, §6).
//
// Crockford's alphabet leaves out I, L, O and U, so a reference read aloud or
// retyped from a screenshot survives; the check symbol turns most stray
// "CS…" words in a message into non-matches.
const (
	// ReferencePrefix starts every payment reference.
	ReferencePrefix = "CS"
	// ReferenceLen is the length of a payment reference, prefix included.
	ReferenceLen = len(ReferencePrefix) + referenceBody + 1

	referenceBody     = 7 // random symbols: 35 bits
	referenceAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)

// crockfordValue maps an upper-case symbol to its value, folding the look-alikes
// Crockford allows (O→0, I and L→1); -1 elsewhere.
var crockfordValue = buildCrockfordValue()

func buildCrockfordValue() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(referenceAlphabet); i++ {
		t[referenceAlphabet[i]] = int8(i)
	}
	t['O'], t['I'], t['L'] = 0, 1, 1
	return t
}

// referenceCheck is a weighted sum modulo 32. Odd weights are invertible
// modulo 32, so every single-symbol substitution changes the check symbol.
func referenceCheck(body []int8) byte {
	sum := 0
	for i, v := range body {
		sum += (2*i + 1) * int(v)
	}
	return referenceAlphabet[sum%32]
}

// NewReference makes a payment reference from five bytes of rand, which is
// crypto/rand.Reader in production and a fixed stream in tests.
func NewReference(rand io.Reader) (string, error) {
	var raw [5]byte
	if _, err := io.ReadFull(rand, raw[:]); err != nil {
		return "", errors.New("qr: reading random bytes for a payment reference: " + err.Error())
	}
	bits := uint64(raw[0])<<32 | uint64(raw[1])<<24 | uint64(raw[2])<<16 | uint64(raw[3])<<8 | uint64(raw[4])
	var body [referenceBody]int8
	out := make([]byte, 0, ReferenceLen)
	out = append(out, ReferencePrefix...)
	for i := range body {
		body[i] = int8(bits >> (5 * i) & 31)
		out = append(out, referenceAlphabet[body[i]])
	}
	out = append(out, referenceCheck(body[:]))
	return string(out), nil
}

// ValidReference reports whether s is a well-formed payment reference in its
// canonical (upper-case, unfolded) spelling.
func ValidReference(s string) bool {
	ref, ok := readReference(s)
	return ok && ref == s
}

// readReference reads a reference from the first ReferenceLen bytes of s,
// upper-casing and folding look-alikes, and returns it in canonical form.
func readReference(s string) (string, bool) {
	if len(s) < ReferenceLen || upper(s[0]) != 'C' || upper(s[1]) != 'S' {
		return "", false
	}
	var body [referenceBody]int8
	canon := true
	for i := range body {
		c := s[2+i]
		v := crockfordValue[upper(c)]
		if v < 0 {
			return "", false
		}
		body[i] = v
		canon = canon && c == referenceAlphabet[v]
	}
	c := s[2+referenceBody]
	v := crockfordValue[upper(c)]
	if v < 0 || referenceAlphabet[v] != referenceCheck(body[:]) {
		return "", false
	}
	if canon && c == referenceAlphabet[v] && s[0] == 'C' && s[1] == 'S' {
		return s[:ReferenceLen], true
	}
	out := make([]byte, ReferenceLen)
	copy(out, ReferencePrefix)
	for i, b := range body {
		out[2+i] = referenceAlphabet[b]
	}
	out[ReferenceLen-1] = referenceAlphabet[v]
	return string(out), true
}

// ExtractReference finds the payment reference in the free-text content of a
// bank credit. Banks rewrite the message a payer's app sent: they prefix it
// with their own codes ("MBVCB.3279.CS…"), lower-case it, drop or add spaces
// and dots, and cut it. A reference standing as its own word wins; failing
// that, the content is read with every non-alphanumeric character removed, so a
// reference split by spaces or glued to a neighbouring word is still found.
func ExtractReference(content string) (string, bool) {
	// First pass: words.
	start := -1
	for i := 0; i <= len(content); i++ {
		if i < len(content) && isAlnum(content[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			word := content[start:i]
			start = -1
			if len(word) == ReferenceLen {
				if ref, ok := readReference(word); ok {
					return ref, true
				}
			}
		}
	}
	// Second pass: alphanumerics only, any position.
	var buf [128]byte
	compact := buf[:0]
	for i := 0; i < len(content); i++ {
		if isAlnum(content[i]) {
			compact = append(compact, content[i])
		}
	}
	for i := 0; i+ReferenceLen <= len(compact); i++ {
		if upper(compact[i]) == 'C' && upper(compact[i+1]) == 'S' {
			if ref, ok := readReference(string(compact[i : i+ReferenceLen])); ok {
				return ref, true
			}
		}
	}
	return "", false
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func isAlnum(c byte) bool { return alnum[c] }

// alnum marks the ASCII letters and digits: one load where three range
// tests were, for the encoder's account and reference checks.
var alnum = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
	}
	return t
}()
