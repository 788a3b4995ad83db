package choso

import (
	"strings"
	"unicode"
)

// vietnameseBases lists each base letter with every Vietnamese letter built
// on it (tone marks, breve, circumflex, horn, stroke).
var vietnameseBases = map[rune]string{
	'a': "àáảãạăằắẳẵặâầấẩẫậ",
	'e': "èéẻẽẹêềếểễệ",
	'i': "ìíỉĩị",
	'o': "òóỏõọôồốổỗộơờớởỡợ",
	'u': "ùúủũụưừứửữự",
	'y': "ỳýỷỹỵ",
	'd': "đ",
}

var foldTable = func() map[rune]rune {
	t := map[rune]rune{}
	for base, letters := range vietnameseBases {
		for _, r := range letters {
			t[r] = base
			t[unicode.ToUpper(r)] = unicode.ToUpper(base)
		}
	}
	return t
}()

// FoldVietnamese strips Vietnamese diacritics: "Chợ Đồng Xuân" → "Cho Dong
// Xuan". Letters outside Vietnamese pass through unchanged. Combining marks
// (text typed in decomposed form) are dropped.
func FoldVietnamese(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if f, ok := foldTable[r]; ok {
			r = f
		}
		b.WriteRune(r)
	}
	return b.String()
}

// MatchText reports whether text contains query, ignoring case and
// Vietnamese diacritics, so "cho bac" finds "Chợ Bắc Giang".
func MatchText(text, query string) bool {
	query = strings.TrimSpace(query)
	if query == "" {
		return true
	}
	return strings.Contains(strings.ToLower(FoldVietnamese(text)), strings.ToLower(FoldVietnamese(query)))
}
