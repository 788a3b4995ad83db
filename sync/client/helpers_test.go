package client

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/choso/choso/sync/client/clienttest"
)

var t0 = time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC) // 10:00 in Hà Nội

// mustOpen opens a client on a real bbolt file and closes it on cleanup.
func mustOpen(t *testing.T, path string, srv *clienttest.Server, clk Clock, tweak ...func(*Options)) *Client {
	t.Helper()
	o := &Options{AppVersion: "test/1", Clock: clk, BackoffBaseMs: 20, BackoffCapMs: 200, ReconnectJitterMs: -1, TimeoutMs: 5000}
	if srv != nil {
		o.ServerURL = srv.URL
	}
	for _, f := range tweak {
		f(o)
	}
	c, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// phone is an enrolled client of a fresh stall of srv.
type phone struct {
	*Client
	clk   *clienttest.Clock
	path  string
	stall string
}

func newPhone(t *testing.T, srv *clienttest.Server, tweak ...func(*Options)) *phone {
	t.Helper()
	clk := clienttest.NewClock(t0.UnixMilli())
	srv.SetNow(func() time.Time { return time.UnixMilli(clk.WallMs()) })
	path := filepath.Join(t.TempDir(), "outbox.db")
	c := mustOpen(t, path, srv, clk, tweak...)
	stall := srv.NewStall()
	if err := c.Enroll(srv.EnrollmentCode(stall)); err != nil {
		t.Fatal(err)
	}
	return &phone{Client: c, clk: clk, path: path, stall: stall}
}

func mustStatus(t *testing.T, c *Client) *Status {
	t.Helper()
	s, err := c.Status()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustSell(t *testing.T, c *Client, n int, amount int64, method string) []*Event {
	t.Helper()
	var out []*Event
	for i := 0; i < n; i++ {
		ev, err := c.RecordSale(amount, method, "")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func mustPush(t *testing.T, c *Client) *PushResult {
	t.Helper()
	r, err := c.PushOnce()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// drain pushes until the outbox is empty or tries run out.
func drain(t *testing.T, c *Client, tries int) {
	t.Helper()
	for i := 0; i < tries; i++ {
		r := mustPush(t, c)
		if r.Outcome == OutcomeNothing {
			return
		}
		if r.Pending == 0 && r.Outcome == OutcomeOK {
			return
		}
	}
	t.Fatalf("outbox not drained after %d pushes: %+v", tries, mustStatus(t, c))
}

// wantServerTotals compares the server's totals of a stall with the
// phone's own tally.
func wantServerTotals(t *testing.T, srv *clienttest.Server, stall string, tallies ...*Tally) {
	t.Helper()
	got := srv.StallTotals(stall)
	var want Tally
	for _, x := range tallies {
		want.CashCount += x.CashCount
		want.CashAmount += x.CashAmount
		want.QRCount += x.QRCount
		want.QRAmount += x.QRAmount
		want.TransferCount += x.TransferCount
		want.TransferAmount += x.TransferAmount
	}
	if got["cash"].Count != want.CashCount || got["cash"].Amount != want.CashAmount ||
		got["qr"].Count != want.QRCount || got["qr"].Amount != want.QRAmount ||
		got["transfer"].Count != want.TransferCount || got["transfer"].Amount != want.TransferAmount {
		t.Fatalf("server totals %+v, want the phones' %+v", got, want)
	}
}

func mustTally(t *testing.T, c *Client) *Tally {
	t.Helper()
	x, err := c.TotalTally()
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func rejections(t *testing.T, c *Client) []rejection {
	t.Helper()
	raw, err := c.RejectedJSON()
	if err != nil {
		t.Fatal(err)
	}
	var out []rejection
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
