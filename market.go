package choso

import (
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultTimeZone is the time zone business days are counted in unless a
// market says otherwise.
const DefaultTimeZone = "Asia/Ho_Chi_Minh"

// Market is a traditional market (chợ) in one commune.
type Market struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"` // "Chợ Bắc Giang", with diacritics
	CommuneCode  string    `json:"commune_code"`
	ProvinceCode string    `json:"province_code"` // the commune's province, set by the server
	Address      string    `json:"address"`
	TimeZone     string    `json:"time_zone"` // IANA name; business days are counted in it
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	CreatedBy    string    `json:"created_by"` // user ID
}

// Validate checks and tidies a market's own fields.
func (m *Market) Validate() error {
	m.Name = strings.TrimSpace(m.Name)
	m.Address = strings.TrimSpace(m.Address)
	if m.TimeZone == "" {
		m.TimeZone = DefaultTimeZone
	}
	switch {
	case m.Name == "" || utf8.RuneCountInString(m.Name) > 120:
		return Errorf(EInvalid, "name must be 1–120 characters")
	case LevelOf(m.CommuneCode) != LevelCommune:
		return Errorf(EInvalid, "commune_code %q: want a 5-digit commune code", m.CommuneCode)
	case utf8.RuneCountInString(m.Address) > 200:
		return Errorf(EInvalid, "address must be at most 200 characters")
	case !utf8.ValidString(m.Name) || !utf8.ValidString(m.Address):
		return Errorf(EInvalid, "name and address must be valid UTF-8")
	}
	if _, err := time.LoadLocation(m.TimeZone); err != nil {
		return Errorf(EInvalid, "time_zone %q is not a known IANA zone", m.TimeZone)
	}
	return nil
}

// MarketFilter selects markets for a list. A market matches when it lies in
// one of Communes or Provinces (both empty: every market) and its name
// contains Query, ignoring case and Vietnamese diacritics.
type MarketFilter struct {
	Communes  []string
	Provinces []string
	Query     string
	After     string // keyset cursor: the last ID of the previous page
	Limit     int
}

// MarketTx keeps markets.
type MarketTx interface {
	// CreateMarket stores a new market. Returns EConflict if the ID exists.
	CreateMarket(m *Market) error
	// UpdateMarket replaces a market. Returns ENotFound if there is none.
	UpdateMarket(m *Market) error
	// FindMarket returns ENotFound if there is no market with id.
	FindMarket(id string) (*Market, error)
	// ListMarkets returns up to f.Limit markets matching f in ID order,
	// starting after f.After.
	ListMarkets(f MarketFilter) ([]*Market, error)
	// CountMarkets returns how many markets exist.
	CountMarkets() (int, error)
}
