package sync_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/choso/choso"
	chosync "github.com/choso/choso/sync"
)

// TestCheckEvents_FindsWhatDisagreesWithTheLog: every scenario's store passes
// CheckEvents at cleanup (newWorld); here the records the rules write beside
// an event, and the day totals, are bent one by one, and the check names
// each, and only those.
func TestCheckEvents_FindsWhatDisagreesWithTheLog(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	cash, qr := p.sale(15000, choso.MethodCash), p.sale(30000, choso.MethodQR)
	closing := p.event(choso.EventDayClose, chosync.DayClose{Count: 2, Amount: 45000})
	// Two dynamic-code sales with one payment reference: the later owns it.
	const ref = "CS7KQ2M9XW4T"
	refSale := p.event(choso.EventSaleRecord, chosync.SaleRecord{Amount: 20000, Method: choso.MethodQR, Ref: ref})
	refAgain := p.event(choso.EventSaleRecord, chosync.SaleRecord{Amount: 25000, Method: choso.MethodQR, Ref: strings.ToLower(ref)})
	p.mustPush(cash, qr, closing, refSale, refAgain)
	ctx := context.Background()

	problems, checked, err := chosync.CheckEvents(ctx, w.db)
	if err != nil || len(problems) > 0 || checked != 5 {
		t.Fatalf("a store the rules wrote: got %v, %d events checked, %v; want no problem in 5", problems, checked, err)
	}

	// Bend four records, point the payment reference at the sale that does
	// not own it, and add stall-days of sales the log does not have (one on
	// a date the log has; two on a date it has not, of the registered stall
	// and of one the registry does not list), keeping the originals to put
	// back: the world's cleanup checks the store too.
	const phantomStall = "stl_0000000000000000000000phantom"
	earlyDate := w.clock().AddDate(-1, 0, 0).Format("2006-01-02")
	var cashEnt, qrEnt *choso.Entity
	var closeResult *choso.EventResult
	var day *choso.StallDay
	bend := func(tx choso.Tx) error {
		var err error
		if day, err = tx.FindStallDay(w.stall.ID, cash.BusinessDate); err != nil {
			return err
		}
		inflated := *day
		inflated.ByMethod = map[string]choso.MethodTotals{}
		for k, v := range day.ByMethod {
			inflated.ByMethod[k] = v
		}
		inflated.ByMethod[choso.MethodCash] = choso.MethodTotals{Count: 2, Amount: 30000} // one cash sale of 15,000 more
		if err := tx.PutStallDay(&inflated); err != nil {
			return err
		}
		phantom := choso.StallDay{StallID: phantomStall, MarketID: day.MarketID, Date: day.Date, Status: day.Status,
			ByMethod: map[string]choso.MethodTotals{choso.MethodQR: {Count: 1, Amount: 99000}}}
		if err := tx.PutStallDay(&phantom); err != nil {
			return err
		}
		// A day of the real stall a year before anything in the log, and
		// one of the stall the registry does not list, the same day.
		early := phantom
		early.StallID, early.Date = w.stall.ID, earlyDate
		if err := tx.PutStallDay(&early); err != nil {
			return err
		}
		early.StallID = phantomStall
		if err := tx.PutStallDay(&early); err != nil {
			return err
		}
		// The reference now names the earlier sale: the later one, which
		// owns it, is the one a credit would miss.
		if err := tx.PutSaleRef(ref, refSale.ID); err != nil {
			return err
		}
		if cashEnt, err = tx.FindEntity(cash.ID); err != nil {
			return err
		}
		if qrEnt, err = tx.FindEntity(qr.ID); err != nil {
			return err
		}
		// The close's result is told by its entity; a stored one is read
		// first, so a wrong one is a problem.
		closeEnt, err := tx.FindEntity(closing.ID)
		if err != nil {
			return err
		}
		closeResult = &choso.EventResult{Status: chosync.StatusApplied, Hash: closeEnt.Hash, ServerSeq: closeEnt.ServerSeq}
		wrongSeq, moved := *cashEnt, *qrEnt
		wrongSeq.ServerSeq += 100
		moved.EffectiveMs += 3_600_000
		wrongResult := *closeResult
		wrongResult.ServerSeq = cashEnt.ServerSeq
		if err := tx.PutEntity(cash.ID, &wrongSeq); err != nil {
			return err
		}
		if err := tx.PutEntity(qr.ID, &moved); err != nil {
			return err
		}
		return tx.PutResult(p.id, closing.Seq, &wrongResult)
	}
	if err := w.db.Update(ctx, bend); err != nil {
		t.Fatal(err)
	}
	problems, checked, err = chosync.CheckEvents(ctx, w.db)
	if err != nil || checked != 5 {
		t.Fatalf("bent store: %d events checked, %v", checked, err)
	}
	got := fmt.Sprint(problems)
	for _, want := range []string{
		cash.ID + ", device " + p.id + " seq 1): its entity names event",
		qr.ID + ", device " + p.id + " seq 2): a QR sale at",
		closing.ID + ", device " + p.id + " seq 3): its result names server seq",
		"stall " + w.stall.ID + ", " + cash.BusinessDate + ": day totals map[cash:{2 30000} qr:{3 75000}]",
		"stall " + phantomStall + ", " + cash.BusinessDate + ": day totals map[qr:{1 99000}], voids {0 0}, but no sales in the log",
		"stall " + w.stall.ID + ", " + earlyDate + ": day totals map[qr:{1 99000}], voids {0 0}, but no sales in the log",
		"stall " + phantomStall + ", " + earlyDate + ": day totals map[qr:{1 99000}], voids {0 0}, but no sales in the log",
		refAgain.ID + ", device " + p.id + " seq 5): its payment reference \"" + strings.ToLower(ref) + "\" names sale " + refSale.ID +
			" (reference \"" + ref + "\", event",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q: want one with %q", got, want)
		}
	}
	if len(problems) != 8 {
		t.Errorf("problems: got %d, want 8: %v", len(problems), problems)
	}

	err = w.db.Update(ctx, func(tx choso.Tx) error {
		if err := tx.PutStallDay(day); err != nil {
			return err
		}
		emptied := choso.StallDay{StallID: phantomStall, MarketID: day.MarketID, Date: day.Date, Status: day.Status, ByMethod: map[string]choso.MethodTotals{}}
		if err := tx.PutStallDay(&emptied); err != nil { // a stall-day cannot be deleted; an empty one is no problem
			return err
		}
		emptied.StallID, emptied.Date = w.stall.ID, earlyDate
		if err := tx.PutStallDay(&emptied); err != nil {
			return err
		}
		emptied.StallID = phantomStall
		if err := tx.PutStallDay(&emptied); err != nil {
			return err
		}
		if err := tx.PutSaleRef(ref, refAgain.ID); err != nil {
			return err
		}
		if err := tx.PutEntity(cash.ID, cashEnt); err != nil {
			return err
		}
		if err := tx.PutEntity(qr.ID, qrEnt); err != nil {
			return err
		}
		return tx.PutResult(p.id, closing.Seq, closeResult)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCheckEvents_StopsAfterMaxProblems: a store that disagrees everywhere
// gets 100 problems and a line saying where the check stopped, not one a
// row for ten million events.
func TestCheckEvents_StopsAfterMaxProblems(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	var sales []chosync.Event
	for range 120 {
		sales = append(sales, p.sale(1000, choso.MethodCash))
	}
	p.mustPush(sales...)
	ctx := context.Background()
	shift := func(by int64) error {
		return w.db.Update(ctx, func(tx choso.Tx) error {
			for _, s := range sales {
				e, err := tx.FindEntity(s.ID)
				if err != nil {
					return err
				}
				e.ServerSeq = uint64(int64(e.ServerSeq) + by)
				if err := tx.PutEntity(s.ID, e); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := shift(1000); err != nil {
		t.Fatal(err)
	}
	problems, checked, err := chosync.CheckEvents(ctx, w.db)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 101 || checked != 100 || !strings.Contains(problems[100].Error(), "stopped after 100 problems; events after server seq") {
		t.Errorf("got %d problems over %d events, the last %v; want 100 and a line saying where it stopped", len(problems), checked, problems[len(problems)-1])
	}
	if err := shift(-1000); err != nil { // the world's cleanup checks the store too
		t.Fatal(err)
	}
}

// TestCheckEvents_ReadsEveryPageOfADate: the days of a date are read a page
// at a time; a day with sales on the third page is found all the same.
func TestCheckEvents_ReadsEveryPageOfADate(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	date := w.clock().AddDate(-1, 0, 0).Format("2006-01-02") // no sales in the log
	const n = 2500                                           // days, past two of the check's pages
	last := fmt.Sprintf("stl_unlisted%05d", n)
	put := func(sales int64) error {
		return w.db.Update(ctx, func(tx choso.Tx) error {
			for i := 1; i <= n; i++ {
				d := &choso.StallDay{StallID: fmt.Sprintf("stl_unlisted%05d", i), Date: date, ByMethod: map[string]choso.MethodTotals{}}
				if d.StallID == last && sales > 0 {
					d.ByMethod[choso.MethodCash] = choso.MethodTotals{Count: 1, Amount: sales}
				}
				if err := tx.PutStallDay(d); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := put(15000); err != nil {
		t.Fatal(err)
	}
	problems, _, err := chosync.CheckEvents(ctx, w.db)
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0].Error(), "stall "+last+", "+date+": day totals map[cash:{1 15000}]") {
		t.Errorf("got %v, %v; want the one day with sales, of %s", problems, err, last)
	}
	if err := put(0); err != nil { // the world's cleanup checks the store too
		t.Fatal(err)
	}
}

// The payment-reference index keys a reference in capitals
// (strings.ToUpper), so the check folds it the same way: "ı" and "i" are
// one key, though strings.EqualFold tells them apart.
func TestCheckEvents_RefsFoldAsTheIndexDoes(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	withRef := func(ref string) chosync.Event {
		ev := p.sale(10000, "qr")
		ev.Payload = []byte(`{"amount":10000,"method":"qr","ref":"` + ref + `"}`)
		return ev
	}
	p.mustPush(withRef("CSi"), withRef("CSı"))
	if problems, _, err := chosync.CheckEvents(context.Background(), w.db); len(problems) > 0 || err != nil {
		t.Fatalf("CheckEvents: %v, %v", problems, err)
	}
}
