package server

import (
	"context"
	"net/http"
	"time"

	"github.com/choso/choso"
	"github.com/labstack/echo/v4"
)

// registerOpsRoutes registers the operator's routes: probes, metrics and the
// API's own description.
func (s *Server) registerOpsRoutes(e *echo.Echo) {
	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)
	e.GET("/metrics", echo.WrapHandler(s.metrics.handler()))
	e.GET("/openapi.json", s.handleOpenAPI)
	e.GET("/docs", s.handleDocs)
	e.GET("/docs/docs.css", s.handleDocsCSS)
}

type healthResponse struct {
	Status  string `json:"status"`
	Version string `json:"version,omitempty"`
}

// handleHealthz answers while the process runs; it touches nothing else, so
// a slow store never makes the orchestrator kill a healthy process.
func (s *Server) handleHealthz(c echo.Context) error {
	return c.JSON(http.StatusOK, healthResponse{Status: "ok", Version: s.cfg.Version})
}

// readyProbeTimeout bounds how long /readyz waits for the store.
const readyProbeTimeout = 2 * time.Second

// handleReadyz answers 200 when the store is open and takes a write: it
// commits a small record, so a full disk, a read-only file or a stuck writer
// all show here.
func (s *Server) handleReadyz(c echo.Context) error {
	if s.store == nil {
		return choso.Errorf(choso.EUnavailable, "no store configured")
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyProbeTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- s.store.Update(ctx, func(tx choso.Tx) error {
			return tx.SetMeta("ready_probe", []byte(s.now().UTC().Format(time.RFC3339Nano)))
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			return choso.WrapError(choso.EUnavailable, "store is not writable: "+choso.ErrorMessage(err), err)
		}
	case <-ctx.Done():
		return choso.Errorf(choso.EUnavailable, "store did not take a write within %s", readyProbeTimeout)
	}
	return c.JSON(http.StatusOK, healthResponse{Status: "ready", Version: s.cfg.Version})
}
