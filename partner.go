package choso

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Partner is a bank in the cashless-market programme: it reads the stall-day
// summaries of the markets it is assigned and posts the credits it received.
type Partner struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Scope: the provinces and markets of the partner's programme. A
	// stall-day is visible when its province or its market is listed.
	Provinces []string  `json:"provinces"`
	MarketIDs []string  `json:"market_ids"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	// WebhookURL receives signed events; empty for none. The webhook
	// secret is sealed like key secrets.
	WebhookURL          string `json:"webhook_url,omitempty"`
	WebhookSecretSealed []byte `json:"-"`
}

// Covers reports whether a stall-day of a market in a province is in the
// partner's programme.
func (p *Partner) Covers(provinceCode, marketID string) bool {
	return p != nil && !p.Disabled && (slices.Contains(p.Provinces, provinceCode) || slices.Contains(p.MarketIDs, marketID))
}

// PartnerKey is one signing key of a partner. Several may be live during a
// rotation. The secret is stored sealed with the master key: verifying an
// HMAC needs the secret itself, so a hash will not do.
type PartnerKey struct {
	ID           string     `json:"key_id"`
	PartnerID    string     `json:"partner_id"`
	SecretSealed []byte     `json:"-"`
	CreatedAt    time.Time  `json:"created_at"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
}

// PartnerTx keeps partners and their keys.
type PartnerTx interface {
	// CreatePartner stores a new partner. Returns EConflict if the ID exists.
	CreatePartner(p *Partner) error
	// UpdatePartner replaces a partner. Returns ENotFound if there is none.
	UpdatePartner(p *Partner) error
	// FindPartner returns ENotFound if there is no partner with id.
	FindPartner(id string) (*Partner, error)
	// ListPartners returns every partner in ID order.
	ListPartners() ([]*Partner, error)
	// PutPartnerKey creates or replaces a key.
	PutPartnerKey(k *PartnerKey) error
	// FindPartnerKey returns ENotFound if there is no key with id.
	FindPartnerKey(id string) (*PartnerKey, error)
	// ListPartnerKeys returns a partner's keys, oldest first.
	ListPartnerKeys(partnerID string) ([]*PartnerKey, error)
}

// Credit is one credit notification a bank posted: money that reached a
// payout account, matched (or not) to a stall and a sale.
type Credit struct {
	Seq        uint64    `json:"seq"` // assigned by the store in commit order
	BankTxnID  string    `json:"bank_txn_id"`
	PartnerID  string    `json:"partner_id"`
	BIN        string    `json:"bin"`
	Account    string    `json:"account"`
	Amount     int64     `json:"amount"` // đồng
	CreditedAt time.Time `json:"credited_at"`
	Content    string    `json:"content"` // the transfer message as the bank has it
	ReceivedAt time.Time `json:"received_at"`
	Hash       []byte    `json:"-"` // fingerprint of what the bank sent, for idempotency
	// Matching, set when the credit was taken in.
	StallID      string `json:"stall_id,omitempty"`
	BusinessDate string `json:"business_date,omitempty"` // the stall market's day of CreditedAt
	SaleID       string `json:"sale_id,omitempty"`       // the client ULID of the sale it paid
	MatchKind    string `json:"match"`                   // reference, amount_time, account_only, none
	// StallPos is the credit's place among its stall's credits, which
	// phones page by: its Seq, until it was matched late (SetCreditMatch)
	// and moved to the end. Only ListStallCredits sets it.
	StallPos uint64 `json:"-"`
}

// Credit match kinds.
const (
	MatchReference   = "reference"    // the payment reference in the content named the sale
	MatchAmountTime  = "amount_time"  // exactly one QR or transfer sale of that amount within ±10 minutes
	MatchAccountOnly = "account_only" // the stall is known, the sale is not
	MatchNone        = "none"         // no stall has this account
)

