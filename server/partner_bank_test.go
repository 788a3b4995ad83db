package server

import (
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/webhook"
	"github.com/choso/choso/qr"
	chosync "github.com/choso/choso/sync"
)

// docBank is a bank's integration written from docs/partner-signing.md
// alone, as a bank's engineers would write it in any language: the
// canonical string built by hand from the six fields, the query sent and
// signed as one string, no code of this repository's.
type docBank struct {
	base, keyID, secret string
}

// call sends a request signed as the guide says. rawQuery is sent as it is
// given, after "?"; header adds headers (name, value, …).
func (b docBank) call(t *testing.T, method, path, rawQuery string, body []byte, header ...string) *http.Response {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	var n [16]byte
	rand.Read(n[:])
	nonce := hex.EncodeToString(n[:])
	bodySHA := sha256.Sum256(body)
	canonical := method + "\n" + path + "\n" + rawQuery + "\n" + ts + "\n" + nonce + "\n" + hex.EncodeToString(bodySHA[:])
	m := hmac.New(sha256.New, []byte(b.secret)) // the secret as printed, as ASCII text
	m.Write([]byte(canonical))
	url := b.base + path
	if rawQuery != "" {
		url += "?" + rawQuery
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Choso-Key", b.keyID)
	req.Header.Set("X-Choso-Timestamp", ts)
	req.Header.Set("X-Choso-Nonce", nonce)
	req.Header.Set("X-Choso-Signature", hex.EncodeToString(m.Sum(nil)))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// json sends a signed request and decodes a 200 (or want) answer into v.
func (b docBank) json(t *testing.T, method, path, rawQuery string, body []byte, want int, v any) {
	t.Helper()
	res := b.call(t, method, path, rawQuery, body)
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s?%s: %d %s, want %d", method, path, rawQuery, res.StatusCode, data, want)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s %s: %v in %s", method, path, err, data)
	}
}

// feed pages the change feed from cursor to its end, limit a page, and
// returns what it saw and the cursor to resume from.
func (b docBank) feed(t *testing.T, cursor string, limit int) ([]choso.Revision, string) {
	t.Helper()
	var all []choso.Revision
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("the feed never ends")
		}
		q := "limit=" + strconv.Itoa(limit)
		if cursor != "" {
			q = "cursor=" + cursor + "&" + q
		}
		var page changesResponse
		b.json(t, "GET", "/partner/v1/changes", q, nil, http.StatusOK, &page)
		if page.NextCursor == "" {
			t.Fatal("a feed page without next_cursor")
		}
		all, cursor = append(all, page.Data...), page.NextCursor
		if !page.HasMore {
			return all, cursor
		}
	}
}

