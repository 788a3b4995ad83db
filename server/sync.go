package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/auth"
	"github.com/choso/choso/qr"
	chosync "github.com/choso/choso/sync"
	"github.com/klauspost/compress/gzip"
	"github.com/labstack/echo/v4"
)

func (s *Server) registerSyncRoutes(e *echo.Echo) {
	dev := routeGroup{g: e.Group("/v1/sync"), mw: []echo.MiddlewareFunc{s.requireDevice}}
	dev.POST("/push", s.handleSyncPush, bodyLimit(chosync.MaxWireBytes))
	dev.GET("/config", s.handleSyncConfig)
	dev.GET("/totals", s.handleSyncTotals)
	dev.GET("/status", s.handleSyncStatus)
	dev.GET("/credits", s.handleSyncCredits)
}

const (
	ctxDevice       = "device"
	ctxUsedPrevious = "device_used_previous_token"
)

// requireDevice authenticates a phone by its device token.
func (s *Server) requireDevice(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, _ := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
		d, usedPrev, err := s.registry.AuthenticateDevice(c.Request().Context(), strings.TrimSpace(token))
		if err != nil {
			return err
		}
		c.Set(ctxDevice, d)
		c.Set(ctxUsedPrevious, usedPrev)
		return next(c)
	}
}

func device(c echo.Context) *choso.Device {
	d, _ := c.Get(ctxDevice).(*choso.Device)
	return d
}

// PushLimits bound the sync write path.
type PushLimits struct {
	// Burst and Interval are each device's token bucket: Burst pushes at
	// once, one more every Interval. Burst 0 turns the limit off (for
	// benchmarks).
	Burst    int
	Interval time.Duration
	// Concurrent pushes waiting for or holding the writer at most; a push
	// that cannot get in within QueueWait is answered 503 with a jittered
	// Retry-After, not left to time out on a phone's 3G link.
	Concurrent int
	QueueWait  time.Duration
}

// DefaultPushLimits: a phone pushes a batch every few seconds at most; 256
// pushes queue for the writer at once.
var DefaultPushLimits = PushLimits{Burst: 10, Interval: time.Second, Concurrent: 256, QueueWait: 2 * time.Second}

// pushGate admits pushes to the writer.
type pushGate struct {
	slots   chan struct{}
	wait    time.Duration
	limiter *auth.Limiter // nil: no per-device limit
	// decode bounds the pushes inflating, decoding and preparing at once
	// to GOMAXPROCS-1 (at least one). The single writer is the sync path's
	// bottleneck: with every core busy decoding the next pushes, it waited
	// for a core as long as it ran. A push takes a slot only once its body
	// is in, so a slow phone upload holds none.
	decode chan struct{}
}

func newPushGate(l PushLimits, now func() time.Time) *pushGate {
	if l.Concurrent <= 0 {
		l.Concurrent = DefaultPushLimits.Concurrent
	}
	if l.QueueWait <= 0 {
		l.QueueWait = DefaultPushLimits.QueueWait
	}
	g := &pushGate{slots: make(chan struct{}, l.Concurrent), wait: l.QueueWait,
		decode: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1))}
	if l.Burst > 0 && l.Interval > 0 {
		g.limiter = auth.NewLimiter(l.Burst, l.Interval, now)
	}
	return g
}

// overloaded answers 503 with a Retry-After of 5–30 s, jittered so phones
// told to wait do not come back together.
func overloaded(c echo.Context) error {
	c.Response().Header().Set("Retry-After", strconv.Itoa(5+rand.IntN(26)))
	return choso.Errorf(choso.EUnavailable, "the server is busy; nothing was taken, push again after Retry-After")
}

var (
	gzipReaders sync.Pool
	bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

// readPushWire reads the push body as sent (at most MaxWireBytes, which the
// route's body limit enforces) into a pooled buffer; the caller puts it back.
func readPushWire(c echo.Context) (*bytes.Buffer, error) {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	if _, err := buf.ReadFrom(c.Request().Body); err != nil {
		bodyBuffers.Put(buf)
		return nil, bodyError(err, "could not read the request body")
	}
	return buf, nil
}

// decodePushBody returns the push body, gunzipped through a reader capped at
// MaxDecodedBytes: Echo v4's Decompress middleware has no cap, so a 50 MB
// zip bomb would be inflated whole. klauspost/compress inflates a push about
// 1.4 times as fast as compress/gzip, and reads the same streams. The
// result is in a pooled buffer the caller puts back.
func decodePushBody(c echo.Context, wire *bytes.Buffer) (*bytes.Buffer, error) {
	switch enc := strings.ToLower(strings.TrimSpace(c.Request().Header.Get(echo.HeaderContentEncoding))); enc {
	case "", "identity":
		if wire.Len() > chosync.MaxDecodedBytes {
			return nil, choso.Errorf(choso.ETooLarge, "the body is past %d MiB; send fewer events", chosync.MaxDecodedBytes>>20)
		}
		return nil, nil // the wire bytes are the body
	case "gzip":
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(bytes.NewReader(wire.Bytes()))
		} else {
			err = zr.Reset(bytes.NewReader(wire.Bytes()))
		}
		if err != nil {
			return nil, bodyError(err, "the gzip body is corrupt")
		}
		defer gzipReaders.Put(zr)
		out := bodyBuffers.Get().(*bytes.Buffer)
		out.Reset()
		if _, err := out.ReadFrom(io.LimitReader(zr, chosync.MaxDecodedBytes+1)); err != nil {
			bodyBuffers.Put(out)
			return nil, bodyError(err, "the gzip body is corrupt")
		}
		if out.Len() > chosync.MaxDecodedBytes {
			bodyBuffers.Put(out)
			return nil, choso.Errorf(choso.ETooLarge, "the body inflates past %d MiB; send fewer events", chosync.MaxDecodedBytes>>20)
		}
		return out, nil
	default:
		return nil, choso.Errorf(choso.EUnsupportedMedia, "Content-Encoding %q: send gzip or nothing", enc)
	}
}

