package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/choso/choso/sync/client/clienttest"
)

// enrollStub answers POST /v1/devices/enroll with a new device for any
// code, and keeps the bodies it was sent. strict refuses, as servers from
// before the replaces claim did, a body with a field it does not know.
type enrollStub struct {
	strict bool
	mu     sync.Mutex
	bodies []enrollRequest
}

func (s *enrollStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	if s.strict {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if dec.Decode(&struct {
			Code       string `json:"code"`
			AppVersion string `json:"app_version"`
		}{}) != nil {
			http.Error(w, `{"code":"invalid","message":"unknown field"}`, http.StatusBadRequest)
			return
		}
	}
	var req enrollRequest
	if json.Unmarshal(raw, &req) != nil {
		http.Error(w, `{"code":"invalid"}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.bodies = append(s.bodies, req)
	n := len(s.bodies)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"device_id":"dev_%d","token":"tok-%d","stall_id":"stl_a","server_time_ms":1772416800000}`, n, n)
}

func openStubPhone(t *testing.T, url string) *Client {
	t.Helper()
	c, err := Open(filepath.Join(t.TempDir(), "outbox.db"), &Options{ServerURL: url, Clock: clienttest.NewClock(1772416800000), ReconnectJitterMs: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Enrolled again, the phone names the device it held and shows its token,
// so the server can check its day.close against both devices; a first
// enrollment names none.
func TestEnroll_Again_NamesTheDeviceItHeld(t *testing.T) {
	stub := &enrollStub{}
	srv := httptest.NewServer(stub)
	t.Cleanup(srv.Close)
	c := openStubPhone(t, srv.URL)
	for _, code := range []string{"AAAA-BBBB-CCCC", "DDDD-EEEE-FFFF"} {
		if err := c.Enroll(code); err != nil {
			t.Fatal(err)
		}
	}
	if len(stub.bodies) != 2 {
		t.Fatalf("%d enrollment requests, want 2", len(stub.bodies))
	}
	if first := stub.bodies[0]; first.Replaces != "" || first.ReplacesToken != "" {
		t.Errorf("first enrollment claims %q/%q, want nothing", first.Replaces, first.ReplacesToken)
	}
	if again := stub.bodies[1]; again.Replaces != "dev_1" || again.ReplacesToken != "tok-1" {
		t.Errorf("enrollment again claims %q/%q, want dev_1/tok-1", again.Replaces, again.ReplacesToken)
	}
	if st, _ := c.Status(); st.DeviceID != "dev_2" {
		t.Errorf("device after enrolling again: %q, want dev_2", st.DeviceID)
	}
}

// A server from before the claim refuses its fields (400, before it looks
// at the code): the phone enrolls again without them, as a new install.
func TestEnroll_AgainWithAServerFromBeforeTheClaim_EnrollsWithout(t *testing.T) {
	stub := &enrollStub{strict: true}
	srv := httptest.NewServer(stub)
	t.Cleanup(srv.Close)
	c := openStubPhone(t, srv.URL)
	if _, err := c.RecordSale(10_000, "cash", ""); err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"AAAA-BBBB-CCCC", "DDDD-EEEE-FFFF"} {
		if err := c.Enroll(code); err != nil {
			t.Fatalf("enroll %s: %v", code, err)
		}
	}
	if len(stub.bodies) != 2 || stub.bodies[1].Code != "DDDD-EEEE-FFFF" || stub.bodies[1].ReplacesToken != "" {
		t.Fatalf("enrollments the old server took: %+v, want the second without a claim", stub.bodies)
	}
	if st, _ := c.Status(); st.DeviceID != "dev_2" || st.Pending != 1 {
		t.Fatalf("after enrolling again: %+v, want dev_2 with the sale pending", st)
	}
}
