package bolt

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/choso/choso"
	bolt "go.etcd.io/bbolt"
)

// taggedULID is a ULID of 26 characters: time t (10), tag (4), then n.
func taggedULID(t int, tag string, n int) string {
	return fmt.Sprintf("01KB%06d%s%012d", t, tag, n)
}

// TestEntityKey_OneTagOneRunInTimeOrder: within the 2^25 ms a ULID's first
// five characters name, the keys of one tag's ULIDs are one run, in the
// ULIDs' time order, whatever other tags' ULIDs share their times; the
// hours before come first; each key turns back into its ID.
func TestEntityKey_OneTagOneRunInTimeOrder(t *testing.T) {
	tags := []string{"TAGB", "TAGA", "ZZZZ", "0000"}
	var keys [][]byte
	for tm := range 50 {
		for i, tag := range tags {
			keys = append(keys, entityKey(nil, taggedULID(tm, tag, i)))
		}
	}
	earlier := "01KAZ" + "99999" + "ZZZZ" + "000000000000" // earlier hours, the last tag
	keys = append(keys, entityKey(nil, earlier))
	slices.SortFunc(keys, bytes.Compare)
	if id := string(entityID(nil, keys[0])); id != earlier {
		t.Fatalf("first key turns back into %s; want %s, of earlier hours, before any tag of later ones", id, earlier)
	}
	keys = keys[1:]
	sorted := slices.Sorted(slices.Values(tags))
	for i, k := range keys {
		id := string(entityID(nil, k))
		tag := id[10:14]
		if want := sorted[i/50]; tag != want {
			t.Fatalf("key %d (%s) has tag %s; want %s: a tag's keys are not one run", i, k, tag, want)
		}
		if want := taggedULID(i%50, tag, slices.Index(tags, tag)); id != want {
			t.Fatalf("key %d turns back into %s, want %s (in time order within its tag)", i, id, want)
		}
	}
	for _, id := range []string{"x", "01KB", "not-a-ulid-but-27-chars-long", ""} {
		if k := entityKey(nil, id); string(k) != id {
			t.Errorf("entityKey(%q) = %q; an ID of another length is its own key", id, k)
		}
	}
}

// FuzzEntityKey: entityID undoes entityKey for every ID, and two IDs never
// share a key.
func FuzzEntityKey(f *testing.F) {
	f.Add("01KB000000TAGA000000000001", "01KB000001TAGA000000000000")
	f.Add("01KB000000TAGA000000000001", "TAGA01KB000000000000000001")
	f.Add("", "a")
	f.Fuzz(func(t *testing.T, a, b string) {
		ka, kb := entityKey(nil, a), entityKey(nil, b)
		if got := string(entityID(nil, ka)); got != a {
			t.Fatalf("entityID(entityKey(%q)) = %q", a, got)
		}
		if len(ka) != len(a) {
			t.Fatalf("entityKey(%q) has %d bytes, want %d", a, len(ka), len(a))
		}
		if a != b && bytes.Equal(ka, kb) {
			t.Fatalf("%q and %q share the key %q", a, b, ka)
		}
	})
}

