package choso

import "time"

// Sale methods: how the customer paid.
const (
	MethodCash     = "cash"
	MethodQR       = "qr"       // scanned the stall's VietQR
	MethodTransfer = "transfer" // a bank transfer without the QR
)

// PaidIntoAccount reports whether a sale of method m was paid into the
// stall's payout account, so that a bank's credit can confirm it: by QR or
// by transfer, not in cash (PARTNER.md §6 reconciles qr + transfer).
func PaidIntoAccount(m string) bool { return m == MethodQR || m == MethodTransfer }

// MethodOf returns the payment method b spells as its constant, and any
// other bytes as a new string. The readers of pushed and stored sales call
// it for every sale, and a constant costs no allocation.
func MethodOf(b []byte) string {
	switch string(b) { // compared in place: no allocation
	case MethodCash:
		return MethodCash
	case MethodQR:
		return MethodQR
	case MethodTransfer:
		return MethodTransfer
	}
	return string(b)
}

// Event types a phone sends (DESIGN.md §9), each versioned by its v.
const (
	EventSaleRecord = "sale.record"
	EventSaleVoid   = "sale.void"
	EventDayClose   = "day.close"
)

// Time qualities of an event's time (SYNC.md §6.10): evidence, never order.
const (
	TimeAnchored  = "anchored"         // device elapsed time anchored to a server response this boot
	TimeCorrected = "offset_corrected" // the wall clock corrected by the device's last known offset (no anchor this boot)
	TimeWall      = "wall"             // the device's wall clock, plausible
	TimeSuspect   = "suspect"          // implausible: the business day comes from the device's previous good event
)

// Event is one immutable business event as the server stored it, with the
// commit-order number it got (ServerSeq) and the business day the server
// derived in the market's time zone.
type Event struct {
	ServerSeq    uint64 `json:"server_seq"`
	DeviceID     string `json:"device_id"`
	StallID      string `json:"stall_id"`
	MarketID     string `json:"market_id"`
	Seq          uint64 `json:"seq"`
	ID           string `json:"id"` // the client's ULID
	Type         string `json:"type"`
	V            int    `json:"v"`
	Payload      []byte `json:"payload"` // canonical JSON of the typed payload
	BusinessDate string `json:"business_date"`
	// What the device said: evidence, kept as sent.
	DeviceBusinessDate string    `json:"device_business_date"`
	WallMs             int64     `json:"wall_ms"`
	AnchoredMs         int64     `json:"anchored_ms"`
	HLC                string    `json:"hlc"`
	EffectiveMs        int64     `json:"effective_ms"`
	TimeQuality        string    `json:"time_quality"`
	ReceivedAt         time.Time `json:"received_at"`
}

// EventResult is the outcome of one seq of one device, kept so a resent
// event is answered with its original result.
type EventResult struct {
	Status    string `json:"status"` // applied or rejected
	Code      string `json:"code,omitempty"`
	Message   string `json:"message,omitempty"`
	Hash      []byte `json:"hash"` // fingerprint of the event's decoded content
	ServerSeq uint64 `json:"server_seq,omitempty"`
	Note      string `json:"note,omitempty"`
}

// Entity records the first event that carried a client ULID, so the same
// ULID from another device (a restored phone) is applied once.
type Entity struct {
	DeviceID  string `json:"device_id"`
	Seq       uint64 `json:"seq"`
	Hash      []byte `json:"hash"`
	ServerSeq uint64 `json:"server_seq"`
	Type      string `json:"type"`
	// For sales: what a void must undo.
	StallID      string `json:"stall_id,omitempty"`
	BusinessDate string `json:"business_date,omitempty"`
	Method       string `json:"method,omitempty"`
	Amount       int64  `json:"amount,omitempty"`
	VoidedBy     string `json:"voided_by,omitempty"`    // ULID of the void that undid it
	Ref          string `json:"ref,omitempty"`          // the payment reference of a QR sale
	EffectiveMs  int64  `json:"effective_ms,omitempty"` // the sale's effective time
	ConfirmedBy  string `json:"confirmed_by,omitempty"` // bank_txn_id of the credit that paid it
	// PendingVoid is set on a placeholder for a sale voided before it
	// arrived (from another device): the void's ULID.
	PendingVoid string `json:"pending_void,omitempty"`
}

// MethodTotals are a count and an amount per payment method.
type MethodTotals struct {
	Count  int64 `json:"count"`
	Amount int64 `json:"amount"` // đồng
}

// Stall-day statuses in the partner feed: provisional while phones may
// still be syncing, final after the delay, adjusted when data arrives after.
const (
	DayProvisional = "provisional"
	DayFinal       = "final"
	DayAdjusted    = "adjusted"
)

