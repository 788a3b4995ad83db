package bolt

import (
	"github.com/choso/choso"
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
