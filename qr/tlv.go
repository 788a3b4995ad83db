package qr

import (
	"strconv"
	"unicode/utf8"
)

// Element is one EMV data object: a two-digit ID and its value. A decoded
// payload is a flat slice of Elements in which a template's children follow it
// and point back to it through Parent, so the whole tree lives in one reusable
// slice.
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
	els, serr := parseRun(nil, s, 0, len(s), -1, !isASCII(s))
	if serr.Problem != ProblemNone {
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
// (the fallback some generators force on us, VIETQR.md §2). The error is
// returned by value so the success path does not allocate; the caller fills in
// its Context.
func parseRun(tree []Element, payload string, start, end, parent int, byChars bool) ([]Element, SyntaxError) {
	i := start
	for i < end {
		if end-i < 4 {
			return tree, SyntaxError{Problem: ProblemDangling, Offset: i, Field: payload[i:end]}
		}
		id := payload[i : i+2]
		if !isDigits(id) {
			return tree, SyntaxError{Problem: ProblemBadID, Offset: i, Field: id}
		}
		ln := payload[i+2 : i+4]
		if !isDigits(ln) {
			return tree, SyntaxError{Problem: ProblemBadLength, Offset: i, ID: id, Field: ln}
		}
		n := int(ln[0]-'0')*10 + int(ln[1]-'0')
		vs := i + 4
		ve := vs + n
		if byChars {
			ve = vs
			for k := 0; k < n; k++ {
				if ve >= end {
					ve = end + 1 // mark the overrun
					break
				}
				if payload[ve] < utf8.RuneSelf {
					ve++
				} else {
					_, w := utf8.DecodeRuneInString(payload[ve:end])
					ve += w
				}
			}
		}
		if ve > end {
			remain := end - vs
			if byChars {
				remain = utf8.RuneCountInString(payload[vs:end])
			}
			return tree, SyntaxError{Problem: ProblemOverrun, Offset: i, ID: id, Declared: n, Remain: remain}
		}
		tree = append(tree, Element{ID: id, Value: payload[vs:ve], Parent: parent, Offset: i})
		i = ve
	}
	return tree, SyntaxError{}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
