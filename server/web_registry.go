package server

import (
	"bytes"
	"context"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/web"
	"github.com/choso/choso/qr"
	"github.com/labstack/echo/v4"
)

// communeChoices lists the communes a user may pick for a market: those of
// the user's scope (a province in the scope brings its communes), or, for
// an admin, the communes of the province chosen with ?province=.
func (s *Server) communeChoices(ctx context.Context, p *choso.Principal, province string) ([]*choso.Region, []*choso.Region, error) {
	provinces, err := s.registry.ListRegions(ctx, p, "")
	if err != nil {
		return nil, nil, err
	}
	var out []*choso.Region
	if p.IsAdmin() {
		if province == "" {
			return provinces, nil, nil
		}
		out, err = s.registry.ListRegions(ctx, p, province)
		return provinces, out, err
	}
	for _, code := range p.Scope {
		if choso.LevelOf(code) == choso.LevelProvince {
			list, err := s.registry.ListRegions(ctx, p, code)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, list...)
			continue
		}
		r, err := s.registry.FindRegion(ctx, p, code)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, r)
	}
	return nil, out, nil
}

type marketsView struct {
	Query     string
	Province  string
	Commune   string
	Provinces []*choso.Region // an admin's filter
	Communes  []*choso.Region // the communes to filter by
	Markets   []*choso.Market
	Next      string
	CanWrite  bool
}

// handleMarketsPage lists the markets in scope, searched by name and
// filtered by province and commune.
func (s *Server) handleMarketsPage(c echo.Context) error {
	p := s.newPage(c, "Chợ", "markets")
	ctx := c.Request().Context()
	v := marketsView{Query: c.QueryParam("q"), Province: c.QueryParam("province"), Commune: c.QueryParam("commune"), CanWrite: p.User.CanWrite()}
	var err error
	if v.Provinces, v.Communes, err = s.communeChoices(ctx, p.User, v.Province); err != nil {
		return err
	}
	f := choso.MarketFilter{Query: v.Query, After: c.QueryParam("after"), Limit: 50}
	switch {
	case v.Commune != "":
		f.Communes = []string{v.Commune}
	case v.Province != "":
		f.Provinces = []string{v.Province}
	}
	page, err := s.registry.ListMarkets(ctx, p.User, f)
	if err != nil {
		return err
	}
	v.Markets = page.Data
	if page.HasMore {
		v.Next = "/markets?" + url.Values{"q": {v.Query}, "province": {v.Province}, "commune": {v.Commune}, "after": {page.NextCursor}}.Encode()
	}
	p.Data = v
	return s.render(c, http.StatusOK, "markets", p)
}

type marketFormView struct {
	Market    *choso.Market
	Provinces []*choso.Region
	Province  string
	Communes  []*choso.Region
	Name      string
	Commune   string
	Address   string
}

func (s *Server) marketForm(c echo.Context, p *pageData, v *marketFormView) error {
	var err error
	if v.Market == nil {
		if v.Provinces, v.Communes, err = s.communeChoices(c.Request().Context(), p.User, v.Province); err != nil {
			return err
		}
	}
	p.Data = v
	return nil
}

func (s *Server) handleMarketNewPage(c echo.Context) error {
	p := s.newPage(c, "Thêm chợ", "markets")
	if !p.User.CanWrite() {
		return choso.Errorf(choso.EForbidden, "officials read figures; only volunteers and admins register markets")
	}
	if err := s.marketForm(c, p, &marketFormView{Province: c.QueryParam("province")}); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "market_form", p)
}

func (s *Server) handleMarketNewForm(c echo.Context) error {
	p := s.newPage(c, "Thêm chợ", "markets")
	v := &marketFormView{Name: c.FormValue("name"), Commune: c.FormValue("commune_code"), Address: c.FormValue("address"), Province: c.FormValue("province")}
	m, err := s.registry.CreateMarket(c.Request().Context(), p.User, choso.NewMarket{Name: v.Name, CommuneCode: v.Commune, Address: v.Address})
	if err != nil {
		if ferr := s.marketForm(c, p, v); ferr != nil {
			return ferr
		}
		return s.formError(c, err, "market_form", p)
	}
	return c.Redirect(http.StatusSeeOther, "/markets/"+m.ID+"?saved="+urlQuery("Đã lưu."))
}

func (s *Server) handleMarketEditPage(c echo.Context) error {
	p := s.newPage(c, "Sửa", "markets")
	m, err := s.registry.FindMarket(c.Request().Context(), p.User, c.Param("id"))
	if err != nil {
		return err
	}
	if !p.User.CanWrite() {
		return choso.Errorf(choso.EForbidden, "officials read figures; only volunteers and admins change markets")
	}
	p.Data = &marketFormView{Market: m, Name: m.Name, Address: m.Address, Commune: m.CommuneCode}
	return s.render(c, http.StatusOK, "market_form", p)
}

