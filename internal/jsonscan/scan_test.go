package jsonscan

import (
	"fmt"
	"math"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

func TestInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"7", 7, true}, {"-7", -7, true}, {" 42 ", 42, true},
		{"9223372036854775807", math.MaxInt64, true}, {"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false}, {"99999999999999999999", 0, false},
		{"-0", 0, false}, {"01", 0, false}, {"1.0", 0, false}, {"1e2", 0, false}, {"1E2", 0, false},
		{"-", 0, false}, {"", 0, false}, {`"1"`, 0, false}, {"null", 0, false}, {"+1", 0, false},
	} {
		s := New([]byte(tc.in))
		got := s.Int()
		if ok := s.End(); ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("Int(%q) = %d, ok %v; want %d, ok %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestUint(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true}, {"18446744073709551615", math.MaxUint64, true},
		{"18446744073709551616", 0, false}, {"-1", 0, false}, {"-0", 0, false}, {"1.5", 0, false},
	} {
		s := New([]byte(tc.in))
		got := s.Uint()
		if ok := s.End(); ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("Uint(%q) = %d, ok %v; want %d, ok %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFloat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0", 0, true}, {"1.5", 1.5, true}, {"-2.5e-3", -0.0025, true}, {"1E+2", 100, true},
		{"1e400", 0, false}, {"1.", 0, false}, {".5", 0, false}, {"1e", 0, false}, {"01.5", 0, false}, {"NaN", 0, false},
	} {
		s := New([]byte(tc.in))
		got := s.Float()
		if ok := s.End(); ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("Float(%q) = %g, ok %v; want %g, ok %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{`""`, "", true}, {`"abc"`, "abc", true}, {`"Bún chả"`, "Bún chả", true},
		{`"a\"b"`, "", false}, {`"a\nb"`, "", false}, {"\"a\nb\"", "", false}, {"\"\xff\"", "", false},
		{"\"\xed\xa0\x80\"", "", false}, // a surrogate half is not UTF-8
		{`"abc`, "", false}, {`abc`, "", false},
	} {
		s := New([]byte(tc.in))
		got := s.String()
		if ok := s.End(); ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("String(%q) = %q, ok %v; want %q, ok %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestObject_GivesUpOnWhatTheCallerDoesNot(t *testing.T) {
	read := func(in string) (a int64, ok bool) {
		s := New([]byte(in))
		s.Object(func(name []byte) {
			if string(name) != "a" {
				s.Fail()
				return
			}
			a = s.Int()
		})
		return a, s.End()
	}
	for in, want := range map[string]bool{
		`{}`: true, `{"a":1}`: true, ` { "a" : 1 } `: true,
		`{"b":1}`: false, `{"a":1,}`: false, `{"a" 1}`: false, `{"a":1`: false, `{"a":1}x`: false, `{,}`: false,
	} {
		if _, ok := read(in); ok != want {
			t.Errorf("object %q: ok %v, want %v", in, ok, want)
		}
	}
}

func TestValue(t *testing.T) {
	for in, want := range map[string]bool{
		`{"a":[1,-2.5e-3,true,false,null,"s",{}]}`: true, `[]`: true, `"x"`: true, ` 0 `: true,
		`{"a":1,"a":2}`: false, `{"a":{"b":1,"b":1}}`: false, `[1,]`: false, `tru`: false, `nul`: false,
		`{"a":"\u0041"}`: false, // an escape: left to the strict decoder
	} {
		s := New([]byte(in))
		s.Value()
		if ok := s.End(); ok != want {
			t.Errorf("Value(%q): ok %v, want %v", in, ok, want)
		}
	}
	deep := make([]byte, 0, 2*(MaxDepth+2))
	for range MaxDepth + 2 {
		deep = append(deep, '[')
	}
	for range MaxDepth + 2 {
		deep = append(deep, ']')
	}
	if s := New(deep); s.Value() != nil || s.End() {
		t.Errorf("Value read %d nested arrays; it should give up past %d", MaxDepth+2, MaxDepth)
	}
}

// An object read by Value may have maxNames members; past that Value
// gives up, as it finds repeated names by comparing each with those before.
func TestValue_MembersLimit(t *testing.T) {
	object := func(n int) []byte {
		b := []byte{'{'}
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, fmt.Sprintf(`"m%d":%d`, i, i)...)
		}
		return append(b, '}')
	}
	if s := New(object(maxNames)); s.Value() == nil || !s.End() {
		t.Errorf("Value gave up on an object of %d members", maxNames)
	}
	if s := New(object(maxNames + 1)); s.Value() != nil || s.End() {
		t.Errorf("Value read an object of %d members; it should give up past %d", maxNames+1, maxNames)
	}
}

// FuzzValue: whatever Value accepts is valid JSON with no repeated names.
func FuzzValue(f *testing.F) {
	for _, seed := range []string{`{"a":[1,-2.5e-3,true,false,null,"s",{}]}`, `[]`, `"é"`, `{"a":1,"b":{"a":1}}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := New(data)
		v := s.Value()
		if !s.End() {
			return
		}
		if !jsontext.Value(data).IsValid() {
			t.Fatalf("Value accepted %q, which is not valid JSON", data)
		}
		if !jsontext.Value(v).IsValid() {
			t.Fatalf("Value returned %q of %q, which is not valid JSON", v, data)
		}
	})
}
