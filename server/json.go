package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/choso/choso"
	"github.com/labstack/echo/v4"
)

// maxJSONDepth bounds nesting in request bodies; no request of the API nests
// deeper than a few levels.
const maxJSONDepth = 32

// decodeJSON reads the request body into v, strictly: the body must be JSON
// (by Content-Type), hold exactly one value, name only fields v has, and not
// repeat a key, not even in another letter case. encoding/json matches keys
// case-insensitively and lets the last one win, so {"amount":1,"AMOUNT":900}
// would otherwise decode as 900. Every failure is an EInvalid (or
// ETooLarge, EUnsupportedMedia) with a message that says what to fix.
func decodeJSON(c echo.Context, v any) error {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != echo.MIMEApplicationJSON {
			return choso.Errorf(choso.EUnsupportedMedia, "request body must be JSON (Content-Type: application/json), got %q", ct)
		}
	} else {
		return choso.Errorf(choso.EUnsupportedMedia, "request body must be JSON: set Content-Type: application/json")
	}
	if req.Body == nil {
		return choso.Errorf(choso.EInvalid, "request body is empty; expected a JSON object")
	}
	data, err := io.ReadAll(req.Body)
	if err != nil {
		var ce *choso.Error
		if errors.As(err, &ce) {
			return ce
		}
		return choso.WrapError(choso.EInvalid, "could not read the request body", err)
	}
	return unmarshalStrict(data, v)
}

// requireMediaType returns EUnsupportedMedia unless the request body is of
// the given media type.
func requireMediaType(c echo.Context, want string) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != want {
		return choso.Errorf(choso.EUnsupportedMedia, "request body must be %s, got %q", want, ct)
	}
	return nil
}

// unmarshalStrict decodes data into v with the rules of decodeJSON.
func unmarshalStrict(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return choso.Errorf(choso.EInvalid, "request body is empty; expected a JSON object")
	}
	if !utf8.Valid(data) {
		return choso.Errorf(choso.EInvalid, "request body is not valid UTF-8")
	}
	if err := checkKeys(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return choso.Errorf(choso.EInvalid, "malformed JSON: unexpected data after the JSON value at byte %d", dec.InputOffset())
	}
	return nil
}

// checkKeys rejects an object that repeats a key under Unicode simple case
// folding (the folding encoding/json matches with) and nesting deeper than
// maxJSONDepth. It scans the bytes once; keys with escapes or non-ASCII
// letters, which real clients never send, take the slow token walk. Syntax
// errors are left to the decoder, which reports them better.
func checkKeys(data []byte) error {
	if err, ok := scanKeys(data); ok {
		return err
	}
	return checkKeysSlow(data)
}

