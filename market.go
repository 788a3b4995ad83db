package choso

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// DefaultTimeZone is the time zone business days are counted in unless a
// market says otherwise.
const DefaultTimeZone = "Asia/Ho_Chi_Minh"

// zones holds the time zones LoadLocation has loaded.
var zones sync.Map // IANA name → *time.Location

// LoadLocation returns the time zone with an IANA name, "" meaning
// DefaultTimeZone. time.LoadLocation reads the zone database from disk on
// every call; this reads each name once for the life of the process, so
// the push path, the partner side and the pages can ask for a market's
// zone as often as they need it. Safe for concurrent use.
func LoadLocation(name string) (*time.Location, error) {
	if name == "" {
		name = DefaultTimeZone
	}
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	actual, _ := zones.LoadOrStore(name, l) // two first callers agree on one
	return actual.(*time.Location), nil
}

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

// NewMarket is what a volunteer gives to register a market.
type NewMarket struct {
	Name        string
	CommuneCode string
	Address     string
	TimeZone    string
}

// CreateMarket registers a market in a commune of p's scope.
func (r *Registry) CreateMarket(ctx context.Context, p *Principal, in NewMarket) (*Market, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	if !p.CanWrite() {
		return nil, Errorf(EForbidden, "officials read figures; they do not register markets")
	}
	now := r.now()
	m := &Market{ID: NewID(PrefixMarket), Name: in.Name, CommuneCode: in.CommuneCode, Address: in.Address, TimeZone: in.TimeZone,
		CreatedAt: now, UpdatedAt: now, CreatedBy: p.UserID}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	err := r.Store.Update(ctx, func(tx Tx) error {
		commune, err := tx.FindRegion(m.CommuneCode)
		if ErrorCode(err) == ENotFound {
			return Errorf(EInvalid, "commune_code %s: no such commune", m.CommuneCode)
		} else if err != nil {
			return err
		}
		if commune.Level != LevelCommune {
			return Errorf(EInvalid, "commune_code %s is a province; give a commune", m.CommuneCode)
		}
		m.ProvinceCode = commune.ParentCode
		if !p.Covers(m.CommuneCode, m.ProvinceCode) {
			return Errorf(EForbidden, "commune %s is not in your scope", m.CommuneCode)
		}
		if err := tx.CreateMarket(m); err != nil {
			return err
		}
		var cs changeSet
		cs.add("name", "", m.Name)
		cs.add("commune_code", "", m.CommuneCode)
		cs.add("address", "", m.Address)
		cs.add("time_zone", "", m.TimeZone)
		return audit(tx, p, now, "market.create", "market", m.ID, cs, "")
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// findMarketInScope returns the market, or ENotFound when it does not exist
// or lies outside p's scope.
func findMarketInScope(tx Tx, p *Principal, id string) (*Market, error) {
	if !ValidID(PrefixMarket, id) {
		return nil, Errorf(ENotFound, "no such market")
	}
	m, err := tx.FindMarket(id)
	if err != nil {
		return nil, err
	}
	if !p.Covers(m.CommuneCode, m.ProvinceCode) {
		return nil, Errorf(ENotFound, "no such market")
	}
	return m, nil
}

// FindMarket returns a market in p's scope.
func (r *Registry) FindMarket(ctx context.Context, p *Principal, id string) (*Market, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	var m *Market
	err := r.Store.View(ctx, func(tx Tx) error {
		var err error
		m, err = findMarketInScope(tx, p, id)
		return err
	})
	return m, err
}

// MarketPatch changes a market's name, address or time zone; nil fields stay.
// A market does not move between communes: register a new one instead.
type MarketPatch struct {
	Name     *string
	Address  *string
	TimeZone *string
}

// UpdateMarket applies patch to a market in p's scope.
func (r *Registry) UpdateMarket(ctx context.Context, p *Principal, id string, patch MarketPatch) (*Market, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	now := r.now()
	var m *Market
	err := r.Store.Update(ctx, func(tx Tx) error {
		var err error
		if m, err = findMarketInScope(tx, p, id); err != nil {
			return err
		}
		if !p.CanWrite() {
			return Errorf(EForbidden, "officials read figures; they do not change markets")
		}
		before := *m
		if patch.Name != nil {
			m.Name = *patch.Name
		}
		if patch.Address != nil {
			m.Address = *patch.Address
		}
		if patch.TimeZone != nil {
			m.TimeZone = *patch.TimeZone
		}
		if err := m.Validate(); err != nil {
			return err
		}
		var cs changeSet
		cs.add("name", before.Name, m.Name)
		cs.add("address", before.Address, m.Address)
		cs.add("time_zone", before.TimeZone, m.TimeZone)
		if len(cs) == 0 {
			return nil
		}
		m.UpdatedAt = now
		if err := tx.UpdateMarket(m); err != nil {
			return err
		}
		if m.Name != before.Name || m.TimeZone != before.TimeZone {
			// Both show on the phones (their config, their business day):
			// each stall's next push tells its phones to pull it again.
			if err := updateStalls(tx, m.ID, now, func(s *Stall) { s.ConfigVersion++ }); err != nil {
				return err
			}
		}
		return audit(tx, p, now, "market.update", "market", m.ID, cs, "")
	})
	return m, err
}

// ListMarkets returns a page of the markets in p's scope whose name matches
// query, after cursor (the last ID of the previous page).
func (r *Registry) ListMarkets(ctx context.Context, p *Principal, f MarketFilter) (*Page[*Market], error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	want := pageLimit(f.Limit)
	f.Limit = want + 1
	var ms []*Market
	err := r.Store.View(ctx, func(tx Tx) error {
		if !p.IsAdmin() {
			var err error
			if f.Communes, f.Provinces, err = scopeFilter(tx, p, f.Communes, f.Provinces); err != nil {
				return err
			}
			if len(f.Communes) == 0 && len(f.Provinces) == 0 {
				return nil // a filter wholly outside the scope selects nothing
			}
		}
		var err error
		ms, err = tx.ListMarkets(f)
		return err
	})
	if err != nil {
		return nil, err
	}
	return pageOf(ms, want, func(x *Market) string { return x.ID }), nil
}

// scopeFilter narrows a requested region filter to p's scope. With no
// request, the filter is the scope itself. A requested commune stays when p
// covers it; a requested province stays whole when p covers the province,
// and otherwise becomes the communes of p's scope that lie in it.
func scopeFilter(tx Tx, p *Principal, communes, provinces []string) ([]string, []string, error) {
	var scopeCommunes, scopeProvinces []string
	for _, c := range p.Scope {
		if LevelOf(c) == LevelProvince {
			scopeProvinces = append(scopeProvinces, c)
		} else {
			scopeCommunes = append(scopeCommunes, c)
		}
	}
	if len(communes) == 0 && len(provinces) == 0 {
		return scopeCommunes, scopeProvinces, nil
	}
	parent := func(commune string) (string, error) {
		reg, err := tx.FindRegion(commune)
		if ErrorCode(err) == ENotFound {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		return reg.ParentCode, nil
	}
	var outC, outP []string
	for _, c := range communes {
		pr, err := parent(c)
		if err != nil {
			return nil, nil, err
		}
		if p.Covers(c, pr) {
			outC = append(outC, c)
		}
	}
	for _, pr := range provinces {
		if slices.Contains(scopeProvinces, pr) {
			outP = append(outP, pr)
			continue
		}
		for _, c := range scopeCommunes {
			cp, err := parent(c)
			if err != nil {
				return nil, nil, err
			}
			if cp == pr && !slices.Contains(outC, c) {
				outC = append(outC, c)
			}
		}
	}
	return outC, outP, nil
}
