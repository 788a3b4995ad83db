package qr

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

// Element is one EMV data object: a two-digit ID and its value. A decoded
// payload's tree (Result.Elements) is a flat slice of Elements in which a
// template's children follow it and point back to it through Parent.
type Element struct {
	ID     string // two decimal digits, "00"–"99"
	Value  string // the raw value, a substring of the payload; a template's value holds its children
	Parent int    // index of the enclosing template in the same slice, or -1 at the root
	Offset int    // byte offset of ID in the payload
}

// SyntaxProblem says what broke a TLV run.
type SyntaxProblem uint8

// The ways a TLV run can break.
const (
	ProblemNone      SyntaxProblem = iota
	ProblemBadID                   // the ID is not two decimal digits
	ProblemBadLength               // the length is not two decimal digits
	ProblemOverrun                 // the declared length runs past the end of the run
	ProblemDangling                // one to three characters are left over after the last object
)

// SyntaxError reports where and why a TLV run could not be read.
type SyntaxError struct {
	Problem  SyntaxProblem
	Offset   int    // byte offset in the payload where the broken object starts
	Context  string // the enclosing template's path ("38.01"), or "" at the root
	ID       string // the broken object's ID when it was readable
	Field    string // the unreadable ID or length characters (ProblemBadID, ProblemBadLength) or the leftover (ProblemDangling)
	Declared int    // the declared length (ProblemOverrun)
	Remain   int    // characters left in the run (ProblemOverrun)
}

// Error describes the problem the way the vectors file and bank support staff
// do: what was declared and what was there.
func (e *SyntaxError) Error() string {
	where := "payload"
	if e.Context != "" {
		where = "template " + e.Context
	}
	at := " at byte " + strconv.Itoa(e.Offset)
	switch e.Problem {
	case ProblemBadID:
		return where + ": non-numeric tag " + strconv.Quote(e.Field) + at
	case ProblemBadLength:
		return where + ": tag " + e.ID + " has non-numeric length " + strconv.Quote(e.Field) + at
	case ProblemOverrun:
		return where + ": tag " + e.ID + " declares length " + strconv.Itoa(e.Declared) +
			" but only " + strconv.Itoa(e.Remain) + " characters remain" + at
	case ProblemDangling:
		return where + ": dangling " + strconv.Quote(e.Field) + at
	}
	return where + ": no syntax error"
}

// ParseTLV reads one level of data objects from s, counting lengths in
// characters as NAPAS specifies. Zero-length values are accepted (real
// Techcombank codes carry them); templates are not descended into.
func ParseTLV(s string) ([]Element, error) {
	byChars := !isASCII(s)
	els, bad := parseRun(nil, s, 0, len(s), -1, byChars)
	if bad >= 0 {
		serr := syntaxErrorAt(s, bad, len(s), byChars)
		return els, &serr
	}
	return els, nil
}

// AppendTLV appends one data object to dst. The length is the value's byte
// count, which equals its character count for the ASCII values the encoder
// emits. It panics on a value over 99 bytes or an ID that is not two digits,
// both programming errors in the caller.
func AppendTLV(dst []byte, id string, value string) []byte {
	if len(id) != 2 || !isDigits(id) || len(value) > 99 {
		panic("qr: AppendTLV: bad id " + strconv.Quote(id) + " or value of " + strconv.Itoa(len(value)) + " bytes")
	}
	return append(append(append(dst, id...), byte('0'+len(value)/10), byte('0'+len(value)%10)), value...)
}

// parseRun appends the data objects of payload[start:end] to tree. With
// byChars, a length counts UTF-8 characters (NAPAS's rule); otherwise bytes
// (the fallback some generators force on us, VIETQR.md §2). It returns the
// offset of the object it could not read, or -1; syntaxErrorAt says why.
//
// ParseTLV and Result.Elements build with it; the decoder itself walks the
// payload without storing objects (tree.go). The tree is grown once, up
// front, to the most objects the run can hold (each takes at least four
// bytes), and counting characters is a separate loop, so the byte-counting
// loop makes no calls.
func parseRun(tree []Element, payload string, start, end, parent int, byChars bool) ([]Element, int) {
	if cap(tree)-len(tree) < (end-start)/4 {
		tree = slices.Grow(tree, (end-start)/4)
	}
	if byChars {
		return parseRunChars(tree, payload, start, end, parent)
	}
	return parseBytes(tree, payload[start:end], start, parent)
}

