package choso

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// StallStatus says whether a stall trades on the system.
type StallStatus string

// The stall statuses.
const (
	StallActive    StallStatus = "active"
	StallSuspended StallStatus = "suspended" // its phones are refused; its QR stays printable
)

// PayoutService is how the payout account is addressed in a VietQR
// (VIETQR.md: 38.02).
type PayoutService string

// The payout services.
const (
	ServiceAccount PayoutService = "QRIBFTTA" // transfer to a bank account
	ServiceCard    PayoutService = "QRIBFTTC" // transfer to a card number
)

// ParsePayoutService accepts the codes and the CSV words "account" and "card".
func ParsePayoutService(s string) (PayoutService, bool) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "QRIBFTTA", "ACCOUNT", "":
		return ServiceAccount, true
	case "QRIBFTTC", "CARD":
		return ServiceCard, true
	}
	return "", false
}

// BankDirectory answers which BINs exist. The qr package's directory
// implements it; the root package does not import qr.
type BankDirectory interface {
	// LookupBIN returns the BIN to store for bin (the one VietQR lists use,
	// where lists differ) and the bank's short name, or ok false.
	LookupBIN(bin string) (canonical, shortName string, ok bool)
}

// PayoutAccount is where a stall's money goes.
type PayoutAccount struct {
	BIN     string        `json:"bin"`     // 6 digits, from the NAPAS directory
	Account string        `json:"account"` // account or card number: A–Z and 0–9, at most 19
	Service PayoutService `json:"service"`
	Holder  string        `json:"holder_name"` // as the bank has it, diacritics kept
}

