package server

import (
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/web"
	"github.com/choso/choso/qr"
	"github.com/labstack/echo/v4"
)

// The web pages for volunteers and officials: server-rendered HTML in
// Vietnamese first, a little progressive JavaScript (assets/app.js), every
// asset served by this binary. Pages use the session cookie; every form
// carries a CSRF token bound to the session.

//go:embed templates/web/*.html
var webFS embed.FS

const (
	langCookie      = "choso_lang"
	loginCSRFCookie = "choso_login_csrf"
	csrfField       = "_csrf"
)

// pageData is what every page template gets.
type pageData struct {
	Lang  web.Lang
	Title string
	User  *choso.Principal
	CSRF  string
	Path  string // the page's own path and query, for the language switch
	Nav   string // which menu entry is current
	Flash string // a one-line success message
	Error string // a one-line problem with what was sent
	Field string // the ids of the form controls Error is about, space-separated (web.ErrorField)
	Data  any
}

// T translates a text of the page.
func (p *pageData) T(text string, args ...any) string { return web.T(p.Lang, text, args...) }

// Invalid writes the attributes of the form control with id field: when
// the page's Error is about it, aria-invalid and the alert's message as
// its description, so a screen reader reads the problem with the control
// and the style sheet marks it; then the ids that always describe it
// (describedBy, such as the live account check's status). The first
// control the Error is about takes the focus when the page opens: a
// volunteer on a long form lands on the field to fix, its message read
// with it, where the focus used to start at the page's top.
func (p *pageData) Invalid(field string, describedBy ...string) template.HTMLAttr {
	var b strings.Builder
	ids := describedBy
	fields := strings.Fields(p.Field)
	if p.Error != "" && slices.Contains(fields, field) {
		b.WriteString(` aria-invalid="true"`)
		if fields[0] == field {
			b.WriteString(` autofocus`)
		}
		ids = append([]string{"form-error"}, describedBy...)
	}
	if len(ids) > 0 {
		b.WriteString(` aria-describedby="` + template.HTMLEscapeString(strings.Join(ids, " ")) + `"`)
	}
	return template.HTMLAttr(b.String())
}

// dayText writes a business date (YYYY-MM-DD) as Vietnam reads dates,
// dd/mm/yyyy; anything else as it is.
func dayText(date string) string {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return d.Format("02/01/2006")
}

var webFuncs = template.FuncMap{
	"reason":    reasonText,
	"banklabel": bankLabel,
	"money":     web.Money,
	"number":    web.Number,
	"count":     func(n int) string { return web.Number(int64(n)) },
	"percent":   web.Percent,
	"mask":      choso.MaskAccount,
	"phone":     choso.MaskPhone,
	"bank": func(bin string) string {
		if b, ok := qr.BankByBIN(bin); ok {
			return b.ShortName
		}
		return bin
	},
	"rfc3339": func(t time.Time) string { return t.Format(time.RFC3339Nano) }, // a time as a form sends it back
	"day":     dayText,
	"errtext": web.ErrorText, // a registry error in the page's language
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(vietnam).Format("02/01/2006 15:04")
	},
	"method": func(m string) string {
		switch m {
		case choso.MethodCash:
			return "Tiền mặt"
		case choso.MethodQR:
			return "QR"
		case choso.MethodTransfer:
			return "Chuyển khoản"
		}
		return m
	},
}

// parseWebPages parses the layout with each page, by the page's file name.
func parseWebPages() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(webFuncs).ParseFS(webFS, "templates/web/layout.html", "templates/web/partials.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(webFS, "templates/web/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := path.Base(f)
		if name == "layout.html" || name == "partials.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(webFS, f)
		if err != nil {
			return nil, err
		}
		pages[strings.TrimSuffix(name, ".html")] = t
	}
	return pages, nil
}

var webPages = func() map[string]*template.Template {
	p, err := parseWebPages()
	if err != nil {
		panic("server: web templates do not parse: " + err.Error())
	}
	return p
}()

