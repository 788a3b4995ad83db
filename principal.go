package choso

import "slices"

// Role is what a user may do. Devices and partners are principals too, but
// not users, and have no role.
type Role string

// The user roles (DESIGN.md §7).
const (
	RoleAdmin     Role = "admin"     // everything, everywhere
	RoleVolunteer Role = "volunteer" // registers markets and stalls in their communes
	RoleOfficial  Role = "official"  // reads figures in their scope, changes nothing
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleVolunteer || r == RoleOfficial
}

// Principal is who is making a request, as authentication established it.
// Every rule about who may see or change what takes a Principal.
type Principal struct {
	UserID   string
	Username string
	Role     Role
	// Scope lists region codes: a province covers all its communes. Empty
	// for an admin, whose scope is everything.
	Scope []string
}

// IsAdmin reports whether p is an admin.
func (p *Principal) IsAdmin() bool { return p != nil && p.Role == RoleAdmin }

// CanWrite reports whether p may change registry data at all (within scope).
func (p *Principal) CanWrite() bool {
	return p != nil && (p.Role == RoleAdmin || p.Role == RoleVolunteer)
}

// Covers reports whether a commune (and its province) lies in p's scope.
// A nil principal covers nothing: default deny.
func (p *Principal) Covers(communeCode, provinceCode string) bool {
	if p == nil {
		return false
	}
	if p.Role == RoleAdmin {
		return true
	}
	return slices.Contains(p.Scope, communeCode) || (provinceCode != "" && slices.Contains(p.Scope, provinceCode))
}
