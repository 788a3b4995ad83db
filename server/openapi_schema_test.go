package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// specDoc is server/openapi.json as a generic tree.
func specDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	d := json.NewDecoder(bytes.NewReader(openAPIDoc))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func specResolve(doc, s map[string]any) map[string]any {
	for s != nil {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
		var cur any = doc
		for _, p := range parts {
			cur = cur.(map[string]any)[p]
		}
		s, _ = cur.(map[string]any)
	}
	return s
}

// specOp returns the operation object of method and path.
func specOp(t *testing.T, doc map[string]any, method, path string) map[string]any {
	t.Helper()
	op, _ := doc["paths"].(map[string]any)[path].(map[string]any)[strings.ToLower(method)].(map[string]any)
	if op == nil {
		t.Fatalf("openapi.json has no %s %s", method, path)
	}
	return op
}

// specResponseSchema is the documented JSON schema of a response.
func specResponseSchema(t *testing.T, doc map[string]any, method, path, status string) map[string]any {
	t.Helper()
	op := specOp(t, doc, method, path)
	r, _ := op["responses"].(map[string]any)[status].(map[string]any)
	if r == nil {
		return nil
	}
	r = specResolve(doc, r)
	s, _ := r["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
	return specResolve(doc, s)
}

// specStatuses lists the documented response statuses of an operation.
func specStatuses(t *testing.T, doc map[string]any, method, path string) []string {
	op := specOp(t, doc, method, path)
	var out []string
	for k := range op["responses"].(map[string]any) {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var dateRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// specCheck walks v against schema s and returns every disagreement: a
// wrong type, a value outside an enum, a documented required field
// missing, an undocumented field under additionalProperties false.
func specCheck(doc, s map[string]any, v any, path string) []string {
	s = specResolve(doc, s)
	if s == nil {
		return nil
	}
	var out []string
	types := []string{}
	switch tv := s["type"].(type) {
	case string:
		types = append(types, tv)
	case []any:
		for _, x := range tv {
			types = append(types, x.(string))
		}
	}
	kind := jsonKind(v)
	if len(types) > 0 {
		ok := false
		for _, ty := range types {
			if ty == kind || (ty == "number" && kind == "integer") {
				ok = true
			}
		}
		if !ok {
			return append(out, fmt.Sprintf("%s: documented %v, got %s %s", path, types, kind, short(v)))
		}
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if fmt.Sprint(e) == fmt.Sprint(v) {
				found = true
			}
		}
		if !found {
			out = append(out, fmt.Sprintf("%s: %s is not in the documented enum %v", path, short(v), enum))
		}
	}
	if str, ok := v.(string); ok {
		switch s["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				out = append(out, fmt.Sprintf("%s: documented date-time, got %q", path, str))
			}
		case "date":
			if !dateRe.MatchString(str) {
				out = append(out, fmt.Sprintf("%s: documented date, got %q", path, str))
			}
		}
	}
	switch tv := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := tv[r.(string)]; !ok {
					out = append(out, fmt.Sprintf("%s: required field %q missing", path, r))
				}
			}
		}
		for k, fv := range tv {
			if ps, ok := props[k].(map[string]any); ok {
				out = append(out, specCheck(doc, ps, fv, path+"."+k)...)
			} else if ap, ok := s["additionalProperties"].(map[string]any); ok {
				out = append(out, specCheck(doc, ap, fv, path+"."+k)...)
			} else if props != nil {
				out = append(out, fmt.Sprintf("%s: undocumented field %q", path, k))
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, x := range tv {
				out = append(out, specCheck(doc, items, x, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	return out
}

func jsonKind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 300 {
		b = append(b[:300], "…"...)
	}
	return string(b)
}

// readJSON decodes a response body keeping numbers as written.
func readJSON(t *testing.T, res *http.Response) any {
	t.Helper()
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%d %q: %v", res.StatusCode, b, err)
	}
	return v
}
