package sync_test

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/bolt"
	chosync "github.com/choso/choso/sync"
)

type plainHasher struct{}

func (plainHasher) Hash(_ context.Context, pw string) (string, error) { return "plain$" + pw, nil }
func (plainHasher) Verify(_ context.Context, hash, pw string) (bool, error) {
	return subtle.ConstantTimeCompare([]byte(hash), []byte("plain$"+pw)) == 1, nil
}

type banks struct{}

func (banks) LookupBIN(bin string) (string, string, bool) { return bin, "bank", bin == "970436" }

// world is one market with one stall and its enrolled phones, over a real
// store (a bbolt file, or PostgreSQL in TestScenarios_OnPostgres), with a
// settable clock.
type world struct {
	t      testing.TB
	db     choso.Store
	reg    *choso.Registry
	pusher *chosync.Pusher
	stall  *choso.Stall
	now    time.Time
	mu     sync.Mutex
}

var hcm, _ = time.LoadLocation("Asia/Ho_Chi_Minh")

func newWorld(t *testing.T) *world { return newWorldB(t) }

// openWorldStore opens the store a new world runs on; TestScenarios_OnPostgres
// swaps it while it runs the scenarios again.
var openWorldStore = func(t testing.TB) choso.Store {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "choso.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func newWorldB(t testing.TB) *world {
	t.Helper()
	db := openWorldStore(t)
	t.Cleanup(func() {
		if p := db.Check(context.Background()); len(p) > 0 {
			t.Errorf("store check: %v", p)
		}
		// Whatever a scenario did, every event it stored has the entity,
		// result and QR-sale index entry the rules write with it.
		if p, _, err := chosync.CheckEvents(context.Background(), db); len(p) > 0 || err != nil {
			t.Errorf("event check: %v %v", p, err)
		}
		db.Close()
	})
	w := &world{t: t, db: db, pusher: &chosync.Pusher{}, now: time.Date(2026, 11, 26, 9, 0, 0, 0, hcm)}
	w.reg = &choso.Registry{Store: db, Banks: banks{}, Hasher: plainHasher{}, Now: w.clock}
	ctx := context.Background()
	admin := choso.SystemPrincipal("test")
	if _, _, err := w.reg.PutRegions(ctx, admin, []*choso.Region{{Code: "24", Name: "Tỉnh Bắc Ninh"}, {Code: "07210", Name: "Phường Bắc Giang", ParentCode: "24"}}); err != nil {
		t.Fatal(err)
	}
	m, err := w.reg.CreateMarket(ctx, admin, choso.NewMarket{Name: "Chợ Thương", CommuneCode: "07210"})
	if err != nil {
		t.Fatal(err)
	}
	w.stall, err = w.reg.CreateStall(ctx, admin, m.ID, choso.NewStall{Code: "A-1", Name: "Bún chả cô Lan", VendorName: "Nguyễn Thị Lan", VendorPhone: "0912345678",
		Payout: choso.PayoutAccount{BIN: "970436", Account: "0011001234567", Holder: "NGUYEN THI LAN"}, ConsentGiven: true})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *world) setNow(t time.Time) {
	w.mu.Lock()
	w.now = t
	w.mu.Unlock()
}

// phone enrolls a device and numbers its events.
type phone struct {
	w   *world
	id  string
	seq uint64
	// skew is how far the phone's wall clock is off when it pushes
	// (ClientState.WallMs); its events set their own times.
	skew time.Duration
	// pending is the outbox size the phone reports when it pushes
	// (ClientState.PendingCount); 0 reports the events it sends.
	pending int
}

func (w *world) phone() *phone {
	w.t.Helper()
	return w.phoneOf(w.stall.ID)
}

