package sync_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/postgres"
	"github.com/choso/choso/internal/store/postgres/pgtest"
	chosync "github.com/choso/choso/sync"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestScenarios_OnPostgres runs the sync scenarios again over the PostgreSQL
// store: the apply rules are written once over choso.Tx and must hold on
// every backend (DESIGN.md §2).
func TestScenarios_OnPostgres(t *testing.T) {
	scenarios := []struct {
		name string
		fn   func(*testing.T)
	}{
		{"01_DuplicateBatch", Test01_DuplicateBatch_AllDuplicateWithOriginals},
		{"02_CrashAfterCommitBeforeResponse", Test02_CrashAfterCommitBeforeResponse_RetryIsDuplicate},
		{"03and07_TransientFailureMidBatch", Test03and07_TransientFailureMidBatch_RollsBackEverything},
		{"04_OutOfOrderBatch", Test04_OutOfOrderBatch_GapAppliesNothing},
		{"05_OverlappingBatch", Test05_OverlappingBatch_DuplicatesThenApplied},
		{"06_PermanentRejectionMidBatch", Test06_PermanentRejectionMidBatch_ConsumedQueueMoves},
		{"09_ConcurrentPushesFromOneDevice", Test09_ConcurrentPushesFromOneDevice_NoDoubleEffects},
		{"11_ResetDeviceWithLostState", Test11_ResetDeviceWithLostState_SeqReusedAndCloned},
		{"Results_ToldByEntities", TestResults_ToldByEntities_StoredOnlyWhenTheyHaveMore},
		{"12_BackupRestoredOnNewPhone", Test12_BackupRestoredOnNewPhone_EntityExistsNoDoubleMoney},
		{"13_SameULIDDifferentContent", Test13_SameULIDDifferentContent_IDConflict},
		{"14_ClockTwoDaysFast", Test14_ClockTwoDaysFast_SuspectCountedOnNeighbourDay},
		{"14_ClockTwoDaysFast_QRSale", Test14_ClockTwoDaysFast_QRSaleMatchableAtItsRealTime},
		{"14_SuspectSaleOnADayAhead", Test14_SuspectSaleCountedOnADayAhead_PlacedWithinIt},
		{"15_ClockTwoDaysSlowAnchorValid", Test15_ClockTwoDaysSlowAnchorValid_AnchoredDayWins},
		{"15_RebootOfflineSlowClock", Test15_RebootOfflineSlowClock_OffsetCorrectedDayWins},
		{"16_ClockChangedMidDay", Test16_ClockChangedMidDay_OrderAndTotalsHold},
		{"17_MidnightBoundaryWithSkew", Test17_MidnightBoundaryWithSkew_MarketZoneAnchoredTime},
		{"18_TwoPhonesOneStall", Test18_TwoPhonesOneStall_TotalsAddUpInEitherOrder},
		{"21_HugeBacklogAfterAWeek", Test21_HugeBacklogAfterAWeek_SplitAndAllApplied},
		{"26_DeviceRevokedWithPendingData", Test26_DeviceRevokedWithPendingData_RefusedOnNextPush},
		{"29_DayCloseDisagrees", Test29_DayCloseDisagrees_MismatchNamesDeviceAndSeqs},
		{"31_BatchReExecution", Test31_BatchReExecution_NoDoubleEffects},
		{"Void_SameDeviceAndBeforeTheSale", TestVoid_SameDeviceAndBeforeTheSale},
		{"Void_OfAnotherStallsSale", TestVoid_OfAnotherStallsSale_CountedInEitherOrder},
		{"DayClose_AnotherPhonesVoid", TestDayClose_AnotherPhonesVoid_LeavesTheSellersTally},
		{"LateSyncedDay_OfAFinalizedDate", TestLateSyncedDay_OfAFinalizedDate_WrittenFinal},
		{"Sale_RefWithNUL", TestSale_RefWithNUL_Applied},
		{"DayClose_PhoneEnrolledAgain", TestDayClose_PhoneEnrolledAgain_CountsTheDevicesItReplaced},
		{"EnrollAgain_ClaimsThatDoNotHold", TestEnrollAgain_ClaimsThatDoNotHold_ReplaceNothing},
	}
	pgtest.NewDatabase(t) // skips (or fails, in CI) here when there is no PostgreSQL
	old := openWorldStore
	openWorldStore = func(t testing.TB) choso.Store {
		db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	t.Cleanup(func() { openWorldStore = old })
	for _, s := range scenarios {
		t.Run(s.name, s.fn)
	}
}

// TestConcurrentPushesThroughThreeNodes_AppliedOnce is scenario 9 across
// nodes: one phone's batch pushed eight times at once through three stores
// on one database (as if a flaky network had the phone retry through
// different nodes), half through Update and half through Batch. SERIALIZABLE
// lets one push apply it; the others see it applied and answer duplicate.
func TestConcurrentPushesThroughThreeNodes_AppliedOnce(t *testing.T) {
	url := pgtest.NewDatabase(t)
	open := func(t testing.TB) *postgres.DB {
		db, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	old := openWorldStore
	openWorldStore = func(t testing.TB) choso.Store { return open(t) }
	w := newWorld(t)
	openWorldStore = old
	var nodes []*postgres.DB
	for range 3 {
		db := open(t)
		t.Cleanup(func() { db.Close() })
		nodes = append(nodes, db)
	}
	p := w.phone()
	var batch []chosync.Event
	for range 20 {
		batch = append(batch, p.sale(500, "qr"))
	}
	var wg sync.WaitGroup
	results := make([]string, 8)
	for i := range 8 {
		wg.Go(func() {
			node := nodes[i%len(nodes)]
			run := node.Update
			if i%2 == 1 {
				run = node.Batch
			}
			res, err := p.pushVia(run, batch...)
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = statuses(res)
		})
	}
	wg.Wait()
	applied := 0
	for _, r := range results {
		if strings.HasPrefix(r, "applied") {
			applied++
		} else if !strings.HasPrefix(r, "duplicate") {
			t.Errorf("push answered %q, want all applied or all duplicate", r)
		}
	}
	if applied != 1 || w.eventCount() != 20 {
		t.Fatalf("%d pushes applied, %d events; want 1 and 20 (%v)", applied, w.eventCount(), results)
	}
	if got := w.totals(today)["qr"]; got.Count != 20 || got.Amount != 10000 {
		t.Fatalf("totals %v, want 20 sales of 10,000 đồng in all", got)
	}
	var retries int64
	for _, n := range nodes {
		retries += n.Retries()
	}
	t.Logf("8 concurrent pushes through 3 nodes: 1 applied, 7 duplicates, %d transaction retries", retries)
}

// BenchmarkPush_64Phones50Events_OnPostgres is BenchmarkPush_64Phones50Events
// over the PostgreSQL store. The private test server runs with fsync off:
// compare backends on a server configured as in production
// (CHOSO_TEST_POSTGRES) before quoting figures.
//
//	go test -run '^$' -bench Push_64.*OnPostgres -benchtime 200x ./sync
func BenchmarkPush_64Phones50Events_OnPostgres(b *testing.B) {
	pgtest.NewDatabase(b)
	old := openWorldStore
	openWorldStore = func(t testing.TB) choso.Store {
		db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	defer func() { openWorldStore = old }()
	BenchmarkPush_64Phones50Events(b)
}
