package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/choso/choso"
	"github.com/labstack/echo/v4"
)

// sessionCookie carries the session token for the web pages. HttpOnly, so
// scripts cannot read it; SameSite=Strict, so other sites cannot send it.
const sessionCookie = "choso_session"

const ctxPrincipal = "principal"

// principal returns the authenticated user of the request, or nil.
func principal(c echo.Context) *choso.Principal {
	p, _ := c.Get(ctxPrincipal).(*choso.Principal)
	return p
}

// sessionToken returns the request's session token and whether it came
// from the cookie.
func sessionToken(c echo.Context) (token string, fromCookie bool) {
	if h := c.Request().Header.Get(echo.HeaderAuthorization); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t), false
		}
		return "", false
	}
	if ck, err := c.Cookie(sessionCookie); err == nil {
		return ck.Value, true
	}
	return "", false
}

// requireSession authenticates the request's session and refuses it
// without one. A session carried by the cookie must come from this site for
// any request that changes something: the SameSite cookie and the JSON-only
// bodies already stop cross-site forms, and the Origin check is a third lock.
func (s *Server) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, fromCookie := sessionToken(c)
		if token == "" {
			return choso.Errorf(choso.EUnauthorized, "sign in first: send Authorization: Bearer TOKEN from POST /v1/auth/login")
		}
		if fromCookie && !safeMethod(c.Request().Method) && !sameOrigin(c.Request()) {
			return choso.Errorf(choso.EForbidden, "cross-site request refused")
		}
		p, _, err := s.registry.Authenticate(c.Request().Context(), token)
		if err != nil {
			return err
		}
		c.Set(ctxPrincipal, p)
		return next(c)
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin reports whether the request's Origin (or, failing that,
// Referer) names this host. A request with neither comes from a client that
// is not a browser, which cookies do not reach by accident.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = r.Header.Get("Referer")
	}
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token     string      `json:"token"`
	ExpiresAt time.Time   `json:"expires_at"`
	User      *choso.User `json:"user"`
}

// Login limits: a username gets 5 tries at once and one more a minute; an
// IP gets 20 and one more every 6 seconds (a market's volunteers may share
// one mobile carrier's address).
func newLoginGuards(now func() time.Time, shared choso.SharedGuards) (byUser, byIP *attemptGuard) {
	return newAttemptGuard("login-user", 5, time.Minute, now, shared), newAttemptGuard("login-ip", 20, 6*time.Second, now, shared)
}

// admitLogin applies the sign-in limits, by network and then by user, for
// the JSON API and the sign-in page alike.
func (s *Server) admitLogin(c echo.Context, username string) error {
	ctx := c.Request().Context()
	if ok, wait, err := s.loginByIP.allow(ctx, networkKey(c.RealIP())); err != nil {
		return err
	} else if !ok {
		return rateLimited(c, wait, "sign-in attempts from your network")
	}
	if !choso.CanBeUsername(username) {
		// No user has such a name, and it must not key a bucket: a
		// guesser would park up to a body's 64 KiB in memory per try, or
		// fail the shared store's index (or hand it a NUL it cannot hold).
		return choso.Errorf(choso.EUnauthorized, "wrong username or password")
	}
	if ok, wait, err := s.loginByUser.allow(ctx, username); err != nil {
		return err
	} else if !ok {
		return rateLimited(c, wait, "sign-in attempts for this user")
	}
	return nil
}

// loginSucceeded gives the user's attempts back. A failure to do so only
// leaves the user's budget spent, so it is logged, not returned.
func (s *Server) loginSucceeded(ctx context.Context, username string) {
	if err := s.loginByUser.reset(ctx, username); err != nil {
		s.log.Warn("sign-in limit not reset", "user", username, "err", err)
	}
}

func rateLimited(c echo.Context, wait time.Duration, what string) error {
	secs := int(wait.Seconds() + 0.999)
	c.Response().Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	return choso.Errorf(choso.ERateLimited, "too many %s; try again in %d seconds", what, max(secs, 1))
}

func (s *Server) handleLogin(c echo.Context) error {
	var req loginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	username := choso.NormalizeUsername(req.Username)
	if err := s.admitLogin(c, username); err != nil {
		return err
	}
	token, sess, u, err := s.registry.Login(c.Request().Context(), username, req.Password)
	if err != nil {
		return err
	}
	s.loginSucceeded(c.Request().Context(), username)
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.overTLS(c),
		SameSite: http.SameSiteStrictMode, MaxAge: int(choso.SessionAbsoluteTimeout.Seconds()),
	})
	return c.JSON(http.StatusOK, loginResponse{Token: token, ExpiresAt: sess.ExpiresAt(), User: apiUser(u)})
}

func (s *Server) handleLogout(c echo.Context) error {
	if token, fromCookie := sessionToken(c); token != "" {
		// The route has no requireSession (an ended session signs out
		// too), so it makes requireSession's cross-site check itself.
		if fromCookie && !sameOrigin(c.Request()) {
			return choso.Errorf(choso.EForbidden, "cross-site request refused")
		}
		if err := s.registry.Logout(c.Request().Context(), token); err != nil {
			return err
		}
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) handleMe(c echo.Context) error {
	p := principal(c)
	u, err := s.registry.FindUser(c.Request().Context(), p, p.UserID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiUser(u))
}

type passwordRequest struct {
	Current string `json:"current_password"`
	New     string `json:"new_password"`
}

func (s *Server) handleChangePassword(c echo.Context) error {
	var req passwordRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.New == "" {
		return choso.Errorf(choso.EInvalid, "new_password is required")
	}
	p := principal(c)
	if _, err := s.registry.SetPassword(c.Request().Context(), p, p.UserID, req.Current, req.New); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) registerAuthRoutes(e *echo.Echo) {
	e.POST("/v1/auth/login", s.handleLogin)
	e.POST("/v1/auth/logout", s.handleLogout)
	e.GET("/v1/auth/me", s.handleMe, s.requireSession)
	e.POST("/v1/auth/password", s.handleChangePassword, s.requireSession)
}