// CreditTx keeps credits and the indexes matching needs.
type CreditTx interface {
	// FindCredit returns the credit a partner posted with a bank
	// transaction ID, or ENotFound. Each bank names its own transactions:
	// two banks' credits may carry one ID.
	FindCredit(partnerID, bankTxnID string) (*Credit, error)
	// AppendCredit stores a new credit, sets c.Seq to the next credit seq and
	// returns it. Returns EConflict if c's partner has a credit with its bank
	// transaction ID.
	AppendCredit(c *Credit) (uint64, error)
	// SetCreditMatch records that the stored credit the partner posted as
	// bankTxnID, not matched to a sale yet, paid the sale saleID of the
	// stall stallID, matched as
	// kind (a sale recorded after the credit came). The credit moves to the
	// end of that stall's credits, at a new StallPos, so phones paging them
	// see it again, matched; it leaves its former stall's. Its seq and its
	// other fields and indexes stay. Returns ENotFound when no credit has
	// that ID, EConflict when it is matched already, and EInvalid for an
	// empty stall ID, sale ID or kind.
	SetCreditMatch(partnerID, bankTxnID, stallID, saleID, kind string) error
	// ListStallCredits returns up to limit credits of a stall with StallPos
	// > after, in StallPos order, each with its StallPos set.
	ListStallCredits(stallID string, after uint64, limit int) ([]*Credit, error)
	// ListAccountCredits returns the credits to one payout account whose
	// BusinessDate is date.
	ListAccountCredits(bin, account, date string) ([]*Credit, error)
	// FindStallsByAccount returns the stalls (any status) whose payout
	// account, or one of whose FormerPayouts, is bin + account.
	FindStallsByAccount(bin, account string) ([]*Stall, error)
	// PutSaleRef records that the sale with client ULID saleID carries a
	// payment reference.
	PutSaleRef(ref, saleID string) error
	// FindSaleByRef returns the ULID of the sale with a payment reference,
	// or ENotFound.
	FindSaleByRef(ref string) (string, error)
	// PutQRSale indexes a sale paid into a stall's account (a QR or a
	// transfer sale, PaidIntoAccount) by its effective time, for matching
	// credits by amount and time. (Transfer sales a store took before the
	// index held them are not in it.)
	PutQRSale(stallID string, effectiveMs int64, saleID string) error
	// ListQRSales returns the ULIDs of a stall's indexed sales with effective
	// times in [fromMs, toMs], by time.
	ListQRSales(stallID string, fromMs, toMs int64) ([]string, error)
}

// DayTx adds the cross-stall views of day totals the partner feed needs.
type DayTx interface {
	// ListDaysByDate returns up to limit stall-days of a business date, in
	// stall ID order, starting after the stall ID after.
	ListDaysByDate(date, after string, limit int) ([]*StallDay, error)
	// ListDayDates returns up to limit business dates that have stall-days,
	// in order, starting after the date after. Limit 0 or less means the
	// store's default page.
	ListDayDates(after string, limit int) ([]string, error)
	// FindChangeAsOf returns the latest change of a stall-day with
	// ChangeSeq ≤ asOf, or ENotFound when there is none.
	FindChangeAsOf(stallID, date string, asOf uint64) (*Change, error)
	// LastChangeSeq returns the highest change seq stored, 0 for none.
	LastChangeSeq() (uint64, error)
}

// PrefixPartnerKey starts a partner key ID.
const PrefixPartnerKey = "pk_"

// NewPartner is what an admin gives to add a partner. The webhook is set
// apart (SetWebhook), since it comes with its own secret.
type NewPartner struct {
	Name      string
	Provinces []string
	MarketIDs []string
}

