package bolt

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/storetest"
	bolt "go.etcd.io/bbolt"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// MustOpenDB opens a store in a temp dir and, on cleanup, checks and closes it.
func MustOpenDB(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "choso.db"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if db.closed.Load() {
			return
		}
		if problems := db.Check(context.Background()); len(problems) > 0 {
			t.Errorf("Check on cleanup: %v", problems)
		}
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestStore_Conformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(t *testing.T) choso.Store { return MustOpenDB(t) },
		Restore: func(t *testing.T, backup io.Reader) choso.Store {
			path := filepath.Join(t.TempDir(), "restored.db")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, backup); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			db, err := Open(path, Options{})
			if err != nil {
				t.Fatalf("Open(backup): %v", err)
			}
			return db
		},
	})
}

// SYNC.md §7 #30: an acknowledged write must be on disk, so nothing may open
// bbolt with NoSync.
func Test30_StorageDurability_OpenNeverSetsNoSync(t *testing.T) {
	db := MustOpenDB(t)
	if db.db.NoSync {
		t.Fatal("bbolt NoSync is set: acknowledged writes could be lost on power failure")
	}
	// Guard the source too: no file of this package may turn it on.
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"NoSync:", "NoSync =", "NoSync=", "NoFreelistSync"} {
			if bytes.Contains(src, []byte(bad)) {
				t.Errorf("%s contains %q: the store must never skip fsync", f, bad)
			}
		}
	}
}