func (s *Server) handleMarketEditForm(c echo.Context) error {
	p := s.newPage(c, "Sửa", "markets")
	ctx := c.Request().Context()
	m, err := s.registry.FindMarket(ctx, p.User, c.Param("id"))
	if err != nil {
		return err
	}
	name, address := c.FormValue("name"), c.FormValue("address")
	if _, err := s.registry.UpdateMarket(ctx, p.User, m.ID, choso.MarketPatch{Name: &name, Address: &address}); err != nil {
		p.Data = &marketFormView{Market: m, Name: name, Address: address, Commune: m.CommuneCode}
		return s.formError(c, err, "market_form", p)
	}
	return c.Redirect(http.StatusSeeOther, "/markets/"+m.ID+"?saved="+urlQuery("Đã lưu."))
}

type marketView struct {
	Market   *choso.Market
	Commune  string
	Query    string
	Status   string
	Stalls   []*choso.Stall
	Next     string
	CanWrite bool
}

func (s *Server) handleMarketPage(c echo.Context) error {
	p := s.newPage(c, "Chợ", "markets")
	ctx := c.Request().Context()
	m, err := s.registry.FindMarket(ctx, p.User, c.Param("id"))
	if err != nil {
		return err
	}
	p.Title = m.Name
	v := marketView{Market: m, Query: c.QueryParam("q"), Status: c.QueryParam("status"), CanWrite: p.User.CanWrite()}
	if v.Status != "" && v.Status != string(choso.StallActive) && v.Status != string(choso.StallSuspended) {
		v.Status = ""
	}
	page, err := s.registry.ListStalls(ctx, p.User, choso.StallFilter{MarketID: m.ID, Query: v.Query, Status: choso.StallStatus(v.Status), After: c.QueryParam("after"), Limit: 50})
	if err != nil {
		return err
	}
	v.Stalls = page.Data
	if page.HasMore {
		v.Next = "/markets/" + m.ID + "?q=" + urlQuery(v.Query) + "&status=" + v.Status + "&after=" + urlQuery(page.NextCursor)
	}
	if r, err := s.registry.FindRegion(ctx, p.User, m.CommuneCode); err == nil {
		v.Commune = r.Name
	}
	p.Data = v
	return s.render(c, http.StatusOK, "market", p)
}

// stallFormView backs the new-stall form and the payout change form.
type stallFormView struct {
	Market  *choso.Market
	Stall   *choso.Stall // set when changing a payout account
	Banks   []qr.Bank
	In      choso.NewStall
	Bank    string // as typed in the picker
	Service string
}

func bankLabel(b qr.Bank) string {
	if b.Code != "" && !strings.EqualFold(b.Code, b.ShortName) {
		return b.ShortName + " · " + b.Code + " · " + b.BIN
	}
	return b.ShortName + " · " + b.BIN
}

var binInText = regexp.MustCompile(`\b(9\d{5})\b`)

// bankOf reads the bank picker's text: a BIN, a code, a short name, or a
// picker label, which ends with the BIN.
func bankOf(text string) string {
	text = strings.TrimSpace(text)
	if m := binInText.FindAllString(text, -1); len(m) > 0 {
		if b, ok := qr.BankByBIN(m[len(m)-1]); ok {
			return b.BIN
		}
	}
	if b, ok := qr.BankByCode(strings.ToUpper(text)); ok {
		return b.BIN
	}
	if list := qr.LookupBanks(text); len(list) == 1 {
		return list[0].BIN
	}
	return text
}

// formService is the payout form's radio value for a service: "card" or
// "account", what the form's template checks.
func formService(svc choso.PayoutService) string {
	if svc == choso.ServiceCard {
		return "card"
	}
	return "account"
}

func payoutFromForm(c echo.Context) (choso.PayoutAccount, string) {
	bank := c.FormValue("bank")
	svc := choso.ServiceAccount
	if c.FormValue("service") == "card" {
		svc = choso.ServiceCard
	}
	return choso.PayoutAccount{BIN: bankOf(bank), Account: c.FormValue("account"), Service: svc, Holder: c.FormValue("holder_name")}, bank
}