// StallDay is the server's totals of one stall on one business day, from
// the events of all its devices.
type StallDay struct {
	Status       string `json:"status"` // provisional, final, adjusted
	StallID      string `json:"stall_id"`
	MarketID     string `json:"market_id"`
	CommuneCode  string `json:"commune_code"`
	ProvinceCode string `json:"province_code"`
	Date         string `json:"business_date"` // YYYY-MM-DD in the market's time zone
	// The stall's code and payout account when the day last changed, so a
	// partner's feed names them without reading every stall.
	StallCode string                  `json:"stall_code,omitempty"`
	BIN       string                  `json:"bin,omitempty"`
	Account   string                  `json:"account,omitempty"`
	ByMethod  map[string]MethodTotals `json:"by_method"` // net of voids
	Voids     MethodTotals            `json:"voids"`
	// ConfirmedQR is what bank credits confirmed reached the account.
	ConfirmedQR   MethodTotals `json:"confirmed_qr"`
	Revision      uint64       `json:"revision"`        // the change_seq of its latest change
	LastServerSeq uint64       `json:"last_server_seq"` // the last event counted
	UpdatedAt     time.Time    `json:"updated_at"`
}

// Changed readies a stall-day that changed for its next revision at now. A
// new day starts provisional, or final when its date is at or before
// finalizedThrough (MetaFinalizedThrough: the finalizer has passed it and
// will not come back, and its data are as late as an adjustment's); a
// final day that changes becomes adjusted, so the partner sees it.
func (d *StallDay) Changed(now time.Time, finalizedThrough string) {
	d.UpdatedAt = now
	switch {
	case d.Status == "" && d.Date <= finalizedThrough:
		d.Status = DayFinal
	case d.Status == "":
		d.Status = DayProvisional
	case d.Status == DayFinal:
		d.Status = DayAdjusted
	}
}

// DeviceDay tallies one device's sales on one business day, to check the
// device's own day.close against.
type DeviceDay struct {
	DeviceID string                  `json:"device_id"`
	Date     string                  `json:"business_date"`
	ByMethod map[string]MethodTotals `json:"by_method"` // net of the voids the device itself sent, as its day.close counts
	MinSeq   uint64                  `json:"min_seq"`
	MaxSeq   uint64                  `json:"max_seq"`
	Sales    int64                   `json:"sales"` // sale.record events counted, voids not subtracted
}

// Change is one entry of the partner feed: a revision of a stall-day,
// numbered in commit order.
type Change struct {
	ChangeSeq uint64    `json:"change_seq"`
	Day       StallDay  `json:"day"`
	At        time.Time `json:"at"`
}

// SyncTx keeps the sync state and its effects. One push is one transaction
// over these methods (DESIGN.md §2).
type SyncTx interface {
	// FindResult returns the stored result of a device's seq, or ENotFound.
	FindResult(deviceID string, seq uint64) (*EventResult, error)
	// PutResult stores the result of a device's seq.
	PutResult(deviceID string, seq uint64, r *EventResult) error
	// PutResults stores the results of a device's seqs first, first+1, …,
	// len(rs) of them (at most 1,000), as PutResult would one by one.
	PutResults(deviceID string, first uint64, rs []*EventResult) error
	// FindEntity returns the entity of a client ULID, or ENotFound.
	FindEntity(id string) (*Entity, error)
	// PutEntity creates or replaces the entity of a client ULID. It keeps
	// no reference to e: the caller may reuse it.
	PutEntity(id string, e *Entity) error
	// AppendEvent stores e with the next server_seq, sets e.ServerSeq and
	// returns it. Server seqs increase in commit order and never repeat. It
	// keeps no reference to e: the caller may reuse it.
	AppendEvent(e *Event) (uint64, error)
	// ListEvents returns up to limit events with ServerSeq > after, in order.
	ListEvents(after uint64, limit int) ([]*Event, error)
	// FindStallDay returns a stall's totals of one day, or ENotFound.
	FindStallDay(stallID, date string) (*StallDay, error)
	// PutStallDay creates or replaces a stall's totals of one day.
	PutStallDay(d *StallDay) error
	// ListStallDays returns a stall's days from (inclusive) to (inclusive), by date.
	ListStallDays(stallID, from, to string) ([]*StallDay, error)
	// FindDeviceDay returns a device's tally of one day, or ENotFound.
	FindDeviceDay(deviceID, date string) (*DeviceDay, error)
	// PutDeviceDay creates or replaces a device's tally of one day.
	PutDeviceDay(d *DeviceDay) error
	// AppendChange stores c with the next change_seq, sets c.ChangeSeq and
	// c.Day.Revision to it and returns it. Change seqs increase in commit
	// order and never repeat.
	AppendChange(c *Change) (uint64, error)
	// ListChanges returns up to limit changes with ChangeSeq > after, in order.
	ListChanges(after uint64, limit int) ([]*Change, error)
}
