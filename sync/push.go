package sync

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/choso/choso"
)

// CheckBatch validates a push as a whole before any transaction: version,
// size, and seqs strictly increasing from 1. A bad batch is a client bug; it
// is refused whole (EInvalid or ETooLarge) and nothing is consumed.
func CheckBatch(req *PushRequest) error {
	if req.Protocol < 1 || req.Protocol > ProtocolVersion {
		return choso.Errorf(choso.EInvalid, "protocol %d is not spoken here (1–%d)", req.Protocol, ProtocolVersion)
	}
	if len(req.Events) > MaxEvents {
		return choso.Errorf(choso.ETooLarge, "%d events in one push; at most %d", len(req.Events), MaxEvents)
	}
	for _, f := range [...]struct{ name, v string }{{"app_version", req.AppVersion}, {"client.boot_id", req.Client.BootID}, {"client.hlc", req.Client.HLC}} {
		if len(f.v) > MaxStringBytes {
			return choso.Errorf(choso.EInvalid, "%s is longer than %d bytes", f.name, MaxStringBytes)
		}
	}
	var prev uint64
	for i, e := range req.Events {
		if e.Seq == 0 {
			return choso.Errorf(choso.EInvalid, "event %d: seq starts at 1", i)
		}
		if i > 0 && e.Seq <= prev {
			return choso.Errorf(choso.EInvalid, "event %d: seqs must be strictly increasing (%d after %d)", i, e.Seq, prev)
		}
		prev = e.Seq
	}
	return nil
}

// Pusher applies pushes. It holds no state: everything the rules take
// comes from the store's transaction and the call.
type Pusher struct{}

// Call is one push as the server received it.
type Call struct {
	DeviceID string
	Request  *PushRequest
	Now      time.Time // when it arrived
	// UsedPreviousToken is true when the device authenticated with the
	// previous token of a pending rotation: it missed the new one.
	UsedPreviousToken bool
	// Prepared is Prepare(Request), when the caller made it outside the
	// transaction; nil makes Push prepare inline.
	Prepared []Prepared
}

