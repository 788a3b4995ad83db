package bolt

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/choso/choso"
	bolt "go.etcd.io/bbolt"
)

// BenchmarkUpdate_OneCommit is one durable write through the store: a
// transaction, a 200-byte value, commit and fsync. Compare with
// BenchmarkRawBolt_OneCommit, the same write on bare bbolt, in one run:
//
//	go test -run '^$' -bench 'OneCommit' -count 5 ./internal/store/bolt
func BenchmarkUpdate_OneCommit(b *testing.B) {
	db := MustOpenDB(b)
	value := make([]byte, 200)
	ctx := context.Background()
	var i uint64
	for b.Loop() {
		i++
		key := string(binary.BigEndian.AppendUint64(nil, i))
		if err := db.Update(ctx, func(tx choso.Tx) error { return tx.SetMeta(key, value) }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawBolt_OneCommit(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err })
	value := make([]byte, 200)
	var i uint64
	for b.Loop() {
		i++
		err := db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("b")).Put(binary.BigEndian.AppendUint64(nil, i), value)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkView_Meta is one read transaction with one lookup.
func BenchmarkView_Meta(b *testing.B) {
	db := MustOpenDB(b)
	ctx := context.Background()
	db.Update(ctx, func(tx choso.Tx) error { return tx.SetMeta("k", make([]byte, 200)) })
	for b.Loop() {
		db.View(ctx, func(tx choso.Tx) error { _, err := tx.Meta("k"); return err })
	}
}