// decodePushRequest inflates, decodes and checks a push read from the wire, and
// does the store-free work on its events (chosync.Prepare).
func (s *Server) decodePushRequest(c echo.Context, wire *bytes.Buffer) (*chosync.PushRequest, []chosync.Prepared, error) {
	body, err := decodePushBody(c, wire)
	if err != nil {
		return nil, nil, err
	}
	data := wire.Bytes()
	if body != nil {
		defer bodyBuffers.Put(body)
		data = body.Bytes()
	}
	// Both decoders copy what they keep: data goes back to the pool.
	var req chosync.PushRequest
	ok, over := decodePushFast(data, &req)
	switch {
	case over:
		return nil, nil, choso.Errorf(choso.ETooLarge, "more than %d events in one push; at most %d", chosync.MaxEvents, chosync.MaxEvents)
	case ok:
		s.metrics.pushFast.Inc()
	default:
		s.metrics.pushFull.Inc()
		req = chosync.PushRequest{}
		if err := unmarshalStrict(data, &req); err != nil {
			return nil, nil, err
		}
	}
	if err := chosync.CheckBatch(&req); err != nil {
		return nil, nil, err
	}
	return &req, chosync.Prepare(&req), nil
}

// take waits for a slot of slots until timer fires (503 with Retry-After)
// or the request ends.
func take(c echo.Context, slots chan struct{}, timer *time.Timer) error {
	select {
	case slots <- struct{}{}:
		return nil
	case <-timer.C:
		return overloaded(c)
	case <-c.Request().Context().Done():
		return choso.Errorf(choso.EUnavailable, "the request was cancelled")
	}
}

func bodyError(err error, msg string) error {
	var ce *choso.Error
	if errors.As(err, &ce) {
		return ce
	}
	return choso.WrapError(choso.EInvalid, msg, err)
}

// handleSyncPush applies a batch of a phone's events (SYNC.md §6.5) and
// answers only after the commit is on disk.
func (s *Server) handleSyncPush(c echo.Context) error {
	d := device(c)
	if s.pushGate.limiter != nil {
		if ok, wait := s.pushGate.limiter.Allow(d.ID); !ok {
			return rateLimited(c, wait, "pushes from this phone")
		}
	}
	if err := requireMediaType(c, echo.MIMEApplicationJSON); err != nil {
		return err
	}
	wire, err := readPushWire(c)
	if err != nil {
		return err
	}
	defer bodyBuffers.Put(wire)
	// One deadline for both waits, a decode slot and then the writer's
	// queue: past it the phone gets 503 and Retry-After, not a timeout.
	timer := time.NewTimer(s.pushGate.wait)
	defer timer.Stop()
	if err := take(c, s.pushGate.decode, timer); err != nil {
		return err
	}
	req, prepared, err := s.decodePushRequest(c, wire)
	<-s.pushGate.decode
	if err != nil {
		return err
	}
	if err := take(c, s.pushGate.slots, timer); err != nil {
		return err
	}
	defer func() { <-s.pushGate.slots }()

	call := chosync.Call{DeviceID: d.ID, Request: req, Now: s.now(), UsedPreviousToken: c.Get(ctxUsedPrevious) == true,
		Prepared: prepared}
	var res *chosync.PushResponse
	err = s.store.Batch(c.Request().Context(), func(tx choso.Tx) error {
		res = nil // Batch may run this again: start clean
		r, err := s.pusher.Push(tx, call)
		if err != nil {
			return err
		}
		res = r
		return nil
	})
	if err != nil {
		if code := choso.ErrorCode(err); code == choso.EInternal {
			// Nothing was acked: a phone may retry safely.
			return choso.WrapError(choso.EUnavailable, "the push could not be applied; nothing was taken, push again", err)
		}
		return err
	}
	s.metrics.observePush(len(req.Events), res)
	return writePushResponse(c, res)
}

// syncConfig is the snapshot a phone keeps: enough to record sales and
// make dynamic QR codes offline.
type syncConfig struct {
	ConfigVersion int            `json:"config_version"`
	Stall         syncStall      `json:"stall"`
	QR            syncQR         `json:"qr"`
	Banks         []syncBank     `json:"banks"`
	ServerTimeMs  int64          `json:"server_time_ms"`
	Device        *choso.Device  `json:"device"`
	Limits        map[string]int `json:"limits"`
	Methods       []string       `json:"methods"`
	Market        syncMarket     `json:"market"`
}

