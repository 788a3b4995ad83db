// Command choso-sim simulates vendors' phones against a Chợ Số server and
// measures it. Each phone is a real sync/client with its own outbox file.
//
// Mode sim (the default) sets up a market with one stall per phone, enrolls
// the phones, and has them sell at a rate through a simulated mobile
// network: offline periods, answers lost after the server committed,
// pushes cut, clocks days off, reinstalls, and with --storm a market-close
// reconnect storm (every phone offline through the day, then all back
// within a window). Mode ingest measures the write path: each phone's
// outbox is filled first, then all phones push 50-event batches as fast as
// the server takes them. Both end by checking that the server's totals for
// every stall equal what its phones recorded, and exit 1 if not.
//
//	choso-sim --server http://127.0.0.1:8080 --user admin --password … --phones 100 --loss 0.05
//	choso-sim --spawn ./choso --mode ingest --phones 64 --batch 50
//
// Credentials may come from CHOSO_SIM_SERVER, CHOSO_SIM_USER and
// CHOSO_SIM_PASSWORD. With --spawn BIN the simulator starts the server
// itself on a temp data directory (with --push-limit off for ingest and
// --trusted-proxies 127.0.0.1/32, so each phone's X-Forwarded-For counts
// as its own address for the enrollment limits) and logs in as the first
// admin.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/choso/choso/sync/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if path := os.Getenv("CHOSO_SIM_CPU_PROFILE"); path != "" {
		// Where the simulator's own time goes, for BENCHMARKS.md.
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if path := os.Getenv("CHOSO_SIM_CPU_PROFILE"); path != "" {
		pprof.StopCPUProfile()
	}
	stop()
	os.Exit(code)
}

