// Package storetest is the conformance suite every implementation of
// choso.Store must pass. A backend's tests call Run with a function that
// opens a fresh, empty store; the suite checks the transaction contract the
// business rules rely on, whatever the engine underneath.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/choso/choso"
)

// Harness tells the suite how to reach a backend.
type Harness struct {
	// Open returns a fresh, empty store. The suite closes it; Open registers
	// any other cleanup with t.
	Open func(t *testing.T) choso.Store

	// Restore opens a store from a backup written by Store.Backup, or is nil
	// when the backend's backups are restored by other tools.
	Restore func(t *testing.T, backup io.Reader) choso.Store
}

// Run runs the whole suite as subtests of t.
func Run(t *testing.T, h Harness) {
	tests := []testCase{
		{"Update_CommitsWhenFnReturnsNil", testUpdateCommits},
		{"Update_RollsBackWhenFnFails", testUpdateRollsBackOnError},
		{"Update_RollsBackWhenFnPanics", testUpdateRollsBackOnPanic},
		{"View_RefusesWrites", testViewRefusesWrites},
		{"View_ValuesOutliveTheTransaction", testValuesOutliveTx},
		{"Update_CancelledContext_RunsNothing", testCancelledContext},
		{"Update_ClosedStore_Unavailable", testClosedStore},
		{"Update_ConcurrentIncrements_NoneLost", testConcurrentIncrements},
		{"Check_FreshStore_Clean", testCheckClean},
		{"Backup_RestoresEveryCommittedWrite", testBackupRestore},
		{"Stats_ReportsSchemaVersion", testStats},
		{"View_RefusesEveryWriteMethod", testViewRefusesEveryWrite},
		{"List_HonoursTheRegistrysPageLimit", testListHonoursRegistryPageLimit},
	}
	tests = slices.Concat(tests, regionTests, userTests, sessionTests, marketTests, stallTests, auditTests,
		deviceTests, enrollmentTests, resultTests, eventTests, dayTests, changeTests, batchTests,
		partnerTests, creditTests, feedTests, leaseTests)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, h) })
	}
}

func open(t *testing.T, h Harness) choso.Store {
	t.Helper()
	s := h.Open(t)
	t.Cleanup(func() { s.Close() })
	return s
}

func setMeta(t *testing.T, s choso.Store, key, value string) {
	t.Helper()
	err := s.Update(context.Background(), func(tx choso.Tx) error { return tx.SetMeta(key, []byte(value)) })
	if err != nil {
		t.Fatalf("Update(SetMeta %q): %v", key, err)
	}
}

func getMeta(t *testing.T, s choso.Store, key string) []byte {
	t.Helper()
	var v []byte
	err := s.View(context.Background(), func(tx choso.Tx) error {
		var err error
		v, err = tx.Meta(key)
		return err
	})
	if err != nil {
		t.Fatalf("View(Meta %q): %v", key, err)
	}
	return v
}

func testUpdateCommits(t *testing.T, h Harness) {
	s := open(t, h)
	setMeta(t, s, "greeting", "xin chào")
	if got := string(getMeta(t, s, "greeting")); got != "xin chào" {
		t.Fatalf("Meta(greeting) = %q, want %q", got, "xin chào")
	}
	if got := getMeta(t, s, "absent"); got != nil {
		t.Fatalf("Meta(absent) = %q, want nil", got)
	}
}

func testUpdateRollsBackOnError(t *testing.T, h Harness) {
	s := open(t, h)
	setMeta(t, s, "k", "before")
	errBoom := errors.New("boom")
	err := s.Update(context.Background(), func(tx choso.Tx) error {
		if err := tx.SetMeta("k", []byte("after")); err != nil {
			return err
		}
		if err := tx.SetMeta("other", []byte("x")); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update error = %v, want the fn's error", err)
	}
	if got := string(getMeta(t, s, "k")); got != "before" {
		t.Fatalf("after rollback Meta(k) = %q, want %q", got, "before")
	}
	if got := getMeta(t, s, "other"); got != nil {
		t.Fatalf("after rollback Meta(other) = %q, want nil", got)
	}
}

func testUpdateRollsBackOnPanic(t *testing.T, h Harness) {
	s := open(t, h)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("Update swallowed the fn's panic, want it re-raised")
			}
		}()
		_ = s.Update(context.Background(), func(tx choso.Tx) error {
			if err := tx.SetMeta("k", []byte("written before the panic")); err != nil {
				return err
			}
			panic("handler bug")
		})
	}()
	if got := getMeta(t, s, "k"); got != nil {
		t.Fatalf("after panic Meta(k) = %q, want nil", got)
	}
	setMeta(t, s, "k", "store still usable")
}

