package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/choso/choso"
	"github.com/labstack/echo/v4"
)

// statusOf maps each error code to its one HTTP status.
var statusOf = map[string]int{
	choso.EInvalid:          http.StatusBadRequest,
	choso.EUnauthorized:     http.StatusUnauthorized,
	choso.EForbidden:        http.StatusForbidden,
	choso.ENotFound:         http.StatusNotFound,
	choso.EMethodNotAllowed: http.StatusMethodNotAllowed,
	choso.EConflict:         http.StatusConflict,
	choso.ETooLarge:         http.StatusRequestEntityTooLarge,
	choso.EUnsupportedMedia: http.StatusUnsupportedMediaType,
	choso.EUpgradeRequired:  http.StatusUpgradeRequired,
	choso.EDeviceRevoked:    http.StatusForbidden,
	choso.EDeviceSuspended:  http.StatusForbidden,
	ecursorInvalid:          http.StatusBadRequest,
	choso.ERateLimited:      http.StatusTooManyRequests,
	choso.EInternal:         http.StatusInternalServerError,
	choso.EUnavailable:      http.StatusServiceUnavailable,
}

// codeOfStatus maps the statuses Echo itself produces (unknown route, wrong
// method) back to codes.
var codeOfStatus = map[int]string{
	http.StatusBadRequest:            choso.EInvalid,
	http.StatusUnauthorized:          choso.EUnauthorized,
	http.StatusForbidden:             choso.EForbidden,
	http.StatusNotFound:              choso.ENotFound,
	http.StatusMethodNotAllowed:      choso.EMethodNotAllowed,
	http.StatusRequestEntityTooLarge: choso.ETooLarge,
	http.StatusUnsupportedMediaType:  choso.EUnsupportedMedia,
	http.StatusTooManyRequests:       choso.ERateLimited,
	http.StatusServiceUnavailable:    choso.EUnavailable,
}

// errorBody is the JSON every error response carries.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

// handleError is the one place errors become responses. Internal errors are
// logged with their cause (by observe) and shown to the client only as a
// generic message with the request ID to quote.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, message := classify(err, c)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusBadRequest // a specific code a client must act on
	}
	if status >= 500 && code != choso.EUnavailable {
		message = "An internal error occurred; quote the request ID when you report it."
	}
	if (code == choso.EUnavailable || code == choso.ERateLimited) && c.Response().Header().Get("Retry-After") == "" {
		c.Response().Header().Set("Retry-After", "5")
	}
	id, _ := c.Get(ctxRequestID).(string)
	if c.Request().Method == http.MethodHead {
		c.NoContent(status)
		return
	}
	if werr := c.JSON(status, errorBody{Error: errorDetail{Code: code, Message: message, RequestID: id}}); werr != nil {
		s.log.Warn("writing error response", "request_id", id, "err", werr)
	}
}

// classify finds the code and client-safe message of err.
func classify(err error, c echo.Context) (code, message string) {
	var ce *choso.Error
	var he *echo.HTTPError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ce):
		return ce.Code, choso.ErrorMessage(ce)
	case errors.As(err, &mbe):
		return choso.ETooLarge, fmt.Sprintf("request body is larger than the limit of %s", byteSize(mbe.Limit))
	case errors.As(err, &he):
		code, ok := codeOfStatus[he.Code]
		if !ok {
			return choso.EInternal, ""
		}
		switch he.Code {
		case http.StatusNotFound:
			return code, fmt.Sprintf("no route for %s %s", c.Request().Method, c.Request().URL.Path)
		case http.StatusMethodNotAllowed:
			return code, fmt.Sprintf("%s is not allowed on %s", c.Request().Method, c.Request().URL.Path)
		}
		if m, ok := he.Message.(string); ok && m != "" {
			return code, m
		}
		return code, http.StatusText(he.Code)
	}
	return choso.EInternal, ""
}
