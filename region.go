package choso

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// RegionLevel is a level of Vietnam's local government. Since 1 July 2025
// there are two: province (tỉnh, thành phố trung ương) and commune (xã,
// phường, đặc khu).
type RegionLevel string

// The region levels.
const (
	LevelProvince RegionLevel = "province"
	LevelCommune  RegionLevel = "commune"
)

// Region is a province or a commune, with the statistics office's code.
type Region struct {
	Code       string      `json:"code"`        // 2 digits for a province, 5 for a commune
	Name       string      `json:"name"`        // official Vietnamese name with its type prefix: "Phường Bắc Giang"
	ParentCode string      `json:"parent_code"` // the province of a commune; "" for a province
	Level      RegionLevel `json:"level"`
	Kind       string      `json:"kind,omitempty"` // tỉnh, thành phố trung ương, xã, phường, đặc khu
}

// LevelOf returns the level a region code has by its shape, or "" when the
// code is neither.
func LevelOf(code string) RegionLevel {
	if !allDigits(code) {
		return ""
	}
	switch len(code) {
	case 2:
		return LevelProvince
	case 5:
		return LevelCommune
	}
	return ""
}

// Validate checks a region on its own; that a commune's parent exists is
// checked where regions are stored.
func (r *Region) Validate() error {
	r.Name = strings.TrimSpace(r.Name)
	r.ParentCode = strings.TrimSpace(r.ParentCode)
	r.Level = LevelOf(r.Code)
	switch {
	case r.Level == "":
		return Errorf(EInvalid, "region code %q: want 2 digits (province) or 5 digits (commune)", r.Code)
	case r.Name == "" || utf8.RuneCountInString(r.Name) > 100:
		return Errorf(EInvalid, "region %s: name must be 1–100 characters", r.Code)
	case r.Level == LevelProvince && r.ParentCode != "":
		return Errorf(EInvalid, "region %s is a province and has no parent", r.Code)
	case r.Level == LevelCommune && LevelOf(r.ParentCode) != LevelProvince:
		return Errorf(EInvalid, "commune %s: parent_code must be its province's 2-digit code", r.Code)
	}
	return nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// RegionTx keeps regions.
type RegionTx interface {
	// PutRegion creates or replaces a region. Returns EInvalid when a
	// commune's province does not exist.
	PutRegion(r *Region) error
	// FindRegion returns ENotFound if there is no region with code.
	FindRegion(code string) (*Region, error)
	// ListRegions returns the provinces (parent "") or a province's
	// communes, in code order.
	ListRegions(parent string) ([]*Region, error)
	// CountRegions returns how many regions are stored.
	CountRegions() (int, error)
}

// ListRegions returns the provinces (parent "") or one province's communes,
// to any signed-in user.
func (r *Registry) ListRegions(ctx context.Context, p *Principal, parent string) ([]*Region, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	var out []*Region
	err := r.Store.View(ctx, func(tx Tx) error {
		var err error
		out, err = tx.ListRegions(parent)
		return err
	})
	return out, err
}

// PutRegions creates or replaces regions in one transaction, provinces
// before communes, and audits each change. Admin only. It returns how many
// regions were created and how many changed.
// moveCommune gives the markets of a commune, and their stalls, the
// commune's new province, with an audit entry per market.
func moveCommune(tx Tx, p *Principal, now time.Time, commune, province string) error {
	for after := ""; ; {
		markets, err := tx.ListMarkets(MarketFilter{Communes: []string{commune}, After: after, Limit: MaxPageSize})
		if err != nil {
			return err
		}
		for _, m := range markets {
			after = m.ID
			if m.ProvinceCode == province {
				continue
			}
			var cs changeSet
			cs.add("province_code", m.ProvinceCode, province)
			m.ProvinceCode, m.UpdatedAt = province, now
			if err := tx.UpdateMarket(m); err != nil {
				return err
			}
			if err := updateStalls(tx, m.ID, now, func(s *Stall) { s.ProvinceCode = province }); err != nil {
				return err
			}
			if err := audit(tx, p, now, "market.update", "market", m.ID, cs, "its commune "+commune+" was put under province "+province); err != nil {
				return err
			}
		}
		if len(markets) == 0 { // a store may return fewer than asked: stop at an empty page
			return nil
		}
	}
}

func (r *Registry) PutRegions(ctx context.Context, p *Principal, regions []*Region) (created, changed int, err error) {
	if err := requireAdmin(p); err != nil {
		return 0, 0, err
	}
	for i, reg := range regions {
		if err := reg.Validate(); err != nil {
			if len(regions) > 1 {
				return 0, 0, Errorf(EInvalid, "region %d (%s): %s", i+1, reg.Code, ErrorMessage(err))
			}
			return 0, 0, err
		}
	}
	sorted := make([]*Region, 0, len(regions))
	for _, level := range []RegionLevel{LevelProvince, LevelCommune} {
		for _, reg := range regions {
			if reg.Level == level {
				sorted = append(sorted, reg)
			}
		}
	}
	now := r.now()
	err = r.Store.Update(ctx, func(tx Tx) error {
		created, changed = 0, 0
		for _, reg := range sorted {
			old, err := tx.FindRegion(reg.Code)
			switch {
			case ErrorCode(err) == ENotFound:
				created++
			case err != nil:
				return err
			}
			if old != nil && reg.Kind == "" {
				reg.Kind = old.Kind // a file without division_type keeps the kind known
			}
			switch {
			case old == nil:
			case *old == *reg:
				continue
			default:
				changed++
			}
			if err := tx.PutRegion(reg); err != nil {
				return err
			}
			if old != nil && reg.Level == LevelCommune && old.ParentCode != reg.ParentCode {
				// A commune put right under another province takes its
				// markets and stalls along: scopes and reports read the
				// province they carry.
				if err := moveCommune(tx, p, now, reg.Code, reg.ParentCode); err != nil {
					return err
				}
			}
			var cs changeSet
			if old != nil {
				cs.add("name", old.Name, reg.Name)
				cs.add("parent_code", old.ParentCode, reg.ParentCode)
			} else {
				cs.add("name", "", reg.Name)
			}
			// A bulk import of the national list would write 3,000 entries
			// of noise; audit individual changes, and imports as one entry.
			if len(sorted) == 1 {
				if err := audit(tx, p, now, "region.put", "region", reg.Code, cs, ""); err != nil {
					return err
				}
			}
		}
		if len(sorted) > 1 {
			return audit(tx, p, now, "region.import", "region", "", nil,
				fmt.Sprintf("%d regions: %d created, %d changed", len(sorted), created, changed))
		}
		return nil
	})
	return created, changed, err
}

// ParseRegionCSV reads regions from CSV with a header naming at least the
// columns code, name and parent_code (division_type optional), as in the
// statistics office's list. Errors name the line.
func ParseRegionCSV(rd io.Reader) ([]*Region, error) {
	cr := csv.NewReader(stripBOM(rd))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, Errorf(EInvalid, "region CSV: cannot read the header: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.ToLower(h))] = i
	}
	for _, need := range []string{"code", "name", "parent_code"} {
		if _, ok := col[need]; !ok {
			return nil, Errorf(EInvalid, "region CSV: no %q column in the header", need)
		}
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []*Region
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, Errorf(EInvalid, "region CSV line %d: %v", line, err)
		}
		reg := &Region{Code: field(rec, "code"), Name: field(rec, "name"), ParentCode: field(rec, "parent_code"), Kind: field(rec, "division_type")}
		if err := reg.Validate(); err != nil {
			return nil, Errorf(EInvalid, "region CSV line %d: %s", line, ErrorMessage(err))
		}
		out = append(out, reg)
	}
	return out, nil
}

// stripBOM drops a UTF-8 byte order mark, which Excel puts at the start of
// the CSV files it saves.
func stripBOM(rd io.Reader) io.Reader {
	br := bufio.NewReader(rd)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3)
	}
	return br
}

// FindRegion returns a region by code to any signed-in user: region names
// are public facts.
func (r *Registry) FindRegion(ctx context.Context, p *Principal, code string) (*Region, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	var out *Region
	err := r.Store.View(ctx, func(tx Tx) error {
		var err error
		out, err = tx.FindRegion(code)
		return err
	})
	return out, err
}