// registerWebRoutes adds the pages. They are HTML, not API: /openapi.json
// leaves them out, and s.pageRoutes names them for the tests that check it.
func (s *Server) registerWebRoutes(e *echo.Echo) {
	before := map[string]bool{}
	for _, r := range e.Routes() {
		before[r.Method+" "+r.Path] = true
	}
	defer func() {
		s.pageRoutes = map[string]bool{}
		for _, r := range e.Routes() {
			if !before[r.Method+" "+r.Path] {
				s.pageRoutes[r.Method+" "+r.Path] = true
			}
		}
	}()
	e.GET("/", s.handleHome)
	e.GET("/login", s.handleLoginPage)
	e.POST("/login", s.handleLoginForm)
	e.GET("/lang/:code", s.handleLang)
	pages := routeGroup{g: e.Group(""), mw: []echo.MiddlewareFunc{s.requirePageSession}}
	pages.POST("/logout", s.page(s.handleLogoutForm))
	pages.GET("/dashboard", s.page(s.handleDashboard))
	pages.GET("/markets", s.page(s.handleMarketsPage))
	pages.GET("/markets/new", s.page(s.handleMarketNewPage))
	pages.POST("/markets/new", s.page(s.handleMarketNewForm))
	pages.GET("/markets/:id", s.page(s.handleMarketPage))
	pages.GET("/markets/:id/edit", s.page(s.handleMarketEditPage))
	pages.POST("/markets/:id/edit", s.page(s.handleMarketEditForm))
	pages.GET("/markets/:id/stalls/new", s.page(s.handleStallNewPage))
	pages.POST("/markets/:id/stalls/new", s.page(s.handleStallNewForm))
	pages.GET("/markets/:id/import", s.page(s.handleImportPage))
	// The import form carries a file: its own body limit must be set before
	// the session check reads the form for its CSRF token.
	importForm := routeGroup{g: pages.g, mw: []echo.MiddlewareFunc{bodyLimit(2*ImportBodyLimit + 64<<10), s.requirePageSession}}
	importForm.POST("/markets/:id/import", s.page(s.handleImportForm))
	pages.GET("/stalls/:id", s.page(s.handleStallPage))
	pages.GET("/stalls/:id/edit", s.page(s.handleStallEditPage))
	pages.POST("/stalls/:id/edit", s.page(s.handleStallEditForm))
	pages.POST("/stalls/:id/payout", s.page(s.handlePayoutForm))
	pages.POST("/stalls/:id/enroll", s.page(s.handleEnrollForm))
	pages.GET("/stalls/:id/statement", s.page(s.handleStatementPage))
	pages.POST("/devices/:id/revoke", s.page(s.handleRevokeForm))
	pages.GET("/reconciliation", s.page(s.handleReconciliationPage))
	pages.GET("/web/payout-check", s.handlePayoutCheck)
}

// lang is the page language the browser chose, Vietnamese by default.
func lang(c echo.Context) web.Lang {
	if ck, err := c.Cookie(langCookie); err == nil {
		return web.ParseLang(ck.Value)
	}
	return web.Vietnamese
}

// newPage starts a page's data for the signed-in user.
func (s *Server) newPage(c echo.Context, title, nav string) *pageData {
	p := &pageData{Lang: lang(c), User: principal(c), Path: pagePath(c), Nav: nav}
	p.Title = p.T(title)
	if tok, _ := sessionToken(c); tok != "" {
		p.CSRF = s.csrfToken(tok)
	}
	p.Flash = p.T(c.QueryParam("saved"))
	if p.Flash != "" && !web.HasEnglish(c.QueryParam("saved")) {
		p.Flash = "" // only messages of the catalog, so a link cannot put words on a page
	}
	return p
}

// pagePath is where the language switch leads back to: the page's own path
// and query, or, for the answer to a form (an enrollment code, a refused
// change, the sign-in page after a session ended), the page the form was
// on. The form's own address takes POST only: as a GET it is a 405.
func pagePath(c echo.Context) string {
	r := c.Request()
	if safeMethod(r.Method) {
		return r.URL.RequestURI()
	}
	if ref, err := url.Parse(r.Referer()); err == nil && r.Referer() != "" && (ref.Host == "" || ref.Host == r.Host) {
		return localPath(ref.RequestURI(), "/")
	}
	return "/"
}

