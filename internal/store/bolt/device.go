package bolt

import (
	"bytes"
	"slices"
	"time"

	"github.com/choso/choso"
	bolt "go.etcd.io/bbolt"
)

// deviceRecord is a device as stores before the binary form (encodeDevice)
// kept it, in JSON. choso.Device keeps its token hashes, boot ID and last
// good business day out of JSON, so the API never shows them; the store
// kept them under their own tags.
type deviceRecord struct {
	choso.Device
	TokenHash            []byte    `json:"token_hash,omitempty"`
	PrevTokenHash        []byte    `json:"prev_token_hash,omitempty"`
	PrevTokenUntil       time.Time `json:"prev_token_until"`
	TokenIssuedAt        time.Time `json:"token_issued_at"`
	BootID               string    `json:"boot_id,omitempty"`
	LastGoodBusinessDate string    `json:"last_good_business_date,omitempty"`
}

// getDevice reads a device through the decode cache and caches what it
// decodes: a push's token check reads its device, and the single writer
// then finds it decoded.
func (tx *Tx) getDevice(id string) (*choso.Device, error) {
	return tx.readDevice(id, true)
}

// listedDevice reads a device for a walk over many (a stall's phones in a
// province's report, an index check). It uses the decode cache but does
// not fill it: 50,000 devices would push out those pushes are about to
// read, and copying each into the cache was a tenth of such a report.
func (tx *Tx) listedDevice(id string) (*choso.Device, error) {
	return tx.readDevice(id, false)
}

func (tx *Tx) readDevice(id string, fill bool) (*choso.Device, error) {
	var raw []byte
	if id != "" {
		raw = tx.bucket(bucketDevices).Get([]byte(id))
	}
	if raw == nil {
		return nil, choso.Errorf(choso.ENotFound, "no device with ID %q", id)
	}
	if d, ok := tx.db.devices.get(id, raw); ok {
		return d, nil
	}
	var d choso.Device
	if err := decodeDevice(raw, &d); err != nil {
		return nil, err
	}
	if fill {
		tx.db.devices.put(id, raw, &d)
	}
	return &d, nil
}

// decodeDevice decodes a stored device record into d: the binary form
// (encodeDevice), or JSON (a deviceRecord), which stores written before
// the binary form hold until each device's next push rewrites it.
func decodeDevice(raw []byte, d *choso.Device) error {
	if len(raw) > 0 && raw[0] == '{' {
		var rec deviceRecord
		if err := jsonUnmarshal(raw, &rec); err != nil {
			return err
		}
		*d = rec.Device
		d.TokenHash, d.PrevTokenHash = rec.TokenHash, rec.PrevTokenHash
		d.PrevTokenUntil, d.TokenIssuedAt = rec.PrevTokenUntil, rec.TokenIssuedAt
		d.BootID, d.LastGoodBusinessDate = rec.BootID, rec.LastGoodBusinessDate
		return nil
	}
	x, err := decodeDeviceBinary(raw)
	if err != nil {
		return err
	}
	*d = *x
	return nil
}

// putDevice stores d. It leaves the decode cache alone: what a read decodes
// (times in UTC, without a monotonic reading) is not d, and decoding here
// would be the single writer's work; the next read, the push's token
// check, decodes and caches it.
func (tx *Tx) putDevice(d *choso.Device) error {
	var buf keyBuf
	return tx.bucket(bucketDevices).Put(encodeDevice(append(buf[:0], d.ID...), d))
}

