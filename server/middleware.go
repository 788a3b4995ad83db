package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/choso/choso"
	"github.com/labstack/echo/v4"
)

// requestID gives every request an ID, echoed in the X-Request-ID response
// header and in every log line about it. A caller's own ID is kept when it
// is short and plain, so a phone or a bank can quote it; anything else is
// replaced, so a header cannot smuggle text into the logs.
func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !plainID(id) {
			var b [12]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(ctxRequestID, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

func plainID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

const ctxRequestID = "request_id"

// observe logs one structured line per request and records its metrics. It
// hands a handler's error to the error handler itself, so the status it logs
// is the one the client got. It never logs bodies, query strings or headers
// that may carry credentials.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		req, res := c.Request(), c.Response()
		route := c.Path()
		if route == "" {
			route = "unmatched" // unknown paths must not grow the metric's label set
		}
		elapsed := time.Since(start)
		s.metrics.observeRequest(req.Method, route, res.Status, elapsed)
		attrs := []any{
			"request_id", c.Get(ctxRequestID),
			"method", req.Method,
			"route", route,
			"path", req.URL.Path,
			"status", res.Status,
			"duration_ms", float64(elapsed.Microseconds()) / 1000,
			"bytes_in", req.ContentLength,
			"bytes_out", res.Size,
			"remote_ip", c.RealIP(),
		}
		if err != nil && res.Status >= 500 {
			attrs = append(attrs, "err", err.Error())
			s.log.Error("request", attrs...)
		} else {
			s.log.Info("request", attrs...)
		}
		return nil
	}
}

// recoverPanic turns a handler's panic into an internal error: the stack is
// logged, the client sees only a 500 with the request ID.
func (s *Server) recoverPanic(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if r == http.ErrAbortHandler {
				panic(r)
			}
			stack := make([]byte, 8<<10)
			stack = stack[:runtime.Stack(stack, false)]
			s.log.Error("panic in handler", "request_id", c.Get(ctxRequestID), "panic", fmt.Sprint(r), "stack", string(stack))
			err = choso.WrapError(choso.EInternal, "", fmt.Errorf("panic: %v", r))
		}()
		return next(c)
	}
}

// securityHeaders sets the headers every response carries. API responses
// are never cached; pages that may be cached set their own Cache-Control.
func (s *Server) securityHeaders() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "same-origin") // nothing to other sites; forms keep their Origin
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			h.Set("Cross-Origin-Resource-Policy", "same-origin")
			h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
			h.Set("Cache-Control", "no-store")
			if s.overTLS(c) {
				h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
			}
			return next(c)
		}
	}
}

// overTLS reports whether the browser reached the server over HTTPS: by
// the server's own TLS, or through a proxy of TrustedProxies that says so
// in X-Forwarded-Proto (deploy/nginx.conf does). Session cookies are then
// Secure and responses carry HSTS. A client that only claims HTTPS from
// elsewhere is not believed; were it, the Secure cookie it got would never
// come back over plain HTTP, and browsers ignore HSTS sent over it.
func (s *Server) overTLS(c echo.Context) bool {
	r := c.Request()
	if s.cfg.TLSCertFile != "" || r.TLS != nil {
		return true
	}
	if r.Header.Get("X-Forwarded-Proto") != "https" {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	for _, n := range s.cfg.TrustedProxies {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// Body limits (DESIGN.md §9). Every route gets defaultBodyLimit unless it
// raises or lowers its own with bodyLimit.
const (
	defaultBodyLimit = 64 << 10
	PushBodyLimit    = 512 << 10 // sync push, on the wire
	ImportBodyLimit  = 8 << 20   // CSV imports
)

// limitedBody caps how much of a request body can be read. Its limit can be
// changed until the first read, so a route can set its own.
type limitedBody struct {
	rc     io.ReadCloser
	length int64 // Content-Length, -1 when unknown
	limit  int64
	read   int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.length > b.limit || b.read > b.limit {
		return 0, tooLarge(b.limit)
	}
	if max := b.limit - b.read + 1; int64(len(p)) > max {
		p = p[:max]
	}
	n, err := b.rc.Read(p)
	b.read += int64(n)
	if b.read > b.limit {
		return n - int(b.read-b.limit), tooLarge(b.limit)
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

func tooLarge(limit int64) error {
	return choso.Errorf(choso.ETooLarge, "request body is larger than the limit of %s", byteSize(limit))
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// limitBody wraps every request body in a limitedBody with the default limit.
// A body whose declared length is over the limit fails on its first read,
// before a byte of it is taken in.
func limitBody(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.Body != nil && req.Body != http.NoBody {
				req.Body = &limitedBody{rc: req.Body, length: req.ContentLength, limit: limit}
			}
			return next(c)
		}
	}
}

// bodyLimit sets a route's own body limit; it must run after limitBody (a
// route or group middleware) and before anything that reads the body, such
// as a page's CSRF check or a partner's signature: put it first in a group.
func bodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if b, ok := c.Request().Body.(*limitedBody); ok {
				b.limit = limit
			}
			return next(c)
		}
	}
}
