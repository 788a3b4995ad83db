package choso

import (
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

// Validate checks and tidies the account against the bank directory.
func (p *PayoutAccount) Validate(banks BankDirectory) error {
	p.BIN = strings.TrimSpace(p.BIN)
	p.Account = strings.ToUpper(strings.Join(strings.Fields(p.Account), ""))
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
	for _, r := range p.Account {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return Errorf(EInvalid, "account may hold only letters and digits")
		}
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
	Status        StallStatus   `json:"status"`
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
	if err := s.Payout.Validate(banks); err != nil {
		return err
	}
	return nil
}

// StallFilter selects stalls of one market, in code order.
type StallFilter struct {
	MarketID string
	Status   StallStatus // "" for any
	Query    string      // matches code, name, category or vendor name, diacritics ignored
	After    string      // keyset cursor: the last code of the previous page
	Limit    int
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
	// FindStallsByPhone returns every stall whose vendor has the E.164 phone.
	FindStallsByPhone(phone string) ([]*Stall, error)
	// CountStalls returns how many stalls a market has ("" for all markets).
	CountStalls(marketID string) (int, error)
}
