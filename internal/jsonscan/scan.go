// Package jsonscan reads JSON of a known, common shape fast, for the hot
// paths where decoding by reflection costs too much (a sync push's body and
// its sale payloads).
//
// It is partial on purpose. It reads strings without escapes, integers
// without a fraction or an exponent, and objects whose members its caller
// names. On anything else it gives up rather than guess: an escape, a null,
// a float where an integer is wanted, a number out of range, a member the
// caller does not know or meets twice, nesting past MaxDepth. A caller that
// sees Failed decodes the same bytes again with its full strict decoder,
// which also writes the error message. So jsonscan never decides that input
// is bad. It only accepts input the caller's strict decoder accepts, and it
// must yield the same values: every caller holds its use of it to that with
// a differential fuzz test.
package jsonscan

import (
	"bytes"
	"math"
	"strconv"
	"unicode/utf8"
)

// MaxDepth is how deeply Value follows nested objects and arrays before
// giving up.
const MaxDepth = 32

// maxNames is how many members an object read by Value may have before
// jsonscan gives up: it finds repeated names by comparing each with those
// before it. Payloads have a handful.
const maxNames = 16

// A Scanner reads one JSON document from the start of its bytes.
type Scanner struct {
	data   []byte
	pos    int
	failed bool
}

// New returns a Scanner of data.
func New(data []byte) *Scanner { return &Scanner{data: data} }

// Failed reports whether the scanner gave up. Once it has, every read
// returns a zero value and Failed stays true.
func (s *Scanner) Failed() bool { return s.failed }

// Fail gives up: the caller met something it does not read fast.
func (s *Scanner) Fail() { s.failed = true }

// End reports whether the document was read whole: no failure, and only
// whitespace after the value.
func (s *Scanner) End() bool {
	s.ws()
	return !s.failed && s.pos == len(s.data)
}

// ws skips JSON whitespace.
func (s *Scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// consume skips whitespace and then c, or gives up.
func (s *Scanner) consume(c byte) bool {
	s.ws()
	if s.failed || s.pos >= len(s.data) || s.data[s.pos] != c {
		s.failed = true
		return false
	}
	s.pos++
	return true
}

// peek skips whitespace and returns the next byte, or 0 at the end.
func (s *Scanner) peek() byte {
	s.ws()
	if s.failed || s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

// Object reads an object, calling member with each member's name (valid
// until the scanner's bytes change) to read its value. member must read
// exactly one value, or Fail.
func (s *Scanner) Object(member func(name []byte)) {
	for more := s.open('{', '}'); more; more = s.more('}') {
		name := s.stringBytes()
		if !s.consume(':') {
			return
		}
		member(name)
	}
}

// Array reads an array, calling elem to read each element. elem must read
// exactly one value, or Fail.
func (s *Scanner) Array(elem func()) {
	for more := s.open('[', ']'); more; more = s.more(']') {
		elem()
	}
}

// open reads the start of an object or an array and reports whether a
// member or an element follows (false too when the scanner gave up).
func (s *Scanner) open(start, end byte) bool {
	if !s.consume(start) {
		return false
	}
	if s.peek() == end {
		s.pos++
		return false
	}
	return !s.failed
}

// more reads what follows a member or an element: a comma, and another
// follows, or the end.
func (s *Scanner) more(end byte) bool {
	switch s.peek() {
	case ',':
		s.pos++
		return !s.failed
	case end:
		s.pos++
		return false
	}
	s.failed = true
	return false
}

// Members records which members of an object a reader has met, by the
// bits it gives them (0 to 63), so that it can give up on one met twice:
// the strict decoder refuses a repeated name.
type Members uint64

// Once records member bit, and gives s up when it was met before.
func (m *Members) Once(s *Scanner, bit uint) {
	if *m&(1<<bit) != 0 {
		s.Fail()
	}
	*m |= 1 << bit
}

// IsArray reports whether the next value is an array (and not null).
func (s *Scanner) IsArray() bool { return s.peek() == '[' }

// plain marks the bytes a string may hold as they are: not the quote that
// ends it, not a backslash (this package reads no escapes), not a control
// character, and not the start of a multi-byte UTF-8 sequence, which is
// checked apart.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// stringBytes reads a string without escapes or control characters and
// returns its bytes, which must be valid UTF-8, without copying them.
func (s *Scanner) stringBytes() []byte {
	if !s.consume('"') {
		return nil
	}
	start, ascii := s.pos, true
	for {
		for s.pos < len(s.data) && plain[s.data[s.pos]] {
			s.pos++
		}
		if s.pos == len(s.data) {
			s.failed = true
			return nil
		}
		switch c := s.data[s.pos]; {
		case c == '"':
			b := s.data[start:s.pos]
			s.pos++
			if !ascii && !utf8.Valid(b) {
				s.failed = true
				return nil
			}
			return b
		case c >= utf8.RuneSelf:
			ascii = false
			s.pos++
		default: // a backslash or a control character
			s.failed = true
			return nil
		}
	}
}

// String reads a string into a new Go string.
func (s *Scanner) String() string { return string(s.stringBytes()) }

// StringBytes reads a string and returns its bytes without copying them.
func (s *Scanner) StringBytes() []byte { return s.stringBytes() }

// digitRun reads the digits that follow, none or more, and returns them.
func (s *Scanner) digitRun() []byte {
	start := s.pos
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		s.pos++
	}
	return s.data[start:s.pos]
}

// intDigits reads an integer part: one digit or more, no leading zero but
// for 0 itself.
func (s *Scanner) intDigits() []byte {
	d := s.digitRun()
	if len(d) == 0 || (len(d) > 1 && d[0] == '0') {
		s.failed = true
		return nil
	}
	return d
}

// digits reads an integer's digits (intDigits) and gives up when a
// fraction or an exponent follows.
func (s *Scanner) digits() []byte {
	d := s.intDigits()
	if d == nil {
		return nil
	}
	if s.pos < len(s.data) {
		if c := s.data[s.pos]; c == '.' || c == 'e' || c == 'E' {
			s.failed = true
			return nil
		}
	}
	return d
}

// Uint reads a non-negative integer that fits in 64 bits.
func (s *Scanner) Uint() uint64 {
	s.ws()
	if s.failed || s.pos >= len(s.data) || s.data[s.pos] == '-' {
		s.failed = true
		return 0
	}
	return s.magnitude()
}

// magnitude reads an integer's digits as a uint64, giving up on one past
// its range.
func (s *Scanner) magnitude() uint64 {
	var n uint64
	for _, c := range s.digits() {
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			s.failed = true
			return 0
		}
		n = n*10 + d
	}
	return n
}

