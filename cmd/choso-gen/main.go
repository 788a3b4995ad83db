// Command choso-gen builds a large store for scale measurements: a
// province at full adoption for a year. It writes markets, stalls and one
// phone per stall straight through the store, then a year of sales through
// the real sync apply rules (sync.Pusher, the code every push runs), so
// stall-day totals, partner feed revisions, results and indexes are what
// production would hold. Days are pushed in order, each push timed at its
// own day, and every stall sells on about one day in --every.
//
//	choso-gen --data /tmp/big --stalls 50000 --events 10000000
//
// Then measure with the ordinary tools: choso serve --data /tmp/big,
// choso backup, choso compact, choso-sim, the partner routes.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/bolt"
	chosync "github.com/choso/choso/sync"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "choso-gen:", err)
		os.Exit(1)
	}
}

type config struct {
	data      string
	stalls    int
	events    int
	perDay    int
	perMarket int
	perTx     int
	finalize  bool
	end       time.Time
}

func run(args []string) error {
	var c config
	fs := flag.NewFlagSet("choso-gen", flag.ContinueOnError)
	fs.StringVar(&c.data, "data", "", "directory of the store to create (choso.db in it); must not hold one")
	fs.IntVar(&c.stalls, "stalls", 50_000, "stalls, one phone each")
	fs.IntVar(&c.events, "events", 10_000_000, "sales in all, over the year")
	fs.IntVar(&c.perDay, "per-day", 20, "sales of a stall on a day it sells")
	fs.IntVar(&c.perMarket, "per-market", 250, "stalls per market")
	fs.IntVar(&c.perTx, "per-tx", 25, "stall-days applied in one transaction")
	fs.BoolVar(&c.finalize, "finalize", true, "turn every day final at the end, as the finalizer would")
	end := fs.String("end", "2026-11-26", "the year's last business day")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.data == "" {
		return fmt.Errorf("--data is required")
	}
	var err error
	if c.end, err = time.Parse(time.DateOnly, *end); err != nil {
		return fmt.Errorf("--end: %w", err)
	}
	path := filepath.Join(c.data, "choso.db")
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists; choso-gen builds a new store", path)
	}
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return err
	}
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	start := time.Now()
	devices, err := registry(ctx, db, c)
	if err != nil {
		return err
	}
	fmt.Printf("registry: %d markets, %d stalls and phones in %v\n", (c.stalls+c.perMarket-1)/c.perMarket, c.stalls, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	n, err := sales(ctx, db, c, devices)
	if err != nil {
		return err
	}
	fmt.Printf("sales: %d events in %v (%.0f a second)\n", n, time.Since(start).Round(time.Second), float64(n)/time.Since(start).Seconds())
	if c.finalize {
		start = time.Now()
		ps := &choso.Partners{Store: db, Now: func() time.Time { return c.end.AddDate(0, 0, 30) }, Location: choso.LoadLocation}
		total := 0
		for {
			k, err := ps.FinalizeDays(ctx)
			if err != nil {
				return err
			}
			total += k
			if k == 0 {
				break
			}
		}
		fmt.Printf("finalize: %d stall-days final in %v\n", total, time.Since(start).Round(time.Second))
	}
	if fi, err := os.Stat(path); err == nil {
		fmt.Printf("store: %s, %d bytes (%.0f bytes a sale)\n", path, fi.Size(), float64(fi.Size())/float64(max(n, 1)))
	}
	return nil
}