// encodeDevice writes a device in the binary form. Every push rewrites its
// device, and the next push's token check reads it back: as JSON, the two
// took a twentieth of the ingest's CPU.
func encodeDevice(key []byte, x *choso.Device) (k, v []byte) {
	e := newEncoder(key, 160+len(x.ID)+len(x.StallID)+len(x.Status)+len(x.TokenHash)+len(x.PrevTokenHash)+len(x.EnrolledBy)+
		len(x.RevokedBy)+len(x.AppVersion)+len(x.BootID)+len(x.LastError)+len(x.LastGoodBusinessDate)+16*len(x.Flags)+
		32*len(x.Replaces))
	e.str(x.ID)
	e.str(x.StallID)
	e.str(string(x.Status))
	e.bytes(x.TokenHash)
	e.bytes(x.PrevTokenHash)
	e.time(x.PrevTokenUntil)
	e.time(x.TokenIssuedAt)
	e.time(x.EnrolledAt)
	e.str(x.EnrolledBy)
	if x.RevokedAt == nil {
		e.uint(0)
	} else {
		e.uint(1)
		e.time(*x.RevokedAt)
	}
	e.str(x.RevokedBy)
	e.uint(x.AppliedSeq)
	e.time(x.LastSeenAt)
	e.time(x.LastPushAt)
	e.str(x.AppVersion)
	e.int(int64(x.Protocol))
	e.int(int64(x.PendingCount))
	e.int(x.OldestPendingWallMs)
	e.int(x.ClockOffsetMs)
	e.str(x.BootID)
	e.int(int64(x.SuspectEvents))
	e.strs(x.Flags)
	e.str(x.LastError)
	e.str(x.LastGoodBusinessDate)
	// Format 4. Empty is stored as nil: PostgreSQL's JSON leaves an empty
	// list out, and both stores read a device that replaced none alike.
	if len(x.Replaces) == 0 {
		e.strs(nil)
	} else {
		e.strs(x.Replaces)
	}
	return e.keyValue()
}

func decodeDeviceBinary(v []byte) (*choso.Device, error) {
	d := newDecoder(v)
	x := &choso.Device{
		ID:             d.str(),
		StallID:        d.str(),
		Status:         choso.DeviceStatus(d.str()),
		TokenHash:      d.bytes(),
		PrevTokenHash:  d.bytes(),
		PrevTokenUntil: d.time(),
		TokenIssuedAt:  d.time(),
		EnrolledAt:     d.time(),
		EnrolledBy:     d.str(),
	}
	if d.uint() == 1 {
		t := d.time()
		x.RevokedAt = &t
	}
	x.RevokedBy = d.str()
	x.AppliedSeq = d.uint()
	x.LastSeenAt, x.LastPushAt = d.time(), d.time()
	x.AppVersion = d.str()
	x.Protocol, x.PendingCount = int(d.int()), int(d.int())
	x.OldestPendingWallMs, x.ClockOffsetMs = d.int(), d.int()
	x.BootID = d.str()
	x.SuspectEvents = int(d.int())
	x.Flags = d.strs()
	x.LastError = d.str()
	x.LastGoodBusinessDate = d.str()
	if d.since(binFormat4) { // a device stored before replaced none
		x.Replaces = d.strs()
	}
	return x, d.done("device")
}

// checkDeviceKeys refuses a device whose ID or stall ID cannot be an index key.
func checkDeviceKeys(d *choso.Device) error {
	if err := checkKeyPart("device ID", d.ID); err != nil {
		return err
	}
	return checkKeyPart("device stall ID", d.StallID)
}

// tokenHashes returns the device's non-empty token hashes, current first.
func tokenHashes(d *choso.Device) [][]byte {
	var hashes [][]byte
	for _, h := range [][]byte{d.TokenHash, d.PrevTokenHash} {
		if len(h) > 0 {
			hashes = append(hashes, h)
		}
	}
	return hashes
}

// claimTokens returns EConflict if one of d's token hashes already names
// another device. A random token's hash never collides; a caller that
// reuses one has a bug that would hand one phone another's stall.
func claimTokens(tokens *bolt.Bucket, d *choso.Device) error {
	for _, h := range tokenHashes(d) {
		if id := tokens.Get(h); id != nil && string(id) != d.ID {
			return choso.Errorf(choso.EConflict, "device %s: token is already another device's", d.ID)
		}
	}
	return nil
}

// CreateDevice stores a new device with its token and stall index entries;
// see choso.DeviceTx. It also returns EConflict if a token hash belongs to
// another device, and EInvalid for an empty ID or stall ID.
func (tx *Tx) CreateDevice(d *choso.Device) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := checkDeviceKeys(d); err != nil {
		return err
	}
	if tx.bucket(bucketDevices).Get([]byte(d.ID)) != nil {
		return choso.Errorf(choso.EConflict, "device %s already exists", d.ID)
	}
	tokens := tx.bucket(bucketDeviceTokens)
	if err := claimTokens(tokens, d); err != nil {
		return err
	}
	for _, h := range tokenHashes(d) {
		if err := tokens.Put(copyBytes(h), []byte(d.ID)); err != nil {
			return err
		}
	}
	if err := tx.bucket(bucketStallDevices).Put(joinKey(d.StallID, d.ID), nil); err != nil {
		return err
	}
	return tx.putDevice(d)
}