// config is the simulator's flags.
type config struct {
	mode           string
	wire           bool
	server         string   // the first of servers: sign-in, setup, the totals check
	servers        []string // --server split at commas; ingest spreads phones over them
	user, password string
	spawn          string
	spawnArgs      string
	market         string
	commune        string
	phones         int
	eventsPerPhone int
	rate           float64
	duration       time.Duration
	batch          int
	concurrency    int
	setupWorkers   int
	loss, cut      float64
	offline        float64
	offlineFor     time.Duration
	skew           float64
	skewDays       float64
	reinstall      float64
	voids          float64
	storm          time.Duration
	reconnect      time.Duration
	closeDay       bool
	days           int
	timeout        time.Duration
	drainTimeout   time.Duration
	backoffBase    time.Duration
	backoffCap     time.Duration
	phoneFsync     bool
	dir            string
	jsonOut        string
	progress       time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("choso-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.mode, "mode", "sim", "sim (phones selling through a flaky network) or ingest (fill outboxes, then push as fast as possible)")
	fs.StringVar(&c.server, "server", env("CHOSO_SIM_SERVER", "http://127.0.0.1:8080"), "server base URL (CHOSO_SIM_SERVER); in ingest mode a comma-separated list spreads the phones over several nodes of one cluster")
	fs.StringVar(&c.user, "user", env("CHOSO_SIM_USER", "admin"), "admin or volunteer login (CHOSO_SIM_USER)")
	fs.StringVar(&c.password, "password", os.Getenv("CHOSO_SIM_PASSWORD"), "password (CHOSO_SIM_PASSWORD)")
	fs.StringVar(&c.spawn, "spawn", "", "path of a choso binary to start on a temp data directory instead of --server")
	fs.StringVar(&c.spawnArgs, "spawn-args", "", "extra arguments for the spawned server, space-separated")
	fs.StringVar(&c.market, "market", "", "reuse this market id (its stalls SIM00000… are reused or created); default: a new market")
	fs.StringVar(&c.commune, "commune", "07210", "commune code of a new market")
	fs.IntVar(&c.phones, "phones", 0, "phones, one stall each (default 20; 64 in ingest mode)")
	fs.IntVar(&c.eventsPerPhone, "events-per-phone", 0, "sales each phone records (default 50; 1000 in ingest mode); 0 with --duration: until it ends")
	fs.Float64Var(&c.rate, "rate", 2, "sales per second per phone in sim mode; 0 for as fast as possible")
	fs.DurationVar(&c.duration, "duration", 0, "stop selling after this long (sim mode)")
	fs.IntVar(&c.batch, "batch", 50, "events per push at most (1–500)")
	fs.IntVar(&c.concurrency, "concurrency", 0, "ingest mode: phones pushing at once (default: all)")
	fs.BoolVar(&c.wire, "wire", false, "ingest mode: build every push as a whole HTTP request before the timed window and send them as they are on one connection a phone, one in flight (as wrk sends its fixed bodies), so the figure is the server's, not the simulator's")
	fs.IntVar(&c.setupWorkers, "setup-workers", 8, "parallel requests while creating stalls and enrolling phones")
	fs.Float64Var(&c.loss, "loss", 0, "fraction of push answers lost after the server committed (the connection is cut)")
	fs.Float64Var(&c.cut, "cut", 0, "fraction of pushes cut before they reach the server")
	fs.Float64Var(&c.offline, "offline", 0, "fraction of phones that go offline now and then")
	fs.DurationVar(&c.offlineFor, "offline-for", 5*time.Second, "mean length of an offline period")
	fs.Float64Var(&c.skew, "skew", 0, "fraction of phones whose wall clock is days off (they also reboot offline, losing the anchor)")
	fs.Float64Var(&c.skewDays, "skew-days", 2, "how many days off a skewed clock is at most, either way")
	fs.Float64Var(&c.reinstall, "reinstall", 0, "fraction of phones wiped and enrolled again mid-run")
	fs.Float64Var(&c.voids, "voids", 0.02, "fraction of sales followed by a void of an earlier sale")
	fs.DurationVar(&c.storm, "storm", 0, "market-close storm: every phone offline while selling, then all reconnect within this window")
	fs.DurationVar(&c.reconnect, "reconnect-jitter", 2*time.Second, "largest random delay before a phone pushes after coming back online (without --storm)")
	fs.BoolVar(&c.closeDay, "close-day", true, "each phone sends day.close at the end")
	fs.IntVar(&c.days, "days", 7, "days of server totals to verify (GET /v1/sync/totals?days=N, 1–92)")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "timeout of one push")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 10*time.Minute, "how long to wait for every outbox to empty at the end")
	fs.DurationVar(&c.backoffBase, "backoff-base", 2*time.Second, "full-jitter backoff base of the phones")
	fs.DurationVar(&c.backoffCap, "backoff-cap", 5*time.Minute, "full-jitter backoff cap of the phones")
	fs.BoolVar(&c.phoneFsync, "phone-fsync", false, "fsync each phone's outbox commits (real phones do; off keeps the simulator's disk out of the figures)")
	fs.StringVar(&c.dir, "dir", "", "directory for the phones' outbox files (default: a temp dir, removed at the end)")
	fs.StringVar(&c.jsonOut, "json", "", "also write the summary as JSON to this file")
	fs.DurationVar(&c.progress, "progress", 5*time.Second, "print progress this often (0: never)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch c.mode {
	case "sim":
		c.phones = or(c.phones, 20)
		if c.duration == 0 {
			c.eventsPerPhone = or(c.eventsPerPhone, 50)
		}
	case "ingest":
		c.phones = or(c.phones, 64)
		c.eventsPerPhone = or(c.eventsPerPhone, 1000)
	default:
		return nil, fmt.Errorf("--mode %q: want sim or ingest", c.mode)
	}
	var errs []error
	c.servers = strings.Split(c.server, ",")
	c.server = c.servers[0]
	if len(c.servers) > 1 && (c.mode != "ingest" || c.spawn != "") {
		errs = append(errs, errors.New("several --server URLs are for ingest mode against a running cluster"))
	}
	if c.batch < 1 || c.batch > 500 {
		errs = append(errs, errors.New("--batch must be 1–500"))
	}
	if c.days < 1 || c.days > 92 {
		errs = append(errs, errors.New("--days must be 1–92"))
	}
	for name, f := range map[string]float64{"loss": c.loss, "cut": c.cut, "offline": c.offline, "skew": c.skew, "reinstall": c.reinstall, "voids": c.voids} {
		if f < 0 || f > 1 {
			errs = append(errs, fmt.Errorf("--%s must be a fraction 0–1", name))
		}
	}
	if c.spawn == "" && c.password == "" {
		errs = append(errs, errors.New("--password (or CHOSO_SIM_PASSWORD) is required without --spawn"))
	}
	if c.concurrency <= 0 || c.concurrency > c.phones {
		c.concurrency = c.phones
	}
	return c, errors.Join(errs...)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func or(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "choso-sim:", err)
		}
		return 2
	}
	s := &sim{cfg: cfg, out: stdout, log: stderr, stats: newStats()}
	sum, err := s.run(ctx)
	s.cleanup()
	if sum != nil {
		sum.print(stdout)
		if cfg.jsonOut != "" {
			raw, _ := json.MarshalIndent(sum, "", "  ")
			if werr := os.WriteFile(cfg.jsonOut, raw, 0o644); werr != nil {
				fmt.Fprintln(stderr, "choso-sim:", werr)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "choso-sim:", err)
		if errors.Is(err, errMismatch) || errors.Is(err, errDrain) {
			return 1
		}
		return 2
	}
	return 0
}

