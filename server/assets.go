package server

import (
	"embed"
	"mime"
	"net/http"
	"path"

	"github.com/choso/choso"
	"github.com/labstack/echo/v4"
)

// assetFS holds the style sheets and scripts pages load. They are served by
// name from this one flat folder, never from the file system, so no path
// can climb out of it.
//
//go:embed assets
var assetFS embed.FS

func (s *Server) registerAssetRoutes(e *echo.Echo) {
	e.GET("/assets/:name", s.handleAsset)
}

func (s *Server) handleAsset(c echo.Context) error {
	name := c.Param("name")
	if name != path.Base(name) || name == "." || name == ".." {
		return choso.Errorf(choso.ENotFound, "no such asset")
	}
	b, err := assetFS.ReadFile("assets/" + name)
	if err != nil {
		return choso.Errorf(choso.ENotFound, "no such asset")
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return sendMaybeGzip(c, http.StatusOK, ct, b)
}
