package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/bolt"
	"github.com/choso/choso/internal/webhook"
	"github.com/choso/choso/server"
)

// prepareStore loads the region list into an empty store, creates the
// first admin when there are no users (DESIGN.md §9), and seeds the demo.
func prepareStore(ctx context.Context, reg *choso.Registry, ps *choso.Partners, cfg *Config, log *slog.Logger) error {
	if err := seedRegions(ctx, reg, log); err != nil {
		return fmt.Errorf("load regions: %w", err)
	}
	password, err := reg.EnsureFirstAdmin(ctx)
	if err != nil {
		return fmt.Errorf("create first admin: %w", err)
	}
	if password != "" {
		// Shown once: the operator signs in with it and changes it.
		log.Info("admin created", "username", "admin", "password", password)
	}
	if cfg.Demo {
		if err := seedDemo(ctx, reg, ps, log); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}
	return nil
}

// runServe runs the server until ctx is done (SIGINT or SIGTERM), then shuts
// down in order: stop accepting, let requests in flight finish, close the
// store.
func runServe(ctx context.Context, e *env, args []string) error {
	cfg, fs, err := parseConfig("serve", e, args, true)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "choso serve: unexpected arguments %q\n", fs.Args())
		return errUsage
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	if path := os.Getenv("CHOSO_CPU_PROFILE"); path != "" {
		// For benchmarks (BENCHMARKS.md): a CPU profile of the whole run,
		// written at shutdown. Not a flag: operators never need it.
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	gcPercent := setServeGC()
	log.Info("starting", append([]any{"version", buildVersion(), "gogc", gcPercent}, cfg.LogAttrs()...)...)

	if err := os.MkdirAll(cfg.dataDir(), 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	metrics := server.NewMetrics()
	start := time.Now()
	db, err := openServerStore(ctx, cfg, metrics.ObserveTx)
	if err != nil {
		return err
	}
	st := db.Stats()
	log.Info("store open", "store", cfg.storeName(), "size_bytes", st.SizeBytes, "schema_version", st.SchemaVersion,
		"open_ms", time.Since(start).Milliseconds())

	master, err := masterKey(ctx, cfg, db)
	if err != nil {
		db.Close()
		return fmt.Errorf("master key: %w", err)
	}
	partners := newPartners(db, master)
	reg := newRegistry(db)
	if err := prepareStore(ctx, reg, partners, cfg, log); err != nil {
		db.Close()
		return err
	}

	srv := server.New(server.Config{
		Addr:           cfg.Addr,
		TLSCertFile:    cfg.TLSCert,
		TLSKeyFile:     cfg.TLSKey,
		TrustedProxies: cfg.proxies,
		Store:          db,
		Registry:       reg,
		Partners:       partners,
		CursorKey:      derive(master, "partner feed cursors"),
		Started:        start,
		PushLimits: server.PushLimits{Burst: cfg.pushBurst, Interval: cfg.pushPeriod,
			Concurrent: server.DefaultPushLimits.Concurrent, QueueWait: server.DefaultPushLimits.QueueWait},
		Metrics: metrics,
		Logger:  log,
		Version: buildVersion(),
	})
	if err := srv.Open(); err != nil {
		db.Close()
		return err
	}
	log.Info("listening", "addr", srv.Addr(), "tls", cfg.TLSCert != "")

	// Background work runs on one node of a cluster at a time (lease.go).
	workers, stopWorkers := context.WithCancel(context.Background())
	holder := nodeID()
	finalizerDone := make(chan struct{})
	go func() {
		defer close(finalizerDone)
		runLeased(workers, db, "finalizer", holder, log, func(ctx context.Context) { runFinalizer(ctx, partners, log) })
	}()
	lateMatchDone := make(chan struct{})
	go func() {
		defer close(lateMatchDone)
		runLeased(workers, db, "late-match", holder, log, func(ctx context.Context) { runLateMatcher(ctx, partners, log) })
	}()
	webhooksDone := make(chan struct{})
	go func() {
		defer close(webhooksDone)
		runLeased(workers, db, "webhooks", holder, log, func(ctx context.Context) {
			(&webhook.Dispatcher{Partners: partners, Log: log}).Run(ctx)
		})
	}()

	<-ctx.Done()
	log.Info("shutting down", "grace", cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	httpErr := srv.Close(shutdownCtx)
	if httpErr != nil {
		log.Error("http shutdown", "err", httpErr)
	}
	stopWorkers()
	<-finalizerDone
	<-lateMatchDone
	<-webhooksDone
	if w, ok := db.(interface{ WriterStats() bolt.WriterStats }); ok {
		// What the single writer did over the process's life: how busy it
		// was, and how its time split between the rules and the commits.
		ws := w.WriterStats()
		log.Info("store writer", "txs", ws.Txs, "calls", ws.Calls, "retries", ws.Retries, "written_bytes", ws.Written,
			"apply_ms", ws.Apply.Milliseconds(), "commit_ms", ws.Commit.Milliseconds(), "busy_ms", ws.Busy.Milliseconds())
	}
	if err := db.Close(); err != nil {
		log.Error("closing store", "err", err)
		return err
	}
	log.Info("stopped")
	return httpErr
}

// serveGCPercent is the server's GOGC unless the environment sets one. Its
// live heap is small (tens of MiB) and nearly all it allocates is garbage
// within one request or one write transaction, so collecting when the heap
// has grown 4× rather than 2× halves the collections for a few tens of MiB
// more memory. In the store-level push benchmark it took about a fifth off
// the CPU per event (BENCHMARKS.md, issue 5).
const serveGCPercent = 400

// setServeGC applies serveGCPercent unless GOGC is set, and returns the
// percentage in force.
func setServeGC() int {
	if v := os.Getenv("GOGC"); v != "" {
		p := debug.SetGCPercent(100) // read it back: the runtime parsed GOGC at start
		debug.SetGCPercent(p)
		return p
	}
	debug.SetGCPercent(serveGCPercent)
	return serveGCPercent
}
