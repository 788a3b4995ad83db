package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/choso/choso/sync/client"
)

// simClock is a phone's clock: the machine's time plus a skew, and a
// monotonic clock that restarts when the phone reboots.
type simClock struct {
	start  time.Time
	skewMs atomic.Int64
	bootAt atomic.Int64 // ms since start at the last boot
	boots  atomic.Int64
	name   string
}

func newSimClock(name string, skew time.Duration) *simClock {
	c := &simClock{start: time.Now(), name: name}
	c.skewMs.Store(skew.Milliseconds())
	return c
}

func (c *simClock) WallMs() int64 { return time.Now().UnixMilli() + c.skewMs.Load() }
func (c *simClock) ElapsedMs() int64 {
	return 30_000 + time.Since(c.start).Milliseconds() - c.bootAt.Load()
}
func (c *simClock) BootID() string { return fmt.Sprintf("%s-boot-%d", c.name, c.boots.Load()) }

// reboot starts a new boot: the anchor of the last one no longer holds.
func (c *simClock) reboot() {
	c.bootAt.Store(time.Since(c.start).Milliseconds())
	c.boots.Add(1)
}

// phone is one simulated vendor phone: one stall, one outbox file at a
// time (a reinstall wipes it and enrolls again).
type phone struct {
	i         int
	stallID   string
	stallCode string
	dir       string
	url       string // through the simulated network
	direct    string // straight to the server
	clk       *simClock
	opts      client.Options

	mu               sync.Mutex
	c                *client.Client
	install          int
	retired          []*client.Tally // tallies of wiped installs, all acked before the wipe
	sales            []string        // ULIDs of this install's sales, for voids
	recorded, voided int
}

func (p *phone) path() string {
	return filepath.Join(p.dir, fmt.Sprintf("phone-%05d-%d.db", p.i, p.install))
}

func (p *phone) client() *client.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.c
}

// open opens the current install's outbox against base.
func (p *phone) open(base string) error {
	o := p.opts
	o.ServerURL, o.Clock = base, p.clk
	c, err := client.Open(p.path(), &o)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.c = c
	p.mu.Unlock()
	return nil
}

// enroll gets a code for the phone's stall and redeems it, honouring 429s.
func (p *phone) enroll(ctx context.Context, a *admin) error {
	for attempt := 0; ; attempt++ {
		code, err := a.enrollmentCode(ctx, p.stallID)
		if err != nil {
			return fmt.Errorf("enrollment code for %s: %w", p.stallCode, err)
		}
		err = p.client().Enroll(code)
		var he *client.HTTPError
		if errors.As(err, &he) && he.Status == 429 && attempt < 50 {
			wait := max(time.Duration(he.RetryAfterMs)*time.Millisecond, time.Second)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("enroll phone %d: %w", p.i, err)
		}
		return nil
	}
}

// sell records one sale and, now and then, voids an earlier one.
func (p *phone) sell(voidFrac float64) error {
	c := p.client()
	methods := []string{"cash", "cash", "qr", "qr", "qr", "transfer"}
	ev, err := c.RecordSale(int64(5+rand.IntN(500))*1000, methods[rand.IntN(len(methods))], "")
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.recorded++
	p.sales = append(p.sales, ev.ID)
	var victim string
	if voidFrac > 0 && len(p.sales) > 1 && rand.Float64() < voidFrac {
		k := rand.IntN(len(p.sales) - 1)
		victim = p.sales[k]
		p.sales = append(p.sales[:k], p.sales[k+1:]...)
		p.voided++
	}
	p.mu.Unlock()
	if victim != "" {
		if _, err := c.VoidSale(victim, "khách đổi ý"); err != nil {
			return err
		}
	}
	return nil
}

// waitDrained waits until the outbox is empty.
func (p *phone) waitDrained(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		st, err := p.client().Status()
		if err != nil {
			return err
		}
		if st.Pending == 0 {
			return nil
		}
		if st.State != client.StateOK {
			return fmt.Errorf("phone %d stopped: %s %s", p.i, st.State, st.LastError)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("phone %d: %d events still pending after %s (%s)", p.i, st.Pending, timeout, st.LastError)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// reinstall wipes the app's data and enrolls the phone again, after its
// sales are all on the server (a wipe with pending sales loses them, which
// is the vendor's loss, not a sync bug, and would make the check moot).
func (p *phone) reinstall(ctx context.Context, a *admin, drainTimeout time.Duration) error {
	if err := p.waitDrained(ctx, drainTimeout); err != nil {
		return fmt.Errorf("before reinstall: %w", err)
	}
	c := p.client()
	c.Stop()
	t, err := c.TotalTally()
	if err != nil {
		return err
	}
	if err := c.Close(); err != nil {
		return err
	}
	old := p.path()
	p.mu.Lock()
	p.retired = append(p.retired, t)
	p.install++
	p.sales = nil
	p.mu.Unlock()
	if err := os.Remove(old); err != nil {
		return err
	}
	p.clk.reboot()
	if err := p.open(p.url); err != nil {
		return err
	}
	if err := p.enroll(ctx, a); err != nil {
		return err
	}
	p.client().Run()
	return nil
}

// tally is everything the phone recorded, over its installs.
func (p *phone) tally() (*client.Tally, error) {
	t, err := p.client().TotalTally()
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.retired {
		t.Count += r.Count
		t.Amount += r.Amount
		t.CashCount += r.CashCount
		t.CashAmount += r.CashAmount
		t.QRCount += r.QRCount
		t.QRAmount += r.QRAmount
		t.TransferCount += r.TransferCount
		t.TransferAmount += r.TransferAmount
		t.VoidCount += r.VoidCount
		t.VoidAmount += r.VoidAmount
	}
	return t, nil
}
