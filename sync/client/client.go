// Package client is the phone side of Chợ Số sync (SYNC.md §6): a durable
// outbox in its own bbolt file, a push loop, an anchored clock and hybrid
// logical clock, and a config cache. A vendor's sale is one local
// transaction that numbers it (seq 1, 2, 3, … never reused) and names it
// (a fresh ULID); the push loop sends the oldest pending events and deletes
// only what a parsed server response acknowledged, so a killed process, a
// lost response or a server restart never loses or doubles a sale.
//
// The exported API uses plain types only (strings, ints, []byte, structs
// and interfaces of those) so that gomobile can bind it for Android and iOS.
// Times the client needs come from the app through Clock. Bound, an error
// reaches the app as an exception with a message only: ErrorKind and
// HTTPErrorOf, given it back, say what it was.
//
// Threads: Enroll, RefreshConfig, PushOnce, Totals, ServerStatus, Credits
// and Statement make a network request and return only when it is answered or
// Options.TimeoutMs has passed (30 s by default); they first wait for any
// push, pull or read already in flight, so a call may take longer still.
// Close, and Stop while the loop waits for such a call of the app's, wait
// too. Call them off the app's main thread. RecordSale, VoidSale,
// CloseDay, DayTally, Status, DynamicQR, ConfigJSON, RejectedJSON, Kick,
// SetOnline and Run do no network I/O: they read or write (with an fsync)
// the phone's file. Observer.PushDone is called on the push loop's own
// goroutine, not the app's main thread.
package client

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	chosync "github.com/choso/choso/sync"
)

// Options configure a Client. Zero values take the defaults named.
type Options struct {
	// ServerURL is the server's base URL, e.g. "https://choso.example.vn".
	ServerURL string
	// AppVersion is sent with every push and enrollment.
	AppVersion string
	// Clock supplies the wall clock, the monotonic clock and the boot id.
	// Required.
	Clock Clock
	// Observer, if set, hears the outcome of every push request.
	Observer Observer
	// TZOffsetMinutes is the market's offset east of UTC, used for the
	// phone's own business day. 0 means +420 (Asia/Ho_Chi_Minh, no DST).
	TZOffsetMinutes int
	// BatchSize is the most events one push carries; 0 or more than 500
	// means 500.
	BatchSize int
	// TimeoutMs bounds one HTTP request; 0 means 30,000.
	TimeoutMs int64
	// BackoffBaseMs and BackoffCapMs shape the full-jitter backoff after a
	// failure with no Retry-After; 0 means 2,000 and 300,000.
	BackoffBaseMs int64
	BackoffCapMs  int64
	// ReconnectJitterMs is the largest random delay before the first push
	// after SetOnline(true), so a market's phones do not all come back at
	// once; 0 means 60,000, a negative value means none.
	ReconnectJitterMs int64
	// PushDelayMs is how long the loop waits after a new event before it
	// pushes, to gather a few sales into one request; 0 means at once.
	PushDelayMs int64
	// NoSync skips fsync on the outbox file. For simulators and tests only:
	// a power cut could lose events the vendor saw recorded.
	NoSync bool
}

// Observer hears what the push loop does. Its method must not block long,
// and is called on the loop's goroutine: an Android app posts to its main
// thread from it.
type Observer interface {
	// PushDone is called after each push request with its outcome, once
	// the push has let go of the client: it may pull the config or push.
	PushDone(r *PushResult)
}

// The client's sync states. Anything but StateOK and StateSuspended stops
// the push loop; a suspended phone's loop asks again every 15 minutes, and
// at a Kick.
const (
	StateOK            = "ok"
	StateRevoked       = "revoked"        // 403 device_revoked: enroll again
	StateSuspended     = "suspended"      // 403 device_suspended: sales wait on the phone until the stall is reactivated
	StateUnauthorized  = "unauthorized"   // 401: the token is not known; enroll again
	StateNeedsReenroll = "needs_reenroll" // a gap the phone cannot fill, or seq_reused: enroll again
)

// Errors the client returns.
var (
	ErrNotEnrolled = errors.New("client: the phone is not enrolled")
	ErrClosed      = errors.New("client: closed")
	ErrNoClock     = errors.New("client: Options.Clock is required")
	// ErrOtherStall is Enroll with a code for another stall while the
	// outbox holds events of the stall the phone was enrolled for.
	ErrOtherStall = errors.New("client: the outbox holds events of another stall")
)

