package postgres

import (
	"bytes"
	"slices"
	"time"

	"github.com/choso/choso"
)

// deviceRecord is a device as stored. choso.Device keeps its token hashes,
// token times, boot ID and last good business date out of JSON, so the API
// never shows them; the store must keep them, under their own tags.
type deviceRecord struct {
	choso.Device
	TokenHash            []byte    `json:"token_hash,omitempty"`
	PrevTokenHash        []byte    `json:"prev_token_hash,omitempty"`
	PrevTokenUntil       time.Time `json:"prev_token_until"`
	TokenIssuedAt        time.Time `json:"token_issued_at"`
	BootID               string    `json:"boot_id,omitempty"`
	LastGoodBusinessDate string    `json:"last_good_business_date,omitempty"`
}

func (rec *deviceRecord) device() *choso.Device {
	d := rec.Device
	d.TokenHash, d.PrevTokenHash = rec.TokenHash, rec.PrevTokenHash
	d.PrevTokenUntil, d.TokenIssuedAt = rec.PrevTokenUntil, rec.TokenIssuedAt
	d.BootID, d.LastGoodBusinessDate = rec.BootID, rec.LastGoodBusinessDate
	return &d
}

func deviceDoc(d *choso.Device) ([]byte, error) {
	return marshal(deviceRecord{
		Device:    *d,
		TokenHash: d.TokenHash, PrevTokenHash: d.PrevTokenHash,
		PrevTokenUntil: d.PrevTokenUntil, TokenIssuedAt: d.TokenIssuedAt,
		BootID: d.BootID, LastGoodBusinessDate: d.LastGoodBusinessDate,
	})
}

func checkDeviceKeys(d *choso.Device) error {
	if err := checkKeyPart("device ID", d.ID); err != nil {
		return err
	}
	return checkKeyPart("device stall ID", d.StallID)
}

// tokenHashes returns the device's non-empty token hashes.
func tokenHashes(d *choso.Device) [][]byte {
	var hashes [][]byte
	for _, h := range [][]byte{d.TokenHash, d.PrevTokenHash} {
		if len(h) > 0 {
			hashes = append(hashes, h)
		}
	}
	return hashes
}

// claimTokens returns EConflict if another device holds one of d's tokens.
func (tx *Tx) claimTokens(d *choso.Device) error {
	hashes := tokenHashes(d)
	if len(hashes) == 0 {
		return nil
	}
	n, err := tx.count("SELECT count(*) FROM device_tokens WHERE token_hash = ANY($1) AND device_id <> $2", hashes, d.ID)
	if err != nil {
		return err
	}
	if n > 0 {
		return choso.Errorf(choso.EConflict, "device %s: token is already another device's", d.ID)
	}
	return nil
}

// setTokens makes device_tokens hold exactly d's token hashes for d.
func (tx *Tx) setTokens(d *choso.Device) error {
	hashes := tokenHashes(d)
	if hashes == nil {
		hashes = [][]byte{}
	}
	if _, err := tx.exec("DELETE FROM device_tokens WHERE device_id = $1 AND NOT (token_hash = ANY($2))", d.ID, hashes); err != nil {
		return err
	}
	_, err := tx.exec(`INSERT INTO device_tokens (token_hash, device_id) SELECT h, $1 FROM unnest($2::bytea[]) AS h
		ON CONFLICT (token_hash) DO NOTHING`, d.ID, hashes)
	return err
}

// CreateDevice stores a new device and its token index entries; see
// choso.DeviceTx. It returns EConflict when another device holds one of
// its tokens, and EInvalid for an empty ID or stall ID.
func (tx *Tx) CreateDevice(d *choso.Device) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if err := checkDeviceKeys(d); err != nil {
		return err
	}
	if n, err := tx.count("SELECT count(*) FROM devices WHERE id = $1", d.ID); err != nil {
		return err
	} else if n > 0 {
		return choso.Errorf(choso.EConflict, "device %s already exists", d.ID)
	}
	if err := tx.claimTokens(d); err != nil {
		return err
	}
	doc, err := deviceDoc(d)
	if err != nil {
		return err
	}
	if _, err := tx.exec("INSERT INTO devices (id, stall_id, doc) VALUES ($1, $2, $3)", d.ID, d.StallID, doc); err != nil {
		return err
	}
	if err := tx.setTokens(d); err != nil {
		return err
	}
	tx.sawDevice(d.ID, tokenHashes(d))
	return nil
}

