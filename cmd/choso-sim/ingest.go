package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/choso/choso/sync/client"
)

// ingest fills every phone's outbox, then has the phones push straight to
// the server (no simulated network) as fast as it answers, and reports
// records/s and push latency.
func (s *sim) ingest(ctx context.Context) (*summary, error) {
	cfg := s.cfg
	if cfg.wire {
		return s.ingestWire(ctx)
	}
	fill := time.Now()
	// The enrolled outboxes were opened through the network for the
	// enrollment's X-Forwarded-For; reopen them straight to the server.
	err := s.parallel(ctx, 8, func(p *phone) error {
		p.client().Close()
		if err := p.open(p.direct); err != nil {
			return err
		}
		for k := 0; k < cfg.eventsPerPhone; k++ {
			if err := p.sell(0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.logf("%d events in %d outboxes in %.1f s; pushing", cfg.eventsPerPhone*len(s.phones), len(s.phones), time.Since(fill).Seconds())

	s.stats.reset()
	endWindow := s.scrapeWindow(ctx)
	stop := make(chan struct{})
	go s.progressLoop(stop)
	sem := make(chan struct{}, cfg.concurrency)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	start := time.Now()
	for _, p := range s.phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := pushAll(ctx, p.client(), sem); err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("phone %d: %w", p.i, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(stop)
	sum := s.stats.summary("ingest", len(s.phones), took)
	endWindow(sum, false)
	if first != nil {
		return sum, first
	}
	if err := s.drain(ctx); err != nil {
		return sum, err
	}
	if cfg.closeDay {
		for _, p := range s.phones {
			if _, err := p.client().CloseDay(""); err != nil {
				return sum, err
			}
			if err := pushAll(ctx, p.client(), sem); err != nil {
				return sum, err
			}
		}
	}
	return sum, s.verify(ctx, sum)
}

// pushAll pushes one phone's outbox until it is empty, one request at a
// time, waiting as the server says.
func pushAll(ctx context.Context, c *client.Client, sem chan struct{}) error {
	for ctx.Err() == nil {
		sem <- struct{}{}
		r, err := c.PushOnce()
		<-sem
		if err != nil {
			return err
		}
		switch r.Outcome {
		case client.OutcomeNothing:
			return nil
		case client.OutcomeRevoked, client.OutcomeSuspended, client.OutcomeUnauthorized, client.OutcomeForbidden, client.OutcomeNeedsReenroll:
			return fmt.Errorf("push stopped: %s %s", r.Outcome, r.Error)
		}
		if r.Outcome == client.OutcomeOK && r.Pending == 0 {
			return nil
		}
		if r.NextDelayMs > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(r.NextDelayMs) * time.Millisecond):
			}
		}
	}
	return ctx.Err()
}
