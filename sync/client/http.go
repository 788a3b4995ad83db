package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxResponseBytes caps what the client reads of any answer: a push
// response for 500 events is far below it.
const maxResponseBytes = 8 << 20

// do sends one request and reads the whole answer, capped.
func (c *Client) do(ctx context.Context, method, path, token string, body []byte, header map[string]string) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.opts.AppVersion != "" {
		req.Header.Set("User-Agent", "choso-client/"+c.opts.AppVersion)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes+1))
	if err != nil {
		// The connection failed mid-answer: the network's doing, as a
		// failure before the answer is (ErrorKind says so).
		return res, nil, &url.Error{Op: method, URL: req.URL.String(), Err: err}
	}
	if len(raw) > maxResponseBytes {
		return res, nil, fmt.Errorf("%w: over 8 MiB", errBadResponse)
	}
	return res, raw, nil
}

// apiError is the server's error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// errorCode returns the code of an error body, "" when it has none.
func errorCode(raw []byte) (code, message string) {
	var e apiError
	if json.Unmarshal(raw, &e) != nil {
		return "", ""
	}
	return e.Error.Code, e.Error.Message
}

// HTTPError is a server answer that was not a success.
type HTTPError struct {
	Status       int
	Code         string // the error body's code, e.g. rate_limited
	Message      string
	RetryAfterMs int64 // the answer's Retry-After, 0 when none
}

func (e *HTTPError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("client: server answered %d %s: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("client: server answered %d", e.Status)
}

func httpError(res *http.Response, raw []byte) error {
	code, msg := errorCode(raw)
	return &HTTPError{Status: res.StatusCode, Code: code, Message: msg, RetryAfterMs: retryAfter(res.Header).Milliseconds()}
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date
// (against the server's Date header, so the phone's clock does not
// matter); 0 when absent or unreadable. It is capped at an hour.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		d = time.Duration(min(n, 3600)) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		now, err := http.ParseTime(h.Get("Date"))
		if err != nil {
			return 0
		}
		d = t.Sub(now)
	}
	return max(0, min(d, time.Hour))
}

// Error kinds ErrorKind returns besides the Outcome… values.
const (
	KindClosed          = "closed"           // ErrClosed
	KindNotEnrolled     = "not_enrolled"     // ErrNotEnrolled
	KindInvalidSale     = "invalid_sale"     // ErrInvalidSale: the app passed a bad amount, method, ref, id or date
	KindAlreadyVoided   = "already_voided"   // ErrAlreadyVoided
	KindNotFound        = "not_found"        // 404: at enrollment, the code is wrong, used or expired
	KindConflict        = "conflict"         // 409: at enrollment, the stall is suspended or erased
	KindUpgradeRequired = "upgrade_required" // 426: the config pull wants a newer app; pushes go on
	KindNoPayout        = "no_payout"        // ErrNoPayout: pull the config before DynamicQR
	KindOtherStall      = "other_stall"      // ErrOtherStall: enroll for the phone's own stall first, to send its pending events
	KindLocal           = "local"            // the outbox file or anything else on the phone
)

// ErrorKind names what an error of the client's methods means, so an app
// can act on it without reading the message. Bound with gomobile, an error
// reaches Java as an Exception that carries only its message; the app
// passes that exception back here. It answers "" for nil, one of the
// Kind… constants, or the Outcome… value of the same meaning as a push's:
// OutcomeNetwork and OutcomeTimeout (no answer: try again later),
// OutcomeRevoked, OutcomeUnauthorized and OutcomeForbidden (enroll again),
// OutcomeSuspended, OutcomeRateLimited and OutcomeUnavailable (wait
// HTTPErrorOf(err).RetryAfterMs), OutcomeTooLarge, OutcomeInvalid,
// OutcomeServerError, OutcomeBadResponse.
func ErrorKind(err error) string {
	var he *HTTPError
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrClosed):
		return KindClosed
	case errors.Is(err, ErrNotEnrolled):
		return KindNotEnrolled
	case errors.Is(err, ErrAlreadyVoided):
		return KindAlreadyVoided
	case errors.Is(err, ErrInvalidSale):
		return KindInvalidSale
	case errors.Is(err, ErrNoPayout):
		return KindNoPayout
	case errors.Is(err, ErrOtherStall):
		return KindOtherStall
	case errors.Is(err, errBadResponse):
		return OutcomeBadResponse
	case errors.As(err, &he):
		return he.kind()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return OutcomeTimeout
	case errors.As(err, &ne):
		return OutcomeNetwork
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return OutcomeNetwork
	}
	return KindLocal
}

// HTTPErrorOf returns the server's answer behind an error of the client's
// methods, nil when the error is not one (no answer came, or it is local).
// Like ErrorKind, it is for an app bound with gomobile.
func HTTPErrorOf(err error) *HTTPError {
	var he *HTTPError
	if errors.As(err, &he) {
		return he
	}
	return nil
}

// kind is ErrorKind of a server answer.
func (e *HTTPError) kind() string {
	switch e.Status {
	case http.StatusUnauthorized:
		return OutcomeUnauthorized
	case http.StatusForbidden:
		switch e.Code {
		case codeDeviceRevoked:
			return OutcomeRevoked
		case codeDeviceSuspended:
			return OutcomeSuspended
		}
		return OutcomeForbidden
	case http.StatusNotFound:
		return KindNotFound
	case http.StatusConflict:
		return KindConflict
	case http.StatusRequestEntityTooLarge:
		return OutcomeTooLarge
	case http.StatusUpgradeRequired:
		return KindUpgradeRequired
	case http.StatusTooManyRequests:
		return OutcomeRateLimited
	case http.StatusServiceUnavailable:
		return OutcomeUnavailable
	}
	if e.Status >= 400 && e.Status < 500 {
		return OutcomeInvalid
	}
	return OutcomeServerError
}

// errBadResponse is an answer the client cannot read.
var errBadResponse = errors.New("client: unreadable answer")

// Error codes the client acts on (DESIGN.md §9).
const (
	codeDeviceRevoked   = "device_revoked"
	codeDeviceSuspended = "device_suspended"
)
