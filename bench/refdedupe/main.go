// Command refdedupe is the shared harness's Echo+bbolt sync reference
// (../shared/bench/echo-bolt) with one thing added, to price it: the global
// index of client event IDs that the sync issue requires for cross-device
// dedupe (SYNC.md §6.5). With -ids=false it does what the reference does.
//
// POST /sync takes the reference's {"records":[{device_id,seq,ts,kind,payload}]}
// and, in one db.Batch call with bbolt's defaults as the reference uses,
// skips a record whose (device_id, seq) key is stored and puts it otherwise.
// With -ids it also looks the record's client ID up in a second bucket and
// puts it there: 16 bytes like a ULID (the record's 48-bit millisecond time,
// then 80 bits hashed from device and seq, since the reference's records
// carry no ID of their own) to a value of -idvalue bytes (choso's entity
// records are about 140). A record whose ID is stored counts as a duplicate.
// With -perpush it also writes, per request and in the same transaction,
// what the issue asks of every push beyond the events: the device's status
// record and its day's totals (read, changed, put back) and one partner feed
// entry (appended under the bucket's next sequence). Every commit is
// fsync'd. GET /stats reports the counters.
//
// bench/dedupe-cost.sh runs it beside the reference under wrk.
package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	bolt "go.etcd.io/bbolt"
)

type record struct {
	DeviceID string          `json:"device_id"`
	Seq      uint64          `json:"seq"`
	TS       int64           `json:"ts"`
	Kind     string          `json:"kind"`
	Payload  json.RawMessage `json:"payload"`
}

var (
	recordsBucket = []byte("records")
	idsBucket     = []byte("ids")
	devicesBucket = []byte("devices")
	daysBucket    = []byte("days")
	feedBucket    = []byte("feed")
)

// recordKey is the reference's key: device ID, a zero byte, seq big-endian.
func recordKey(r *record) []byte {
	k := make([]byte, 0, len(r.DeviceID)+9)
	k = append(k, r.DeviceID...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, r.Seq)
}

// idKey stands in for the client's ULID: time first, as a ULID sorts.
func idKey(r *record) []byte {
	var k [16]byte
	ms := uint64(r.TS)
	for i := 5; i >= 0; i-- {
		k[i] = byte(ms)
		ms >>= 8
	}
	sum := sha256.Sum256(recordKey(r))
	copy(k[6:], sum[:10])
	return k[:]
}

// perPushValue is the size of each per-push record: choso's device status,
// stall-day and feed change records are each about this size.
const perPushValue = 120

// writePerPush writes what one push changes beyond its events: the
// device's status (ack seq, last seen) and, when it accepted any record,
// its day's totals and a feed entry.
func writePerPush(tx *bolt.Tx, first *record, accepted int) error {
	device := []byte(first.DeviceID)
	status := make([]byte, perPushValue)
	if old := tx.Bucket(devicesBucket).Get(device); old != nil {
		copy(status, old)
	}
	binary.BigEndian.PutUint64(status, first.Seq)
	binary.BigEndian.PutUint64(status[8:], uint64(time.Now().UnixMilli()))
	if err := tx.Bucket(devicesBucket).Put(device, status); err != nil || accepted == 0 {
		return err
	}
	day := time.UnixMilli(first.TS).UTC().AppendFormat(append(device, '/'), "2006-01-02")
	totals := make([]byte, perPushValue)
	if old := tx.Bucket(daysBucket).Get(day); old != nil {
		copy(totals, old)
	}
	binary.BigEndian.PutUint64(totals, binary.BigEndian.Uint64(totals)+uint64(accepted))
	if err := tx.Bucket(daysBucket).Put(day, totals); err != nil {
		return err
	}
	feed := tx.Bucket(feedBucket)
	seq, err := feed.NextSequence()
	if err != nil {
		return err
	}
	entry := make([]byte, perPushValue)
	copy(entry, day)
	return feed.Put(binary.BigEndian.AppendUint64(nil, seq), entry)
}

