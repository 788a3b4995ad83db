// Package webhook delivers the bank partners' webhooks: thin signed events
// that tell a partner to pull the feed, in the Standard Webhooks style
// (webhook-id, webhook-timestamp, webhook-signature headers). Delivery is
// at least once, retried with exponential backoff, logged, and runs in its
// own goroutine: it reads the store and never holds up ingest.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/choso/choso"
)

// Event types.
const (
	// EventSummariesChanged tells a partner that stall-days of its
	// programme changed after the change seq it was last told of.
	EventSummariesChanged = "summaries.changed"
	// EventReconciliationMismatch tells a partner that a payout account's
	// reconciliation on a business day turned mismatch, or that its
	// reasons changed: once per change of state, however often the
	// reconciliation is re-run.
	EventReconciliationMismatch = "reconciliation.mismatch"
)

// Event is the body of a webhook: thin, so a leaked webhook leaks no
// money figures; the partner pulls the feed or the reconciliation for the
// data. Data is SummariesChanged or ReconciliationMismatch, by Type.
type Event struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      any       `json:"data"`
}

// SummariesChanged says where the news lies in the feed.
type SummariesChanged struct {
	AfterChangeSeq uint64 `json:"after_change_seq"`
	UpToChangeSeq  uint64 `json:"up_to_change_seq"`
}

// ReconciliationMismatch names the reconciliation to pull
// (GET /partner/v1/reconciliation?date=&bin=&account=) and why it is a
// mismatch.
type ReconciliationMismatch struct {
	BIN          string   `json:"bin"`
	Account      string   `json:"account"`
	BusinessDate string   `json:"business_date"`
	StallID      string   `json:"stall_id"`
	Reasons      []string `json:"reasons"` // unmatched_bank_lines, unmatched_qr_sales, amount_differs
}

// Sign returns the webhook-signature header value for a delivery, as
// Standard Webhooks define it: "v1," + base64 of HMAC-SHA256 over
// id + "." + timestamp + "." + body, keyed with the secret's bytes, the
// base64 after its "whsec_" (signingKey).
func Sign(secret []byte, id string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, signingKey(secret))
	fmt.Fprintf(m, "%s.%d.", id, timestamp)
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// signingKey returns the HMAC key of a secret: for "whsec_" and standard
// base64, the bytes that base64 encodes, as Standard Webhooks libraries
// decode them. A secret issued before secrets were made so (URL-safe base64
// without padding) keeps signing as it did, keyed with its whole text, so
// a bank that verifies as it was told keeps working until it takes a new
// secret.
func signingKey(secret []byte) []byte {
	text, ok := bytes.CutPrefix(secret, []byte("whsec_"))
	if !ok {
		return secret
	}
	if key, err := base64.StdEncoding.DecodeString(string(text)); err == nil && len(key) > 0 {
		return key
	}
	return secret
}

// Dispatcher sends webhooks.
type Dispatcher struct {
	Partners *choso.Partners
	Client   *http.Client  // nil: 10 s timeout, no redirects
	Log      *slog.Logger  // nil: slog.Default()
	Interval time.Duration // how often to look for news; default 5 s
	Now      func() time.Time

	mu    sync.Mutex
	retry map[string]backoff // by partner
}

type backoff struct {
	attempt int
	next    time.Time
}

