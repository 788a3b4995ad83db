package server

import (
	"bytes"
	"net/http"
	"strings"
	"time"

	"github.com/choso/choso"
	"github.com/labstack/echo/v4"
)

func (s *Server) registerReportRoutes(e *echo.Echo, users routeGroup) {
	users.GET("/reports/:group", s.handleReport)
	users.GET("/stalls/:id/statement", s.handleStallStatement)
	dev := routeGroup{g: e.Group("/v1/sync"), mw: []echo.MiddlewareFunc{s.requireDevice}}
	dev.GET("/statement", s.handleSyncStatement)
}

// reportGroups maps the path of GET /v1/reports/{group} to the grouping.
var reportGroups = map[string]string{"markets": choso.ByMarket, "communes": choso.ByCommune, "provinces": choso.ByProvince}

// reportFilter reads a report's query: from and to (default: the 30 days
// up to today), province and commune (repeatable), market_id.
func (s *Server) reportFilter(c echo.Context, group string) choso.ReportFilter {
	q := c.QueryParams()
	// A form's "all" option sends the parameter empty: no filter, not a
	// filter on "".
	f := choso.ReportFilter{From: q.Get("from"), To: q.Get("to"), Provinces: queryList(c, "province"), Communes: queryList(c, "commune"),
		MarketID: q.Get("market_id"), GroupBy: group}
	if f.To == "" {
		f.To = s.now().In(vietnam).Format(time.DateOnly)
	}
	if f.From == "" {
		if to, err := time.Parse(time.DateOnly, f.To); err == nil {
			f.From = to.AddDate(0, 0, -29).Format(time.DateOnly)
		}
	}
	return f
}

// vietnam is the default market time zone, for a report's default dates.
var vietnam = func() *time.Location {
	if loc, err := time.LoadLocation(choso.DefaultTimeZone); err == nil {
		return loc
	}
	return time.FixedZone("ICT", 7*3600)
}()

// wantsCSV reports whether the client asked for CSV: ?format=csv or an
// Accept header that names text/csv.
func wantsCSV(c echo.Context) (bool, error) {
	switch c.QueryParam("format") {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
		return strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/csv"), nil
	}
	return false, choso.Errorf(choso.EInvalid, "format must be json or csv")
}

// sendCSV answers with a CSV download named file. With ?bom=true it starts
// with a UTF-8 byte order mark: Excel on Windows reads a CSV without one in
// the system's code page, and "Chợ Thương" comes out as "Chá»£ ThÆ°Æ¡ng".
// The web pages' download links ask for it; a program reading the CSV
// should not.
func sendCSV(c echo.Context, file string, write func(*bytes.Buffer) error) error {
	bom, err := queryBool(c, "bom")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if bom {
		buf.WriteString("\uFEFF")
	}
	if err := write(&buf); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="`+safeFileName(file)+`"`)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// handleReport answers GET /v1/reports/{markets|communes|provinces}: the
// adoption figures of the caller's scope, as JSON or CSV.
func (s *Server) handleReport(c echo.Context) error {
	group, ok := reportGroups[c.Param("group")]
	if !ok {
		return choso.Errorf(choso.ENotFound, "no such report: use markets, communes or provinces")
	}
	csv, err := wantsCSV(c)
	if err != nil {
		return err
	}
	f := s.reportFilter(c, group)
	rep, err := s.registry.Report(c.Request().Context(), principal(c), f)
	if err != nil {
		return err
	}
	if csv {
		return sendCSV(c, "choso-"+c.Param("group")+"-"+rep.From+"-"+rep.To+".csv", func(b *bytes.Buffer) error { return rep.WriteCSV(b) })
	}
	return c.JSON(http.StatusOK, rep)
}

// handleStallStatement answers GET /v1/stalls/{id}/statement?period=: a
// stall's revenue statement for a month or quarter, as JSON or CSV.
func (s *Server) handleStallStatement(c echo.Context) error {
	st, err := s.registry.Statement(c.Request().Context(), principal(c), c.Param("id"), c.QueryParam("period"))
	if err != nil {
		return err
	}
	return sendStatement(c, st)
}

// handleSyncStatement answers GET /v1/sync/statement?period= for the
// phone: its own stall's statement.
func (s *Server) handleSyncStatement(c echo.Context) error {
	st, err := s.registry.DeviceStatement(c.Request().Context(), device(c), c.QueryParam("period"))
	if err != nil {
		return err
	}
	return sendStatement(c, st)
}

func sendStatement(c echo.Context, st *choso.Statement) error {
	csv, err := wantsCSV(c)
	if err != nil {
		return err
	}
	if csv {
		return sendCSV(c, "choso-statement-"+st.StallCode+"-"+st.Period+".csv", func(b *bytes.Buffer) error { return st.WriteCSV(b) })
	}
	return c.JSON(http.StatusOK, st)
}

// safeFileName keeps letters, digits, '.', '-' and '_' of a download's
// name, so a stall code cannot break the header.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}
