package client

import (
	"net/http"
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
	} {
		t.Run(read.path, func(t *testing.T) {
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
				if r.URL.Path == read.path {
					once.Do(func() {
						go func() {
							defer close(pushed)
							p.PushOnce()
							p.RecordSale(2000, "cash", "")
							p.PushOnce()
						}()
						select {
						case <-pushed:
						case <-time.After(300 * time.Millisecond): // they wait for the read, as they must
						}
					})
				}
				return inner.RoundTrip(r)
			})
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
