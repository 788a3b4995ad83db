// Package partnerclient is a Go client for Chợ Số's bank partner API
// (DESIGN.md §6): the change feed of stall-day revisions, the streaming
// NDJSON export with its checked trailer, and posting credit
// notifications. It signs every request with the partner's key as
// docs/partner-signing.md describes, and retries 429 and 503 responses
// after the Retry-After the server gives, within bounds.
//
// It depends on the standard library only, so a bank can vendor it as is.
package partnerclient

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Request headers of a signed request (docs/partner-signing.md).
const (
	headerKey       = "X-Choso-Key"
	headerTimestamp = "X-Choso-Timestamp"
	headerNonce     = "X-Choso-Nonce"
	headerSignature = "X-Choso-Signature"
)

// Retry defaults: how often a 429 or 503 is retried, and the longest wait
// before one retry. A Retry-After longer than the wait is not slept
// through: the error is returned with its RetryAfter for the caller.
const (
	DefaultMaxRetries = 3
	DefaultMaxWait    = 60 * time.Second
)

// maxJSONResponse bounds a JSON response body (a feed page of 1,000
// revisions is well under 2 MiB).
const maxJSONResponse = 64 << 20

// Client talks to one Chợ Số server as one partner key. It is safe for
// concurrent use.
type Client struct {
	base       *url.URL
	keyID      string
	secret     []byte
	http       *http.Client
	now        func() time.Time
	maxRetries int
	maxWait    time.Duration
	sleep      func(ctx context.Context, d time.Duration) error
}

// An Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client; the default has no overall timeout
// (an export may stream for minutes: bound calls with their context) and
// waits at most a minute for response headers.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithClock sets the clock that timestamps requests; the default is
// time.Now. The server rejects timestamps more than 300 s off its own.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithRetries sets how many times a 429 or 503 is retried (0 for never)
// and the longest single wait (DefaultMaxRetries, DefaultMaxWait).
func WithRetries(maxRetries int, maxWait time.Duration) Option {
	return func(c *Client) { c.maxRetries, c.maxWait = maxRetries, maxWait }
}

// New returns a client for the server at baseURL (e.g.
// "https://choso.example.vn"; the API paths are appended to it) signing
// with the key keyID and its secret, exactly as printed when the key was
// made: the secret text itself is the HMAC key.
func New(baseURL, keyID string, secret []byte, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("partnerclient: base URL %q must be http(s)://host[/prefix] without query or fragment", baseURL)
	}
	if keyID == "" || len(secret) == 0 {
		return nil, errors.New("partnerclient: a key id and its secret are required")
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.ResponseHeaderTimeout = time.Minute
	c := &Client{
		base:       u,
		keyID:      keyID,
		secret:     bytes.Clone(secret),
		http:       &http.Client{Transport: transport},
		now:        time.Now,
		maxRetries: DefaultMaxRetries,
		maxWait:    DefaultMaxWait,
		sleep:      sleepCtx,
	}
	for _, opt := range opts {
		opt(c)
	}
	return c, nil
}

// Error is an error response of the server: {"error":{"code","message"}}.
type Error struct {
	StatusCode int
	// Code is the server's error code: "unauthorized", "invalid",
	// "rate_limited", "unavailable", "cursor_invalid", … (DESIGN.md §9).
	Code    string
	Message string
	// RetryAfter is the server's Retry-After on a 429 or 503, 0 if none.
	RetryAfter time.Duration
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("choso: %d %s: %s", e.StatusCode, e.Code, e.Message)
}

// Temporary reports whether the request may succeed if retried later.
func (e *Error) Temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusServiceUnavailable
}

// sign returns the X-Choso-Signature of a request. It is written apart
// from the server's internal/partnerauth on purpose: the tests verify one
// with the other.
func sign(secret []byte, method, path, rawQuery string, ts int64, nonce string, body []byte) string {
	bodyHash := sha256.Sum256(body)
	canonical := strings.Join([]string{method, path, rawQuery, strconv.FormatInt(ts, 10), nonce, hex.EncodeToString(bodyHash[:])}, "\n")
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(canonical))
	return hex.EncodeToString(m.Sum(nil))
}

// newNonce returns 16 random bytes in hex.
func newNonce() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b[:])
}

// do sends a signed request and returns a 2xx response, whose body the
// caller closes. 429 and 503 are retried after Retry-After (or a short
// backoff), each attempt signed afresh with a new timestamp and nonce;
// any other status of 400 or more is returned as an *Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte, header http.Header) (*http.Response, error) {
	return c.doPassing(ctx, method, path, query, body, header, 0)
}

// doPassing is do, but a response with status pass is returned like a
// 2xx: for routes whose error status still carries a full answer.
func (c *Client) doPassing(ctx context.Context, method, path string, query url.Values, body []byte, header http.Header, pass int) (*http.Response, error) {
	u := *c.base
	u.Path = strings.TrimRight(c.base.Path, "/") + path
	u.RawPath = ""
	u.RawQuery = query.Encode()
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		ts := c.now().Unix()
		nonce := newNonce()
		req.Header.Set(headerKey, c.keyID)
		req.Header.Set(headerTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(headerNonce, nonce)
		// Sign what goes on the request line: the transport writes
		// req.URL.RequestURI(), the escaped path and the raw query.
		req.Header.Set(headerSignature, sign(c.secret, method, req.URL.EscapedPath(), req.URL.RawQuery, ts, nonce, body))
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 400 || resp.StatusCode == pass {
			return resp, nil
		}
		apiErr := readError(resp, c.now())
		resp.Body.Close()
		if !apiErr.Temporary() || attempt >= c.maxRetries {
			return nil, apiErr
		}
		wait := apiErr.RetryAfter
		if wait <= 0 {
			wait = time.Second << attempt
		}
		if wait > c.maxWait {
			return nil, apiErr
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// readError reads an error response.
func readError(resp *http.Response, now time.Time) *Error {
	e := &Error{StatusCode: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), now)}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message = body.Error.Code, body.Error.Message
		return e
	}
	e.Code = "http_" + strconv.Itoa(resp.StatusCode)
	e.Message = http.StatusText(resp.StatusCode)
	return e
}

// retryAfter parses Retry-After: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		return time.Duration(min(s, 1<<31)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// doJSON sends a signed request and decodes its JSON response into v.
func (c *Client) doJSON(ctx context.Context, method, path string, query url.Values, body []byte, v any) error {
	_, err := c.doJSONPassing(ctx, method, path, query, body, v, 0)
	return err
}

// doJSONPassing is doJSON, decoding a response with status pass too; it
// returns the status.
func (c *Client) doJSONPassing(ctx context.Context, method, path string, query url.Values, body []byte, v any, pass int) (int, error) {
	resp, err := c.doPassing(ctx, method, path, query, body, nil, pass)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONResponse+1))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("partnerclient: reading %s %s: %w", method, path, err)
	}
	if len(data) > maxJSONResponse {
		return resp.StatusCode, fmt.Errorf("partnerclient: %s %s: response over %d bytes", method, path, maxJSONResponse)
	}
	if resp.StatusCode == pass && pass != 0 {
		resp.Body = io.NopCloser(bytes.NewReader(data))
		if json.Unmarshal(data, v) != nil {
			return resp.StatusCode, readError(resp, c.now())
		}
		return resp.StatusCode, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return resp.StatusCode, fmt.Errorf("partnerclient: decoding %s %s: %w", method, path, err)
	}
	return resp.StatusCode, nil
}
