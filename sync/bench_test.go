package sync_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/bolt"
	chosync "github.com/choso/choso/sync"
)

// BenchmarkPush_64Phones50Events applies 50-event pushes from 64 phones at
// once through Store.Batch, fsync on: the rules and the store without HTTP.
// Each phone has its own stall, as in choso-sim's ingest mode, and sells as
// the simulator's phones do (half the sales by QR, each later than the one
// before, a ULID with its outbox's tag as sync/client makes them). Reports
// events/s, the single writer's time an event running the rules (apply)
// and committing (commit), the bytes of pages written an event, and the
// process's CPU time an event (steadier than the wall clock on a shared
// machine).
//
//	go test -run '^$' -bench Push_64 -benchtime 1000x ./sync
func BenchmarkPush_64Phones50Events(b *testing.B) {
	benchPush(b, 50*time.Millisecond, func(int) time.Duration { return 0 })
}

// BenchmarkPush_MarketClose is BenchmarkPush_64Phones50Events at a market's
// close: each phone sends a day it recorded offline, a sale every 20
// seconds, and the phones reached different hours of it (phone i began at
// 04:00 plus i × 5 minutes), so a push's sales fall among the other
// phones' sales of the same hours, as they do when a market's phones
// reconnect one after another.
//
//	go test -run '^$' -bench MarketClose -benchtime 2000x ./sync
func BenchmarkPush_MarketClose(b *testing.B) {
	benchPush(b, 20*time.Second, func(i int) time.Duration { return time.Duration(i) * 5 * time.Minute })
}

// benchPush runs 64 phones' pushes of 50 sales, b.N in all, phone i's k-th
// sale at start(i) + k × every after 04:00 of the business day.
func benchPush(b *testing.B, every time.Duration, start func(i int) time.Duration) {
	w := newWorldB(b)
	const phones, batch = 64, 50
	ps := make([]*phone, phones)
	tags := make([]chosync.ULIDTag, phones)
	ctx := context.Background()
	for i := range ps {
		st, err := w.reg.CreateStall(ctx, choso.SystemPrincipal("test"), w.stall.MarketID, choso.NewStall{Code: fmt.Sprintf("B-%d", i), Name: "Sạp thử",
			VendorName: "Nguyễn Văn A", VendorPhone: "0912345678", Payout: choso.PayoutAccount{BIN: "970436", Account: fmt.Sprintf("00110012%05d", i), Holder: "NGUYEN VAN A"}, ConsentGiven: true})
		if err != nil {
			b.Fatal(err)
		}
		ps[i] = w.phoneOf(st.ID)
		rand.Read(tags[i][:])
	}
	methods := []string{choso.MethodCash, choso.MethodCash, choso.MethodQR, choso.MethodQR, choso.MethodQR, choso.MethodTransfer}
	var payloads [][]byte
	for i, m := range methods {
		p, _ := json.Marshal(chosync.SaleRecord{Amount: int64(5+i*37) * 1000, Method: m})
		payloads = append(payloads, p)
	}
	day := w.now.Format(time.DateOnly)
	dayStart, err := time.ParseInLocation(time.DateOnly, day, w.now.Location())
	if err != nil {
		b.Fatal(err)
	}
	next := make(chan int, b.N)
	for i := range b.N {
		next <- i
	}
	close(next)
	before, cpu0 := writerStats(w.db), cpuTime()
	b.ResetTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	for i, p := range ps {
		first := dayStart.Add(4*time.Hour + start(i)).UnixMilli()
		wg.Go(func() {
			for range next {
				events := make([]chosync.Event, batch)
				for j := range events {
					p.seq++
					ms := first + int64(p.seq)*every.Milliseconds()
					events[j] = chosync.Event{Seq: p.seq, ID: taggedULID(ms, tags[i]), Type: choso.EventSaleRecord, V: 1, WallMs: ms, AnchoredMs: ms,
						BusinessDate: day, Payload: payloads[int(p.seq)%len(payloads)]}
				}
				if _, err := p.pushVia(w.db.Batch, events...); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	took, cpu := time.Since(t0), cpuTime()-cpu0
	b.StopTimer()
	ws := writerStats(w.db)
	n := float64(b.N * batch)
	b.ReportMetric(n/took.Seconds(), "events/s")
	b.ReportMetric(float64(ws.Apply-before.Apply)/1e3/n, "apply-µs/event")
	b.ReportMetric(float64(ws.Commit-before.Commit)/1e3/n, "commit-µs/event")
	b.ReportMetric(float64(ws.Calls-before.Calls)/float64(max(1, ws.Txs-before.Txs)), "pushes/tx")
	b.ReportMetric(float64(cpu)/1e3/n, "cpu-µs/event")
	b.ReportMetric(float64(ws.Written-before.Written)/n, "written-B/event")
}

// taggedULID is a ULID as sync/client makes one: the time, then the
// outbox's tag, then random bits.
func taggedULID(ms int64, tag chosync.ULIDTag) string {
	var entropy [10]byte
	rand.Read(entropy[:])
	return chosync.ULID(ms, tag.Tagged(entropy))
}

// writerStats reads the bbolt writer's figures; another backend has none.
func writerStats(db choso.Store) bolt.WriterStats {
	if b, ok := db.(*bolt.DB); ok {
		return b.WriterStats()
	}
	return bolt.WriterStats{}
}

// cpuTime returns the CPU time the process has used, user and system: on a
// shared machine a steadier figure of the work than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPrepare_Push50 is the store-free work the server does on each
// 50-event push before the writer sees it: payloads decoded, fingerprints,
// and each event's rules (the date and the ULID's form among them).
//
//	go test -run '^$' -bench Prepare_Push50 ./sync
func BenchmarkPrepare_Push50(b *testing.B) {
	req := &chosync.PushRequest{Protocol: 1}
	for i := range 50 {
		p, _ := json.Marshal(chosync.SaleRecord{Amount: int64(5+i) * 1000, Method: choso.MethodQR, Ref: "CS7KQ2M9XW4T"})
		req.Events = append(req.Events, chosync.Event{Seq: uint64(i + 1), ID: newULID(), Type: choso.EventSaleRecord, V: 1,
			WallMs: 1_795_000_000_000, BusinessDate: "2026-11-27", Payload: p})
	}
	for b.Loop() {
		chosync.Prepare(req)
	}
}
