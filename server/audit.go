package server

import (
	"net/http"
	"strconv"

	"github.com/choso/choso"
	"github.com/labstack/echo/v4"
)

func (s *Server) registerAuditRoutes(g routeGroup) {
	g.GET("/admin/audit", s.handleAuditList)
}

// handleAuditList pages through the audit log, newest first, optionally for
// one object (?object_id=) or one user (?actor_id=).
func (s *Server) handleAuditList(c echo.Context) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	var before uint64
	if v := c.QueryParam("cursor"); v != "" {
		if before, err = strconv.ParseUint(v, 10, 64); err != nil {
			return choso.Errorf(choso.EInvalid, "cursor is not one this server gave")
		}
	}
	page, err := s.registry.ListAudit(c.Request().Context(), principal(c), choso.AuditFilter{
		ObjectID: c.QueryParam("object_id"), ActorID: c.QueryParam("actor_id"), Before: before, Limit: limit,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}