// Client is one install of the app: one outbox file, one device.
type Client struct {
	db       *bolt.DB
	opts     Options
	clock    Clock
	base     string
	http     *http.Client
	timeout  time.Duration
	tzOffset int

	pushMu sync.Mutex // one request carrying the token in flight: a push, an enrollment, a config pull, a read of totals or status

	mu         sync.Mutex // guards the fields below
	batchLimit int        // halved on 413, grows back after a run of successes
	fits       int        // successful pushes since the limit last changed
	failures   int        // consecutive failures, for the backoff
	requestN   int64      // for X-Request-ID
	lastError  string
	loop       *loop
	online     bool
	closed     bool
}

var (
	bucketMeta     = []byte("meta")
	bucketOutbox   = []byte("outbox")   // seq → event JSON
	bucketSales    = []byte("sales")    // ULID → sale record
	bucketDays     = []byte("days")     // business date → tally
	bucketRejected = []byte("rejected") // event ULID (seq BE in files before 2026-11-27) → rejection
)

var (
	keyDevice        = []byte("device")
	keyNextSeq       = []byte("next_seq")
	keyPending       = []byte("pending")
	keyAnchor        = []byte("anchor")
	keyHLC           = []byte("hlc")
	keyState         = []byte("state")
	keyConfig        = []byte("config")
	keyConfigETag    = []byte("config_etag")
	keyConfigVersion = []byte("config_version")
	keyConfigStale   = []byte("config_stale")
	keyULIDTag       = []byte("ulid_tag") // chosync.ULIDTag, made at the first event
)

// device is what enrollment gave.
type device struct {
	ID      string `json:"device_id"`
	Token   string `json:"token"`
	StallID string `json:"stall_id"`
}

// syncState is the persisted state of the push loop.
type syncState struct {
	State     string `json:"state"`
	LastError string `json:"last_error,omitempty"`
}

// Open opens (creating if needed) the outbox file at path. Only one Client
// may hold a file at a time: bbolt locks it.
func Open(path string, opts *Options) (*Client, error) {
	if opts == nil || opts.Clock == nil {
		return nil, ErrNoClock
	}
	o := *opts
	if o.BatchSize <= 0 || o.BatchSize > chosync.MaxEvents {
		o.BatchSize = chosync.MaxEvents
	}
	if o.TimeoutMs <= 0 {
		o.TimeoutMs = 30_000
	}
	if o.BackoffBaseMs <= 0 {
		o.BackoffBaseMs = 2_000
	}
	if o.BackoffCapMs <= 0 {
		o.BackoffCapMs = 300_000
	}
	switch {
	case o.ReconnectJitterMs == 0:
		o.ReconnectJitterMs = 60_000
	case o.ReconnectJitterMs < 0:
		o.ReconnectJitterMs = 0
	}
	tz := o.TZOffsetMinutes
	if tz == 0 {
		tz = 7 * 60
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, NoSync: o.NoSync})
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketOutbox, bucketSales, bucketDays, bucketRejected} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	c := &Client{
		db: db, opts: o, clock: o.Clock, base: strings.TrimRight(o.ServerURL, "/"),
		http: &http.Client{Transport: tr}, timeout: time.Duration(o.TimeoutMs) * time.Millisecond,
		tzOffset: tz, batchLimit: o.BatchSize, online: true,
	}
	return c, nil
}

// Close stops the push loop, waits for a push, pull or read in flight (up
// to Options.TimeoutMs), and closes the file. Nothing is lost: pending events stay in the file.
func (c *Client) Close() error {
	c.Stop()
	c.pushMu.Lock()
	defer c.pushMu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.http.CloseIdleConnections()
	return c.db.Close()
}

// Status is a snapshot of the client, for the app's "n sales waiting"
// badge and for support.
type Status struct {
	DeviceID      string
	StallID       string
	Enrolled      bool
	State         string // StateOK, StateRevoked, …
	LastError     string
	Pending       int   // events in the outbox
	NextSeq       int64 // the seq the next event gets
	Rejected      int   // events the server refused, kept locally
	ConfigVersion int64
	ConfigStale   bool  // a push said the server has a newer config
	AnchoredMs    int64 // the server's time now by the anchored clock; 0 without an anchor this boot
	HLC           string
}

