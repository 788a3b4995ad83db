package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// configHead is the part of GET /v1/sync/config the client reads itself;
// the rest is the app's.
type configHead struct {
	ConfigVersion int64 `json:"config_version"`
	ServerTimeMs  int64 `json:"server_time_ms"`
}

// RefreshConfig pulls the config snapshot with If-None-Match, so an
// unchanged config costs a 304. It waits for the server (see the package
// comment on threads). It reports whether the cached snapshot
// changed. A push answer whose config_version is above the cached one marks
// the cache stale and the loop calls this by itself.
func (c *Client) RefreshConfig() (bool, error) {
	return c.refreshConfig(context.Background())
}

func (c *Client) refreshConfig(ctx context.Context) (bool, error) {
	// A push may rotate the token: the pull reads it and sends it with no
	// push between, or it could send the old token after the new one was
	// first used, which the server refuses as it would a stolen one.
	c.pushMu.Lock()
	defer c.pushMu.Unlock()
	if c.isClosed() {
		return false, ErrClosed
	}
	var (
		dev  device
		etag string
	)
	err := c.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		var err error
		dev, err = readDevice(m)
		etag = string(m.Get(keyConfigETag))
		return err
	})
	if err != nil {
		return false, err
	}
	if dev.Token == "" {
		return false, ErrNotEnrolled
	}
	var h map[string]string
	if etag != "" {
		h = map[string]string{"If-None-Match": etag}
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res, raw, err := c.do(rctx, http.MethodGet, "/v1/sync/config", dev.Token, nil, h)
	if err != nil {
		return false, err
	}
	wall, elapsed, boot := c.clock.WallMs(), c.clock.ElapsedMs(), c.clock.BootID()
	switch res.StatusCode {
	case http.StatusNotModified:
		return false, c.db.Update(func(tx *bolt.Tx) error {
			return putUint(tx.Bucket(bucketMeta), keyConfigStale, 0)
		})
	case http.StatusOK:
	case http.StatusUpgradeRequired:
		// Pushes stay accepted; keep the cache and stop asking until the
		// next hint.
		c.db.Update(func(tx *bolt.Tx) error { return putUint(tx.Bucket(bucketMeta), keyConfigStale, 0) })
		return false, httpError(res, raw)
	case http.StatusForbidden, http.StatusUnauthorized:
		r := &PushResult{Outcome: OutcomeUnauthorized}
		state := StateUnauthorized
		switch code, msg := errorCode(raw); code {
		case codeDeviceRevoked:
			r.Outcome, state = OutcomeRevoked, StateRevoked
			r.Error = msg
		case codeDeviceSuspended:
			r.Outcome, state = OutcomeSuspended, StateSuspended
			r.Error = msg
		}
		c.stop(r, state)
		return false, httpError(res, raw)
	default:
		return false, httpError(res, raw)
	}
	var head configHead
	if err := json.Unmarshal(raw, &head); err != nil {
		return false, fmt.Errorf("%w: config answer: %w", errBadResponse, err)
	}
	newTag := res.Header.Get("ETag")
	err = c.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if err := m.Put(keyConfig, raw); err != nil {
			return err
		}
		if err := m.Put(keyConfigETag, []byte(newTag)); err != nil {
			return err
		}
		if err := putUint(m, keyConfigVersion, uint64(max(head.ConfigVersion, 0))); err != nil {
			return err
		}
		if head.ServerTimeMs > 0 {
			if err := c.updateAnchor(m, head.ServerTimeMs, wall, elapsed, boot); err != nil {
				return err
			}
		}
		return putUint(m, keyConfigStale, 0)
	})
	return err == nil, err
}

// ConfigJSON returns the cached config snapshot as the server sent it, nil
// before the first pull. It is there offline too: the stall's QR template
// and the bank list.
func (c *Client) ConfigJSON() ([]byte, error) {
	var out []byte
	err := c.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyConfig); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	return out, err
}

// Totals returns GET /v1/sync/totals?days=N as the server sent it: the
// stall's server-side day totals from all its phones. Totals, ServerStatus,
// Credits and Statement wait for the server (see the package comment on threads).
func (c *Client) Totals(days int) ([]byte, error) {
	return c.get("/v1/sync/totals?days=" + strconv.Itoa(days))
}

// ServerStatus returns GET /v1/sync/status as the server sent it: what the
// server holds for this phone.
func (c *Client) ServerStatus() ([]byte, error) {
	return c.get("/v1/sync/status")
}

// Credits returns GET /v1/sync/credits?since=N as the server sent it: the
// bank's credits to the stall's account ("tiền đã về"), matched to a sale or
// not, so the vendor can tell a real payment from a fake transfer
// screenshot. since is the last_seq of the previous page, 0 for the first;
// a credit matched to its sale later comes again on a later page, under its
// own seq, with its sale_id.
func (c *Client) Credits(since int64) ([]byte, error) {
	return c.get("/v1/sync/credits?since=" + strconv.FormatInt(max(since, 0), 10))
}

// Statement returns GET /v1/sync/statement?period=P as the server sent it:
// the stall's revenue statement for a month ("2026-11") or a quarter
// ("2026-Q4"), by day and method, net of voids, with what the bank
// confirmed; provisional while phones may still sync days of it. Since
// 2026 a household business declares its actual revenue, and this is the
// vendor's record of it. It waits for the server, as Totals does.
func (c *Client) Statement(period string) ([]byte, error) {
	return c.get("/v1/sync/statement?period=" + url.QueryEscape(period))
}

func (c *Client) get(path string) ([]byte, error) {
	// As for the config pull: the token is read and sent with no push
	// between, which could rotate it and use the new one first.
	c.pushMu.Lock()
	defer c.pushMu.Unlock()
	if c.isClosed() {
		return nil, ErrClosed
	}
	tok, err := c.Token()
	if err != nil {
		return nil, err
	}
	if tok == "" {
		return nil, ErrNotEnrolled
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	res, raw, err := c.do(ctx, http.MethodGet, path, tok, nil, nil)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, httpError(res, raw)
	}
	return raw, nil
}
