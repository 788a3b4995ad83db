package sync_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/choso/choso"
	chosync "github.com/choso/choso/sync"
)

// BenchmarkPush_64Phones50Events applies 50-event pushes from 64 phones at
// once through Store.Batch, fsync on: the rules and the store without HTTP.
// Reports events/s.
//
//	go test -run '^$' -bench Push_64 -benchtime 200x ./sync
func BenchmarkPush_64Phones50Events(b *testing.B) {
	t := &testing.T{}
	w := newWorldB(b)
	const phones, batch = 64, 50
	var ps []*phone
	for range phones {
		ps = append(ps, w.phone())
	}
	_ = t
	payload, _ := json.Marshal(chosync.SaleRecord{Amount: 45000, Method: "qr"})
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int, b.N)
	for i := range b.N {
		next <- i
	}
	close(next)
	var mu sync.Mutex
	for _, p := range ps {
		wg.Go(func() {
			for range next {
				mu.Lock()
				events := make([]chosync.Event, batch)
				for j := range events {
					p.seq++
					events[j] = chosync.Event{Seq: p.seq, ID: newULID(), Type: choso.EventSaleRecord, V: 1, WallMs: w.now.UnixMilli(), AnchoredMs: w.now.UnixMilli(), Payload: payload}
				}
				mu.Unlock()
				if _, err := p.pushVia(w.db.Batch, events...); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "events/s")
}