// schema5Store makes a store at schema 5 whose entity index, keyed by ULID,
// holds ids, entity i for ids[i].
func schema5Store(t *testing.T, ids []string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "choso.db")
	db, err := open(path, Options{}, migrations[:5])
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = bdb.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketEntities); err != nil {
			return err
		}
		old, err := tx.CreateBucket(bucketEntitiesByULID)
		if err != nil {
			return err
		}
		for i, id := range ids {
			if err := old.Put(encodeEntity([]byte(id), movedEntity(i))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func movedEntity(i int) *choso.Entity {
	return &choso.Entity{DeviceID: fmt.Sprintf("dev_%d", i%2), Seq: uint64(i + 1), Hash: []byte{byte(i)}, ServerSeq: uint64(i + 1), Type: choso.EventSaleRecord}
}

// movedIDs are ULIDs of two tags over four windows of hours, and an ID of
// another length.
func movedIDs() []string {
	ids := []string{"short-id"}
	for _, hours := range []string{"01KA0", "01KB0", "01KB1", "01KC7"} {
		for tm := range 40 {
			for _, tag := range []string{"TAGB", "TAGA"} {
				ids = append(ids, fmt.Sprintf("%s%05d%s%012d", hours, tm, tag, tm))
			}
		}
	}
	return ids
}

// checkMoved opens the store at path for writing and holds it to every
// entity of ids found under its ID, the old index gone and the store clean.
func checkMoved(t *testing.T, path string, ids []string) {
	t.Helper()
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	if got, want := db.Stats().SchemaVersion, currentVersion(migrations); got != want {
		t.Fatalf("schema version after Open = %d, want %d", got, want)
	}
	waitEntityFilter(t, db)
	err = db.Update(context.Background(), func(tx choso.Tx) error {
		for i, id := range ids {
			e, err := tx.FindEntity(id)
			if err != nil || e.Seq != uint64(i+1) || e.DeviceID != movedEntity(i).DeviceID {
				return fmt.Errorf("FindEntity(%s) after the move: got %+v, %v; want seq %d", id, e, err, i+1)
			}
		}
		if _, err := tx.FindEntity(taggedULID(1, "TAGC", 1)); choso.ErrorCode(err) != choso.ENotFound {
			return fmt.Errorf("FindEntity of an ID never stored: %v, want %s", err, choso.ENotFound)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketEntitiesByULID) != nil {
			t.Error("the entity index keyed by ULID is still there after the move")
		}
		if n := tx.Bucket(bucketEntities).Stats().KeyN; n != len(ids) {
			t.Errorf("the new index holds %d keys, want %d", n, len(ids))
		}
		return nil
	})
	if db.NeedsMigration() {
		t.Error("NeedsMigration after the move: true, want false")
	}
	if problems := db.Check(context.Background()); len(problems) > 0 {
		t.Fatalf("Check after the move: %v", problems)
	}
}

// TestOpen_MovesEntitiesToTaggedKeys: a store at schema 5, its entity index
// keyed by ULID, opens at the current version with every entity found under
// its ID, moved in many transactions of whole windows of hours.
func TestOpen_MovesEntitiesToTaggedKeys(t *testing.T) {
	defer func(n int) { entityMoveChunk = n }(entityMoveChunk)
	entityMoveChunk = 7 // many transactions, each of one window (80 entities)
	ids := movedIDs()
	checkMoved(t, schema5Store(t, ids), ids)
}

// TestOpen_ResumesAnEntityMoveACrashCut: a move cut after its first
// transaction, as by a crash, leaves a store older choso refuses and a read-only
// open calls outdated; the next Open finishes it.
func TestOpen_ResumesAnEntityMoveACrashCut(t *testing.T) {
	defer func(n int) { entityMoveChunk = n }(entityMoveChunk)
	entityMoveChunk = 100 // two windows a transaction
	ids := movedIDs()
	path := schema5Store(t, ids)
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		if err := startEntityMove(tx, time.Now()); err != nil {
			return err
		}
		return putSchemaVersion(tx, 6)
	})
	if err != nil {
		t.Fatal(err)
	}
	if done, err := moveEntityChunk(bdb); done || err != nil {
		t.Fatalf("first chunk of the move: done %v, %v; want more to move", done, err)
	}
	var left int
	bdb.View(func(tx *bolt.Tx) error {
		left = tx.Bucket(bucketEntitiesByULID).Stats().KeyN
		if moved := tx.Bucket(bucketEntities).Stats().KeyN; moved+left != len(ids) || moved == 0 || left == 0 {
			t.Errorf("after one chunk: %d moved and %d left of %d; want some of each, none lost", moved, left, len(ids))
		}
		return nil
	})
	bdb.Close()

	if _, err := open(path, Options{}, migrations[:5]); err == nil || !strings.Contains(err.Error(), "newer than this choso") {
		t.Fatalf("a choso of schema 5 opened the store mid-move: %v, want a refusal", err)
	}
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if !ro.NeedsMigration() {
		t.Error("NeedsMigration of a store mid-move: false, want true")
	}
	ro.Close()
	checkMoved(t, path, ids)
}
