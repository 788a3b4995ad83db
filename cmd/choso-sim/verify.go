package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/choso/choso/sync/client"
)

// serverTotals is the part of GET /v1/sync/totals the check reads.
type serverTotals struct {
	Days []struct {
		Date     string `json:"business_date"`
		ByMethod map[string]struct {
			Count  int64 `json:"count"`
			Amount int64 `json:"amount"`
		} `json:"by_method"`
		Voids struct {
			Count  int64 `json:"count"`
			Amount int64 `json:"amount"`
		} `json:"voids"`
	} `json:"days"`
}

// verify compares, for every stall, the server's totals over the last
// --days days with what its phones recorded (every install): counts and
// amounts by method, net of voids, and the voids. The phones record only
// valid events, so an event the server rejected is a mismatch too: a
// phone's tally drops a sale the server refuses, and the comparison alone
// would call a server that refused sales equal. A server the simulator
// spawned is then stopped and its store checked event by event.
func (s *sim) verify(ctx context.Context, sum *summary) error {
	var mu sync.Mutex
	err := s.parallel(ctx, s.cfg.setupWorkers, func(p *phone) error {
		want, err := p.tally()
		if err != nil {
			return err
		}
		raw, err := p.client().Totals(s.cfg.days)
		if err != nil {
			return fmt.Errorf("totals of %s: %w", p.stallCode, err)
		}
		var st serverTotals
		if err := json.Unmarshal(raw, &st); err != nil {
			return fmt.Errorf("totals of %s: %w", p.stallCode, err)
		}
		var got client.Tally
		for _, d := range st.Days {
			for m, t := range d.ByMethod {
				got.Count += t.Count
				got.Amount += t.Amount
				switch m {
				case "cash":
					got.CashCount, got.CashAmount = got.CashCount+t.Count, got.CashAmount+t.Amount
				case "qr":
					got.QRCount, got.QRAmount = got.QRCount+t.Count, got.QRAmount+t.Amount
				case "transfer":
					got.TransferCount, got.TransferAmount = got.TransferCount+t.Count, got.TransferAmount+t.Amount
				}
			}
			got.VoidCount += d.Voids.Count
			got.VoidAmount += d.Voids.Amount
		}
		if got != *want {
			mu.Lock()
			sum.Mismatches = append(sum.Mismatches, fmt.Sprintf("stall %s (%s): server %+v, phones %+v", p.stallCode, p.stallID, got, *want))
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return err
	}
	stalls := len(sum.Mismatches)
	if n := s.stats.rejectedEvents(); n > 0 {
		sum.Mismatches = append(sum.Mismatches, fmt.Sprintf("the server rejected %d of the phones' events, all of them valid", n))
	}
	checked := "not run"
	if s.server != nil {
		out, err := s.server.checkEvents(ctx)
		if err != nil {
			checked = "failed"
			sum.Mismatches = append(sum.Mismatches, fmt.Sprintf("choso check --events on the spawned server's store: %v: %s", err, out))
		} else {
			checked = "clean"
			sum.StoreCheck = out[strings.LastIndexByte(out, '\n')+1:]
		}
	}
	if len(sum.Mismatches) > 0 {
		return fmt.Errorf("%w: %d of %d stalls, %d events rejected, store check %s",
			errMismatch, stalls, len(s.phones), s.stats.rejectedEvents(), checked)
	}
	sum.Verified = true
	return nil
}