func (s *Server) handleStallNewPage(c echo.Context) error {
	p := s.newPage(c, "Thêm quầy", "markets")
	m, err := s.registry.FindMarket(c.Request().Context(), p.User, c.Param("id"))
	if err != nil {
		return err
	}
	if !p.User.CanWrite() {
		return choso.Errorf(choso.EForbidden, "officials read figures; only volunteers and admins register stalls")
	}
	p.Data = &stallFormView{Market: m, Banks: qr.Banks(), Service: "account"}
	return s.render(c, http.StatusOK, "stall_form", p)
}

func (s *Server) handleStallNewForm(c echo.Context) error {
	p := s.newPage(c, "Thêm quầy", "markets")
	ctx := c.Request().Context()
	m, err := s.registry.FindMarket(ctx, p.User, c.Param("id"))
	if err != nil {
		return err
	}
	payout, bank := payoutFromForm(c)
	in := choso.NewStall{
		Code: c.FormValue("code"), Name: c.FormValue("name"), Category: c.FormValue("category"),
		VendorName: c.FormValue("vendor_name"), VendorPhone: c.FormValue("vendor_phone"),
		Payout: payout, ConsentGiven: c.FormValue("consent") == "yes",
	}
	st, err := s.registry.CreateStall(ctx, p.User, m.ID, in)
	if err != nil {
		p.Data = &stallFormView{Market: m, Banks: qr.Banks(), In: in, Bank: bank, Service: formService(payout.Service)}
		return s.formError(c, err, "stall_form", p)
	}
	return c.Redirect(http.StatusSeeOther, "/stalls/"+st.ID+"?saved="+urlQuery("Đã lưu."))
}

type stallView struct {
	Stall    *choso.Stall
	Market   *choso.Market
	BankName string
	QR       template.HTML
	Devices  []*choso.Device
	Period   string
	CanWrite bool
	// The payout change form: the bank directory and what was typed.
	Banks   []qr.Bank
	Bank    string
	Service string
	In      choso.NewStall
	// Enrollment is set on the page that just made a code.
	Enrollment *enrollmentResponse
}

func (s *Server) stallView(c echo.Context, p *pageData) (*stallView, error) {
	ctx := c.Request().Context()
	st, err := s.registry.FindStall(ctx, p.User, c.Param("id"))
	if err != nil {
		return nil, err
	}
	m, err := s.registry.FindMarket(ctx, p.User, st.MarketID)
	if err != nil {
		return nil, err
	}
	devices, err := s.registry.ListStallDevices(ctx, p.User, st.ID)
	if err != nil {
		return nil, err
	}
	v := &stallView{Stall: st, Market: m, Devices: devices, CanWrite: p.User.CanWrite(), Banks: qr.Banks(),
		Period: s.now().In(vietnam).Format("2006-01")}
	v.BankName, v.Service = st.Payout.BIN, formService(st.Payout.Service)
	if b, ok := qr.BankByBIN(st.Payout.BIN); ok {
		v.BankName = b.ShortName + " — " + b.Name
	}
	if st.ErasedAt == nil {
		if payload, err := qr.Encode(stallTransfer(st)); err == nil {
			var svg bytes.Buffer
			if qr.RenderSVG(&svg, payload, qr.LevelM, 0) == nil {
				v.QR = template.HTML(svg.String())
			}
		}
	}
	p.Title = st.Code + " · " + st.Name
	return v, nil
}

func (s *Server) handleStallPage(c echo.Context) error {
	p := s.newPage(c, "Quầy hàng", "markets")
	v, err := s.stallView(c, p)
	if err != nil {
		return err
	}
	p.Data = v
	return s.render(c, http.StatusOK, "stall", p)
}

func (s *Server) handleStallEditPage(c echo.Context) error {
	p := s.newPage(c, "Sửa", "markets")
	v, err := s.stallView(c, p)
	if err != nil {
		return err
	}
	if !p.User.CanWrite() {
		return choso.Errorf(choso.EForbidden, "officials read figures; only volunteers and admins change stalls")
	}
	p.Data = v
	return s.render(c, http.StatusOK, "stall_edit", p)
}

func (s *Server) handleStallEditForm(c echo.Context) error {
	p := s.newPage(c, "Sửa", "markets")
	ctx := c.Request().Context()
	patch := choso.StallPatch{}
	for field, dst := range map[string]**string{"code": &patch.Code, "name": &patch.Name, "category": &patch.Category, "vendor_name": &patch.VendorName, "vendor_phone": &patch.VendorPhone} {
		if v, ok := c.Request().PostForm[field]; ok && len(v) > 0 {
			val := v[0]
			*dst = &val
		}
	}
	if st := choso.StallStatus(c.FormValue("status")); st == choso.StallActive || st == choso.StallSuspended {
		patch.Status = &st
	}
	if _, err := s.registry.UpdateStall(ctx, p.User, c.Param("id"), patch); err != nil {
		v, verr := s.stallView(c, p)
		if verr != nil {
			return verr
		}
		patch.Apply(v.Stall) // the form shows what was typed, to correct, not the stored stall
		p.Data = v
		return s.formError(c, err, "stall_edit", p)
	}
	return c.Redirect(http.StatusSeeOther, "/stalls/"+c.Param("id")+"?saved="+urlQuery("Đã lưu."))
}