// scanKeys is checkKeys' fast path. ok is false when it met something it
// leaves to the slow path (an escaped or non-ASCII key, or malformed JSON).
func scanKeys(data []byte) (err error, ok bool) {
	type frame struct {
		object bool
		keys   [][]byte // ASCII keys seen in this object, slices of data
	}
	var stack []frame
	i, n := 0, len(data)
	skipSpace := func() {
		for i < n && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
			i++
		}
	}
	// skipString moves past a string starting at data[i] == '"'.
	skipString := func() bool {
		for i++; i < n; i++ {
			switch data[i] {
			case '\\':
				i++
			case '"':
				i++
				return true
			}
		}
		return false
	}
	expectKey := false
	for {
		skipSpace()
		if i >= n {
			return nil, len(stack) == 0
		}
		c := data[i]
		if expectKey {
			expectKey = false
			if c == '}' {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if c != '"' {
				return nil, false
			}
			start := i + 1
			var key []byte
			for i++; i < n && data[i] != '"'; i++ {
				if data[i] == '\\' || data[i] >= 0x80 {
					return nil, false
				}
			}
			if i >= n {
				return nil, false
			}
			key = data[start:i]
			i++
			top := &stack[len(stack)-1]
			for _, k := range top.keys {
				if len(k) == len(key) && bytes.EqualFold(k, key) {
					return choso.Errorf(choso.EInvalid, "malformed JSON: key %q appears more than once in an object (keys are matched regardless of case)", key), true
				}
			}
			top.keys = append(top.keys, key)
			skipSpace()
			if i >= n || data[i] != ':' {
				return nil, false
			}
			i++
			continue
		}
		switch c {
		case '{', '[':
			if len(stack) >= maxJSONDepth {
				return choso.Errorf(choso.EInvalid, "malformed JSON: nested deeper than %d levels", maxJSONDepth), true
			}
			stack = append(stack, frame{object: c == '{'})
			i++
			expectKey = c == '{'
			continue
		case '}', ']':
			if len(stack) == 0 || stack[len(stack)-1].object != (c == '}') {
				return nil, false
			}
			stack = stack[:len(stack)-1]
			i++
		case ',':
			i++
			if len(stack) > 0 && stack[len(stack)-1].object {
				expectKey = true
			}
			continue
		case '"':
			if !skipString() {
				return nil, false
			}
		default:
			// A number or a literal: move to the next delimiter.
			for i < n && !strings.ContainsRune(",}] \t\r\n", rune(data[i])) {
				i++
			}
		}
	}
}

// checkKeysSlow walks the token stream: the reference for scanKeys, and
// the path for keys with escapes or non-ASCII letters.
func checkKeysSlow(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		object bool
		keys   map[string]bool
		expect bool // next string token in this object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return nil
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expect {
			if key, ok := tok.(string); ok {
				folded := foldKey(key)
				if top.keys[folded] {
					return choso.Errorf(choso.EInvalid, "malformed JSON: key %q appears more than once in an object (keys are matched regardless of case)", key)
				}
				top.keys[folded] = true
				top.expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if top != nil && top.object {
				top.expect = true
			}
			if len(stack) >= maxJSONDepth {
				return choso.Errorf(choso.EInvalid, "malformed JSON: nested deeper than %d levels", maxJSONDepth)
			}
			obj := tok == json.Delim('{')
			stack = append(stack, &frame{object: obj, keys: map[string]bool{}, expect: obj})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		default:
			if top != nil && top.object {
				top.expect = true
			}
		}
	}
}

// foldKey maps s to one representative of its simple case-folding class, so
// that keys encoding/json would match to the same field map to one string.
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		b.WriteRune(min)
	}
	return b.String()
}

// jsonError turns encoding/json's errors into messages a client can act on.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return choso.Errorf(choso.EInvalid, "malformed JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		if typ.Field != "" {
			return choso.Errorf(choso.EInvalid, "field %q must be %s, got %s", typ.Field, jsonType(typ.Type.Kind().String()), typ.Value)
		}
		return choso.Errorf(choso.EInvalid, "request body must be %s, got %s", jsonType(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return choso.Errorf(choso.EInvalid, "malformed JSON: the body ends before the JSON value does")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return choso.Errorf(choso.EInvalid, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	var ce *choso.Error
	if errors.As(err, &ce) {
		return ce
	}
	return choso.Errorf(choso.EInvalid, "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonType(kind string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "of type " + kind
}

// strictJSON is Echo's JSON serializer for this server: Deserialize has the
// rules of decodeJSON, so even an accidental c.Bind stays strict.
type strictJSON struct{}

func (strictJSON) Serialize(c echo.Context, i any, indent string) error {
	enc := json.NewEncoder(c.Response())
	if indent != "" {
		enc.SetIndent("", indent)
	}
	return enc.Encode(i)
}

func (strictJSON) Deserialize(c echo.Context, i any) error {
	data, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var ce *choso.Error
		if errors.As(err, &ce) {
			return ce
		}
		return choso.WrapError(choso.EInvalid, "could not read the request body", err)
	}
	return unmarshalStrict(data, i)
}
