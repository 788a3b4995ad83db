package sync

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/choso/choso"
)

// maxCheckProblems bounds what CheckEvents reports: past it, one more
// problem says where it stopped.
const maxCheckProblems = 100

// checkPage is how many events CheckEvents reads at a time.
const checkPage = 1000

// checkListPage is how many markets or stalls it reads at a time.
const checkListPage = choso.MaxPageSize

// CheckEvents walks every stored event and checks that what the apply
// rules write in the same transaction agrees with it (SYNC.md §6.5):
//
//   - its entity, under its ULID, names its server seq: else a resent copy
//     of it would be applied again, or one of another event taken for it;
//   - its result, under its device and seq, names its server seq: else a
//     resent push would be answered with another event's outcome;
//   - a QR sale with a time is in its stall's QR-sale index, and one with a
//     payment reference is found by it (or a later sale with the same
//     reference is), where the bank's credits look for it;
//   - each stall's day totals equal its sales of that day as the log holds
//     them: by method, net of the voided ones (its entity says which), and
//     the voided ones apart. This is the money a vendor, an official and
//     the bank see. And no stall-day holds sales the log lacks, on any
//     date, whether the registry lists its stall or not.
//
// It reads the whole log in one read transaction, so on a year's store it
// takes minutes: `choso check --events` runs it on a stopped server. It
// returns the problems found (at most maxCheckProblems of the events and
// as many of the day totals, each time with one more saying where it
// stopped), the events checked, and an error when it could not read.
func CheckEvents(ctx context.Context, store choso.Store) (problems []error, checked int, err error) {
	err = store.View(ctx, func(tx choso.Tx) error {
		days := map[dayKey]*choso.StallDay{} // the totals the log adds up to
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
					problems = append(problems, fmt.Errorf("stopped after %d problems; events after server seq %d not checked, nor day totals", maxCheckProblems, after))
					return nil
				}
				p, err := checkEvent(tx, ev, days)
				if err != nil {
					return err
				}
				problems = append(problems, p...)
				after = ev.ServerSeq
				checked++
			}
			if len(events) < checkPage {
				break
			}
		}
		p, err := checkDays(tx, days)
		problems = append(problems, p...)
		return err
	})
	return problems, checked, err
}

// dayKey names a stall's business day.
type dayKey struct{ stallID, date string }

// checkDays compares each stall-day the log has sales for with the totals
// stored for it, and finds stall-days of those dates holding sales the log
// does not have.
func checkDays(tx choso.Tx, days map[dayKey]*choso.StallDay) ([]error, error) {
	keys := slices.SortedFunc(maps.Keys(days), func(a, b dayKey) int {
		return cmp.Or(cmp.Compare(a.stallID, b.stallID), cmp.Compare(a.date, b.date))
	})
	var problems []error
	for _, k := range keys {
		want := days[k]
		got, err := tx.FindStallDay(k.stallID, k.date)
		if choso.ErrorCode(err) == choso.ENotFound {
			problems = append(problems, fmt.Errorf("stall %s, %s: no day totals for its %d sales", k.stallID, k.date, salesOf(want)))
			continue
		}
		if err != nil {
			return problems, err
		}
		if !sameTotals(got.ByMethod, want.ByMethod) || got.Voids != want.Voids {
			problems = append(problems, fmt.Errorf("stall %s, %s: day totals %v, voids %v; its sales add up to %v, voids %v",
				k.stallID, k.date, got.ByMethod, got.Voids, want.ByMethod, want.Voids))
		}
		if problems, full := daysFull(problems); full {
			return problems, nil
		}
	}
	// The other way, on the dates the log has sales on: a stall-day that
	// holds sales the log has none of.
	dates := map[string]bool{}
	for _, k := range keys {
		dates[k.date] = true
	}
	for _, date := range slices.Sorted(maps.Keys(dates)) {
		for d, err := range daysOn(tx, date) {
			if err != nil {
				return problems, err
			}
			if days[dayKey{d.StallID, d.Date}] == nil && !emptyDay(d) {
				problems = append(problems, salesNotInLog(d))
			}
		}
		if problems, full := daysFull(problems); full {
			return problems, nil
		}
	}
	// And on the dates the log has no sales on, every registered stall's
	// days, market by market, then every date's days of the stalls the
	// registry does not list: none may hold a sale.
	problems, err := checkOtherDates(tx, dates, problems)
	if err != nil || len(problems) > maxCheckProblems { // past the cap: daysFull said where it stopped
		return problems, err
	}
	return checkUnlistedStalls(tx, dates, problems)
}

