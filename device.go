package choso

import "time"

// DeviceStatus says whether a device may sync.
type DeviceStatus string

// The device statuses.
const (
	DeviceActive  DeviceStatus = "active"
	DeviceRevoked DeviceStatus = "revoked" // refused with device_revoked on its next request
)

// Device flags, set by the sync rules and shown to volunteers.
const (
	FlagGap              = "gap"                // the device sent a seq past the next expected one
	FlagCloned           = "cloned"             // a seq came back with other content: a restored or cloned install
	FlagDayCloseMismatch = "day_close_mismatch" // the device's own day count disagrees with the server's
	FlagSuspectClock     = "suspect_clock"      // events arrived with implausible times
)

// Device is one enrolled phone (one app install) of a stall. A reinstall is
// a new device: its seq starts again at 1.
type Device struct {
	ID      string       `json:"id"`
	StallID string       `json:"stall_id"`
	Status  DeviceStatus `json:"status"`
	// TokenHash is the SHA-256 of the device's opaque token. During a
	// rotation the previous token stays valid until PrevTokenUntil, or until
	// the new one is first used.
	TokenHash      []byte    `json:"-"`
	PrevTokenHash  []byte    `json:"-"`
	PrevTokenUntil time.Time `json:"-"`
	TokenIssuedAt  time.Time `json:"-"`

	EnrolledAt time.Time `json:"enrolled_at"`
	EnrolledBy string    `json:"enrolled_by"` // user ID of the volunteer who made the code
	// Replaces lists the devices of the same stall this one replaced on the
	// same install, newest first, at most MaxReplaces: the phone enrolled
	// again proving it held the last one's token (RedeemEnrollment). The
	// phone keeps its day's tally across such an enrollment, so its
	// day.close is checked against the sales of all of them. Stores read
	// an empty list back as nil.
	Replaces  []string   `json:"replaces,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	RevokedBy string     `json:"revoked_by,omitempty"`

	// AppliedSeq is the highest seq consumed (applied or rejected); the next
	// event the server takes is AppliedSeq+1.
	AppliedSeq uint64 `json:"ack_seq"`

	// Sync status, for the volunteer's view and the stale-pending alert.
	LastSeenAt          time.Time `json:"last_seen_at"`
	LastPushAt          time.Time `json:"last_push_at"`
	AppVersion          string    `json:"app_version"`
	Protocol            int       `json:"protocol"`
	PendingCount        int       `json:"pending_count"`          // as the device last reported
	OldestPendingWallMs int64     `json:"oldest_pending_wall_ms"` // as the device last reported
	ClockOffsetMs       int64     `json:"clock_offset_ms"`        // server time − device wall time at the last push
	BootID              string    `json:"-"`
	SuspectEvents       int       `json:"suspect_events"`
	Flags               []string  `json:"flags"`
	LastError           string    `json:"last_error,omitempty"`
	// LastGoodBusinessDate is the business day of the device's latest event
	// with a plausible time: the day suspect events are counted on.
	LastGoodBusinessDate string `json:"-"`
}

// MaxReplaces bounds Device.Replaces: a phone enrolled again more often
// than that drops its oldest devices, whose sales are of days it has long
// closed.
const MaxReplaces = 16

// HasFlag reports whether d carries flag.
func (d *Device) HasFlag(flag string) bool {
	for _, f := range d.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

// SetFlag adds flag once.
func (d *Device) SetFlag(flag string) {
	if !d.HasFlag(flag) {
		d.Flags = append(d.Flags, flag)
	}
}

// DeviceTx keeps devices.
type DeviceTx interface {
	// CreateDevice stores a new device. Returns EConflict if the ID exists.
	CreateDevice(d *Device) error
	// UpdateDevice replaces a device, moving its token index when the token
	// hashes change. Returns ENotFound if there is none.
	UpdateDevice(d *Device) error
	// FindDevice returns ENotFound if there is no device with id.
	FindDevice(id string) (*Device, error)
	// FindDeviceByToken returns the device whose current or previous token
	// has the hash, or ENotFound.
	FindDeviceByToken(tokenHash []byte) (*Device, error)
	// ListStallDevices returns a stall's devices, oldest first.
	ListStallDevices(stallID string) ([]*Device, error)
}

// Enrollment is a one-time code a volunteer makes for a stall, which a
// phone redeems for a device and its token. The store keeps the code's hash.
type Enrollment struct {
	CodeHash  []byte     `json:"-"`
	StallID   string     `json:"stall_id"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
	DeviceID  string     `json:"device_id,omitempty"` // the device it made, once used
}

// EnrollmentTTL is how long an enrollment code lives (DESIGN.md §9).
const EnrollmentTTL = 15 * time.Minute

// EnrollmentTx keeps enrollment codes.
type EnrollmentTx interface {
	// PutEnrollment creates or replaces the enrollment with e.CodeHash.
	PutEnrollment(e *Enrollment) error
	// FindEnrollment returns ENotFound if no enrollment has the hash.
	FindEnrollment(codeHash []byte) (*Enrollment, error)
	// DeleteExpiredEnrollments removes enrollments that expired before now
	// (used or not) and returns how many.
	DeleteExpiredEnrollments(now time.Time) (int, error)
}
