package bolt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"strings"

	"github.com/choso/choso"
	bolt "go.etcd.io/bbolt"
)

// PutRegion creates or replaces a region; see choso.RegionTx. It validates
// (and tidies) r, because the children index is built from its level and
// parent.
func (tx *Tx) PutRegion(r *choso.Region) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := r.Validate(); err != nil {
		return err
	}
	regions, children := tx.bucket(bucketRegions), tx.bucket(bucketRegionChildren)
	if r.Level == choso.LevelCommune {
		if v := regions.Get([]byte(r.ParentCode)); v == nil {
			return choso.Errorf(choso.EInvalid, "commune %s: province %s does not exist", r.Code, r.ParentCode)
		}
	}
	var old choso.Region
	found, err := getJSON(regions, []byte(r.Code), &old)
	if err != nil {
		return err
	}
	if found && old.ParentCode != r.ParentCode {
		if err := children.Delete(joinKey(old.ParentCode, r.Code)); err != nil {
			return err
		}
	}
	if err := putJSON(regions, []byte(r.Code), r); err != nil {
		return err
	}
	return children.Put(joinKey(r.ParentCode, r.Code), nil)
}

// FindRegion returns the region with code; see choso.RegionTx.
func (tx *Tx) FindRegion(code string) (*choso.Region, error) {
	var r choso.Region
	found, err := getJSON(tx.bucket(bucketRegions), []byte(code), &r)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, choso.Errorf(choso.ENotFound, "no region with code %q", code)
	}
	return &r, nil
}

// ListRegions returns the provinces (parent "") or a province's communes in
// code order, from the children index; see choso.RegionTx.
func (tx *Tx) ListRegions(parent string) ([]*choso.Region, error) {
	regions := tx.bucket(bucketRegions)
	prefix := joinKey(parent, "")
	var list []*choso.Region
	for k := range ascend(tx.bucket(bucketRegionChildren), prefix, nil) {
		code := k[len(prefix):]
		var r choso.Region
		found, err := getJSON(regions, code, &r)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, choso.Errorf(choso.EInternal, "region index names %q, which is not stored", code)
		}
		list = append(list, &r)
	}
	return list, nil
}

// CountRegions returns how many regions are stored; see choso.RegionTx.
func (tx *Tx) CountRegions() (int, error) {
	return tx.bucket(bucketRegions).Stats().KeyN, nil
}

// What follows is shared by every noun's file: how values are encoded, how
// index keys are built, how lists are paged.

// Page sizes for ListMarkets, ListStalls and ListAudit: a Limit of 0 or less
// means DefaultListLimit, and no page holds more than MaxListLimit, so no
// request can hold a read transaction open over the whole store. The
// registry asks for choso.MaxPageSize+1 items to learn whether another page
// follows, so MaxListLimit must stay above that.
const (
	DefaultListLimit = choso.DefaultPageSize
	MaxListLimit     = 500
)

var _ = [MaxListLimit - choso.MaxPageSize - 1]struct{}{} // compile error if MaxListLimit ≤ choso.MaxPageSize

// listLimit returns the page size for a requested limit.
func listLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultListLimit
	case n > MaxListLimit:
		return MaxListLimit
	}
	return n
}

// keySep separates the parts of an index key. The parts before the last
// never contain it (IDs, codes, phones), so parent+keySep is a prefix that
// matches that parent's entries and no other's.
const keySep = "/"

// joinKey builds an index key from its parts.
func joinKey(parts ...string) []byte {
	return []byte(strings.Join(parts, keySep))
}

// checkKeyPart returns EInvalid when s cannot be the leading part of an
// index key: empty, or holding the separator.
func checkKeyPart(what, s string) error {
	if s == "" {
		return choso.Errorf(choso.EInvalid, "%s is empty", what)
	}
	if strings.Contains(s, keySep) {
		return choso.Errorf(choso.EInvalid, "%s %q must not contain %q", what, s, keySep)
	}
	return nil
}

// getJSON decodes the value under key into v and reports whether there was
// one. Decoding copies, so v stays valid after the transaction.
func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	return true, jsonUnmarshal(data, v)
}

// jsonUnmarshal decodes a stored value; a value that does not decode is
// EInternal, since only this package writes them.
func jsonUnmarshal(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return choso.WrapError(choso.EInternal, "corrupt stored value", err)
	}
	return nil
}

// putJSON stores v encoded under key.
func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return choso.WrapError(choso.EInternal, fmt.Sprintf("encode value for %q", key), err)
	}
	return b.Put(key, data)
}

// ascend yields, in key order, the keys and values of b that start with
// prefix and sort after after (every key with the prefix when after is nil).
// Keys and values belong to bbolt: copy or decode them before the
// transaction ends, and do not write to b while iterating.
func ascend(b *bolt.Bucket, prefix, after []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func(k, v []byte) bool) {
		c := b.Cursor()
		var k, v []byte
		if after != nil {
			k, v = c.Seek(after)
			if k != nil && bytes.Equal(k, after) {
				k, v = c.Next()
			}
		} else if len(prefix) == 0 {
			k, v = c.First()
		} else {
			k, v = c.Seek(prefix)
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if !yield(k, v) {
				return
			}
		}
	}
}

// descend yields, in reverse key order, the keys and values of b that start
// with prefix and sort before before (every key with the prefix when before
// is nil). The same ownership rules as ascend hold.
func descend(b *bolt.Bucket, prefix, before []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func(k, v []byte) bool) {
		c := b.Cursor()
		upper := before
		if upper == nil {
			upper = prefixEnd(prefix)
		}
		var k, v []byte
		if upper == nil {
			k, v = c.Last()
		} else if k, v = c.Seek(upper); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
			if !yield(k, v) {
				return
			}
		}
	}
}

// prefixEnd returns the smallest key greater than every key starting with
// prefix, or nil when there is none (empty prefix, or all 0xff).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
