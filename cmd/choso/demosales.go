package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/choso/choso"
	chosync "github.com/choso/choso/sync"
)

// demoDays is how many days the demo's sales go back, today included: the
// dashboard's default range. The stalls join over its first three weeks,
// and their customers pay by QR more as the weeks go by, so the dashboard
// shows adoption growing.
const demoDays = 30

// demoPrices are what a morning market sells for, in đồng.
var demoPrices = []int64{5_000, 8_000, 10_000, 12_000, 15_000, 20_000, 25_000, 30_000, 35_000, 40_000,
	45_000, 50_000, 60_000, 70_000, 80_000, 100_000, 120_000, 150_000, 180_000, 250_000}

// demoSale is a QR or transfer sale the demo bank may confirm.
type demoSale struct {
	stall  *choso.Stall
	at     time.Time
	amount int64
}

// demoJoined is when the k-th demo stall was registered: at 05:00 on a day
// of the first three weeks of the demoDays before now, in loc.
func demoJoined(k int, now time.Time, loc *time.Location) time.Time {
	day := now.In(loc).AddDate(0, 0, -(demoDays - 1 - k*5%21))
	return time.Date(day.Year(), day.Month(), day.Day(), 5, 0, 0, 0, loc)
}

// seedDemoSales gives every demo stall an enrolled phone that has synced
// its mornings' sales since it joined (demoJoined), in the last demoDays:
// cash, QR and transfer, a few voided, each past day closed, applied by
// the same rules as a real push. Then a demo bank confirms most of the QR
// and transfer sales (seedDemoBank), so the dashboard, the stall pages and
// the reconciliation have figures to show, confirmed and not.
func seedDemoSales(ctx context.Context, reg *choso.Registry, ps *choso.Partners, actor *choso.Principal, stalls []*choso.Stall, log *slog.Logger) error {
	if len(stalls) == 0 {
		return nil
	}
	loc, err := choso.LoadLocation(choso.DefaultTimeZone)
	if err != nil {
		return err
	}
	now := reg.Now()
	today := now.In(loc)
	rng := rand.New(rand.NewPCG(2026, 1))
	var paid []demoSale
	var events int
	for _, s := range stalls {
		// The stall's phone was enrolled as the stall was registered,
		// before its first market opened: a sale from before a phone's
		// enrollment is one its clock got wrong (SYNC.md §6.10), placed at
		// its push, where no credit finds it.
		joined := s.CreatedAt.In(loc).Format(time.DateOnly)
		enrolled := *reg
		enrolled.Now = func() time.Time { return s.CreatedAt.Add(10 * time.Minute) }
		code, _, err := enrolled.CreateEnrollment(ctx, actor, s.ID)
		if err != nil {
			return fmt.Errorf("enroll a phone for stall %s: %w", s.Code, err)
		}
		dev, _, err := enrolled.RedeemEnrollment(ctx, code, "choso-demo", nil)
		if err != nil {
			return fmt.Errorf("enroll a phone for stall %s: %w", s.Code, err)
		}
		var seq uint64
		tag := chosync.TagOf(dev.ID) // as the phone's outbox would tag its ULIDs
		for d := demoDays - 1; d >= 0; d-- {
			day := today.AddDate(0, 0, -d)
			if day.Format(time.DateOnly) < joined {
				continue
			}
			open := time.Date(day.Year(), day.Month(), day.Day(), 5, 30, 0, 0, loc)
			end, pushAt := open.Add(6*time.Hour), open.Add(6*time.Hour+30*time.Minute)
			if d == 0 { // today: the market so far, synced just now
				if !now.After(open.Add(time.Minute)) {
					break
				}
				if soFar := now.Add(-time.Second); soFar.Before(end) {
					end = soFar
				}
				pushAt = now
			}
			times := make([]time.Time, 6+rng.IntN(14))
			for i := range times {
				times[i] = open.Add(time.Duration(rng.Int64N(int64(end.Sub(open)))))
			}
			slices.SortFunc(times, time.Time.Compare)

			req := &chosync.PushRequest{Protocol: chosync.ProtocolVersion, AppVersion: "choso-demo",
				Client: chosync.ClientState{WallMs: pushAt.UnixMilli()}}
			add := func(typ, id string, at time.Time, payload string) {
				seq++
				req.Events = append(req.Events, chosync.Event{Seq: seq, ID: id, Type: typ, V: 1, WallMs: at.UnixMilli(),
					AnchoredMs: at.UnixMilli(), BusinessDate: day.Format(time.DateOnly), Payload: []byte(payload)})
			}
			var count, amount int64
			var lastCash string
			var lastCashAmount int64
			for _, at := range times {
				price := demoPrices[rng.IntN(len(demoPrices))]
				method := choso.MethodCash
				// From one sale in four paid into the account to one in two.
				switch r, paidIn := rng.IntN(100), 25+25*(demoDays-d)/demoDays; {
				case r < paidIn*4/5:
					method = choso.MethodQR
				case r < paidIn:
					method = choso.MethodTransfer
				}
				id := chosync.SeededULID(at.UnixMilli(), tag, rng)
				add(choso.EventSaleRecord, id, at, fmt.Sprintf(`{"amount":%d,"method":%q}`, price, method))
				count, amount = count+1, amount+price
				switch {
				case method == choso.MethodCash:
					lastCash, lastCashAmount = id, price
				case d > 0:
					paid = append(paid, demoSale{stall: s, at: at, amount: price})
				}
			}
			// Now and then a vendor voids a sale keyed in by mistake.
			if lastCash != "" && rng.IntN(3) == 0 {
				at := times[len(times)-1].Add(pushAt.Sub(times[len(times)-1]) / 2)
				add(choso.EventSaleVoid, chosync.SeededULID(at.UnixMilli(), tag, rng), at, fmt.Sprintf(`{"sale_id":%q,"reason":"nhập nhầm"}`, lastCash))
				count, amount = count-1, amount-lastCashAmount
			}
			if d > 0 {
				add(choso.EventDayClose, chosync.SeededULID(end.UnixMilli(), tag, rng), end, fmt.Sprintf(`{"count":%d,"amount":%d}`, count, amount))
			}
			if err := demoPush(ctx, reg.Store, dev.ID, req, pushAt); err != nil {
				return fmt.Errorf("stall %s, %s: %w", s.Code, day.Format(time.DateOnly), err)
			}
			events += len(req.Events)
		}
	}

	credits, err := seedDemoBank(ctx, ps, stalls[0].ProvinceCode, paid, rng, log)
	if err != nil {
		return err
	}
	log.Info("demo sales seeded", "phones", len(stalls), "events", events, "days", demoDays, "credits", credits)
	return nil
}

