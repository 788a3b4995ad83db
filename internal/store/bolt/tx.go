package bolt

import (
	"github.com/choso/choso"
	bolt "go.etcd.io/bbolt"
)

// Tx is one bbolt transaction seen through choso.Tx. Each noun adds its
// methods in its own file.
type Tx struct {
	tx *bolt.Tx
	db *DB
}

var _ choso.Tx = (*Tx)(nil)

// bucket returns a bucket that Open created. A missing bucket is a bug in
// the schema list, not a condition callers handle, so it panics; Update turns
// the panic into a rolled-back transaction.
func (tx *Tx) bucket(name []byte) *bolt.Bucket {
	b := tx.tx.Bucket(name)
	if b == nil {
		panic("bolt: bucket " + string(name) + " missing: add it to the schema")
	}
	return b
}

// writable returns EInvalid in a read-only transaction.
func (tx *Tx) writable() error {
	if !tx.tx.Writable() {
		return choso.Errorf(choso.EInvalid, "write in a read-only transaction")
	}
	return nil
}

// copyBytes returns a copy of b, which bbolt owns only until the transaction ends.
func copyBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