// UpdateDevice replaces a device, removing from the token index the hashes
// it no longer has, adding the new ones, and moving its stall index entry
// when its stall changes; see choso.DeviceTx. It also returns EConflict if a
// new token hash belongs to another device, and then changes nothing.
func (tx *Tx) UpdateDevice(d *choso.Device) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := checkDeviceKeys(d); err != nil {
		return err
	}
	old, err := tx.getDevice(d.ID)
	if err != nil {
		return err
	}
	tokens := tx.bucket(bucketDeviceTokens)
	if err := claimTokens(tokens, d); err != nil {
		return err
	}
	oldHashes, newHashes := tokenHashes(old), tokenHashes(d)
	for _, h := range oldHashes {
		if !slices.ContainsFunc(newHashes, func(n []byte) bool { return bytes.Equal(n, h) }) {
			if err := tokens.Delete(h); err != nil {
				return err
			}
		}
	}
	for _, h := range newHashes {
		if !slices.ContainsFunc(oldHashes, func(o []byte) bool { return bytes.Equal(o, h) }) {
			if err := tokens.Put(copyBytes(h), []byte(d.ID)); err != nil {
				return err
			}
		}
	}
	if old.StallID != d.StallID {
		stalls := tx.bucket(bucketStallDevices)
		if err := stalls.Delete(joinKey(old.StallID, d.ID)); err != nil {
			return err
		}
		if err := stalls.Put(joinKey(d.StallID, d.ID), nil); err != nil {
			return err
		}
	}
	return tx.putDevice(d)
}

// FindDevice returns the device with id; see choso.DeviceTx.
func (tx *Tx) FindDevice(id string) (*choso.Device, error) {
	return tx.getDevice(id)
}

// FindDeviceByToken returns the device whose current or previous token has
// the hash, through the token index; see choso.DeviceTx. Whether the
// previous token is still within its overlap is the caller's rule.
func (tx *Tx) FindDeviceByToken(tokenHash []byte) (*choso.Device, error) {
	var id []byte
	if len(tokenHash) > 0 {
		id = tx.bucket(bucketDeviceTokens).Get(tokenHash)
	}
	if id == nil {
		return nil, choso.Errorf(choso.ENotFound, "no device has this token")
	}
	d, err := tx.getDevice(string(id))
	if choso.ErrorCode(err) == choso.ENotFound {
		return nil, choso.Errorf(choso.EInternal, "token index names device %s, which is not stored", id)
	}
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(d.TokenHash, tokenHash) && !bytes.Equal(d.PrevTokenHash, tokenHash) {
		return nil, choso.Errorf(choso.EInternal, "token index names device %s, which no longer has the token", id)
	}
	return d, nil
}

// ListStallDevices returns a stall's devices, oldest enrollment first and in
// ID order among equals, from the stall index; see choso.DeviceTx. A stall
// has a handful of phones, so sorting after the scan costs nothing.
func (tx *Tx) ListStallDevices(stallID string) ([]*choso.Device, error) {
	if checkKeyPart("stall ID", stallID) != nil {
		return nil, nil
	}
	prefix := joinKey(stallID, "")
	var list []*choso.Device
	for k := range ascend(tx.bucket(bucketStallDevices), prefix, nil) {
		id := string(k[len(prefix):])
		d, err := tx.listedDevice(id)
		if choso.ErrorCode(err) == choso.ENotFound {
			return nil, choso.Errorf(choso.EInternal, "stall index names device %s, which is not stored", id)
		}
		if err != nil {
			return nil, err
		}
		list = append(list, d)
	}
	slices.SortStableFunc(list, func(a, b *choso.Device) int { return a.EnrolledAt.Compare(b.EnrolledAt) })
	return list, nil
}
