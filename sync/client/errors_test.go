package client

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/choso/choso/sync/client/clienttest"
)

// An app bound with gomobile gets a Go error as an Exception with a message
// only: it cannot errors.As it to an HTTPError. ErrorKind tells it what to
// do: a wrong enrollment code, no network, a revoked phone, a phone not
// enrolled yet each have their own kind.
func TestErrorKind_TellsAppsWhatWentWrong(t *testing.T) {
	srv := clienttest.New(t)
	clk := clienttest.NewClock(t0.UnixMilli())
	c := mustOpen(t, filepath.Join(t.TempDir(), "outbox.db"), srv, clk)

	_, err := c.RefreshConfig()
	if k := ErrorKind(err); k != KindNotEnrolled {
		t.Errorf("config pull before enrollment: kind %q (%v), want %q", k, err, KindNotEnrolled)
	}
	err = c.Enroll("WRONGCODE123")
	if k := ErrorKind(err); k != KindNotFound || HTTPErrorOf(err) == nil || HTTPErrorOf(err).Status != http.StatusNotFound {
		t.Errorf("a wrong enrollment code: kind %q, %+v (%v); want %q and the 404", k, HTTPErrorOf(err), err, KindNotFound)
	}
	if _, err := c.RecordSale(0, "cash", ""); ErrorKind(err) != KindInvalidSale {
		t.Errorf("a sale of 0: kind %q (%v), want %q", ErrorKind(err), err, KindInvalidSale)
	}
	if err := c.Enroll(srv.EnrollmentCode(srv.NewStall())); err != nil {
		t.Fatal(err)
	}
	sale, err := c.RecordSale(1000, "cash", "")
	if err != nil {
		t.Fatal(err)
	}
	c.VoidSale(sale.ID, "")
	if _, err := c.VoidSale(sale.ID, ""); ErrorKind(err) != KindAlreadyVoided {
		t.Errorf("a second void: kind %q (%v), want %q", ErrorKind(err), err, KindAlreadyVoided)
	}
	srv.Revoke(mustStatus(t, c).DeviceID)
	if _, err := c.Totals(7); ErrorKind(err) != OutcomeRevoked {
		t.Errorf("a revoked phone's read: kind %q (%v), want %q", ErrorKind(err), err, OutcomeRevoked)
	}
	if _, err := c.RefreshConfig(); ErrorKind(err) != OutcomeRevoked {
		t.Errorf("a revoked phone's config pull: kind %q (%v), want %q", ErrorKind(err), err, OutcomeRevoked)
	}
	srv.Close()
	if _, err := c.ServerStatus(); ErrorKind(err) != OutcomeNetwork || HTTPErrorOf(err) != nil {
		t.Errorf("no server: kind %q (%v), want %q and no HTTPError", ErrorKind(err), err, OutcomeNetwork)
	}
	c.Close()
	if _, err := c.RecordSale(1000, "cash", ""); ErrorKind(err) != KindClosed {
		t.Errorf("after Close: kind %q (%v), want %q", ErrorKind(err), err, KindClosed)
	}
	if ErrorKind(nil) != "" {
		t.Error("ErrorKind(nil) is not empty")
	}

	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stop }))
	defer hang.Close()
	defer close(stop)
	slow := mustOpen(t, filepath.Join(t.TempDir(), "outbox.db"), nil, clk, func(o *Options) { o.ServerURL, o.TimeoutMs = hang.URL, 100 })
	if err := slow.Enroll("ABCDEFGHJKMN"); ErrorKind(err) != OutcomeTimeout {
		t.Errorf("no answer in time: kind %q (%v), want %q", ErrorKind(err), err, OutcomeTimeout)
	}
}

// An answer the connection cut short (a market's link dropping mid-body) is
// the network's doing, as a push with the same failure reports it: the app
// tries again later, it does not look for a fault on the phone.
func TestErrorKind_AnswerCutShortIsNetwork(t *testing.T) {
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"device_id":`))
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	}))
	defer cut.Close()
	clk := clienttest.NewClock(t0.UnixMilli())
	c := mustOpen(t, filepath.Join(t.TempDir(), "outbox.db"), nil, clk, func(o *Options) { o.ServerURL = cut.URL })
	if err := c.Enroll("ABCDEFGHJKMN"); ErrorKind(err) != OutcomeNetwork {
		t.Errorf("an answer cut short: kind %q (%v), want %q", ErrorKind(err), err, OutcomeNetwork)
	}
}