// handlePayoutForm proposes, approves or rejects a payout account change.
func (s *Server) handlePayoutForm(c echo.Context) error {
	p := s.newPage(c, "Đổi tài khoản nhận tiền", "markets")
	ctx, id := c.Request().Context(), c.Param("id")
	var err error
	switch c.FormValue("action") {
	case "approve":
		// The form names the proposal it showed: one replaced since is not
		// approved unseen.
		seen, perr := time.Parse(time.RFC3339Nano, c.FormValue("proposed_at"))
		if perr != nil {
			return choso.Errorf(choso.EInvalid, "the approval form does not say which proposal it showed; open the stall again")
		}
		_, err = s.registry.ApprovePayoutChange(ctx, p.User, id, seen)
	case "reject":
		_, err = s.registry.RejectPayoutChange(ctx, p.User, id)
	default:
		payout, bank := payoutFromForm(c)
		if _, err = s.registry.ProposePayoutChange(ctx, p.User, id, payout); err != nil {
			v, verr := s.stallView(c, p)
			if verr != nil {
				return verr
			}
			v.Bank, v.Service, v.In.Payout = bank, formService(payout.Service), payout
			p.Data = v
			return s.formError(c, err, "stall_edit", p)
		}
	}
	if err != nil {
		v, verr := s.stallView(c, p)
		if verr != nil {
			return verr
		}
		p.Data = v
		if choso.ErrorCode(err) == choso.EForbidden && p.User.CanWrite() {
			// The proposer pressed Approve: the rule that someone else
			// approves, said on the page they are on, in its language.
			p.Error = web.ErrorText(p.Lang, choso.ErrorMessage(err))
			return s.render(c, http.StatusForbidden, "stall_edit", p)
		}
		return s.formError(c, err, "stall_edit", p)
	}
	return c.Redirect(http.StatusSeeOther, "/stalls/"+id+"?saved="+urlQuery("Đã lưu."))
}

func (s *Server) handleEnrollForm(c echo.Context) error {
	p := s.newPage(c, "Thêm điện thoại", "markets")
	code, e, err := s.registry.CreateEnrollment(c.Request().Context(), p.User, c.Param("id"))
	if err != nil {
		if choso.ErrorCode(err) != choso.EConflict {
			return err
		}
		// A suspended or erased stall: its page again, saying why.
		v, verr := s.stallView(c, p)
		if verr != nil {
			return verr
		}
		p.Data = v
		p.Error = web.ErrorText(p.Lang, choso.ErrorMessage(err))
		return s.render(c, http.StatusConflict, "stall", p)
	}
	v, err := s.stallView(c, p)
	if err != nil {
		return err
	}
	if v.Enrollment, err = newEnrollmentResponse(code, e); err != nil {
		return err
	}
	v.QR = template.HTML(v.Enrollment.QRSVG)
	p.Data = v
	return s.render(c, http.StatusOK, "enroll", p)
}

