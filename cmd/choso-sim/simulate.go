package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// simulate has every phone sell through the simulated network, then waits
// for the outboxes to drain and checks the server's totals.
func (s *sim) simulate(ctx context.Context) (*summary, error) {
	cfg := s.cfg
	s.stats.reset()
	endWindow := s.scrapeWindow(ctx)
	start := time.Now()
	var deadline time.Time
	if cfg.duration > 0 {
		deadline = start.Add(cfg.duration)
	}
	stop := make(chan struct{})
	go s.progressLoop(stop)
	defer close(stop)

	var (
		wg      sync.WaitGroup
		errMu   sync.Mutex
		firstEr error
	)
	fail := func(err error) {
		errMu.Lock()
		if firstEr == nil {
			firstEr = err
		}
		errMu.Unlock()
	}
	for _, p := range s.phones {
		if cfg.storm > 0 {
			s.net.setOffline(p.i, true)
			p.client().SetOnline(false)
		}
		p.client().Run()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.sellDay(ctx, p, deadline); err != nil {
				fail(fmt.Errorf("phone %d: %w", p.i, err))
			}
		}()
	}
	wg.Wait()
	if firstEr != nil {
		return nil, firstEr
	}
	sold := time.Since(start)
	s.logf("selling done in %.1f s", sold.Seconds())

	reconnect := time.Now()
	for _, p := range s.phones {
		s.net.setOffline(p.i, false)
		p.client().SetOnline(true)
	}
	drainErr := s.drain(ctx)
	drained := time.Since(reconnect)
	if drainErr == nil && cfg.closeDay {
		for _, p := range s.phones {
			if _, err := p.client().CloseDay(""); err != nil {
				return nil, err
			}
		}
		drainErr = s.drain(ctx)
	}
	took := time.Since(start)
	for _, p := range s.phones {
		p.client().Stop()
	}
	sum := s.stats.summary("sim", len(s.phones), took)
	endWindow(sum, false)
	sum.Lost, sum.Cut, sum.Refused = s.net.Lost.Load(), s.net.Cut.Load(), s.net.Refused.Load()
	sum.Reinstalls = int(s.reinst.Load())
	if cfg.storm > 0 {
		sum.DrainSeconds = drained.Seconds()
	}
	if drainErr != nil {
		return sum, drainErr
	}
	return sum, s.verify(ctx, sum)
}

// sellDay is one phone's day: sales at the configured rate, offline
// periods, perhaps a reboot with a wrong clock, perhaps a reinstall.
func (s *sim) sellDay(ctx context.Context, p *phone, deadline time.Time) error {
	cfg := s.cfg
	flaky := cfg.storm == 0 && rand.Float64() < cfg.offline
	reinstallAt := -1
	if rand.Float64() < cfg.reinstall {
		n := cfg.eventsPerPhone
		if n == 0 {
			n = max(2, int(cfg.rate*cfg.duration.Seconds()))
		}
		reinstallAt = 1 + rand.IntN(max(1, n-1))
	}
	offline := false
	nextToggle := time.Now().Add(time.Duration((1 + 2*rand.Float64()) * float64(cfg.offlineFor)))
	setOffline := func(off bool) {
		offline = off
		s.net.setOffline(p.i, off)
		p.client().SetOnline(!off)
		if off && p.clk.skewMs.Load() != 0 && rand.IntN(2) == 0 {
			p.clk.reboot() // a reboot offline: the anchor is gone, the wall clock is wrong
		}
	}
	defer func() {
		if offline {
			setOffline(false)
		}
	}()
	for k := 0; cfg.eventsPerPhone == 0 || k < cfg.eventsPerPhone; k++ {
		if !deadline.IsZero() && time.Now().After(deadline) {
			break
		}
		if cfg.rate > 0 {
			wait := time.Duration(rand.ExpFloat64() / cfg.rate * float64(time.Second))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
		if flaky && time.Now().After(nextToggle) {
			setOffline(!offline)
			mean := cfg.offlineFor
			if !offline {
				mean *= 2
			}
			nextToggle = time.Now().Add(time.Duration((0.5 + rand.Float64()) * float64(mean)))
		}
		if k == reinstallAt {
			if offline {
				setOffline(false)
			}
			if err := p.reinstall(ctx, s.admin, cfg.drainTimeout); err != nil {
				return err
			}
			s.reinst.Add(1)
		}
		if err := p.sell(cfg.voids); err != nil {
			return err
		}
	}
	return nil
}

// drain waits for every phone's outbox to empty.
func (s *sim) drain(ctx context.Context) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, p := range s.phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.waitDrained(ctx, s.cfg.drainTimeout); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%w: %d phones, first: %v", errDrain, len(errs), errors.Join(errs[:min(3, len(errs))]...))
	}
	return nil
}
