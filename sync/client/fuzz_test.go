package client

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"

	chosync "github.com/choso/choso/sync"
	"github.com/choso/choso/sync/client/clienttest"
)

// FuzzPushResponse answers a push with arbitrary bytes (as a 200, or an
// error status) and checks the client never panics, never deletes an event
// it did not send or whose seq is above the answer's ack_seq, and keeps its
// pending count equal to the outbox.
func FuzzPushResponse(f *testing.F) {
	seeds := []string{
		`{"ack_seq":3,"next_expected_seq":4,"results":[{"seq":1,"status":"applied"},{"seq":2,"status":"rejected","code":"invalid_amount"},{"seq":3,"status":"duplicate","original":{"status":"rejected"}}],"server_time_ms":1767000000000,"config_version":9,"token":"t2"}`,
		`{"ack_seq":1,"results":[{"seq":2,"status":"rejected","code":"seq_reused"}],"gap":{"expected":1,"received":5}}`,
		`{"ack_seq":18446744073709551615,"gap":{"expected":0}}`,
		`{"error":{"code":"device_revoked","message":"x"}}`,
		`{"ack_seq":-1}`, `null`, `[]`, `{`, ``,
	}
	for i, s := range seeds {
		f.Add([]byte(s), []int{200, 200, 200, 403, 200, 200, 200, 200, 200}[i])
	}
	f.Add([]byte(`{}`), 429)
	f.Add([]byte(`{}`), 413)

	var body atomic.Value
	var status atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(int(status.Load()))
		w.Write(body.Load().([]byte))
	}))
	defer ts.Close()
	srv := clienttest.New(f)
	f.Fuzz(func(t *testing.T, raw []byte, code int) {
		if code < 200 || code > 599 {
			code = 200
		}
		c, err := Open(filepath.Join(t.TempDir(), "f.db"), &Options{ServerURL: srv.URL, Clock: clienttest.NewClock(t0.UnixMilli()), NoSync: true, ReconnectJitterMs: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Enroll(srv.EnrollmentCode(srv.NewStall())); err != nil {
			t.Fatal(err)
		}
		c.base = ts.URL
		for i := 0; i < 5; i++ {
			c.RecordSale(1000, "cash", "")
		}
		body.Store(raw)
		status.Store(int64(code))
		r, err := c.PushOnce()
		if err != nil {
			t.Fatal(err)
		}
		var resp chosync.PushResponse
		okJSON := json.Unmarshal(raw, &resp) == nil
		var left []uint64
		c.db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketOutbox).ForEach(func(k, _ []byte) error {
				left = append(left, getUintKey(k))
				return nil
			})
		})
		if st := mustStatus(t, c); st.Pending != len(left) {
			t.Fatalf("pending count %d, outbox holds %d", st.Pending, len(left))
		}
		kept := map[uint64]bool{}
		for _, s := range left {
			kept[s] = true
		}
		for s := uint64(1); s <= 5; s++ {
			if kept[s] {
				continue
			}
			if code != 200 || !okJSON || s > resp.AckSeq {
				t.Fatalf("seq %d deleted: status %d, ack_seq %d, outcome %s", s, code, resp.AckSeq, r.Outcome)
			}
		}
	})
}
