package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/choso/choso"
	bolt "go.etcd.io/bbolt"
)

// Bucket names. Every bucket is created at Open, so transactions never
// create buckets and a missing bucket is a bug.
var (
	bucketMeta = []byte("meta")

	bucketRegions        = []byte("regions")         // code → Region
	bucketRegionChildren = []byte("region_children") // parent + "/" + code → nothing; provinces under ""

	bucketUsers     = []byte("users")      // ID → userRecord
	bucketUserNames = []byte("user_names") // username → ID

	bucketSessions     = []byte("sessions")      // token hash → sessionRecord
	bucketSessionUsers = []byte("session_users") // user ID + "/" + hex(token hash) → nothing

	bucketMarkets         = []byte("markets")          // ID → Market
	bucketMarketCommunes  = []byte("market_communes")  // commune + "/" + ID → nothing
	bucketMarketProvinces = []byte("market_provinces") // province + "/" + ID → nothing

	bucketStalls      = []byte("stalls")       // ID → Stall
	bucketStallCodes  = []byte("stall_codes")  // market ID + "/" + code → stall ID
	bucketStallPhones = []byte("stall_phones") // phone + "/" + stall ID → nothing
	// BIN + "/" + account + "/" + stall ID → nothing: the stalls a bank credit pays
	bucketStallAccounts = []byte("stall_accounts")
	// stall ID → when it was registered (Unix ns, big-endian): a report
	// counts the stalls registered by its last day without decoding them
	bucketStallCreated = []byte("stall_created")

	bucketAudit        = []byte("audit")         // seq (uint64 BE) → AuditEntry
	bucketAuditObjects = []byte("audit_objects") // object ID + "/" + seq BE → nothing
	bucketAuditActors  = []byte("audit_actors")  // actor ID + "/" + seq BE → nothing

	bucketDevices      = []byte("devices")       // ID → Device (binary; JSON deviceRecord before)
	bucketDeviceTokens = []byte("device_tokens") // token hash (current and previous) → device ID
	bucketStallDevices = []byte("stall_devices") // stall ID + "/" + device ID → nothing

	bucketEnrollments = []byte("enrollments") // code hash → Enrollment

	bucketResults    = []byte("results")     // device ID + "/" + first seq BE → a run of EventResults (binary); from schema 5 only those entities do not tell
	bucketEntities   = []byte("entity_keys") // entity key (entitykey.go: the client ULID, its tag first) → Entity (binary); "entities" by ULID before schema 6
	bucketEvents     = []byte("events")      // server_seq BE (the bucket's NextSequence) → Event (binary)
	bucketStallDays  = []byte("stall_days")  // stall ID + "/" + YYYY-MM-DD → StallDay (binary)
	bucketDeviceDays = []byte("device_days") // device ID + "/" + YYYY-MM-DD → DeviceDay (binary)
	bucketChanges    = []byte("changes")     // change_seq BE (the bucket's NextSequence) → Change (binary)
	bucketDayDates   = []byte("day_dates")   // YYYY-MM-DD + "/" + stall ID → nothing
	bucketDayChanges = []byte("day_changes") // stall ID + "/" + YYYY-MM-DD + "/" + change_seq BE → nothing

	bucketCredits        = []byte("credits")         // seq BE (the bucket's NextSequence) → Credit (binary)
	bucketCreditIDs      = []byte("credit_ids")      // partner ID + NUL + bank_txn_id (bank_txn_id alone before schema 3) → seq BE
	bucketStallCredits   = []byte("stall_credits")   // stall ID + "/" + StallPos BE → the credit's seq BE, or nothing when it is StallPos
	bucketAccountCredits = []byte("account_credits") // BIN + "/" + account + "/" + YYYY-MM-DD + "/" + seq BE → nothing
	bucketSaleRefs       = []byte("sale_refs")       // payment reference → sale ULID
	bucketQRSales        = []byte("qr_sales")        // stall ID + "/" + effective ms BE + "/" + sale ULID → the run's other sales (credit.go)

	bucketPartners       = []byte("partners")                // ID → partnerRecord
	bucketPartnerKeys    = []byte("partner_keys")            // key ID → partnerKeyRecord
	bucketPartnerKeysByP = []byte("partner_keys_by_partner") // partner ID + "/" + key ID → nothing
)

