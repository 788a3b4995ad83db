package server

import (
	"context"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/postgres"
	"github.com/choso/choso/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

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
	}
	pgtest.NewDatabase(t) // skips (or fails, in CI) here when there is no PostgreSQL
	old := openTestStore
	openTestStore = func(t *testing.T, observe func(string, time.Duration, error)) choso.Store {
		db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{ObserveTx: observe})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	t.Cleanup(func() { openTestStore = old })
	for _, tt := range tests {
		t.Run(tt.name, tt.fn)
	}
}
