package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/secret"
	"github.com/choso/choso/internal/store/bolt"
)

type plainHasher struct{}

func (plainHasher) Hash(_ context.Context, pw string) (string, error) { return "plain$" + pw, nil }
func (plainHasher) Verify(_ context.Context, h, pw string) (bool, error) {
	return subtle.ConstantTimeCompare([]byte(h), []byte("plain$"+pw)) == 1, nil
}

type banks struct{}

func (banks) LookupBIN(bin string) (string, string, bool) { return bin, "VCB", bin == "970436" }

// receivedEvent is an Event as a receiver decodes it, by its type.
type receivedEvent struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
	Header    string          `json:"-"` // the webhook-id header
}

func (e receivedEvent) summaries() (d SummariesChanged) {
	json.Unmarshal(e.Data, &d)
	return d
}

func (e receivedEvent) mismatch() (d ReconciliationMismatch) {
	json.Unmarshal(e.Data, &d)
	return d
}

// receiver is a partner's webhook endpoint on loopback that checks
// signatures and fails the first failures requests (every request's
// webhook-id is kept in tried).
type receiver struct {
	mu       sync.Mutex
	secret   []byte
	failures int
	got      []receivedEvent
	tried    []string
	bad      int
	hold     chan struct{} // when set, each request waits for it to close
}

