package bolt

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/choso/choso"
)

func (tx *Tx) getStall(id string) (*choso.Stall, error) {
	raw := tx.bucket(bucketStalls).Get([]byte(id))
	if raw == nil {
		return nil, choso.Errorf(choso.ENotFound, "no stall with ID %q", id)
	}
	if s, ok := tx.db.stalls.get(id, raw); ok {
		return s, nil
	}
	var s choso.Stall
	if err := jsonUnmarshal(raw, &s); err != nil {
		return nil, err
	}
	tx.db.stalls.put(id, raw, &s)
	return &s, nil
}

// getIndexedStall reads a stall an index names; a missing one means the
// index is broken, not that the caller asked for something absent.
func (tx *Tx) getIndexedStall(id []byte) (*choso.Stall, error) {
	s, err := tx.getStall(string(id))
	if choso.ErrorCode(err) == choso.ENotFound {
		return nil, choso.Errorf(choso.EInternal, "stall index names %s, which is not stored", id)
	}
	return s, err
}

// checkStallKeys refuses a stall whose fields cannot be index keys. The code
// is the last part of its key, so it may hold '/', as codes like "B/7" do.
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

// CreateStall stores a new stall with its code, phone and account index
// entries; see choso.StallTx. It also returns EInvalid for an empty ID,
// market ID or code.
func (tx *Tx) CreateStall(s *choso.Stall) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := checkStallKeys(s); err != nil {
		return err
	}
	stalls, codes := tx.bucket(bucketStalls), tx.bucket(bucketStallCodes)
	if stalls.Get([]byte(s.ID)) != nil {
		return choso.Errorf(choso.EConflict, "stall %s already exists", s.ID)
	}
	if tx.bucket(bucketMarkets).Get([]byte(s.MarketID)) == nil {
		return choso.Errorf(choso.ENotFound, "no market with ID %q", s.MarketID)
	}
	codeKey := joinKey(s.MarketID, s.Code)
	if codes.Get(codeKey) != nil {
		return choso.Errorf(choso.EConflict, "stall code %s is taken in this market", s.Code)
	}
	if err := putJSON(stalls, []byte(s.ID), s); err != nil {
		return err
	}
	if err := codes.Put(codeKey, []byte(s.ID)); err != nil {
		return err
	}
	if err := tx.bucket(bucketStallCreated).Put([]byte(s.ID), createdValue(s.CreatedAt)); err != nil {
		return err
	}
	if s.Vendor.Phone != "" {
		if err := tx.bucket(bucketStallPhones).Put(joinKey(s.Vendor.Phone, s.ID), nil); err != nil {
			return err
		}
	}
	return tx.putAccountKeys(nil, accountKeys(s))
}

// accountKeys returns the stall's entries in the account index: its
// payout account's and each former one's (a bank credit to any of them is
// the stall's), without an account that cannot be a key (none yet) and
// without repeats. An erased stall keeps its masked account and entry: no
// bank credits a masked number, so it is never found, and the stall it
// names still exists.
func accountKeys(s *choso.Stall) [][]byte {
	var keys [][]byte
	for _, a := range s.PayoutAccounts() {
		if checkKeyPart("BIN", a.BIN) == nil && checkKeyPart("account", a.Account) == nil {
			keys = append(keys, joinKey(a.BIN, a.Account, s.ID))
		}
	}
	return keys
}

// putAccountKeys indexes the stall's accounts in want, and drops from the
// index those in had that want lacks.
func (tx *Tx) putAccountKeys(had, want [][]byte) error {
	accounts := tx.bucket(bucketStallAccounts)
	for _, k := range had {
		if !slices.ContainsFunc(want, func(x []byte) bool { return bytes.Equal(x, k) }) {
			if err := accounts.Delete(k); err != nil {
				return err
			}
		}
	}
	for _, k := range want {
		if slices.ContainsFunc(had, func(x []byte) bool { return bytes.Equal(x, k) }) {
			continue
		}
		if err := accounts.Put(k, nil); err != nil {
			return err
		}
	}
	return nil
}

// UpdateStall replaces a stall, moving its code index entry when its code
// (or market) changes, its phone index entry when the vendor's phone
// changes or is erased, and its account index entries when its payout
// accounts, current or former, change; see choso.StallTx. Moving a stall to another market
// returns ENotFound if that market is missing.
func (tx *Tx) UpdateStall(s *choso.Stall) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := checkStallKeys(s); err != nil {
		return err
	}
	old, err := tx.getStall(s.ID)
	if err != nil {
		return err
	}
	if old.MarketID != s.MarketID || old.Code != s.Code {
		if old.MarketID != s.MarketID && tx.bucket(bucketMarkets).Get([]byte(s.MarketID)) == nil {
			return choso.Errorf(choso.ENotFound, "no market with ID %q", s.MarketID)
		}
		codes := tx.bucket(bucketStallCodes)
		codeKey := joinKey(s.MarketID, s.Code)
		if codes.Get(codeKey) != nil {
			return choso.Errorf(choso.EConflict, "stall code %s is taken in this market", s.Code)
		}
		if err := codes.Delete(joinKey(old.MarketID, old.Code)); err != nil {
			return err
		}
		if err := codes.Put(codeKey, []byte(s.ID)); err != nil {
			return err
		}
	}
	if old.Vendor.Phone != s.Vendor.Phone {
		phones := tx.bucket(bucketStallPhones)
		if old.Vendor.Phone != "" {
			if err := phones.Delete(joinKey(old.Vendor.Phone, s.ID)); err != nil {
				return err
			}
		}
		if s.Vendor.Phone != "" {
			if err := phones.Put(joinKey(s.Vendor.Phone, s.ID), nil); err != nil {
				return err
			}
		}
	}
	if err := tx.putAccountKeys(accountKeys(old), accountKeys(s)); err != nil {
		return err
	}
	return putJSON(tx.bucket(bucketStalls), []byte(s.ID), s)
}

