package client

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// loop is the running push loop.
type loop struct {
	cancel context.CancelFunc
	done   chan struct{}
	kick   chan struct{}
	// next is when the loop may push again (Retry-After, backoff, the
	// reconnect delay). Guarded by Client.mu.
	next time.Time
	// observing is set while the loop tells the Observer of a push: a
	// Stop then (the observer's own, say) does not wait for the loop,
	// which waits for the observer.
	observing atomic.Bool
}

// Run starts the push loop in the background, if it is not running: it
// pushes whenever events are pending and the phone is online, one request
// at a time, backs off after failures, honours Retry-After, pulls the
// config when a push says it changed, and waits on a state the loop cannot
// clear by itself: a suspended phone asks again every 15 minutes and at
// once on Kick; a revoked, unauthorized or needs_reenroll phone pushes no
// more until the app enrolls it again (Enroll with a new code).
func (c *Client) Run() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loop != nil || c.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &loop{cancel: cancel, done: make(chan struct{}), kick: make(chan struct{}, 1)}
	c.loop = l
	go c.run(ctx, l)
}

// Stop stops the push loop and waits for it; a push in flight is
// abandoned (nothing it carried is deleted, so it is sent again later).
// Called while the loop tells the Observer of a push (from the observer,
// say), it does not wait: the loop ends when the observer returns.
func (c *Client) Stop() {
	c.mu.Lock()
	l := c.loop
	c.loop = nil
	c.mu.Unlock()
	if l == nil {
		return
	}
	l.cancel()
	if l.observing.Load() {
		return // the loop ends when the observer returns
	}
	<-l.done
}

// suspendedRetry is how often the loop tries a suspended phone's push
// again: a volunteer reactivates the stall on the server, and the phone
// learns of it only by asking.
const suspendedRetry = 15 * time.Minute

// Kick asks the loop to push now, when the app knows the network is back.
// It does not cut a Retry-After short, but it does cut short the wait of a
// suspended phone (the vendor says the stall was reactivated). It does not
// clear revoked, unauthorized or needs_reenroll: only Enroll does.
func (c *Client) Kick() {
	if st, err := c.Status(); err == nil && st.State == StateSuspended {
		c.mu.Lock()
		if l := c.loop; l != nil {
			l.next = time.Time{}
		}
		c.mu.Unlock()
	}
	c.wake()
}

// wake makes the loop look for work now, within its waits: a new event
// or the network back does not cut a suspended phone's wait short, or the
// reconnect jitter, as the app's Kick does.
func (c *Client) wake() {
	c.mu.Lock()
	l := c.loop
	c.mu.Unlock()
	if l != nil {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// SetOnline tells the client whether the phone has a network. Coming back
// online waits a random 0–ReconnectJitterMs before the first push, so the
// phones of a market do not all push the moment the market closes.
func (c *Client) SetOnline(online bool) {
	c.mu.Lock()
	was := c.online
	c.online = online
	l := c.loop
	if online && !was && l != nil && c.opts.ReconnectJitterMs > 0 {
		at := time.Now().Add(time.Duration(rand.Int64N(c.opts.ReconnectJitterMs+1)) * time.Millisecond)
		if at.After(l.next) {
			l.next = at
		}
	}
	c.mu.Unlock()
	c.wake()
}

// eventAdded wakes the loop for a new event, after PushDelayMs.
func (c *Client) eventAdded() {
	c.mu.Lock()
	l := c.loop
	if now := time.Now(); l != nil && c.opts.PushDelayMs > 0 && !l.next.After(now) {
		// Only the first event of a quiet spell starts the delay: a vendor
		// selling without pause must not postpone the push forever.
		l.next = now.Add(time.Duration(c.opts.PushDelayMs) * time.Millisecond)
	}
	c.mu.Unlock()
	c.wake()
}

func (c *Client) run(ctx context.Context, l *loop) {
	defer close(l.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait, work := c.nextStep(l)
		if work {
			c.step(ctx, l)
			if ctx.Err() != nil {
				return
			}
			continue
		}
		if wait > 0 {
			timer.Reset(wait)
		}
		var tc <-chan time.Time
		if wait > 0 {
			tc = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-l.kick:
		case <-tc:
		}
		if wait > 0 && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// nextStep decides whether there is work now, or how long to wait for it
// (0 means until a kick). A suspended phone still has work: its push is
// tried again every suspendedRetry, or at a kick.
func (c *Client) nextStep(l *loop) (time.Duration, bool) {
	c.mu.Lock()
	online, next := c.online, l.next
	c.mu.Unlock()
	if !online {
		return 0, false
	}
	if d := time.Until(next); d > 0 {
		return d, false
	}
	st, err := c.Status()
	if err != nil || !st.Enrolled || (st.State != StateOK && st.State != StateSuspended) {
		return 0, false
	}
	return 0, st.Pending > 0 || st.ConfigStale
}

// step does one unit of work: a config pull when stale, else a push.
func (c *Client) step(ctx context.Context, l *loop) {
	st, err := c.Status()
	if err != nil {
		return
	}
	var delay int64
	if st.ConfigStale && st.Pending == 0 {
		if _, err := c.refreshConfig(ctx); err != nil && ctx.Err() == nil {
			c.mu.Lock()
			c.failures++
			delay = backoff(c.failures, c.opts.BackoffBaseMs, c.opts.BackoffCapMs, rand.Float64())
			c.mu.Unlock()
			// A 429 or 503 with Retry-After is waited for, as a push's is.
			if he := HTTPErrorOf(err); he != nil && he.RetryAfterMs > 0 {
				delay = he.RetryAfterMs
			}
		}
	} else {
		r, err := c.pushLocked(ctx)
		if err == nil && r.Outcome != OutcomeNothing && c.opts.Observer != nil {
			l.observing.Store(true)
			c.opts.Observer.PushDone(r)
			l.observing.Store(false)
		}
		if err != nil || r == nil {
			delay = c.opts.BackoffBaseMs
		} else {
			delay = r.NextDelayMs
		}
	}
	c.mu.Lock()
	if at := time.Now().Add(time.Duration(delay) * time.Millisecond); at.After(l.next) {
		l.next = at
	}
	c.mu.Unlock()
}
