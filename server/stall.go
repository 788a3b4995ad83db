package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/choso/choso"
	"github.com/labstack/echo/v4"
)

func (s *Server) registerStallRoutes(g routeGroup) {
	g.GET("/markets/:id/stalls", s.handleStallList)
	g.POST("/markets/:id/stalls", s.handleStallCreate)
	g.POST("/markets/:id/stalls/import", s.handleStallImport, bodyLimit(ImportBodyLimit))
	g.GET("/stalls/:id", s.handleStallView)
	g.PATCH("/stalls/:id", s.handleStallUpdate)
	g.POST("/stalls/:id/payout-change", s.handleStallPayoutPropose)
	g.POST("/stalls/:id/payout-change/approve", s.handleStallPayoutApprove)
	g.POST("/stalls/:id/payout-change/reject", s.handleStallPayoutReject)
}

type payoutRequest struct {
	BIN     string `json:"bin"`
	Account string `json:"account"`
	Service string `json:"service"` // QRIBFTTA (default) or QRIBFTTC, or account/card
	Holder  string `json:"holder_name"`
}

func (p payoutRequest) account() (choso.PayoutAccount, error) {
	svc, ok := choso.ParsePayoutService(p.Service)
	if !ok {
		return choso.PayoutAccount{}, choso.Errorf(choso.EInvalid, "service %q: want QRIBFTTA (account) or QRIBFTTC (card)", p.Service)
	}
	return choso.PayoutAccount{BIN: p.BIN, Account: p.Account, Service: svc, Holder: p.Holder}, nil
}

type stallCreateRequest struct {
	Code          string        `json:"code"`
	Name          string        `json:"name"`
	Category      string        `json:"category"`
	VendorName    string        `json:"vendor_name"`
	VendorPhone   string        `json:"vendor_phone"`
	Payout        payoutRequest `json:"payout"`
	ConsentGiven  bool          `json:"consent_given"`
	NoticeVersion string        `json:"notice_version"`
}

type stallUpdateRequest struct {
	Code        *string            `json:"code"`
	Name        *string            `json:"name"`
	Category    *string            `json:"category"`
	VendorName  *string            `json:"vendor_name"`
	VendorPhone *string            `json:"vendor_phone"`
	Status      *choso.StallStatus `json:"status"`
}

func (s *Server) handleStallCreate(c echo.Context) error {
	var req stallCreateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	payout, err := req.Payout.account()
	if err != nil {
		return err
	}
	st, err := s.registry.CreateStall(c.Request().Context(), principal(c), c.Param("id"), choso.NewStall{
		Code: req.Code, Name: req.Name, Category: req.Category, VendorName: req.VendorName, VendorPhone: req.VendorPhone,
		Payout: payout, ConsentGiven: req.ConsentGiven, NoticeVersion: req.NoticeVersion,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, st)
}

// handleStallView answers with the stall whole to those who may change it:
// the volunteer checking a payout account needs the whole number. An
// official, who reads figures and changes nothing, gets the vendor's phone
// and the account masked, as lists show them (DESIGN.md §11).
func (s *Server) handleStallView(c echo.Context) error {
	p := principal(c)
	st, err := s.registry.FindStall(c.Request().Context(), p, c.Param("id"))
	if err != nil {
		return err
	}
	if !p.CanWrite() {
		st = st.Masked()
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) handleStallUpdate(c echo.Context) error {
	var req stallUpdateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	st, err := s.registry.UpdateStall(c.Request().Context(), principal(c), c.Param("id"), choso.StallPatch(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) handleStallList(c echo.Context) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	status := choso.StallStatus(c.QueryParam("status"))
	if status != "" && status != choso.StallActive && status != choso.StallSuspended {
		return choso.Errorf(choso.EInvalid, "status must be active or suspended")
	}
	page, err := s.registry.ListStalls(c.Request().Context(), principal(c), choso.StallFilter{
		MarketID: c.Param("id"), Status: status, Query: c.QueryParam("q"), After: c.QueryParam("cursor"), Limit: limit,
	})
	if err != nil {
		return err
	}
	for i, st := range page.Data {
		page.Data[i] = st.Masked()
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Server) handleStallPayoutPropose(c echo.Context) error {
	var req payoutRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	account, err := req.account()
	if err != nil {
		return err
	}
	st, err := s.registry.ProposePayoutChange(c.Request().Context(), principal(c), c.Param("id"), account)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) handleStallPayoutApprove(c echo.Context) error {
	// The body may name the proposal the approver reviewed.
	var in struct {
		ProposedAt time.Time `json:"proposed_at"`
	}
	if c.Request().ContentLength != 0 {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	}
	st, err := s.registry.ApprovePayoutChange(c.Request().Context(), principal(c), c.Param("id"), in.ProposedAt)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) handleStallPayoutReject(c echo.Context) error {
	st, err := s.registry.RejectPayoutChange(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// handleStallImport takes a CSV file (text/csv, up to 8 MiB) of stalls for a
// market. ?dry_run=true reports every row's problems without writing;
// otherwise all rows are registered or, when any has a problem, none.
// ?consent_given=true is the volunteer's word that every vendor agreed to
// the privacy notice.
func (s *Server) handleStallImport(c echo.Context) error {
	if err := requireMediaType(c, "text/csv"); err != nil {
		return err
	}
	dryRun, err := queryBool(c, "dry_run")
	if err != nil {
		return err
	}
	consent, err := queryBool(c, "consent_given")
	if err != nil {
		return err
	}
	rows, err := choso.ParseStallCSV(c.Request().Body)
	if err != nil {
		return err
	}
	report, err := s.registry.ImportStalls(c.Request().Context(), principal(c), c.Param("id"), rows, consent, dryRun)
	if err != nil {
		return err
	}
	status := http.StatusOK
	switch {
	case len(report.Errors) > 0 && !dryRun:
		status = http.StatusUnprocessableEntity
	case report.Created > 0:
		status = http.StatusCreated
	}
	return c.JSON(status, report)
}

func queryBool(c echo.Context, name string) (bool, error) {
	v := c.QueryParam(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, choso.Errorf(choso.EInvalid, "%s must be true or false", name)
	}
	return b, nil
}
