package choso

import (
	"strings"
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