// Status reports the client's state.
func (c *Client) Status() (*Status, error) {
	elapsed, boot := c.clock.ElapsedMs(), c.clock.BootID()
	s := &Status{}
	err := c.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		d, err := readDevice(m)
		if err != nil {
			return err
		}
		s.DeviceID, s.StallID, s.Enrolled = d.ID, d.StallID, d.Token != ""
		st := readState(m)
		s.State, s.LastError = st.State, st.LastError
		s.Pending = int(getUint(m, keyPending))
		s.NextSeq = int64(nextSeq(m))
		s.Rejected = tx.Bucket(bucketRejected).Stats().KeyN
		s.ConfigVersion = int64(getUint(m, keyConfigVersion))
		s.ConfigStale = getUint(m, keyConfigStale) != 0
		var a anchor
		readJSON(m, keyAnchor, &a)
		s.AnchoredMs = a.anchoredMs(elapsed, boot)
		var h hlc
		readJSON(m, keyHLC, &h)
		s.HLC = h.String()
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if s.State == StateOK && c.lastError != "" {
		s.LastError = c.lastError
	}
	c.mu.Unlock()
	return s, nil
}

// Token returns the device's current token, "" before enrollment. The app
// rarely needs it; the simulator uses it to read what the server holds.
func (c *Client) Token() (string, error) {
	var tok string
	err := c.db.View(func(tx *bolt.Tx) error {
		d, err := readDevice(tx.Bucket(bucketMeta))
		tok = d.Token
		return err
	})
	return tok, err
}

// enrollRequest and enrollResponse are the body and answer of
// POST /v1/devices/enroll.
type enrollRequest struct {
	Code       string `json:"code"`
	AppVersion string `json:"app_version"`
	// The device the phone held and its token, when it enrolls again: the
	// server then checks its day.close against that device's sales too.
	Replaces      string `json:"replaces,omitempty"`
	ReplacesToken string `json:"replaces_token,omitempty"`
}

type enrollResponse struct {
	DeviceID     string `json:"device_id"`
	Token        string `json:"token"`
	StallID      string `json:"stall_id"`
	ServerTimeMs int64  `json:"server_time_ms"`
}

// Enroll redeems a one-time enrollment code a volunteer made for the stall
// and stores the device id and token. It waits for the server (see the
// package comment on threads); a wrong, used or expired code is ErrorKind
// KindNotFound. Enrolling again (after a revocation, a 401, a reinstall
// restored from backup, or a seq the server says was reused) makes this a
// new device: the pending events are numbered again from 1 in their order,
// and keep their ULIDs, so the server applies each sale once whichever
// device id it arrives under, those it applied before under the old one
// included.
//
// The events in the outbox are the sales of the stall the phone was
// enrolled for, and the server counts an event for the stall of the device
// that sends it. So a code for another stall while events are pending is
// refused with ErrOtherStall (ErrorKind KindOtherStall), and the phone
// stays as it was, its outbox and its old device untouched: enroll it
// again for its own stall (Status.StallID) to send them, then for the new
// one. The code is spent all the same; the device the server made for it
// never syncs, and a volunteer may revoke it. With nothing pending, the
// phone moves to the new stall and forgets the old one's sales, days and
// rejections (the server keeps the sales, for that stall): its tallies
// and day.close count the new stall's sales only.
//
// For its own stall, the phone keeps its days: a day.close after it
// counts the sales it made under the old device too. So it names the old
// device to the server, with its token as proof, and the server checks
// the day.close against both devices' sales (it ignores the claim for
// another stall).
func (c *Client) Enroll(code string) error {
	c.pushMu.Lock()
	defer c.pushMu.Unlock()
	if c.isClosed() {
		return ErrClosed
	}
	var held device
	if err := c.db.View(func(tx *bolt.Tx) error { return readJSON(tx.Bucket(bucketMeta), keyDevice, &held) }); err != nil {
		return err
	}
	req := enrollRequest{Code: strings.TrimSpace(code), AppVersion: c.opts.AppVersion}
	if held.ID != "" && held.Token != "" {
		req.Replaces, req.ReplacesToken = held.ID, held.Token
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	body, _ := json.Marshal(req)
	res, raw, err := c.do(ctx, http.MethodPost, "/v1/devices/enroll", "", body, nil)
	if err == nil && res.StatusCode == http.StatusBadRequest && req.ReplacesToken != "" {
		// A server from before the claim refuses a body with fields it
		// does not know, before it looks at the code: enroll as a new
		// install, as apps did then.
		req.Replaces, req.ReplacesToken = "", ""
		body, _ = json.Marshal(req)
		res, raw, err = c.do(ctx, http.MethodPost, "/v1/devices/enroll", "", body, nil)
	}
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
		return httpError(res, raw)
	}
	var er enrollResponse
	if err := json.Unmarshal(raw, &er); err != nil || er.DeviceID == "" || er.Token == "" {
		return fmt.Errorf("%w: enrollment answer without device_id and token", errBadResponse)
	}
	wall, elapsed, boot := c.clock.WallMs(), c.clock.ElapsedMs(), c.clock.BootID()
	err = c.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		var old device
		if err := readJSON(m, keyDevice, &old); err != nil {
			return err
		}
		if n := getUint(m, keyPending); n > 0 && old.StallID != "" && old.StallID != er.StallID {
			return fmt.Errorf("%w: %d events of stall %s are not on the server yet; enroll this phone for that stall again to send them, then for stall %s",
				ErrOtherStall, n, old.StallID, er.StallID)
		}
		// The next pull is a whole config, whatever the server's ETag. The
		// config of another stall goes now: its QR and payout account must
		// never be shown for this one.
		if err := m.Delete(keyConfigETag); err != nil {
			return err
		}
		if old.StallID != er.StallID {
			for _, k := range [][]byte{keyConfig, keyConfigVersion} {
				if err := m.Delete(k); err != nil {
					return err
				}
			}
		}
		if old.StallID != "" && old.StallID != er.StallID {
			// The phone's sales, days and rejections were the old stall's,
			// all on the server (the outbox is empty): kept, they would be
			// the new vendor's day, and its day.close would count them.
			for _, b := range [][]byte{bucketSales, bucketDays, bucketRejected} {
				if err := tx.DeleteBucket(b); err != nil {
					return err
				}
				if _, err := tx.CreateBucket(b); err != nil {
					return err
				}
			}
		}
		if err := writeJSON(m, keyDevice, device{ID: er.DeviceID, Token: er.Token, StallID: er.StallID}); err != nil {
			return err
		}
		if err := renumber(tx); err != nil {
			return err
		}
		if err := writeJSON(m, keyState, syncState{State: StateOK}); err != nil {
			return err
		}
		if er.ServerTimeMs > 0 {
			if err := c.updateAnchor(m, er.ServerTimeMs, wall, elapsed, boot); err != nil {
				return err
			}
		}
		return putUint(m, keyConfigStale, 1) // a new device pulls its config
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.failures, c.lastError, c.batchLimit = 0, "", c.opts.BatchSize
	c.mu.Unlock()
	c.Kick()
	return nil
}

