package bolt

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/choso/choso"
	bolt "go.etcd.io/bbolt"
)

// fill sets every field reachable from v to a non-zero value that differs
// from every other field's, so a codec that drops or swaps a field fails a
// round trip. Maps get two entries; pointers a fresh value.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d-Chợ", *n))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(-*n * 1_000_003))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n) << 33)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte{byte(*n), 0, 0xff})
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		fill(s.Index(0), n)
		fill(s.Index(1), n)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, n)
			fill(e, n)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), n)
		v.Set(p)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(1_772_000_000+int64(*n)*3607, int64(*n)*1001).UTC()))
			return
		}
		for i := range v.NumField() {
			fill(v.Field(i), n)
		}
	default:
		panic("fill: add a case for " + v.Kind().String())
	}
}

func filled[T any]() *T {
	var x T
	n := 0
	fill(reflect.ValueOf(&x).Elem(), &n)
	return &x
}

// codec is one record type's encoder and decoder, as values for the tables.
type codec struct {
	name   string
	filled func() any
	encode func(any) []byte
	decode func([]byte) (any, error)
}

func codecOf[T any](name string, enc func([]byte, *T) ([]byte, []byte), dec func([]byte) (*T, error)) codec {
	return codec{
		name:   name,
		filled: func() any { return filled[T]() },
		encode: func(x any) []byte { _, v := enc(nil, x.(*T)); return v },
		decode: func(b []byte) (any, error) { return dec(b) },
	}
}

var codecs = []codec{
	codecOf("EventResult", encodeResult, decodeResult),
	codecOf("Entity", encodeEntity, decodeEntity),
	codecOf("Event", encodeEvent, decodeEvent),
	codecOf("StallDay", encodeStallDay, func(v []byte) (*choso.StallDay, error) { return decodeStallDay(v, nil) }),
	codecOf("DeviceDay", encodeDeviceDay, decodeDeviceDay),
	codecOf("Change", encodeChange, decodeChange),
	unstored(codecOf("Credit", encodeCredit, decodeCredit), func(c *choso.Credit) { c.StallPos = 0 }), // the stall index holds it
	codecOf("Device", encodeDevice, decodeDeviceBinary),
}

// unstored zeroes, in a codec's filled value, fields its record does not
// hold because an index does.
func unstored[T any](c codec, zero func(*T)) codec {
	filled := c.filled
	c.filled = func() any {
		x := filled().(*T)
		zero(x)
		return x
	}
	return c
}

func TestRecordCodecs_RoundTripEveryField(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			want := c.filled()
			got, err := c.decode(c.encode(want))
			if err != nil {
				t.Fatalf("decode(encode(x)): %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decode(encode(x)):\n got %+v\nwant %+v\n(a field added to the root type needs its codec updated)", got, want)
			}
		})
	}
}