// Push applies a call's request inside tx and returns the
// response. It follows SYNC.md §6.5 exactly. A permanent failure of one
// event is a rejected result; an error returned is transient or a refusal
// of the whole push (device revoked or suspended), and the caller must roll
// tx back and ack nothing. Push derives everything from tx and keeps no
// state between calls, so it may run again on a retried transaction.
func (p *Pusher) Push(tx choso.Tx, call Call) (*PushResponse, error) {
	req, now := call.Request, call.Now
	prepared := call.Prepared
	if len(prepared) != len(req.Events) {
		prepared = Prepare(req)
	}
	dev, err := tx.FindDevice(call.DeviceID)
	if err != nil {
		return nil, err
	}
	if dev.Status == choso.DeviceRevoked {
		return nil, choso.Errorf(choso.EDeviceRevoked, "this phone was removed from the stall; ask a volunteer to enroll it again")
	}
	stall, err := tx.FindStall(dev.StallID)
	if err != nil {
		return nil, err
	}
	if stall.Status != choso.StallActive {
		return nil, choso.Errorf(choso.EDeviceSuspended, "the stall is suspended; sales stay on the phone until it is reactivated")
	}
	market, err := tx.FindMarket(stall.MarketID)
	if err != nil {
		return nil, err
	}
	loc, err := choso.LoadLocation(market.TimeZone)
	if err != nil {
		return nil, err
	}
	a := &applier{tx: tx, dev: dev, stall: stall, market: market, loc: loc, now: now, clientWallMs: req.Client.WallMs, days: map[string]*choso.StallDay{}, devDays: map[string]*choso.DeviceDay{}}
	res := &PushResponse{Results: make([]Result, 0, len(req.Events)), ServerTimeMs: now.UnixMilli()}
	if pf, ok := tx.(choso.EntityPrefetcher); ok {
		if err := pf.PrefetchEntities(entityIDs(req.Events, prepared, dev.AppliedSeq)); err != nil {
			return nil, err
		}
	}

	for i := range req.Events {
		ev := &req.Events[i]
		switch {
		case ev.Seq <= dev.AppliedSeq:
			r, stop, err := a.duplicate(ev, &prepared[i])
			if err != nil {
				return nil, err
			}
			res.Results = append(res.Results, r)
			if stop {
				// A cloned install: nothing after the reused seq can be
				// trusted to be in order. Say so and apply nothing more.
				for _, rest := range req.Events[i+1:] {
					res.Results = append(res.Results, Result{Seq: rest.Seq, Status: StatusNotProcessed})
				}
				goto done
			}
		case ev.Seq == dev.AppliedSeq+1:
			r, err := a.apply(ev, &prepared[i])
			if err != nil {
				return nil, err
			}
			if !a.toldByEntity(&r) {
				a.stored = append(a.stored, choso.EventResult{Status: r.Status, Code: r.Code, Message: r.Message, Hash: a.hash, ServerSeq: r.ServerSeq, Note: r.Note})
				a.storedSeqs = append(a.storedSeqs, ev.Seq)
			}
			dev.AppliedSeq = ev.Seq
			res.Results = append(res.Results, r)
		default:
			res.Gap = &Gap{Expected: dev.AppliedSeq + 1, Received: ev.Seq}
			dev.SetFlag(choso.FlagGap)
			dev.LastError = fmt.Sprintf("gap: expected seq %d, received %d", dev.AppliedSeq+1, ev.Seq)
			for _, rest := range req.Events[i:] {
				res.Results = append(res.Results, Result{Seq: rest.Seq, Status: StatusNotProcessed})
			}
			goto done
		}
	}
done:
	if err := a.flush(); err != nil {
		return nil, err
	}
	res.TotalsVersion = a.totalsVersion
	dev.LastSeenAt, dev.LastPushAt = now, now
	dev.AppVersion, dev.Protocol, dev.BootID = req.AppVersion, req.Protocol, req.Client.BootID
	dev.PendingCount, dev.OldestPendingWallMs = req.Client.PendingCount, req.Client.OldestPendingWallMs
	if req.Client.WallMs > 0 {
		dev.ClockOffsetMs = now.UnixMilli() - req.Client.WallMs
	}
	res.Token = choso.RotateDeviceToken(dev, now, call.UsedPreviousToken)
	if err := tx.UpdateDevice(dev); err != nil {
		return nil, err
	}
	res.AckSeq, res.NextExpectedSeq = dev.AppliedSeq, dev.AppliedSeq+1
	res.ConfigVersion = stall.ConfigVersion
	return res, nil
}

// entityIDs lists the client IDs applying events will look up: those of
// the events, and the sales the voids past the device's applied seq name.
// A duplicate's entity may tell its original result (applier.original).
func entityIDs(events []Event, prepared []Prepared, applied uint64) []string {
	ids := make([]string, 0, len(events))
	for i := range events {
		if prepared[i].invalid != nil {
			continue
		}
		ids = append(ids, events[i].ID)
		if v, ok := prepared[i].decoded.(*SaleVoid); ok && events[i].Seq > applied {
			ids = append(ids, v.SaleID)
		}
	}
	return ids
}

// applier holds one push's working state: the device and its stall, and
// the day totals it touched, written once at the end.
type applier struct {
	tx            choso.Tx
	dev           *choso.Device
	stall         *choso.Stall
	market        *choso.Market
	loc           *time.Location
	now           time.Time
	clientWallMs  int64                       // the phone's wall clock when it pushed, 0 if not said
	days          map[string]*choso.StallDay  // by stall + date
	devDays       map[string]*choso.DeviceDay // by device + date
	hash          []byte                      // fingerprint of the event being applied
	totalsVersion uint64
	// The results of the seqs consumed in this push that their entities
	// cannot tell (toldByEntity), and their seqs, written at the end as
	// runs of consecutive seqs.
	stored     []choso.EventResult
	storedSeqs []uint64
	// ownEntity is set when the event being applied stored the entity of
	// its own ULID, naming its device, seq and hash (putOwnEntity).
	ownEntity bool
	// The day totals the last event went to: a push's events are mostly
	// of one day, so most lookups skip building the map key.
	lastDay    *choso.StallDay
	lastDevDay *choso.DeviceDay
	day        dayCache // the business day the last event's time fell in
	// The finalizer's last finalized date, read when the push first
	// creates a stall-day (loadFinalizedThrough).
	finalizedThrough string
	finalizedLoaded  bool
	// The stored event and entity of the event being applied, reused from
	// one event to the next: the store keeps no reference to either
	// (choso.SyncTx), and one of each on the heap for every event was a
	// tenth of what a push allocated.
	event  choso.Event
	entity choso.Entity
}

