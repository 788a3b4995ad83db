package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"reflect"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/labstack/echo/v4"

	"github.com/choso/choso"
)

// decodeJSON reads the request body into v, strictly: the body must be JSON
// (by Content-Type), hold exactly one value, name only fields v has, by
// their exact names, and not repeat a key. encoding/json would match keys
// case-insensitively and let the last one win, so {"amount":1,"AMOUNT":900}
// would decode as 900; here "AMOUNT" is an unknown field. Every failure is
// an EInvalid (or ETooLarge, EUnsupportedMedia) with a message that says
// what to fix.
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

// unmarshalStrict decodes data into v with the rules of decodeJSON. It uses
// the JSON v2 decoder (github.com/go-json-experiment/json, the prototype of
// encoding/json/v2): it matches member names exactly (so "AMOUNT" is an
// unknown field, not a second "amount"), rejects duplicate names, trailing
// data and invalid UTF-8 by itself, and decodes a push body about twice as
// fast as encoding/json.
func unmarshalStrict(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return choso.Errorf(choso.EInvalid, "request body is empty; expected a JSON object")
	}
	if err := jsonv2.Unmarshal(data, v, jsonv2.RejectUnknownMembers(true)); err != nil {
		return jsonError(err)
	}
	return nil
}

// jsonError turns the decoder's errors into messages a client can act on.
func jsonError(err error) error {
	var ce *choso.Error
	if errors.As(err, &ce) {
		return ce
	}
	var syn *jsontext.SyntacticError
	var sem *jsonv2.SemanticError
	switch {
	case errors.Is(err, jsontext.ErrDuplicateName):
		name := ""
		if errors.As(err, &syn) {
			name = syn.JSONPointer.LastToken()
		}
		return choso.Errorf(choso.EInvalid, "malformed JSON: key %q appears more than once in an object", name)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return choso.Errorf(choso.EInvalid, "malformed JSON: the body ends before the JSON value does")
	case errors.As(err, &syn):
		msg := strings.TrimPrefix(syn.Err.Error(), "jsontext: ")
		if strings.Contains(msg, "after top-level value") {
			return choso.Errorf(choso.EInvalid, "malformed JSON: unexpected data after the JSON value at byte %d", syn.ByteOffset)
		}
		if strings.Contains(msg, "UTF-8") {
			return choso.Errorf(choso.EInvalid, "request body is not valid UTF-8")
		}
		return choso.Errorf(choso.EInvalid, "malformed JSON at byte %d: %s", syn.ByteOffset, msg)
	case errors.As(err, &sem):
		field := sem.JSONPointer.LastToken()
		if errors.Is(sem.Err, jsonv2.ErrUnknownName) {
			return choso.Errorf(choso.EInvalid, "unknown field %q", field)
		}
		if sem.GoType == reflect.TypeFor[time.Time]() {
			// A struct to Go, a string to the client: say which string.
			return choso.Errorf(choso.EInvalid, "field %q must be an RFC 3339 date-time with its offset, such as \"2026-01-01T06:59:12+07:00\" or \"2025-12-31T23:59:12Z\"", field)
		}
		want := "of another type"
		if sem.GoType != nil {
			want = jsonType(sem.GoType.Kind().String())
		}
		got := sem.JSONKind.String()
		if field == "" {
			return choso.Errorf(choso.EInvalid, "request body must be %s, got %s", want, got)
		}
		return choso.Errorf(choso.EInvalid, "field %q must be %s, got %s", field, want, got)
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
