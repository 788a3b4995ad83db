package bolt

import (
	"slices"
	"strings"

	"github.com/choso/choso"
	bolt "go.etcd.io/bbolt"
)

func (tx *Tx) getMarket(id string) (*choso.Market, error) {
	raw := tx.bucket(bucketMarkets).Get([]byte(id))
	if raw == nil {
		return nil, choso.Errorf(choso.ENotFound, "no market with ID %q", id)
	}
	if m, ok := tx.db.markets.get(id, raw); ok {
		return m, nil
	}
	var m choso.Market
	if err := jsonUnmarshal(raw, &m); err != nil {
		return nil, err
	}
	tx.db.markets.put(id, raw, &m)
	return &m, nil
}

// checkMarketKeys refuses a market whose ID or region codes cannot be index
// keys.
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

// marketIndexes are the region indexes of markets, each keyed by a code
// the market has and its ID. A market without a province code (the server
// sets it) is simply not in the province index.
var marketIndexes = []struct {
	bucket []byte
	code   func(*choso.Market) string
}{
	{bucketMarketCommunes, func(m *choso.Market) string { return m.CommuneCode }},
	{bucketMarketProvinces, func(m *choso.Market) string { return m.ProvinceCode }},
}

// indexMarket moves m's index entries from where old had them (old nil for a
// new market).
func (tx *Tx) indexMarket(old, m *choso.Market) error {
	for _, ix := range marketIndexes {
		b := tx.bucket(ix.bucket)
		if old != nil && ix.code(old) != "" && ix.code(old) != ix.code(m) {
			if err := b.Delete(joinKey(ix.code(old), old.ID)); err != nil {
				return err
			}
		}
		if ix.code(m) != "" {
			if err := b.Put(joinKey(ix.code(m), m.ID), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// CreateMarket stores a new market; see choso.MarketTx. It also returns
// EInvalid for an empty ID or commune code.
func (tx *Tx) CreateMarket(m *choso.Market) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := checkMarketKeys(m); err != nil {
		return err
	}
	markets := tx.bucket(bucketMarkets)
	if markets.Get([]byte(m.ID)) != nil {
		return choso.Errorf(choso.EConflict, "market %s already exists", m.ID)
	}
	if err := putJSON(markets, []byte(m.ID), m); err != nil {
		return err
	}
	return tx.indexMarket(nil, m)
}

// UpdateMarket replaces a market, moving its region index entries when its
// commune or province changes; see choso.MarketTx. A market's stalls keep
// the region codes they copied: updating them is the caller's business.
func (tx *Tx) UpdateMarket(m *choso.Market) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := checkMarketKeys(m); err != nil {
		return err
	}
	old, err := tx.getMarket(m.ID)
	if err != nil {
		return err
	}
	if err := putJSON(tx.bucket(bucketMarkets), []byte(m.ID), m); err != nil {
		return err
	}
	return tx.indexMarket(old, m)
}

// FindMarket returns the market with id; see choso.MarketTx.
func (tx *Tx) FindMarket(id string) (*choso.Market, error) {
	return tx.getMarket(id)
}

// ListMarkets returns up to f.Limit markets matching f in ID order after
// f.After; see choso.MarketTx. Limit 0 or less means DefaultListLimit, and
// it is capped at MaxListLimit. Without a region filter it walks the markets
// in ID order; with one it walks only the listed communes' and provinces'
// index entries, takes at most a page from each, and merges them.
func (tx *Tx) ListMarkets(f choso.MarketFilter) ([]*choso.Market, error) {
	limit := listLimit(f.Limit)
	if len(f.Communes) == 0 && len(f.Provinces) == 0 {
		var list []*choso.Market
		for _, v := range ascend(tx.bucket(bucketMarkets), nil, afterKey(nil, f.After)) {
			var m choso.Market
			if err := jsonUnmarshal(v, &m); err != nil {
				return nil, err
			}
			if choso.MatchText(m.Name, f.Query) {
				list = append(list, &m)
				if len(list) == limit {
					break
				}
			}
		}
		return list, nil
	}

	found := map[string]*choso.Market{}
	scan := func(b *bolt.Bucket, code string) error {
		if checkKeyPart("region code", code) != nil {
			return nil // no market is indexed under it
		}
		prefix := joinKey(code, "")
		n := 0
		for k := range ascend(b, prefix, afterKey(prefix, f.After)) {
			id := string(k[len(prefix):])
			m, ok := found[id]
			if !ok {
				var err error
				if m, err = tx.getMarket(id); choso.ErrorCode(err) == choso.ENotFound {
					return choso.Errorf(choso.EInternal, "market region index names %s under %s, which is not stored", id, code)
				} else if err != nil {
					return err
				}
			}
			if choso.MatchText(m.Name, f.Query) {
				found[id] = m
				if n++; n == limit {
					break
				}
			}
		}
		return nil
	}
	for _, c := range f.Communes {
		if err := scan(tx.bucket(bucketMarketCommunes), c); err != nil {
			return nil, err
		}
	}
	for _, p := range f.Provinces {
		if err := scan(tx.bucket(bucketMarketProvinces), p); err != nil {
			return nil, err
		}
	}
	list := make([]*choso.Market, 0, len(found))
	for _, m := range found {
		list = append(list, m)
	}
	slices.SortFunc(list, func(a, b *choso.Market) int { return strings.Compare(a.ID, b.ID) })
	if len(list) > limit {
		list = list[:limit]
	}
	return list, nil
}

// afterKey returns the key a keyset cursor after names under prefix, or nil
// when after is empty (start at the beginning).
func afterKey(prefix []byte, after string) []byte {
	if after == "" {
		return nil
	}
	return append(append([]byte(nil), prefix...), after...)
}

// CountMarkets returns how many markets exist; see choso.MarketTx.
func (tx *Tx) CountMarkets() (int, error) {
	return tx.bucket(bucketMarkets).Stats().KeyN, nil
}