// render writes a page.
func (s *Server) render(c echo.Context, status int, name string, p *pageData) error {
	t, ok := webPages[name]
	if !ok {
		return choso.Errorf(choso.EInternal, "no page %s", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Language", string(p.Lang))
	return sendMaybeGzip(c, status, echo.MIMETextHTMLCharsetUTF8, buf.Bytes())
}

// sendMaybeGzip answers with body, gzipped when the client takes gzip and
// the body is worth it: pages go to phones on 3G, and a 10 KB stall form
// travels as 3 KB.
func sendMaybeGzip(c echo.Context, status int, contentType string, body []byte) error {
	h := c.Response().Header()
	h.Add("Vary", "Accept-Encoding")
	if len(body) < 1024 || !acceptsGzip(c.Request()) {
		return c.Blob(status, contentType, body)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	zw.Write(body)
	if err := zw.Close(); err != nil {
		return err
	}
	h.Set("Content-Encoding", "gzip")
	return c.Blob(status, contentType, buf.Bytes())
}

// acceptsGzip reports whether the request's Accept-Encoding takes gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0"
		}
	}
	return false
}

// page turns a page handler's error into an error page: 404 for what is
// missing or outside the scope, 403, 400 with the message, 500 otherwise.
func (s *Server) page(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := h(c)
		if err == nil || c.Response().Committed {
			return err
		}
		code, message := classify(err, c)
		status, ok := statusOf[code]
		if !ok {
			status = http.StatusBadRequest
		}
		title := "Có lỗi"
		switch status {
		case http.StatusNotFound:
			title, message = "Không tìm thấy", "Trang này không có hoặc bạn không có quyền xem."
		case http.StatusForbidden:
			title = "Không được phép"
		}
		if status >= 500 {
			s.log.Error("page failed", "path", c.Path(), "err", err)
			message = "An internal error occurred."
		}
		p := s.newPage(c, title, "")
		p.Error = web.ErrorText(p.Lang, p.T(message)) // the registry's English, in the page's language where the catalog knows it
		return s.render(c, status, "error", p)
	}
}

// requirePageSession lets signed-in users through and sends others to the
// sign-in page. Forms must carry the session's CSRF token and come from
// this site.
func (s *Server) requirePageSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, _ := sessionToken(c)
		var p *choso.Principal
		if token != "" {
			var err error
			if p, _, err = s.registry.Authenticate(c.Request().Context(), token); err != nil && choso.ErrorCode(err) != choso.EUnauthorized {
				return err
			}
		}
		if p == nil {
			if c.Request().Method != http.MethodGet {
				// A form sent after the session ended (it expired, or the
				// user signed out in another tab): the sign-in page, which
				// leads back to the form's page, not an API error.
				next := "/"
				if ref, err := url.Parse(c.Request().Referer()); err == nil && (ref.Host == "" || ref.Host == c.Request().Host) {
					next = localPath(ref.RequestURI(), "/")
				}
				return s.loginPageNext(c, http.StatusUnauthorized, "", "Phiên đăng nhập đã hết; hãy đăng nhập lại rồi gửi lại biểu mẫu.", next)
			}
			return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		}
		c.Set(ctxPrincipal, p)
		if !safeMethod(c.Request().Method) {
			// Read the form before looking for its token: a form over the
			// route's body limit is a 413 that says so, not a form that
			// "expired" and is sent again and again.
			if _, err := c.FormParams(); err != nil {
				return s.page(func(echo.Context) error { return bodyError(err, "could not read the form") })(c)
			}
			if !sameOrigin(c.Request()) || !hmac.Equal([]byte(c.Request().PostFormValue(csrfField)), []byte(s.csrfToken(token))) {
				pd := s.newPage(c, "Có lỗi", "")
				pd.Error = pd.T("Biểu mẫu đã hết hạn; hãy thử lại.")
				return s.render(c, http.StatusForbidden, "error", pd)
			}
		}
		return next(c)
	}
}

// csrfToken binds a form to a session: an HMAC of the session token, so a
// page of another site can neither read nor forge it.
func (s *Server) csrfToken(session string) string {
	m := hmac.New(sha256.New, s.cursorKey)
	m.Write([]byte("choso csrf v1\x00" + session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:24])
}

// localPath returns next when it is a path on this site, else fallback:
// a sign-in link cannot send the user elsewhere.
func localPath(next, fallback string) string {
	// A path on this site only: a browser drops tabs and newlines from a
	// URL and reads a backslash as a slash, so "/\t/evil.example" is
	// "//evil.example", another site. None of them belongs in our paths.
	bad := strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' })
	if strings.HasPrefix(next, "/") && !strings.HasPrefix(next, "//") && !bad {
		return next
	}
	return fallback
}

