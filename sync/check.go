package sync

import (
	"context"
	"fmt"
	"slices"

	"github.com/choso/choso"
)

// maxCheckProblems bounds what CheckEvents reports: past it, one more
// problem says how many events were left unchecked.
const maxCheckProblems = 100

// checkPage is how many events CheckEvents reads at a time.
const checkPage = 1000

// CheckEvents walks every stored event and checks that what the apply
// rules write in the same transaction agrees with it (SYNC.md §6.5):
//
//   - its entity, under its ULID, names its server seq: else a resent copy
//     of it would be applied again, or one of another event taken for it;
//   - its result, under its device and seq, names its server seq: else a
//     resent push would be answered with another event's outcome;
//   - a QR sale with a time is in its stall's QR-sale index, where the
//     bank's credits look for it.
//
// It reads the whole log in one read transaction, so on a year's store it
// takes minutes: `choso check --events` runs it on a stopped server. It
// returns the problems found (at most maxCheckProblems, then a count of the
// events not checked), the events checked, and an error when it could not
// read.
func CheckEvents(ctx context.Context, store choso.Store) (problems []error, checked int, err error) {
	err = store.View(ctx, func(tx choso.Tx) error {
		var after uint64
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			events, err := tx.ListEvents(after, checkPage)
			if err != nil {
				return err
			}
			for _, ev := range events {
				if len(problems) >= maxCheckProblems {
					problems = append(problems, fmt.Errorf("stopped after %d problems; events after server seq %d not checked", maxCheckProblems, after))
					return nil
				}
				p, err := checkEvent(tx, ev)
				if err != nil {
					return err
				}
				problems = append(problems, p...)
				after = ev.ServerSeq
				checked++
			}
			if len(events) < checkPage {
				return nil
			}
		}
	})
	return problems, checked, err
}

// checkEvent checks one event's entity, result and QR-sale index entry.
func checkEvent(tx choso.Tx, ev *choso.Event) ([]error, error) {
	var problems []error
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf("event %d (%s %s, device %s seq %d): "+format,
			append([]any{ev.ServerSeq, ev.Type, ev.ID, ev.DeviceID, ev.Seq}, args...)...))
	}
	ent, err := tx.FindEntity(ev.ID)
	switch {
	case choso.ErrorCode(err) == choso.ENotFound:
		add("no entity under its ID")
	case err != nil:
		return nil, err
	case ent.ServerSeq != ev.ServerSeq || ent.DeviceID != ev.DeviceID || ent.Seq != ev.Seq || ent.Type != ev.Type:
		add("its entity names event %d (%s, device %s seq %d)", ent.ServerSeq, ent.Type, ent.DeviceID, ent.Seq)
	}
	r, err := tx.FindResult(ev.DeviceID, ev.Seq)
	switch {
	case choso.ErrorCode(err) == choso.ENotFound:
		add("no result for its device and seq")
	case err != nil:
		return nil, err
	case r.ServerSeq != ev.ServerSeq:
		add("its result names server seq %d (%s)", r.ServerSeq, r.Status)
	}
	if ent != nil && ent.ServerSeq == ev.ServerSeq && ev.Type == choso.EventSaleRecord &&
		ent.Method == choso.MethodQR && ent.EffectiveMs > 0 {
		ids, err := tx.ListQRSales(ev.StallID, ent.EffectiveMs, ent.EffectiveMs)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ids, ev.ID) {
			add("a QR sale at %d ms not in stall %s's QR-sale index", ent.EffectiveMs, ev.StallID)
		}
	}
	return problems, nil
}
