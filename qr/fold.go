package qr

import (
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
// end is dropped after the loop. Runs of ASCII, nearly all of any message,
// go through an inner loop that makes no calls, so its variables stay in
// registers.
func appendFold(dst []byte, s string) []byte {
	start := len(dst)
	dst = slices.Grow(dst, len(s))
	out := dst[start : start+len(s)]
	n := 0
	last := byte(' ') // the last byte kept; a space at the start drops leading separators
	for i := 0; i < len(s); {
		for ; i < len(s); i++ {
			c := s[i]
			if c >= utf8.RuneSelf {
				break
			}
			if c = foldASCII[c]; c == 0 || c == ' ' && last == ' ' {
				continue
			}
			out[n] = c
			n++
			last = c
		}
		if i == len(s) {
			break
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		i += w
		if c := foldRune(r); c != 0 && (c != ' ' || last != ' ') {
			out[n] = c
			n++
			last = c
		}
	}
	if last == ' ' && n > 0 {
		n-- // a trailing separator
	}
	return dst[:start+n]
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