// putOwnEntity stores e as the entity of the event being applied, ev, and
// notes whether it names the event (device, seq and hash), so that the
// event's result can be told from it (toldByEntity, original).
func (a *applier) putOwnEntity(ev *Event, e *choso.Entity) error {
	if err := a.tx.PutEntity(ev.ID, e); err != nil {
		return err
	}
	a.ownEntity = e.DeviceID == a.dev.ID && e.Seq == ev.Seq && bytes.Equal(e.Hash, a.hash)
	return nil
}

// toldByEntity reports whether r, the result of the event just applied,
// can be told from that event's entity, and so is not stored: applied
// with nothing to say, under an entity that names the event's device and
// seq (original reads it back). Most results are; storing each as well put
// a second write a push into a leaf of its device's own, about a fifth of
// the pages a group commit wrote (BENCHMARKS.md, issue 5).
func (a *applier) toldByEntity(r *Result) bool {
	return a.ownEntity && r.Status == StatusApplied && r.Code == "" && r.Note == "" && r.Message == ""
}

// original returns the result of a seq the device already consumed: the
// stored one, or else the applied result its entity tells when the entity
// of the event's ULID names this device and seq. ENotFound means the seq
// was consumed by an event with another ULID: every consumed seq has one
// or the other (toldByEntity), and stores written before results were
// told by entities have a result for every seq.
func (a *applier) original(ev *Event) (*choso.EventResult, error) {
	r, err := a.tx.FindResult(a.dev.ID, ev.Seq)
	if choso.ErrorCode(err) != choso.ENotFound {
		return r, err
	}
	ent, err := a.tx.FindEntity(ev.ID)
	if err != nil {
		return nil, err
	}
	if ent.DeviceID != a.dev.ID || ent.Seq != ev.Seq {
		return nil, choso.Errorf(choso.ENotFound, "seq %d of device %s was consumed by another event", ev.Seq, a.dev.ID)
	}
	return &choso.EventResult{Status: StatusApplied, Hash: ent.Hash, ServerSeq: ent.ServerSeq}, nil
}

// duplicate answers a seq the device already consumed. stop is true when
// the seq comes back with other content: the install was cloned.
func (a *applier) duplicate(ev *Event, p *Prepared) (Result, bool, error) {
	stored, err := a.original(ev)
	notFound := choso.ErrorCode(err) == choso.ENotFound
	if err != nil && !notFound {
		return Result{}, false, err
	}
	if notFound || !bytes.Equal(p.hash, stored.Hash) {
		a.dev.SetFlag(choso.FlagCloned)
		a.dev.LastError = fmt.Sprintf("seq %d came back with other content: a restored or cloned install; enroll the phone again", ev.Seq)
		return Result{Seq: ev.Seq, Status: StatusRejected, Code: CodeSeqReused,
			Message: "this seq was already used for another event; enroll the phone again"}, true, nil
	}
	return Result{Seq: ev.Seq, Status: StatusDuplicate, ServerSeq: stored.ServerSeq, Code: stored.Code, Note: stored.Note,
		Original: &Original{Status: stored.Status, Code: stored.Code, ServerSeq: stored.ServerSeq}}, false, nil
}

func rejected(seq uint64, code, format string, args ...any) Result {
	return Result{Seq: seq, Status: StatusRejected, Code: code, Message: fmt.Sprintf(format, args...)}
}

