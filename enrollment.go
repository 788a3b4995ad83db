package choso

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"strconv"
	"strings"
	"time"
)

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewEnrollmentCode returns 12 characters of Crockford base32: 60 random
// bits, easy to read aloud and to type.
func NewEnrollmentCode() string {
	var b [8]byte
	rand.Read(b[:])
	v := binary.BigEndian.Uint64(b[:]) >> 4 // 60 bits
	out := make([]byte, 12)
	for i := 11; i >= 0; i-- {
		out[i] = crockford[v&31]
		v >>= 5
	}
	return string(out)
}

// NormalizeEnrollmentCode reads a code as a person may type it: any case,
// with spaces or dashes, and with the letters Crockford base32 maps to
// digits (O→0, I and L→1). It returns "" when the result is not 12 valid
// characters.
func NormalizeEnrollmentCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if r > 127 || strings.IndexByte(crockford, byte(r)) < 0 {
			return ""
		}
		b.WriteRune(r)
	}
	if b.Len() != 12 {
		return ""
	}
	return b.String()
}

// CreateEnrollment makes a one-time code for a stall of p's scope. The code
// is returned once; the store keeps its hash.
func (r *Registry) CreateEnrollment(ctx context.Context, p *Principal, stallID string) (string, *Enrollment, error) {
	code := NewEnrollmentCode()
	var e *Enrollment
	_, err := r.changeStall(ctx, p, stallID, "enroll phones", func(tx Tx, s *Stall, now time.Time) error {
		if s.Status != StallActive {
			return Errorf(EConflict, "the stall is suspended; reactivate it before enrolling a phone")
		}
		if s.ErasedAt != nil {
			return Errorf(EConflict, "this vendor's data was erased")
		}
		if _, err := tx.DeleteExpiredEnrollments(now); err != nil {
			return err
		}
		e = &Enrollment{CodeHash: HashToken(code), StallID: s.ID, CreatedBy: p.UserID, CreatedAt: now, ExpiresAt: now.Add(EnrollmentTTL)}
		if err := tx.PutEnrollment(e); err != nil {
			return err
		}
		return audit(tx, p, now, "device.enrollment_create", "stall", s.ID, nil, "enrollment code valid until "+e.ExpiresAt.Format(time.RFC3339))
	})
	if err != nil {
		return "", nil, err
	}
	return code, e, nil
}

// errEnrollmentCode is every refusal of a code: a guess learns nothing.
func errEnrollmentCode() error {
	return Errorf(ENotFound, "this enrollment code is wrong, used or expired; ask the volunteer for a new one")
}

// usableEnrollment returns the enrollment of a code that is known, unused
// and not expired at now, or errEnrollmentCode.
func usableEnrollment(tx Tx, code string, now time.Time) (*Enrollment, error) {
	norm := NormalizeEnrollmentCode(code)
	if norm == "" {
		return nil, errEnrollmentCode()
	}
	e, err := tx.FindEnrollment(HashToken(norm))
	switch {
	case ErrorCode(err) == ENotFound:
		return nil, errEnrollmentCode()
	case err != nil:
		return nil, err
	case e.UsedAt != nil || !now.Before(e.ExpiresAt):
		return nil, errEnrollmentCode()
	}
	return e, nil
}

// EnrollmentStall returns the stall a usable enrollment code is for,
// without using it: the server checks the stall's own enrollment limit
// before it redeems the code, so a phone told to wait can retry the same
// code. It refuses a code as RedeemEnrollment would.
func (r *Registry) EnrollmentStall(ctx context.Context, code string) (string, error) {
	now := r.now()
	var stallID string
	err := r.Store.View(ctx, func(tx Tx) error {
		e, err := usableEnrollment(tx, code, now)
		if err == nil {
			stallID = e.StallID
		}
		return err
	})
	return stallID, err
}

// DeviceClaim is what a phone enrolling again says of the device it held:
// the device's ID and its token, which proves the phone held it.
type DeviceClaim struct {
	DeviceID string
	Token    string
}

