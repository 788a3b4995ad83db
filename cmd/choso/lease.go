package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/choso/choso"
)

// Background work (finalising days, dispatching webhooks) runs on one node
// of a cluster at a time: each worker runs only while its node holds the
// work's lease in the store, renews it every leaseRenew, and stops when a
// renewal fails. On one bbolt node the lease is simply always its own.
var (
	leaseTerm  = 30 * time.Second
	leaseRenew = 10 * time.Second // tests shorten both
)

// nodeID names this process among the nodes of a cluster.
func nodeID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), choso.NewToken()[:8])
}

// runLeased runs work while this node holds the lease name, until ctx is
// done; the context work gets ends when the lease is lost. At the end it
// gives the lease up so another node takes over at once.
func runLeased(ctx context.Context, store choso.Store, name, holder string, log *slog.Logger, work func(context.Context)) {
	defer choso.ReleaseLease(context.Background(), store, name, holder)
	for ctx.Err() == nil {
		held, err := choso.TakeLease(ctx, store, name, holder, time.Now(), leaseTerm)
		if err != nil && ctx.Err() == nil {
			log.Warn("lease", "name", name, "err", err)
		}
		if !held {
			sleepCtx(ctx, leaseRenew)
			continue
		}
		log.Info("lease taken", "name", name, "holder", holder)
		workCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			work(workCtx)
		}()
		for held && ctx.Err() == nil {
			sleepCtx(ctx, leaseRenew)
			if ctx.Err() != nil {
				break
			}
			if held, err = choso.TakeLease(ctx, store, name, holder, time.Now(), leaseTerm); err != nil || !held {
				log.Warn("lease lost", "name", name, "holder", holder, "err", err)
				held = false
			}
		}
		stop()
		<-done
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