// seedDemoBank adds a demo bank for the province and posts its credits for
// nine in ten of the sales paid into the stalls' accounts; the tenth stays
// unconfirmed, as a reconciliation shows it. It logs the bank's key, for
// trying the partner API. A real bank posts only its own customers'
// credits; the demo's posts every bank's, so that every stall shows some.
func seedDemoBank(ctx context.Context, ps *choso.Partners, province string, paid []demoSale, rng *rand.Rand, log *slog.Logger) (int, error) {
	partner, key, secret, err := ps.AddPartner(ctx, choso.SystemPrincipal("demo"),
		choso.NewPartner{Name: "Ngân hàng demo", Provinces: []string{province}})
	if err != nil {
		return 0, fmt.Errorf("demo bank: %w", err)
	}
	var credits []choso.CreditInput
	for i, sale := range paid {
		if rng.IntN(10) == 0 {
			continue
		}
		credits = append(credits, choso.CreditInput{BankTxnID: fmt.Sprintf("DEMO%06d", i+1),
			BIN: sale.stall.Payout.BIN, Account: sale.stall.Payout.Account, Amount: sale.amount,
			CreditedAt: sale.at.Add(time.Duration(5+rng.IntN(55)) * time.Second),
			Content:    "THANH TOAN " + sale.stall.Code})
	}
	for part := range slices.Chunk(credits, choso.MaxCreditsPerPost) {
		results, err := ps.PostCredits(ctx, partner, part)
		if err != nil {
			return 0, fmt.Errorf("demo bank credits: %w", err)
		}
		for _, r := range results {
			if r.Status != choso.CreditCreated {
				return 0, fmt.Errorf("demo bank credit %s: %s %s", r.BankTxnID, r.Status, r.Message)
			}
		}
	}
	log.Info("demo partner", "partner_id", partner.ID, "key_id", key.ID, "secret", secret)
	return len(credits), nil
}

// demoPush applies a push as the server does, at the time the phone
// synced, and fails unless every event was applied.
func demoPush(ctx context.Context, store choso.Store, deviceID string, req *chosync.PushRequest, at time.Time) error {
	if err := chosync.CheckBatch(req); err != nil {
		return err
	}
	call := chosync.Call{DeviceID: deviceID, Request: req, Now: at}
	var res *chosync.PushResponse
	err := store.Batch(ctx, func(tx choso.Tx) error {
		r, err := (&chosync.Pusher{}).Push(tx, call)
		res = r
		return err
	})
	if err != nil {
		return err
	}
	for _, r := range res.Results {
		if r.Status != chosync.StatusApplied || r.Note != "" {
			return fmt.Errorf("event %d: %s %s %s %s", r.Seq, r.Status, r.Code, r.Note, r.Message)
		}
	}
	return nil
}