// Backoff bounds: 1 s after the first failure, doubling, at most 10 minutes.
const (
	firstRetry = time.Second
	maxRetry   = 10 * time.Minute
)

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Run delivers until ctx is done.
func (d *Dispatcher) Run(ctx context.Context) {
	interval := d.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		d.Tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Tick makes one round: every partner's changed reconciliations are
// re-run, then every partner with news and no pending backoff gets its
// deliveries, summaries first, until one fails.
func (d *Dispatcher) Tick(ctx context.Context) {
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	targets, err := d.Partners.WebhookTargets(ctx)
	if err != nil {
		log.Error("webhook targets", "err", err)
		return
	}
	for _, t := range targets {
		if err := d.rerun(ctx, t); err != nil && ctx.Err() == nil {
			log.Error("reconciliation re-run", "partner", t.Partner.ID, "err", err)
		}
		if err := d.deliver(ctx, t); err != nil && ctx.Err() == nil {
			log.Warn("webhook delivery", "partner", t.Partner.ID, "err", err)
		}
	}
}

// maxPassesPerTick bounds the reconciliation passes of one round, so one
// partner's backlog (a date turning final) does not hold up the others.
const maxPassesPerTick = 10

// rerun re-runs the partner's changed reconciliations, queueing a notice
// for each new mismatch. It runs whatever the state of deliveries: the
// queue is bounded, and passes wait while it is full.
func (d *Dispatcher) rerun(ctx context.Context, t choso.WebhookTarget) error {
	for range maxPassesPerTick {
		_, more, err := d.Partners.RerunReconciliations(ctx, t.Partner)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func (d *Dispatcher) deliver(ctx context.Context, t choso.WebhookTarget) error {
	pid := t.Partner.ID
	d.mu.Lock()
	if d.retry == nil {
		d.retry = map[string]backoff{}
	}
	b := d.retry[pid]
	d.mu.Unlock()
	if d.now().Before(b.next) {
		return nil
	}
	if err := d.deliverSummaries(ctx, t, &b); err != nil {
		return d.failed(pid, b, err)
	}
	notices, err := d.Partners.ReconNotices(ctx, pid)
	if err != nil {
		return err
	}
	for i := range notices {
		n := &notices[i]
		data := ReconciliationMismatch{BIN: n.BIN, Account: n.Account, BusinessDate: n.BusinessDate, StallID: n.StallID, Reasons: n.Reasons}
		ev := Event{ID: n.ID, Type: EventReconciliationMismatch, CreatedAt: n.At.UTC(), Data: data}
		ok, detail := d.attempt(ctx, t, ev)
		b.attempt++
		if err := d.Partners.RecordReconNotice(ctx, pid, n, ev.Type, b.attempt, ok, detail); err != nil {
			return err
		}
		if !ok {
			return d.failed(pid, b, &deliveryError{detail})
		}
		b.attempt = 0
	}
	d.mu.Lock()
	delete(d.retry, pid)
	d.mu.Unlock()
	return nil
}

// deliveryError is a delivery that was attempted and failed: it starts
// or lengthens the partner's backoff.
type deliveryError struct{ detail string }

func (e *deliveryError) Error() string { return e.detail }

// failed sets the partner's next attempt after a failed delivery, doubling
// the wait each time.
func (d *Dispatcher) failed(pid string, b backoff, err error) error {
	if _, ok := err.(*deliveryError); !ok {
		return err // not a delivery (the store): try again next round
	}
	wait := firstRetry << min(max(b.attempt, 1)-1, 20)
	if wait > maxRetry || wait <= 0 {
		wait = maxRetry
	}
	b.next = d.now().Add(wait)
	d.mu.Lock()
	d.retry[pid] = b
	d.mu.Unlock()
	return fmt.Errorf("attempt %d: %v; next in %s", b.attempt, err, wait)
}

// attempt sends one event and says whether it was taken (2xx).
func (d *Dispatcher) attempt(ctx context.Context, t choso.WebhookTarget, ev Event) (bool, string) {
	body, _ := json.Marshal(ev)
	status, err := d.send(ctx, t, ev.ID, d.now().Unix(), body)
	if err != nil {
		return false, err.Error()
	}
	return status >= 200 && status < 300, "HTTP " + strconv.Itoa(status)
}

// deliverSummaries tells the partner of feed changes of its programme
// since it was last told, if any.
func (d *Dispatcher) deliverSummaries(ctx context.Context, t choso.WebhookTarget, b *backoff) error {
	pid := t.Partner.ID
	after, err := d.Partners.WebhookCursor(ctx, pid)
	if err != nil {
		return err
	}
	page, err := d.Partners.Changes(ctx, t.Partner, after, 1)
	if err != nil {
		return err
	}
	if len(page.Data) == 0 {
		// Nothing of the partner's: move the cursor past what was scanned,
		// silently, so the next round starts there.
		if page.Last > after {
			return d.Partners.RecordWebhookCursor(ctx, pid, page.Last)
		}
		return nil
	}
	upTo := page.Data[0].ChangeSeq
	// Tell of everything up to the feed's end now; the partner pulls it all.
	for page.HasMore {
		if page, err = d.Partners.Changes(ctx, t.Partner, page.Last, choso.MaxFeedLimit); err != nil {
			return err
		}
		if n := len(page.Data); n > 0 {
			upTo = page.Data[n-1].ChangeSeq
		}
	}
	ev := Event{ID: choso.NewID(choso.PrefixEvent), Type: EventSummariesChanged, CreatedAt: d.now().UTC(), Data: SummariesChanged{AfterChangeSeq: after, UpToChangeSeq: upTo}}
	ok, detail := d.attempt(ctx, t, ev)
	b.attempt++
	if err := d.Partners.RecordWebhook(ctx, pid, ev.ID, ev.Type, b.attempt, ok, detail, upTo); err != nil {
		return err
	}
	if !ok {
		return &deliveryError{detail}
	}
	b.attempt = 0
	return nil
}
func (d *Dispatcher) send(ctx context.Context, t choso.WebhookTarget, id string, ts int64, body []byte) (int, error) {
	client := d.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Partner.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(t.Secret, id, ts, body))
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	return res.StatusCode, nil
}
