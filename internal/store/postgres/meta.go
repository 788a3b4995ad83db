package postgres

import "github.com/choso/choso"

// metaSchemaVersion is reserved, as in the bbolt store: the schema version
// lives in schema_migrations here, and no operator value may pose as it.
const metaSchemaVersion = "schema_version"

// Meta returns the operational value under key; see choso.Tx.
func (tx *Tx) Meta(key string) ([]byte, error) {
	var v []byte
	found, err := tx.scanRow("SELECT value FROM meta WHERE key = $1", []any{key}, &v)
	if err != nil || !found {
		return nil, err
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// SetMeta stores an operational value under key; see choso.Tx.
func (tx *Tx) SetMeta(key string, value []byte) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if key == "" || key == metaSchemaVersion {
		return choso.Errorf(choso.EInvalid, "meta key %q is reserved", key)
	}
	if value == nil {
		value = []byte{}
	}
	_, err := tx.exec("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
	return err
}