// Int reads an integer that fits in 64 bits. It gives up on -0.
func (s *Scanner) Int() int64 {
	s.ws()
	neg := s.pos < len(s.data) && s.data[s.pos] == '-'
	if neg {
		s.pos++
	}
	n := s.magnitude()
	switch {
	case s.failed:
		return 0
	case neg && n == 0, neg && n > 1<<63, !neg && n > math.MaxInt64:
		s.failed = true
		return 0
	case neg:
		return -int64(n-1) - 1
	}
	return int64(n)
}

// number reads a number of any JSON form and returns its bytes.
func (s *Scanner) number() []byte {
	s.ws()
	start := s.pos
	if s.pos < len(s.data) && s.data[s.pos] == '-' {
		s.pos++
	}
	if s.intDigits() == nil {
		return nil
	}
	if s.pos < len(s.data) && s.data[s.pos] == '.' {
		s.pos++
		if !s.someDigits() {
			return nil
		}
	}
	if s.pos < len(s.data) && (s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.data) && (s.data[s.pos] == '+' || s.data[s.pos] == '-') {
			s.pos++
		}
		if !s.someDigits() {
			return nil
		}
	}
	return s.data[start:s.pos]
}

// someDigits reads one or more digits.
func (s *Scanner) someDigits() bool {
	if len(s.digitRun()) == 0 {
		s.failed = true
	}
	return !s.failed
}

// Float reads a number as a float64. It gives up on one out of range.
func (s *Scanner) Float() float64 {
	b := s.number()
	if s.failed {
		return 0
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		s.failed = true
		return 0
	}
	return f
}

// Value reads any one JSON value and returns its bytes as they stand,
// without copying them. Strings in it follow the rules of String, and an
// object in it may not repeat a name.
func (s *Scanner) Value() []byte {
	s.ws()
	start := s.pos
	s.value(0)
	if s.failed {
		return nil
	}
	return s.data[start:s.pos]
}

func (s *Scanner) value(depth int) {
	if depth > MaxDepth {
		s.failed = true
		return
	}
	switch c := s.peek(); {
	case c == '{':
		var names [maxNames][]byte
		n := 0
		s.Object(func(name []byte) {
			for _, seen := range names[:n] {
				if bytes.Equal(seen, name) {
					s.failed = true
					return
				}
			}
			if n == maxNames {
				s.failed = true
				return
			}
			names[n] = name
			n++
			s.value(depth + 1)
		})
	case c == '[':
		s.Array(func() { s.value(depth + 1) })
	case c == '"':
		s.stringBytes()
	case c == '-' || (c >= '0' && c <= '9'):
		s.number()
	case c == 't':
		s.literal("true")
	case c == 'f':
		s.literal("false")
	case c == 'n':
		s.literal("null")
	default:
		s.failed = true
	}
}

// literal reads true, false or null.
func (s *Scanner) literal(word string) {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(word)) {
		s.failed = true
		return
	}
	s.pos += len(word)
}
