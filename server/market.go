package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/choso/choso"
	"github.com/labstack/echo/v4"
)

func (s *Server) registerMarketRoutes(g routeGroup) {
	g.GET("/markets", s.handleMarketList)
	g.POST("/markets", s.handleMarketCreate)
	g.GET("/markets/:id", s.handleMarketView)
	g.PATCH("/markets/:id", s.handleMarketUpdate)
}

type marketCreateRequest struct {
	Name        string `json:"name"`
	CommuneCode string `json:"commune_code"`
	Address     string `json:"address"`
	TimeZone    string `json:"time_zone"`
}

type marketUpdateRequest struct {
	Name     *string `json:"name"`
	Address  *string `json:"address"`
	TimeZone *string `json:"time_zone"`
}

func (s *Server) handleMarketCreate(c echo.Context) error {
	var req marketCreateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	m, err := s.registry.CreateMarket(c.Request().Context(), principal(c), choso.NewMarket(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, m)
}

func (s *Server) handleMarketView(c echo.Context) error {
	m, err := s.registry.FindMarket(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}

func (s *Server) handleMarketUpdate(c echo.Context) error {
	var req marketUpdateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	m, err := s.registry.UpdateMarket(c.Request().Context(), principal(c), c.Param("id"), choso.MarketPatch(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}

func (s *Server) handleMarketList(c echo.Context) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	page, err := s.registry.ListMarkets(c.Request().Context(), principal(c), choso.MarketFilter{
		Communes:  queryList(c, "commune"),
		Provinces: queryList(c, "province"),
		Query:     c.QueryParam("q"),
		After:     c.QueryParam("cursor"),
		Limit:     limit,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// queryLimit reads ?limit=, 1–MaxPageSize; absent means the default.
func queryLimit(c echo.Context) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > choso.MaxPageSize {
		return 0, choso.Errorf(choso.EInvalid, "limit must be 1–%d", choso.MaxPageSize)
	}
	return n, nil
}

// queryList reads a parameter given once with commas or repeated.
func queryList(c echo.Context, name string) []string {
	var out []string
	for _, v := range c.QueryParams()[name] {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}
