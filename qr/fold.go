package qr

import (
	"encoding/binary"
	"slices"
	"strings"
	"unicode/utf8"
)

// foldGroups lists, for each ASCII capital, the accented letters that fold to
// it: every Vietnamese vowel with each of its six tones in both cases, đ/Đ, and
// the Latin letters a vendor's name or a foreign brand may bring along.
var foldGroups = [...]struct {
	base    byte
	letters string
}{
	{'A', "àáảãạăằắẳẵặâầấẩẫậÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬäåāąÄÅĀĄ"},
	{'C', "çćčÇĆČ"},
	{'D', "đĐðÐ"},
	{'E', "èéẻẽẹêềếểễệÈÉẺẼẸÊỀẾỂỄỆëēęěËĒĘĚ"},
	{'I', "ìíỉĩịÌÍỈĨỊîïīÎÏĪ"},
	{'N', "ñńňÑŃŇ"},
	{'O', "òóỏõọôồốổỗộơờớởỡợÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢöøōÖØŌ"},
	{'S', "šśŠŚ"},
	{'U', "ùúủũụưừứửữựÙÚỦŨỤƯỪỨỬỮỰûüūůÛÜŪŮ"},
	{'Y', "ỳýỷỹỵỲÝỶỸỴÿŸ"},
	{'Z', "žźżŽŹŻ"},
}

// foldASCII maps an ASCII byte to what Fold writes: its capital, itself for
// capitals and digits, ' ' for the punctuation that separates words, 0 for
// symbols to drop.
var foldASCII = buildFoldASCII()

func buildFoldASCII() (t [utf8.RuneSelf]byte) {
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c
	}
	for c := byte('A'); c <= 'Z'; c++ {
		t[c], t[c+'a'-'A'] = c, c
	}
	for _, c := range []byte(" \t\n\r-_/.,;:+&|") {
		t[c] = ' '
	}
	return t
}

// foldLatin and foldViet map the two Unicode blocks the letters above live in
// (Latin-1 Supplement to Latin Extended-B, and Latin Extended Additional,
// where the precomposed Vietnamese vowels with tones are) to their ASCII
// capital, 0 for characters to drop. Arrays, not a map: folding runs on every
// encode.
var foldLatin, foldViet = buildFoldTables()

const (
	foldLatinFirst, foldLatinEnd = 0xC0, 0x250
	foldVietFirst, foldVietEnd   = 0x1EA0, 0x1F00
)

func buildFoldTables() (latin [foldLatinEnd - foldLatinFirst]byte, viet [foldVietEnd - foldVietFirst]byte) {
	for _, g := range foldGroups {
		for _, r := range g.letters {
			switch {
			case r >= foldLatinFirst && r < foldLatinEnd:
				latin[r-foldLatinFirst] = g.base
			case r >= foldVietFirst && r < foldVietEnd:
				viet[r-foldVietFirst] = g.base
			default:
				panic("qr: fold letter outside the tables: " + string(r))
			}
		}
	}
	return latin, viet
}

// Fold turns text into what a QR payload may carry: ASCII capitals, digits and
// single spaces. Tones are stripped and đ becomes D ("Bánh mì Đức" → "BANH MI
// DUC"); punctuation that separates words becomes a space; any other symbol is
// dropped, because banking apps and NAPAS reject or mangle it (VIETQR.md §5,
// §10). Combining marks (text typed in decomposed form) are dropped too.
func Fold(s string) string {
	return string(appendFold(make([]byte, 0, len(s)), s))
}

// appendFold appends the folded form of s to dst.
//
// Folding never lengthens text (each byte written stands for at least one
// byte read), so dst is grown once and written by index: folding runs on
// every encode. A folded byte is kept unless it is a character to drop, or
// a separator at the start or right after another; a separator left at the
// end is dropped after the loop. Eight bytes at a time go through foldWord
// when they are plain ASCII words; the rest, a byte or a rune at a time.
func appendFold(dst []byte, s string) []byte {
	start := len(dst)
	dst = slices.Grow(dst, len(s))
	out := dst[start : start+len(s)]
	n := 0
	last := byte(' ') // the last byte kept; a space at the start drops leading separators
	for i := 0; i < len(s); {
		if i+8 <= len(s) && n+8 <= len(out) {
			if w, ok := foldWord(s[i:i+8], last); ok {
				binary.LittleEndian.PutUint64(out[n:n+8], w)
				n, i, last = n+8, i+8, byte(w>>56)
				continue
			}
		}
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			c = foldASCII[c]
		} else {
			r, w := utf8.DecodeRuneInString(s[i:])
			i += w
			c = foldRune(r)
		}
		if c == 0 || c == ' ' && last == ' ' {
			continue
		}
		out[n] = c
		n++
		last = c
	}
	if last == ' ' && n > 0 {
		n-- // a trailing separator
	}
	return dst[:start+n]
}

// foldWord folds the eight bytes of q at once, little-endian, when they are
// ASCII letters, digits and single spaces, none of them a space that would
// follow last: then folding is upper-casing. It reports false for anything
// else, which appendFold takes a byte at a time.
//
// Each test sets bit 7 of the bytes it holds for: with every byte below
// 0x80, adding 0x80−lo to all of them at once sets a byte's bit 7 exactly
// when it is at least lo, and carries into no other byte.
func foldWord(q string, last byte) (uint64, bool) {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	q = q[:8] // one bounds check, and the compiler reads the eight bytes as one word
	w := uint64(q[0]) | uint64(q[1])<<8 | uint64(q[2])<<16 | uint64(q[3])<<24 |
		uint64(q[4])<<32 | uint64(q[5])<<40 | uint64(q[6])<<48 | uint64(q[7])<<56
	if w&high != 0 {
		return 0, false
	}
	atLeast := func(lo uint64) uint64 { return (w + (0x80-lo)*ones) & high }
	lower := atLeast('a') &^ atLeast('z'+1)
	upper := atLeast('A') &^ atLeast('Z'+1)
	digit := atLeast('0') &^ atLeast('9'+1)
	space := atLeast(' ') &^ atLeast(' '+1)
	if lower|upper|digit|space != high || space&(space<<8) != 0 || space&0x80 != 0 && last == ' ' {
		return 0, false
	}
	return w - lower>>2, true // 0x80 >> 2 is 0x20, the case bit
}

// foldRune is foldASCII for the characters beyond ASCII: a capital, ' ' for
// the no-break space, or 0 for combining marks, symbols and other scripts.
func foldRune(r rune) byte {
	switch {
	case r == 0xA0: // no-break space
		return ' '
	case r >= foldLatinFirst && r < foldLatinEnd:
		return foldLatin[r-foldLatinFirst]
	case r >= foldVietFirst && r < foldVietEnd:
		return foldViet[r-foldVietFirst]
	}
	return 0
}

// FoldMax is Fold cut to at most max characters, at a word boundary when one
// exists so a message does not end in half a word; a single word longer than
// max is cut hard.
func FoldMax(s string, max int) string {
	return cutWords(Fold(s), max)
}

// cutWords cuts folded (single-spaced, trimmed) text to max bytes.
func cutWords(f string, max int) string {
	if max <= 0 {
		return ""
	}
	if len(f) <= max {
		return f
	}
	if f[max] == ' ' {
		return f[:max]
	}
	if i := strings.LastIndexByte(f[:max], ' '); i > 0 {
		return f[:i]
	}
	return f[:max]
}