func TestOpen_CreatesEveryBucketAndCurrentVersion(t *testing.T) {
	db := MustOpenDB(t)
	err := db.db.View(func(tx *bolt.Tx) error {
		for _, name := range buckets {
			if tx.Bucket(name) == nil {
				t.Errorf("bucket %q missing after Open", name)
			}
		}
		if got, want := schemaVersion(tx), currentVersion(migrations); got != want {
			t.Errorf("schema version = %d, want %d", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpen_PageSize_NewStoresAt16KiB_OldStoresKeepTheirs(t *testing.T) {
	dir := t.TempDir()
	pageSize := func(path string, opts Options) int {
		t.Helper()
		db, err := Open(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		return db.db.Info().PageSize
	}
	if got := pageSize(filepath.Join(dir, "new.db"), Options{}); got != 16384 {
		t.Errorf("new store: page size %d, want 16384", got)
	}

	// A store made at 4 KiB (every store before this default) opens at 4 KiB,
	// whatever the options say, with its data.
	old := filepath.Join(dir, "old.db")
	db, err := Open(old, Options{PageSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(context.Background(), func(tx choso.Tx) error { return tx.SetMeta("k", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if got := pageSize(old, Options{}); got != 4096 {
		t.Errorf("4 KiB store reopened: page size %d, want 4096", got)
	}

	// Compacting it rewrites it at the default, data and all.
	if _, _, err := Compact(old, Options{}); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	db, err = Open(old, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.db.Info().PageSize; got != 16384 {
		t.Errorf("compacted store: page size %d, want 16384", got)
	}
	db.View(context.Background(), func(tx choso.Tx) error {
		if v, _ := tx.Meta("k"); string(v) != "v" {
			t.Errorf("k after compaction = %q, want %q", v, "v")
		}
		return nil
	})
}

func TestOpen_SecondOpenerFailsFastWithLockMessage(t *testing.T) {
	db := MustOpenDB(t)
	start := time.Now()
	_, err := Open(db.Path(), Options{LockTimeout: 200 * time.Millisecond})
	elapsed := time.Since(start)
	if got := choso.ErrorCode(err); got != choso.EUnavailable {
		t.Fatalf("second Open: code %q (%v), want %q", got, err, choso.EUnavailable)
	}
	if !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("second Open error = %q, want it to say the file is locked", err)
	}
	// Not a timing assertion on speed: only that it gave up rather than hung.
	if elapsed > 30*time.Second {
		t.Fatalf("second Open took %v; it must give up after its lock timeout", elapsed)
	}
}

// TestOpen_MigratesVersion0File opens a copy of a file written before the
// store recorded a schema version, with a bucket of its own.
func TestOpen_MigratesVersion0File(t *testing.T) {
	golden := filepath.Join("testdata", "v0.db")
	if *update {
		writeVersion0File(t, golden)
	}
	path := filepath.Join(t.TempDir(), "choso.db")
	copyFile(t, golden, path)

	at := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	db, err := Open(path, Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatalf("Open(v0 file): %v", err)
	}
	defer db.Close()
	if got, want := db.Stats().SchemaVersion, currentVersion(migrations); got != want {
		t.Fatalf("schema version after Open = %d, want %d", got, want)
	}
	err = db.db.View(func(tx *bolt.Tx) error {
		if got := string(tx.Bucket([]byte("legacy")).Get([]byte("note"))); got != "kept" {
			t.Errorf("legacy data after migration = %q, want %q", got, "kept")
		}
		if got, want := string(tx.Bucket(bucketMeta).Get([]byte(metaCreatedAt))), "2026-11-26T08:00:00Z"; got != want {
			t.Errorf("created_at = %q, want %q", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if problems := db.Check(context.Background()); len(problems) > 0 {
		t.Fatalf("Check after migration: %v", problems)
	}
}

func TestOpen_FailingMigrationLeavesPreviousVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "choso.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	migs := append(append([]migration(nil), migrations...),
		migration{version: currentVersion(migrations) + 1, name: "half-done", apply: func(tx *bolt.Tx, _ time.Time) error {
			if _, err := tx.CreateBucket([]byte("half")); err != nil {
				return err
			}
			return errors.New("disk said no")
		}})
	_, err = open(path, Options{}, migs)
	if err == nil || !strings.Contains(err.Error(), "left at version") {
		t.Fatalf("open with failing migration: %v, want a migration error", err)
	}

	db, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen after failed migration: %v", err)
	}
	defer db.Close()
	if got, want := db.Stats().SchemaVersion, currentVersion(migrations); got != want {
		t.Fatalf("schema version = %d, want %d", got, want)
	}
	db.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("half")) != nil {
			t.Error("bucket from the failed migration exists; the migration was not rolled back")
		}
		return nil
	})
}

func TestOpen_NewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "choso.db")
	future := append(append([]migration(nil), migrations...),
		migration{version: currentVersion(migrations) + 1, name: "from the future", apply: func(*bolt.Tx, time.Time) error { return nil }})
	db, err := open(path, Options{}, future)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, ro := range []bool{false, true} {
		_, err = Open(path, Options{ReadOnly: ro})
		if err == nil || !strings.Contains(err.Error(), "newer than this choso") {
			t.Fatalf("Open(ReadOnly=%v) of a newer store: %v, want a refusal", ro, err)
		}
	}
}

func TestOpen_ReadOnlyMissingFile(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "absent.db"), Options{ReadOnly: true})
	if got := choso.ErrorCode(err); got != choso.ENotFound {
		t.Fatalf("read-only Open of a missing file: code %q (%v), want %q", got, err, choso.ENotFound)
	}
}

func TestBackupFile_DuringWrites_RestoresCleanAndComplete(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	var (
		wg      sync.WaitGroup
		stop    = make(chan struct{})
		mu      sync.Mutex
		written []string
	)
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			key := fmt.Sprintf("w%06d", i)
			if err := db.Update(ctx, func(tx choso.Tx) error { return tx.SetMeta(key, bytes.Repeat([]byte{'v'}, 512)) }); err != nil {
				t.Errorf("Update during backup: %v", err)
				return
			}
			mu.Lock()
			written = append(written, key)
			mu.Unlock()
		}
	})
	// Let some writes land, then back up while they go on.
	for {
		mu.Lock()
		n := len(written)
		mu.Unlock()
		if n >= 100 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	before := append([]string(nil), written...)
	mu.Unlock()
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := db.BackupFile(ctx, backup); err != nil {
		t.Fatalf("BackupFile: %v", err)
	}
	close(stop)
	wg.Wait()

	restored, err := Open(backup, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("Open(backup): %v", err)
	}
	defer restored.Close()
	if problems := restored.Check(ctx); len(problems) > 0 {
		t.Fatalf("Check(backup) = %v, want clean", problems)
	}
	restored.View(ctx, func(tx choso.Tx) error {
		for _, k := range before {
			if v, _ := tx.Meta(k); v == nil {
				t.Errorf("write %s committed before the backup began is missing from it", k)
			}
		}
		return nil
	})
	if matches, _ := filepath.Glob(backup + ".tmp-*"); len(matches) > 0 {
		t.Fatalf("temporary files left behind: %v", matches)
	}
}

func TestCompact_ShrinksAndKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "choso.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	big := bytes.Repeat([]byte{'x'}, 4096)
	fill := func(v []byte) {
		t.Helper()
		err := db.Update(ctx, func(tx choso.Tx) error {
			for i := range 8000 {
				if err := tx.SetMeta(fmt.Sprintf("k%05d", i), v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	fill(big)
	// Overwrite with small values: the big pages become free space.
	fill([]byte("small"))
	db.Close()

	before, after, err := Compact(path, Options{})
	if err != nil {
		t.Fatalf("Compact: %v", err)
	}
	if after >= before {
		t.Fatalf("Compact: size %d → %d, want smaller", before, after)
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(ctx, func(tx choso.Tx) error {
		for _, i := range []int{0, 3999, 7999} {
			if v, _ := tx.Meta(fmt.Sprintf("k%05d", i)); string(v) != "small" {
				t.Errorf("k%05d after compaction = %q, want %q", i, v, "small")
			}
		}
		return nil
	})
	for _, leftover := range []string{path + ".compact", path + ".precompact"} {
		if _, err := os.Stat(leftover); !os.IsNotExist(err) {
			t.Errorf("%s left behind after Compact", leftover)
		}
	}
}

func TestCompact_OpenStoreRefused(t *testing.T) {
	db := MustOpenDB(t)
	_, _, err := Compact(db.Path(), Options{LockTimeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("Compact of an open store: %v, want a lock error", err)
	}
}

func TestStats_SizeGrowsWithData(t *testing.T) {
	db := MustOpenDB(t)
	before := db.Stats().SizeBytes
	// bbolt grows the file in 16 MiB steps: write more than one step.
	err := db.Update(context.Background(), func(tx choso.Tx) error {
		for i := range 3000 {
			if err := tx.SetMeta(fmt.Sprintf("k%d", i), bytes.Repeat([]byte{'x'}, 8192)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := db.Stats().SizeBytes; after <= before {
		t.Fatalf("SizeBytes %d → %d after 24 MiB of writes, want growth", before, after)
	}
}

func TestSetMeta_ReservedKeyRefused(t *testing.T) {
	db := MustOpenDB(t)
	err := db.Update(context.Background(), func(tx choso.Tx) error { return tx.SetMeta(metaSchemaVersion, []byte("x")) })
	if got := choso.ErrorCode(err); got != choso.EInvalid {
		t.Fatalf("SetMeta(schema_version): code %q, want %q", got, choso.EInvalid)
	}
}

func TestUpdate_ObserveTxCalled(t *testing.T) {
	var mu sync.Mutex
	kinds := map[string]int{}
	db, err := Open(filepath.Join(t.TempDir(), "choso.db"), Options{ObserveTx: func(kind string, d time.Duration, err error) {
		mu.Lock()
		kinds[kind]++
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Update(context.Background(), func(tx choso.Tx) error { return nil })
	db.View(context.Background(), func(tx choso.Tx) error { return nil })
	if kinds["update"] != 1 || kinds["view"] != 1 {
		t.Fatalf("observed %v, want one update and one view", kinds)
	}
}

// writeVersion0File writes the golden version-0 store: a bbolt file with a
// bucket of its own and no schema version.
func writeVersion0File(t *testing.T, path string) {
	t.Helper()
	os.Remove(path)
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucket([]byte("legacy"))
		if err != nil {
			return err
		}
		return bk.Put([]byte("note"), []byte("kept"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatalf("read %s (run go test -update to write it): %v", from, err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
