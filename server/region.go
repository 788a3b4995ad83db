package server

import (
	"net/http"

	"github.com/choso/choso"
	"github.com/labstack/echo/v4"
)

func (s *Server) registerRegionRoutes(g routeGroup) {
	g.GET("/regions", s.handleRegionList)
	g.POST("/regions", s.handleRegionCreate)
}

type regionRequest struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	ParentCode string `json:"parent_code"`
}

// handleRegionList lists the provinces, or with ?parent=CODE a province's
// communes.
func (s *Server) handleRegionList(c echo.Context) error {
	regions, err := s.registry.ListRegions(c.Request().Context(), principal(c), c.QueryParam("parent"))
	if err != nil {
		return err
	}
	if regions == nil {
		regions = []*choso.Region{}
	}
	return c.JSON(http.StatusOK, map[string]any{"data": regions})
}

func (s *Server) handleRegionCreate(c echo.Context) error {
	var req regionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	r := &choso.Region{Code: req.Code, Name: req.Name, ParentCode: req.ParentCode}
	created, _, err := s.registry.PutRegions(c.Request().Context(), principal(c), []*choso.Region{r})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created > 0 {
		status = http.StatusCreated
	}
	return c.JSON(status, r)
}
