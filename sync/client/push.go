package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/choso/choso"
	chosync "github.com/choso/choso/sync"
)

// Push outcomes, in PushResult.Outcome.
const (
	OutcomeOK            = "ok"             // the server answered; what it acked is gone from the outbox
	OutcomeNothing       = "nothing"        // the outbox is empty: no request was made
	OutcomeGap           = "gap"            // the server expects an earlier seq; the next push starts there
	OutcomeRateLimited   = "rate_limited"   // 429: wait Retry-After
	OutcomeUnavailable   = "unavailable"    // 503: wait Retry-After, or back off
	OutcomeTooLarge      = "too_large"      // 413: the batch was halved
	OutcomeUnauthorized  = "unauthorized"   // 401: enroll again; the outbox is kept
	OutcomeRevoked       = "revoked"        // 403 device_revoked: enroll again; the outbox is kept
	OutcomeSuspended     = "suspended"      // 403 device_suspended: sales wait on the phone
	OutcomeForbidden     = "forbidden"      // another 403
	OutcomeNeedsReenroll = "needs_reenroll" // the server lacks events the phone no longer has, or a seq was reused
	OutcomeInvalid       = "invalid"        // 400: a client bug; backs off
	OutcomeServerError   = "server_error"   // another 5xx or an unexpected status
	OutcomeBadResponse   = "bad_response"   // a 200 that does not parse: nothing is deleted
	OutcomeNetwork       = "network"        // no answer: nothing is deleted
	OutcomeTimeout       = "timeout"        // no answer in time: nothing is deleted
)

// PushResult is the outcome of one push request.
type PushResult struct {
	Outcome    string
	HTTPStatus int // 0 when no answer came
	Sent       int // events in the request
	Acked      int // events deleted from the outbox
	Applied    int
	Duplicates int
	Rejected   int
	Pending    int   // events left in the outbox
	AckSeq     int64 // the server's ack_seq, when it answered 200
	BodyBytes  int   // the request body as sent (gzip)
	LatencyMs  int64 // from sending the request to reading the answer
	LatencyUs  int64 // the same in microseconds
	// RetryAfterMs is the server's Retry-After, 0 when it gave none.
	RetryAfterMs int64
	// NextDelayMs is when the loop pushes again: 0 for at once.
	NextDelayMs int64
	Error       string
}

// PushOnce sends one batch of the oldest pending events and applies the
// answer. Only one push is in flight at a time; a call while the loop is
// pushing waits for it, and the call waits for the server (see the package
// comment on threads). The error is for local failures only (closed, not
// enrolled, the file); what the server or network did is in the result.
func (c *Client) PushOnce() (*PushResult, error) {
	return c.pushOnce(context.Background())
}

func (c *Client) pushOnce(ctx context.Context) (*PushResult, error) {
	r, err := c.pushLocked(ctx)
	if err != nil {
		return nil, err
	}
	// Told after the lock is let go: an observer may pull the config or
	// push again.
	if r.Outcome != OutcomeNothing && c.opts.Observer != nil {
		c.opts.Observer.PushDone(r)
	}
	return r, nil
}

// pushLocked is one push under the token lock.
func (c *Client) pushLocked(ctx context.Context) (*PushResult, error) {
	c.pushMu.Lock()
	defer c.pushMu.Unlock()
	if c.isClosed() {
		return nil, ErrClosed
	}
	return c.push(ctx)
}

// batch is what one push sends.
type batch struct {
	dev      device
	events   []chosync.Event
	pending  int
	oldestMs int64
	hlc      hlc
}

// readBatch reads the oldest pending events: at most limit, and no more
// raw bytes than half the decoded limit (so the JSON around them fits).
func (c *Client) readBatch(limit int) (*batch, error) {
	b := &batch{}
	err := c.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		var err error
		if b.dev, err = readDevice(m); err != nil {
			return err
		}
		if b.dev.Token == "" {
			return ErrNotEnrolled
		}
		b.pending = int(getUint(m, keyPending))
		readJSON(m, keyHLC, &b.hlc)
		cur := tx.Bucket(bucketOutbox).Cursor()
		size := 0
		for k, v := cur.First(); k != nil && len(b.events) < limit; k, v = cur.Next() {
			if len(b.events) > 0 && size+len(v) > chosync.MaxDecodedBytes/2 {
				break
			}
			var ev chosync.Event
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("client: outbox seq %x: %w", k, err)
			}
			if len(b.events) == 0 {
				b.oldestMs = ev.WallMs
			}
			size += len(v)
			b.events = append(b.events, ev)
		}
		return nil
	})
	return b, err
}

