package client

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choso/choso/sync/client/clienttest"
)

// The totals and the server's status are read with the device token, as
// the config is: two pushes that rotate the token and then use the new one
// while such a read is on its way must not leave it carrying a token the
// server has dropped (401 to an enrolled phone).
func TestGet_BesidePushesThatRotateTheToken_IsNotRefused(t *testing.T) {
	for _, read := range []struct {
		path string
		call func(*Client) ([]byte, error)
	}{
		{"/v1/sync/totals", func(c *Client) ([]byte, error) { return c.Totals(7) }},
		{"/v1/sync/status", func(c *Client) ([]byte, error) { return c.ServerStatus() }},
		{"/v1/sync/credits", func(c *Client) ([]byte, error) { return c.Credits(0) }},
	} {
		t.Run(read.path, func(t *testing.T) {
			p, pushed := pushesDuring(t, read.path)
			if _, err := read.call(p.Client); err != nil {
				t.Fatalf("%s beside the pushes: %v", read.path, err)
			}
			<-pushed
			if st := mustStatus(t, p.Client); st.State != StateOK || st.Pending != 0 {
				t.Fatalf("after the read and the pushes: state %s, %d pending; want ok and none", st.State, st.Pending)
			}
		})
	}
}

// pushesDuring enrolls a phone with a sale pending whose next push rotates
// its token, and has two pushes try to run (the first rotating the token,
// the second using the new one) while the phone's request to path is on
// its way, between its reading the token and sending it. pushed closes
// when they are done; they must wait for the request, and are let on
// after 300 ms whether they did or not.
func pushesDuring(t *testing.T, path string) (*phone, <-chan struct{}) {
	t.Helper()
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	mustSell(t, p.Client, 1, 1000, "cash")
	srv.Lock()
	srv.RotateNext = 1
	srv.Unlock()
	inner := p.http.Transport
	var once sync.Once
	pushed := make(chan struct{})
	p.http.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == path {
			once.Do(func() {
				go func() {
					defer close(pushed)
					p.PushOnce()
					p.RecordSale(2000, "cash", "")
					p.PushOnce()
				}()
				select {
				case <-pushed:
				case <-time.After(300 * time.Millisecond): // they wait for the request, as they must
				}
			})
		}
		return inner.RoundTrip(r)
	})
	return p, pushed
}

// The credits to the stall's account ("tiền đã về") are a read of the phone
// like the totals: an app must not send the token itself, which a push may
// rotate under it.
func TestCredits_PagesTheStallsCredits(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	srv.AddCredit(p.stall, 45_000, "CS7KQ2M9XW thanh toan")
	srv.AddCredit(srv.NewStall(), 9_000, "another stall's")
	var page struct {
		Data []struct {
			Seq    uint64 `json:"seq"`
			Amount int64  `json:"amount"`
		} `json:"data"`
		LastSeq uint64 `json:"last_seq"`
	}
	raw, err := p.Credits(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &page); err != nil || len(page.Data) != 1 || page.Data[0].Amount != 45_000 {
		t.Fatalf("credits %s (%v): want the stall's one credit of 45000", raw, err)
	}
	srv.AddCredit(p.stall, 20_000, "chuyen tien")
	if raw, err = p.Credits(int64(page.LastSeq)); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &page); err != nil || len(page.Data) != 1 || page.Data[0].Amount != 20_000 {
		t.Fatalf("credits after last_seq %s (%v): want only the new credit", raw, err)
	}
}

// The loop pulls a stale config by itself; a server that answers the pull
// 503 with Retry-After is waited for, as a push's 503 is, not asked again
// after the short backoff. The 0.7 s watched start at the first pull, not
// at Run, and the Retry-After is far longer than they are: a loaded
// machine's slow start or stall cannot make the count 0 or 2.
func TestLoop_ConfigPull_HonoursRetryAfter(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv) // enrolled: its config is stale
	inner := p.http.Transport
	var mu sync.Mutex
	pulls := 0
	p.http.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path != "/v1/sync/config" {
			return inner.RoundTrip(r)
		}
		mu.Lock()
		pulls++
		mu.Unlock()
		h := http.Header{"Retry-After": {"60"}, "Content-Type": {"application/json"}}
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: h, Request: r,
			Body: io.NopCloser(strings.NewReader(`{"error":{"code":"unavailable","message":"busy"}}`))}, nil
	})
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return pulls
	}
	p.Run()
	for deadline := time.Now().Add(10 * time.Second); count() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the loop never pulled the stale config")
		}
	}
	time.Sleep(700 * time.Millisecond) // the backoff (base 20 ms) would pull a dozen times
	p.Stop()
	if n := count(); n != 1 {
		t.Fatalf("%d config pulls within 0.7 s of a Retry-After of 60 s; want 1", n)
	}
}
