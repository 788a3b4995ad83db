package postgres

import "github.com/choso/choso"

// PutRegion creates or replaces a region; see choso.RegionTx. It validates
// (and tidies) r, as the bbolt store does.
func (tx *Tx) PutRegion(r *choso.Region) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if err := r.Validate(); err != nil {
		return err
	}
	if r.Level == choso.LevelCommune {
		n, err := tx.count("SELECT count(*) FROM regions WHERE code = $1", r.ParentCode)
		if err != nil {
			return err
		}
		if n == 0 {
			return choso.Errorf(choso.EInvalid, "commune %s: province %s does not exist", r.Code, r.ParentCode)
		}
	}
	doc, err := marshal(r)
	if err != nil {
		return err
	}
	_, err = tx.exec(`INSERT INTO regions (code, parent_code, doc) VALUES ($1, $2, $3)
		ON CONFLICT (code) DO UPDATE SET parent_code = excluded.parent_code, doc = excluded.doc`, r.Code, r.ParentCode, doc)
	return err
}

// FindRegion returns the region with code; see choso.RegionTx.
func (tx *Tx) FindRegion(code string) (*choso.Region, error) {
	var r choso.Region
	found, err := tx.getDoc(&r, "SELECT doc FROM regions WHERE code = $1", code)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("no region with code %q", code)
	}
	return &r, nil
}

// ListRegions returns the provinces (parent "") or a province's communes in
// code order; see choso.RegionTx.
func (tx *Tx) ListRegions(parent string) ([]*choso.Region, error) {
	return listDocs[choso.Region](tx, "SELECT doc FROM regions WHERE parent_code = $1 ORDER BY code", parent)
}

// CountRegions returns how many regions are stored; see choso.RegionTx.
func (tx *Tx) CountRegions() (int, error) {
	return tx.count("SELECT count(*) FROM regions")
}
