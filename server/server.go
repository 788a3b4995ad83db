// Package server is Chợ Số's HTTP layer: the Echo router, its middleware,
// the handlers, and the http.Server that carries them. It is the only
// package that imports Echo; echo.Context never leaves it.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/auth"
	"github.com/choso/choso/internal/partnerauth"
	chosync "github.com/choso/choso/sync"
	"github.com/labstack/echo/v4"
)

// Config holds what the server needs. Zero durations take the defaults below.
type Config struct {
	Addr        string // listen address, host:port; port 0 picks a free port
	TLSCertFile string // PEM certificate; with TLSKeyFile the server speaks HTTPS
	TLSKeyFile  string

	// TrustedProxies are the networks whose X-Forwarded-For the server
	// believes. Empty: the client IP is the connection's peer address.
	TrustedProxies []*net.IPNet

	Store    choso.Store
	Registry *choso.Registry // the registry's rules over Store
	// PushLimits bound the sync write path; the zero value takes
	// DefaultPushLimits.
	PushLimits PushLimits
	// Partners is the bank partner's side; nil serves no partner routes.
	Partners *choso.Partners
	// CursorKey signs partner feed cursors (derived from the master key).
	CursorKey []byte
	// Started is when the process started: partner request timestamps
	// before it are refused when nonces live only in memory (a store of
	// one node; a shared store remembers them for every node).
	Started time.Time
	Metrics *Metrics     // nil: a fresh registry
	Logger  *slog.Logger // nil: slog.Default()
	Now     choso.Clock  // nil: time.Now
	Version string       // reported by /healthz

	ReadHeaderTimeout time.Duration // default 5s: slow-header clients are cut off
	ReadTimeout       time.Duration // default 30s
	WriteTimeout      time.Duration // default 60s
	IdleTimeout       time.Duration // default 120s
	MaxHeaderBytes    int           // default 16 KiB
}

// Server serves Chợ Số over HTTP.
type Server struct {
	cfg      Config
	log      *slog.Logger
	now      choso.Clock
	store    choso.Store
	metrics  *Metrics
	registry *choso.Registry

	loginByUser, loginByIP    *attemptGuard
	enrollByIP, enrollByStall *attemptGuard
	pushGate                  *pushGate
	pusher                    *chosync.Pusher
	partners                  *choso.Partners
	partnerVerifier           *partnerauth.Verifier
	partnerLimiter            *auth.Limiter
	exports                   exportSlots
	cursorKey                 []byte
	echo                      *echo.Echo
	docsHTML                  []byte
	pageRoutes                map[string]bool // "METHOD /path" of the web pages
	http                      *http.Server
	ln                        net.Listener
	serving                   sync.WaitGroup
	serveMu                   sync.Mutex
	serveErr                  error

	connMu sync.Mutex
	fresh  map[net.Conn]struct{} // accepted connections that have not sent a request yet
}

// New builds the server and its routes. It does not listen yet: see Open.
func New(cfg Config) *Server {
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = 5 * time.Second
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 60 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 120 * time.Second
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = 16 << 10
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		now:      cfg.Now,
		store:    cfg.Store,
		metrics:  cfg.Metrics,
		registry: cfg.Registry,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	shared := sharedGuards(s.store)
	s.loginByUser, s.loginByIP = newLoginGuards(s.now, shared)
	s.enrollByIP, s.enrollByStall = newEnrollGuards(s.now, shared)
	if cfg.PushLimits == (PushLimits{}) {
		cfg.PushLimits = DefaultPushLimits
	}
	s.pushGate = newPushGate(cfg.PushLimits, s.now)
	s.pusher = &chosync.Pusher{}
	s.partners, s.cursorKey = cfg.Partners, cfg.CursorKey
	if len(s.cursorKey) == 0 {
		s.cursorKey = []byte(choso.NewToken()) // cursors then last as long as the process
	}
	started := cfg.Started
	if started.IsZero() {
		started = s.now()
	}
	s.partnerVerifier = &partnerauth.Verifier{Now: s.now, Started: started, Lookup: s.lookupPartnerKey}
	if shared != nil {
		s.partnerVerifier.Remember = shared.RememberNonce
	}
	s.partnerLimiter = newPartnerLimiter(s.now)
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	if s.store != nil {
		s.metrics.watchStore(s.store)
	}
	docs, err := renderDocs()
	if err != nil {
		// The document is embedded at build time; a test renders it.
		panic("server: embedded OpenAPI document does not render: " + err.Error())
	}
	s.docsHTML = docs
	s.echo = s.newEcho()
	s.http = &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ConnState:         s.trackConn,
	}
	s.fresh = map[net.Conn]struct{}{}
	return s
}