// apply applies the device's next event. Permanent failures come back as a
// rejected result; an error is transient.
func (a *applier) apply(ev *Event, p *Prepared) (Result, error) {
	decoded, canonical, hash := p.decoded, p.canonical, p.hash
	a.hash, a.ownEntity = hash, false
	if p.invalid != nil {
		return *p.invalid, nil
	}
	ent, err := a.tx.FindEntity(ev.ID)
	switch {
	case choso.ErrorCode(err) == choso.ENotFound:
		ent = nil
	case err != nil:
		return Result{}, err
	case ent.PendingVoid != "" && ent.Type == "":
		// A placeholder: a void of this sale arrived first. Apply the sale,
		// then the void it waited for.
	case bytes.Equal(ent.Hash, hash):
		return Result{Seq: ev.Seq, Status: StatusApplied, ServerSeq: ent.ServerSeq, Note: NoteEntityExists}, nil
	default:
		return rejected(ev.Seq, CodeIDConflict, "id %s was already used for another event", ev.ID), nil
	}
	when := a.timeOf(ev)
	a.event = choso.Event{
		DeviceID: a.dev.ID, StallID: a.stall.ID, MarketID: a.stall.MarketID, Seq: ev.Seq, ID: ev.ID, Type: ev.Type, V: ev.V,
		Payload: canonical, BusinessDate: when.date, DeviceBusinessDate: deviceBusinessDate(ev),
		WallMs: ev.WallMs, AnchoredMs: ev.AnchoredMs, HLC: ev.HLC, EffectiveMs: when.effectiveMs, TimeQuality: when.quality, ReceivedAt: a.now,
	}
	stored := &a.event
	switch v := decoded.(type) {
	case *SaleRecord:
		return a.applySale(ev, stored, v, ent, hash, when)
	case *SaleVoid:
		return a.applyVoid(ev, stored, v, hash, when)
	case *DayClose:
		stored.BusinessDate = ev.BusinessDate // the phone's own day is what it closes
		return a.applyDayClose(ev, stored, v, hash)
	}
	return rejected(ev.Seq, CodeUnknownType, "no event type %q", ev.Type), nil
}

// deviceBusinessDate is the phone's own day of an event, kept as evidence
// when it is a date; "" when it is not (a clock past the year 9999, or
// garbage of any length), which the event is still taken with.
func deviceBusinessDate(ev *Event) string {
	if !ValidDate(ev.BusinessDate) {
		return ""
	}
	return ev.BusinessDate
}

func (a *applier) applySale(ev *Event, stored *choso.Event, sale *SaleRecord, placeholder *choso.Entity, hash []byte, when eventTime) (Result, error) {
	// The day totals are read before the event is appended: on a store
	// whose reads are round trips (PostgreSQL) an Update that appends
	// takes its sequencer lock at the first append, and holds it to the
	// commit.
	day, err := a.stallDay(a.stall.ID, when.date)
	if err != nil {
		return Result{}, err
	}
	dd, err := a.deviceDay(a.dev.ID, when.date)
	if err != nil {
		return Result{}, err
	}
	seq, err := a.tx.AppendEvent(stored)
	if err != nil {
		return Result{}, err
	}
	addTo(day.ByMethod, sale.Method, 1, sale.Amount)
	day.LastServerSeq = seq
	addTo(dd.ByMethod, sale.Method, 1, sale.Amount)
	dd.Sales++
	if dd.MinSeq == 0 || ev.Seq < dd.MinSeq {
		dd.MinSeq = ev.Seq
	}
	dd.MaxSeq = max(dd.MaxSeq, ev.Seq)
	a.entity = choso.Entity{DeviceID: a.dev.ID, Seq: ev.Seq, Hash: hash, ServerSeq: seq, Type: ev.Type,
		StallID: a.stall.ID, BusinessDate: when.date, Method: sale.Method, Amount: sale.Amount,
		Ref: sale.Ref, EffectiveMs: when.effectiveMs}
	ent := &a.entity
	if choso.PaidIntoAccount(sale.Method) {
		// Indexes for matching the bank's credit to this sale: by the
		// payment reference of a dynamic code, or by amount and time for
		// the printed static one and for a transfer to the account.
		if sale.Ref != "" {
			if err := a.tx.PutSaleRef(strings.ToUpper(sale.Ref), ev.ID); err != nil {
				return Result{}, err
			}
		}
		if when.effectiveMs > 0 {
			if err := a.tx.PutQRSale(a.stall.ID, when.effectiveMs, ev.ID); err != nil {
				return Result{}, err
			}
		}
	}
	r := Result{Seq: ev.Seq, Status: StatusApplied, ServerSeq: seq, TimeQuality: when.quality}
	// The void that came first undoes the sale now, if a phone of the
	// sale's own stall sent it. Another stall's void would have been
	// refused (foreign_sale) had the sale come first; it waited for a sale
	// that is not its to void, and is left without effect.
	if placeholder != nil && placeholder.StallID == a.stall.ID {
		// A void can overtake its sale only from another phone (per-device
		// FIFO), so it leaves the seller's own tally as it is.
		if err := a.undo(ent, placeholder.PendingVoid, ""); err != nil {
			return Result{}, err
		}
		r.Note, r.Message = NoteVoided, "voided by "+placeholder.PendingVoid
	}
	if err := a.putOwnEntity(ev, ent); err != nil {
		return Result{}, err
	}
	return r, nil
}

