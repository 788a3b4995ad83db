package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/choso/choso"
)

var leaseTests = []testCase{
	{"Lease_RacingNodesOneWinner", testLeaseRace},
}

// testLeaseRace has eight holders race for a free lease at once, in
// rounds: in each, exactly one gets it. The lease reads a meta key and
// writes it in one Update, so this holds only when the store serialises
// writers of one key (a lost update would give two winners).
func testLeaseRace(t *testing.T, h Harness) {
	s := open(t, h)
	now := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	for round := range 5 {
		at := now.Add(time.Duration(round) * time.Hour) // the previous round's lease has expired
		var winners atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 8 {
			wg.Go(func() {
				<-start
				ok, err := choso.TakeLease(context.Background(), s, "finalizer", fmt.Sprintf("node-%d-%d", round, i), at, time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					winners.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := winners.Load(); n != 1 {
			t.Fatalf("round %d: %d holders got the lease, want 1", round, n)
		}
	}
}
