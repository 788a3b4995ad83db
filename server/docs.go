package server

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed docs
var docsFS embed.FS

var docsTemplate = template.Must(template.ParseFS(docsFS, "docs/docs.html"))

// docsPage is what docs.html renders: the OpenAPI document grouped by tag.
type docsPage struct {
	Doc     *openAPI
	Groups  []docsGroup
	Schemas []docsNamed
}

type docsGroup struct {
	Name        string
	Description string
	Ops         []docsOp
}

type docsOp struct {
	Method, Path, Anchor string
	Op                   openAPIOperation
	RequestBody          string
	Responses            []docsResponse
}

type docsResponse struct{ Status, Body string }

type docsNamed struct{ Name, Body string }

// renderDocs renders the embedded OpenAPI document as one HTML page. It runs
// once, when the server is built: the document never changes at run time.
func renderDocs() ([]byte, error) {
	doc, err := parseOpenAPI()
	if err != nil {
		return nil, err
	}
	page := docsPage{Doc: doc}
	groups := map[string]*docsGroup{}
	var order []string
	for _, t := range doc.Tags {
		groups[t.Name] = &docsGroup{Name: t.Name, Description: t.Description}
		order = append(order, t.Name)
	}
	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		for _, method := range []string{"get", "post", "put", "patch", "delete"} {
			op, ok := doc.Paths[p][method]
			if !ok {
				continue
			}
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			g, ok := groups[tag]
			if !ok {
				g = &docsGroup{Name: tag}
				groups[tag] = g
				order = append(order, tag)
			}
			d := docsOp{
				Method: strings.ToUpper(method), Path: p, Op: op,
				Anchor:      op.OperationID,
				RequestBody: indentJSON(op.RequestBody),
			}
			if d.Anchor == "" {
				d.Anchor = method + strings.NewReplacer("/", "-", "{", "", "}", "").Replace(p)
			}
			for _, status := range slices.Sorted(maps.Keys(op.Responses)) {
				d.Responses = append(d.Responses, docsResponse{Status: status, Body: indentJSON(op.Responses[status])})
			}
			g.Ops = append(g.Ops, d)
		}
	}
	for _, name := range order {
		if len(groups[name].Ops) > 0 {
			page.Groups = append(page.Groups, *groups[name])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(doc.Components.Schemas)) {
		page.Schemas = append(page.Schemas, docsNamed{Name: name, Body: indentJSON(doc.Components.Schemas[name])})
	}
	var buf bytes.Buffer
	if err := docsTemplate.Execute(&buf, page); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func indentJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

func (s *Server) handleDocs(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.HTMLBlob(http.StatusOK, s.docsHTML)
}

func (s *Server) handleDocsCSS(c echo.Context) error {
	css, err := docsFS.ReadFile("docs/docs.css")
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", css)
}
