package choso

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Lease is who holds a named piece of background work (finalising days,
// dispatching webhooks) and until when. Several nodes on one store take
// turns through it, so the work runs once per cluster, not once per node.
type Lease struct {
	Name   string    `json:"name"`
	Holder string    `json:"holder"` // a node's instance ID
	Until  time.Time `json:"until"`
}

const leaseMetaPrefix = "lease:"

// TakeLease takes the lease name for holder until now+ttl when it is free,
// expired or already holder's (a renewal), in one write transaction, and
// reports whether holder has it. A holder renews well before Until (every
// ttl/3, say); one that stops renewing loses the lease at Until. The store
// must serialise writers of one meta key, as Update promises.
func TakeLease(ctx context.Context, store Store, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	if name == "" || holder == "" || strings.ContainsRune(name, 0) || ttl <= 0 {
		return false, Errorf(EInvalid, "a lease needs a name, a holder and a positive term")
	}
	var got bool
	err := store.Update(ctx, func(tx Tx) error {
		got = false
		cur, err := readLease(tx, name)
		if err != nil {
			return err
		}
		if cur != nil && cur.Holder != holder && now.Before(cur.Until) {
			return nil // someone else holds it
		}
		b, err := json.Marshal(Lease{Name: name, Holder: holder, Until: now.Add(ttl).UTC()})
		if err != nil {
			return err
		}
		if err := tx.SetMeta(leaseMetaPrefix+name, b); err != nil {
			return err
		}
		got = true
		return nil
	})
	return got, err
}

// ReleaseLease gives the lease up early when holder has it, so another
// node can take it without waiting for it to expire (at shutdown).
func ReleaseLease(ctx context.Context, store Store, name, holder string) error {
	return store.Update(ctx, func(tx Tx) error {
		cur, err := readLease(tx, name)
		if err != nil || cur == nil || cur.Holder != holder {
			return err
		}
		b, err := json.Marshal(Lease{Name: name})
		if err != nil {
			return err
		}
		return tx.SetMeta(leaseMetaPrefix+name, b)
	})
}

// FindLease returns the lease name as stored, or nil when none was taken.
func FindLease(ctx context.Context, store Store, name string) (*Lease, error) {
	var l *Lease
	err := store.View(ctx, func(tx Tx) error {
		var err error
		l, err = readLease(tx, name)
		return err
	})
	return l, err
}

func readLease(tx Tx, name string) (*Lease, error) {
	b, err := tx.Meta(leaseMetaPrefix + name)
	if err != nil || b == nil {
		return nil, err
	}
	var l Lease
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, WrapError(EInternal, "lease "+name+" does not decode", err)
	}
	if l.Holder == "" {
		return nil, nil // released
	}
	return &l, nil
}
