package bolt

import (
	"encoding/binary"

	"github.com/choso/choso"
)

// seqKey is a sequence number as a key: big-endian, so keys sort by number.
func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// AppendAudit stores e under the next sequence number, which it sets in
// e.Seq, with an entry in the object and actor indexes; see choso.AuditTx.
// The sequence is the audit bucket's, so a rolled-back append leaves no gap.
func (tx *Tx) AppendAudit(e *choso.AuditEntry) error {
	if err := tx.writable(); err != nil {
		return err
	}
	b := tx.bucket(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	entry := *e
	entry.Seq = seq
	if err := putJSON(b, seqKey(seq), &entry); err != nil {
		return err
	}
	// Index keys end in exactly 8 bytes of sequence, so an ID holding the
	// separator cannot be mistaken for another's prefix (see auditIndexed).
	if e.ObjectID != "" {
		if err := tx.bucket(bucketAuditObjects).Put(append(joinKey(e.ObjectID, ""), seqKey(seq)...), nil); err != nil {
			return err
		}
	}
	if e.ActorID != "" {
		if err := tx.bucket(bucketAuditActors).Put(append(joinKey(e.ActorID, ""), seqKey(seq)...), nil); err != nil {
			return err
		}
	}
	e.Seq = seq
	return nil
}

// ListAudit returns up to f.Limit entries matching f, newest first, with Seq
// below f.Before when it is set; see choso.AuditTx. Limit 0 or less means
// DefaultListLimit, and it is capped at MaxListLimit. With an object or actor
// filter it walks that index backwards (the object's when both are set,
// checking the actor on each entry); without one, the log itself.
func (tx *Tx) ListAudit(f choso.AuditFilter) ([]*choso.AuditEntry, error) {
	limit := listLimit(f.Limit)
	var before []byte
	if f.Before > 0 {
		before = seqKey(f.Before)
	}
	log := tx.bucket(bucketAudit)
	var list []*choso.AuditEntry
	add := func(v []byte) (bool, error) {
		var e choso.AuditEntry
		if err := jsonUnmarshal(v, &e); err != nil {
			return false, err
		}
		if f.ActorID != "" && e.ActorID != f.ActorID || f.ObjectID != "" && e.ObjectID != f.ObjectID {
			return true, nil
		}
		list = append(list, &e)
		return len(list) < limit, nil
	}

	if f.ObjectID == "" && f.ActorID == "" {
		for _, v := range descend(log, nil, before) {
			more, err := add(v)
			if err != nil {
				return nil, err
			}
			if !more {
				break
			}
		}
		return list, nil
	}
	index, id := tx.bucket(bucketAuditObjects), f.ObjectID
	if id == "" {
		index, id = tx.bucket(bucketAuditActors), f.ActorID
	}
	prefix := joinKey(id, "")
	if before != nil {
		before = append(prefix, before...)
	}
	for k := range descend(index, prefix, before) {
		if len(k) != len(prefix)+8 {
			continue // another ID's entry: one that begins with id + "/"
		}
		seq := k[len(prefix):]
		v := log.Get(seq)
		if v == nil {
			return nil, choso.Errorf(choso.EInternal, "audit index names entry %d, which is not stored", binary.BigEndian.Uint64(seq))
		}
		more, err := add(v)
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
	}
	return list, nil
}
