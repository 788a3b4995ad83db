package postgres

import (
	"github.com/choso/choso"
)

// AppendAudit stores e and sets its Seq; see choso.AuditTx. Audit seqs come
// from an identity column: they increase, but, unlike the feed's, need not
// follow commit order, since the audit log is read newest first by people,
// not tailed by a cursor.
func (tx *Tx) AppendAudit(e *choso.AuditEntry) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	var seq int64
	if _, err := tx.scanRow("INSERT INTO audit (object_id, actor_id, doc) VALUES ($1, $2, '') RETURNING seq",
		[]any{e.ObjectID, e.ActorID}, &seq); err != nil {
		return err
	}
	entry := *e
	entry.Seq = uint64(seq)
	doc, err := marshal(&entry)
	if err != nil {
		return err
	}
	if _, err := tx.exec("UPDATE audit SET doc = $2 WHERE seq = $1", seq, doc); err != nil {
		return err
	}
	e.Seq = uint64(seq)
	return nil
}

// ListAudit returns up to f.Limit entries matching f, newest first; see
// choso.AuditTx. Limit 0 or less means DefaultListLimit, and it is capped at
// MaxListLimit.
func (tx *Tx) ListAudit(f choso.AuditFilter) ([]*choso.AuditEntry, error) {
	sql, args := "SELECT doc FROM audit WHERE true", []any{}
	if f.Before > 0 {
		args = append(args, int64(min(f.Before, 1<<63-1)))
		sql += " AND seq < $" + itoa(len(args))
	}
	if f.ObjectID != "" {
		args = append(args, f.ObjectID)
		sql += " AND object_id = $" + itoa(len(args))
	}
	if f.ActorID != "" {
		args = append(args, f.ActorID)
		sql += " AND actor_id = $" + itoa(len(args))
	}
	return listDocs[choso.AuditEntry](tx, sql+" ORDER BY seq DESC LIMIT "+itoa(listLimit(f.Limit)), args...)
}