// registry writes the province, its communes, the markets, the stalls and
// a phone for each, in transactions of a few thousand records.
func registry(ctx context.Context, db *bolt.DB, c config) ([]*choso.Device, error) {
	markets := (c.stalls + c.perMarket - 1) / c.perMarket
	communes := max(1, markets/4)
	now := c.end.AddDate(-1, 0, 0)
	err := db.Update(ctx, func(tx choso.Tx) error {
		if err := tx.PutRegion(&choso.Region{Code: "24", Name: "Tỉnh Bắc Ninh"}); err != nil {
			return err
		}
		for i := range communes {
			if err := tx.PutRegion(&choso.Region{Code: fmt.Sprintf("9%04d", i), Name: fmt.Sprintf("Phường Thử %d", i+1), ParentCode: "24"}); err != nil {
				return err
			}
		}
		for m := range markets {
			mk := &choso.Market{ID: marketID(m), Name: fmt.Sprintf("Chợ Thử %d", m+1), CommuneCode: fmt.Sprintf("9%04d", m%communes),
				ProvinceCode: "24", TimeZone: choso.DefaultTimeZone, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateMarket(mk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	devices := make([]*choso.Device, c.stalls)
	for lo := 0; lo < c.stalls; lo += 5000 {
		err := db.Update(ctx, func(tx choso.Tx) error {
			for i := lo; i < min(lo+5000, c.stalls); i++ {
				m := i / c.perMarket
				st := &choso.Stall{ID: genID("stl_", i), MarketID: marketID(m), CommuneCode: fmt.Sprintf("9%04d", m%communes), ProvinceCode: "24",
					Code: fmt.Sprintf("S-%04d", i%c.perMarket), Name: fmt.Sprintf("Quầy %d", i), Category: "Rau củ",
					Vendor: choso.Vendor{Name: "Nguyễn Văn An", Phone: fmt.Sprintf("+8491%07d", i)},
					Payout: choso.PayoutAccount{BIN: "970436", Account: fmt.Sprintf("10%011d", i), Service: choso.ServiceAccount, Holder: "NGUYEN VAN AN"},
					Status: choso.StallActive, QRVersion: 1, ConfigVersion: 1, CreatedAt: now, UpdatedAt: now,
					Consent: choso.Consent{RecordedBy: "gen", RecordedAt: now, NoticeVersion: "1"}}
				if err := tx.CreateStall(st); err != nil {
					return err
				}
				d := &choso.Device{ID: genID("dev_", i), StallID: st.ID, Status: choso.DeviceActive,
					TokenHash: choso.HashToken(fmt.Sprintf("gen-token-%d", i)), TokenIssuedAt: now, EnrolledAt: now, EnrolledBy: "gen"}
				if err := tx.CreateDevice(d); err != nil {
					return err
				}
				devices[i] = d
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return devices, nil
}

func marketID(m int) string { return genID("mkt_", m) }

// genID is a well-formed ID (choso.ValidID) numbered n: the routes refuse
// malformed ones.
func genID(prefix string, n int) string { return fmt.Sprintf("%s%026d", prefix, n) }

// sales pushes a year of sales, day by day: each stall sells on the days d
// with (d+stall) % every == 0, perDay sales a day, until events are spent.
func sales(ctx context.Context, db *bolt.DB, c config, devices []*choso.Device) (int, error) {
	days := 365
	stallDays := max(1, c.events/c.perDay)
	every := max(1, c.stalls*days/stallDays)
	loc, err := time.LoadLocation(choso.DefaultTimeZone)
	if err != nil {
		return 0, err
	}
	pusher := &chosync.Pusher{}
	rng := rand.New(rand.NewPCG(1, 2))
	seqs := make([]uint64, len(devices))
	first := c.end.AddDate(0, 0, -days+1)
	total := 0
	lastReport := time.Now()
	for d := 0; d < days && total < c.events; d++ {
		day := first.AddDate(0, 0, d)
		var calls []chosync.Call
		flush := func() error {
			if len(calls) == 0 {
				return nil
			}
			err := db.Update(ctx, func(tx choso.Tx) error {
				for _, call := range calls {
					res, err := pusher.Push(tx, call)
					if err != nil {
						return err
					}
					if res.AckSeq != call.Request.Events[len(call.Request.Events)-1].Seq {
						return fmt.Errorf("device %s: acked %d of %d", call.DeviceID, res.AckSeq, len(call.Request.Events))
					}
				}
				return nil
			})
			calls = calls[:0]
			return err
		}
		for s := range devices {
			if (d+s)%every != 0 || total >= c.events {
				continue
			}
			n := min(c.perDay, c.events-total)
			open := time.Date(day.Year(), day.Month(), day.Day(), 6, 0, 0, 0, loc)
			req := &chosync.PushRequest{Protocol: 1, AppVersion: "gen", Client: chosync.ClientState{WallMs: open.Add(7 * time.Hour).UnixMilli()}}
			for k := range n {
				seqs[s]++
				at := open.Add(time.Duration(k*6*3600/n) * time.Second).Add(time.Duration(rng.IntN(60)) * time.Second)
				method := []string{choso.MethodCash, choso.MethodCash, choso.MethodQR, choso.MethodTransfer}[rng.IntN(4)]
				payload, _ := json.Marshal(chosync.SaleRecord{Amount: int64(1000 * (5 + rng.IntN(200))), Method: method})
				req.Events = append(req.Events, chosync.Event{Seq: seqs[s], ID: chosync.SeededULID(at.UnixMilli(), chosync.TagOf(devices[s].ID), rng), Type: choso.EventSaleRecord, V: 1,
					WallMs: at.UnixMilli(), AnchoredMs: at.UnixMilli(), BusinessDate: day.Format(time.DateOnly), Payload: payload})
			}
			total += n
			calls = append(calls, chosync.Call{DeviceID: devices[s].ID, Request: req, Now: open.Add(7 * time.Hour), Prepared: chosync.Prepare(req)})
			if len(calls) >= c.perTx {
				if err := flush(); err != nil {
					return total, err
				}
			}
		}
		if err := flush(); err != nil {
			return total, err
		}
		if time.Since(lastReport) > 10*time.Second {
			fmt.Printf("  %s: %d events\n", day.Format(time.DateOnly), total)
			lastReport = time.Now()
		}
	}
	return total, nil
}
