package server

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"unicode"

	chosync "github.com/choso/choso/sync"
)

// repeatedFoldedKey reports whether some object in data repeats a key under
// Unicode simple case folding: the test's oracle for the rule that no
// accepted body has keys differing only in case.
func repeatedFoldedKey(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object, expect bool
		keys           map[string]bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expect {
			if key, ok := tok.(string); ok {
				f := foldKey(key)
				if top.keys[f] {
					return true
				}
				top.keys[f], top.expect = true, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if top != nil && top.object {
				top.expect = true
			}
			stack = append(stack, &frame{object: tok == json.Delim('{'), expect: tok == json.Delim('{'), keys: map[string]bool{}})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		default:
			if top != nil && top.object {
				top.expect = true
			}
		}
	}
}

func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			min = minRune(min, f)
		}
		b.WriteRune(min)
	}
	return b.String()
}

func minRune(a, b rune) rune {
	if a < b {
		return a
	}
	return b
}

// FuzzUnmarshalStrict decodes arbitrary bodies as a push: it never panics,
// and no body it accepts repeats a key, in any letter case.
func FuzzUnmarshalStrict(f *testing.F) {
	for _, seed := range []string{
		`{"protocol":1,"events":[]}`, `{"protocol":1,"PROTOCOL":2}`, `{"protocol":1,"protocol":2}`,
		`{"protocol":1,"events":[{"seq":1,"id":"01JD0000000000000000000000","type":"sale.record","v":1,"payload":{"amount":5,"Amount":6}}]}`,
		`{"protocol":1,"client":{"wall_ms":1,"WALL_MS":2}}`, `{"protocol":1} {}`, `{"protocol":1,}`, `[]`, `"x"`, `{"ſ":1,"s":2}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req chosync.PushRequest
		if unmarshalStrict(data, &req) == nil && repeatedFoldedKey(data) {
			// Payloads are raw here; the sync rules decode them strictly
			// too. Only keys outside payloads must be unique by now.
			var probe struct {
				Events []struct {
					Payload json.RawMessage `json:"payload"`
				} `json:"events"`
			}
			json.Unmarshal(data, &probe)
			stripped := data
			for _, e := range probe.Events {
				stripped = bytes.Replace(stripped, e.Payload, []byte("null"), 1)
			}
			if repeatedFoldedKey(stripped) {
				t.Fatalf("accepted a body with a key repeated under case folding: %q", data)
			}
		}
	})
}
