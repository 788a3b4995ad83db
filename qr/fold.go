package qr

import (
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

var foldTable = buildFoldTable()

func buildFoldTable() map[rune]byte {
	t := make(map[rune]byte, 256)
	for _, g := range foldGroups {
		for _, r := range g.letters {
			t[r] = g.base
		}
	}
	return t
}

// Fold turns text into what a QR payload may carry: ASCII capitals, digits and
// single spaces. Tones are stripped and đ becomes D ("Bánh mì Đức" → "BANH MI
// DUC"); punctuation that separates words becomes a space; any other symbol is
// dropped, because banking apps and NAPAS reject or mangle it (VIETQR.md §5,
// §10). Combining marks (text typed in decomposed form) are dropped too.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false // a separator is pending; written only before the next kept character
	for _, r := range s {
		var c byte
		switch {
		case r >= 'a' && r <= 'z':
			c = byte(r) - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			c = byte(r)
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '-' || r == '_' || r == '/' ||
			r == '.' || r == ',' || r == ';' || r == ':' || r == '+' || r == '&' || r == '|' || r == 0xA0:
			space = b.Len() > 0
			continue
		case r < utf8.RuneSelf:
			continue // other ASCII symbols
		case r >= 0x300 && r <= 0x36F:
			continue // combining diacritical marks
		default:
			var ok bool
			if c, ok = foldTable[r]; !ok {
				continue
			}
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
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