var (
	errMismatch = errors.New("the server's totals differ from what the phones recorded")
	errDrain    = errors.New("outboxes did not drain")
)

// sim is one run.
type sim struct {
	cfg    *config
	out    io.Writer
	log    io.Writer
	stats  *stats
	admin  *admin
	net    *network
	server *spawned
	phones []*phone
	dir    string
	tmpDir bool
	reinst atomic.Int64 // phones reinstalled, counted from every phone's goroutine
}

func (s *sim) logf(format string, args ...any) {
	fmt.Fprintf(s.log, "choso-sim: "+format+"\n", args...)
}

func (s *sim) cleanup() {
	for _, p := range s.phones {
		if c := p.client(); c != nil {
			c.Close()
		}
	}
	if s.net != nil {
		s.net.close()
	}
	if s.server != nil {
		s.server.stop()
	}
	if s.tmpDir {
		os.RemoveAll(s.dir)
	}
}

func (s *sim) run(ctx context.Context) (*summary, error) {
	cfg := s.cfg
	if cfg.spawn != "" {
		extra := strings.Fields(cfg.spawnArgs)
		if cfg.mode == "ingest" {
			extra = append([]string{"--push-limit", "off"}, extra...)
		}
		srv, err := spawn(ctx, cfg.spawn, extra, s.log)
		if err != nil {
			return nil, err
		}
		s.server = srv
		cfg.server, cfg.user, cfg.password = srv.base, srv.user, srv.password
		cfg.servers = []string{srv.base}
	}
	if cfg.dir == "" {
		d, err := os.MkdirTemp("", "choso-sim-")
		if err != nil {
			return nil, err
		}
		s.dir, s.tmpDir = d, true
	} else {
		s.dir = cfg.dir
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			return nil, err
		}
	}
	a, err := login(ctx, cfg.server, cfg.user, cfg.password)
	if err != nil {
		return nil, err
	}
	s.admin = a
	if s.net, err = startNetwork(cfg.server, cfg.loss, cfg.cut); err != nil {
		return nil, err
	}
	if err := s.setup(ctx); err != nil {
		return nil, err
	}
	if cfg.mode == "ingest" {
		return s.ingest(ctx)
	}
	return s.simulate(ctx)
}

