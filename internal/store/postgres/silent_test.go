package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/postgres"
	"github.com/choso/choso/internal/store/postgres/pgtest"
)

// A node whose transaction holds the sequencer lock and then goes silent
// without closing its connection (its host lost power or its network, its
// process froze) must not stop every other node's pushes: the database
// ends its session, its work rolls back unacknowledged, and the others go on.
func TestSequencerHolderGoneSilent_OtherNodesPushAgain(t *testing.T) {
	url := pgtest.NewDatabase(t)
	open := func(opts postgres.Options) *postgres.DB {
		db, err := postgres.Open(t.Context(), url, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	silent := open(postgres.Options{IdleInTxTimeout: 300 * time.Millisecond})
	other := open(postgres.Options{})

	locked, release := make(chan struct{}), make(chan struct{})
	silentErr := make(chan error, 1)
	go func() {
		first := true
		silentErr <- silent.Batch(context.Background(), func(tx choso.Tx) error {
			if err := tx.SetMeta("silent", []byte("x")); err != nil {
				return err
			}
			if first { // the sequencer lock is held: now say nothing
				first = false
				close(locked)
				<-release
			}
			return nil
		})
	}()
	<-locked

	otherErr := make(chan error, 1)
	go func() {
		otherErr <- other.Batch(context.Background(), func(tx choso.Tx) error { return tx.SetMeta("other", []byte("y")) })
	}()
	select {
	case err := <-otherErr:
		if err != nil {
			t.Fatalf("the other node's push: %v", err)
		}
	case <-time.After(time.Minute): // a hang detector, far past any timeout at play here
		close(release)
		t.Fatal("the other node's push still waits for the sequencer lock of a node gone silent")
	}
	close(release)
	if err := <-silentErr; err == nil {
		// Acknowledged means committed: its session was ended, so it must not say it was.
		var v []byte
		silent.View(t.Context(), func(tx choso.Tx) error { v, _ = tx.Meta("silent"); return nil })
		if v == nil {
			t.Fatal("the silent node's Batch returned nil, but its write is not in the database")
		}
	} else if code := choso.ErrorCode(err); code != choso.EUnavailable && !errors.Is(err, context.Canceled) {
		t.Fatalf("the silent node's Batch: got %v (%s), want EUnavailable", err, code)
	}
}
