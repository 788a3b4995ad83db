package bolt

import "github.com/choso/choso"

// Meta returns the operational value under key; see choso.Tx.
func (tx *Tx) Meta(key string) ([]byte, error) {
	return copyBytes(tx.bucket(bucketMeta).Get([]byte(key))), nil
}

// SetMeta stores an operational value under key; see choso.Tx.
func (tx *Tx) SetMeta(key string, value []byte) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if key == "" || key == metaSchemaVersion {
		return choso.Errorf(choso.EInvalid, "meta key %q is reserved", key)
	}
	return tx.bucket(bucketMeta).Put([]byte(key), copyBytes(value))
}