// standardWebhooksVerify checks a signature as a Standard Webhooks library
// does, written here from the spec rather than from Sign: the key is the
// standard base64 after "whsec_", and the header holds "v1," + the base64
// of HMAC-SHA256 over id.timestamp.body.
func standardWebhooksVerify(secret []byte, id string, ts int64, body []byte, header string) bool {
	b64, ok := strings.CutPrefix(string(secret), "whsec_")
	if !ok {
		return false
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return hmac.Equal([]byte(header), []byte("v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil))))
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	ts, _ := strconv.ParseInt(req.Header.Get("webhook-timestamp"), 10, 64)
	r.mu.Lock()
	hold := r.hold
	r.mu.Unlock()
	if hold != nil {
		<-hold
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !standardWebhooksVerify(r.secret, req.Header.Get("webhook-id"), ts, body, req.Header.Get("webhook-signature")) {
		r.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	r.tried = append(r.tried, req.Header.Get("webhook-id"))
	if r.failures > 0 {
		r.failures--
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	var ev receivedEvent
	json.Unmarshal(body, &ev)
	ev.Header = req.Header.Get("webhook-id")
	r.got = append(r.got, ev)
}

// events returns what was received, of one type or all ("").
func (r *receiver) events(typ string) []receivedEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []receivedEvent
	for _, e := range r.got {
		if typ == "" || e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func TestDispatcher_AtLeastOnceWithBackoffAndLog(t *testing.T) {
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "choso.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := make([]byte, 32)
	rand.Read(key)
	now := time.Now()
	clock := func() time.Time { return now }
	reg := &choso.Registry{Store: db, Banks: banks{}, Hasher: plainHasher{}, Now: clock}
	sealer, err := secret.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	ps := &choso.Partners{Store: db, Sealer: sealer, Now: clock, Location: time.LoadLocation}
	admin := choso.SystemPrincipal("test")
	reg.PutRegions(ctx, admin, []*choso.Region{{Code: "24", Name: "Tỉnh Bắc Ninh"}, {Code: "07210", Name: "Phường Bắc Giang", ParentCode: "24"}})
	m, _ := reg.CreateMarket(ctx, admin, choso.NewMarket{Name: "Chợ Thương", CommuneCode: "07210"})
	st, err := reg.CreateStall(ctx, admin, m.ID, choso.NewStall{Code: "A-1", Name: "Rau", VendorName: "Lê Thị Hoa", VendorPhone: "0912345678",
		Payout: choso.PayoutAccount{BIN: "970436", Account: "0011001234567", Holder: "LE THI HOA"}, ConsentGiven: true})
	if err != nil {
		t.Fatal(err)
	}
	p, _, _, err := ps.AddPartner(ctx, admin, choso.NewPartner{Name: "VCB", Provinces: []string{"24"}})
	if err != nil {
		t.Fatal(err)
	}
	rcv := &receiver{failures: 2}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	whs, err := ps.SetWebhook(ctx, admin, p.ID, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	rcv.secret = []byte(whs)

	change := func() {
		db.Update(ctx, func(tx choso.Tx) error {
			d := &choso.StallDay{StallID: st.ID, MarketID: m.ID, CommuneCode: "07210", ProvinceCode: "24", Date: "2026-11-26", Status: choso.DayProvisional,
				ByMethod: map[string]choso.MethodTotals{"cash": {Count: 1, Amount: 1000}}}
			seq, err := tx.AppendChange(&choso.Change{Day: *d, At: now})
			d.Revision = seq
			if err != nil {
				return err
			}
			return tx.PutStallDay(d)
		})
	}
	d := &Dispatcher{Partners: ps, Now: clock, Log: nil}
	d.Tick(ctx) // nothing yet
	change()
	change()
	d.Tick(ctx)                    // fails (502)
	d.Tick(ctx)                    // within the backoff: no attempt
	now = now.Add(2 * time.Second) // past the first backoff
	d.Tick(ctx)                    // fails again
	now = now.Add(3 * time.Second)
	d.Tick(ctx) // delivered
	d.Tick(ctx) // nothing new: no delivery
	rcv.mu.Lock()
	got, bad := rcv.got, rcv.bad
	rcv.mu.Unlock()
	if bad != 0 || len(got) != 1 || got[0].Type != EventSummariesChanged || got[0].summaries() != (SummariesChanged{AfterChangeSeq: 0, UpToChangeSeq: 2}) {
		t.Fatalf("received %+v (%d badly signed), want one summaries.changed up to change 2", got, bad)
	}
	change()
	now = now.Add(time.Second)
	d.Tick(ctx)
	rcv.mu.Lock()
	got = rcv.got
	rcv.mu.Unlock()
	if len(got) != 2 || got[1].summaries() != (SummariesChanged{AfterChangeSeq: 2, UpToChangeSeq: 3}) {
		t.Fatalf("second event %+v, want after 2 up to 3", got)
	}
	page, err := reg.ListAudit(ctx, admin, choso.AuditFilter{ObjectID: p.ID, ActorID: "webhook"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range page.Data {
		actions = append(actions, e.Action)
	}
	want := "webhook.delivered webhook.delivered webhook.failed webhook.failed"
	if got := join(actions); got != want {
		t.Fatalf("delivery log %q, want %q", got, want)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestSign_StandardWebhooksShape(t *testing.T) {
	got := Sign([]byte("whsec_test"), "evt_1", 1764140000, []byte(`{"a":1}`))
	if len(got) < 4 || got[:3] != "v1," {
		t.Fatalf("signature %q, want v1,BASE64", got)
	}
	if Sign([]byte("whsec_test"), "evt_1", 1764140001, []byte(`{"a":1}`)) == got {
		t.Fatal("the timestamp is not signed")
	}
}

// TestSign_MatchesTheGuide checks the worked example of
// docs/partner-webhooks.md against Sign.
func TestSign_MatchesTheGuide(t *testing.T) {
	doc, err := os.ReadFile("../../docs/partner-webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	body := `{"id":"evt_01jdx3m0b4x0c9c7w5q2k8f1ra","type":"summaries.changed","created_at":"2026-11-27T09:00:00Z","data":{"after_change_seq":1029900,"up_to_change_seq":1029931}}`
	sig := Sign([]byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "evt_01jdx3m0b4x0c9c7w5q2k8f1ra", 1795770000, []byte(body))
	for _, want := range []string{body, "webhook-timestamp: 1795770000", "webhook-signature: " + sig} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/partner-webhooks.md does not show %q", want)
		}
	}
	var ev receivedEvent
	if err := json.Unmarshal([]byte(body), &ev); err != nil || ev.summaries() != (SummariesChanged{1029900, 1029931}) {
		t.Fatalf("the guide's body %q does not decode as a summaries.changed event: %v", body, err)
	}
}

// A secret of the standard form keys with the bytes its base64 encodes; one
// issued before (URL-safe base64, no padding) keys with its whole text, as
// its receivers were told.
func TestSign_OldAndStandardSecrets(t *testing.T) {
	body := []byte(`{"a":1}`)
	std := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	if !standardWebhooksVerify([]byte(std), "evt_1", 1764140000, body, Sign([]byte(std), "evt_1", 1764140000, body)) {
		t.Fatal("a standard secret's signature does not verify as Standard Webhooks do")
	}
	old := "whsec_Zq3-xY_0aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456" // URL-safe, 43 characters, no padding
	m := hmac.New(sha256.New, []byte(old))
	m.Write([]byte("evt_1.1764140000."))
	m.Write(body)
	if want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)); Sign([]byte(old), "evt_1", 1764140000, body) != want {
		t.Fatal("an old secret no longer signs as its receivers were told: keyed with its text")
	}
}