// undo takes a sale out of its day's totals, once. It comes out of the
// seller's own tally too only when the seller's phone sent the void
// (byDevice, under the sale's device or one that replaced it: samePhone):
// a phone's day.close counts its sales net of its own voids, since it
// cannot know of another phone's, so its check must not depend on when
// another phone's void arrived.
func (a *applier) undo(sale *choso.Entity, voidID, byDevice string) error {
	day, err := a.stallDay(sale.StallID, sale.BusinessDate)
	if err != nil {
		return err
	}
	addTo(day.ByMethod, sale.Method, -1, -sale.Amount)
	day.Voids.Count++
	day.Voids.Amount += sale.Amount
	sale.VoidedBy = voidID
	if !a.samePhone(byDevice, sale.DeviceID) {
		return nil
	}
	dd, err := a.deviceDay(sale.DeviceID, sale.BusinessDate)
	if err != nil {
		return err
	}
	addTo(dd.ByMethod, sale.Method, -1, -sale.Amount)
	return nil
}

func (a *applier) applyVoid(ev *Event, stored *choso.Event, v *SaleVoid, hash []byte, when eventTime) (Result, error) {
	sale, err := a.tx.FindEntity(v.SaleID)
	notFound := choso.ErrorCode(err) == choso.ENotFound
	if err != nil && !notFound {
		return Result{}, err
	}
	switch {
	case notFound:
	case sale.Type == "" && sale.PendingVoid != "":
		return rejected(ev.Seq, CodeAlreadyVoided, "sale %s already has a void waiting for it", v.SaleID), nil
	case sale.Type != choso.EventSaleRecord:
		return rejected(ev.Seq, CodeInvalidPayload, "%s is not a sale", v.SaleID), nil
	case sale.StallID != a.stall.ID:
		return rejected(ev.Seq, CodeForeignSale, "sale %s belongs to another stall", v.SaleID), nil
	case sale.VoidedBy != "":
		if a.samePhone(sale.DeviceID, a.dev.ID) {
			if err := a.sellerVoidsToo(sale, v.SaleID, ev.ID); err != nil {
				return Result{}, err
			}
		}
		return rejected(ev.Seq, CodeAlreadyVoided, "sale %s was already voided", v.SaleID), nil
	}
	seq, err := a.tx.AppendEvent(stored)
	if err != nil {
		return Result{}, err
	}
	r := Result{Seq: ev.Seq, Status: StatusApplied, ServerSeq: seq, TimeQuality: when.quality}
	if notFound {
		// The sale is on another phone that has not synced: keep the void
		// waiting on a placeholder for the sale's ULID.
		if err := a.tx.PutEntity(v.SaleID, &choso.Entity{PendingVoid: ev.ID, StallID: a.stall.ID}); err != nil {
			return Result{}, err
		}
		r.Note = NotePendingReference
	} else {
		if err := a.undo(sale, ev.ID, a.dev.ID); err != nil {
			return Result{}, err
		}
		if err := a.tx.PutEntity(v.SaleID, sale); err != nil {
			return Result{}, err
		}
		day, err := a.stallDay(sale.StallID, sale.BusinessDate)
		if err != nil {
			return Result{}, err
		}
		day.LastServerSeq = seq
	}
	if err := a.putOwnEntity(ev, &choso.Entity{DeviceID: a.dev.ID, Seq: ev.Seq, Hash: hash, ServerSeq: seq, Type: ev.Type, StallID: a.stall.ID}); err != nil {
		return Result{}, err
	}
	return r, nil
}

