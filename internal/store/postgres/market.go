package postgres

import (
	"strings"

	"github.com/choso/choso"
)

// checkMarketKeys refuses what the bbolt store refuses; see keySep.
func checkMarketKeys(m *choso.Market) error {
	if err := checkKeyPart("market ID", m.ID); err != nil {
		return err
	}
	if err := checkKeyPart("market commune code", m.CommuneCode); err != nil {
		return err
	}
	if strings.Contains(m.ProvinceCode, keySep) {
		return choso.Errorf(choso.EInvalid, "market province code %q must not contain %q", m.ProvinceCode, keySep)
	}
	return nil
}

// CreateMarket stores a new market; see choso.MarketTx. It also returns
// EInvalid for an empty ID or commune code.
func (tx *Tx) CreateMarket(m *choso.Market) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if err := checkMarketKeys(m); err != nil {
		return err
	}
	doc, err := marshal(m)
	if err != nil {
		return err
	}
	n, err := tx.exec(`INSERT INTO markets (id, commune_code, province_code, doc) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO NOTHING`, m.ID, m.CommuneCode, m.ProvinceCode, doc)
	if err != nil {
		return err
	}
	if n == 0 {
		return choso.Errorf(choso.EConflict, "market %s already exists", m.ID)
	}
	return nil
}

// UpdateMarket replaces a market; see choso.MarketTx. A market's stalls keep
// the region codes they copied: updating them is the caller's business.
func (tx *Tx) UpdateMarket(m *choso.Market) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if err := checkMarketKeys(m); err != nil {
		return err
	}
	doc, err := marshal(m)
	if err != nil {
		return err
	}
	n, err := tx.exec("UPDATE markets SET commune_code = $2, province_code = $3, doc = $4 WHERE id = $1",
		m.ID, m.CommuneCode, m.ProvinceCode, doc)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("no market with ID %q", m.ID)
	}
	return nil
}

// FindMarket returns the market with id; see choso.MarketTx.
func (tx *Tx) FindMarket(id string) (*choso.Market, error) {
	var m choso.Market
	found, err := tx.getDoc(&m, "SELECT doc FROM markets WHERE id = $1", id)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("no market with ID %q", id)
	}
	return &m, nil
}

// ListMarkets returns up to f.Limit markets matching f in ID order after
// f.After; see choso.MarketTx. Limit 0 or less means DefaultListLimit, and it
// is capped at MaxListLimit. The name query ignores diacritics by the root
// package's rule, so it is applied here, to rows read in ID order until the
// page is full.
func (tx *Tx) ListMarkets(f choso.MarketFilter) ([]*choso.Market, error) {
	limit := listLimit(f.Limit)
	where, args := "markets WHERE id > $1", []any{}
	if len(f.Communes) > 0 || len(f.Provinces) > 0 {
		where += " AND (commune_code = ANY($2) OR province_code = ANY($3))"
		args = append(args, nonNil(f.Communes), nonNil(f.Provinces))
	}
	return filterPage(tx, "id", where, f.After, args, limit, func(m *choso.Market) bool {
		return choso.MatchText(m.Name, f.Query)
	})
}

// CountMarkets returns how many markets exist; see choso.MarketTx.
func (tx *Tx) CountMarkets() (int, error) {
	return tx.count("SELECT count(*) FROM markets")
}