func testViewRefusesWrites(t *testing.T, h Harness) {
	s := open(t, h)
	err := s.View(context.Background(), func(tx choso.Tx) error { return tx.SetMeta("k", []byte("v")) })
	if got := choso.ErrorCode(err); got != choso.EInvalid {
		t.Fatalf("SetMeta in View: code %q (%v), want %q", got, err, choso.EInvalid)
	}
}

func testValuesOutliveTx(t *testing.T, h Harness) {
	s := open(t, h)
	setMeta(t, s, "a", "first value")
	v := getMeta(t, s, "a")
	// Write more after the read transaction closed; the copy must not change.
	for i := range 200 {
		setMeta(t, s, "filler"+strconv.Itoa(i), string(bytes.Repeat([]byte{'x'}, 1000)))
	}
	setMeta(t, s, "a", "second value")
	if string(v) != "first value" {
		t.Fatalf("value read earlier = %q, want %q (it must be a copy)", v, "first value")
	}
}

func testCancelledContext(t *testing.T, h Harness) {
	s := open(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := s.Update(ctx, func(tx choso.Tx) error { called = true; return nil })
	if got := choso.ErrorCode(err); got != choso.EUnavailable {
		t.Fatalf("Update with cancelled ctx: code %q (%v), want %q", got, err, choso.EUnavailable)
	}
	if called {
		t.Fatal("Update with cancelled ctx ran fn")
	}
}

func testClosedStore(t *testing.T, h Harness) {
	s := h.Open(t)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	err := s.Update(context.Background(), func(tx choso.Tx) error { return nil })
	if got := choso.ErrorCode(err); got != choso.EUnavailable {
		t.Fatalf("Update after Close: code %q (%v), want %q", got, err, choso.EUnavailable)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v, want nil", err)
	}
}

// testConcurrentIncrements checks isolation: read-modify-write transactions
// racing each other lose no increment.
func testConcurrentIncrements(t *testing.T, h Harness) {
	s := open(t, h)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				err := s.Update(context.Background(), func(tx choso.Tx) error {
					v, err := tx.Meta("counter")
					if err != nil {
						return err
					}
					n, _ := strconv.Atoi(string(v))
					return tx.SetMeta("counter", []byte(strconv.Itoa(n+1)))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Update: %v", err)
	}
	if got, want := string(getMeta(t, s, "counter")), strconv.Itoa(workers*each); got != want {
		t.Fatalf("counter = %s, want %s", got, want)
	}
}

func testCheckClean(t *testing.T, h Harness) {
	s := open(t, h)
	setMeta(t, s, "k", "v")
	if problems := s.Check(context.Background()); len(problems) > 0 {
		t.Fatalf("Check on a fresh store = %v, want no problems", problems)
	}
}

func testBackupRestore(t *testing.T, h Harness) {
	if h.Restore == nil {
		t.Skip("backend restores backups with its own tools")
	}
	s := open(t, h)
	for i := range 50 {
		setMeta(t, s, fmt.Sprintf("k%03d", i), fmt.Sprintf("v%d", i))
	}
	var buf bytes.Buffer
	n, err := s.Backup(context.Background(), &buf)
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("Backup reported %d bytes, wrote %d", n, buf.Len())
	}
	setMeta(t, s, "after-backup", "x")

	r := h.Restore(t, &buf)
	t.Cleanup(func() { r.Close() })
	if problems := r.Check(context.Background()); len(problems) > 0 {
		t.Fatalf("Check on the restored store = %v, want no problems", problems)
	}
	for i := range 50 {
		if got, want := string(getMeta(t, r, fmt.Sprintf("k%03d", i))), fmt.Sprintf("v%d", i); got != want {
			t.Fatalf("restored k%03d = %q, want %q", i, got, want)
		}
	}
	if got := getMeta(t, r, "after-backup"); got != nil {
		t.Fatalf("restored store holds a write made after the backup: %q", got)
	}
}

func testStats(t *testing.T, h Harness) {
	s := open(t, h)
	st := s.Stats()
	if st.SchemaVersion < 1 {
		t.Fatalf("Stats().SchemaVersion = %d, want ≥ 1 after Open", st.SchemaVersion)
	}
}
