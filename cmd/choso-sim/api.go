package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// admin is a logged-in volunteer or admin on the server's user routes.
type admin struct {
	base  string
	token string
	http  *http.Client
}

// apiError is a non-2xx answer of the server.
type apiError struct {
	status     int
	code, msg  string
	retryAfter time.Duration
}

func (e *apiError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.status, e.code, e.msg)
}

// call sends a JSON request and decodes a JSON answer into out; on a 429 it
// waits Retry-After and tries again, a few times.
func (a *admin) call(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if a.token != "" {
			req.Header.Set("Authorization", "Bearer "+a.token)
		}
		res, err := a.http.Do(req)
		if err != nil {
			return err
		}
		raw, _ := io.ReadAll(io.LimitReader(res.Body, 16<<20))
		res.Body.Close()
		if res.StatusCode/100 == 2 {
			if out == nil {
				return nil
			}
			return json.Unmarshal(raw, out)
		}
		e := &apiError{status: res.StatusCode}
		var eb struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		json.Unmarshal(raw, &eb)
		e.code, e.msg = eb.Error.Code, eb.Error.Message
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil {
			e.retryAfter = time.Duration(s) * time.Second
		}
		if res.StatusCode == http.StatusTooManyRequests && attempt < 20 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(max(e.retryAfter, time.Second)):
			}
			continue
		}
		return e
	}
}

func login(ctx context.Context, base, user, password string) (*admin, error) {
	a := &admin{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 60 * time.Second}}
	var out struct {
		Token string `json:"token"`
	}
	if err := a.call(ctx, http.MethodPost, "/v1/auth/login", map[string]string{"username": user, "password": password}, &out); err != nil {
		return nil, fmt.Errorf("login as %s: %w", user, err)
	}
	if out.Token == "" {
		return nil, fmt.Errorf("login as %s: no token in the answer", user)
	}
	a.token = out.Token
	return a, nil
}

type object struct {
	ID   string `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
}

func (a *admin) createMarket(ctx context.Context, name, commune string) (string, error) {
	var m object
	err := a.call(ctx, http.MethodPost, "/v1/markets", map[string]string{"name": name, "commune_code": commune}, &m)
	return m.ID, err
}

// stalls lists a market's stalls by code.
func (a *admin) stalls(ctx context.Context, market string) (map[string]string, error) {
	out := map[string]string{}
	cursor := ""
	for {
		var page struct {
			Data       []object `json:"data"`
			NextCursor string   `json:"next_cursor"`
			HasMore    bool     `json:"has_more"`
		}
		q := url.Values{"limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if err := a.call(ctx, http.MethodGet, "/v1/markets/"+market+"/stalls?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		for _, s := range page.Data {
			out[s.Code] = s.ID
		}
		if !page.HasMore || page.NextCursor == "" {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

func (a *admin) createStall(ctx context.Context, market, code string, i int) (string, error) {
	in := map[string]any{
		"code": code, "name": fmt.Sprintf("Sạp mô phỏng %d", i), "vendor_name": "Nguyễn Văn Mô Phỏng",
		"vendor_phone": "0912345678", "consent_given": true,
		"payout": map[string]string{"bin": "970436", "account": fmt.Sprintf("00110%08d", i), "holder_name": "NGUYEN VAN MO PHONG"},
	}
	var s object
	err := a.call(ctx, http.MethodPost, "/v1/markets/"+market+"/stalls", in, &s)
	return s.ID, err
}

func (a *admin) enrollmentCode(ctx context.Context, stall string) (string, error) {
	var out struct {
		Code string `json:"code"`
	}
	err := a.call(ctx, http.MethodPost, "/v1/stalls/"+stall+"/enrollments", map[string]any{}, &out)
	return out.Code, err
}
