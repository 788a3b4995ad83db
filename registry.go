package choso

import (
	"time"
)

// Registry holds the rules of the registry: who may create, read and change
// regions, users, markets and stalls, what a valid one is, and the audit
// entry every change writes in the same transaction. It is written once,
// over Store, so every backend runs the same rules.
//
// Every method takes the Principal making the request. An object outside
// the principal's scope is ENotFound, never EForbidden, so IDs leak nothing;
// a principal whose role lacks the function gets EForbidden.
type Registry struct {
	Store  Store
	Banks  BankDirectory
	Hasher PasswordHasher
	Now    Clock // required: the registry never reads the system clock itself
}

func (r *Registry) now() time.Time { return r.Now().UTC() }

// SystemPrincipal is an admin acting from the operator's shell or from the
// server itself (first admin, demo data). name appears in the audit log.
func SystemPrincipal(name string) *Principal {
	return &Principal{UserID: name, Username: name, Role: RoleAdmin}
}

// requireAdmin returns EForbidden unless p is an admin. Admin functions are
// not scoped objects, so forbidden is the honest answer.
func requireAdmin(p *Principal) error {
	if p == nil {
		return Errorf(EUnauthorized, "sign in first")
	}
	if !p.IsAdmin() {
		return Errorf(EForbidden, "only an admin may do this")
	}
	return nil
}

// requireUser returns EUnauthorized for a missing principal.
func requireUser(p *Principal) error {
	if p == nil || p.UserID == "" {
		return Errorf(EUnauthorized, "sign in first")
	}
	return nil
}

// audit appends one entry for p's change inside tx.
func audit(tx Tx, p *Principal, at time.Time, action, objectType, objectID string, changes []FieldChange, note string) error {
	return tx.AppendAudit(&AuditEntry{
		At: at, ActorID: p.UserID, Actor: p.Username, Action: action,
		ObjectType: objectType, ObjectID: objectID, Changes: changes, Note: note,
	})
}

// changeSet collects the fields a change touched, for the audit log.
type changeSet []FieldChange

func (c *changeSet) add(field, before, after string) {
	if before != after {
		*c = append(*c, FieldChange{Field: field, Before: before, After: after})
	}
}

// pageLimit clamps a requested page size.
func pageLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultPageSize
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
}

// Page sizes for lists.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Page is one page of a keyset-paginated list.
type Page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"` // pass as the next request's cursor; "" on the last page
	HasMore    bool   `json:"has_more"`
}

// pageOf makes a page of a list read with one item more than wanted: that
// item, when present, says another page follows, and the last kept item's
// cursor starts it. Data is never nil, so it encodes as [].
func pageOf[T any](items []T, want int, cursor func(T) string) *Page[T] {
	page := &Page[T]{Data: items}
	if len(items) > want {
		page.Data, page.HasMore = items[:want], true
		page.NextCursor = cursor(items[want-1])
	}
	if page.Data == nil {
		page.Data = []T{}
	}
	return page
}