// phoneOf enrolls a device for a stall of the world's market.
// otherStall registers a second stall, B-2, in the world's market.
func (w *world) otherStall() *choso.Stall {
	w.t.Helper()
	s, err := w.reg.CreateStall(context.Background(), choso.SystemPrincipal("test"), w.stall.MarketID, choso.NewStall{Code: "B-2",
		Name: "Rau củ chị Hoa", VendorName: "Trần Thị Hoa", VendorPhone: "0987654321",
		Payout: choso.PayoutAccount{BIN: "970436", Account: "0011009876543", Holder: "TRAN THI HOA"}, ConsentGiven: true})
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

func (w *world) phoneOf(stallID string) *phone {
	w.t.Helper()
	code, _, err := w.reg.CreateEnrollment(context.Background(), choso.SystemPrincipal("test"), stallID)
	if err != nil {
		w.t.Fatal(err)
	}
	d, _, err := w.reg.RedeemEnrollment(context.Background(), code, "1.0.0", nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return &phone{w: w, id: d.ID}
}

// newULID makes a ULID as phones do: 48 bits of milliseconds, then 80
// random bits, in Crockford base32.
func newULID() string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var r [10]byte
	rand.Read(r[:])
	ms := uint64(time.Now().UnixMilli())
	var b [26]byte
	for i := 9; i >= 0; i-- {
		b[i] = alphabet[ms&31]
		ms >>= 5
	}
	var acc uint64
	bits := 0
	n := 10
	for _, x := range r {
		acc = acc<<8 | uint64(x)
		bits += 8
		for bits >= 5 && n < 26 {
			bits -= 5
			b[n] = alphabet[(acc>>uint(bits))&31]
			n++
		}
	}
	return string(b[:])
}

// sale makes the phone's next sale event, at the world's time on a
// correctly set clock.
func (p *phone) sale(amount int64, method string) chosync.Event {
	p.seq++
	now := p.w.clock()
	payload, _ := json.Marshal(chosync.SaleRecord{Amount: amount, Method: method})
	return chosync.Event{Seq: p.seq, ID: newULID(), Type: choso.EventSaleRecord, V: 1, WallMs: now.UnixMilli(), AnchoredMs: now.UnixMilli(),
		BusinessDate: now.Format(time.DateOnly), Payload: payload}
}

func (p *phone) event(typ string, payload any) chosync.Event {
	p.seq++
	now := p.w.clock()
	b, _ := json.Marshal(payload)
	return chosync.Event{Seq: p.seq, ID: newULID(), Type: typ, V: 1, WallMs: now.UnixMilli(), AnchoredMs: now.UnixMilli(), BusinessDate: now.Format(time.DateOnly), Payload: b}
}

func (p *phone) push(events ...chosync.Event) (*chosync.PushResponse, error) {
	return p.pushVia(p.w.db.Update, events...)
}

func (p *phone) pushVia(run func(context.Context, func(choso.Tx) error) error, events ...chosync.Event) (*chosync.PushResponse, error) {
	pending := len(events)
	if p.pending > 0 {
		pending = p.pending
	}
	req := &chosync.PushRequest{Protocol: 1, AppVersion: "1.0.0", Client: chosync.ClientState{WallMs: p.w.clock().Add(p.skew).UnixMilli(), PendingCount: pending}, Events: events}
	if err := chosync.CheckBatch(req); err != nil {
		return nil, err
	}
	var res *chosync.PushResponse
	prepared := chosync.Prepare(req) // outside the transaction, as the server does
	err := run(context.Background(), func(tx choso.Tx) error {
		res = nil
		r, err := p.w.pusher.Push(tx, chosync.Call{DeviceID: p.id, Request: req, Now: p.w.clock(), Prepared: prepared})
		res = r
		return err
	})
	return res, err
}

func (p *phone) mustPush(events ...chosync.Event) *chosync.PushResponse {
	p.w.t.Helper()
	res, err := p.push(events...)
	if err != nil {
		p.w.t.Fatalf("push: %v", err)
	}
	return res
}

func statuses(res *chosync.PushResponse) string {
	var s []string
	for _, r := range res.Results {
		x := r.Status
		if r.Code != "" {
			x += ":" + r.Code
		}
		s = append(s, x)
	}
	return strings.Join(s, " ")
}

// totals returns the stall's day totals as "method=count/amount" sorted, for a date.
func (w *world) totals(date string) map[string]choso.MethodTotals {
	w.t.Helper()
	var d *choso.StallDay
	w.db.View(context.Background(), func(tx choso.Tx) error {
		var err error
		d, err = tx.FindStallDay(w.stall.ID, date)
		if choso.ErrorCode(err) == choso.ENotFound {
			d, err = &choso.StallDay{ByMethod: map[string]choso.MethodTotals{}}, nil
		}
		return err
	})
	return d.ByMethod
}

func (w *world) device(id string) *choso.Device {
	var d *choso.Device
	w.db.View(context.Background(), func(tx choso.Tx) error {
		var err error
		d, err = tx.FindDevice(id)
		return err
	})
	return d
}

func (w *world) eventCount() int {
	n := 0
	w.db.View(context.Background(), func(tx choso.Tx) error {
		evs, err := tx.ListEvents(0, 100000)
		n = len(evs)
		return err
	})
	return n
}

const today = "2026-11-26"

func Test01_DuplicateBatch_AllDuplicateWithOriginals(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	batch := []chosync.Event{p.sale(45000, "cash"), p.sale(30000, "qr"), p.sale(20000, "transfer")}
	first := p.mustPush(batch...)
	second := p.mustPush(batch...)
	if statuses(first) != "applied applied applied" || statuses(second) != "duplicate duplicate duplicate" {
		t.Fatalf("first %q, second %q", statuses(first), statuses(second))
	}
	for i, r := range second.Results {
		if r.Original == nil || r.Original.Status != "applied" || r.Original.ServerSeq != first.Results[i].ServerSeq || r.ServerSeq != first.Results[i].ServerSeq {
			t.Fatalf("duplicate %d = %+v, want the original applied result with server_seq %d", i, r, first.Results[i].ServerSeq)
		}
	}
	if first.AckSeq != 3 || second.AckSeq != 3 || w.eventCount() != 3 {
		t.Fatalf("ack %d/%d, %d events; want 3, 3 and 3", first.AckSeq, second.AckSeq, w.eventCount())
	}
	if got := w.totals(today); got["cash"].Amount != 45000 || got["qr"].Amount != 30000 || got["transfer"].Count != 1 {
		t.Fatalf("totals %v", got)
	}
}

// Scenario 2 and 8: the server committed, the response never reached the
// phone; the retry gets duplicates and the totals stay.
func Test02_CrashAfterCommitBeforeResponse_RetryIsDuplicate(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	batch := []chosync.Event{p.sale(10000, "cash"), p.sale(15000, "qr")}
	p.mustPush(batch...) // the response is lost
	retry := p.mustPush(batch...)
	if statuses(retry) != "duplicate duplicate" || retry.AckSeq != 2 {
		t.Fatalf("retry: %q ack %d", statuses(retry), retry.AckSeq)
	}
	if got := w.totals(today); got["cash"].Amount != 10000 || got["qr"].Amount != 15000 || got["cash"].Count != 1 {
		t.Fatalf("totals %v, want each sale once", got)
	}
}

// failingTx fails AppendEvent for the event with one device seq, as a
// storage error would: transient.
type failingTx struct {
	choso.Tx
	failSeq uint64
}

func (f failingTx) AppendEvent(e *choso.Event) (uint64, error) {
	if e.Seq == f.failSeq {
		return 0, choso.Errorf(choso.EUnavailable, "injected: disk hiccup")
	}
	return f.Tx.AppendEvent(e)
}

// Scenarios 3 and 7: a transient failure inside the transaction rolls the
// whole push back; the retry applies everything once.
func Test03and07_TransientFailureMidBatch_RollsBackEverything(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	var batch []chosync.Event
	for range 50 {
		batch = append(batch, p.sale(1000, "cash"))
	}
	failing := func(ctx context.Context, fn func(choso.Tx) error) error {
		return w.db.Update(ctx, func(tx choso.Tx) error { return fn(failingTx{Tx: tx, failSeq: 44}) })
	}
	_, err := p.pushVia(failing, batch...)
	if choso.ErrorCode(err) != choso.EUnavailable {
		t.Fatalf("push with a failure at seq 44: %v, want unavailable", err)
	}
	if d := w.device(p.id); d.AppliedSeq != 0 || w.eventCount() != 0 || len(w.totals(today)) != 0 {
		t.Fatalf("after rollback: ack %d, %d events, totals %v; want nothing", d.AppliedSeq, w.eventCount(), w.totals(today))
	}
	res := p.mustPush(batch...)
	if res.AckSeq != 50 || w.eventCount() != 50 || w.totals(today)["cash"].Amount != 50000 {
		t.Fatalf("retry: ack %d, %d events, totals %v", res.AckSeq, w.eventCount(), w.totals(today))
	}
}

func Test04_OutOfOrderBatch_GapAppliesNothing(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	var first []chosync.Event
	for range 40 {
		first = append(first, p.sale(1000, "cash"))
	}
	p.mustPush(first...)
	p.sale(1, "cash") // 41 and 42 stay on the phone
	p.sale(1, "cash")
	var late []chosync.Event
	for range 8 {
		late = append(late, p.sale(5000, "qr"))
	}
	res := p.mustPush(late...)
	if res.Gap == nil || res.Gap.Expected != 41 || res.Gap.Received != 43 || res.AckSeq != 40 || res.NextExpectedSeq != 41 {
		t.Fatalf("gap response %+v", res)
	}
	if strings.Count(statuses(res), "not_processed") != 8 || w.totals(today)["qr"].Count != 0 {
		t.Fatalf("statuses %q, qr totals %v: want nothing applied", statuses(res), w.totals(today)["qr"])
	}
	if d := w.device(p.id); !d.HasFlag(choso.FlagGap) {
		t.Fatal("device not flagged gap")
	}
}

func Test05_OverlappingBatch_DuplicatesThenApplied(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	var all []chosync.Event
	for range 60 {
		all = append(all, p.sale(100, "cash"))
	}
	p.mustPush(all[:45]...)
	res := p.mustPush(all[40:]...)
	want := strings.TrimSpace(strings.Repeat("duplicate ", 5) + strings.Repeat("applied ", 15))
	if statuses(res) != want || res.AckSeq != 60 {
		t.Fatalf("overlap: %q ack %d", statuses(res), res.AckSeq)
	}
	if got := w.totals(today)["cash"]; got.Count != 60 || got.Amount != 6000 {
		t.Fatalf("totals %v, want 60 sales", got)
	}
}

func Test06_PermanentRejectionMidBatch_ConsumedQueueMoves(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	batch := []chosync.Event{p.sale(1000, "cash"), p.sale(1000, "cash"), p.sale(0, "cash"), p.sale(1000, "card"), p.sale(2000, "qr")}
	bad := p.event("sale.refund", map[string]int{"amount": 1})
	batch = append(batch, bad, p.sale(3000, "qr"))
	batch[6].Payload = json.RawMessage(`{"amount":3000,"method":"qr","tip":5}`)
	res := p.mustPush(batch...)
	want := "applied applied rejected:invalid_amount rejected:invalid_method applied rejected:unknown_type rejected:invalid_payload"
	if statuses(res) != want || res.AckSeq != 7 {
		t.Fatalf("statuses %q ack %d, want %q and 7", statuses(res), res.AckSeq, want)
	}
	again := p.mustPush(batch...)
	if !strings.Contains(statuses(again), "duplicate:invalid_amount") {
		t.Fatalf("a rejected seq resent: %q, want duplicate with the original code", statuses(again))
	}
	// The stored results are seqs 3, 4, 6 and 7, two runs; 1, 2 and 5 are
	// told by their entities. Each seq gets its own original back.
	if want := "duplicate duplicate duplicate:invalid_amount duplicate:invalid_method duplicate duplicate:unknown_type duplicate:invalid_payload"; statuses(again) != want {
		t.Fatalf("the batch resent: %q, want %q", statuses(again), want)
	}
	// The bounds: nine digits at most, as a VietQR amount.
	if got := statuses(p.mustPush(p.sale(chosync.MaxSaleAmount, "qr"), p.sale(chosync.MaxSaleAmount+1, "qr"))); got != "applied rejected:invalid_amount" {
		t.Fatalf("999,999,999 then 1,000,000,000 đồng: %q", got)
	}
}

// Scenario 9: two requests with the same seqs at once, through Batch as the
// server runs them: one applies, the other sees duplicates.
func Test09_ConcurrentPushesFromOneDevice_NoDoubleEffects(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	var batch []chosync.Event
	for range 20 {
		batch = append(batch, p.sale(500, "qr"))
	}
	var wg sync.WaitGroup
	results := make([]string, 8)
	responses := make([]*chosync.PushResponse, 8)
	for i := range 8 {
		wg.Go(func() {
			res, err := p.pushVia(w.db.Batch, batch...)
			if err != nil {
				t.Error(err)
				return
			}
			results[i], responses[i] = statuses(res), res
		})
	}
	wg.Wait()
	applied := 0
	var winner *chosync.PushResponse
	allApplied := strings.TrimSpace(strings.Repeat("applied ", 20))
	allDuplicate := strings.TrimSpace(strings.Repeat("duplicate ", 20))
	for i, r := range results {
		switch r {
		case allApplied:
			applied++
			winner = responses[i]
		case allDuplicate:
		default:
			t.Errorf("push %d answered %q, want all applied or all duplicate", i, r)
		}
	}
	if applied != 1 || w.eventCount() != 20 {
		t.Fatalf("%d pushes applied, %d events; want 1 and 20 (%v)", applied, w.eventCount(), results)
	}
	// The others are answered with the results the winner got.
	for _, res := range responses {
		if res == winner {
			continue
		}
		for j, r := range res.Results {
			if r.Original == nil || r.Original.Status != "applied" || r.Original.ServerSeq != winner.Results[j].ServerSeq || res.AckSeq != 20 {
				t.Fatalf("duplicate of seq %d: %+v (ack %d), want the original applied result, server_seq %d, ack 20", r.Seq, r, res.AckSeq, winner.Results[j].ServerSeq)
			}
		}
	}
	if d := w.device(p.id); d.HasFlag(choso.FlagCloned) || d.AppliedSeq != 20 {
		t.Fatalf("device after concurrent pushes: %+v, want ack 20 and not flagged cloned", d)
	}
	if got := w.totals(today)["qr"]; got.Count != 20 || got.Amount != 10000 {
		t.Fatalf("totals %v", got)
	}
}

// Scenario 11: the phone lost its local data but kept its token and starts
// again at seq 1 with other events.
func Test11_ResetDeviceWithLostState_SeqReusedAndCloned(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	p.mustPush(p.sale(1000, "cash"), p.sale(2000, "cash"))
	p.seq = 0
	res := p.mustPush(p.sale(7000, "qr"), p.sale(8000, "qr"), p.sale(9000, "qr"))
	if statuses(res) != "rejected:seq_reused not_processed not_processed" {
		t.Fatalf("statuses %q", statuses(res))
	}
	d := w.device(p.id)
	if !d.HasFlag(choso.FlagCloned) || d.AppliedSeq != 2 || w.totals(today)["qr"].Count != 0 {
		t.Fatalf("device %+v, qr %v: want cloned, ack 2, nothing applied", d, w.totals(today)["qr"])
	}
}

// TestResults_ToldByEntities_StoredOnlyWhenTheyHaveMore: a result that is
// applied with nothing to say is not stored, since the entity of its
// event names its device, seq and server seq; rejected and noted results
// are. A retry of every kind of event gets its original back, and a seq
// reused with a new ULID or with other content is caught either way.
func TestResults_ToldByEntities_StoredOnlyWhenTheyHaveMore(t *testing.T) {
	w := newWorld(t)
	a, b := w.phone(), w.phone()
	sale := a.sale(45000, choso.MethodQR)
	cash := a.sale(20000, choso.MethodCash)
	void := a.event(choso.EventSaleVoid, chosync.SaleVoid{SaleID: cash.ID})
	bad := a.sale(-5, choso.MethodCash)                                           // rejected: invalid amount
	later := w.phone().sale(1, choso.MethodCash)                                  // never sent
	waiting := a.event(choso.EventSaleVoid, chosync.SaleVoid{SaleID: later.ID})   // pending_reference: the sale is not here yet
	closed := a.event(choso.EventDayClose, chosync.DayClose{Count: 9, Amount: 9}) // day_close_mismatch
	batch := []chosync.Event{sale, cash, void, bad, waiting, closed}
	first := a.mustPush(batch...)
	if got := statuses(first); got != "applied applied applied rejected:invalid_amount applied applied" {
		t.Fatalf("first push: %q", got)
	}
	stored := map[uint64]bool{}
	err := w.db.View(context.Background(), func(tx choso.Tx) error {
		for _, ev := range batch {
			_, err := tx.FindResult(a.id, ev.Seq)
			switch {
			case err == nil:
				stored[ev.Seq] = true
			case choso.ErrorCode(err) != choso.ENotFound:
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]bool{bad.Seq: true, waiting.Seq: true, closed.Seq: true}
	if !maps.Equal(stored, want) {
		t.Fatalf("results stored for seqs %v, want %v: the plain ones are told by their entities", stored, want)
	}

	again := a.mustPush(batch...)
	for i, r := range again.Results {
		o := first.Results[i]
		if r.Status != chosync.StatusDuplicate || r.Original == nil || r.Original.Status != o.Status || r.Original.Code != o.Code ||
			r.ServerSeq != o.ServerSeq || r.Note != o.Note {
			t.Errorf("retry of seq %d: %+v (original %+v), want a duplicate answering %+v", batch[i].Seq, r, r.Original, o)
		}
	}
	if got := w.totals(today); got["qr"].Amount != 45000 || got["cash"].Count != 0 || w.eventCount() != 5 {
		t.Fatalf("totals %v, %d events after the retry; want one QR sale, the cash sale voided, 5 events", got, w.eventCount())
	}

	// The same ULID from another phone is still applied once, and that
	// phone's result says so, stored since its entity names phone a.
	if r := b.mustPush(sale).Results[0]; r.Note != chosync.NoteEntityExists {
		t.Fatalf("sale replayed by another phone: %+v", r)
	}
	if r := b.mustPush(sale).Results[0]; r.Status != chosync.StatusDuplicate || r.Note != chosync.NoteEntityExists {
		t.Fatalf("its retry: %+v, want a duplicate with the entity_exists note", r)
	}

	// A seq told by its entity, sent again with a new ULID: a reused seq.
	reused := a.sale(45000, choso.MethodQR)
	reused.Seq = sale.Seq
	if got := statuses(a.mustPush(reused)); got != "rejected:seq_reused" {
		t.Fatalf("seq %d with a new ULID: %q, want rejected:seq_reused", sale.Seq, got)
	}
	// And with its own ULID but other content.
	c := w.phone()
	s := c.sale(1000, choso.MethodCash)
	c.mustPush(s)
	changed := s
	changed.Payload = []byte(`{"amount":2000,"method":"cash"}`)
	if got := statuses(c.mustPush(changed)); got != "rejected:seq_reused" {
		t.Fatalf("seq %d with its ULID but other content: %q, want rejected:seq_reused", s.Seq, got)
	}
}

// Scenario 12: a backup restored onto a new phone replays the same ULIDs
// under a new device: applied once.
func Test12_BackupRestoredOnNewPhone_EntityExistsNoDoubleMoney(t *testing.T) {
	w := newWorld(t)
	old := w.phone()
	batch := []chosync.Event{old.sale(45000, "qr"), old.sale(15000, "cash")}
	old.mustPush(batch...)
	restored := w.phone()
	res := restored.mustPush(batch...) // same seqs 1, 2 and ULIDs, new device
	for _, r := range res.Results {
		if r.Status != "applied" || r.Note != chosync.NoteEntityExists {
			t.Fatalf("replayed on a new device: %+v, want applied entity_exists", r)
		}
	}
	if got := w.totals(today); got["qr"].Amount != 45000 || got["cash"].Amount != 15000 {
		t.Fatalf("totals %v: money counted twice", got)
	}
}

func Test13_SameULIDDifferentContent_IDConflict(t *testing.T) {
	w := newWorld(t)
	a, b := w.phone(), w.phone()
	ev := a.sale(45000, "qr")
	a.mustPush(ev)
	forged := b.sale(99000, "qr")
	forged.ID = ev.ID
	res := b.mustPush(forged)
	if statuses(res) != "rejected:id_conflict" || w.totals(today)["qr"].Amount != 45000 {
		t.Fatalf("%q, totals %v", statuses(res), w.totals(today)["qr"])
	}
}

// Scenario 14: wall clock two days fast, no anchor (rebooted offline).
func Test14_ClockTwoDaysFast_SuspectCountedOnNeighbourDay(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	p.mustPush(p.sale(1000, "cash")) // a good event: 2026-11-26
	w.setNow(w.clock().Add(3 * time.Hour))
	ev := p.sale(20000, "cash")
	fast := w.clock().Add(48 * time.Hour)
	ev.AnchoredMs, ev.WallMs, ev.BusinessDate = 0, fast.UnixMilli(), fast.Format(time.DateOnly)
	res := p.mustPush(ev)
	if r := res.Results[0]; r.Status != "applied" || r.TimeQuality != choso.TimeSuspect {
		t.Fatalf("fast clock: %+v, want applied and suspect", r)
	}
	if got := w.totals(today)["cash"]; got.Amount != 21000 {
		t.Fatalf("%s cash = %v, want the suspect sale on the neighbour's day", today, got)
	}
	if d := w.device(p.id); !d.HasFlag(choso.FlagSuspectClock) || d.SuspectEvents != 1 {
		t.Fatalf("device not flagged: %+v", d)
	}
}

// Scenario 14 at the edge: a clock so far off that the phone's own day is
// no YYYY-MM-DD date (past the year 9999: a phone that gives its clock in
// microseconds says 55,000) is a clock, and money is never rejected for a
// clock. The sale counts on its neighbour's day, suspect; a day.close,
// whose date is what it closes, is still refused without one.
func Test14_ClockPastYear9999_SaleTakenSuspect(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	p.mustPush(p.sale(1000, "cash")) // a good event: 2026-11-26
	far := time.Date(10000, 1, 2, 0, 0, 0, 0, time.UTC)
	sale := p.sale(20000, "cash")
	sale.AnchoredMs, sale.WallMs, sale.BusinessDate = 0, far.UnixMilli(), far.Format(time.DateOnly)
	garbled := p.sale(5000, "qr")
	garbled.BusinessDate = "26/11/2026"
	overlong := p.sale(7000, "qr")
	overlong.BusinessDate = strings.Repeat("9", chosync.MaxStringBytes+1)
	closed := p.event("day.close", chosync.DayClose{Count: 2, Amount: 21000})
	closed.AnchoredMs, closed.WallMs, closed.BusinessDate = 0, far.UnixMilli(), far.Format(time.DateOnly)
	res := p.mustPush(sale, garbled, overlong, closed)
	if r := res.Results[0]; r.Status != "applied" || r.TimeQuality != choso.TimeSuspect {
		t.Fatalf("a sale dated %s: %+v, want applied and suspect", sale.BusinessDate, r)
	}
	if r := res.Results[1]; r.Status != "applied" {
		t.Fatalf("a sale dated %s: %+v, want applied", garbled.BusinessDate, r)
	}
	// Past MaxStringBytes it is no clock but a string the server would keep.
	if r := res.Results[2]; r.Status != "rejected" || r.Code != chosync.CodeInvalidDate {
		t.Fatalf("a sale with a business_date of %d bytes: %+v, want rejected invalid_date", len(overlong.BusinessDate), r)
	}
	if r := res.Results[3]; r.Status != "rejected" || r.Code != chosync.CodeInvalidDate {
		t.Fatalf("a day.close dated %s: %+v, want rejected invalid_date", closed.BusinessDate, r)
	}
	if got := w.totals(today); got["cash"].Amount != 21000 || got["qr"].Amount != 5000 {
		t.Fatalf("%s = %v, want both sales on the neighbour's day", today, got)
	}
	if d := w.device(p.id); !d.HasFlag(choso.FlagSuspectClock) {
		t.Fatalf("device not flagged: %+v", d)
	}
}

// Scenario 14, the bank's side. A phone whose clock has been two days fast
// since it sold still says so when it pushes (its wall clock then): the
// server corrects the suspect QR sale's time by that offset, so the credit
// the bank posts at the real time of the sale finds it (the QR-sale index,
// by amount and time). The sale stays suspect and on its neighbour's day.
// A phone whose clock was put right before it pushed gives no such offset:
// its suspect sale is placed at its arrival, within the day it counts on.
func Test14_ClockTwoDaysFast_QRSaleMatchableAtItsRealTime(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	p.mustPush(p.sale(1000, "cash")) // a good event: 2026-11-26
	soldAt := w.clock().Add(3 * time.Hour)
	fast := func(ev chosync.Event, at time.Time) chosync.Event {
		ev.AnchoredMs, ev.WallMs, ev.BusinessDate = 0, at.Add(48*time.Hour).UnixMilli(), at.Add(48*time.Hour).Format(time.DateOnly)
		return ev
	}
	w.setNow(soldAt)
	sale := fast(p.sale(45000, "qr"), soldAt)
	w.setNow(soldAt.Add(time.Hour)) // pushed an hour later, the clock still fast
	p.skew = 48 * time.Hour
	if r := p.mustPush(sale).Results[0]; r.Status != "applied" || r.TimeQuality != choso.TimeSuspect {
		t.Fatalf("fast clock: %+v, want applied and suspect", r)
	}
	if got := w.totals(today)["qr"]; got != (choso.MethodTotals{Count: 1, Amount: 45000}) {
		t.Fatalf("%s qr = %v, want the suspect sale on the neighbour's day", today, got)
	}
	if got := w.qrSalesAround(soldAt); !slices.Contains(got, sale.ID) {
		t.Fatalf("QR sales within a minute of %s: %v, want the sale at its real time", soldAt.Format(time.TimeOnly), got)
	}

	// The clock put right before the push: no offset to correct by. The
	// sale is placed at its arrival, on the day it is counted on, where
	// that day's reconciliation lists it, not two days on.
	w.setNow(soldAt.Add(2 * time.Hour))
	righted := fast(p.sale(20000, "qr"), w.clock())
	p.skew = 0
	if r := p.mustPush(righted).Results[0]; r.TimeQuality != choso.TimeSuspect {
		t.Fatalf("second fast sale: %+v, want suspect", r)
	}
	if got := w.qrSalesAround(w.clock()); !slices.Contains(got, righted.ID) {
		t.Fatalf("QR sales at the arrival: %v, want the sale whose clock gave no offset", got)
	}
	if got := w.qrSalesAround(time.UnixMilli(righted.WallMs)); slices.Contains(got, righted.ID) {
		t.Fatal("the sale is at the phone's time, two days on")
	}

	// Synced a day after the day it is counted on: placed at that day's
	// last moment.
	w.setNow(w.clock().AddDate(0, 0, 1))
	nextDay := fast(p.sale(7000, "qr"), w.clock().Add(-time.Hour))
	p.mustPush(nextDay)
	endOfToday := time.Date(2026, 11, 27, 0, 0, 0, 0, hcm).Add(-time.Millisecond)
	if got := w.qrSalesAround(endOfToday); !slices.Contains(got, nextDay.ID) || w.totals(today)["qr"].Count != 3 {
		t.Fatalf("QR sales at %s's last moment: %v, totals %v; want the third sale there and counted on %s", today, got, w.totals(today), today)
	}
}

// A phone whose last good sale was at 00:01 by its clock, three and a half
// minutes ahead of the server's 23:57:30, then sells on a clock two days fast: the
// suspect sale counts on the good sale's day, which the server has not
// reached, and is placed at that day's first moment, not at the arrival a
// day before it.
func Test14_SuspectSaleCountedOnADayAhead_PlacedWithinIt(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	w.setNow(time.Date(2026, 11, 26, 23, 57, 30, 0, hcm))
	good := p.sale(1000, "qr")
	ahead := time.Date(2026, 11, 27, 0, 1, 0, 0, hcm)
	good.WallMs, good.AnchoredMs, good.BusinessDate = ahead.UnixMilli(), 0, "2026-11-27"
	if r := p.mustPush(good).Results[0]; r.TimeQuality == choso.TimeSuspect {
		t.Fatalf("a clock minutes ahead: %+v, want plausible", r)
	}
	fast := p.sale(2000, "qr")
	fast.WallMs, fast.AnchoredMs = w.clock().Add(48*time.Hour).UnixMilli(), 0
	if r := p.mustPush(fast).Results[0]; r.TimeQuality != choso.TimeSuspect {
		t.Fatalf("a clock two days fast: %+v, want suspect", r)
	}
	midnight := time.Date(2026, 11, 27, 0, 0, 0, 0, hcm)
	if got := w.qrSalesAround(midnight); !slices.Contains(got, fast.ID) || w.totals("2026-11-27")["qr"].Count != 2 {
		t.Fatalf("QR sales around %s: %v, totals %v; want the suspect sale there, counted on the 27th", midnight, got, w.totals("2026-11-27"))
	}
}

// qrSalesAround lists the stall's QR sales within a minute of at.
func (w *world) qrSalesAround(at time.Time) []string {
	w.t.Helper()
	var ids []string
	err := w.db.View(context.Background(), func(tx choso.Tx) error {
		var err error
		ids, err = tx.ListQRSales(w.stall.ID, at.Add(-time.Minute).UnixMilli(), at.Add(time.Minute).UnixMilli())
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return ids
}

// Scenario 15: wall clock two days slow, but anchored this boot.
func Test15_ClockTwoDaysSlowAnchorValid_AnchoredDayWins(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	ev := p.sale(30000, "qr")
	slow := w.clock().Add(-48 * time.Hour)
	ev.WallMs, ev.BusinessDate = slow.UnixMilli(), slow.Format(time.DateOnly)
	res := p.mustPush(ev)
	if r := res.Results[0]; r.TimeQuality != choso.TimeAnchored {
		t.Fatalf("%+v, want anchored", r)
	}
	if w.totals(today)["qr"].Amount != 30000 {
		t.Fatalf("the sale is not on %s", today)
	}
}

// Scenario 15 after a reboot offline (SYNC.md §6.10): no anchor, a wall
// clock hours slow, and the phone's last known offset, by which it dated
// the sale and which it sends as corrected_ms. The server dates the sale by
// it, not by the slow wall clock that falls on the day before, and the
// phone's day.close agrees.
func Test15_RebootOfflineSlowClock_OffsetCorrectedDayWins(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	w.setNow(time.Date(2026, 11, 26, 0, 20, 0, 0, hcm)) // 00:20; the phone's clock says 23:50 the day before
	ev := p.sale(30000, "cash")
	slow := w.clock().Add(-30 * time.Minute)
	ev.AnchoredMs, ev.WallMs, ev.CorrectedMs, ev.BusinessDate = 0, slow.UnixMilli(), w.clock().UnixMilli(), today
	closed := p.event(choso.EventDayClose, chosync.DayClose{Count: 1, Amount: 30000})
	closed.AnchoredMs, closed.WallMs, closed.CorrectedMs, closed.BusinessDate = 0, slow.UnixMilli(), w.clock().UnixMilli(), today
	res := p.mustPush(ev, closed)
	if r := res.Results[0]; r.Status != "applied" || r.TimeQuality != choso.TimeCorrected {
		t.Fatalf("%+v, want applied and %s", r, choso.TimeCorrected)
	}
	if got := w.totals(today)["cash"]; got.Amount != 30000 {
		t.Fatalf("%s cash %v: the sale is not on the day the phone dated it", today, got)
	}
	if r := res.Results[1]; r.Note != "" {
		t.Fatalf("the phone's day.close: %+v", r)
	}
	// Without corrected_ms (an older app), the wall clock decides, as before.
	old := p.sale(1000, "cash")
	old.AnchoredMs, old.WallMs, old.BusinessDate = 0, slow.UnixMilli(), today
	if r := p.mustPush(old).Results[0]; r.TimeQuality != choso.TimeWall || w.totals("2026-11-25")["cash"].Amount != 1000 {
		t.Fatalf("without corrected_ms: %+v, %v", r, w.totals("2026-11-25"))
	}
}

// Scenario 16: the vendor sets the clock back three hours between sales.
func Test16_ClockChangedMidDay_OrderAndTotalsHold(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	a := p.sale(1000, "cash")
	b := p.sale(2000, "cash")
	b.WallMs -= (3 * time.Hour).Milliseconds()
	b.AnchoredMs = 0
	res := p.mustPush(a, b)
	if statuses(res) != "applied applied" || res.Results[0].ServerSeq >= res.Results[1].ServerSeq {
		t.Fatalf("%q: server order must follow seq, not the clock", statuses(res))
	}
	if w.totals(today)["cash"].Amount != 3000 {
		t.Fatal("totals wrong")
	}
}

// Scenario 17: sales at 23:59 and 00:01 market time from a phone 5 minutes
// off: the anchored time in the market's zone decides the day.
func Test17_MidnightBoundaryWithSkew_MarketZoneAnchoredTime(t *testing.T) {
	w := newWorld(t)
	w.setNow(time.Date(2026, 11, 26, 23, 59, 0, 0, hcm))
	p := w.phone()
	before := p.sale(1000, "cash")
	before.WallMs += (5 * time.Minute).Milliseconds() // the wall says 00:04 of the next day
	before.BusinessDate = "2026-11-27"
	w.setNow(time.Date(2026, 11, 27, 0, 1, 0, 0, hcm))
	after := p.sale(2000, "cash")
	after.WallMs -= (5 * time.Minute).Milliseconds() // the wall says 23:56 of the day before
	after.BusinessDate = "2026-11-26"
	p.mustPush(before, after)
	if w.totals("2026-11-26")["cash"].Amount != 1000 || w.totals("2026-11-27")["cash"].Amount != 2000 {
		t.Fatalf("26th %v, 27th %v", w.totals("2026-11-26"), w.totals("2026-11-27"))
	}
}

// Scenario 18: two phones of one stall, offline, sync in either order.
func Test18_TwoPhonesOneStall_TotalsAddUpInEitherOrder(t *testing.T) {
	for _, order := range []string{"AB", "BA"} {
		t.Run(order, func(t *testing.T) {
			w := newWorld(t)
			a, b := w.phone(), w.phone()
			ea := []chosync.Event{a.sale(10000, "cash"), a.sale(20000, "qr")}
			eb := []chosync.Event{b.sale(5000, "cash"), b.sale(7000, "transfer"), b.sale(1000, "qr")}
			if order == "AB" {
				a.mustPush(ea...)
				b.mustPush(eb...)
			} else {
				b.mustPush(eb...)
				a.mustPush(ea...)
			}
			got := w.totals(today)
			if got["cash"].Amount != 15000 || got["qr"].Amount != 21000 || got["transfer"].Amount != 7000 || got["qr"].Count != 2 {
				t.Fatalf("totals %v", got)
			}
			closeA := a.event(choso.EventDayClose, chosync.DayClose{Count: 2, Amount: 30000})
			closeB := b.event(choso.EventDayClose, chosync.DayClose{Count: 3, Amount: 13000})
			ra, rb := a.mustPush(closeA), b.mustPush(closeB)
			if ra.Results[0].Note != "" || rb.Results[0].Note != "" {
				t.Fatalf("day.close compared against the stall, not the device: %+v %+v", ra.Results[0], rb.Results[0])
			}
		})
	}
}

// Scenario 21: ten thousand sales after a week offline, split into
// batches of at most 500.
func Test21_HugeBacklogAfterAWeek_SplitAndAllApplied(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	var all []chosync.Event
	for i := range 10000 {
		all = append(all, p.sale(int64(1000+i%7), "cash"))
	}
	if _, err := p.push(all[:501]...); choso.ErrorCode(err) != choso.ETooLarge {
		t.Fatalf("501 events: %v, want too_large", err)
	}
	var want int64
	for _, e := range all {
		var s chosync.SaleRecord
		json.Unmarshal(e.Payload, &s)
		want += s.Amount
	}
	for i := 0; i < len(all); i += chosync.MaxEvents {
		res := p.mustPush(all[i:min(i+chosync.MaxEvents, len(all))]...)
		if res.AckSeq != uint64(min(i+chosync.MaxEvents, len(all))) {
			t.Fatalf("batch at %d: ack %d", i, res.AckSeq)
		}
	}
	if got := w.totals(today)["cash"]; got.Count != 10000 || got.Amount != want {
		t.Fatalf("totals %v, want 10000 sales for %d", got, want)
	}
}

// Scenario 26: a revoked device with data still on it.
func Test26_DeviceRevokedWithPendingData_RefusedOnNextPush(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	req := []chosync.Event{p.sale(1000, "cash")}
	res, err := p.push(req...)
	if err != nil || res.AckSeq != 1 {
		t.Fatal(err)
	}
	// The phone reported 12 pending in its last push before the
	// revocation: the admin sees that count on the stall's devices first.
	p.pending = 12
	p.mustPush(p.sale(1000, "cash"))
	devs, err := w.reg.ListStallDevices(context.Background(), choso.SystemPrincipal("test"), w.stall.ID)
	if err != nil || len(devs) != 1 || devs[0].ID != p.id || devs[0].PendingCount != 12 {
		t.Fatalf("the stall's devices before the revocation: %v %+v, want this phone with 12 pending", err, devs)
	}
	d, err := w.reg.RevokeDevice(context.Background(), choso.SystemPrincipal("test"), p.id)
	if err != nil || d.PendingCount != 12 {
		t.Fatalf("revoke: %v, pending %d", err, d.PendingCount)
	}
	_, err = p.push(p.sale(1000, "cash"))
	if choso.ErrorCode(err) != choso.EDeviceRevoked {
		t.Fatalf("push after revoke: %v, want device_revoked", err)
	}
}

// Scenario 29: the phone's day.close disagrees with the events the server has.
func Test29_DayCloseDisagrees_MismatchNamesDeviceAndSeqs(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	var batch []chosync.Event
	for range 118 {
		batch = append(batch, p.sale(1000, "cash"))
	}
	p.mustPush(batch...)
	res := p.mustPush(p.event(choso.EventDayClose, chosync.DayClose{Count: 120, Amount: 120000}))
	r := res.Results[0]
	if r.Status != "applied" || r.Note != chosync.NoteDayCloseMismatch || !strings.Contains(r.Message, "120") || !strings.Contains(r.Message, "1–118") {
		t.Fatalf("day.close: %+v", r)
	}
	d := w.device(p.id)
	if !d.HasFlag(choso.FlagDayCloseMismatch) || !strings.Contains(d.LastError, "118") {
		t.Fatalf("device %+v", d)
	}
	ok := p.mustPush(p.event(choso.EventDayClose, chosync.DayClose{Count: 118, Amount: 118000}))
	if ok.Results[0].Note != "" {
		t.Fatalf("matching day.close flagged: %+v", ok.Results[0])
	}
	// The right count for another sum (SYNC.md §6.1: count and sum are
	// both compared) is a mismatch too.
	sum := p.mustPush(p.event(choso.EventDayClose, chosync.DayClose{Count: 118, Amount: 117000}))
	if r := sum.Results[0]; r.Status != "applied" || r.Note != chosync.NoteDayCloseMismatch || !strings.Contains(r.Message, "117000") {
		t.Fatalf("day.close with the count right and the sum 1,000 đồng short: %+v, want a mismatch naming the phone's sum", r)
	}
}

// Scenario 31: bbolt's Batch re-runs the others when one member fails; no
// push is applied twice, and the failing one applies nothing.
func Test31_BatchReExecution_NoDoubleEffects(t *testing.T) {
	w := newWorld(t)
	var phones []*phone
	for range 12 {
		phones = append(phones, w.phone())
	}
	var wg sync.WaitGroup
	errs := make([]error, len(phones))
	for i, p := range phones {
		batch := []chosync.Event{p.sale(1000, "cash"), p.sale(2000, "qr")}
		wg.Go(func() {
			run := w.db.Batch
			if i%4 == 0 {
				run = func(ctx context.Context, fn func(choso.Tx) error) error {
					return w.db.Batch(ctx, func(tx choso.Tx) error { return fn(failingTx{Tx: tx, failSeq: 2}) })
				}
			}
			_, errs[i] = p.pushVia(run, batch...)
		})
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if (i%4 == 0) != (err != nil) {
			t.Fatalf("phone %d: %v", i, err)
		}
		if err != nil {
			failed++
		}
	}
	ok := int64(len(phones) - failed)
	if got := w.totals(today); got["cash"].Count != ok || got["qr"].Amount != 2000*ok || w.eventCount() != int(2*ok) {
		t.Fatalf("totals %v, %d events; want %d pushes counted once", got, w.eventCount(), ok)
	}
}

func TestVoid_SameDeviceAndBeforeTheSale(t *testing.T) {
	w := newWorld(t)
	a, b := w.phone(), w.phone()
	sale := a.sale(45000, "qr")
	a.mustPush(sale)
	res := a.mustPush(a.event(choso.EventSaleVoid, chosync.SaleVoid{SaleID: sale.ID, Reason: "khách đổi ý"}))
	if res.Results[0].Status != "applied" || w.totals(today)["qr"].Amount != 0 {
		t.Fatalf("void: %+v totals %v", res.Results[0], w.totals(today))
	}
	again := a.mustPush(a.event(choso.EventSaleVoid, chosync.SaleVoid{SaleID: sale.ID}))
	if statuses(again) != "rejected:already_voided" {
		t.Fatalf("second void: %q", statuses(again))
	}
	// Scenario 20: phone B voids a sale phone A has not synced yet.
	late := a.sale(30000, "cash")
	void := b.event(choso.EventSaleVoid, chosync.SaleVoid{SaleID: late.ID})
	vr := b.mustPush(void)
	if vr.Results[0].Note != chosync.NotePendingReference {
		t.Fatalf("void before sale: %+v", vr.Results[0])
	}
	if r := a.mustPush(late).Results[0]; r.Status != "applied" || r.Note != chosync.NoteVoided || !strings.Contains(r.Message, void.ID) {
		t.Fatalf("the sale a waiting void took out: %+v, want applied, note %q, the void named", r, chosync.NoteVoided)
	}
	if got := w.totals(today); got["cash"].Amount != 0 || got["cash"].Count != 0 {
		t.Fatalf("late sale not voided on arrival: %v", got)
	}
}

// Scenarios 18 and 20 together. A phone's day.close counts its own sales
// net of its own voids: it cannot know of another phone's. Phone B's void
// of phone A's sale takes the sale out of the stall's totals, not out of
// A's own tally, so A's day.close agrees whether B's void came before the
// sale, between the sale and the close, or after the close. A's void of its
// own sale does come out of its tally.
func TestDayClose_AnotherPhonesVoid_LeavesTheSellersTally(t *testing.T) {
	for _, order := range []string{"void,sale,close", "sale,void,close", "sale,close,void"} {
		t.Run(order, func(t *testing.T) {
			w := newWorld(t)
			a, b := w.phone(), w.phone()
			sale, kept := a.sale(45000, "qr"), a.sale(10000, "cash")
			void := b.event(choso.EventSaleVoid, chosync.SaleVoid{SaleID: sale.ID})
			closed := a.event(choso.EventDayClose, chosync.DayClose{Count: 2, Amount: 55000})
			var closeRes *chosync.PushResponse
			for _, step := range strings.Split(order, ",") {
				switch step {
				case "void":
					b.mustPush(void)
				case "sale":
					a.mustPush(sale, kept)
				case "close":
					closeRes = a.mustPush(closed)
				}
			}
			if r := closeRes.Results[0]; r.Status != "applied" || r.Note != "" {
				t.Fatalf("A's day.close of its 2 sales for 55,000 đồng: %+v", r)
			}
			if d := w.device(a.id); d.HasFlag(choso.FlagDayCloseMismatch) {
				t.Fatalf("A flagged: %s", d.LastError)
			}
			if got := w.totals(today); got["qr"] != (choso.MethodTotals{}) || got["cash"] != (choso.MethodTotals{Count: 1, Amount: 10000}) {
				t.Fatalf("stall totals %v: want B's void to take the QR sale out", got)
			}
			// A voids its own cash sale: its tally loses it.
			a.mustPush(a.event(choso.EventSaleVoid, chosync.SaleVoid{SaleID: kept.ID}))
			if r := a.mustPush(a.event(choso.EventDayClose, chosync.DayClose{Count: 1, Amount: 45000})).Results[0]; r.Note != "" {
				t.Fatalf("A's day.close after voiding its own sale: %+v", r)
			}
			// A voids the QR sale B voided: refused, but A's phone took it
			// out of its own day, and so does the server's tally, once.
			for range 2 {
				if got := statuses(a.mustPush(a.event(choso.EventSaleVoid, chosync.SaleVoid{SaleID: sale.ID}))); got != "rejected:already_voided" {
					t.Fatalf("A's void of the sale B voided: %q", got)
				}
				if r := a.mustPush(a.event(choso.EventDayClose, chosync.DayClose{Count: 0, Amount: 0})).Results[0]; r.Note != "" {
					t.Fatalf("A's day.close of no sales after voiding the sale B voided: %+v", r)
				}
			}
			if got := w.totals(today); got["qr"] != (choso.MethodTotals{}) || got["cash"] != (choso.MethodTotals{}) {
				t.Fatalf("stall totals %v after both phones voided: want nothing left, and nothing taken out twice", got)
			}
		})
	}
}

// PARTNER.md §7 #3, for a day the server had not seen: a phone offline for
// three days syncs a day whose date the finalizer has already passed. No
// later run of the finalizer looks at that date again, so the day is
// written final at once (and its reconciliation stops being pending); more
// data for it is an adjustment. A day the finalizer has not reached is
// provisional as ever.
func TestLateSyncedDay_OfAFinalizedDate_WrittenFinal(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	sold := p.sale(45000, "qr")
	w.setNow(w.clock().AddDate(0, 0, 3)) // 2026-11-29: the 26th is past 48 hours
	ps := &choso.Partners{Store: w.db, Now: w.clock, Location: choso.LoadLocation}
	if _, err := ps.FinalizeDays(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.mustPush(sold)
	status := func(date string) string {
		var d *choso.StallDay
		if err := w.db.View(context.Background(), func(tx choso.Tx) (err error) { d, err = tx.FindStallDay(w.stall.ID, date); return err }); err != nil {
			t.Fatalf("day %s: %v", date, err)
		}
		return d.Status
	}
	if got := status(today); got != choso.DayFinal {
		t.Fatalf("a day first synced after its date was finalized: %s, want final", got)
	}
	late := p.sale(10000, "cash")
	late.WallMs, late.AnchoredMs, late.BusinessDate = sold.WallMs+1000, sold.AnchoredMs+1000, today
	p.mustPush(late)
	if got := status(today); got != choso.DayAdjusted {
		t.Fatalf("more data for it: %s, want adjusted", got)
	}
	p.mustPush(p.sale(5000, "cash")) // today is the 29th
	if got := status(w.clock().Format(time.DateOnly)); got != choso.DayProvisional {
		t.Fatalf("a day the finalizer has not reached: %s, want provisional", got)
	}
}

// A phone may void only its own stall's sales. Whichever arrives first, a
// void naming another stall's sale leaves that sale counted: refused when
// the sale is already there, and left waiting for nothing when it is not.
func TestVoid_OfAnotherStallsSale_CountedInEitherOrder(t *testing.T) {
	w := newWorld(t)
	other := w.otherStall()
	seller, stranger := w.phone(), w.phoneOf(other.ID)

	// The sale first: the void is refused.
	first := seller.sale(45000, "qr")
	seller.mustPush(first)
	if got := statuses(stranger.mustPush(stranger.event(choso.EventSaleVoid, chosync.SaleVoid{SaleID: first.ID}))); got != "rejected:foreign_sale" {
		t.Fatalf("void of another stall's stored sale: %q", got)
	}

	// The void first: it waits, and the sale that arrives is not its to void.
	late := seller.sale(30000, "cash")
	if vr := stranger.mustPush(stranger.event(choso.EventSaleVoid, chosync.SaleVoid{SaleID: late.ID})); vr.Results[0].Note != chosync.NotePendingReference {
		t.Fatalf("void before the sale: %+v", vr.Results[0])
	}
	res := seller.mustPush(late)
	if r := res.Results[0]; r.Status != "applied" || r.Note != "" {
		t.Fatalf("the sale after another stall's void: %+v", r)
	}
	got := w.totals(today)
	if got["qr"] != (choso.MethodTotals{Count: 1, Amount: 45000}) || got["cash"] != (choso.MethodTotals{Count: 1, Amount: 30000}) {
		t.Fatalf("totals %v: another stall's void took a sale out", got)
	}
	// The seller's own void still takes it out.
	if again := statuses(seller.mustPush(seller.event(choso.EventSaleVoid, chosync.SaleVoid{SaleID: late.ID}))); again != "applied" {
		t.Fatalf("the seller's own void: %q", again)
	}
	if got := w.totals(today)["cash"]; got != (choso.MethodTotals{}) {
		t.Fatalf("cash after the seller's void: %v", got)
	}
}

// A ULID is case-blind (Crockford base32): a sale resent with its ID in
// small letters is the same sale, and a void naming it so voids it.
func TestULIDCase_OneSaleInEitherSpelling(t *testing.T) {
	w := newWorld(t)
	a, b, manager := w.phone(), w.phone(), w.phone()
	sale := a.sale(45000, "cash")
	a.mustPush(sale)
	again := b.sale(45000, "cash")
	again.ID, again.BusinessDate = strings.ToLower(sale.ID), sale.BusinessDate
	if r := b.mustPush(again).Results[0]; r.Status != "applied" || r.Note != chosync.NoteEntityExists {
		t.Fatalf("the sale again in small letters: %+v", r)
	}
	if got := w.totals(today)["cash"]; got != (choso.MethodTotals{Count: 1, Amount: 45000}) {
		t.Fatalf("cash %v: one sale counted twice", got)
	}
	// A void in small letters before its sale: it waits for it, and voids it.
	late := a.sale(30000, "cash")
	manager.mustPush(manager.event(choso.EventSaleVoid, chosync.SaleVoid{SaleID: strings.ToLower(late.ID)}))
	a.mustPush(late)
	if got := w.totals(today)["cash"]; got != (choso.MethodTotals{Count: 1, Amount: 45000}) {
		t.Fatalf("cash %v: the void in small letters did not void its sale", got)
	}
}

func TestCheckBatch_RefusesMalformedBatches(t *testing.T) {
	for _, tt := range []struct {
		name string
		req  chosync.PushRequest
		code string
	}{
		{"future protocol", chosync.PushRequest{Protocol: 2}, choso.EInvalid},
		{"seq zero", chosync.PushRequest{Protocol: 1, Events: []chosync.Event{{Seq: 0}}}, choso.EInvalid},
		{"not increasing", chosync.PushRequest{Protocol: 1, Events: []chosync.Event{{Seq: 3}, {Seq: 3}}}, choso.EInvalid},
		{"decreasing", chosync.PushRequest{Protocol: 1, Events: []chosync.Event{{Seq: 3}, {Seq: 2}}}, choso.EInvalid},
		{"too many", chosync.PushRequest{Protocol: 1, Events: make([]chosync.Event, 501)}, choso.ETooLarge},
	} {
		if err := chosync.CheckBatch(&tt.req); choso.ErrorCode(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
}

// A sale's payment reference is the phone's text: whatever it holds (a
// NUL byte included), the sale is applied and counted, on every store.
func TestSale_RefWithNUL_Applied(t *testing.T) {
	w := newWorld(t)
	p := w.phone()
	ev := p.sale(45000, "qr")
	ev.Payload, _ = json.Marshal(chosync.SaleRecord{Amount: 45000, Method: "qr", Ref: "CS\x00123"})
	res, err := p.push(ev)
	if err != nil {
		t.Fatalf("push of a sale whose ref holds a NUL byte: %v", err)
	}
	if statuses(res) != "applied" {
		t.Fatalf("statuses %q, want applied", statuses(res))
	}
	if got := w.totals(today)["qr"]; got.Count != 1 || got.Amount != 45000 {
		t.Fatalf("qr totals %+v, want 1 sale of 45000", got)
	}
}

// enrollAgain enrolls a phone for a stall with a claim to be the install of
// an earlier device, and returns it with its token.
func (w *world) enrollAgain(stallID string, claim *choso.DeviceClaim) (*phone, string) {
	w.t.Helper()
	code, _, err := w.reg.CreateEnrollment(context.Background(), choso.SystemPrincipal("test"), stallID)
	if err != nil {
		w.t.Fatal(err)
	}
	d, token, err := w.reg.RedeemEnrollment(context.Background(), code, "1.0.0", claim)
	if err != nil {
		w.t.Fatal(err)
	}
	return &phone{w: w, id: d.ID}, token
}

// A phone enrolled again and again keeps the last MaxReplaces devices it
// replaced, newest first: the oldest are of days it closed long ago.
func TestEnrollAgain_ReplacesAtMostMaxReplaces(t *testing.T) {
	w := newWorld(t)
	p, tok := w.enrollAgain(w.stall.ID, nil)
	ids := []string{p.id}
	for i := range choso.MaxReplaces + 2 {
		p, tok = w.enrollAgain(w.stall.ID, &choso.DeviceClaim{DeviceID: p.id, Token: tok})
		ids = append(ids, p.id)
		if n := len(w.device(p.id).Replaces); n != min(i+1, choso.MaxReplaces) {
			t.Fatalf("enrolled again %d times, the device replaces %d, want %d", i+1, n, min(i+1, choso.MaxReplaces))
		}
	}
	got := w.device(p.id).Replaces
	want := slices.Clone(ids[len(ids)-1-choso.MaxReplaces : len(ids)-1])
	slices.Reverse(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after %d enrollments the device replaces %v, want the %d before it, newest first: %v", len(ids), got, choso.MaxReplaces, want)
	}
}

// A phone enrolled again for its stall, proving it held its old device's
// token, is recorded as the same phone (Device.Replaces), and its day.close
// is checked against the sales of the old devices too: those sent before,
// and those sent again under the new device and taken as entity_exists. A
// void of an old device's sale from the new one comes out of the phone's
// tally. A sale that really went missing is still flagged.
func TestDayClose_PhoneEnrolledAgain_CountsTheDevicesItReplaced(t *testing.T) {
	w := newWorld(t)
	a, tokA := w.enrollAgain(w.stall.ID, nil)
	if d := w.device(a.id); d.Replaces != nil {
		t.Fatalf("a first enrollment replaces %v, want nothing", d.Replaces)
	}
	sold := []chosync.Event{a.sale(10000, "cash"), a.sale(10000, "cash"), a.sale(10000, "cash")}
	a.mustPush(sold...)
	if _, err := w.reg.RevokeDevice(context.Background(), choso.SystemPrincipal("test"), a.id); err != nil {
		t.Fatal(err)
	}

	b, tokB := w.enrollAgain(w.stall.ID, &choso.DeviceClaim{DeviceID: a.id, Token: tokA})
	if d := w.device(b.id); !slices.Equal(d.Replaces, []string{a.id}) {
		t.Fatalf("the device enrolled again replaces %v, want [%s]", d.Replaces, a.id)
	}
	again := sold[2] // its answer lost: sent again, numbered anew
	b.seq++
	again.Seq = b.seq
	if r := b.mustPush(again, b.sale(25000, "qr")); statuses(r) != "applied applied" || r.Results[0].Note != chosync.NoteEntityExists {
		t.Fatalf("push of the new device: %q %+v", statuses(r), r.Results)
	}
	if r := b.mustPush(b.event(choso.EventDayClose, chosync.DayClose{Count: 4, Amount: 55000})).Results[0]; r.Note != "" {
		t.Fatalf("day.close of the 4 sales of both devices: %+v", r)
	}
	missing := b.mustPush(b.event(choso.EventDayClose, chosync.DayClose{Count: 5, Amount: 65000})).Results[0]
	if missing.Note != chosync.NoteDayCloseMismatch || !strings.Contains(missing.Message, "1 earlier device(s)") {
		t.Fatalf("day.close counting a sale the server never had: %+v, want a mismatch", missing)
	}
	if d := w.device(b.id); !d.HasFlag(choso.FlagDayCloseMismatch) {
		t.Fatalf("device after the real mismatch: flags %v", d.Flags)
	}

	// Enrolled once more, naming the second device: the third replaces
	// both, and a void of the first device's sale comes out of its tally.
	c, _ := w.enrollAgain(w.stall.ID, &choso.DeviceClaim{DeviceID: b.id, Token: tokB})
	if d := w.device(c.id); !slices.Equal(d.Replaces, []string{b.id, a.id}) {
		t.Fatalf("the third device replaces %v, want [%s %s]", d.Replaces, b.id, a.id)
	}
	c.mustPush(c.event(choso.EventSaleVoid, chosync.SaleVoid{SaleID: sold[0].ID}))
	if r := c.mustPush(c.event(choso.EventDayClose, chosync.DayClose{Count: 3, Amount: 45000})).Results[0]; r.Note != "" {
		t.Fatalf("day.close after voiding the first device's sale: %+v", r)
	}
	if got := w.totals(today); got["cash"] != (choso.MethodTotals{Count: 2, Amount: 20000}) || got["qr"] != (choso.MethodTotals{Count: 1, Amount: 25000}) {
		t.Fatalf("stall totals %v: want each sale once, the voided one out", got)
	}
}

// A claim to replace a device holds only with that device's token and for
// its own stall. Any other is ignored: the phone is enrolled as a new
// install, and its day.close counts its own sales only, so no phone can
// borrow another stall's sales, or another phone's, to cover a gap.
func TestEnrollAgain_ClaimsThatDoNotHold_ReplaceNothing(t *testing.T) {
	w := newWorld(t)
	other := w.otherStall()
	a, tokA := w.enrollAgain(w.stall.ID, nil)
	sibling, _ := w.enrollAgain(w.stall.ID, nil)
	a.mustPush(a.sale(10000, "cash"), a.sale(10000, "cash"))
	for _, tt := range []struct {
		name  string
		stall string
		claim *choso.DeviceClaim
	}{
		{"for another stall", other.ID, &choso.DeviceClaim{DeviceID: a.id, Token: tokA}},
		{"with a wrong token", w.stall.ID, &choso.DeviceClaim{DeviceID: a.id, Token: tokA + "x"}},
		{"naming another device than the token's", w.stall.ID, &choso.DeviceClaim{DeviceID: sibling.id, Token: tokA}},
		{"with a token and no device", w.stall.ID, &choso.DeviceClaim{Token: tokA}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := w.enrollAgain(tt.stall, tt.claim)
			if d := w.device(p.id); d.Replaces != nil {
				t.Fatalf("replaces %v, want nothing", d.Replaces)
			}
			if r := p.mustPush(p.event(choso.EventDayClose, chosync.DayClose{Count: 2, Amount: 20000})).Results[0]; r.Note != chosync.NoteDayCloseMismatch {
				t.Fatalf("day.close claiming the other device's 2 sales: %+v, want a mismatch", r)
			}
		})
	}
}