// encode marshals and gzips a push request.
func encodePush(req *chosync.PushRequest) ([]byte, error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if len(raw) > chosync.MaxDecodedBytes {
		return nil, errTooBig
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if buf.Len() > chosync.MaxWireBytes {
		return nil, errTooBig
	}
	return buf.Bytes(), nil
}

var errTooBig = errors.New("client: batch over the byte limits")

func (c *Client) push(ctx context.Context) (*PushResult, error) {
	st, err := c.state()
	if err != nil {
		return nil, err
	}
	r := &PushResult{}
	if st.State == StateRevoked || st.State == StateNeedsReenroll {
		r.Outcome, r.Error = st.State, st.LastError
		r.Pending, _ = c.pendingCount()
		return r, nil
	}
	c.mu.Lock()
	limit := c.batchLimit
	c.mu.Unlock()
	b, err := c.readBatch(limit)
	if err != nil {
		return nil, err
	}
	if len(b.events) == 0 {
		r.Outcome = OutcomeNothing
		return r, nil
	}
	wall, elapsed, boot := c.clock.WallMs(), c.clock.ElapsedMs(), c.clock.BootID()
	req := &chosync.PushRequest{
		Protocol: chosync.ProtocolVersion, AppVersion: c.opts.AppVersion,
		Client: chosync.ClientState{WallMs: wall, ElapsedMs: elapsed, BootID: boot, HLC: b.hlc.String(),
			PendingCount: b.pending, OldestPendingWallMs: b.oldestMs},
	}
	var body []byte
	for n := len(b.events); ; n /= 2 {
		req.Events = b.events[:n]
		body, err = encodePush(req)
		if err == nil {
			break
		}
		if !errors.Is(err, errTooBig) || n == 1 {
			return nil, err
		}
	}
	r.Sent, r.BodyBytes = len(req.Events), len(body)
	c.mu.Lock()
	c.requestN++
	reqID := fmt.Sprintf("%s-%s-%d", b.dev.ID, boot, c.requestN)
	c.mu.Unlock()

	// The deadline is counted from start, so that a push that timed out
	// reports a latency of at least the timeout.
	start := time.Now()
	rctx, cancel := context.WithDeadline(ctx, start.Add(c.timeout))
	defer cancel()
	res, raw, err := c.do(rctx, http.MethodPost, "/v1/sync/push", b.dev.Token, body,
		map[string]string{"Content-Encoding": "gzip", "X-Request-ID": reqID})
	took := time.Since(start)
	r.LatencyMs, r.LatencyUs = took.Milliseconds(), took.Microseconds()
	if err != nil {
		r.Outcome, r.Error = OutcomeNetwork, err.Error()
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
			r.Outcome = OutcomeTimeout
		}
		if res != nil {
			r.HTTPStatus = res.StatusCode
		}
		c.failed(r, 0)
		r.Pending = b.pending
		return r, nil
	}
	r.HTTPStatus = res.StatusCode
	ra := retryAfter(res.Header)
	r.RetryAfterMs = ra.Milliseconds()
	code, msg := errorCode(raw)
	if msg != "" {
		r.Error = code + ": " + msg
	}
	r.Pending = b.pending
	switch res.StatusCode {
	case http.StatusOK:
		var resp chosync.PushResponse
		if err := json.Unmarshal(raw, &resp); err != nil {
			r.Outcome, r.Error = OutcomeBadResponse, err.Error()
			c.failed(r, 0)
			return r, nil
		}
		recv := c.clock.ElapsedMs()
		if err := c.applyResponse(r, req.Events, &resp, c.clock.WallMs(), recv, boot); err != nil {
			return nil, err
		}
		return r, nil
	case http.StatusRequestEntityTooLarge:
		r.Outcome = OutcomeTooLarge
		c.mu.Lock()
		c.batchLimit, c.fits = max(1, len(req.Events)/2), 0
		c.mu.Unlock()
		if len(req.Events) > 1 {
			r.NextDelayMs = 0
			return r, nil
		}
		c.failed(r, 0)
	case http.StatusTooManyRequests:
		r.Outcome = OutcomeRateLimited
		c.failed(r, ra)
	case http.StatusServiceUnavailable:
		r.Outcome = OutcomeUnavailable
		c.failed(r, ra)
	case http.StatusUnauthorized:
		r.Outcome = OutcomeUnauthorized
		c.stop(r, StateUnauthorized)
	case http.StatusForbidden:
		switch code {
		case codeDeviceRevoked:
			r.Outcome = OutcomeRevoked
			c.stop(r, StateRevoked)
		case codeDeviceSuspended:
			r.Outcome = OutcomeSuspended
			r.NextDelayMs = suspendedRetry.Milliseconds()
			c.stop(r, StateSuspended)
		default:
			r.Outcome = OutcomeForbidden
			c.stop(r, StateUnauthorized)
		}
	case http.StatusBadRequest:
		r.Outcome = OutcomeInvalid
		c.failed(r, ra)
	default:
		r.Outcome = OutcomeServerError
		c.failed(r, ra)
	}
	if r.Error == "" {
		r.Error = fmt.Sprintf("HTTP %d", res.StatusCode)
	}
	return r, nil
}

