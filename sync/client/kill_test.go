package client

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/choso/choso/sync/client/clienttest"
)

// sysClock is the clock of a process on this machine: one boot, elapsed
// time from the wall clock (good enough across the helper processes).
type sysClock struct{}

func (sysClock) WallMs() int64    { return time.Now().UnixMilli() }
func (sysClock) ElapsedMs() int64 { return time.Now().UnixMilli() - 1_700_000_000_000 }
func (sysClock) BootID() string   { return "this-boot" }

// TestKillHelper is the phone process TestKill kills: it records sales as
// fast as it can while its loop pushes them.
func TestKillHelper(t *testing.T) {
	path, url := os.Getenv("CHOSO_CLIENT_KILL_PATH"), os.Getenv("CHOSO_CLIENT_KILL_URL")
	if path == "" {
		t.Skip("run by TestKill")
	}
	c, err := Open(path, &Options{ServerURL: url, Clock: sysClock{}, BackoffBaseMs: 5, BackoffCapMs: 50, ReconnectJitterMs: -1, BatchSize: 25})
	if err != nil {
		t.Fatal(err)
	}
	c.Run()
	for i := 0; ; i++ {
		if _, err := c.RecordSale(int64(1000+i%97), []string{"cash", "qr", "transfer"}[i%3], ""); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// TestKill_ProcessKilledAtRandomMomentsLosesAndDoublesNothing kills the
// phone's process with SIGKILL while it records and pushes (and the server
// loses some answers), reopens the file each time, and at the end checks
// that the server counted exactly what the phone recorded. Cycles: 12, or
// CHOSO_CLIENT_KILL_CYCLES.
func TestKill_ProcessKilledAtRandomMomentsLosesAndDoublesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	cycles := 12
	if n, err := strconv.Atoi(os.Getenv("CHOSO_CLIENT_KILL_CYCLES")); err == nil {
		cycles = n
	}
	srv := clienttest.New(t)
	path := filepath.Join(t.TempDir(), "outbox.db")
	c := mustOpen(t, path, srv, sysClock{})
	stall := srv.NewStall()
	if err := c.Enroll(srv.EnrollmentCode(stall)); err != nil {
		t.Fatal(err)
	}
	c.Close()

	for i := 0; i < cycles; i++ {
		srv.Lock()
		srv.DropAfterApply = rand.IntN(3)
		srv.Unlock()
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CHOSO_CLIENT_KILL_PATH="+path, "CHOSO_CLIENT_KILL_URL="+srv.URL)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(80+rand.IntN(200)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}

	c = mustOpen(t, path, srv, sysClock{})
	st := mustStatus(t, c)
	drain(t, c, 1000)
	tally := mustTally(t, c)
	if tally.Count == 0 {
		t.Fatal("the helper recorded nothing")
	}
	wantServerTotals(t, srv, stall, tally)
	dev := srv.Device(st.DeviceID)
	if want := uint64(mustStatus(t, c).NextSeq - 1); dev.AppliedSeq != want {
		t.Fatalf("server applied seq %d, want every seq up to %d", dev.AppliedSeq, want)
	}
	if got := srv.EventsApplied(); got != uint64(tally.Count) {
		t.Fatalf("server applied %d events, want the %d the phone recorded", got, tally.Count)
	}
	t.Logf("%d kills, %d sales, %d push requests", cycles, tally.Count, srv.Requests)
}
