package server

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/choso/choso"
)

func TestReportRoutes_JSONCSVAndThePhonesStatement(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	ctx := context.Background()
	today := time.Now().In(vietnam).Format(time.DateOnly)
	st := rs.stall(t, obj.stall)
	err := rs.reg.Store.Update(ctx, func(tx choso.Tx) error {
		return tx.PutStallDay(&choso.StallDay{Status: choso.DayProvisional, StallID: st.ID, MarketID: st.MarketID,
			CommuneCode: st.CommuneCode, ProvinceCode: st.ProvinceCode, Date: today,
			ByMethod: map[string]choso.MethodTotals{choso.MethodCash: {Count: 2, Amount: 60_000}, choso.MethodQR: {Count: 1, Amount: 140_000}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	auth := "Bearer " + rs.token(t, "official")

	// JSON, with the default range ending today.
	res := rs.do(t, "GET", "/v1/reports/communes", nil, "Authorization", auth)
	var rep choso.Report
	if err := json.NewDecoder(res.Body).Decode(&rep); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v", res.StatusCode, err)
	}
	if rep.To != today || len(rep.Rows) != 1 || rep.Rows[0].Name != "Phường Bắc Giang" || rep.Rows[0].Sales.Amount != 200_000 || rep.Rows[0].CashlessShare != 0.7 {
		t.Fatalf("report = %+v", rep)
	}

	// CSV through Accept, and through ?format=csv.
	for _, req := range []struct{ path, accept string }{
		{"/v1/reports/markets?from=" + today + "&to=" + today, "text/csv"},
		{"/v1/reports/markets?format=csv&from=" + today + "&to=" + today, ""},
	} {
		res = rs.do(t, "GET", req.path, nil, "Authorization", auth, "Accept", req.accept)
		if ct := res.Header.Get("Content-Type"); res.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/csv") {
			t.Fatalf("%s: status %d, content type %q", req.path, res.StatusCode, ct)
		}
		recs, err := csv.NewReader(res.Body).ReadAll()
		if err != nil || len(recs) != 3 || recs[1][1] != obj.market || recs[2][1] != "total" {
			t.Fatalf("csv = %q, %v", recs, err)
		}
	}

	for path, want := range map[string]int{
		"/v1/reports/stalls":                                    http.StatusNotFound,
		"/v1/reports/markets?format=xml":                        http.StatusBadRequest,
		"/v1/reports/markets?from=2020-01-01&to=2026-01-01":     http.StatusBadRequest,
		"/v1/stalls/" + obj.stall + "/statement?period=2026-13": http.StatusBadRequest,
	} {
		if res := rs.do(t, "GET", path, nil, "Authorization", auth); res.StatusCode != want {
			t.Errorf("%s: status %d, want %d", path, res.StatusCode, want)
		}
	}

	// The vendor's phone reads its own stall's statement.
	code, _, err := rs.reg.CreateEnrollment(ctx, rs.users["volin"].Principal(), obj.stall)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := rs.reg.RedeemEnrollment(ctx, code, "1.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	period := today[:7]
	res = rs.do(t, "GET", "/v1/sync/statement?period="+period, nil, "Authorization", "Bearer "+token)
	var stmt choso.Statement
	if err := json.NewDecoder(res.Body).Decode(&stmt); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v", res.StatusCode, err)
	}
	if stmt.StallID != obj.stall || stmt.Sales.Amount != 200_000 || len(stmt.Days) != 1 || stmt.Days[0].Date != today {
		t.Fatalf("statement = %+v", stmt)
	}
	res = rs.do(t, "GET", "/v1/sync/statement?period="+period, nil, "Authorization", "Bearer "+token, "Accept", "text/csv")
	body, _ := io.ReadAll(res.Body)
	if !strings.HasPrefix(string(body), strings.Join(choso.StatementCSVHeader, ",")) || !strings.Contains(res.Header.Get("Content-Disposition"), "A-1") {
		t.Fatalf("statement csv: %s (%s)", body, res.Header.Get("Content-Disposition"))
	}
}

// One market's dashboard (linked from the market's page) offers that
// market's CSV, not every market's in the user's scope, and its form keeps
// the market when the dates change.
func TestDashboard_OneMarketsPage_CSVOfThatMarket(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	other, err := rs.reg.CreateMarket(t.Context(), rs.users["volin"].Principal(), choso.NewMarket{Name: "Chợ Mới", CommuneCode: "07210"})
	if err != nil {
		t.Fatal(err)
	}
	auth := "Bearer " + rs.token(t, "volin")
	res := rs.do(t, "GET", "/dashboard?market_id="+obj.market, nil, "Authorization", auth)
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), `name="market_id" value="`+obj.market+`"`) {
		t.Fatalf("dashboard %d: its form does not keep the market", res.StatusCode)
	}
	_, href, ok := strings.Cut(string(page), `href="/v1/reports/`)
	href, _, _ = strings.Cut(href, `"`)
	if !ok {
		t.Fatal("no CSV link on the dashboard")
	}
	res = rs.do(t, "GET", "/v1/reports/"+strings.ReplaceAll(href, "&amp;", "&"), nil, "Authorization", auth)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), obj.market) || strings.Contains(string(body), other.ID) {
		t.Fatalf("the CSV of one market's dashboard (%d):\n%s", res.StatusCode, body)
	}
}

// The CSV a page links to is opened in Excel, which reads a file without a
// byte order mark in the system's code page and garbles Vietnamese names:
// the dashboard's and the statement's links ask for the mark, and the API
// gives it only when asked.
func TestCSVDownloads_PagesAskForTheByteOrderMark(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	auth := "Bearer " + rs.token(t, "volin")
	const bom = "\uFEFF"
	period := time.Now().In(vietnam).Format("2006-01")
	for page, prefix := range map[string]string{
		"/dashboard": `href="/v1/reports/`,
		"/stalls/" + obj.stall + "/statement?period=" + period: `href="/v1/stalls/`,
	} {
		res := rs.do(t, "GET", page, nil, "Authorization", auth)
		html, _ := io.ReadAll(res.Body)
		res.Body.Close()
		_, href, ok := strings.Cut(string(html), prefix)
		href, _, _ = strings.Cut(href, `"`)
		if res.StatusCode != http.StatusOK || !ok {
			t.Fatalf("%s (%d): no CSV link", page, res.StatusCode)
		}
		link := prefix[len(`href="`):] + strings.ReplaceAll(href, "&amp;", "&")
		res = rs.do(t, "GET", link, nil, "Authorization", auth)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), bom) {
			t.Errorf("%s links to %s (%d), which does not start with a byte order mark: %.40q", page, link, res.StatusCode, body)
		}
	}
	res := rs.do(t, "GET", "/v1/reports/markets?format=csv", nil, "Authorization", auth)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || strings.HasPrefix(string(body), bom) {
		t.Errorf("the API's CSV unasked (%d) starts with a byte order mark: %.40q", res.StatusCode, body)
	}
	if res := rs.do(t, "GET", "/v1/reports/markets?format=csv&bom=yes", nil, "Authorization", auth); res.StatusCode != http.StatusBadRequest {
		t.Errorf("bom=yes: status %d, want 400", res.StatusCode)
	}
}