// storeChanges lists the store's changes of province 24, the bank's
// programme, for comparing with what the bank was given.
func storeChanges(t *testing.T, rs *registryServer) []uint64 {
	t.Helper()
	var out []uint64
	err := rs.Store.View(t.Context(), func(tx choso.Tx) error {
		cs, err := tx.ListChanges(0, 100000)
		for _, c := range cs {
			if c.Day.ProvinceCode == "24" {
				out = append(out, c.ChangeSeq)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func seqs(rs []choso.Revision) []uint64 {
	out := make([]uint64, len(rs))
	for i, r := range rs {
		out[i] = r.ChangeSeq
	}
	return out
}

// latest keeps the last revision the feed gave of each stall-day.
func latest(revs []choso.Revision) map[string]choso.Revision {
	out := map[string]choso.Revision{}
	for _, r := range revs {
		out[r.StallID+"/"+r.BusinessDate] = r
	}
	return out
}

// The whole integration a bank writes, from the docs alone, against a real
// server on loopback: signing by hand, the feed paged to its end and
// resumed from a saved cursor, both exports checked against the feed,
// credits posted (a retry whose answer was lost, the same instant in
// another offset, a conflicting re-post, a batch with one bad line, a
// sale at 23:58 paid at 00:03 Vietnam time), the reconciliation read, and
// webhooks received and verified as docs/partner-webhooks.md says.
func TestBankIntegration_FromTheDocs(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false) // a stall in Bắc Ninh (24) and one in Hà Nội, outside the programme
	bank := docBank{rs.URL, obj.partnerKey, obj.partnerSecret}
	phone := rs.enroll(t, obj.stall)
	loc := mustLoc(t)

	// Yesterday in Vietnam: QR sales at 23:58 and, after midnight, 00:01.
	y := time.Now().In(loc).AddDate(0, 0, -1)
	late := time.Date(y.Year(), y.Month(), y.Day(), 23, 58, 0, 0, loc)
	yesterday, today := late.Format(time.DateOnly), late.Add(time.Hour).Format(time.DateOnly)
	ref, _ := qr.NewReference(rand.Reader)
	beforeMidnight, afterMidnight := phone.qrSale(20000, "", late), phone.qrSale(30000, ref, late.Add(3*time.Minute))
	decodePush(t, phone.push(t, pushBody(t, []chosync.Event{beforeMidnight, afterMidnight})))

	// 1. The feed, two a page, to its end.
	first, saved := bank.feed(t, "", 2)
	if fmt.Sprint(seqs(first)) != fmt.Sprint(storeChanges(t, rs)) || len(first) == 0 {
		t.Fatalf("the feed gave %v, the store holds %v", seqs(first), storeChanges(t, rs))
	}

	// 2. Credits. The 00:03 credit pays the 23:58 static-code sale (by
	// amount and time, across midnight); the 00:04 one names the 00:01
	// sale's reference; a third has an account no stall has.
	at := func(t time.Time) string { return t.Format(time.RFC3339) } // +07:00, as a Vietnamese bank writes it
	batch := `{"credits":[` +
		`{"bank_txn_id":"FT-MID-1","bin":"970436","account":"0011001234567","amount":20000,"credited_at":"` + at(late.Add(5*time.Minute)) + `","content":"chuyen tien"},` +
		`{"bank_txn_id":"FT-MID-2","bin":"970436","account":"0011001234567","amount":30000,"credited_at":"` + at(late.Add(6*time.Minute)) + `","content":"` + ref + ` thanh toan"},` +
		`{"bank_txn_id":"FT-NONE","bin":"970436","account":"0999999999","amount":5000,"credited_at":"` + at(late.Add(7*time.Minute)) + `","content":""}]}`
	var posted creditsResponse
	bank.json(t, "POST", "/partner/v1/credits", "", []byte(batch), http.StatusOK, &posted)
	want := []string{"created amount_time " + yesterday + "→" + today, "created reference " + today + "→" + today, "created none " + today + "→" + today}
	for i, r := range posted.Results {
		got := r.Status + " " + r.Credit.MatchKind + " "
		if r.Credit.SaleID == beforeMidnight.ID {
			got += yesterday
		} else {
			got += today
		}
		if got += "→" + r.Credit.BusinessDate; got != want[i] {
			t.Errorf("credit %s: %s (sale day→credit day), want %s", r.BankTxnID, got, want[i])
		}
	}

	// The answer was lost: the bank posts the same batch again, and gets
	// the stored results, nothing twice.
	var again creditsResponse
	bank.json(t, "POST", "/partner/v1/credits", "", []byte(batch), http.StatusOK, &again)
	for i, r := range again.Results {
		if r.Status != choso.CreditDuplicate || r.Credit.Seq != posted.Results[i].Credit.Seq {
			t.Errorf("re-post of %s: %s seq %d, want duplicate seq %d", r.BankTxnID, r.Status, r.Credit.Seq, posted.Results[i].Credit.Seq)
		}
	}
	// Another system of the bank writes the same instant in UTC: the same credit.
	utc := strings.Replace(batch, at(late.Add(5*time.Minute)), late.Add(5*time.Minute).UTC().Format(time.RFC3339), 1)
	bank.json(t, "POST", "/partner/v1/credits", "", []byte(utc), http.StatusOK, &again)
	if again.Results[0].Status != choso.CreditDuplicate {
		t.Errorf("the same instant in UTC: %+v, want duplicate", again.Results[0])
	}
	// The same ID with another amount: 409, every result given.
	conflicting := strings.Replace(batch, `"amount":20000`, `"amount":21000`, 1)
	var conflict creditsResponse
	bank.json(t, "POST", "/partner/v1/credits", "", []byte(conflicting), http.StatusConflict, &conflict)
	if len(conflict.Results) != 3 || conflict.Results[0].Status != choso.CreditConflict || conflict.Results[1].Status != choso.CreditDuplicate {
		t.Errorf("conflicting re-post: %+v", conflict.Results)
	}
	// One bad line (an account with a slash) in a batch: that credit is
	// invalid, the other is stored; and the amounts at the edges.
	var mixed creditsResponse
	bank.json(t, "POST", "/partner/v1/credits", "", []byte(`{"credits":[`+
		`{"bank_txn_id":"FT-BAD","bin":"970436","account":"0011/001234567","amount":1000,"credited_at":"`+at(late)+`"},`+
		`{"bank_txn_id":"FT-ONE","bin":"970436","account":"0011001234567","amount":1,"credited_at":"`+at(late)+`"},`+
		`{"bank_txn_id":"FT-ZERO","bin":"970436","account":"0011001234567","amount":0,"credited_at":"`+at(late)+`"},`+
		`{"bank_txn_id":"FT-NEG","bin":"970436","account":"0011001234567","amount":-1000,"credited_at":"`+at(late)+`"}]}`), http.StatusOK, &mixed)
	var statuses []string
	for _, r := range mixed.Results {
		statuses = append(statuses, r.Status)
		if r.Status == choso.CreditInvalid && r.Message == "" {
			t.Errorf("%s is invalid with no message", r.BankTxnID)
		}
	}
	if got := strings.Join(statuses, " "); got != "invalid created invalid invalid" {
		t.Errorf("a batch with bad lines: %s, want invalid created invalid invalid", got)
	}

	// 3. Resume from the saved cursor: exactly the changes since, none
	// repeated, none skipped.
	decodePush(t, phone.push(t, pushBody(t, phone.sales(2, 1000, "cash"))))
	rest, _ := bank.feed(t, saved, 1)
	if got, all := append(seqs(first), seqs(rest)...), storeChanges(t, rs); fmt.Sprint(got) != fmt.Sprint(all) {
		t.Fatalf("first pass then resumed: %v, the store holds %v", got, all)
	}
	feed := latest(append(first, rest...))

	// 4. Exports of the two days equal the feed's last revision of each
	// stall-day. The NDJSON is read as sent (gzip), its trailer checked.
	res := bank.call(t, "GET", "/partner/v1/exports/summaries.ndjson", "from="+yesterday+"&to="+today, nil, "Accept-Encoding", "gzip")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("ndjson export: %d, Content-Encoding %q", res.StatusCode, res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	ndjson, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(ndjson), "\n"), "\n")
	var trailer exportTrailer
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &trailer); err != nil || !trailer.Trailer {
		t.Fatalf("no trailer: %q", lines[len(lines)-1])
	}
	data := strings.Join(lines[:len(lines)-1], "")
	if sum := sha256.Sum256([]byte(data)); trailer.SHA256 != hex.EncodeToString(sum[:]) || trailer.Rows != len(lines)-1 {
		t.Fatalf("trailer %+v for %d lines, sha256 %x", trailer, len(lines)-1, sum)
	}
	exported := map[string]bool{}
	for _, line := range lines[:len(lines)-1] {
		var r choso.Revision
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		key := r.StallID + "/" + r.BusinessDate
		exported[key] = true
		f, ok := feed[key]
		if a, b := string(mustJSON(r)), string(mustJSON(f)); !ok || a != b {
			t.Errorf("export row %s\n differs from the feed's last revision %s", a, b)
		}
	}
	res = bank.call(t, "GET", "/partner/v1/exports/summaries.csv", "from="+yesterday+"&to="+today, nil)
	records, err := csv.NewReader(res.Body).ReadAll()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("csv export: %d, %v", res.StatusCode, err)
	}
	for _, rec := range records[1:] {
		f := feed[rec[4]+"/"+rec[1]]
		wantRec := []string{strconv.FormatUint(f.ChangeSeq, 10), f.BusinessDate, f.Status, strconv.FormatUint(f.Revision, 10), f.StallID, f.StallCode,
			f.MarketID, f.CommuneCode, f.ProvinceCode, f.BIN, f.Account}
		for _, m := range []choso.MethodTotals{f.ByMethod["cash"], f.ByMethod["qr"], f.ByMethod["transfer"], f.Voids, f.ConfirmedQR} {
			wantRec = append(wantRec, strconv.FormatInt(m.Count, 10), strconv.FormatInt(m.Amount, 10))
		}
		wantRec = append(wantRec, f.ChangedAt.UTC().Format(time.RFC3339))
		if fmt.Sprint(rec) != fmt.Sprint(wantRec) {
			t.Errorf("csv row %v\n differs from the feed's %v", rec, wantRec)
		}
	}
	if len(records)-1 != len(exported) || len(exported) != len(feed) {
		t.Errorf("csv %d rows, ndjson %d, the feed %d stall-days", len(records)-1, len(exported), len(feed))
	}

	// 5. Reconciliation, by the credit's business day in Vietnam.
	var recon choso.Reconciliation
	bank.json(t, "GET", "/partner/v1/reconciliation", "date="+today+"&bin=970436&account=0011001234567", nil, http.StatusOK, &recon)
	if recon.Status != choso.ReconPending || recon.Credits.Count != 2 || recon.Credits.Amount != 50000 {
		t.Errorf("today's reconciliation: %+v", recon)
	}

	// 6. Webhooks: the admin sets the URL, the bank verifies what comes.
	hook := &bankHook{}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	res = rs.do(t, "PUT", "/v1/admin/partners/"+obj.partner+"/webhook", strings.NewReader(`{"url":"`+hs.URL+`/choso"}`),
		"Authorization", "Bearer "+rs.token(t, "admin"), "Content-Type", "application/json")
	var set struct{ Secret string }
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil || res.StatusCode != http.StatusOK || !strings.HasPrefix(set.Secret, "whsec_") {
		t.Fatalf("set webhook: %d %+v %v", res.StatusCode, set, err)
	}
	hook.setSecret(set.Secret)
	(&webhook.Dispatcher{Partners: rs.partners}).Tick(t.Context())
	events := hook.received(t)
	if len(events) != 1 || events[0].Type != webhook.EventSummariesChanged {
		t.Fatalf("webhooks received: %+v", events)
	}
	var hint webhook.SummariesChanged
	if err := json.Unmarshal(events[0].Data, &hint); err != nil || hint.UpToChangeSeq != storeChanges(t, rs)[len(storeChanges(t, rs))-1] {
		t.Fatalf("summaries.changed %s: up to %d, want the feed's last change", events[0].Data, hint.UpToChangeSeq)
	}
}

// bankHook is a bank's webhook endpoint written from
// docs/partner-webhooks.md: it verifies the signature over the raw body
// before parsing it, with the key the base64 after "whsec_", and refuses
// timestamps more than five minutes off.
type bankHook struct {
	mu     sync.Mutex
	secret string
	events []hookEvent
	bad    []string
}

type hookEvent struct {
	ID   string          `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func (h *bankHook) setSecret(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secret = s
}

func (h *bankHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	id, tsText, sig := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h.secret, "whsec_"))
	ts, tsErr := strconv.ParseInt(tsText, 10, 64)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + tsText + "." + string(body)))
	good := false
	for _, s := range strings.Fields(sig) {
		good = good || hmac.Equal([]byte(s), []byte("v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil))))
	}
	switch {
	case err != nil || tsErr != nil || !good:
		h.bad = append(h.bad, "signature: "+sig)
	case time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute:
		h.bad = append(h.bad, "timestamp "+tsText)
	default:
		var ev hookEvent
		if err := json.Unmarshal(body, &ev); err != nil || ev.ID != id {
			h.bad = append(h.bad, "body "+string(body))
			break
		}
		h.events = append(h.events, ev)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.WriteHeader(http.StatusUnauthorized)
}

func (h *bankHook) received(t *testing.T) []hookEvent {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.bad) > 0 {
		t.Fatalf("the bank's endpoint refused deliveries: %q", h.bad)
	}
	return append([]hookEvent(nil), h.events...)
}