// options are what the flags choose.
type options struct {
	maxRecords int  // records a request may carry
	ids        bool // keep the global client-ID index
	idValue    int  // bytes stored per client ID
	perPush    bool // write a device status, day totals and a feed entry per request
}

// server is the reference's handler over db, with the writes opts add.
type server struct {
	db               *bolt.DB
	opts             options
	nReq, nAcc, nDup atomic.Uint64
}

// openServer opens (or creates) the bbolt file at path with every bucket.
func openServer(path string, opts options) (*server, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{recordsBucket, idsBucket, devicesBucket, daysBucket, feedBucket} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &server{db: db, opts: opts}, nil
}

func (s *server) echo() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.POST("/sync", s.sync)
	e.GET("/stats", s.stats)
	return e
}

func (s *server) sync(c echo.Context) error {
	var b struct {
		Records []record `json:"records"`
	}
	if err := json.NewDecoder(c.Request().Body).Decode(&b); err != nil {
		return c.JSON(http.StatusBadRequest, map[string]string{"error": "bad json"})
	}
	if len(b.Records) == 0 || len(b.Records) > s.opts.maxRecords {
		return c.JSON(http.StatusBadRequest, map[string]string{"error": "bad batch size"})
	}
	n := len(b.Records)
	keys, idKeys, vals := make([][]byte, n), make([][]byte, n), make([][]byte, n)
	idVal := make([]byte, s.opts.idValue)
	for i := range b.Records {
		r := &b.Records[i]
		if r.DeviceID == "" || len(r.DeviceID) > 64 {
			return c.JSON(http.StatusBadRequest, map[string]string{"error": "bad device_id"})
		}
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		keys[i], idKeys[i], vals[i] = recordKey(r), idKey(r), v
	}
	var acc, dup int
	err := s.db.Batch(func(tx *bolt.Tx) error {
		acc, dup = 0, 0 // Batch may run this again alone
		recs, idx := tx.Bucket(recordsBucket), tx.Bucket(idsBucket)
		for i, k := range keys {
			if recs.Get(k) != nil || (s.opts.ids && idx.Get(idKeys[i]) != nil) {
				dup++
				continue
			}
			if err := recs.Put(k, vals[i]); err != nil {
				return err
			}
			if s.opts.ids {
				if err := idx.Put(idKeys[i], idVal); err != nil {
					return err
				}
			}
			acc++
		}
		if s.opts.perPush {
			return writePerPush(tx, &b.Records[0], acc)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.nReq.Add(1)
	s.nAcc.Add(uint64(acc))
	s.nDup.Add(uint64(dup))
	return c.JSON(http.StatusOK, map[string]int{"accepted": acc, "duplicates": dup})
}

func (s *server) stats(c echo.Context) error {
	counts := map[string]uint64{"requests": s.nReq.Load(), "accepted": s.nAcc.Load(), "duplicates": s.nDup.Load()}
	_ = s.db.View(func(tx *bolt.Tx) error {
		for name, b := range map[string][]byte{"keys": recordsBucket, "ids": idsBucket, "devices": devicesBucket,
			"days": daysBucket, "feed": feedBucket} {
			counts[name] = uint64(tx.Bucket(b).Stats().KeyN)
		}
		return nil
	})
	return c.JSON(http.StatusOK, counts)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18083", "listen address (loopback only)")
	path := flag.String("db", "refdedupe.db", "bbolt file")
	var opts options
	flag.IntVar(&opts.maxRecords, "max", 500, "max records per request")
	flag.BoolVar(&opts.ids, "ids", true, "keep the global client-ID index")
	flag.IntVar(&opts.idValue, "idvalue", 140, "bytes stored per client ID")
	flag.BoolVar(&opts.perPush, "perpush", false, "also write a device status, a day's totals and a feed entry per request")
	flag.Parse()
	s, err := openServer(*path, opts)
	if err != nil {
		log.Fatal(err)
	}
	err = s.echo().Start(*addr)
	s.db.Close()
	log.Fatal(err)
}
