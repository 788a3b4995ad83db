package postgres

import (
	"strings"

	"github.com/choso/choso"
)

// checkStallKeys refuses what the bbolt store refuses; see keySep. The code
// may hold '/', as codes like "B/7" do.
func checkStallKeys(s *choso.Stall) error {
	if err := checkKeyPart("stall ID", s.ID); err != nil {
		return err
	}
	if err := checkKeyPart("stall market ID", s.MarketID); err != nil {
		return err
	}
	if s.Code == "" {
		return choso.Errorf(choso.EInvalid, "stall code is empty")
	}
	if strings.Contains(s.Vendor.Phone, keySep) {
		return choso.Errorf(choso.EInvalid, "vendor phone must not contain %q", keySep)
	}
	if strings.Contains(s.Payout.BIN, keySep) || strings.Contains(s.Payout.Account, keySep) {
		return choso.Errorf(choso.EInvalid, "payout BIN and account must not contain %q", keySep)
	}
	return nil
}

func (tx *Tx) marketExists(id string) (bool, error) {
	n, err := tx.count("SELECT count(*) FROM markets WHERE id = $1", id)
	return n > 0, err
}

func (tx *Tx) stallCodeTaken(marketID, code string) (bool, error) {
	n, err := tx.count("SELECT count(*) FROM stalls WHERE market_id = $1 AND code = $2", marketID, code)
	return n > 0, err
}

// CreateStall stores a new stall; see choso.StallTx. It also returns
// EInvalid for an empty ID, market ID or code.
func (tx *Tx) CreateStall(s *choso.Stall) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if err := checkStallKeys(s); err != nil {
		return err
	}
	if n, err := tx.count("SELECT count(*) FROM stalls WHERE id = $1", s.ID); err != nil {
		return err
	} else if n > 0 {
		return choso.Errorf(choso.EConflict, "stall %s already exists", s.ID)
	}
	if ok, err := tx.marketExists(s.MarketID); err != nil {
		return err
	} else if !ok {
		return notFound("no market with ID %q", s.MarketID)
	}
	if taken, err := tx.stallCodeTaken(s.MarketID, s.Code); err != nil {
		return err
	} else if taken {
		return choso.Errorf(choso.EConflict, "stall code %s is taken in this market", s.Code)
	}
	doc, err := marshal(s)
	if err != nil {
		return err
	}
	_, err = tx.exec(`INSERT INTO stalls (id, market_id, code, phone, bin, account, doc, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		s.ID, s.MarketID, s.Code, s.Vendor.Phone, s.Payout.BIN, s.Payout.Account, doc, s.CreatedAt)
	if err != nil || len(s.FormerPayouts) == 0 {
		return err
	}
	return tx.putFormerAccounts(s)
}

// UpdateStall replaces a stall; see choso.StallTx. Moving a stall to another
// market returns ENotFound if that market is missing.
func (tx *Tx) UpdateStall(s *choso.Stall) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if err := checkStallKeys(s); err != nil {
		return err
	}
	old, err := tx.FindStall(s.ID)
	if err != nil {
		return err
	}
	if old.MarketID != s.MarketID || old.Code != s.Code {
		if old.MarketID != s.MarketID {
			if ok, err := tx.marketExists(s.MarketID); err != nil {
				return err
			} else if !ok {
				return notFound("no market with ID %q", s.MarketID)
			}
		}
		if taken, err := tx.stallCodeTaken(s.MarketID, s.Code); err != nil {
			return err
		} else if taken {
			return choso.Errorf(choso.EConflict, "stall code %s is taken in this market", s.Code)
		}
	}
	doc, err := marshal(s)
	if err != nil {
		return err
	}
	_, err = tx.exec(`UPDATE stalls SET market_id = $2, code = $3, phone = $4, bin = $5, account = $6, doc = $7 WHERE id = $1`,
		s.ID, s.MarketID, s.Code, s.Vendor.Phone, s.Payout.BIN, s.Payout.Account, doc)
	if err != nil {
		return err
	}
	return tx.putFormerAccounts(s)
}

// putFormerAccounts makes the index of a stall's former payout accounts
// (migration 0007) what its doc says.
func (tx *Tx) putFormerAccounts(s *choso.Stall) error {
	if _, err := tx.exec(`DELETE FROM stall_former_accounts WHERE stall_id = $1`, s.ID); err != nil {
		return err
	}
	for _, f := range s.FormerPayouts {
		if checkKeyPart("BIN", f.Account.BIN) != nil || checkKeyPart("account", f.Account.Account) != nil {
			continue
		}
		if _, err := tx.exec(`INSERT INTO stall_former_accounts (bin, account, stall_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			f.Account.BIN, f.Account.Account, s.ID); err != nil {
			return err
		}
	}
	return nil
}