// RedeemEnrollment turns a code into a device of its stall and the device's
// token (returned once; the store keeps its hash). A code works once, for 15
// minutes; every failure is the same ENotFound, so a guess learns nothing.
//
// replaces, if not nil, is the phone's claim to be the install of an
// earlier device (see replacedDevices). A claim that does not hold is
// ignored, not refused: the phone still needs its device, and is only
// checked as a new install would be.
func (r *Registry) RedeemEnrollment(ctx context.Context, code, appVersion string, replaces *DeviceClaim) (*Device, string, error) {
	token := NewToken()
	now := r.now()
	var d *Device
	err := r.Store.Update(ctx, func(tx Tx) error {
		e, err := usableEnrollment(tx, code, now)
		if err != nil {
			return err
		}
		s, err := tx.FindStall(e.StallID)
		if err != nil {
			return err
		}
		if s.Status != StallActive {
			return errEnrollmentCode()
		}
		replaced, err := replacedDevices(tx, s.ID, replaces)
		if err != nil {
			return err
		}
		d = &Device{ID: NewID(PrefixDevice), StallID: s.ID, Status: DeviceActive, TokenHash: HashToken(token), TokenIssuedAt: now,
			EnrolledAt: now, EnrolledBy: e.CreatedBy, Replaces: replaced, AppVersion: appVersion, Flags: []string{}}
		if err := tx.CreateDevice(d); err != nil {
			return err
		}
		e.UsedAt, e.DeviceID = &now, d.ID
		if err := tx.PutEnrollment(e); err != nil {
			return err
		}
		note := "enrolled with a code made by " + e.CreatedBy
		if len(replaced) > 0 {
			note += "; the same phone as " + replaced[0]
		}
		return audit(tx, SystemPrincipal("device"), now, "device.enroll", "stall", s.ID,
			[]FieldChange{{Field: "device", After: d.ID}}, note)
	})
	if err != nil {
		return nil, "", err
	}
	return d, token, nil
}

// replacedDevices returns what a new device of stallID replaces on its
// phone (Device.Replaces): the claimed device and those it replaced, newest
// first, at most MaxReplaces. The claim holds only when its token is one
// the store still knows for the device it names (current, or previous
// while a rotation is pending or after its overlap ran out: a phone refused
// 401 for that still held it), whatever the device's status (a revoked
// device is the case this serves), and when that device is of the same
// stall. The stall rule is what keeps the link from hiding anything: a
// day.close is then checked against sales of that stall's devices the
// phone itself held, never another stall's, nor another phone's of the
// stall, whose token it cannot show. Otherwise it returns nil.
func replacedDevices(tx Tx, stallID string, claim *DeviceClaim) ([]string, error) {
	if claim == nil || claim.Token == "" || claim.DeviceID == "" {
		return nil, nil
	}
	old, err := tx.FindDeviceByToken(HashToken(claim.Token))
	switch {
	case ErrorCode(err) == ENotFound:
		return nil, nil
	case err != nil:
		return nil, err
	case old.ID != claim.DeviceID || old.StallID != stallID:
		return nil, nil
	}
	list := append([]string{old.ID}, old.Replaces...)
	if len(list) > MaxReplaces {
		list = list[:MaxReplaces]
	}
	return list, nil
}

// Device token rotation: a token older than TokenRotateAfter is replaced on
// the device's next push; the old one keeps working for TokenOverlap or
// until the new one is first used, whichever comes first.
const (
	TokenRotateAfter = 7 * 24 * time.Hour
	TokenOverlap     = 30 * 24 * time.Hour
)

// AuthenticateDevice finds the device of a token and says whether it was
// the previous token of a pending rotation. It refuses a revoked device
// with device_revoked (403), whatever token it shows.
func (r *Registry) AuthenticateDevice(ctx context.Context, token string) (d *Device, usedPrevious bool, err error) {
	if token == "" {
		return nil, false, Errorf(EUnauthorized, "send the device token: Authorization: Bearer TOKEN")
	}
	hash := HashToken(token)
	now := r.now()
	err = r.Store.View(ctx, func(tx Tx) error {
		var err error
		d, err = tx.FindDeviceByToken(hash)
		return err
	})
	switch {
	case ErrorCode(err) == ENotFound:
		return nil, false, Errorf(EUnauthorized, "unknown device token")
	case err != nil:
		return nil, false, err
	case d.Status == DeviceRevoked:
		return nil, false, Errorf(EDeviceRevoked, "this phone was removed from the stall; ask a volunteer to enroll it again")
	}
	current := constantTimeEqual(hash, d.TokenHash)
	if !current && !now.Before(d.PrevTokenUntil) {
		return nil, false, Errorf(EUnauthorized, "this device token was replaced; use the newer one")
	}
	if current && len(d.PrevTokenHash) > 0 {
		// The new token is in use: the old one ends now.
		err := r.Store.Update(ctx, func(tx Tx) error {
			fresh, err := tx.FindDevice(d.ID)
			if err != nil {
				return err
			}
			fresh.PrevTokenHash, fresh.PrevTokenUntil = nil, time.Time{}
			return tx.UpdateDevice(fresh)
		})
		if err != nil {
			return nil, false, err
		}
		d.PrevTokenHash, d.PrevTokenUntil = nil, time.Time{}
	}
	return d, !current, nil
}