// A stall-day decoded after another in a scan is the same day whatever the
// one before it held: the strings equal to its are shared, the others are
// its own.
func TestDecodeStallDay_LikeTheDayBefore(t *testing.T) {
	day := filled[choso.StallDay]()
	_, v := encodeStallDay(nil, day)
	alone, err := decodeStallDay(v, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, like := range map[string]*choso.StallDay{
		"the same stall's day before": {StallID: day.StallID, MarketID: day.MarketID, CommuneCode: day.CommuneCode, ProvinceCode: day.ProvinceCode,
			StallCode: day.StallCode, BIN: day.BIN, Account: day.Account, Date: "2000-01-01"},
		"another stall of another market": {StallID: "stl_other", MarketID: "mkt_other", CommuneCode: "00001", ProvinceCode: "01",
			StallCode: "Z-9", BIN: "970400", Account: "1", Date: day.Date},
		"an empty day": {},
	} {
		got, err := decodeStallDay(v, like)
		if err != nil || !reflect.DeepEqual(got, alone) {
			t.Fatalf("%s: got %+v, %v; want %+v", name, got, err, alone)
		}
	}
	like := &choso.StallDay{StallID: day.StallID, Account: day.Account}
	got, _ := decodeStallDay(v, like)
	if unsafe.StringData(got.StallID) != unsafe.StringData(like.StallID) || unsafe.StringData(got.Account) != unsafe.StringData(like.Account) {
		t.Fatal("equal strings were allocated again, not shared with the day before")
	}
}

func TestRecordCodecs_NilAndEmptyStayApart(t *testing.T) {
	for _, day := range []*choso.StallDay{
		{StallID: "stl_a", Date: "2026-03-02"},
		{StallID: "stl_a", Date: "2026-03-02", ByMethod: map[string]choso.MethodTotals{}},
	} {
		_, v := encodeStallDay(nil, day)
		got, err := decodeStallDay(v, nil)
		if err != nil || (got.ByMethod == nil) != (day.ByMethod == nil) {
			t.Fatalf("StallDay ByMethod %#v: got %#v, %v; want it back as it was", day.ByMethod, got.ByMethod, err)
		}
	}
	for _, hash := range [][]byte{nil, {}} {
		_, v := encodeResult(nil, &choso.EventResult{Hash: hash})
		got, err := decodeResult(v)
		if err != nil || (got.Hash == nil) != (hash == nil) {
			t.Fatalf("EventResult Hash %#v: got %#v, %v; want it back as it was", hash, got.Hash, err)
		}
	}
}

// format1 returns a value as format 1 wrote it: the fields write, under
// the format byte 1.
func format1(write func(e *encoder)) []byte {
	e := newEncoder(nil, 64)
	e.b[0] = binFormat1
	write(&e)
	_, v := e.keyValue()
	return v
}

// TestRecordCodecs_Format1ReadsWithNewFieldsZero reads values written before
// format 2 added Entity.Ref, EffectiveMs and ConfirmedBy and StallDay.Status:
// stores keep them, so they must decode, with those fields zero.
func TestRecordCodecs_Format1ReadsWithNewFieldsZero(t *testing.T) {
	wantEntity := &choso.Entity{
		DeviceID: "dev_rau1", Seq: 3, Hash: []byte{1, 2}, ServerSeq: 12, Type: choso.EventSaleRecord,
		StallID: "stl_0rau", BusinessDate: "2026-03-02", Method: choso.MethodQR, Amount: 25000,
		VoidedBy: "01JNF9V0ID000000000000000A", PendingVoid: "01JNF9V0ID000000000000000B",
	}
	v := format1(func(e *encoder) {
		x := wantEntity
		e.str(x.DeviceID)
		e.uint(x.Seq)
		e.bytes(x.Hash)
		e.uint(x.ServerSeq)
		e.str(x.Type)
		e.str(x.StallID)
		e.str(x.BusinessDate)
		e.str(x.Method)
		e.int(x.Amount)
		e.str(x.VoidedBy)
		e.str(x.PendingVoid)
	})
	if got, err := decodeEntity(v); err != nil || !reflect.DeepEqual(got, wantEntity) {
		t.Fatalf("decodeEntity(format 1):\n got %+v, %v\nwant %+v, nil", got, err, wantEntity)
	}

	day := filled[choso.StallDay]()
	day.Status = ""
	day.StallCode, day.BIN, day.Account = "", "", "" // format 3's fields
	oldDay := func(e *encoder) {
		e.str(day.StallID)
		e.str(day.MarketID)
		e.str(day.CommuneCode)
		e.str(day.ProvinceCode)
		e.str(day.Date)
		e.methodTotals(day.ByMethod)
		e.totals(day.Voids)
		e.totals(day.ConfirmedQR)
		e.uint(day.Revision)
		e.uint(day.LastServerSeq)
		e.time(day.UpdatedAt)
	}
	if got, err := decodeStallDay(format1(oldDay), nil); err != nil || !reflect.DeepEqual(got, day) {
		t.Fatalf("decodeStallDay(format 1):\n got %+v, %v\nwant %+v, nil", got, err, day)
	}
	change := &choso.Change{ChangeSeq: 9, Day: *day, At: time.Unix(1_772_000_000, 5).UTC()}
	v = format1(func(e *encoder) {
		e.uint(change.ChangeSeq)
		oldDay(e)
		e.time(change.At)
	})
	if got, err := decodeChange(v); err != nil || !reflect.DeepEqual(got, change) {
		t.Fatalf("decodeChange(format 1):\n got %+v, %v\nwant %+v, nil", got, err, change)
	}

	// Credits came with format 2: a format 1 credit was never written.
	_, good := encodeCredit(nil, filled[choso.Credit]())
	if _, err := decodeCredit(append([]byte{binFormat1}, good[1:]...)); choso.ErrorCode(err) != choso.EInternal {
		t.Fatalf("decodeCredit(format 1): got %v, want code %q", err, choso.EInternal)
	}
}

func TestRecordCodecs_CorruptValueInternal(t *testing.T) {
	for _, c := range codecs {
		good := c.encode(c.filled())
		for name, bad := range map[string][]byte{
			"empty":           nil,
			"unknown format":  append([]byte{binFormatCurrent + 1}, good[1:]...),
			"format 0":        append([]byte{0}, good[1:]...),
			"truncated":       good[:len(good)-1],
			"trailing bytes":  append(bytes.Clone(good), 0),
			"JSON, not codec": []byte(`{"status":"applied"}`),
		} {
			_, err := c.decode(bad)
			if got := choso.ErrorCode(err); got != choso.EInternal {
				t.Errorf("%s: decode(%s): got code %q (%v), want %q", c.name, name, got, err, choso.EInternal)
			}
		}
	}
}

// FuzzRecordCodecs decodes arbitrary bytes with every record decoder: none
// may panic, and whatever decodes must encode and decode to the same value.
func FuzzRecordCodecs(f *testing.F) {
	for _, c := range codecs {
		good := c.encode(c.filled())
		f.Add(good)
		f.Add(good[:len(good)/2])
	}
	f.Add([]byte{binFormat1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range codecs {
			x, err := c.decode(data)
			if err != nil {
				continue
			}
			y, err := c.decode(c.encode(x))
			if err != nil {
				t.Fatalf("%s: decode(encode(decode(data))): %v", c.name, err)
			}
			if !reflect.DeepEqual(x, y) {
				t.Fatalf("%s: round trip of a decoded value:\n got %+v\nwant %+v", c.name, y, x)
			}
		}
	})
}

// BenchmarkBatch_Push is the sync write path as a push makes it: 64
// concurrent pushes of 50 events each through Batch, with fsync on. It
// reports events/s. "events" is each event's own records (duplicate check,
// event, entity, result); "full" adds the stall and device day totals per
// event, and per push one feed change and the device update. Run with:
//
//	go test -run '^$' -bench 'Batch_Push' -benchtime 2000x ./internal/store/bolt
func BenchmarkBatch_Push(b *testing.B) {
	b.Run("events", func(b *testing.B) { benchmarkPush(b, false) })
	b.Run("full", func(b *testing.B) { benchmarkPush(b, true) })
}

func benchmarkPush(b *testing.B, full bool) {
	const perPush, pushers = 50, 64
	db := MustOpenDB(b)
	ctx := context.Background()
	payload := []byte(`{"amount":25000,"method":"qr","ref":"CS7K3M9QXR"}`)
	hash := []byte("0123456789abcdef0123456789abcdef")
	for p := range pushers {
		d := &choso.Device{ID: fmt.Sprintf("dev_%02d", p), StallID: fmt.Sprintf("stl_%02d", p%16), Status: choso.DeviceActive,
			TokenHash: []byte(fmt.Sprintf("token-%02d", p))}
		if err := db.Update(ctx, func(tx choso.Tx) error { return tx.CreateDevice(d) }); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Uint64
	push := func(p int) error {
		token := []byte(fmt.Sprintf("token-%02d", p))
		first := next.Add(perPush) - perPush
		return db.Batch(ctx, func(tx choso.Tx) error {
			d, err := tx.FindDeviceByToken(token)
			if err != nil {
				return err
			}
			day, err := tx.FindStallDay(d.StallID, "2026-03-02")
			if choso.ErrorCode(err) == choso.ENotFound {
				day, err = &choso.StallDay{StallID: d.StallID, Date: "2026-03-02", ByMethod: map[string]choso.MethodTotals{}}, nil
			}
			if err != nil {
				return err
			}
			dd, err := tx.FindDeviceDay(d.ID, "2026-03-02")
			if choso.ErrorCode(err) == choso.ENotFound {
				dd, err = &choso.DeviceDay{DeviceID: d.ID, Date: "2026-03-02", ByMethod: map[string]choso.MethodTotals{}}, nil
			}
			if err != nil {
				return err
			}
			for i := range uint64(perPush) {
				d.AppliedSeq++
				id := "01JNF8" + strconv.FormatUint(1e15+first+i, 10)
				if _, err := tx.FindEntity(id); choso.ErrorCode(err) != choso.ENotFound {
					return fmt.Errorf("entity %s: %v", id, err)
				}
				e := &choso.Event{DeviceID: d.ID, StallID: d.StallID, Seq: d.AppliedSeq, ID: id, Type: choso.EventSaleRecord, V: 1,
					Payload: payload, BusinessDate: "2026-03-02", TimeQuality: choso.TimeAnchored, ReceivedAt: time.Now()}
				seq, err := tx.AppendEvent(e)
				if err != nil {
					return err
				}
				if err := tx.PutEntity(id, &choso.Entity{DeviceID: d.ID, Seq: e.Seq, Hash: hash, ServerSeq: seq, Type: e.Type,
					StallID: d.StallID, BusinessDate: e.BusinessDate, Method: choso.MethodQR, Amount: 25000}); err != nil {
					return err
				}
				if err := tx.PutResult(d.ID, e.Seq, &choso.EventResult{Status: "applied", Hash: hash, ServerSeq: seq}); err != nil {
					return err
				}
				if !full {
					continue
				}
				t := day.ByMethod[choso.MethodQR]
				t.Count, t.Amount = t.Count+1, t.Amount+25000
				day.ByMethod[choso.MethodQR] = t
				day.LastServerSeq = seq
				if err := tx.PutStallDay(day); err != nil {
					return err
				}
				dt := dd.ByMethod[choso.MethodQR]
				dt.Count++
				dd.ByMethod[choso.MethodQR], dd.MaxSeq = dt, e.Seq
				if err := tx.PutDeviceDay(dd); err != nil {
					return err
				}
			}
			if !full {
				return nil
			}
			seq, err := tx.AppendChange(&choso.Change{Day: *day, At: time.Now()})
			if err != nil {
				return err
			}
			day.Revision = seq
			if err := tx.PutStallDay(day); err != nil {
				return err
			}
			return tx.UpdateDevice(d)
		})
	}
	b.ResetTimer()
	start := time.Now()
	var pushes atomic.Int64
	var failed atomic.Value
	done := make(chan struct{})
	for p := range pushers {
		go func() {
			defer func() { done <- struct{}{} }()
			for pushes.Add(1) <= int64(b.N) {
				if err := push(p); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	for range pushers {
		<-done
	}
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*perPush)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkUpdate_EventRecords is the per-event store work of a push
// (duplicate check, event, entity, result) in transactions of 1,000 events,
// without the batching: the CPU cost per event, steadier than
// BenchmarkBatch_Push on a noisy machine. Compare with bench/bolt-ceiling
// case (c), one 200-byte Put per record.
func BenchmarkUpdate_EventRecords(b *testing.B) {
	const perTx = 1000
	db := MustOpenDB(b)
	ctx := context.Background()
	payload := []byte(`{"amount":25000,"method":"qr","ref":"CS7K3M9QXR"}`)
	hash := []byte("0123456789abcdef0123456789abcdef")
	var n uint64
	b.ReportAllocs()
	for b.Loop() {
		err := db.Update(ctx, func(tx choso.Tx) error {
			for range perTx {
				n++
				id := "01JNF8" + strconv.FormatUint(1e15+n, 10)
				if _, err := tx.FindEntity(id); choso.ErrorCode(err) != choso.ENotFound {
					return fmt.Errorf("entity %s: %v", id, err)
				}
				e := choso.Event{DeviceID: "dev_0123456789abcdef", StallID: "stl_0123456789abcdef", Seq: n, ID: id,
					Type: choso.EventSaleRecord, V: 1, Payload: payload, BusinessDate: "2026-03-02", TimeQuality: choso.TimeAnchored}
				seq, err := tx.AppendEvent(&e)
				if err != nil {
					return err
				}
				ent := choso.Entity{DeviceID: e.DeviceID, Seq: e.Seq, Hash: hash, ServerSeq: seq, Type: e.Type,
					StallID: e.StallID, BusinessDate: e.BusinessDate, Method: choso.MethodQR, Amount: 25000}
				if err := tx.PutEntity(id, &ent); err != nil {
					return err
				}
				if err := tx.PutResult(e.DeviceID, e.Seq, &choso.EventResult{Status: "applied", Hash: hash, ServerSeq: seq}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perTx), "ns/event")
}

// Entities and a stall's or device's days arrive mostly in key
// order (ULIDs start with the time, dates follow dates), so
// their pages are packed to mostlyAppendFill when they split, not left half
// empty as bbolt's default would: half the pages on disk and in every
// commit's writes.
func TestPushIndexes_PackTheirPages(t *testing.T) {
	db := MustOpenDB(t)
	const txs, perTx = 40, 100
	for i := range txs {
		err := db.Update(context.Background(), func(ctx choso.Tx) error {
			tx := ctx.(*Tx)
			for j := range perTx {
				id := fmt.Sprintf("01KB%016d%06d", i*perTx+j, 0)
				if err := tx.PutEntity(id, &choso.Entity{DeviceID: "dev-1", Seq: uint64(i*perTx + j + 1), Hash: bytes.Repeat([]byte{7}, 32),
					Type: choso.EventSaleRecord, StallID: "stall-1", BusinessDate: "2026-11-27", Method: choso.MethodQR, Amount: 45000}); err != nil {
					return err
				}
				if err := tx.PutQRSale("stall-1", int64(1_780_000_000_000+(i*perTx+j)*1000), id); err != nil {
					return err
				}
				// A stall's and a device's days, one after another.
				date := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i*perTx+j).Format(time.DateOnly)
				totals := map[string]choso.MethodTotals{choso.MethodQR: {Count: 1, Amount: 45000}}
				if err := tx.PutStallDay(&choso.StallDay{Status: choso.DayProvisional, StallID: "stall-1", MarketID: "market-1", Date: date, ByMethod: totals}); err != nil {
					return err
				}
				if err := tx.PutDeviceDay(&choso.DeviceDay{DeviceID: "dev-1", Date: date, ByMethod: totals, MinSeq: 1, MaxSeq: 1, Sales: 1}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	err := db.db.View(func(btx *bolt.Tx) error {
		// The QR-sale index holds these in 40 runs, one a transaction
		// (TestQRSales_HeldInRuns), too few keys for a page to split.
		for _, name := range [][]byte{bucketEntities, bucketStallDays, bucketDeviceDays} {
			st := btx.Bucket(name).Stats()
			if st.KeyN != txs*perTx {
				t.Fatalf("%s: %d keys, want %d", name, st.KeyN, txs*perTx)
			}
			if used := float64(st.LeafInuse) / float64(st.LeafAlloc); used < 0.8 {
				t.Errorf("%s: leaf pages %.0f%% used (%d of %d bytes), want at least 80%%", name, 100*used, st.LeafInuse, st.LeafAlloc)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
