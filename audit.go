package choso

import (
	"context"
	"strconv"
	"time"
)

// AuditEntry records one change: who, when, what, and the fields it changed.
// Account numbers and phones appear masked.
type AuditEntry struct {
	Seq        uint64        `json:"seq"` // assigned by the store, increasing
	At         time.Time     `json:"at"`
	ActorID    string        `json:"actor_id"` // user ID, or "system"/"cli"
	Actor      string        `json:"actor"`    // username at the time
	Action     string        `json:"action"`   // "stall.create", "stall.payout_approve", …
	ObjectType string        `json:"object_type"`
	ObjectID   string        `json:"object_id"`
	Changes    []FieldChange `json:"changes,omitempty"`
	Note       string        `json:"note,omitempty"`
}

// FieldChange is one field's value before and after a change.
type FieldChange struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	ObjectID string // "" for any
	ActorID  string // "" for any
	Before   uint64 // keyset cursor: entries with Seq < Before; 0 for the newest
	Limit    int
}

// AuditTx keeps the audit log. Entries are never changed or removed.
type AuditTx interface {
	// AppendAudit stores e and sets its Seq.
	AppendAudit(e *AuditEntry) error
	// ListAudit returns up to f.Limit entries matching f, newest first.
	ListAudit(f AuditFilter) ([]*AuditEntry, error)
}

// ListAudit returns a page of the audit log, newest first; admin only.
func (r *Registry) ListAudit(ctx context.Context, p *Principal, f AuditFilter) (*Page[*AuditEntry], error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	want := pageLimit(f.Limit)
	f.Limit = want + 1
	var es []*AuditEntry
	err := r.Store.View(ctx, func(tx Tx) error {
		var err error
		es, err = tx.ListAudit(f)
		return err
	})
	if err != nil {
		return nil, err
	}
	return pageOf(es, want, func(x *AuditEntry) string { return strconv.FormatUint(x.Seq, 10) }), nil
}

// RecordBackup audits an admin's hot backup before it streams; admin only.
func (r *Registry) RecordBackup(ctx context.Context, p *Principal) error {
	if err := requireAdmin(p); err != nil {
		return err
	}
	now := r.now()
	return r.Store.Update(ctx, func(tx Tx) error {
		return audit(tx, p, now, "store.backup", "store", "", nil, "hot backup downloaded")
	})
}