// FindStall returns the stall with id; see choso.StallTx.
func (tx *Tx) FindStall(id string) (*choso.Stall, error) {
	return tx.getStall(id)
}

// FindStallByCode returns the stall with a normalized code in a market; see
// choso.StallTx.
func (tx *Tx) FindStallByCode(marketID, code string) (*choso.Stall, error) {
	var id []byte
	if checkKeyPart("market ID", marketID) == nil && code != "" {
		id = tx.bucket(bucketStallCodes).Get(joinKey(marketID, code))
	}
	if id == nil {
		return nil, choso.Errorf(choso.ENotFound, "no stall with code %q in market %q", code, marketID)
	}
	return tx.getIndexedStall(id)
}

// ListStalls returns up to f.Limit stalls of f.MarketID matching f, in code
// order after the code f.After, walking the market's code index; see
// choso.StallTx. Limit 0 or less means DefaultListLimit, and it is capped at
// MaxListLimit. A missing market has no stalls.
func (tx *Tx) ListStalls(f choso.StallFilter) ([]*choso.Stall, error) {
	if checkKeyPart("market ID", f.MarketID) != nil {
		return nil, nil
	}
	limit := listLimit(f.Limit)
	prefix := joinKey(f.MarketID, "")
	var list []*choso.Stall
	for _, id := range ascend(tx.bucket(bucketStallCodes), prefix, afterKey(prefix, f.After)) {
		s, err := tx.getIndexedStall(id)
		if err != nil {
			return nil, err
		}
		if f.Status != "" && s.Status != f.Status {
			continue
		}
		if f.Query != "" && !choso.MatchText(s.Code, f.Query) && !choso.MatchText(s.Name, f.Query) &&
			!choso.MatchText(s.Category, f.Query) && !choso.MatchText(s.Vendor.Name, f.Query) {
			continue
		}
		if list = append(list, s); len(list) == limit {
			break
		}
	}
	return list, nil
}

// ListStallRefs returns up to limit of a market's stalls as ID, code and
// registration time, in code order after the code after, from the
// market's code index and the registration index; see choso.StallTx. The
// stalls themselves are stored as JSON, and a province's report decoded
// 50,000 of them only to learn their IDs. A stall an older choso
// registered after the registration index was built has no entry there:
// its record is read instead.
func (tx *Tx) ListStallRefs(marketID, after string, limit int) ([]choso.StallRef, error) {
	if checkKeyPart("market ID", marketID) != nil {
		return nil, nil
	}
	limit = listLimit(limit)
	prefix := joinKey(marketID, "")
	created := tx.bucket(bucketStallCreated)
	var list []choso.StallRef
	for k, id := range ascend(tx.bucket(bucketStallCodes), prefix, afterKey(prefix, after)) {
		ref := choso.StallRef{ID: string(id), Code: string(k[len(prefix):])}
		if v := created.Get(id); len(v) == 8 {
			if ns := int64(binary.BigEndian.Uint64(v)); ns != noCreatedAt {
				ref.CreatedAt = time.Unix(0, ns).UTC()
			}
		} else {
			s, err := tx.getIndexedStall(id)
			if err != nil {
				return nil, err
			}
			ref.CreatedAt = s.CreatedAt
		}
		if list = append(list, ref); len(list) == limit {
			break
		}
	}
	return list, nil
}

// noCreatedAt is the registration index's entry of a stall with no
// registration time (a test's): Unix nanoseconds cannot say year 1.
const noCreatedAt = math.MinInt64

// createdValue is a stall's entry in the registration index.
func createdValue(t time.Time) []byte {
	ns := int64(noCreatedAt)
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	return binary.BigEndian.AppendUint64(nil, uint64(ns))
}

// FindStallsByPhone returns, in ID order, every stall whose vendor has the
// E.164 phone, from the phone index; see choso.StallTx. Erased stalls have
// no phone and are never found.
func (tx *Tx) FindStallsByPhone(phone string) ([]*choso.Stall, error) {
	if checkKeyPart("phone", phone) != nil {
		return nil, nil
	}
	prefix := joinKey(phone, "")
	var list []*choso.Stall
	for k := range ascend(tx.bucket(bucketStallPhones), prefix, nil) {
		s, err := tx.getIndexedStall(k[len(prefix):])
		if err != nil {
			return nil, err
		}
		list = append(list, s)
	}
	return list, nil
}

// CountStalls returns how many stalls a market has, or all markets for ""; see
// choso.StallTx.
func (tx *Tx) CountStalls(marketID string) (int, error) {
	if marketID == "" {
		return tx.bucket(bucketStalls).Stats().KeyN, nil
	}
	if checkKeyPart("market ID", marketID) != nil {
		return 0, nil
	}
	n := 0
	for range ascend(tx.bucket(bucketStallCodes), joinKey(marketID, ""), nil) {
		n++
	}
	return n, nil
}

// FindStallsByAccount returns, in ID order, every stall (any status) whose
// payout account, current or former, is bin + account, from the account
// index; see choso.CreditTx.
func (tx *Tx) FindStallsByAccount(bin, account string) ([]*choso.Stall, error) {
	if checkKeyPart("BIN", bin) != nil || checkKeyPart("account", account) != nil {
		return nil, nil
	}
	prefix := joinKey(bin, account, "")
	var list []*choso.Stall
	for k := range ascend(tx.bucket(bucketStallAccounts), prefix, nil) {
		s, err := tx.getIndexedStall(k[len(prefix):])
		if err != nil {
			return nil, err
		}
		list = append(list, s)
	}
	return list, nil
}