// parseBytes is parseRun counting lengths in bytes, over q, the run itself,
// which starts at offset off of the payload; tree has room for every object
// the run can hold. Slicing q as it goes rather than indexing the payload
// spares bounds checks.
func parseBytes(tree []Element, q string, off, parent int) ([]Element, int) {
	n := len(tree)
	t := tree[:cap(tree)]
	for len(q) > 0 {
		if len(q) < 4 || n >= len(t) {
			return t[:n], off
		}
		x, ok := tlvHeader(q[:4])
		ve := 4 + int(x>>16&0xF)*10 + int(x>>24)
		if !ok || ve > len(q) {
			return t[:n], off
		}
		// Filling in place is markedly faster than appending a composite
		// literal; the capacity is there.
		el := &t[n]
		el.ID, el.Value, el.Parent, el.Offset = q[:2], q[4:ve], parent, off
		n++
		q = q[ve:]
		off += ve
	}
	return t[:n], -1
}

// tlvHeader reads a data object's four header characters, two for the ID
// and two for the length, as one little-endian word and reports whether they
// are all decimal digits. It returns the word less '0' in each byte, so
// byte k holds the value of digit k. Four digits checked in one word cost
// less than four compares: a byte is a digit when its high nibble is 3 and
// adding 6 leaves it 3 (no carry into the next byte can matter, since a
// byte that carries has a high nibble of F).
func tlvHeader(h string) (uint32, bool) {
	x := uint32(h[3])<<24 | uint32(h[2])<<16 | uint32(h[1])<<8 | uint32(h[0])
	return x - 0x30303030, (x&0xF0F0F0F0^0x30303030)|((x+0x06060606)&0xF0F0F0F0^0x30303030) == 0
}

// parseRunChars is parseRun counting lengths in characters; tree has room.
func parseRunChars(tree []Element, payload string, start, end, parent int) ([]Element, int) {
	i := start
	for i < end {
		if end-i < 4 {
			return tree, i
		}
		i0, i1, l0, l1 := payload[i]-'0', payload[i+1]-'0', payload[i+2]-'0', payload[i+3]-'0'
		if i0 > 9 || i1 > 9 || l0 > 9 || l1 > 9 {
			return tree, i
		}
		vs := i + 4
		ve := skipChars(payload, vs, end, int(l0)*10+int(l1))
		if ve > end {
			return tree, i
		}
		tree = append(tree, Element{ID: payload[i : i+2], Value: payload[vs:ve], Parent: parent, Offset: i})
		i = ve
	}
	return tree, -1
}

// skipChars returns the byte offset n characters after vs, or end+1 when the
// run ends first.
func skipChars(payload string, vs, end, n int) int {
	ve := vs
	for k := 0; k < n; k++ {
		if ve >= end {
			return end + 1
		}
		if payload[ve] < utf8.RuneSelf {
			ve++
		} else {
			_, w := utf8.DecodeRuneInString(payload[ve:end])
			ve += w
		}
	}
	return ve
}

// syntaxErrorAt describes why parseRun stopped at offset i of a run ending
// at end.
func syntaxErrorAt(payload string, i, end int, byChars bool) SyntaxError {
	if end-i < 4 {
		return SyntaxError{Problem: ProblemDangling, Offset: i, Field: payload[i:end]}
	}
	id := payload[i : i+2]
	if !isDigits(id) {
		return SyntaxError{Problem: ProblemBadID, Offset: i, Field: id}
	}
	ln := payload[i+2 : i+4]
	if !isDigits(ln) {
		return SyntaxError{Problem: ProblemBadLength, Offset: i, ID: id, Field: ln}
	}
	n := idNum(ln)
	remain := end - (i + 4)
	if byChars {
		remain = utf8.RuneCountInString(payload[i+4 : end])
	}
	return SyntaxError{Problem: ProblemOverrun, Offset: i, ID: id, Declared: n, Remain: remain}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i]-'0' > 9 {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	// OR-ing every byte and testing once avoids a branch per byte; the
	// compiler merges each run of eight byte loads into one.
	var or uint64
	for len(s) >= 16 {
		q := s[:16]
		or |= uint64(q[0]) | uint64(q[1])<<8 | uint64(q[2])<<16 | uint64(q[3])<<24 |
			uint64(q[4])<<32 | uint64(q[5])<<40 | uint64(q[6])<<48 | uint64(q[7])<<56
		or |= uint64(q[8]) | uint64(q[9])<<8 | uint64(q[10])<<16 | uint64(q[11])<<24 |
			uint64(q[12])<<32 | uint64(q[13])<<40 | uint64(q[14])<<48 | uint64(q[15])<<56
		s = s[16:]
	}
	for i := 0; i < len(s); i++ {
		or |= uint64(s[i])
	}
	return or&0x8080808080808080 == 0
}