// UpdateDevice replaces a device, moving its token index entries when its
// token hashes change; see choso.DeviceTx.
func (tx *Tx) UpdateDevice(d *choso.Device) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if err := checkDeviceKeys(d); err != nil {
		return err
	}
	hashes := tokenHashes(d)
	// A device this transaction has read exists (devices are never
	// deleted), and its token index holds the hashes it was read with: a
	// push that leaves the tokens alone is one deferred UPDATE, not five
	// round trips under the sequencer lock.
	held, known := tx.devices[d.ID]
	sameTokens := known && slices.EqualFunc(held, hashes, bytes.Equal)
	if !known {
		if n, err := tx.count("SELECT count(*) FROM devices WHERE id = $1", d.ID); err != nil {
			return err
		} else if n == 0 {
			return notFound("no device with ID %q", d.ID)
		}
	}
	if !sameTokens {
		if err := tx.claimTokens(d); err != nil {
			return err
		}
	}
	doc, err := deviceDoc(d)
	if err != nil {
		return err
	}
	tx.defer_("UPDATE devices SET stall_id = $2, doc = $3 WHERE id = $1", d.ID, d.StallID, doc)
	if !sameTokens {
		if err := tx.setTokens(d); err != nil {
			return err
		}
	}
	tx.sawDevice(d.ID, hashes)
	return nil
}

// sawDevice records that the device exists with these token hashes in its
// index, as this transaction last read or wrote it.
func (tx *Tx) sawDevice(id string, hashes [][]byte) {
	if tx.devices == nil {
		tx.devices = map[string][][]byte{}
	}
	tx.devices[id] = hashes
}

// FindDevice returns the device with id; see choso.DeviceTx.
func (tx *Tx) FindDevice(id string) (*choso.Device, error) {
	var rec deviceRecord
	found, err := tx.getDoc(&rec, "SELECT doc FROM devices WHERE id = $1", id)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("no device with ID %q", id)
	}
	d := rec.device()
	tx.sawDevice(d.ID, tokenHashes(d))
	return d, nil
}

// FindDeviceByToken returns the device whose current or previous token has
// the hash; see choso.DeviceTx.
func (tx *Tx) FindDeviceByToken(tokenHash []byte) (*choso.Device, error) {
	var rec deviceRecord
	found := false
	if len(tokenHash) > 0 {
		var err error
		found, err = tx.getDoc(&rec, `SELECT d.doc FROM device_tokens t JOIN devices d ON d.id = t.device_id
			WHERE t.token_hash = $1`, tokenHash)
		if err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, notFound("no device has this token")
	}
	d := rec.device()
	if !bytes.Equal(d.TokenHash, tokenHash) && !bytes.Equal(d.PrevTokenHash, tokenHash) {
		return nil, choso.Errorf(choso.EInternal, "token index names device %s, which no longer has the token", d.ID)
	}
	return d, nil
}

// ListStallDevices returns a stall's devices, oldest first (by EnrolledAt,
// then ID); see choso.DeviceTx.
func (tx *Tx) ListStallDevices(stallID string) ([]*choso.Device, error) {
	recs, err := listDocs[deviceRecord](tx, "SELECT doc FROM devices WHERE stall_id = $1 ORDER BY id", stallID)
	if err != nil {
		return nil, err
	}
	list := make([]*choso.Device, len(recs))
	for i, rec := range recs {
		list[i] = rec.device()
	}
	slices.SortStableFunc(list, func(a, b *choso.Device) int { return a.EnrolledAt.Compare(b.EnrolledAt) })
	return list, nil
}
