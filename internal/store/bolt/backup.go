package bolt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/choso/choso"
	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the store to w from one read
// transaction, while writers go on; see choso.Store. The copy is a bbolt file
// that Open accepts.
func (db *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := db.run(ctx, "backup", func() error {
		return db.db.View(func(tx *bolt.Tx) error {
			var err error
			n, err = tx.WriteTo(w)
			return err
		})
	})
	if err != nil {
		return n, choso.WrapError(choso.EUnavailable, "backup failed", err)
	}
	return n, nil
}

// BackupFile writes a hot backup to path atomically: to a temporary file in
// the same directory, synced, then renamed over path. A failed backup never
// leaves a partial file under the final name.
func (db *DB) BackupFile(ctx context.Context, path string) (int64, error) {
	return writeFileAtomic(path, func(w io.Writer) (int64, error) { return db.Backup(ctx, w) })
}

// Check runs bbolt's page-level consistency check and the store's own:
// schema version current, every bucket present. It returns every problem.
func (db *DB) Check(ctx context.Context) []error {
	var problems []error
	err := db.run(ctx, "check", func() error {
		return db.db.View(func(tx *bolt.Tx) error {
			for err := range tx.Check() {
				problems = append(problems, err)
			}
			if v, want := schemaVersion(tx), currentVersion(migrations); v != want {
				problems = append(problems, fmt.Errorf("schema version %d, want %d", v, want))
			}
			missing := false
			for _, name := range buckets {
				if tx.Bucket(name) == nil {
					problems = append(problems, fmt.Errorf("bucket %q missing", name))
					missing = true
				}
			}
			if !missing {
				problems = append(problems, checkIndexes(&Tx{tx: tx, db: db})...)
			}
			return nil
		})
	})
	if err != nil {
		problems = append(problems, err)
	}
	return problems
}

// Compact rewrites the store at path into a fresh file without free pages,
// with opts' page size (a store made at 4 KiB comes out at 16 KiB), and
// replaces the original with it. The store must not be open elsewhere:
// the file lock makes Compact fail fast if it is. The original is kept as
// path+".precompact" until the new file has been synced and renamed in, then
// removed. Compact returns the sizes before and after.
func Compact(path string, opts Options) (before, after int64, err error) {
	src, err := Open(path, opts)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if src != nil {
			src.Close()
		}
	}()
	if problems := src.Check(context.Background()); len(problems) > 0 {
		return 0, 0, choso.WrapError(choso.EInvalid, "store fails its check; restore a backup instead of compacting", errors.Join(problems...))
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	before = fi.Size()

	tmp := path + ".compact"
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: opts.LockTimeout, FreelistType: bolt.FreelistMapType,
		PageSize: opts.pageSize()})
	if err != nil {
		return before, 0, translate(err)
	}
	// 64 MiB per transaction bounds the memory a huge store needs to compact.
	if err := bolt.Compact(dst, src.db, 64<<20); err != nil {
		dst.Close()
		os.Remove(tmp)
		return before, 0, choso.WrapError(choso.EUnavailable, "compaction failed; the store is unchanged", translate(err))
	}
	if err := dst.Close(); err != nil {
		os.Remove(tmp)
		return before, 0, translate(err)
	}
	if err := src.Close(); err != nil {
		os.Remove(tmp)
		return before, 0, translate(err)
	}
	src = nil

	// Open the compacted copy once as a store: a copy that does not check
	// clean never replaces the original.
	check, err := Open(tmp, opts)
	if err != nil {
		os.Remove(tmp)
		return before, 0, err
	}
	problems := check.Check(context.Background())
	check.Close()
	if len(problems) > 0 {
		os.Remove(tmp)
		return before, 0, choso.WrapError(choso.EInternal, "compacted copy fails its check; the store is unchanged", errors.Join(problems...))
	}

	keep := path + ".precompact"
	if err := os.Rename(path, keep); err != nil {
		os.Remove(tmp)
		return before, 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Rename(keep, path)
		return before, 0, err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return before, 0, err
	}
	os.Remove(keep)
	fi, err = os.Stat(path)
	if err != nil {
		return before, 0, err
	}
	return before, fi.Size(), nil
}

// writeFileAtomic writes path through write into a temporary file beside it,
// syncs and renames it into place, and syncs the directory.
func writeFileAtomic(path string, write func(io.Writer) (int64, error)) (int64, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	n, err := write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o600)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return n, translate(err)
	}
	return n, syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
