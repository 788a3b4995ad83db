package postgres

import (
	"slices"

	"github.com/choso/choso"
)

// partnerRecord is a partner as stored, with the sealed webhook secret JSON
// leaves out.
type partnerRecord struct {
	choso.Partner
	WebhookSecretSealed []byte `json:"webhook_secret_sealed,omitempty"`
}

func (rec *partnerRecord) partner() *choso.Partner {
	p := rec.Partner
	p.WebhookSecretSealed = rec.WebhookSecretSealed
	return &p
}

// partnerKeyRecord is a key as stored, with the sealed secret JSON leaves out.
type partnerKeyRecord struct {
	choso.PartnerKey
	SecretSealed []byte `json:"secret_sealed,omitempty"`
}

func (rec *partnerKeyRecord) key() *choso.PartnerKey {
	k := rec.PartnerKey
	k.SecretSealed = rec.SecretSealed
	return &k
}

// CreatePartner stores a new partner; see choso.PartnerTx. It also returns
// EInvalid for an empty ID.
func (tx *Tx) CreatePartner(p *choso.Partner) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if err := checkKeyPart("partner ID", p.ID); err != nil {
		return err
	}
	doc, err := marshal(partnerRecord{Partner: *p, WebhookSecretSealed: p.WebhookSecretSealed})
	if err != nil {
		return err
	}
	n, err := tx.exec("INSERT INTO partners (id, doc) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", p.ID, doc)
	if err != nil {
		return err
	}
	if n == 0 {
		return choso.Errorf(choso.EConflict, "partner %s already exists", p.ID)
	}
	return nil
}

// UpdatePartner replaces a partner; see choso.PartnerTx.
func (tx *Tx) UpdatePartner(p *choso.Partner) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	doc, err := marshal(partnerRecord{Partner: *p, WebhookSecretSealed: p.WebhookSecretSealed})
	if err != nil {
		return err
	}
	n, err := tx.exec("UPDATE partners SET doc = $2 WHERE id = $1", p.ID, doc)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("no partner with ID %q", p.ID)
	}
	return nil
}

// FindPartner returns the partner with id; see choso.PartnerTx.
func (tx *Tx) FindPartner(id string) (*choso.Partner, error) {
	var rec partnerRecord
	found, err := tx.getDoc(&rec, "SELECT doc FROM partners WHERE id = $1", id)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("no partner with ID %q", id)
	}
	return rec.partner(), nil
}

// ListPartners returns every partner in ID order; see choso.PartnerTx.
func (tx *Tx) ListPartners() ([]*choso.Partner, error) {
	recs, err := listDocs[partnerRecord](tx, "SELECT doc FROM partners ORDER BY id")
	if err != nil {
		return nil, err
	}
	list := make([]*choso.Partner, len(recs))
	for i, rec := range recs {
		list[i] = rec.partner()
	}
	return list, nil
}

// PutPartnerKey creates or replaces a key; see choso.PartnerTx. It returns
// EInvalid for an empty key ID or partner ID.
func (tx *Tx) PutPartnerKey(k *choso.PartnerKey) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if err := checkKeyPart("partner key ID", k.ID); err != nil {
		return err
	}
	if err := checkKeyPart("partner key's partner ID", k.PartnerID); err != nil {
		return err
	}
	doc, err := marshal(partnerKeyRecord{PartnerKey: *k, SecretSealed: k.SecretSealed})
	if err != nil {
		return err
	}
	_, err = tx.exec(`INSERT INTO partner_keys (id, partner_id, doc) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET partner_id = excluded.partner_id, doc = excluded.doc`, k.ID, k.PartnerID, doc)
	return err
}

// FindPartnerKey returns the key with id; see choso.PartnerTx.
func (tx *Tx) FindPartnerKey(id string) (*choso.PartnerKey, error) {
	var rec partnerKeyRecord
	found, err := tx.getDoc(&rec, "SELECT doc FROM partner_keys WHERE id = $1", id)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("no partner key with ID %q", id)
	}
	return rec.key(), nil
}

// ListPartnerKeys returns a partner's keys, oldest first (by CreatedAt, then
// ID); see choso.PartnerTx.
func (tx *Tx) ListPartnerKeys(partnerID string) ([]*choso.PartnerKey, error) {
	recs, err := listDocs[partnerKeyRecord](tx, "SELECT doc FROM partner_keys WHERE partner_id = $1 ORDER BY id", partnerID)
	if err != nil {
		return nil, err
	}
	list := make([]*choso.PartnerKey, len(recs))
	for i, rec := range recs {
		list[i] = rec.key()
	}
	slices.SortStableFunc(list, func(a, b *choso.PartnerKey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return list, nil
}