// accountChars reports whether an account number, upper-cased, holds only
// letters and digits.
func accountChars(s string) bool {
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// normalAccount is an account number as stored and matched: upper case,
// without the spaces of its printed groups. Every place that takes an
// account from outside reads it so, or one written "0011 0012 34567" finds
// its stall in one place and not in another.
func normalAccount(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

// Validate checks and tidies the account against the bank directory.
func (p *PayoutAccount) Validate(banks BankDirectory) error {
	p.BIN = strings.TrimSpace(p.BIN)
	p.Account = normalAccount(p.Account)
	p.Holder = strings.Join(strings.Fields(p.Holder), " ")
	svc, ok := ParsePayoutService(string(p.Service))
	if !ok {
		return Errorf(EInvalid, "service %q: want QRIBFTTA (account) or QRIBFTTC (card)", p.Service)
	}
	p.Service = svc
	if len(p.BIN) != 6 || !allDigits(p.BIN) {
		return Errorf(EInvalid, "bin %q: want the bank's 6-digit BIN", p.BIN)
	}
	canonical, _, ok := banks.LookupBIN(p.BIN)
	if !ok {
		return Errorf(EInvalid, "bin %s is not in the NAPAS bank directory", p.BIN)
	}
	p.BIN = canonical
	if p.Account == "" || len(p.Account) > 19 {
		return Errorf(EInvalid, "account must be 1–19 characters")
	}
	if !accountChars(p.Account) {
		return Errorf(EInvalid, "account may hold only letters and digits")
	}
	if p.Service == ServiceCard && (!allDigits(p.Account) || len(p.Account) < 12) {
		return Errorf(EInvalid, "a card number is 12–19 digits")
	}
	if p.Holder == "" || utf8.RuneCountInString(p.Holder) > 70 {
		return Errorf(EInvalid, "holder_name must be 1–70 characters")
	}
	return nil
}

// Vendor is the person who runs a stall. Name and phone are personal data
// (Law 91/2025/QH15): masked in lists, kept out of logs, erasable.
type Vendor struct {
	Name  string `json:"name"`
	Phone string `json:"phone"` // E.164, "+84912345678"
}

// Consent records the vendor's agreement to the processing of their data.
type Consent struct {
	RecordedBy    string    `json:"recorded_by"` // user ID of the volunteer
	RecordedAt    time.Time `json:"recorded_at"`
	NoticeVersion string    `json:"notice_version"` // version of the privacy notice shown
}

// CurrentNoticeVersion is the privacy notice volunteers show vendors now.
const CurrentNoticeVersion = "2026-01"

// PayoutChange is a proposed new payout account waiting for a second person.
type PayoutChange struct {
	Account    PayoutAccount `json:"account"`
	ProposedBy string        `json:"proposed_by"` // user ID
	ProposedAt time.Time     `json:"proposed_at"`
}

// FormerPayout is a payout account a stall had before an approved change,
// and when the change took it out of force. A customer may still pay it
// from a card printed before, and its bank may post that credit late: such
// a credit still belongs to the stall.
type FormerPayout struct {
	Account PayoutAccount `json:"account"`
	Until   time.Time     `json:"until"`
}

// MaxFormerPayouts bounds the former payout accounts a stall keeps.
const MaxFormerPayouts = 3

// Stall is one vendor's pitch in a market, with the account its QR pays.
type Stall struct {
	ID            string        `json:"id"`
	MarketID      string        `json:"market_id"`
	CommuneCode   string        `json:"commune_code"`  // the market's, copied for scope checks
	ProvinceCode  string        `json:"province_code"` // the market's
	Code          string        `json:"code"`          // unique in its market: "A-12"
	Name          string        `json:"name"`          // "Bún chả cô Lan"
	Category      string        `json:"category"`      // goods: "Rau củ", "Thịt cá", …
	Vendor        Vendor        `json:"vendor"`
	Payout        PayoutAccount `json:"payout"`
	PendingPayout *PayoutChange `json:"pending_payout,omitempty"`
	// FormerPayouts are the accounts Payout replaced, newest first, at most
	// MaxFormerPayouts: bank credits to them are matched to the stall.
	FormerPayouts []FormerPayout `json:"former_payouts,omitempty"`
	Status        StallStatus    `json:"status"`
	// QRVersion goes up with every payout change; printed cards show it, so
	// a stale card can be spotted.
	QRVersion int `json:"qr_version"`
	// ConfigVersion goes up with every change its phones must pull.
	ConfigVersion int        `json:"config_version"`
	Consent       Consent    `json:"consent"`
	ErasedAt      *time.Time `json:"erased_at,omitempty"` // personal fields erased (DESIGN.md §11)
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	CreatedBy     string     `json:"created_by"`
}

// NormalizeStallCode returns a stall code as stored: upper-case, trimmed.
func NormalizeStallCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// Validate checks and tidies a stall's own fields; the payout account is
// checked against banks.
func (s *Stall) Validate(banks BankDirectory) error {
	s.Code = NormalizeStallCode(s.Code)
	s.Name = strings.Join(strings.Fields(s.Name), " ")
	s.Category = strings.Join(strings.Fields(s.Category), " ")
	s.Vendor.Name = strings.Join(strings.Fields(s.Vendor.Name), " ")
	if s.Status == "" {
		s.Status = StallActive
	}
	if n := len(s.Code); n < 1 || n > 16 {
		return Errorf(EInvalid, "code must be 1–16 characters, e.g. A-12")
	}
	for _, r := range s.Code {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '/') {
			return Errorf(EInvalid, "code %q may hold only letters, digits, '-', '.' and '/'", s.Code)
		}
	}
	switch {
	case s.Name == "" || utf8.RuneCountInString(s.Name) > 80:
		return Errorf(EInvalid, "name must be 1–80 characters")
	case utf8.RuneCountInString(s.Category) > 60:
		return Errorf(EInvalid, "category must be at most 60 characters")
	case s.Status != StallActive && s.Status != StallSuspended:
		return Errorf(EInvalid, "status must be active or suspended")
	}
	if s.ErasedAt == nil {
		if s.Vendor.Name == "" || utf8.RuneCountInString(s.Vendor.Name) > 80 {
			return Errorf(EInvalid, "vendor name must be 1–80 characters")
		}
		phone, err := NormalizePhone(s.Vendor.Phone)
		if err != nil {
			return err
		}
		s.Vendor.Phone = phone
	}
	if s.ErasedAt != nil {
		return nil // the payout account was masked on erasure; it is kept as it is
	}
	return s.Payout.Validate(banks)
}

// StallFilter selects stalls of one market, in code order.
type StallFilter struct {
	MarketID string
	Status   StallStatus // "" for any
	Query    string      // matches code, name, category or vendor name, diacritics ignored
	After    string      // keyset cursor: the last code of the previous page
	Limit    int
}

// StallRef names a stall of a market without its record.
type StallRef struct {
	ID        string
	Code      string
	CreatedAt time.Time // when it was registered
}

// StallTx keeps stalls.
type StallTx interface {
	// CreateStall stores a new stall. Returns EConflict if its code is
	// taken in its market or the ID exists, ENotFound if the market is missing.
	CreateStall(s *Stall) error
	// UpdateStall replaces a stall, moving its code index and phone index
	// when they change. Returns ENotFound if there is none, EConflict if a
	// changed code is taken in the market.
	UpdateStall(s *Stall) error
	// FindStall returns ENotFound if there is no stall with id.
	FindStall(id string) (*Stall, error)
	// FindStallByCode takes a normalized code; ENotFound if none.
	FindStallByCode(marketID, code string) (*Stall, error)
	// ListStalls returns up to f.Limit stalls of f.MarketID matching f, in
	// code order, starting after the code f.After.
	ListStalls(f StallFilter) ([]*Stall, error)
	// ListStallRefs returns up to limit of a market's stalls, every status,
	// as ID, code and registration time, in code order after the code
	// after: what a walk over every stall needs (the reports, the event
	// check), without reading and decoding each stall's record. Limit 0 or
	// less means the store's default page.
	ListStallRefs(marketID, after string, limit int) ([]StallRef, error)
	// FindStallsByPhone returns every stall whose vendor has the E.164 phone.
	FindStallsByPhone(phone string) ([]*Stall, error)
	// CountStalls returns how many stalls a market has ("" for all markets).
	CountStalls(marketID string) (int, error)
}

// Masked returns a copy of s with the vendor's phone and the account number
// masked, for lists (DESIGN.md §11).
func (s *Stall) Masked() *Stall {
	c := *s
	c.Vendor.Phone = MaskPhone(c.Vendor.Phone)
	c.Payout.Account = MaskAccount(c.Payout.Account)
	if c.PendingPayout != nil {
		pp := *c.PendingPayout
		pp.Account.Account = MaskAccount(pp.Account.Account)
		c.PendingPayout = &pp
	}
	if c.FormerPayouts != nil {
		c.FormerPayouts = slices.Clone(c.FormerPayouts)
		for i := range c.FormerPayouts {
			c.FormerPayouts[i].Account.Account = MaskAccount(c.FormerPayouts[i].Account.Account)
		}
	}
	return &c
}

// PayoutAccounts returns the accounts bank credits to the stall may go
// to: its payout account, then its former ones, each BIN and account once.
func (s *Stall) PayoutAccounts() []PayoutAccount {
	list := []PayoutAccount{s.Payout}
	for _, f := range s.FormerPayouts {
		if !slices.ContainsFunc(list, func(a PayoutAccount) bool { return a.BIN == f.Account.BIN && a.Account == f.Account.Account }) {
			list = append(list, f.Account)
		}
	}
	return list
}

// PayoutAt returns the payout account in force at t: the current one, or
// the former one whose time had not yet ended then. Before the oldest
// former account kept, it is that one: the stall keeps MaxFormerPayouts,
// and an account older still is forgotten.
func (s *Stall) PayoutAt(t time.Time) PayoutAccount {
	in := s.Payout
	for _, f := range s.FormerPayouts { // newest first
		if !t.Before(f.Until) {
			break
		}
		in = f.Account
	}
	return in
}

// NewStall is what a volunteer gives to register a stall. ConsentGiven
// records that the vendor agreed to the privacy notice of NoticeVersion
// (CurrentNoticeVersion when empty); without it nothing is stored.
type NewStall struct {
	Code          string
	Name          string
	Category      string
	VendorName    string
	VendorPhone   string
	Payout        PayoutAccount
	ConsentGiven  bool
	NoticeVersion string
}

// newStall validates in as a stall of m, without storing it.
func (r *Registry) newStall(p *Principal, m *Market, in NewStall, now time.Time) (*Stall, error) {
	if !in.ConsentGiven {
		return nil, Errorf(EInvalid, "record the vendor's consent (consent_given) before registering their data")
	}
	notice := in.NoticeVersion
	if notice == "" {
		notice = CurrentNoticeVersion
	}
	s := &Stall{
		ID: NewID(PrefixStall), MarketID: m.ID, CommuneCode: m.CommuneCode, ProvinceCode: m.ProvinceCode,
		Code: in.Code, Name: in.Name, Category: in.Category,
		Vendor: Vendor{Name: in.VendorName, Phone: in.VendorPhone}, Payout: in.Payout,
		Status: StallActive, QRVersion: 1, ConfigVersion: 1,
		Consent:   Consent{RecordedBy: p.UserID, RecordedAt: now, NoticeVersion: notice},
		CreatedAt: now, UpdatedAt: now, CreatedBy: p.UserID,
	}
	if err := s.Validate(r.Banks); err != nil {
		return nil, err
	}
	return s, nil
}

func stallCreatedChanges(s *Stall) changeSet {
	var cs changeSet
	cs.add("code", "", s.Code)
	cs.add("name", "", s.Name)
	cs.add("category", "", s.Category)
	cs.add("vendor_name", "", MaskName(s.Vendor.Name))
	cs.add("vendor_phone", "", MaskPhone(s.Vendor.Phone))
	cs.add("payout", "", payoutSummary(s.Payout))
	cs.add("consent", "", s.Consent.NoticeVersion)
	return cs
}

// payoutSummary describes an account for the audit log, number and holder
// masked: the log is append-only, so what a vendor's erasure must remove is
// never written to it.
func payoutSummary(p PayoutAccount) string {
	return p.BIN + " " + MaskAccount(p.Account) + " " + string(p.Service) + " " + MaskName(p.Holder)
}

// requireWrite returns EForbidden for a principal that only reads.
func requireWrite(p *Principal, what string) error {
	if !p.CanWrite() {
		return Errorf(EForbidden, "officials read figures; they do not %s", what)
	}
	return nil
}

// CreateStall registers a stall in a market of p's scope.
func (r *Registry) CreateStall(ctx context.Context, p *Principal, marketID string, in NewStall) (*Stall, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	now := r.now()
	var s *Stall
	err := r.Store.Update(ctx, func(tx Tx) error {
		m, err := findMarketInScope(tx, p, marketID)
		if err != nil {
			return err
		}
		if err := requireWrite(p, "register stalls"); err != nil {
			return err
		}
		if s, err = r.newStall(p, m, in, now); err != nil {
			return err
		}
		if err := tx.CreateStall(s); err != nil {
			return err
		}
		return audit(tx, p, now, "stall.create", "stall", s.ID, stallCreatedChanges(s), "")
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// findStallInScope returns the stall, or ENotFound when it does not exist or
// its market lies outside p's scope.
func findStallInScope(tx Tx, p *Principal, id string) (*Stall, error) {
	if !ValidID(PrefixStall, id) {
		return nil, Errorf(ENotFound, "no such stall")
	}
	s, err := tx.FindStall(id)
	if err != nil {
		return nil, err
	}
	if !p.Covers(s.CommuneCode, s.ProvinceCode) {
		return nil, Errorf(ENotFound, "no such stall")
	}
	return s, nil
}

// FindStall returns a stall in p's scope.
func (r *Registry) FindStall(ctx context.Context, p *Principal, id string) (*Stall, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	var s *Stall
	err := r.Store.View(ctx, func(tx Tx) error {
		var err error
		s, err = findStallInScope(tx, p, id)
		return err
	})
	return s, err
}

// updateStalls applies edit to every stall of a market, in code order, and
// stores each with UpdatedAt now.
func updateStalls(tx Tx, marketID string, now time.Time, edit func(*Stall)) error {
	for after := ""; ; {
		stalls, err := tx.ListStalls(StallFilter{MarketID: marketID, After: after, Limit: MaxPageSize})
		if err != nil || len(stalls) == 0 { // a store may return fewer than asked: stop at an empty page
			return err
		}
		for _, s := range stalls {
			edit(s)
			s.UpdatedAt = now
			if err := tx.UpdateStall(s); err != nil {
				return err
			}
			after = s.Code
		}
	}
}

// ListStalls returns a page of a market's stalls in code order.
func (r *Registry) ListStalls(ctx context.Context, p *Principal, f StallFilter) (*Page[*Stall], error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	want := pageLimit(f.Limit)
	f.Limit = want + 1
	var ss []*Stall
	err := r.Store.View(ctx, func(tx Tx) error {
		if _, err := findMarketInScope(tx, p, f.MarketID); err != nil {
			return err
		}
		var err error
		ss, err = tx.ListStalls(f)
		return err
	})
	if err != nil {
		return nil, err
	}
	return pageOf(ss, want, func(x *Stall) string { return x.Code }), nil
}

// StallPatch changes a stall's own fields; nil fields stay. The payout
// account changes only through ProposePayoutChange and a second person's
// approval.
type StallPatch struct {
	Code        *string
	Name        *string
	Category    *string
	VendorName  *string
	VendorPhone *string
	Status      *StallStatus
}

// Apply sets the fields the patch names on s, unchecked: UpdateStall
// checks them, and a form that failed shows what was typed with them.
func (p StallPatch) Apply(s *Stall) {
	for _, f := range []struct {
		dst *string
		v   *string
	}{{&s.Code, p.Code}, {&s.Name, p.Name}, {&s.Category, p.Category}, {&s.Vendor.Name, p.VendorName}, {&s.Vendor.Phone, p.VendorPhone}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if p.Status != nil {
		s.Status = *p.Status
	}
}

// changeStall runs change on a stall of p's scope inside one write
// transaction, after the checks every stall change shares: a signed-in
// principal who may write (what names the act for the error), and a stall
// that exists in scope.
func (r *Registry) changeStall(ctx context.Context, p *Principal, id, what string, change func(tx Tx, s *Stall, now time.Time) error) (*Stall, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	now := r.now()
	var s *Stall
	err := r.Store.Update(ctx, func(tx Tx) error {
		var err error
		if s, err = findStallInScope(tx, p, id); err != nil {
			return err
		}
		if err := requireWrite(p, what); err != nil {
			return err
		}
		return change(tx, s, now)
	})
	return s, err
}

// UpdateStall applies patch to a stall in p's scope. Suspending or
// reactivating bumps the config version, so phones learn of it.
func (r *Registry) UpdateStall(ctx context.Context, p *Principal, id string, patch StallPatch) (*Stall, error) {
	return r.changeStall(ctx, p, id, "change stalls", func(tx Tx, s *Stall, now time.Time) error {
		before := *s
		if s.ErasedAt != nil {
			// The edit page sends the fields back as they are shown: only a
			// change to them is refused, and so is selling again.
			if (patch.VendorName != nil && *patch.VendorName != s.Vendor.Name) || (patch.VendorPhone != nil && *patch.VendorPhone != s.Vendor.Phone) {
				return Errorf(EConflict, "this vendor's personal data was erased; register the stall anew")
			}
			if patch.Status != nil && *patch.Status == StallActive {
				return Errorf(EConflict, "this vendor's personal data was erased: the stall cannot sell again; register it anew")
			}
		}
		patch.Apply(s)
		if err := s.Validate(r.Banks); err != nil {
			return err
		}
		var cs changeSet
		cs.add("code", before.Code, s.Code)
		cs.add("name", before.Name, s.Name)
		cs.add("category", before.Category, s.Category)
		cs.add("vendor_name", MaskName(before.Vendor.Name), MaskName(s.Vendor.Name))
		cs.add("vendor_phone", MaskPhone(before.Vendor.Phone), MaskPhone(s.Vendor.Phone))
		cs.add("status", string(before.Status), string(s.Status))
		if len(cs) == 0 {
			return nil
		}
		s.ConfigVersion++ // every field here shows on the phone
		s.UpdatedAt = now
		if err := tx.UpdateStall(s); err != nil {
			return err
		}
		return audit(tx, p, now, "stall.update", "stall", s.ID, cs, "")
	})
}

// ProposePayoutChange records a new payout account for a stall, to take
// effect when a second person approves it. A new proposal replaces a
// pending one.
func (r *Registry) ProposePayoutChange(ctx context.Context, p *Principal, id string, account PayoutAccount) (*Stall, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	if err := account.Validate(r.Banks); err != nil {
		return nil, err
	}
	return r.changeStall(ctx, p, id, "change payout accounts", func(tx Tx, s *Stall, now time.Time) error {
		if account == s.Payout {
			return Errorf(EInvalid, "this is the stall's current payout account")
		}
		old, at := "", now
		if s.PendingPayout != nil {
			old = payoutSummary(s.PendingPayout.Account)
			// ProposedAt names the proposal an approver saw: a new one
			// gets a later time, even from a clock that has not moved.
			if !at.After(s.PendingPayout.ProposedAt) {
				at = s.PendingPayout.ProposedAt.Add(time.Millisecond)
			}
		}
		s.PendingPayout = &PayoutChange{Account: account, ProposedBy: p.UserID, ProposedAt: at}
		s.UpdatedAt = now
		if err := tx.UpdateStall(s); err != nil {
			return err
		}
		return audit(tx, p, now, "stall.payout_propose", "stall", s.ID,
			[]FieldChange{{Field: "pending_payout", Before: old, After: payoutSummary(account)}},
			"current payout "+payoutSummary(s.Payout))
	})
}

// ApprovePayoutChange applies a stall's pending payout account. The approver
// must be another person than the proposer: a volunteer in scope or an admin.
// The change bumps the QR version (printed cards show it) and the config
// version (phones pull the new QR).
//
// seen, when not zero, is the ProposedAt of the proposal the approver
// reviewed: a proposal replaced since (by its proposer, say, with another
// account) is not approved unseen; the answer is EConflict.
func (r *Registry) ApprovePayoutChange(ctx context.Context, p *Principal, id string, seen time.Time) (*Stall, error) {
	return r.decidePayoutChange(ctx, p, id, true, seen)
}

// RejectPayoutChange drops a stall's pending payout account. Anyone who may
// write the stall may reject, the proposer included.
func (r *Registry) RejectPayoutChange(ctx context.Context, p *Principal, id string) (*Stall, error) {
	return r.decidePayoutChange(ctx, p, id, false, time.Time{})
}

func (r *Registry) decidePayoutChange(ctx context.Context, p *Principal, id string, approve bool, seen time.Time) (*Stall, error) {
	return r.changeStall(ctx, p, id, "approve payout accounts", func(tx Tx, s *Stall, now time.Time) error {
		pending := s.PendingPayout
		if pending == nil {
			return Errorf(EConflict, "this stall has no pending payout change")
		}
		if approve && !seen.IsZero() && !seen.Equal(pending.ProposedAt) {
			return Errorf(EConflict, "the payout change was proposed again since you opened it; review the new account before approving")
		}
		s.PendingPayout = nil
		s.UpdatedAt = now
		if !approve {
			if err := tx.UpdateStall(s); err != nil {
				return err
			}
			return audit(tx, p, now, "stall.payout_reject", "stall", s.ID,
				[]FieldChange{{Field: "pending_payout", Before: payoutSummary(pending.Account), After: ""}}, "")
		}
		if pending.ProposedBy == p.UserID {
			return Errorf(EForbidden, "a payout change needs a second person: ask another volunteer or an admin to approve it")
		}
		before := s.Payout
		s.Payout = pending.Account
		s.FormerPayouts = append([]FormerPayout{{Account: before, Until: now}}, s.FormerPayouts...)
		s.FormerPayouts = s.FormerPayouts[:min(len(s.FormerPayouts), MaxFormerPayouts)]
		s.QRVersion++
		s.ConfigVersion++
		if err := tx.UpdateStall(s); err != nil {
			return err
		}
		return audit(tx, p, now, "stall.payout_approve", "stall", s.ID,
			[]FieldChange{
				{Field: "payout", Before: payoutSummary(before), After: payoutSummary(s.Payout)},
				{Field: "qr_version", Before: strconv.Itoa(s.QRVersion - 1), After: strconv.Itoa(s.QRVersion)},
			}, "proposed by "+pending.ProposedBy)
	})
}
