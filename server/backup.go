package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

func (s *Server) registerAdminRoutes(g routeGroup) {
	g.GET("/admin/backup", s.handleBackup)
	g.POST("/admin/vendors/export", s.handleVendorExport)
	g.POST("/admin/stalls/:id/erase", s.handleVendorErase)
}

// backupWriteTimeout replaces the server's write timeout for a backup, which
// streams the whole store.
const backupWriteTimeout = 2 * time.Hour

// handleBackup streams a hot backup of the store: a consistent bbolt file
// written from one read transaction while the server goes on writing.
func (s *Server) handleBackup(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	if err := s.registry.RecordBackup(ctx, p); err != nil {
		return err
	}
	rc := http.NewResponseController(c.Response().Writer)
	rc.SetWriteDeadline(time.Now().Add(backupWriteTimeout))
	name := fmt.Sprintf("choso-%s.db", s.now().UTC().Format("20060102-150405"))
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/octet-stream")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Response().WriteHeader(http.StatusOK)
	if _, err := s.store.Backup(ctx, c.Response()); err != nil {
		// The status is sent; the client sees a short body. Log it loudly.
		s.log.Error("backup stream failed", "request_id", c.Get(ctxRequestID), "err", err)
		return nil
	}
	return nil
}

type vendorExportRequest struct {
	Phone string `json:"phone"`
}

func (s *Server) handleVendorExport(c echo.Context) error {
	var req vendorExportRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	exp, err := s.registry.ExportVendor(c.Request().Context(), principal(c), req.Phone)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, exp)
}

func (s *Server) handleVendorErase(c echo.Context) error {
	st, err := s.registry.EraseVendor(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}