// sellerVoidsToo handles the seller's phone voiding its own sale that
// another phone's void took out already. The void is refused (the sale is
// out of the stall's totals once), but the seller's phone took the sale out
// of its own day when it voided, and its day.close will count it so: the
// seller's tally, which another phone's void left as it was (undo), loses
// the sale now, once. The sale's VoidedBy then names this void, which has
// no entity of its own (a refused event stores none): a later void from the
// seller finds that and changes nothing more.
func (a *applier) sellerVoidsToo(sale *choso.Entity, saleID, voidID string) error {
	first, err := a.tx.FindEntity(sale.VoidedBy)
	switch {
	case choso.ErrorCode(err) == choso.ENotFound:
		return nil // a refused void of the seller's: its tally has lost the sale
	case err != nil:
		return err
	case a.samePhone(first.DeviceID, sale.DeviceID):
		return nil // the seller's own void took it out of its tally too
	}
	dd, err := a.deviceDay(sale.DeviceID, sale.BusinessDate)
	if err != nil {
		return err
	}
	addTo(dd.ByMethod, sale.Method, -1, -sale.Amount)
	sale.VoidedBy = voidID
	return a.tx.PutEntity(saleID, sale)
}

// applyDayClose checks the phone's count and sum of a day against the
// server's tally of the phone's sales that day. The phone's tally covers
// every sale it recorded, net of its own voids, under whichever device:
// enrolled again for its stall (Device.Replaces), it keeps its days, and
// some of the day's sales are the replaced devices' (sent before, or sent
// again after a lost answer and taken as entity_exists under the device
// that first applied them). So the server's side is the sum of the day's
// tallies of the device and those it replaced.
func (a *applier) applyDayClose(ev *Event, stored *choso.Event, c *DayClose, hash []byte) (Result, error) {
	// The tallies are read before the event is appended (see applySale).
	dd, err := a.deviceDay(a.dev.ID, ev.BusinessDate)
	if err != nil {
		return Result{}, err
	}
	var count, amount int64
	add := func(d *choso.DeviceDay) {
		for _, t := range d.ByMethod {
			count += t.Count
			amount += t.Amount
		}
	}
	add(dd)
	others := 0
	for _, id := range a.dev.Replaces {
		d, err := a.replacedDeviceDay(id, ev.BusinessDate)
		if err != nil {
			return Result{}, err
		}
		if d != nil {
			add(d)
			others++
		}
	}
	seq, err := a.tx.AppendEvent(stored)
	if err != nil {
		return Result{}, err
	}
	if err := a.putOwnEntity(ev, &choso.Entity{DeviceID: a.dev.ID, Seq: ev.Seq, Hash: hash, ServerSeq: seq, Type: ev.Type}); err != nil {
		return Result{}, err
	}
	r := Result{Seq: ev.Seq, Status: StatusApplied, ServerSeq: seq}
	if count != c.Count || amount != c.Amount {
		seqs := "none"
		if dd.MaxSeq > 0 {
			seqs = fmt.Sprintf("%d–%d", dd.MinSeq, dd.MaxSeq)
		}
		if others > 0 {
			seqs += fmt.Sprintf(", with the day's sales under %d earlier device(s) of this phone", others)
		}
		msg := fmt.Sprintf("day %s: the phone counts %d sales for %d đồng, the server has %d for %d đồng (server has this phone's seqs %s of that day)",
			ev.BusinessDate, c.Count, c.Amount, count, amount, seqs)
		a.dev.SetFlag(choso.FlagDayCloseMismatch)
		a.dev.LastError = msg
		r.Note, r.Message = NoteDayCloseMismatch, msg
	}
	return r, nil
}

func addTo(m map[string]choso.MethodTotals, method string, count, amount int64) {
	t := m[method]
	t.Count += count
	t.Amount += amount
	m[method] = t
}