// AddPartner creates a partner with its first key; admin only. The key's
// secret is returned once and stored sealed.
func (ps *Partners) AddPartner(ctx context.Context, p *Principal, in NewPartner) (*Partner, *PartnerKey, string, error) {
	if err := requireAdmin(p); err != nil {
		return nil, nil, "", err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len([]rune(in.Name)) > 100 {
		return nil, nil, "", Errorf(EInvalid, "partner name must be 1–100 characters")
	}
	if len(in.Provinces) == 0 && len(in.MarketIDs) == 0 {
		return nil, nil, "", Errorf(EInvalid, "give the partner's programme: at least one province or market")
	}
	for _, c := range in.Provinces {
		if LevelOf(c) != LevelProvince {
			return nil, nil, "", Errorf(EInvalid, "province %q: want a 2-digit province code", c)
		}
	}
	now := ps.now()
	partner := &Partner{ID: NewID(PrefixPartner), Name: in.Name, Provinces: in.Provinces, MarketIDs: in.MarketIDs, CreatedAt: now}
	if partner.Provinces == nil {
		partner.Provinces = []string{}
	}
	if partner.MarketIDs == nil {
		partner.MarketIDs = []string{}
	}
	key, secret, err := ps.newKey(partner.ID, now)
	if err != nil {
		return nil, nil, "", err
	}
	err = ps.Store.Update(ctx, func(tx Tx) error {
		for _, c := range partner.Provinces {
			if _, err := tx.FindRegion(c); err != nil {
				return Errorf(EInvalid, "no province with code %s", c)
			}
		}
		for _, m := range partner.MarketIDs {
			if _, err := tx.FindMarket(m); err != nil {
				return Errorf(EInvalid, "no market %s", m)
			}
		}
		if err := tx.CreatePartner(partner); err != nil {
			return err
		}
		if err := tx.PutPartnerKey(key); err != nil {
			return err
		}
		return audit(tx, p, now, "partner.create", "partner", partner.ID,
			[]FieldChange{{Field: "name", After: partner.Name}, {Field: "scope", After: strings.Join(append(append([]string{}, partner.Provinces...), partner.MarketIDs...), ",")}, {Field: "key", After: key.ID}}, "")
	})
	if err != nil {
		return nil, nil, "", err
	}
	return partner, key, secret, nil
}

func (ps *Partners) newKey(partnerID string, now time.Time) (*PartnerKey, string, error) {
	key := &PartnerKey{ID: NewID(PrefixPartnerKey), PartnerID: partnerID, CreatedAt: now}
	secret := NewToken()
	sealed, err := ps.Sealer.Seal([]byte(secret), []byte(key.ID))
	if err != nil {
		return nil, "", err
	}
	key.SecretSealed = sealed
	return key, secret, nil
}

// AddPartnerKey adds a key to a partner for rotation; admin only. The old
// keys stay live until revoked.
func (ps *Partners) AddPartnerKey(ctx context.Context, p *Principal, partnerID string) (*PartnerKey, string, error) {
	if err := requireAdmin(p); err != nil {
		return nil, "", err
	}
	now := ps.now()
	key, secret, err := ps.newKey(partnerID, now)
	if err != nil {
		return nil, "", err
	}
	err = ps.Store.Update(ctx, func(tx Tx) error {
		if _, err := tx.FindPartner(partnerID); err != nil {
			return err
		}
		if err := tx.PutPartnerKey(key); err != nil {
			return err
		}
		return audit(tx, p, now, "partner.key_add", "partner", partnerID, []FieldChange{{Field: "key", After: key.ID}}, "")
	})
	if err != nil {
		return nil, "", err
	}
	return key, secret, nil
}

// RevokePartnerKey ends a key; admin only. Requests signed with it fail
// from now on.
func (ps *Partners) RevokePartnerKey(ctx context.Context, p *Principal, keyID string) (*PartnerKey, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	now := ps.now()
	var key *PartnerKey
	err := ps.Store.Update(ctx, func(tx Tx) error {
		var err error
		if key, err = tx.FindPartnerKey(keyID); err != nil {
			return err
		}
		if key.RevokedAt != nil {
			return nil
		}
		key.RevokedAt = &now
		if err := tx.PutPartnerKey(key); err != nil {
			return err
		}
		return audit(tx, p, now, "partner.key_revoke", "partner", key.PartnerID, []FieldChange{{Field: "key", Before: key.ID, After: "revoked"}}, "")
	})
	return key, err
}

// ListPartners returns every partner with its keys; admin only.
func (ps *Partners) ListPartners(ctx context.Context, p *Principal) ([]*Partner, map[string][]*PartnerKey, error) {
	if err := requireAdmin(p); err != nil {
		return nil, nil, err
	}
	var out []*Partner
	keys := map[string][]*PartnerKey{}
	err := ps.Store.View(ctx, func(tx Tx) error {
		var err error
		if out, err = tx.ListPartners(); err != nil {
			return err
		}
		for _, pt := range out {
			if keys[pt.ID], err = tx.ListPartnerKeys(pt.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if out == nil {
		out = []*Partner{}
	}
	return out, keys, err
}

// LookupKey returns a live key's secret and its partner, for verifying a
// signed request. Unknown, revoked and disabled all answer ENotFound.
func (ps *Partners) LookupKey(ctx context.Context, keyID string) ([]byte, *Partner, error) {
	var key *PartnerKey
	var partner *Partner
	err := ps.Store.View(ctx, func(tx Tx) error {
		var err error
		if key, err = tx.FindPartnerKey(keyID); err != nil {
			return err
		}
		partner, err = tx.FindPartner(key.PartnerID)
		return err
	})
	if err != nil {
		if ErrorCode(err) == ENotFound {
			return nil, nil, Errorf(ENotFound, "unknown key")
		}
		return nil, nil, err
	}
	if key.RevokedAt != nil || partner.Disabled {
		return nil, nil, Errorf(ENotFound, "unknown key")
	}
	secret, err := ps.Sealer.Open(key.SecretSealed, []byte(key.ID))
	if err != nil {
		return nil, nil, WrapError(EInternal, "", err)
	}
	return secret, partner, nil
}

// FindPartner returns a partner by ID.
func (ps *Partners) FindPartner(ctx context.Context, id string) (*Partner, error) {
	var p *Partner
	err := ps.Store.View(ctx, func(tx Tx) error {
		var err error
		p, err = tx.FindPartner(id)
		return err
	})
	return p, err
}

// SetWebhook sets the URL a partner's webhooks go to and makes a new
// signing secret for them, returned once; an empty URL turns webhooks off.
// Admin only.
func (ps *Partners) SetWebhook(ctx context.Context, p *Principal, partnerID, url string) (string, error) {
	if err := requireAdmin(p); err != nil {
		return "", err
	}
	if err := ValidateWebhookURL(url); err != nil {
		return "", err
	}
	// Standard Webhooks: "whsec_" and the base64 of the key's bytes.
	var key [32]byte
	rand.Read(key[:])
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key[:])
	sealed, err := ps.Sealer.Seal([]byte(secret), []byte("webhook:"+partnerID))
	if err != nil {
		return "", err
	}
	now := ps.now()
	err = ps.Store.Update(ctx, func(tx Tx) error {
		pt, err := tx.FindPartner(partnerID)
		if err != nil {
			return err
		}
		before := pt.WebhookURL
		pt.WebhookURL, pt.WebhookSecretSealed = url, sealed
		if url == "" {
			pt.WebhookSecretSealed = nil
		}
		if err := tx.UpdatePartner(pt); err != nil {
			return err
		}
		if err := resetReconNotices(tx, partnerID, before, url); err != nil {
			return err
		}
		return audit(tx, p, now, "partner.webhook", "partner", partnerID, []FieldChange{{Field: "webhook_url", Before: before, After: url}}, "new signing secret")
	})
	if err != nil || url == "" {
		return "", err
	}
	return secret, nil
}

// ValidateWebhookURL checks a partner's webhook URL as SetWebhook does; an
// empty URL (webhooks off) is valid.
func ValidateWebhookURL(url string) error {
	if url != "" && !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		return Errorf(EInvalid, "webhook_url must be an http(s) URL")
	}
	return nil
}

// WebhookTarget is a partner that takes webhooks, with its opened secret.
type WebhookTarget struct {
	Partner *Partner
	Secret  []byte
}

// WebhookTargets returns the partners with a webhook URL.
func (ps *Partners) WebhookTargets(ctx context.Context) ([]WebhookTarget, error) {
	var partners []*Partner
	if err := ps.Store.View(ctx, func(tx Tx) error {
		var err error
		partners, err = tx.ListPartners()
		return err
	}); err != nil {
		return nil, err
	}
	var out []WebhookTarget
	for _, pt := range partners {
		if pt.WebhookURL == "" || pt.Disabled || len(pt.WebhookSecretSealed) == 0 {
			continue
		}
		secret, err := ps.Sealer.Open(pt.WebhookSecretSealed, []byte("webhook:"+pt.ID))
		if err != nil {
			return nil, WrapError(EInternal, "", err)
		}
		out = append(out, WebhookTarget{Partner: pt, Secret: secret})
	}
	return out, nil
}

func webhookCursorKey(partnerID string) string { return "webhook_cursor/" + partnerID }

// WebhookCursor returns the change seq up to which a partner was told.
func (ps *Partners) WebhookCursor(ctx context.Context, partnerID string) (uint64, error) {
	var seq uint64
	err := ps.Store.View(ctx, func(tx Tx) error {
		v, err := tx.Meta(webhookCursorKey(partnerID))
		if err != nil || len(v) == 0 {
			return err
		}
		seq, err = strconv.ParseUint(string(v), 10, 64)
		return err
	})
	return seq, err
}

// RecordWebhook logs one delivery attempt in the audit log (object: the
// partner), and on success moves the partner's webhook cursor to upTo, in
// one transaction: a delivery is retried until it succeeds, at least once.
func (ps *Partners) RecordWebhook(ctx context.Context, partnerID, eventID, typ string, attempt int, ok bool, detail string, upTo uint64) error {
	now := ps.now()
	return ps.Store.Update(ctx, func(tx Tx) error {
		action := "webhook.failed"
		if ok {
			action = "webhook.delivered"
			if err := tx.SetMeta(webhookCursorKey(partnerID), []byte(strconv.FormatUint(upTo, 10))); err != nil {
				return err
			}
		}
		return audit(tx, SystemPrincipal("webhook"), now, action, "partner", partnerID, nil,
			fmt.Sprintf("%s %s attempt %d: %s", typ, eventID, attempt, detail))
	})
}

// RecordWebhookCursor moves a partner's webhook cursor without a delivery:
// the changes it passes were none of the partner's.
func (ps *Partners) RecordWebhookCursor(ctx context.Context, partnerID string, upTo uint64) error {
	return ps.Store.Update(ctx, func(tx Tx) error {
		return tx.SetMeta(webhookCursorKey(partnerID), []byte(strconv.FormatUint(upTo, 10)))
	})
}