// buckets lists every bucket of the current schema.
var buckets = [][]byte{
	bucketMeta,
	bucketRegions, bucketRegionChildren,
	bucketUsers, bucketUserNames,
	bucketSessions, bucketSessionUsers,
	bucketMarkets, bucketMarketCommunes, bucketMarketProvinces,
	bucketStalls, bucketStallCodes, bucketStallPhones, bucketStallAccounts, bucketStallCreated,
	bucketAudit, bucketAuditObjects, bucketAuditActors,
	bucketDevices, bucketDeviceTokens, bucketStallDevices,
	bucketEnrollments,
	bucketResults, bucketEntities, bucketEvents, bucketStallDays, bucketDeviceDays, bucketChanges,
	bucketDayDates, bucketDayChanges,
	bucketCredits, bucketCreditIDs, bucketStallCredits, bucketAccountCredits, bucketSaleRefs, bucketQRSales,
	bucketPartners, bucketPartnerKeys, bucketPartnerKeysByP,
}

// Meta keys the store itself uses.
const (
	metaSchemaVersion = "schema_version" // uint64, big-endian
	metaCreatedAt     = "created_at"     // RFC 3339 time the store was created or first versioned
)

// A migration brings the store from version-1 to version. It runs in one
// transaction together with the version bump, so a crash leaves the store at
// either the old version or the new one, never between.
type migration struct {
	version int
	name    string
	apply   func(tx *bolt.Tx, now time.Time) error
}

// migrations is the history of the layout, oldest first. Append only: a
// released migration is never edited, because stores in the field have run it.
var migrations = []migration{
	{1, "record the schema version and the store's creation time", migrateV1},
	// Nothing to rewrite: this version reads devices stored as JSON, and
	// each is rewritten in the binary form at its next update. The version
	// is there so that an older choso, which reads only JSON, refuses the
	// store instead of calling its devices corrupt.
	{2, "store devices in the binary form", func(*bolt.Tx, time.Time) error { return nil }},
	// Nothing to rewrite either: credits stored before stay under their
	// bank transaction ID alone, which this version also reads (FindCredit).
	// An older choso would read only that form, miss the credits stored
	// under the new one, and take a bank's retry as a new credit: the
	// version makes it refuse the store.
	{3, "key credits by their partner and bank transaction ID", func(*bolt.Tx, time.Time) error { return nil }},
	// Nothing to rewrite: each sale indexed before is a run of one
	// (ListQRSales). An older choso would read only the first sale of a
	// run and miss the rest when it matches a bank's credit.
	{4, "hold the QR-sale index in runs", func(*bolt.Tx, time.Time) error { return nil }},
	// Nothing to rewrite: results stored before stay and are read first.
	// From this version a push stores only the results its events'
	// entities cannot tell (sync/push.go, toldByEntity). An older choso
	// would find no result for most seqs, answer a retry "expired", and
	// take a cloned phone's new sale at a used seq for a duplicate: the
	// version makes it refuse the store.
	{5, "store only the results that entities do not tell", func(*bolt.Tx, time.Time) error { return nil }},
	// The step makes the new index; Open then moves the entities into it
	// in transactions of their own (moveEntities), resuming after a crash.
	// An older choso would look for entities under their ULIDs and find
	// none: the version makes it refuse the store from the step on.
	{6, "key entities by their ULID's hours, then its tag", startEntityMove},
}

// SchemaVersion is the schema version this binary writes; an older store
// is migrated to it when opened for writing.
func SchemaVersion() int { return currentVersion(migrations) }

// currentVersion is the schema version this binary writes.
func currentVersion(migs []migration) int {
	if len(migs) == 0 {
		return 0
	}
	return migs[len(migs)-1].version
}

// migrateV1 versions a store. Version 0 is any bbolt file written before the
// store recorded a version; buckets it holds are kept as they are.
func migrateV1(tx *bolt.Tx, now time.Time) error {
	b, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	if b.Get([]byte(metaCreatedAt)) == nil {
		return b.Put([]byte(metaCreatedAt), []byte(now.UTC().Format(time.RFC3339)))
	}
	return nil
}

// bucketEntitiesByULID is the entity index before schema 6, keyed by the
// client ULID as it is. From schema 6 it exists only while Open moves it
// (moveEntities).
var bucketEntitiesByULID = []byte("entities")

