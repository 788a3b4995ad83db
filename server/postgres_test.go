package server

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/postgres"
	"github.com/choso/choso/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// onPostgres makes the test servers of t, for its length, run on a fresh
// PostgreSQL database each. It skips t (or fails it, in CI) when there is
// no PostgreSQL.
func onPostgres(t *testing.T) {
	t.Helper()
	pgtest.NewDatabase(t)
	old := openTestStore
	openTestStore = func(t *testing.T, observe func(string, time.Duration, error)) choso.Store {
		db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{ObserveTx: observe})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	t.Cleanup(func() { openTestStore = old })
}

// TestPartner_OnPostgres runs the partner tests again over the PostgreSQL
// store: the feed, the snapshot lists, exports and credits must behave the
// same on every backend, and the feed must skip nothing with concurrent
// writers (PARTNER.md §2).
func TestPartner_OnPostgres(t *testing.T) {
	tests := []struct {
		name string
		fn   func(*testing.T)
	}{
		{"Auth", TestPartnerAuth_OverHTTP},
		{"Feed_TailWhileCommitting", TestPartnerFeed_TailWhileCommitting_NothingSkipped},
		{"Feed_FilteredCursorAdvances", TestPartnerFeed_FilteredCursorAdvances},
		{"Feed_TamperedCursor", TestPartnerFeed_TamperedCursor},
		{"Feed_LateDataAfterFinalIsAdjusted", TestPartnerFeed_LateDataAfterFinalIsAdjusted},
		{"Summaries_PagesConsistentAsOf", TestPartnerSummaries_PagesConsistentAsOf},
		{"Export_TrailerAndTruncation", TestPartnerExport_TrailerAndTruncation},
		{"Credits_MatchIdempotencyReconciliation", TestPartnerCredits_MatchIdempotencyReconciliation},
		{"Credits_TransferSalesAreMatchedAndReconciled", TestPartnerCredits_TransferSalesAreMatchedAndReconciled},
	}
	onPostgres(t)
	for _, tt := range tests {
		t.Run(tt.name, tt.fn)
	}
}

// TestLogin_OverlongUsername_OnPostgres: the shared sign-in buckets live in
// an indexed table, which a username of kilobytes must not reach.
func TestLogin_OverlongUsername_OnPostgres(t *testing.T) {
	onPostgres(t)
	TestLogin_OverlongUsername_401NoBucket(t)
	TestLogin_ImpossibleUsername_401NoBucket(t)
}

// TestSharedGuards_TwoNodesOnPostgres runs two servers on one database, as
// two nodes behind a balancer: a partner request replayed to the other
// node is refused, and sign-in and enrollment attempts spread over both
// nodes draw on one budget, not one each.
func TestSharedGuards_TwoNodesOnPostgres(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	old := openTestStore
	openTestStore = func(t *testing.T, observe func(string, time.Duration, error)) choso.Store {
		db, err := postgres.Open(context.Background(), dbURL, postgres.Options{ObserveTx: observe})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	t.Cleanup(func() { openTestStore = old })
	nodeA := newRegistryServer(t)
	nodeB := newTestServer(t, func(cfg *Config) {
		cfg.Registry = &choso.Registry{Store: cfg.Store, Banks: testBanks{}, Hasher: plainHasher{}, Now: time.Now}
		cfg.Partners = newTestPartners(cfg.Store)
		cfg.Partners.Sealer = nodeA.partners.Sealer // one master key for the cluster
	})

	t.Run("partner replay", func(t *testing.T) {
		b := nodeA.bank(t, "24")
		var sent *http.Request
		res := b.signed(t, "GET", "/partner/v1/changes", url.Values{}, nil, func(r *http.Request) { sent = r.Clone(t.Context()) })
		if res.StatusCode != http.StatusOK {
			t.Fatalf("node A: %d", res.StatusCode)
		}
		replay := sent.Clone(t.Context())
		replay.URL.Host = strings.TrimPrefix(nodeB.URL, "http://")
		replay.Host = ""
		got, err := http.DefaultClient.Do(replay)
		if err != nil {
			t.Fatal(err)
		}
		defer got.Body.Close()
		if msg := wantError(t, got, http.StatusUnauthorized, "unauthorized"); !strings.Contains(msg, "already used") {
			t.Fatalf("replay to node B: %q, want the nonce refused", msg)
		}
	})

	t.Run("sign-in attempts", func(t *testing.T) {
		body := `{"username":"volin","password":"not the password"}`
		for i := range 5 { // the per-user burst, alternating nodes
			node := []*testServer{nodeA.testServer, nodeB}[i%2]
			wantError(t, node.do(t, "POST", "/v1/auth/login", strings.NewReader(body), "Content-Type", "application/json"), http.StatusUnauthorized, "unauthorized")
		}
		for _, node := range []*testServer{nodeA.testServer, nodeB} {
			res := node.do(t, "POST", "/v1/auth/login", strings.NewReader(body), "Content-Type", "application/json")
			wantError(t, res, http.StatusTooManyRequests, "rate_limited")
			if res.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
	})

	t.Run("retries metric", func(t *testing.T) {
		res := nodeB.do(t, "GET", "/metrics", nil)
		body, _ := io.ReadAll(res.Body)
		if !strings.Contains(string(body), "\nchoso_store_tx_retries_total ") {
			t.Fatal("/metrics of a PostgreSQL node has no choso_store_tx_retries_total")
		}
	})

	t.Run("enrollment attempts", func(t *testing.T) {
		body := `{"code":"ABCDEFGHJKMN","app_version":"1.0"}`
		for i := range 10 { // the per-network burst, alternating nodes
			node := []*testServer{nodeA.testServer, nodeB}[i%2]
			if res := node.do(t, "POST", "/v1/devices/enroll", strings.NewReader(body), "Content-Type", "application/json"); res.StatusCode == http.StatusTooManyRequests {
				t.Fatalf("attempt %d refused as too many; the burst is 10", i+1)
			}
		}
		wantError(t, nodeB.do(t, "POST", "/v1/devices/enroll", strings.NewReader(body), "Content-Type", "application/json"), http.StatusTooManyRequests, "rate_limited")
	})
}
