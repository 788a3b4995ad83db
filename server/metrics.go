package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/choso/choso"
	chosync "github.com/choso/choso/sync"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the Prometheus figures the server exports on /metrics. One
// registry per server, so tests can run servers side by side.
type Metrics struct {
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	txLatency *prometheus.HistogramVec
	txErrors  *prometheus.CounterVec
	batch     prometheus.Histogram
	results   *prometheus.CounterVec
	gaps      prometheus.Counter
	// pushFast and pushFull count push bodies by decoder
	// (choso_sync_push_decodes_total): "fast" for the form phones send,
	// "full" for any other, which the strict decoder reads or refuses.
	pushFast, pushFull prometheus.Counter
}

// NewMetrics returns a registry with the Go runtime and process collectors
// and the server's own figures.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "choso_http_requests_total",
			Help: "HTTP requests served, by method, route template and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "choso_http_request_duration_seconds",
			Help:    "Time from the request reaching the router to the response being written, by method, route template and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
		txLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "choso_store_tx_duration_seconds",
			Help:    "Store transaction duration, commit and fsync included, by kind (update, view, backup, check).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5, 30},
		}, []string{"kind"}),
		txErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "choso_store_tx_errors_total",
			Help: "Store transactions that returned an error, by kind and error code.",
		}, []string{"kind", "code"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "choso_sync_push_events",
			Help:    "Events in one sync push.",
			Buckets: []float64{1, 5, 10, 25, 50, 100, 250, 500},
		}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "choso_sync_events_total",
			Help: "Pushed events by result status and code (applied, duplicate, rejected with its code, not_processed) and time quality.",
		}, []string{"status", "code", "time_quality"}),
		gaps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "choso_sync_gaps_total",
			Help: "Pushes that started past the next expected seq.",
		}),
	}
	decodes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "choso_sync_push_decodes_total",
		Help: "Push bodies decoded, by decoder: fast (the form phones send) or full (any other, read or refused by the strict decoder).",
	}, []string{"decoder"})
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.latency, m.txLatency, m.txErrors, m.batch, m.results, m.gaps, decodes,
	)
	m.pushFast, m.pushFull = decodes.WithLabelValues("fast"), decodes.WithLabelValues("full")
	return m
}

// ObserveTx records one store transaction. Pass it to the store as its
// ObserveTx option.
func (m *Metrics) ObserveTx(kind string, d time.Duration, err error) {
	m.txLatency.WithLabelValues(kind).Observe(d.Seconds())
	if err != nil {
		m.txErrors.WithLabelValues(kind, choso.ErrorCode(err)).Inc()
	}
}

func (m *Metrics) observeRequest(method, route string, status int, d time.Duration) {
	s := strconv.Itoa(status)
	m.requests.WithLabelValues(method, route, s).Inc()
	m.latency.WithLabelValues(method, route, s).Observe(d.Seconds())
}

// watchStore exports the store's size and schema version, read at scrape time.
func (m *Metrics) watchStore(store choso.Store) {
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "choso_store_size_bytes",
			Help: "Bytes the store occupies on disk.",
		}, func() float64 { return float64(store.Stats().SizeBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "choso_store_open_read_transactions",
			Help: "Read transactions open now; a long one delays the store's growth.",
		}, func() float64 { return float64(store.Stats().OpenTxs) }),
	)
	// A store whose transactions can fail on a conflict and run again
	// (PostgreSQL's serializable isolation) says how often they did.
	if r, ok := store.(interface{ Retries() int64 }); ok {
		m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "choso_store_tx_retries_total",
			Help: "Transactions run again after a serialization failure or deadlock.",
		}, func() float64 { return float64(r.Retries()) }))
	}
}

// handler serves the registry in the Prometheus text format.
func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// observePush records one committed push. Its results are counted by
// kind first, then added once a kind: a push's results are nearly all
// alike, and finding a labelled counter costs more than adding to it.
func (m *Metrics) observePush(events int, res *chosync.PushResponse) {
	m.batch.Observe(float64(events))
	type kind struct{ status, code, quality string }
	var kinds [4]kind
	var counts [4]int
	n := 0
next:
	for _, r := range res.Results {
		k := kind{r.Status, r.Code, r.TimeQuality}
		for i := range n {
			if kinds[i] == k {
				counts[i]++
				continue next
			}
		}
		if n == len(kinds) { // a fifth kind in one push: counted as it comes
			m.results.WithLabelValues(k.status, k.code, k.quality).Inc()
			continue
		}
		kinds[n], counts[n] = k, 1
		n++
	}
	for i := range n {
		m.results.WithLabelValues(kinds[i].status, kinds[i].code, kinds[i].quality).Add(float64(counts[i]))
	}
	if res.Gap != nil {
		m.gaps.Inc()
	}
}