// failed records a failure and sets when to try again: after Retry-After
// when the server gave one, else a full-jitter exponential backoff.
func (c *Client) failed(r *PushResult, ra time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures++
	c.lastError = r.Outcome
	if r.Error != "" {
		c.lastError += ": " + r.Error
	}
	if ra > 0 {
		r.NextDelayMs = ra.Milliseconds()
		return
	}
	r.NextDelayMs = backoff(c.failures, c.opts.BackoffBaseMs, c.opts.BackoffCapMs, rand.Float64())
}

// backoff is the full-jitter delay after the n-th consecutive failure: a
// uniform draw (u in [0,1)) below min(cap, base·2^(n−1)).
func backoff(n int, baseMs, capMs int64, u float64) int64 {
	ceil := capMs
	if n < 1 {
		n = 1
	}
	if n <= 40 {
		if e := baseMs << (n - 1); e > 0 && e < capMs {
			ceil = e
		}
	}
	return int64(u * float64(ceil))
}

// stop records a state that stops the push loop until the app acts.
func (c *Client) stop(r *PushResult, state string) {
	c.mu.Lock()
	c.lastError = r.Outcome
	c.mu.Unlock()
	c.db.Update(func(tx *bolt.Tx) error {
		return writeJSON(tx.Bucket(bucketMeta), keyState, syncState{State: state, LastError: r.Error})
	})
}