func (s *Server) handleHome(c echo.Context) error {
	if tok, _ := sessionToken(c); tok != "" {
		if p, _, err := s.registry.Authenticate(c.Request().Context(), tok); err == nil && p != nil {
			return c.Redirect(http.StatusSeeOther, "/dashboard")
		}
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}

func (s *Server) handleLang(c echo.Context) error {
	l := web.ParseLang(c.Param("code"))
	c.SetCookie(&http.Cookie{Name: langCookie, Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, HttpOnly: true})
	return c.Redirect(http.StatusSeeOther, localPath(c.QueryParam("next"), "/"))
}

type loginView struct {
	Next     string
	Username string
	Token    string // the login form's CSRF token, also in a cookie
}

func (s *Server) loginPage(c echo.Context, status int, username, problem string) error {
	next := localPath(c.QueryParam("next"), "")
	if next == "" {
		next = localPath(c.FormValue("next"), "")
	}
	return s.loginPageNext(c, status, username, problem, next)
}

// loginPageNext is the sign-in page leading to next after signing in.
func (s *Server) loginPageNext(c echo.Context, status int, username, problem, next string) error {
	tok := make([]byte, 18)
	rand.Read(tok)
	v := loginView{Next: next, Username: username, Token: base64.RawURLEncoding.EncodeToString(tok)}
	c.SetCookie(&http.Cookie{Name: loginCSRFCookie, Value: v.Token, Path: "/login", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.overTLS(c)})
	p := &pageData{Lang: lang(c), Path: pagePath(c), Data: v}
	p.Title = p.T("Đăng nhập")
	if problem != "" {
		p.Error = p.T(problem)
	}
	return s.render(c, status, "login", p)
}

func (s *Server) handleLoginPage(c echo.Context) error { return s.loginPage(c, http.StatusOK, "", "") }

func (s *Server) handleLoginForm(c echo.Context) error {
	if _, err := c.FormParams(); err != nil {
		// Over the body limit: say so, rather than fail the CSRF check.
		err = bodyError(err, "could not read the form")
		return s.loginPage(c, statusOf[choso.ErrorCode(err)], "", choso.ErrorMessage(err))
	}
	username := choso.NormalizeUsername(c.FormValue("username"))
	ck, err := c.Cookie(loginCSRFCookie)
	if err != nil || ck.Value == "" || !hmac.Equal([]byte(ck.Value), []byte(c.Request().PostFormValue(csrfField))) || !sameOrigin(c.Request()) {
		return s.loginPage(c, http.StatusForbidden, username, "Biểu mẫu đã hết hạn; hãy thử lại.")
	}
	if err := s.admitLogin(c, username); err != nil {
		switch choso.ErrorCode(err) {
		case choso.ERateLimited:
			return s.loginPage(c, http.StatusTooManyRequests, username, err.Error())
		case choso.EUnauthorized: // a name no user can have: not shown again
			return s.loginPage(c, http.StatusUnauthorized, "", "Sai tên đăng nhập hoặc mật khẩu.")
		}
		return err
	}
	token, _, _, err := s.registry.Login(c.Request().Context(), username, c.FormValue("password"))
	if err != nil {
		if choso.ErrorCode(err) == choso.EUnauthorized {
			return s.loginPage(c, http.StatusUnauthorized, username, "Sai tên đăng nhập hoặc mật khẩu.")
		}
		return err
	}
	s.loginSucceeded(c.Request().Context(), username)
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.overTLS(c),
		SameSite: http.SameSiteStrictMode, MaxAge: int(choso.SessionAbsoluteTimeout.Seconds()),
	})
	c.SetCookie(&http.Cookie{Name: loginCSRFCookie, Value: "", Path: "/login", MaxAge: -1})
	return c.Redirect(http.StatusSeeOther, localPath(c.FormValue("next"), "/dashboard"))
}

func (s *Server) handleLogoutForm(c echo.Context) error {
	if token, _ := sessionToken(c); token != "" {
		if err := s.registry.Logout(c.Request().Context(), token); err != nil {
			return err
		}
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	return c.Redirect(http.StatusSeeOther, "/login")
}

// formError re-renders a form with the problem when err is the caller's
// to fix, and passes other errors on.
func (s *Server) formError(c echo.Context, err error, name string, p *pageData) error {
	switch choso.ErrorCode(err) {
	case choso.EInvalid, choso.EConflict:
		p.Error = web.ErrorText(p.Lang, choso.ErrorMessage(err))
		p.Field = web.ErrorField(choso.ErrorMessage(err))
		return s.render(c, http.StatusUnprocessableEntity, name, p)
	}
	return err
}