func (s *Server) handleRevokeForm(c echo.Context) error {
	d, err := s.registry.RevokeDevice(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/stalls/"+d.StallID+"?saved="+urlQuery("Đã thu hồi điện thoại."))
}

type importView struct {
	Market  *choso.Market
	CSV     string
	Report  *choso.ImportReport
	Columns string
	Consent bool
}

func (s *Server) handleImportPage(c echo.Context) error {
	p := s.newPage(c, "Nhập quầy từ CSV", "markets")
	m, err := s.registry.FindMarket(c.Request().Context(), p.User, c.Param("id"))
	if err != nil {
		return err
	}
	if !p.User.CanWrite() {
		return choso.Errorf(choso.EForbidden, "officials read figures; only volunteers and admins import stalls")
	}
	p.Data = &importView{Market: m, Columns: strings.Join(choso.StallCSVColumns, ", ")}
	return s.render(c, http.StatusOK, "import", p)
}

// handleImportForm checks an uploaded file (a dry run that lists every
// row's problems) or, with action=import, registers all its rows or none.
func (s *Server) handleImportForm(c echo.Context) error {
	p := s.newPage(c, "Nhập quầy từ CSV", "markets")
	ctx := c.Request().Context()
	m, err := s.registry.FindMarket(ctx, p.User, c.Param("id"))
	if err != nil {
		return err
	}
	v := &importView{Market: m, Columns: strings.Join(choso.StallCSVColumns, ", "), Consent: c.FormValue("consent") == "yes"}
	p.Data = v
	// The confirm form sends the file back in this field, from a textarea
	// whose line breaks the browser sends as CRLF: a file with LF breaks
	// would come back a byte a line larger than it was checked.
	v.CSV = strings.ReplaceAll(c.FormValue("csv"), "\r\n", "\n")
	if len(v.CSV) > ImportBodyLimit {
		return choso.Errorf(choso.ETooLarge, "the file is larger than 8 MiB")
	}
	if fh, err := c.FormFile("file"); err == nil {
		f, err := fh.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(f, ImportBodyLimit+1))
		f.Close()
		if err != nil {
			return err
		}
		if len(b) > ImportBodyLimit {
			return choso.Errorf(choso.ETooLarge, "the file is larger than 8 MiB")
		}
		v.CSV = string(b)
	}
	if strings.TrimSpace(v.CSV) == "" {
		p.Error = p.T("Hãy chọn tệp CSV.")
		return s.render(c, http.StatusUnprocessableEntity, "import", p)
	}
	rows, err := choso.ParseStallCSV(strings.NewReader(v.CSV))
	if err != nil {
		return s.formError(c, err, "import", p)
	}
	dryRun := c.FormValue("action") != "import"
	v.Report, err = s.registry.ImportStalls(ctx, p.User, m.ID, rows, v.Consent, dryRun)
	if err != nil {
		return s.formError(c, err, "import", p)
	}
	if !dryRun && len(v.Report.Errors) == 0 {
		return c.Redirect(http.StatusSeeOther, "/markets/"+m.ID+"?saved="+urlQuery("Đã lưu."))
	}
	status := http.StatusOK
	if len(v.Report.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	}
	return s.render(c, status, "import", p)
}

// payoutCheck is the live validation of a payout account as it is typed.
type payoutCheck struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"` // the control the message is about, bank or account (web.ErrorField)
	Bank    string `json:"bank,omitempty"`
	SVG     string `json:"svg,omitempty"` // the stall's VietQR, once the account is valid
}

// handlePayoutCheck answers the stall form's script: is this account
// valid, and if so, the VietQR it makes.
func (s *Server) handlePayoutCheck(c echo.Context) error {
	l := lang(c)
	svc := choso.ServiceAccount
	if c.QueryParam("service") == "card" {
		svc = choso.ServiceCard
	}
	acc := choso.PayoutAccount{BIN: bankOf(c.QueryParam("bank")), Account: c.QueryParam("account"), Service: svc, Holder: c.QueryParam("holder_name")}
	if acc.Holder == "" {
		acc.Holder = "-" // the holder is checked on save; the code does not carry it
	}
	if err := acc.Validate(s.registry.Banks); err != nil {
		msg := choso.ErrorMessage(err)
		return c.JSON(http.StatusOK, payoutCheck{Message: web.ErrorText(l, msg), Field: web.ErrorField(msg)}) // the page's language, as the form's answer
	}
	st := &choso.Stall{Payout: acc}
	payload, err := qr.Encode(stallTransfer(st))
	if err != nil {
		return c.JSON(http.StatusOK, payoutCheck{Message: err.Error()})
	}
	var svg bytes.Buffer
	if err := qr.RenderSVG(&svg, payload, qr.LevelM, 0); err != nil {
		return err
	}
	out := payoutCheck{OK: true, Message: web.T(l, "Tài khoản hợp lệ."), SVG: svg.String()}
	if b, ok := qr.BankByBIN(acc.BIN); ok {
		out.Bank = b.ShortName + " — " + b.Name
	}
	return c.JSON(http.StatusOK, out)
}

func urlQuery(s string) string { return template.URLQueryEscaper(s) }

// stallsOfMarket lists every stall of a market in scope with status ("" for
// any), in code order.
func (s *Server) stallsOfMarket(ctx context.Context, p *choso.Principal, marketID string, status choso.StallStatus) ([]*choso.Stall, error) {
	var out []*choso.Stall
	f := choso.StallFilter{MarketID: marketID, Status: status, Limit: choso.MaxPageSize}
	for {
		page, err := s.registry.ListStalls(ctx, p, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Data...)
		if !page.HasMore {
			return out, nil
		}
		f.After = page.NextCursor
	}
}
