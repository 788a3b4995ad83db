package server

import (
	"net/http"

	"github.com/choso/choso"
	"github.com/labstack/echo/v4"
)

func (s *Server) registerPartnerAdminRoutes(g routeGroup) {
	g.mw = append(g.mw[:len(g.mw):len(g.mw)], s.requirePartnerSide)
	g.GET("/admin/partners", s.handlePartnerList)
	g.POST("/admin/partners", s.handlePartnerCreate)
	g.POST("/admin/partners/:id/keys", s.handlePartnerKeyCreate)
	g.POST("/admin/partner-keys/:id/revoke", s.handlePartnerKeyRevoke)
	g.PUT("/admin/partners/:id/webhook", s.handlePartnerWebhook)
}

// handlePartnerWebhook sets a partner's webhook URL and answers its new
// signing secret, once.
func (s *Server) handlePartnerWebhook(c echo.Context) error {
	var req webhookRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	secret, err := s.partners.SetWebhook(c.Request().Context(), principal(c), c.Param("id"), req.URL)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"url": req.URL, "secret": secret})
}

// requirePartnerSide answers 503 when the server runs without a partner side.
func (s *Server) requirePartnerSide(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.partners == nil {
			return choso.Errorf(choso.EUnavailable, "this server has no bank partner side configured")
		}
		return next(c)
	}
}

type partnerCreateRequest struct {
	Name      string   `json:"name"`
	Provinces []string `json:"provinces"`
	MarketIDs []string `json:"market_ids"`
}

type webhookRequest struct {
	URL string `json:"url"` // empty turns webhooks off
}

// partnerKeyResponse shows a new key once: the secret is never shown again.
type partnerKeyResponse struct {
	PartnerID string `json:"partner_id"`
	KeyID     string `json:"key_id"`
	Secret    string `json:"secret"`
}

type partnerView struct {
	*choso.Partner
	Keys []*choso.PartnerKey `json:"keys"`
}

func (s *Server) handlePartnerList(c echo.Context) error {
	partners, keys, err := s.partners.ListPartners(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	out := make([]partnerView, 0, len(partners))
	for _, p := range partners {
		ks := keys[p.ID]
		if ks == nil {
			ks = []*choso.PartnerKey{}
		}
		out = append(out, partnerView{Partner: p, Keys: ks})
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}

func (s *Server) handlePartnerCreate(c echo.Context) error {
	var req partnerCreateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	p, key, secret, err := s.partners.AddPartner(c.Request().Context(), principal(c), choso.NewPartner(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, partnerKeyResponse{PartnerID: p.ID, KeyID: key.ID, Secret: secret})
}

func (s *Server) handlePartnerKeyCreate(c echo.Context) error {
	key, secret, err := s.partners.AddPartnerKey(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, partnerKeyResponse{PartnerID: key.PartnerID, KeyID: key.ID, Secret: secret})
}

func (s *Server) handlePartnerKeyRevoke(c echo.Context) error {
	key, err := s.partners.RevokePartnerKey(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, key)
}
