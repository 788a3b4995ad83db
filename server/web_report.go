package server

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/web"
	"github.com/labstack/echo/v4"
)

type dashboardView struct {
	Report    *choso.Report
	Group     string // markets or communes
	CSV       string // the same figures from GET /v1/reports/…
	Share     template.HTML
	Days      template.HTML
	Provinces []*choso.Region
	Province  string
	// The filters the page came with, kept by its form and its CSV link.
	MarketID string
	Communes []string
}

func methodNames(p *pageData) [3]string {
	return [3]string{p.T("Tiền mặt"), "QR", p.T("Chuyển khoản")}
}

func barOf(label string, by map[string]choso.MethodTotals) web.Bar {
	return web.Bar{Label: label, Values: [3]int64{by[choso.MethodCash].Amount, by[choso.MethodQR].Amount, by[choso.MethodTransfer].Amount}}
}

// handleDashboard shows the adoption figures of the user's scope over a
// date range: tiles, a chart of the method shares per market or commune, a
// chart by day, the table of numbers and a CSV download.
func (s *Server) handleDashboard(c echo.Context) error {
	p := s.newPage(c, "Tổng quan", "dashboard")
	group := c.QueryParam("group")
	if group != "communes" {
		group = "markets"
	}
	f := s.reportFilter(c, reportGroups[group])
	if prov := c.QueryParam("province"); prov != "" {
		f.Provinces = []string{prov}
	}
	v := dashboardView{Group: group, Province: c.QueryParam("province"), MarketID: c.QueryParam("market_id"), Communes: queryList(c, "commune")}
	if p.User.IsAdmin() || slices.ContainsFunc(p.User.Scope, func(c string) bool { return choso.LevelOf(c) == choso.LevelProvince }) {
		if provs, err := s.registry.ListRegions(c.Request().Context(), p.User, ""); err == nil {
			for _, r := range provs {
				if p.User.IsAdmin() || slices.Contains(p.User.Scope, r.Code) {
					v.Provinces = append(v.Provinces, r)
				}
			}
		}
	}
	rep, err := s.registry.Report(c.Request().Context(), p.User, f)
	if err != nil {
		if choso.ErrorCode(err) != choso.EInvalid {
			return err
		}
		// Dates the report refuses (to before from, over 366 days): the
		// form again, with the dates chosen and why, and no figures.
		v.Report = &choso.Report{From: f.From, To: f.To}
		p.Data = v
		p.Error = web.ErrorText(p.Lang, choso.ErrorMessage(err))
		p.Field = web.ErrorField(choso.ErrorMessage(err))
		return s.render(c, http.StatusUnprocessableEntity, "dashboard", p)
	}
	v.Report = rep
	// The CSV is of what the page shows: one market's page downloads that
	// market's figures, not every market in the user's scope.
	q := url.Values{"from": {rep.From}, "to": {rep.To}, "format": {"csv"}, "bom": {"true"}} // for Excel: see sendCSV
	if v.Province != "" {
		q.Set("province", v.Province)
	}
	if v.MarketID != "" {
		q.Set("market_id", v.MarketID)
	}
	for _, c := range v.Communes {
		q.Add("commune", c)
	}
	v.CSV = "/v1/reports/" + group + "?" + q.Encode()
	bars := make([]web.Bar, 0, len(rep.Rows))
	for _, r := range rep.Rows {
		bars = append(bars, barOf(r.Name, r.ByMethod))
	}
	names := methodNames(p)
	v.Share = web.ShareChart(p.T("Doanh số theo phương thức"), names, bars)
	days := make([]web.Bar, 0, len(rep.Days))
	for _, d := range rep.Days {
		days = append(days, barOf(d.Date, d.ByMethod))
	}
	v.Days = web.DayChart(p.T("Doanh số theo ngày"), names, days)
	p.Data = v
	return s.render(c, http.StatusOK, "dashboard", p)
}

type statementView struct {
	St     *choso.Statement
	Stall  *choso.Stall
	CSV    string
	Period string
}