// checkUnlistedStalls adds a problem for each day, on a date not in
// logDates, that holds sales of a stall the registry does not list. It
// walks the dates that have days, not every stall: checkOtherDates has
// already read the registered stalls' days.
func checkUnlistedStalls(tx choso.Tx, logDates map[string]bool, problems []error) ([]error, error) {
	for afterDate := ""; ; {
		dates, err := tx.ListDayDates(afterDate, checkPage)
		if err != nil || len(dates) == 0 { // a store may return fewer than asked: stop at an empty page
			return problems, err
		}
		afterDate = dates[len(dates)-1]
		for _, date := range dates {
			if logDates[date] {
				continue // checked against the log above
			}
			for d, err := range daysOn(tx, date) {
				if err != nil {
					return problems, err
				}
				if emptyDay(d) {
					continue
				}
				switch _, err := tx.FindStall(d.StallID); {
				case choso.ErrorCode(err) != choso.ENotFound && err != nil:
					return problems, err
				case err == nil:
					continue // a registered stall's: checkOtherDates said so
				}
				problems = append(problems, salesNotInLog(d))
				if problems, full := daysFull(problems); full {
					return problems, nil
				}
			}
		}
	}
}

// checkOtherDates adds a problem for each day of a registered stall, on a
// date not in logDates, that holds sales: the log has none that day.
func checkOtherDates(tx choso.Tx, logDates map[string]bool, problems []error) ([]error, error) {
	mf := choso.MarketFilter{Limit: checkListPage}
	for {
		markets, err := tx.ListMarkets(mf)
		if err != nil || len(markets) == 0 { // a store may return fewer than asked: stop at an empty page
			return problems, err
		}
		mf.After = markets[len(markets)-1].ID
		for _, m := range markets {
			for after := ""; ; {
				stalls, err := tx.ListStallRefs(m.ID, after, checkListPage)
				if err != nil {
					return problems, err
				}
				if len(stalls) == 0 {
					break
				}
				after = stalls[len(stalls)-1].Code
				for _, st := range stalls {
					days, err := tx.ListStallDays(st.ID, "", "")
					if err != nil {
						return problems, err
					}
					for _, d := range days {
						if !logDates[d.Date] && !emptyDay(d) {
							problems = append(problems, salesNotInLog(d))
						}
					}
					if problems, full := daysFull(problems); full {
						return problems, nil
					}
				}
			}
		}
	}
}

// daysOn yields each stall-day of a business date, reading the date's days
// a page at a time to an empty page (a store may return fewer than asked).
// A read error is yielded with a nil day, and ends the walk.
func daysOn(tx choso.Tx, date string) iter.Seq2[*choso.StallDay, error] {
	return func(yield func(*choso.StallDay, error) bool) {
		for after := ""; ; {
			days, err := tx.ListDaysByDate(date, after, checkPage)
			if err != nil {
				yield(nil, err)
				return
			}
			if len(days) == 0 {
				return
			}
			for _, d := range days {
				if !yield(d, nil) {
					return
				}
			}
			after = days[len(days)-1].StallID
		}
	}
}

// salesNotInLog is the problem of a stall-day holding sales the log has
// none of.
func salesNotInLog(d *choso.StallDay) error {
	return fmt.Errorf("stall %s, %s: day totals %v, voids %v, but no sales in the log", d.StallID, d.Date, d.ByMethod, d.Voids)
}

// daysFull reports whether the day totals' problems reached the cap, and
// then adds the line saying where the check stopped.
func daysFull(problems []error) ([]error, bool) {
	if len(problems) < maxCheckProblems {
		return problems, false
	}
	return append(problems, fmt.Errorf("stopped after %d problems in the day totals", maxCheckProblems)), true
}

