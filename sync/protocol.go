package sync

import (
	"encoding/json"
)

// ProtocolVersion is the wire format this server speaks. Pushes of every
// version still in a phone's outbox stay accepted (SYNC.md §6.13).
const ProtocolVersion = 1

// Limits of one push (DESIGN.md §5, §9).
const (
	MaxEvents       = 500
	MaxWireBytes    = 512 << 10 // the body as sent, gzip or not
	MaxDecodedBytes = 4 << 20   // the body after gunzip
	MaxPayloadBytes = 16 << 10  // one event's payload
	// MaxStringBytes bounds the strings of a push the server keeps
	// (app_version, boot_id, hlc; an event's hlc): none is near it (a boot
	// id is 36 bytes). A push whose own are longer is refused whole; an
	// event whose hlc is longer is rejected alone (invalid_hlc), so the
	// queue moves on, as one with a bad id, type or date is.
	MaxStringBytes = 128
)

// Result statuses.
const (
	StatusApplied      = "applied"
	StatusDuplicate    = "duplicate"
	StatusRejected     = "rejected"
	StatusNotProcessed = "not_processed"
)

// Rejection codes: permanent failures, consumed so the queue moves on.
const (
	CodeSeqReused          = "seq_reused"          // the seq was consumed with other content: a cloned or restored install
	CodeIDConflict         = "id_conflict"         // the ULID was used for other content
	CodeUnknownType        = "unknown_type"        // no such event type
	CodeUnsupportedVersion = "unsupported_version" // no such version of the type
	CodeInvalidID          = "invalid_id"          // id is not a ULID
	CodeInvalidPayload     = "invalid_payload"     // the payload does not decode as its type
	CodeInvalidAmount      = "invalid_amount"
	CodeInvalidMethod      = "invalid_method"
	CodeInvalidDate        = "invalid_date"
	CodeInvalidHLC         = "invalid_hlc"    // hlc over MaxStringBytes
	CodeForeignSale        = "foreign_sale"   // a void names a sale of another stall
	CodeAlreadyVoided      = "already_voided" // a void names a sale another void undid
	CodePayloadTooLarge    = "payload_too_large"
)

// Notes on applied results.
const (
	NoteEntityExists     = "entity_exists"     // the ULID was applied before (another device): no new effects
	NotePendingReference = "pending_reference" // a void of a sale not yet seen: applied when the sale arrives
	// NoteExpired marks a duplicate whose original result is no longer
	// kept. This server keeps or can tell every one (applier.original) and
	// answers a seq it cannot as seq_reused; a client still takes the note.
	NoteExpired          = "expired"
	NoteDayCloseMismatch = "day_close_mismatch"
	NoteVoided           = "voided" // a sale applied and at once taken out by the void that waited for it; the message names the void
)

// PushRequest is the body of POST /v1/sync/push. The device is known from
// its token, never from the body.
type PushRequest struct {
	Protocol   int         `json:"protocol"`
	AppVersion string      `json:"app_version"`
	Client     ClientState `json:"client"`
	Events     []Event     `json:"events"`
}

// ClientState is what the phone says of itself at the time of the push.
type ClientState struct {
	WallMs              int64  `json:"wall_ms"`    // the phone's wall clock
	ElapsedMs           int64  `json:"elapsed_ms"` // monotonic time since boot
	BootID              string `json:"boot_id"`
	HLC                 string `json:"hlc"`
	PendingCount        int    `json:"pending_count"` // events in the outbox, this batch included
	OldestPendingWallMs int64  `json:"oldest_pending_wall_ms"`
}

// Event is one immutable business event from a phone's outbox.
type Event struct {
	Seq        uint64 `json:"seq"`  // per device: 1, 2, 3, …
	ID         string `json:"id"`   // client ULID of the entity
	Type       string `json:"type"` // sale.record, sale.void, day.close
	V          int    `json:"v"`    // version of the type's payload
	WallMs     int64  `json:"wall_ms"`
	AnchoredMs int64  `json:"anchored_ms"` // 0 when the phone has no anchor this boot
	// CorrectedMs is the wall clock corrected by the phone's last known
	// offset from the server, when it has one but no anchor this boot (after
	// a reboot offline): SYNC.md §6.10's offset_corrected. 0 when absent.
	CorrectedMs  int64           `json:"corrected_ms,omitempty"`
	HLC          string          `json:"hlc"`
	BusinessDate string          `json:"business_date"` // the phone's idea of the day: evidence
	Payload      json.RawMessage `json:"payload"`
}

// PushResponse answers a push, sent only after the transaction committed.
type PushResponse struct {
	AckSeq          uint64   `json:"ack_seq"` // every seq up to it is consumed: delete from the outbox
	NextExpectedSeq uint64   `json:"next_expected_seq"`
	Results         []Result `json:"results"`
	Gap             *Gap     `json:"gap"`
	ServerTimeMs    int64    `json:"server_time_ms"`
	ConfigVersion   int      `json:"config_version"` // pull GET /v1/sync/config when it grew
	TotalsVersion   uint64   `json:"totals_version"`
	// Token, when set, replaces the device's token; the old one works until
	// the new one is first used.
	Token string `json:"token,omitempty"`
}

// Result is the outcome of one event of a push.
type Result struct {
	Seq         uint64    `json:"seq"`
	Status      string    `json:"status"`
	Code        string    `json:"code,omitempty"`
	Message     string    `json:"message,omitempty"`
	ServerSeq   uint64    `json:"server_seq,omitempty"`
	Note        string    `json:"note,omitempty"`
	TimeQuality string    `json:"time_quality,omitempty"`
	Original    *Original `json:"original,omitempty"` // for a duplicate: what the first time gave
}

// Original is the stored result a duplicate is answered with.
type Original struct {
	Status    string `json:"status"`
	Code      string `json:"code,omitempty"`
	ServerSeq uint64 `json:"server_seq,omitempty"`
}

// Gap says the server expects an earlier seq than the batch started with.
type Gap struct {
	Expected uint64 `json:"expected"`
	Received uint64 `json:"received"`
}

// SaleRecord is the payload of sale.record v1.
type SaleRecord struct {
	Amount int64  `json:"amount"` // đồng
	Method string `json:"method"` // cash, qr or transfer
	Ref    string `json:"ref,omitempty"`
	Items  []Item `json:"items,omitempty"`
}

// Item is one line of a sale.
type Item struct {
	Name      string  `json:"name"`
	Qty       float64 `json:"qty"` // 0.5 kg of pork is a sale too
	UnitPrice int64   `json:"unit_price"`
}

// SaleVoid is the payload of sale.void v1.
type SaleVoid struct {
	SaleID string `json:"sale_id"`
	Reason string `json:"reason,omitempty"`
}

// DayClose is the payload of day.close v1: the phone's own count and sum
// of the sales of the event's business day.
type DayClose struct {
	Count  int64 `json:"count"`
	Amount int64 `json:"amount"`
}