// renumber gives the pending events seqs 1…n, in order, for a new device.
func renumber(tx *bolt.Tx) error {
	ob := tx.Bucket(bucketOutbox)
	var events [][]byte
	err := ob.ForEach(func(k, v []byte) error {
		events = append(events, append([]byte(nil), v...))
		return nil
	})
	if err != nil {
		return err
	}
	if err := tx.DeleteBucket(bucketOutbox); err != nil {
		return err
	}
	ob, err = tx.CreateBucket(bucketOutbox)
	if err != nil {
		return err
	}
	for i, raw := range events {
		var ev chosync.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return err
		}
		ev.Seq = uint64(i + 1)
		b, err := json.Marshal(&ev)
		if err != nil {
			return err
		}
		if err := ob.Put(seqKey(ev.Seq), b); err != nil {
			return err
		}
	}
	m := tx.Bucket(bucketMeta)
	if err := putUint(m, keyPending, uint64(len(events))); err != nil {
		return err
	}
	return putUint(m, keyNextSeq, uint64(len(events)+1))
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// updateAnchor stores the anchor of a response that carried the server's
// time, received at the given phone times, and merges it into the HLC.
func (c *Client) updateAnchor(m *bolt.Bucket, serverMs, wall, elapsed int64, boot string) error {
	a := anchor{ServerMs: serverMs, ElapsedMs: elapsed, BootID: boot, OffsetMs: serverMs - wall, HasOffset: true}
	if err := writeJSON(m, keyAnchor, a); err != nil {
		return err
	}
	var h hlc
	readJSON(m, keyHLC, &h)
	h.recv(serverMs, serverMs)
	return writeJSON(m, keyHLC, h)
}

func readDevice(m *bolt.Bucket) (device, error) {
	var d device
	return d, readJSON(m, keyDevice, &d)
}

func readState(m *bolt.Bucket) syncState {
	st := syncState{State: StateOK}
	readJSON(m, keyState, &st)
	if st.State == "" {
		st.State = StateOK
	}
	return st
}

func nextSeq(m *bolt.Bucket) uint64 {
	if n := getUint(m, keyNextSeq); n > 0 {
		return n
	}
	return 1
}

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

func getUint(b *bolt.Bucket, key []byte) uint64 {
	v := b.Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putUint(b *bolt.Bucket, key []byte, n uint64) error {
	return b.Put(key, seqKey(n))
}

// readJSON decodes the value at key into v; a missing key leaves v as is.
func readJSON(b *bolt.Bucket, key []byte, v any) error {
	raw := b.Get(key)
	if raw == nil {
		return nil
	}
	return json.Unmarshal(raw, v)
}

func writeJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}