// sameTotals compares totals by method, a method at zero the same as one
// not there: a day whose only sale of a method was voided keeps the key.
func sameTotals(a, b map[string]choso.MethodTotals) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// emptyDay reports whether a stall-day counts no sale and no void.
func emptyDay(d *choso.StallDay) bool {
	for _, t := range d.ByMethod {
		if t != (choso.MethodTotals{}) {
			return false
		}
	}
	return d.Voids == choso.MethodTotals{}
}

func salesOf(d *choso.StallDay) int64 {
	n := d.Voids.Count
	for _, t := range d.ByMethod {
		n += t.Count
	}
	return n
}

// checkEvent checks one event's entity, result and QR-sale index entry,
// and adds a sale to the day totals the log adds up to.
func checkEvent(tx choso.Tx, ev *choso.Event, days map[dayKey]*choso.StallDay) ([]error, error) {
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
	// Most applied events store no result: the entity, checked above,
	// tells it (sync/push.go, toldByEntity). So a stored result that went
	// missing (one with a note) is not noticed here: the log cannot say
	// whether the event's result had one.
	r, err := tx.FindResult(ev.DeviceID, ev.Seq)
	switch {
	case choso.ErrorCode(err) == choso.ENotFound:
	case err != nil:
		return nil, err
	case r.ServerSeq != ev.ServerSeq:
		add("its result names server seq %d (%s)", r.ServerSeq, r.Status)
	}
	// QR sales only: the index holds transfer sales too, but not those a
	// store took before it did, which are not a fault of the store.
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
	if ev.Type == choso.EventSaleRecord {
		// The amount and method as the phone sent them, from the stored
		// payload; whether it was voided, from its entity.
		var sale SaleRecord
		if err := jsonv2.Unmarshal(ev.Payload, &sale); err != nil {
			add("its stored payload does not decode: %v", err)
			return problems, nil
		}
		if sale.Method == choso.MethodQR && sale.Ref != "" && ent != nil && ent.ServerSeq == ev.ServerSeq {
			p, err := checkSaleRef(tx, ev, sale.Ref)
			if err != nil {
				return nil, err
			}
			if p != "" {
				add("%s", p)
			}
		}
		k := dayKey{ev.StallID, ev.BusinessDate}
		d := days[k]
		if d == nil {
			d = &choso.StallDay{ByMethod: map[string]choso.MethodTotals{}}
			days[k] = d
		}
		switch {
		case ent != nil && ent.VoidedBy != "":
			d.Voids.Count++
			d.Voids.Amount += sale.Amount
		default:
			addTo(d.ByMethod, sale.Method, 1, sale.Amount)
		}
	}
	return problems, nil
}

// checkSaleRef checks that a QR sale's payment reference finds it, or a
// later sale that carried the same reference (the last one owns it), for
// the bank's credits to be matched by. It returns the problem, or "".
func checkSaleRef(tx choso.Tx, ev *choso.Event, ref string) (string, error) {
	owner, err := tx.FindSaleByRef(strings.ToUpper(ref))
	switch {
	case choso.ErrorCode(err) == choso.ENotFound:
		return fmt.Sprintf("its payment reference %q is not in the reference index", ref), nil
	case err != nil:
		return "", err
	case owner == ev.ID:
		return "", nil
	}
	o, err := tx.FindEntity(owner)
	switch {
	case choso.ErrorCode(err) == choso.ENotFound:
		return fmt.Sprintf("its payment reference %q names sale %s, which is not stored", ref, owner), nil
	case err != nil:
		return "", err
	case strings.ToUpper(o.Ref) != strings.ToUpper(ref) || o.ServerSeq < ev.ServerSeq: // the index's own fold (PutSaleRef)
		return fmt.Sprintf("its payment reference %q names sale %s (reference %q, event %d), neither it nor a later sale with the reference",
			ref, owner, o.Ref, o.ServerSeq), nil
	}
	return "", nil
}