// setup makes the market and stalls and enrolls one phone per stall.
func (s *sim) setup(ctx context.Context) error {
	cfg := s.cfg
	start := time.Now()
	market := cfg.market
	existing := map[string]string{}
	if market == "" {
		var err error
		market, err = s.admin.createMarket(ctx, "Chợ mô phỏng "+time.Now().Format("2006-01-02 15:04:05"), cfg.commune)
		if err != nil {
			return fmt.Errorf("create market: %w", err)
		}
	} else {
		var err error
		if existing, err = s.admin.stalls(ctx, market); err != nil {
			return fmt.Errorf("list stalls of %s: %w", market, err)
		}
	}
	s.phones = make([]*phone, cfg.phones)
	for i := range s.phones {
		var skew time.Duration
		if rand.Float64() < cfg.skew {
			days := 0.5 + rand.Float64()*max(0, cfg.skewDays-0.5)
			if rand.IntN(2) == 0 {
				days = -days
			}
			skew = time.Duration(days * float64(24*time.Hour))
		}
		_, url := s.net.addPhone()
		jitter := cfg.reconnect
		if cfg.storm > 0 {
			jitter = cfg.storm
		}
		s.phones[i] = &phone{
			i: i, stallCode: fmt.Sprintf("SIM%05d", i), dir: s.dir, url: url, direct: cfg.servers[i%len(cfg.servers)],
			clk: newSimClock(fmt.Sprintf("p%d", i), skew),
			opts: client.Options{AppVersion: "choso-sim/1", Observer: s.stats, BatchSize: cfg.batch,
				TimeoutMs: cfg.timeout.Milliseconds(), BackoffBaseMs: cfg.backoffBase.Milliseconds(),
				BackoffCapMs: cfg.backoffCap.Milliseconds(), ReconnectJitterMs: max(jitter.Milliseconds(), -1),
				PushDelayMs: 200, NoSync: !cfg.phoneFsync},
		}
		if jitter == 0 {
			s.phones[i].opts.ReconnectJitterMs = -1
		}
	}
	err := s.parallel(ctx, cfg.setupWorkers, func(p *phone) error {
		p.stallID = existing[p.stallCode]
		if p.stallID == "" {
			id, err := s.admin.createStall(ctx, market, p.stallCode, p.i)
			if err != nil {
				return fmt.Errorf("create stall %s: %w", p.stallCode, err)
			}
			p.stallID = id
		}
		if err := p.open(p.url); err != nil {
			return err
		}
		return p.enroll(ctx, s.admin)
	})
	if err != nil {
		return err
	}
	s.logf("market %s: %d stalls and phones enrolled in %.1f s", market, cfg.phones, time.Since(start).Seconds())
	return nil
}

// parallel runs f for every phone on n workers and returns the first error.
func (s *sim) parallel(ctx context.Context, n int, f func(*phone) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan *phone)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range max(1, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				if err := f(p); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
feed:
	for _, p := range s.phones {
		select {
		case work <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}

// progressLoop prints the backlog now and then until stop is closed.
func (s *sim) progressLoop(stop <-chan struct{}) {
	if s.cfg.progress <= 0 {
		return
	}
	t := time.NewTicker(s.cfg.progress)
	defer t.Stop()
	start := time.Now()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		pending, recorded := 0, 0
		for _, p := range s.phones {
			if st, err := p.client().Status(); err == nil {
				pending += st.Pending
			}
			p.mu.Lock()
			recorded += p.recorded
			p.mu.Unlock()
		}
		sum := s.stats.summary(s.cfg.mode, len(s.phones), time.Since(start))
		s.logf("%4.0f s: %d sales recorded, %d events pending, %d acked, %d requests (429: %d, 503: %d, errors: %d)",
			time.Since(start).Seconds(), recorded, pending, sum.EventsAcked, sum.Requests, sum.RateLimited, sum.Unavailable, sum.Errors+sum.Timeouts)
	}
}
