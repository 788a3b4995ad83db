package sync_test

import (
	"context"
	"testing"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/postgres"
	"github.com/choso/choso/internal/store/postgres/pgtest"
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
		{"12_BackupRestoredOnNewPhone", Test12_BackupRestoredOnNewPhone_EntityExistsNoDoubleMoney},
		{"13_SameULIDDifferentContent", Test13_SameULIDDifferentContent_IDConflict},
		{"14_ClockTwoDaysFast", Test14_ClockTwoDaysFast_SuspectCountedOnNeighbourDay},
		{"15_ClockTwoDaysSlowAnchorValid", Test15_ClockTwoDaysSlowAnchorValid_AnchoredDayWins},
		{"16_ClockChangedMidDay", Test16_ClockChangedMidDay_OrderAndTotalsHold},
		{"17_MidnightBoundaryWithSkew", Test17_MidnightBoundaryWithSkew_MarketZoneAnchoredTime},
		{"18_TwoPhonesOneStall", Test18_TwoPhonesOneStall_TotalsAddUpInEitherOrder},
		{"21_HugeBacklogAfterAWeek", Test21_HugeBacklogAfterAWeek_SplitAndAllApplied},
		{"26_DeviceRevokedWithPendingData", Test26_DeviceRevokedWithPendingData_RefusedOnNextPush},
		{"29_DayCloseDisagrees", Test29_DayCloseDisagrees_MismatchNamesDeviceAndSeqs},
		{"31_BatchReExecution", Test31_BatchReExecution_NoDoubleEffects},
		{"Void_SameDeviceAndBeforeTheSale", TestVoid_SameDeviceAndBeforeTheSale},
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