func (s *Server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Debug = false
	e.HTTPErrorHandler = s.handleError
	e.JSONSerializer = strictJSON{}
	if len(s.cfg.TrustedProxies) == 0 {
		e.IPExtractor = echo.ExtractIPDirect()
	} else {
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range s.cfg.TrustedProxies {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	}
	e.Use(
		s.requestID,
		s.observe,
		s.recoverPanic,
		s.securityHeaders(),
		limitBody(defaultBodyLimit),
	)
	s.registerRoutes(e)
	return e
}

// registerRoutes is the one place that lists every resource's routes.
// Everything under /v1 but signing in needs a session: default deny.
func (s *Server) registerRoutes(e *echo.Echo) {
	s.registerOpsRoutes(e)
	s.registerAssetRoutes(e)
	s.registerAuthRoutes(e)
	// Route middleware, not group middleware: Echo gives a group with
	// middleware catch-all routes, which would answer 401 for unknown paths.
	v1 := routeGroup{g: e.Group("/v1"), mw: []echo.MiddlewareFunc{s.requireSession}}
	s.registerRegionRoutes(v1)
	s.registerMarketRoutes(v1)
	s.registerStallRoutes(v1)
	s.registerQRRoutes(v1)
	s.registerCardRoutes(v1)
	s.registerDeviceRoutes(e, v1)
	s.registerSyncRoutes(e)
	s.registerPartnerRoutes(e)
	s.registerPartnerAdminRoutes(v1)
	s.registerUserRoutes(v1)
	s.registerAuditRoutes(v1)
	s.registerAdminRoutes(v1)
	s.registerReportRoutes(e, v1)
	s.registerWebRoutes(e)
}

// Handler returns the server's HTTP handler, for tests that drive it
// without a listener.
func (s *Server) Handler() http.Handler { return s.echo }

// Open listens on the configured address and serves in the background. It
// returns once the socket is bound, so a busy port fails here.
func (s *Server) Open() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	if s.cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		s.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, s.http.TLSConfig)
	}
	s.ln = ln
	s.serving.Go(func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.serveMu.Lock()
			s.serveErr = err
			s.serveMu.Unlock()
			s.log.Error("http server stopped", "err", err)
		}
	})
	return nil
}

// Addr returns the address the server listens on, with the real port when
// the configured one was 0.
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.cfg.Addr
	}
	return s.ln.Addr().String()
}

// Port returns the port the server listens on.
func (s *Server) Port() int {
	if s.ln == nil {
		return 0
	}
	return s.ln.Addr().(*net.TCPAddr).Port
}

// trackConn keeps the set of connections that have not sent a request.
func (s *Server) trackConn(c net.Conn, state http.ConnState) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if state == http.StateNew {
		s.fresh[c] = struct{}{}
	} else {
		delete(s.fresh, c)
	}
}

func (s *Server) closeFreshConns() {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for c := range s.fresh {
		c.Close()
		delete(s.fresh, c)
	}
}

// Close stops accepting connections, closes idle and never-used ones, and waits for
// requests in flight until ctx is done; then it closes what remains. It does
// not close the store: the caller owns it and closes it after Close returns.
func (s *Server) Close(ctx context.Context) error {
	// http.Server.Shutdown treats a connection that never sent a request as
	// busy for its first 5 seconds; at market close thousands of phones may
	// hold such connections, so close them as soon as the listener is shut.
	done := make(chan error, 1)
	go func() { done <- s.http.Shutdown(ctx) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for {
		s.closeFreshConns()
		select {
		case err = <-done:
			break wait
		case <-tick.C:
		}
	}
	if err != nil {
		// Out of time: cut the remaining connections rather than hang.
		s.http.Close()
	}
	s.serving.Wait()
	s.serveMu.Lock()
	defer s.serveMu.Unlock()
	return errors.Join(err, s.serveErr)
}

// routeGroup registers routes under a prefix with middleware of their own.
type routeGroup struct {
	g  *echo.Group
	mw []echo.MiddlewareFunc
}

func (r routeGroup) add(method, path string, h echo.HandlerFunc, m []echo.MiddlewareFunc) {
	r.g.Add(method, path, h, append(append([]echo.MiddlewareFunc(nil), r.mw...), m...)...)
}

func (r routeGroup) GET(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	r.add(http.MethodGet, path, h, m)
}

func (r routeGroup) POST(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	r.add(http.MethodPost, path, h, m)
}

func (r routeGroup) PATCH(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	r.add(http.MethodPatch, path, h, m)
}

func (r routeGroup) PUT(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	r.add(http.MethodPut, path, h, m)
}

// lookupPartnerKey finds a live partner key's secret for the verifier.
func (s *Server) lookupPartnerKey(ctx context.Context, keyID string) ([]byte, string, error) {
	if s.partners == nil {
		return nil, "", choso.Errorf(choso.ENotFound, "unknown key")
	}
	secret, p, err := s.partners.LookupKey(ctx, keyID)
	if err != nil {
		return nil, "", err
	}
	return secret, p.ID, nil
}