// stallDay returns the day totals a push works on, read once per push.
func (a *applier) stallDay(stallID, date string) (*choso.StallDay, error) {
	if d := a.lastDay; d != nil && d.StallID == stallID && d.Date == date {
		return d, nil
	}
	key := stallID + "/" + date
	if d := a.days[key]; d != nil {
		return d, nil
	}
	d, err := a.tx.FindStallDay(stallID, date)
	switch {
	case choso.ErrorCode(err) == choso.ENotFound:
		d = &choso.StallDay{StallID: stallID, Date: date}
		// Read here, before the push appends anything: on a store whose
		// reads are round trips, appending holds its sequencer lock.
		if err := a.loadFinalizedThrough(); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	if d.ByMethod == nil {
		d.ByMethod = map[string]choso.MethodTotals{}
	}
	d.MarketID, d.CommuneCode, d.ProvinceCode = a.stall.MarketID, a.stall.CommuneCode, a.stall.ProvinceCode
	d.StallCode, d.BIN, d.Account = a.stall.Code, a.stall.Payout.BIN, a.stall.Payout.Account
	a.days[key] = d
	a.lastDay = d
	return d, nil
}

func (a *applier) deviceDay(deviceID, date string) (*choso.DeviceDay, error) {
	if d := a.lastDevDay; d != nil && d.DeviceID == deviceID && d.Date == date {
		return d, nil
	}
	key := deviceID + "/" + date
	if d := a.devDays[key]; d != nil {
		return d, nil
	}
	d, err := a.tx.FindDeviceDay(deviceID, date)
	switch {
	case choso.ErrorCode(err) == choso.ENotFound:
		d = &choso.DeviceDay{DeviceID: deviceID, Date: date}
	case err != nil:
		return nil, err
	}
	if d.ByMethod == nil {
		d.ByMethod = map[string]choso.MethodTotals{}
	}
	a.devDays[key] = d
	a.lastDevDay = d
	return d, nil
}

// replacedDeviceDay returns the tally of one day of a device the pushing
// one replaced, as this push left it (a void may have changed it), or nil
// when it has none. Unlike deviceDay it makes no empty tally: flush would
// write one for every replaced device at every day.close.
func (a *applier) replacedDeviceDay(deviceID, date string) (*choso.DeviceDay, error) {
	if d := a.devDays[deviceID+"/"+date]; d != nil {
		return d, nil
	}
	d, err := a.tx.FindDeviceDay(deviceID, date)
	if choso.ErrorCode(err) == choso.ENotFound {
		return nil, nil
	}
	return d, err
}

// samePhone reports whether devices x and y are one install: the same
// device, or the pushing device and one it replaced, or two it replaced
// (Device.Replaces). A void sent by the phone that made the sale, under
// whichever of its devices, takes the sale out of that phone's tally.
func (a *applier) samePhone(x, y string) bool {
	if x == "" || y == "" {
		return false
	}
	if x == y {
		return true
	}
	mine := func(id string) bool { return id == a.dev.ID || slices.Contains(a.dev.Replaces, id) }
	return mine(x) && mine(y)
}

// loadFinalizedThrough reads, once a push, the last date the finalizer
// has finalized (choso.MetaFinalizedThrough); "" until it has run.
func (a *applier) loadFinalizedThrough() error {
	if a.finalizedLoaded {
		return nil
	}
	v, err := a.tx.Meta(choso.MetaFinalizedThrough)
	if err != nil {
		return err
	}
	a.finalizedThrough, a.finalizedLoaded = string(v), true
	return nil
}

// flush writes every day the push touched, each with one feed change: a
// revision per stall-day per transaction.
func (a *applier) flush() error {
	var run []*choso.EventResult
	for i := range a.stored {
		run = append(run, &a.stored[i])
		if i+1 < len(a.stored) && a.storedSeqs[i+1] == a.storedSeqs[i]+1 {
			continue // the run goes on
		}
		if err := a.tx.PutResults(a.dev.ID, a.storedSeqs[i+1-len(run)], run); err != nil {
			return err
		}
		run = nil
	}
	for _, d := range a.devDays {
		if err := a.tx.PutDeviceDay(d); err != nil {
			return err
		}
	}
	for _, key := range slices.Sorted(maps.Keys(a.days)) {
		d := a.days[key]
		d.Changed(a.now, a.finalizedThrough)
		if err := choso.StoreRevision(a.tx, d, a.now); err != nil {
			return err
		}
		a.totalsVersion = max(a.totalsVersion, d.Revision)
	}
	return nil
}