// FindStall returns the stall with id; see choso.StallTx.
func (tx *Tx) FindStall(id string) (*choso.Stall, error) {
	var s choso.Stall
	found, err := tx.getDoc(&s, "SELECT doc FROM stalls WHERE id = $1", id)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("no stall with ID %q", id)
	}
	return &s, nil
}

// FindStallByCode returns the stall with a normalized code in a market; see
// choso.StallTx.
func (tx *Tx) FindStallByCode(marketID, code string) (*choso.Stall, error) {
	var s choso.Stall
	found, err := tx.getDoc(&s, "SELECT doc FROM stalls WHERE market_id = $1 AND code = $2", marketID, code)
	if err != nil {
		return nil, err
	}
	if !found || code == "" {
		return nil, notFound("no stall with code %q in market %q", code, marketID)
	}
	return &s, nil
}

// ListStalls returns up to f.Limit stalls of f.MarketID matching f, in code
// order after the code f.After; see choso.StallTx. Limit 0 or less means
// DefaultListLimit, and it is capped at MaxListLimit. The query ignores
// diacritics by the root package's rule, so it is applied here.
func (tx *Tx) ListStalls(f choso.StallFilter) ([]*choso.Stall, error) {
	return filterPage(tx, "code", "stalls WHERE code > $1 AND market_id = $2", f.After, []any{f.MarketID}, listLimit(f.Limit),
		func(s *choso.Stall) bool {
			if f.Status != "" && s.Status != f.Status {
				return false
			}
			return f.Query == "" || choso.MatchText(s.Code, f.Query) || choso.MatchText(s.Name, f.Query) ||
				choso.MatchText(s.Category, f.Query) || choso.MatchText(s.Vendor.Name, f.Query)
		})
}

// ListStallRefs returns up to limit of a market's stalls as ID, code and
// registration time, in code order after the code after, without their
// documents; see choso.StallTx.
func (tx *Tx) ListStallRefs(marketID, after string, limit int) ([]choso.StallRef, error) {
	rows, err := tx.query("SELECT id, code, created_at FROM stalls WHERE code > $1 AND market_id = $2 ORDER BY code LIMIT "+itoa(listLimit(limit)), after, marketID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []choso.StallRef
	for rows.Next() {
		var r choso.StallRef
		if err := rows.Scan(&r.ID, &r.Code, &r.CreatedAt); err != nil {
			return nil, tx.fail(err)
		}
		r.CreatedAt = r.CreatedAt.UTC()
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, tx.fail(err)
	}
	return list, nil
}

// FindStallsByPhone returns, in ID order, every stall whose vendor has the
// E.164 phone; see choso.StallTx. Erased stalls have no phone and are never
// found.
func (tx *Tx) FindStallsByPhone(phone string) ([]*choso.Stall, error) {
	if checkKeyPart("phone", phone) != nil {
		return nil, nil
	}
	return listDocs[choso.Stall](tx, "SELECT doc FROM stalls WHERE phone = $1 ORDER BY id", phone)
}

// CountStalls returns how many stalls a market has, or all markets for "";
// see choso.StallTx.
func (tx *Tx) CountStalls(marketID string) (int, error) {
	if marketID == "" {
		return tx.count("SELECT count(*) FROM stalls")
	}
	return tx.count("SELECT count(*) FROM stalls WHERE market_id = $1", marketID)
}

// FindStallsByAccount returns, in ID order, every stall (any status) whose
// payout account, current or former, is bin + account; see choso.CreditTx.
func (tx *Tx) FindStallsByAccount(bin, account string) ([]*choso.Stall, error) {
	if checkKeyPart("BIN", bin) != nil || checkKeyPart("account", account) != nil {
		return nil, nil
	}
	return listDocs[choso.Stall](tx, `SELECT doc FROM stalls WHERE bin = $1 AND account = $2
		OR id IN (SELECT stall_id FROM stall_former_accounts WHERE bin = $1 AND account = $2) ORDER BY id`, bin, account)
}