// RotateDeviceToken gives d a new token when its token is older than
// TokenRotateAfter, keeping the old one for the overlap, and returns it; ""
// when no rotation was due. The caller stores d in the same transaction as
// the response that carries the token, so a lost response loses nothing:
// the old token still works.
//
// usedPrevious says the request came with the previous token while a
// rotation is pending: the response with the new token was lost, so the
// device gets another new one.
func RotateDeviceToken(d *Device, now time.Time, usedPrevious bool) string {
	if usedPrevious && len(d.PrevTokenHash) > 0 {
		token := NewToken()
		d.TokenHash, d.TokenIssuedAt = HashToken(token), now
		return token
	}
	if now.Sub(d.TokenIssuedAt) < TokenRotateAfter || len(d.PrevTokenHash) > 0 {
		return ""
	}
	token := NewToken()
	d.PrevTokenHash, d.PrevTokenUntil = d.TokenHash, now.Add(TokenOverlap)
	d.TokenHash, d.TokenIssuedAt = HashToken(token), now
	return token
}

// ListStallDevices returns a stall's devices with their sync status.
func (r *Registry) ListStallDevices(ctx context.Context, p *Principal, stallID string) ([]*Device, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	var out []*Device
	err := r.Store.View(ctx, func(tx Tx) error {
		if _, err := findStallInScope(tx, p, stallID); err != nil {
			return err
		}
		var err error
		out, err = tx.ListStallDevices(stallID)
		return err
	})
	if out == nil {
		out = []*Device{}
	}
	return out, err
}

// RevokeDevice removes a phone from its stall: its next request gets
// device_revoked. Events it already pushed stay.
func (r *Registry) RevokeDevice(ctx context.Context, p *Principal, deviceID string) (*Device, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	now := r.now()
	var d *Device
	err := r.Store.Update(ctx, func(tx Tx) error {
		var err error
		if !ValidID(PrefixDevice, deviceID) {
			return Errorf(ENotFound, "no such device")
		}
		if d, err = tx.FindDevice(deviceID); err != nil {
			return err
		}
		if _, err := findStallInScope(tx, p, d.StallID); err != nil {
			return Errorf(ENotFound, "no such device")
		}
		if err := requireWrite(p, "revoke phones"); err != nil {
			return err
		}
		if d.Status == DeviceRevoked {
			return nil
		}
		d.Status, d.RevokedAt, d.RevokedBy = DeviceRevoked, &now, p.UserID
		if err := tx.UpdateDevice(d); err != nil {
			return err
		}
		return audit(tx, p, now, "device.revoke", "stall", d.StallID, []FieldChange{{Field: "device", Before: d.ID, After: "revoked"}},
			"pending on the phone when revoked: "+strconv.Itoa(d.PendingCount))
	})
	return d, err
}

func constantTimeEqual(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := range a {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

// DeviceContext is what a device's requests read: the device, its stall and
// the stall's market.
type DeviceContext struct {
	Device *Device
	Stall  *Stall
	Market *Market
}

// LoadDeviceContext reads a device with its stall and market.
func (r *Registry) LoadDeviceContext(ctx context.Context, deviceID string) (*DeviceContext, error) {
	var dc DeviceContext
	err := r.Store.View(ctx, func(tx Tx) error {
		var err error
		if dc.Device, err = tx.FindDevice(deviceID); err != nil {
			return err
		}
		if dc.Stall, err = tx.FindStall(dc.Device.StallID); err != nil {
			return err
		}
		dc.Market, err = tx.FindMarket(dc.Stall.MarketID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &dc, nil
}

// StallDays returns a stall's day totals from from to to (dates, inclusive).
func (r *Registry) StallDays(ctx context.Context, stallID, from, to string) ([]*StallDay, error) {
	var out []*StallDay
	err := r.Store.View(ctx, func(tx Tx) error {
		var err error
		out, err = tx.ListStallDays(stallID, from, to)
		return err
	})
	if out == nil {
		out = []*StallDay{}
	}
	return out, err
}
