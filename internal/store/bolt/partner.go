package bolt

import (
	"slices"

	"github.com/choso/choso"
)

// partnerRecord is a partner as stored. choso.Partner keeps its sealed
// webhook secret out of JSON, so the API never shows it; the store must
// keep it, under its own tag.
type partnerRecord struct {
	choso.Partner
	WebhookSecretSealed []byte `json:"webhook_secret_sealed,omitempty"`
}

// partnerKeyRecord is a partner key as stored, with its sealed secret; see
// partnerRecord.
type partnerKeyRecord struct {
	choso.PartnerKey
	SecretSealed []byte `json:"secret_sealed,omitempty"`
}

func (tx *Tx) getPartner(id string) (*choso.Partner, error) {
	var rec partnerRecord
	found := false
	if id != "" {
		var err error
		if found, err = getJSON(tx.bucket(bucketPartners), []byte(id), &rec); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, choso.Errorf(choso.ENotFound, "no partner with ID %q", id)
	}
	p := rec.Partner
	p.WebhookSecretSealed = rec.WebhookSecretSealed
	return &p, nil
}

func (tx *Tx) putPartner(p *choso.Partner) error {
	return putJSON(tx.bucket(bucketPartners), []byte(p.ID), partnerRecord{Partner: *p, WebhookSecretSealed: p.WebhookSecretSealed})
}

// CreatePartner stores a new partner; see choso.PartnerTx. It also returns
// EInvalid for an ID that cannot be a key.
func (tx *Tx) CreatePartner(p *choso.Partner) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := checkKeyPart("partner ID", p.ID); err != nil {
		return err
	}
	if tx.bucket(bucketPartners).Get([]byte(p.ID)) != nil {
		return choso.Errorf(choso.EConflict, "partner %s already exists", p.ID)
	}
	return tx.putPartner(p)
}

// UpdatePartner replaces a partner; see choso.PartnerTx.
func (tx *Tx) UpdatePartner(p *choso.Partner) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if p.ID == "" || tx.bucket(bucketPartners).Get([]byte(p.ID)) == nil {
		return choso.Errorf(choso.ENotFound, "no partner with ID %q", p.ID)
	}
	return tx.putPartner(p)
}

// FindPartner returns the partner with id; see choso.PartnerTx.
func (tx *Tx) FindPartner(id string) (*choso.Partner, error) {
	return tx.getPartner(id)
}

// ListPartners returns every partner in ID order; see choso.PartnerTx. A
// deployment has a handful of banks, so the list is not paged.
func (tx *Tx) ListPartners() ([]*choso.Partner, error) {
	var list []*choso.Partner
	for k := range ascend(tx.bucket(bucketPartners), nil, nil) {
		p, err := tx.getPartner(string(k))
		if err != nil {
			return nil, err
		}
		list = append(list, p)
	}
	return list, nil
}

func (tx *Tx) getPartnerKey(id string) (*choso.PartnerKey, error) {
	var rec partnerKeyRecord
	found := false
	if id != "" {
		var err error
		if found, err = getJSON(tx.bucket(bucketPartnerKeys), []byte(id), &rec); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, choso.Errorf(choso.ENotFound, "no partner key with ID %q", id)
	}
	k := rec.PartnerKey
	k.SecretSealed = rec.SecretSealed
	return &k, nil
}

// PutPartnerKey creates or replaces a key, with its entry in its partner's
// key index, moved if the key changed partner; see choso.PartnerTx. It
// returns EInvalid for a key ID or partner ID that cannot be a key.
func (tx *Tx) PutPartnerKey(k *choso.PartnerKey) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := checkKeyPart("partner key ID", k.ID); err != nil {
		return err
	}
	if err := checkKeyPart("partner key's partner ID", k.PartnerID); err != nil {
		return err
	}
	byPartner := tx.bucket(bucketPartnerKeysByP)
	old, err := tx.getPartnerKey(k.ID)
	switch {
	case err == nil && old.PartnerID != k.PartnerID:
		if err := byPartner.Delete(joinKey(old.PartnerID, k.ID)); err != nil {
			return err
		}
	case err != nil && choso.ErrorCode(err) != choso.ENotFound:
		return err
	}
	if err := byPartner.Put(joinKey(k.PartnerID, k.ID), nil); err != nil {
		return err
	}
	return putJSON(tx.bucket(bucketPartnerKeys), []byte(k.ID), partnerKeyRecord{PartnerKey: *k, SecretSealed: k.SecretSealed})
}

// FindPartnerKey returns the key with id; see choso.PartnerTx.
func (tx *Tx) FindPartnerKey(id string) (*choso.PartnerKey, error) {
	return tx.getPartnerKey(id)
}

// ListPartnerKeys returns a partner's keys, oldest first and in ID order
// among equals, from the partner's key index; see choso.PartnerTx. A
// partner has a few keys, so sorting after the scan costs nothing.
func (tx *Tx) ListPartnerKeys(partnerID string) ([]*choso.PartnerKey, error) {
	if checkKeyPart("partner ID", partnerID) != nil {
		return nil, nil
	}
	prefix := joinKey(partnerID, "")
	var list []*choso.PartnerKey
	for k := range ascend(tx.bucket(bucketPartnerKeysByP), prefix, nil) {
		id := string(k[len(prefix):])
		key, err := tx.getPartnerKey(id)
		if choso.ErrorCode(err) == choso.ENotFound {
			return nil, choso.Errorf(choso.EInternal, "partner key index names key %s, which is not stored", id)
		}
		if err != nil {
			return nil, err
		}
		list = append(list, key)
	}
	slices.SortStableFunc(list, func(a, b *choso.PartnerKey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return list, nil
}