// handleStatementPage is a stall's printable revenue statement.
func (s *Server) handleStatementPage(c echo.Context) error {
	p := s.newPage(c, "Báo cáo doanh thu", "markets")
	period := c.QueryParam("period")
	if period == "" {
		period = s.now().In(vietnam).Format("2006-01")
	}
	st, err := s.registry.Statement(c.Request().Context(), p.User, c.Param("id"), period)
	if err != nil {
		return err
	}
	stall, err := s.registry.FindStall(c.Request().Context(), p.User, st.StallID)
	if err != nil {
		return err
	}
	p.Title = p.T("Báo cáo doanh thu") + " · " + st.StallCode + " · " + st.Period
	p.Data = statementView{St: st, Stall: stall, Period: period,
		CSV: "/v1/stalls/" + st.StallID + "/statement?" + url.Values{"period": {period}, "format": {"csv"}, "bom": {"true"}}.Encode()}
	return s.render(c, http.StatusOK, "statement", p)
}

type reconView struct {
	Markets   []*choso.Market
	Market    *choso.Market
	Date      string
	Results   []reconRow
	Counts    map[string]int
	NoPartner bool
}

type reconRow struct {
	Stall *choso.Stall
	Rec   *choso.Reconciliation
}

// handleReconciliationPage shows, for one market and business day, each
// stall's QR sales against the bank's credits: mismatches first, with the
// lines behind them.
func (s *Server) handleReconciliationPage(c echo.Context) error {
	p := s.newPage(c, "Đối soát", "reconciliation")
	ctx := c.Request().Context()
	v := reconView{Date: c.QueryParam("date"), Counts: map[string]int{}, NoPartner: s.partners == nil}
	if v.Date == "" {
		v.Date = s.now().In(vietnam).AddDate(0, 0, -1).Format(time.DateOnly)
	}
	if _, err := time.Parse(time.DateOnly, v.Date); err != nil {
		return choso.Errorf(choso.EInvalid, "date must be YYYY-MM-DD")
	}
	// Every market in scope, page by page: a province has more than a page.
	for f := (choso.MarketFilter{Limit: choso.MaxPageSize}); ; {
		page, err := s.registry.ListMarkets(ctx, p.User, f)
		if err != nil {
			return err
		}
		v.Markets = append(v.Markets, page.Data...)
		if !page.HasMore {
			break
		}
		f.After = page.NextCursor
	}
	var err error
	if id := c.QueryParam("market_id"); id != "" {
		if v.Market, err = s.registry.FindMarket(ctx, p.User, id); err != nil {
			return err
		}
	} else if len(v.Markets) > 0 {
		v.Market = v.Markets[0]
	}
	if v.Market != nil && s.partners != nil {
		stalls, err := s.stallsOfMarket(ctx, p.User, v.Market.ID, "")
		if err != nil {
			return err
		}
		// The view reconciles as the market's own programme would.
		view := &choso.Partner{Name: "web:" + p.User.Username, MarketIDs: []string{v.Market.ID}}
		// One vendor's stalls may share an account: its reconciliation
		// holds all their sales, and is shown and counted once.
		// A stall whose payout account changed has the former accounts'
		// reconciliations too: sales made while one was in force, and
		// credits a customer paid into it from a card printed before, on
		// the day of the change or any day after it. Those with no lines
		// on the day are not shown.
		seen := map[string]bool{}
		for _, st := range stalls {
			if st.ErasedAt != nil {
				continue
			}
			for _, a := range st.PayoutAccounts() {
				if seen[a.BIN+" "+a.Account] {
					continue
				}
				seen[a.BIN+" "+a.Account] = true
				rec, err := s.partners.Reconcile(ctx, view, v.Date, a.BIN, a.Account)
				if err != nil {
					if choso.ErrorCode(err) == choso.ENotFound {
						continue
					}
					return err
				}
				if len(rec.Lines) == 0 {
					continue
				}
				v.Counts[rec.Status]++
				v.Results = append(v.Results, reconRow{Stall: st, Rec: rec})
			}
		}
		order := map[string]int{choso.ReconMismatch: 0, choso.ReconPending: 1, choso.ReconMatched: 2}
		slices.SortStableFunc(v.Results, func(a, b reconRow) int { return order[a.Rec.Status] - order[b.Rec.Status] })
	}
	p.Data = v
	return s.render(c, http.StatusOK, "reconciliation", p)
}

// reasonText names a reconciliation reason or note for people.
func reasonText(reason string) string {
	switch reason {
	case "unmatched_bank_lines":
		return "chưa khớp giao dịch ngân hàng"
	case "unmatched_qr_sales":
		return "chưa khớp bán QR"
	case "amount_differs":
		return "số tiền lệch"
	case "day_boundary":
		return "khớp với giao dịch của ngày khác"
	}
	return reason
}
