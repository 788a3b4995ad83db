package bolt

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"testing"
	"time"

	"github.com/choso/choso"
)

// filterID is the i-th of a family of distinct ULID-shaped IDs.
func filterID(family byte, i int) string {
	return fmt.Sprintf("01KB%c%021d", family, i)
}

// TestEntityFilter_HoldsEveryAddedIDAcrossLayers: a ULID added is always
// "may be stored", in whichever layer it went; others rarely are.
func TestEntityFilter_HoldsEveryAddedIDAcrossLayers(t *testing.T) {
	const first = 2000
	f := &entityFilter{seed: maphash.MakeSeed(), layers: []*filterLayer{newFilterLayer(first)}}
	const n = 5 * first // fills the layers of 1, 2 and then part of 4 × the first
	for i := range n {
		f.add(filterID('A', i))
	}
	if len(f.layers) != 3 {
		t.Errorf("layers after %d IDs from a first layer of %d: got %d, want 3", n, first, len(f.layers))
	}
	for i := range n {
		if id := filterID('A', i); !f.mayHold(id) {
			t.Fatalf("mayHold(%s) = false for an added ID: the store would count it again", id)
		}
	}
	before := f.layers[len(f.layers)-1].n.Load()
	for i := range 100 {
		f.add(filterID('A', i)) // put again, as a voided or paid sale is
	}
	if got := f.layers[len(f.layers)-1].n.Load(); got != before {
		t.Errorf("IDs counted in the last layer after adding 100 again: got %d, want %d", got, before)
	}
	// Expected about 11 × 0.05 % at most; 1 % would make the filter useless.
	falsePositives := 0
	const others = 20_000
	for i := range others {
		if f.mayHold(filterID('B', i)) {
			falsePositives++
		}
	}
	if falsePositives > others/100 {
		t.Errorf("false positives: %d of %d IDs never added, want under 1 %%", falsePositives, others)
	}
}

// waitEntityFilter waits until db's entity filter has loaded and fails t
// unless it is ready.
func waitEntityFilter(t *testing.T, db *DB) {
	t.Helper()
	select {
	case <-db.loaded:
	case <-time.After(time.Minute):
		t.Fatal("the entity filter did not load in a minute")
	}
	if !db.entities.ready.Load() {
		t.Fatal("the entity filter stopped loading without being ready")
	}
}

// TestEntityFilter_StoredEntitiesFoundAfterReopen: the filter is memory
// only, so a reopened store loads it from the index (in chunks, beside the
// writes that go on meanwhile); a write transaction that trusted a filter
// missing a stored ULID would take a resent sale for new.
func TestEntityFilter_StoredEntitiesFoundAfterReopen(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	const n = 2*filterLoadChunk + 17 // three chunks, the last one short
	err := db.Update(ctx, func(tx choso.Tx) error {
		for i := range n {
			if err := tx.PutEntity(filterID('A', i), &choso.Entity{DeviceID: "dev_a", Seq: uint64(i + 1)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Stored while the filter loads: in it by PutEntity, not by the load.
	for i := range 20 {
		err := db.Update(ctx, func(tx choso.Tx) error {
			return tx.PutEntity(filterID('C', i), &choso.Entity{DeviceID: "dev_c", Seq: uint64(i + 1)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	waitEntityFilter(t, db)
	err = db.Update(ctx, func(tx choso.Tx) error {
		for family, count := range map[byte]int{'A': n, 'C': 20} {
			for i := range count {
				if e, err := tx.FindEntity(filterID(family, i)); err != nil || e.Seq != uint64(i+1) {
					return fmt.Errorf("FindEntity(%s) in a write transaction after reopening: got %+v, %v", filterID(family, i), e, err)
				}
			}
		}
		if _, err := tx.FindEntity(filterID('B', 1)); choso.ErrorCode(err) != choso.ENotFound {
			return fmt.Errorf("FindEntity of an ID never stored: got %v, want %s", err, choso.ENotFound)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The load may add a ULID a write already added; it must not skip one.
	if got := db.entities.layers[0].n.Load(); got < n+20 {
		t.Errorf("ULIDs added to the first layer: got %d, want at least the %d stored and the 20 put while loading", got, n)
	}
}

// TestEntityFilter_CloseWaitsForTheLoader: Close stops a load under way and
// returns only after the loader has, so that it reads no closed file.
func TestEntityFilter_CloseWaitsForTheLoader(t *testing.T) {
	db := MustOpenDB(t)
	err := db.Update(context.Background(), func(tx choso.Tx) error {
		for i := range 3 * filterLoadChunk {
			if err := tx.PutEntity(filterID('A', i), &choso.Entity{Seq: 1}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	db.Close()
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-db.loaded:
	default:
		t.Fatal("Close returned before the filter's loader did")
	}
}

// TestEntityFilter_RolledBackIDStaysAbsent: a rolled-back put leaves its ID
// in the filter, which must cost only a read that finds nothing, and the
// same ID stored later is found.
func TestEntityFilter_RolledBackIDStaysAbsent(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	id := filterID('A', 1)
	failed := errors.New("fails")
	err := db.Update(ctx, func(tx choso.Tx) error {
		if err := tx.PutEntity(id, &choso.Entity{Seq: 1}); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("failing Update: got %v, want its error", err)
	}
	err = db.Update(ctx, func(tx choso.Tx) error {
		if _, err := tx.FindEntity(id); choso.ErrorCode(err) != choso.ENotFound {
			return fmt.Errorf("entity of a rolled-back transaction: got %v, want %s", err, choso.ENotFound)
		}
		return tx.PutEntity(id, &choso.Entity{Seq: 2})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, func(tx choso.Tx) error {
		if e, err := tx.FindEntity(id); err != nil || e.Seq != 2 {
			return fmt.Errorf("FindEntity after storing it: got %+v, %v, want seq 2", e, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