// startEntityMove is schema step 6. It only makes the new index: the
// version it records makes an older choso refuse the store from here on,
// and Open then moves the entities (moveEntities) before it serves.
func startEntityMove(tx *bolt.Tx, _ time.Time) error {
	if tx.Bucket(bucketEntitiesByULID) == nil {
		return nil // a store made empty: Open creates the new index
	}
	_, err := tx.CreateBucketIfNotExists(bucketEntities)
	return err
}

// entityMoveChunk is about how many entities moveEntities moves in one
// transaction: whole windows of hours, so one window of a province's
// sales may make a transaction bigger.
var entityMoveChunk = 100_000

// moveEntities moves the entities of the index keyed by ULID into the one
// keyed by entity key (entitykey.go), a transaction at a time (moveEntityChunk).
// It is a no-op on a store without the old index.
func (db *DB) moveEntities() error {
	for {
		done, err := moveEntityChunk(db.db)
		if err != nil || done {
			return err
		}
	}
}

// moveEntityChunk moves, in one transaction, every entity of the old
// index's first few windows of hours (a ULID's first five characters,
// which both keys begin with) and deletes them there, or deletes the old
// index when it is empty and reports done. So each transaction appends to
// the new index in its key order and holds only its own entities in
// memory, and a move resumes where a crash left it: what is left in the
// old index is what is left to move.
func moveEntityChunk(bdb *bolt.DB) (done bool, err error) {
	err = bdb.Update(func(tx *bolt.Tx) error {
		old := tx.Bucket(bucketEntitiesByULID)
		if old == nil {
			done = true
			return nil
		}
		c := old.Cursor()
		k, v := c.First()
		if k == nil {
			done = true
			return tx.DeleteBucket(bucketEntitiesByULID)
		}
		type entry struct{ key, value, old []byte }
		var entries []entry
		for k != nil && len(entries) < entityMoveChunk {
			window := bytes.Clone(k[:min(len(k), ulidHours)])
			for ; k != nil && bytes.HasPrefix(k, window); k, v = c.Next() {
				entries = append(entries, entry{entityKey(nil, string(k)), bytes.Clone(v), bytes.Clone(k)})
			}
		}
		slices.SortFunc(entries, func(a, b entry) int { return bytes.Compare(a.key, b.key) })
		b, err := tx.CreateBucketIfNotExists(bucketEntities)
		if err != nil {
			return err
		}
		b.FillPercent = mostlyAppendFill
		for _, e := range entries {
			if err := b.Put(e.key, e.value); err != nil {
				return err
			}
		}
		for _, e := range entries {
			if err := old.Delete(e.old); err != nil {
				return err
			}
		}
		return nil
	})
	return done, err
}

// schemaVersion reads the version recorded in tx; 0 when none is.
func schemaVersion(tx *bolt.Tx) int {
	b := tx.Bucket(bucketMeta)
	if b == nil {
		return 0
	}
	v := b.Get([]byte(metaSchemaVersion))
	if len(v) != 8 {
		return 0
	}
	return int(binary.BigEndian.Uint64(v))
}

func putSchemaVersion(tx *bolt.Tx, version int) error {
	b, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	return b.Put([]byte(metaSchemaVersion), binary.BigEndian.AppendUint64(nil, uint64(version)))
}