// applyResponse deletes what a 200 answer acknowledged, keeps the
// rejections, stores the anchor, the HLC, a rotated token and the config
// hint: one local transaction. Only events this request carried, with
// seq ≤ ack_seq, are deleted; a later event the server says it consumed
// comes back as a duplicate with its original result on the next push.
func (c *Client) applyResponse(r *PushResult, sent []chosync.Event, resp *chosync.PushResponse, wall, elapsed int64, boot string) error {
	results := make(map[uint64]*chosync.Result, len(resp.Results))
	for i := range resp.Results {
		results[resp.Results[i].Seq] = &resp.Results[i]
	}
	r.AckSeq = int64(min(resp.AckSeq, 1<<62))
	r.Outcome = OutcomeOK
	var state *syncState
	err := c.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		ob := tx.Bucket(bucketOutbox)
		pending := getUint(m, keyPending)
	events:
		for i := range sent {
			ev := &sent[i]
			res := results[ev.Seq]
			if res != nil {
				switch res.Status {
				case chosync.StatusApplied:
					r.Applied++
				case chosync.StatusDuplicate:
					r.Duplicates++
				case chosync.StatusRejected:
					r.Rejected++
				}
			}
			if ev.Seq > resp.AckSeq {
				continue
			}
			if res != nil {
				switch {
				case res.Status == chosync.StatusRejected && res.Code == chosync.CodeSeqReused:
					// The server holds other content under this seq: this
					// install was cloned or restored. Keep this event and
					// every later one for a new enrollment.
					state = &syncState{State: StateNeedsReenroll, LastError: "seq_reused: " + res.Message}
					break events
				case res.Status == chosync.StatusNotProcessed:
					continue
				}
				if code, message, ok := rejectionOf(res); ok {
					if err := reject(tx, ev, code, message); err != nil {
						return err
					}
				}
			}
			if ob.Get(seqKey(ev.Seq)) != nil {
				if err := ob.Delete(seqKey(ev.Seq)); err != nil {
					return err
				}
				pending--
				r.Acked++
			}
		}
		if err := putUint(m, keyPending, pending); err != nil {
			return err
		}
		r.Pending = int(pending)
		if resp.Gap != nil && state == nil {
			r.Outcome = OutcomeGap
			if k, _ := ob.Cursor().First(); k != nil {
				expected := resp.NextExpectedSeq
				if resp.Gap.Expected > 0 {
					expected = resp.Gap.Expected
				}
				if oldest := getUintKey(k); oldest > expected {
					// The server needs events this phone no longer has.
					state = &syncState{State: StateNeedsReenroll,
						LastError: fmt.Sprintf("gap: the server expects seq %d, the outbox starts at %d", expected, oldest)}
				}
			}
		}
		if state != nil {
			r.Outcome = OutcomeNeedsReenroll
			r.Error = state.LastError
			if err := writeJSON(m, keyState, state); err != nil {
				return err
			}
		} else if err := writeJSON(m, keyState, syncState{State: StateOK}); err != nil {
			return err
		}
		if resp.Token != "" {
			d, err := readDevice(m)
			if err != nil {
				return err
			}
			d.Token = resp.Token
			if err := writeJSON(m, keyDevice, d); err != nil {
				return err
			}
		}
		if resp.ServerTimeMs > 0 {
			if err := c.updateAnchor(m, resp.ServerTimeMs, wall, elapsed, boot); err != nil {
				return err
			}
		}
		if resp.ConfigVersion > 0 && uint64(resp.ConfigVersion) > getUint(m, keyConfigVersion) {
			if err := putUint(m, keyConfigStale, 1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case r.Acked > 0:
		c.failures, c.lastError = 0, ""
		if c.batchLimit < c.opts.BatchSize {
			// After a 413, grow back slowly: the limit that failed is
			// likely to fail again soon.
			if c.fits++; c.fits >= 8 {
				c.batchLimit, c.fits = min(c.opts.BatchSize, c.batchLimit*2), 0
			}
		}
		r.NextDelayMs = 0
	case state != nil:
		c.lastError = r.Outcome
	default:
		// An answer that consumed nothing: do not spin on it.
		c.failures++
		c.lastError = r.Outcome
		r.NextDelayMs = backoff(c.failures, c.opts.BackoffBaseMs, c.opts.BackoffCapMs, rand.Float64())
		if r.Outcome == OutcomeGap && state == nil {
			r.NextDelayMs = 0 // the next push starts at the expected seq
			if c.failures > 3 {
				r.NextDelayMs = backoff(c.failures-3, c.opts.BackoffBaseMs, c.opts.BackoffCapMs, rand.Float64())
			}
		}
	}
	return nil
}

// rejectionOf says whether a result means the server refused the event,
// the first time or (for a duplicate after a lost answer) originally.
func rejectionOf(res *chosync.Result) (code, message string, ok bool) {
	switch {
	case res.Status == chosync.StatusRejected:
		return res.Code, res.Message, true
	case res.Status == chosync.StatusDuplicate && res.Original != nil && res.Original.Status == chosync.StatusRejected:
		return res.Original.Code, res.Message, true
	}
	return "", "", false
}

// reject keeps a refused event and takes a refused sale out of the
// phone's day, since the server never counted it.
func reject(tx *bolt.Tx, ev *chosync.Event, code, message string) error {
	raw, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	rj := rejection{Seq: ev.Seq, ID: ev.ID, Type: ev.Type, Code: code, Message: message, Event: raw}
	// Keyed by the event's ULID: seqs start again at 1 when the phone is
	// enrolled again, and a refusal must not replace an earlier one.
	if err := writeJSON(tx.Bucket(bucketRejected), []byte(ev.ID), rj); err != nil {
		return err
	}
	if ev.Type != choso.EventSaleRecord {
		return nil
	}
	sb := tx.Bucket(bucketSales)
	var s sale
	if sb.Get([]byte(ev.ID)) == nil {
		return nil
	}
	if err := readJSON(sb, []byte(ev.ID), &s); err != nil {
		return err
	}
	if s.Rejected != "" || s.VoidID != "" {
		return nil
	}
	s.Rejected = code
	if code == "" {
		s.Rejected = "rejected"
	}
	if err := writeJSON(sb, []byte(ev.ID), s); err != nil {
		return err
	}
	return updateDay(tx, s.Date, func(d *dayTally) { d.add(s.Method, -1, -s.Amount) })
}

func getUintKey(k []byte) uint64 {
	if len(k) != 8 {
		return 0
	}
	var n uint64
	for _, b := range k {
		n = n<<8 | uint64(b)
	}
	return n
}

func (c *Client) state() (syncState, error) {
	var st syncState
	err := c.db.View(func(tx *bolt.Tx) error {
		st = readState(tx.Bucket(bucketMeta))
		return nil
	})
	return st, err
}

func (c *Client) pendingCount() (int, error) {
	var n int
	err := c.db.View(func(tx *bolt.Tx) error {
		n = int(getUint(tx.Bucket(bucketMeta), keyPending))
		return nil
	})
	return n, err
}