type syncStall struct {
	ID        string `json:"id"`
	Code      string `json:"code"`
	Name      string `json:"name"`
	Category  string `json:"category"`
	Status    string `json:"status"`
	QRVersion int    `json:"qr_version"`
}

type syncMarket struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"`
}

// syncQR is the stall's VietQR template: the phone adds amount, reference
// and purpose to make a dynamic code offline.
type syncQR struct {
	BIN           string `json:"bin"`
	BankShortName string `json:"bank_short_name"`
	Account       string `json:"account"`
	Service       string `json:"service"`
	Holder        string `json:"holder_name"`
	StaticPayload string `json:"static_payload"`
}

type syncBank struct {
	BIN       string `json:"bin"`
	ShortName string `json:"short_name"`
	Name      string `json:"name"`
	AppCanPay string `json:"vietqr_app_can_pay"`
}

func (s *Server) handleSyncConfig(c echo.Context) error {
	dc, err := s.registry.LoadDeviceContext(c.Request().Context(), device(c).ID)
	if err != nil {
		return err
	}
	st := dc.Stall
	cfg := syncConfig{
		ConfigVersion: st.ConfigVersion,
		Stall:         syncStall{ID: st.ID, Code: st.Code, Name: st.Name, Category: st.Category, Status: string(st.Status), QRVersion: st.QRVersion},
		Market:        syncMarket{ID: dc.Market.ID, Name: dc.Market.Name, TimeZone: dc.Market.TimeZone},
		ServerTimeMs:  s.now().UnixMilli(),
		Device:        dc.Device,
		Methods:       []string{choso.MethodCash, choso.MethodQR, choso.MethodTransfer},
		Limits:        map[string]int{"max_events": chosync.MaxEvents, "max_wire_bytes": chosync.MaxWireBytes, "max_decoded_bytes": chosync.MaxDecodedBytes},
	}
	if st.ErasedAt == nil {
		cfg.QR = syncQR{BIN: st.Payout.BIN, Account: st.Payout.Account, Service: string(st.Payout.Service), Holder: st.Payout.Holder}
		if b, ok := qr.BankByBIN(st.Payout.BIN); ok {
			cfg.QR.BankShortName = b.ShortName
		}
		if p, err := qr.Encode(stallTransfer(st)); err == nil {
			cfg.QR.StaticPayload = p
		}
	}
	for _, b := range qr.Banks() {
		cfg.Banks = append(cfg.Banks, syncBank{BIN: b.BIN, ShortName: b.ShortName, Name: b.Name, AppCanPay: string(b.AppCanPay)})
	}
	body, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	// The ETag is the config's content, less the server's clock and the
	// device's own sync status, which change at every push: a phone
	// re-enrolled for another stall, or whose market was renamed, never
	// gets a 304 for what it holds.
	cfg.ServerTimeMs, cfg.Device = 0, nil
	tagged, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(tagged)
	etag := `"cfg-` + hex.EncodeToString(sum[:12]) + `"`
	c.Response().Header().Set("ETag", etag)
	c.Response().Header().Set("Cache-Control", "private, no-cache")
	if match := c.Request().Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.JSONBlob(http.StatusOK, body)
}

type syncTotals struct {
	TotalsVersion uint64            `json:"totals_version"`
	From          string            `json:"from"`
	To            string            `json:"to"`
	Days          []*choso.StallDay `json:"days"`
}

// handleSyncTotals returns the stall's server-side day totals, from every
// device of the stall, for the last ?days=N business days (default 7, at
// most 92) in the market's time zone.
func (s *Server) handleSyncTotals(c echo.Context) error {
	days := 7
	if v := c.QueryParam("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 92 {
			return choso.Errorf(choso.EInvalid, "days must be 1–92")
		}
		days = n
	}
	dc, err := s.registry.LoadDeviceContext(c.Request().Context(), device(c).ID)
	if err != nil {
		return err
	}
	loc, err := choso.LoadLocation(dc.Market.TimeZone)
	if err != nil {
		return err
	}
	today := s.now().In(loc)
	out := syncTotals{To: today.Format(time.DateOnly), From: today.AddDate(0, 0, -(days - 1)).Format(time.DateOnly)}
	if out.Days, err = s.registry.StallDays(c.Request().Context(), dc.Stall.ID, out.From, out.To); err != nil {
		return err
	}
	for _, d := range out.Days {
		out.TotalsVersion = max(out.TotalsVersion, d.Revision)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) handleSyncStatus(c echo.Context) error {
	dc, err := s.registry.LoadDeviceContext(c.Request().Context(), device(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{
		"device": dc.Device, "next_expected_seq": dc.Device.AppliedSeq + 1,
		"stall_status": dc.Stall.Status, "config_version": dc.Stall.ConfigVersion, "server_time_ms": s.now().UnixMilli(),
	})
}