// migrate applies, in order, each migration newer than the file, then makes
// sure every bucket exists. A file newer than this binary is refused rather
// than written by code that does not know its layout.
func (db *DB) migrate(migs []migration) error {
	var have int
	if err := db.db.View(func(tx *bolt.Tx) error { have = schemaVersion(tx); return nil }); err != nil {
		return translate(err)
	}
	if want := currentVersion(migs); have > want {
		return choso.Errorf(choso.EUnavailable,
			"store %s has schema version %d, newer than this choso understands (%d): run a newer choso", db.path, have, want)
	}
	for _, m := range migs {
		if m.version <= have {
			continue
		}
		err := db.db.Update(func(tx *bolt.Tx) error {
			if err := m.apply(tx, db.now()); err != nil {
				return err
			}
			return putSchemaVersion(tx, m.version)
		})
		if err != nil {
			return choso.WrapError(choso.EUnavailable,
				fmt.Sprintf("store %s: migration to version %d (%s) failed; the store is left at version %d", db.path, m.version, m.name, have),
				translate(err))
		}
		have = m.version
	}
	if err := db.moveEntities(); err != nil {
		return choso.WrapError(choso.EUnavailable,
			fmt.Sprintf("store %s: moving the index of client ULIDs to schema 6's keys failed; it resumes at the next start", db.path), translate(err))
	}
	return translate(db.db.Update(func(tx *bolt.Tx) error {
		var created [][]byte
		for _, name := range buckets {
			if tx.Bucket(name) != nil {
				continue
			}
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
			created = append(created, name)
		}
		for _, name := range created {
			if build := indexBuilders[string(name)]; build != nil {
				btx := &Tx{tx: tx, db: db}
				if err := build(btx); err != nil {
					return fmt.Errorf("build index %s: %w", name, err)
				}
				if err := btx.flush(); err != nil {
					return fmt.Errorf("build index %s: %w", name, err)
				}
			}
		}
		return nil
	}))
}

// indexBuilders fill an index bucket from the records it indexes, for a
// store written before the index existed: Open runs a bucket's builder in
// the transaction that creates it, so an index is never partial. Indexes
// of records that came with their index need none.
var indexBuilders = map[string]func(tx *Tx) error{
	string(bucketDayDates): func(tx *Tx) error {
		for k := range ascend(tx.bucket(bucketStallDays), nil, nil) {
			i := bytes.LastIndex(k, []byte(keySep))
			if err := tx.indexDayDate(string(k[:i]), string(k[i+1:])); err != nil {
				return err
			}
		}
		return nil
	},
	string(bucketDayChanges): func(tx *Tx) error {
		for _, v := range ascend(tx.bucket(bucketChanges), nil, nil) {
			c, err := decodeChange(v)
			if err != nil {
				return err
			}
			if err := tx.indexDayChange(c.Day.StallID, c.Day.Date, c.ChangeSeq); err != nil {
				return err
			}
		}
		return nil
	},
	string(bucketStallCreated): func(tx *Tx) error {
		return eachStoredStall(tx, func(s *choso.Stall) error {
			return tx.bucket(bucketStallCreated).Put([]byte(s.ID), createdValue(s.CreatedAt))
		})
	},
	string(bucketStallAccounts): func(tx *Tx) error {
		return eachStoredStall(tx, func(s *choso.Stall) error { return tx.putAccountKeys(nil, accountKeys(s)) })
	},
}

// eachStoredStall decodes every stall record, for the index builders.
func eachStoredStall(tx *Tx, fn func(*choso.Stall) error) error {
	for _, v := range ascend(tx.bucket(bucketStalls), nil, nil) {
		var s choso.Stall
		if err := jsonUnmarshal(v, &s); err != nil {
			return err
		}
		if err := fn(&s); err != nil {
			return err
		}
	}
	return nil
}

// checkVersionReadable refuses a read-only open of a file newer than this
// binary. An older file opens, and Check reports it as not migrated.
func (db *DB) checkVersionReadable(migs []migration) error {
	var have int
	if err := db.db.View(func(tx *bolt.Tx) error { have = schemaVersion(tx); return nil }); err != nil {
		return translate(err)
	}
	if want := currentVersion(migs); have > want {
		return choso.Errorf(choso.EUnavailable,
			"store %s has schema version %d, newer than this choso understands (%d): run a newer choso", db.path, have, want)
	}
	return nil
}

// NeedsMigration reports whether opening the store for writing would
// change its layout: its schema version is older than this binary's, or it
// lacks a bucket of the current schema (an index added since the release
// that wrote it, which Open builds), or schema 6's move of the entity index
// has not finished (moveEntities). A read-only open, as `choso check`
// makes of a backup, sees such a store as it was written.
func (db *DB) NeedsMigration() bool {
	outdated := false
	db.db.View(func(tx *bolt.Tx) error {
		if schemaVersion(tx) < currentVersion(migrations) {
			outdated = true
			return nil
		}
		for _, name := range buckets {
			if tx.Bucket(name) == nil {
				outdated = true
				return nil
			}
		}
		outdated = tx.Bucket(bucketEntitiesByULID) != nil // a move of schema 6 not finished
		return nil
	})
	return outdated
}
