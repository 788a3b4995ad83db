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

// EventSummariesChanged tells a partner that stall-days of its programme
// changed after the change seq it was last told of.
const EventSummariesChanged = "summaries.changed"

// Event is the body of a webhook: thin, so a leaked webhook leaks nothing;
// the partner pulls the feed for the data.
type Event struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      EventData `json:"data"`
}

// EventData says where the news lies in the feed.
type EventData struct {
	AfterChangeSeq uint64 `json:"after_change_seq"`
	UpToChangeSeq  uint64 `json:"up_to_change_seq"`
}

// Sign returns the webhook-signature header value for a delivery:
// "v1," + base64 of HMAC-SHA256(secret, id + "." + timestamp + "." + body).
func Sign(secret []byte, id string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "%s.%d.", id, timestamp)
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
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

// Tick makes one round: every partner with news and no pending backoff
// gets one delivery attempt.
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
		if err := d.deliver(ctx, t); err != nil && ctx.Err() == nil {
			log.Warn("webhook delivery", "partner", t.Partner.ID, "err", err)
		}
	}
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
	now := d.now()
	ev := Event{ID: choso.NewID("evt_"), Type: EventSummariesChanged, CreatedAt: now.UTC(), Data: EventData{AfterChangeSeq: after, UpToChangeSeq: upTo}}
	body, _ := json.Marshal(ev)
	status, sendErr := d.send(ctx, t, ev.ID, now.Unix(), body)
	ok := sendErr == nil && status >= 200 && status < 300
	detail := "HTTP " + strconv.Itoa(status)
	if sendErr != nil {
		detail = sendErr.Error()
	}
	b.attempt++
	if err := d.Partners.RecordWebhook(ctx, pid, ev.ID, ev.Type, b.attempt, ok, detail, upTo); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if ok {
		delete(d.retry, pid)
		return nil
	}
	wait := firstRetry << min(b.attempt-1, 20)
	if wait > maxRetry || wait <= 0 {
		wait = maxRetry
	}
	b.next = now.Add(wait)
	d.retry[pid] = b
	return fmt.Errorf("attempt %d: %s; next in %s", b.attempt, detail, wait)
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
