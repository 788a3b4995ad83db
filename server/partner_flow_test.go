package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/partnerauth"
	"github.com/choso/choso/partnerclient"
	"github.com/choso/choso/qr"
	chosync "github.com/choso/choso/sync"
)

// bank is a partner's client in tests: it signs every request.
type bank struct {
	rs        *registryServer
	partnerID string
	keyID     string
	secret    []byte
}

func (rs *registryServer) bank(t *testing.T, provinces ...string) *bank {
	t.Helper()
	pt, key, secret, err := rs.partners.AddPartner(t.Context(), choso.SystemPrincipal("test"), choso.NewPartner{Name: "Vietcombank Bắc Ninh", Provinces: provinces})
	if err != nil {
		t.Fatal(err)
	}
	return &bank{rs: rs, partnerID: pt.ID, keyID: key.ID, secret: []byte(secret)}
}

// reconcile GETs the bank's reconciliation of an account's day and fails
// the test unless it answers 200 with one.
func (b *bank) reconcile(t *testing.T, date, account string) choso.Reconciliation {
	t.Helper()
	res := b.signed(t, "GET", "/partner/v1/reconciliation", url.Values{"date": {date}, "bin": {"970436"}, "account": {account}}, nil, nil)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var r choso.Reconciliation
	if err := json.Unmarshal(body, &r); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("reconciliation of %s on %s: %d %s", account, date, res.StatusCode, body)
	}
	return r
}

// postCredits posts credits (the JSON objects, comma-separated) and
// returns their results, failing the test unless the answer is 200.
func (b *bank) postCredits(t *testing.T, credits string) []choso.CreditResult {
	t.Helper()
	res := b.signed(t, "POST", "/partner/v1/credits", nil, []byte(`{"credits":[`+credits+`]}`), nil)
	defer res.Body.Close()
	var out creditsResponse
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("post credits: %d %+v %v", res.StatusCode, out, err)
	}
	return out.Results
}

func nonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// signed sends a signed request; tweak may alter it after signing.
func (b *bank) signed(t *testing.T, method, path string, query url.Values, body []byte, tweak func(*http.Request)) *http.Response {
	t.Helper()
	raw := query.Encode()
	ts := time.Now().Unix()
	n := nonce()
	req, _ := http.NewRequest(method, b.rs.URL+path+"?"+raw, bytes.NewReader(body))
	if raw == "" {
		req.URL.RawQuery = ""
	}
	req.Header.Set(partnerauth.HeaderKey, b.keyID)
	req.Header.Set(partnerauth.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(partnerauth.HeaderNonce, n)
	req.Header.Set(partnerauth.HeaderSignature, partnerauth.Sign(b.secret, method, path, raw, ts, n, body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tweak != nil {
		tweak(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func (b *bank) changes(t *testing.T, cursor string, limit int) changesResponse {
	t.Helper()
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	res := b.signed(t, "GET", "/partner/v1/changes", q, nil, nil)
	var out changesResponse
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("changes: %d %s", res.StatusCode, body)
	}
	json.Unmarshal(body, &out)
	return out
}

// qrSale makes a phone's next QR sale with a payment reference.
func (p *enrolled) qrSale(amount int64, ref string, at time.Time) chosync.Event {
	p.seq++
	payload, _ := json.Marshal(chosync.SaleRecord{Amount: amount, Method: "qr", Ref: ref})
	return chosync.Event{Seq: p.seq, ID: testULID(), Type: "sale.record", V: 1,
		WallMs: at.UnixMilli(), AnchoredMs: at.UnixMilli(), Payload: payload}
}

func TestPartnerAuth_OverHTTP(t *testing.T) {
	rs := newRegistryServer(t)
	b := rs.bank(t, "24")
	ok := b.signed(t, "GET", "/partner/v1/changes", url.Values{}, nil, nil)
	if ok.StatusCode != http.StatusOK {
		t.Fatalf("signed request: %d", ok.StatusCode)
	}
	for name, tweak := range map[string]func(*http.Request){
		"changed query": func(r *http.Request) { r.URL.RawQuery = "limit=5" },
		"reused nonce":  nil, // sent twice below
		"stale timestamp": func(r *http.Request) {
			r.Header.Set(partnerauth.HeaderTimestamp, strconv.FormatInt(time.Now().Add(-301*time.Second).Unix(), 10))
		},
		"unknown key":  func(r *http.Request) { r.Header.Set(partnerauth.HeaderKey, "pk_unknown") },
		"no signature": func(r *http.Request) { r.Header.Del(partnerauth.HeaderSignature) },
		"tampered body": func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(`{"credits":[{}]}`))
			r.ContentLength = 16
		},
		"session not HMAC": func(r *http.Request) { r.Header = http.Header{"Authorization": {"Bearer " + rs.token(t, "admin")}} },
	} {
		t.Run(name, func(t *testing.T) {
			if tweak == nil {
				q := url.Values{}
				req, _ := http.NewRequest("GET", rs.URL+"/partner/v1/changes", nil)
				ts, n := time.Now().Unix(), nonce()
				req.Header.Set(partnerauth.HeaderKey, b.keyID)
				req.Header.Set(partnerauth.HeaderTimestamp, strconv.FormatInt(ts, 10))
				req.Header.Set(partnerauth.HeaderNonce, n)
				req.Header.Set(partnerauth.HeaderSignature, partnerauth.Sign(b.secret, "GET", "/partner/v1/changes", q.Encode(), ts, n, nil))
				first, err := http.DefaultClient.Do(req.Clone(t.Context()))
				if err != nil {
					t.Fatal(err)
				}
				first.Body.Close()
				second, err := http.DefaultClient.Do(req.Clone(t.Context()))
				if err != nil {
					t.Fatal(err)
				}
				defer second.Body.Close()
				if first.StatusCode != 200 {
					t.Fatalf("first use of the nonce: %d", first.StatusCode)
				}
				wantError(t, second, http.StatusUnauthorized, choso.EUnauthorized)
				return
			}
			method, body := "GET", []byte(nil)
			path := "/partner/v1/changes"
			if name == "tampered body" {
				method, path, body = "POST", "/partner/v1/credits", []byte(`{"credits":[]}`)
			}
			res := b.signed(t, method, path, url.Values{}, body, tweak)
			wantError(t, res, http.StatusUnauthorized, choso.EUnauthorized)
		})
	}
	// Rotation: a second key works alongside the first; a revoked one stops.
	key2, secret2, err := rs.partners.AddPartnerKey(t.Context(), choso.SystemPrincipal("test"), mustPartnerOfKey(t, rs, b.keyID))
	if err != nil {
		t.Fatal(err)
	}
	b2 := &bank{rs: rs, keyID: key2.ID, secret: []byte(secret2)}
	if res := b2.signed(t, "GET", "/partner/v1/changes", url.Values{}, nil, nil); res.StatusCode != 200 {
		t.Fatalf("second key: %d", res.StatusCode)
	}
	if res := b.signed(t, "GET", "/partner/v1/changes", url.Values{}, nil, nil); res.StatusCode != 200 {
		t.Fatalf("first key during rotation: %d", res.StatusCode)
	}
	rs.partners.RevokePartnerKey(t.Context(), choso.SystemPrincipal("test"), b.keyID)
	wantError(t, b.signed(t, "GET", "/partner/v1/changes", url.Values{}, nil, nil), http.StatusUnauthorized, choso.EUnauthorized)
}

func mustPartnerOfKey(t *testing.T, rs *registryServer, keyID string) string {
	_, p, err := rs.partners.LookupKey(t.Context(), keyID)
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// Scenario 1: phones commit concurrently while the bank tails the feed:
// every change seq arrives, in order, none skipped.
func TestPartnerFeed_TailWhileCommitting_NothingSkipped(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	b := rs.bank(t, "24")
	var phones []*enrolled
	for range 4 {
		phones = append(phones, rs.enroll(t, obj.stall))
	}
	var wg sync.WaitGroup
	for _, p := range phones {
		wg.Go(func() {
			for range 8 {
				res := p.push(t, pushBody(t, p.sales(3, 1000, "cash")))
				res.Body.Close()
				if res.StatusCode == http.StatusTooManyRequests {
					time.Sleep(time.Second)
				}
			}
		})
	}
	var seen []uint64
	cursor := ""
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		// A polite poller: the key's limit is 20 a second after a burst of
		// 50, so a poll every 50 ms (and the poll's own time) stays within
		// it however long slow writers keep it polling.
		time.Sleep(50 * time.Millisecond)
		page := b.changes(t, cursor, 7)
		for _, r := range page.Data {
			seen = append(seen, r.ChangeSeq)
		}
		cursor = page.NextCursor
		if finished && !page.HasMore {
			// One more read after the writers stopped catches the tail.
			if last := b.changes(t, cursor, 1000); len(last.Data) == 0 {
				break
			}
		}
	}
	var all []uint64
	rs.Store.View(t.Context(), func(tx choso.Tx) error {
		cs, err := tx.ListChanges(0, 10000)
		for _, c := range cs {
			if c.Day.ProvinceCode == "24" {
				all = append(all, c.ChangeSeq)
			}
		}
		return err
	})
	if fmt.Sprint(seen) != fmt.Sprint(all) || len(all) < 10 {
		t.Fatalf("the bank saw %v, the store holds %v", seen, all)
	}
}

// Scenario 2: a partner whose programme matches nothing still moves its
// cursor and sees has_more end.
func TestPartnerFeed_FilteredCursorAdvances(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	for range 6 {
		p.push(t, pushBody(t, p.sales(2, 1000, "cash"))).Body.Close()
	}
	other := rs.bank(t, "01") // Hà Nội: none of these stalls
	page := other.changes(t, "", 2)
	if len(page.Data) != 0 || page.HasMore || page.NextCursor == "" {
		t.Fatalf("page %+v", page)
	}
	// The cursor moved past everything: a new change shows after it.
	again := other.changes(t, page.NextCursor, 2)
	if len(again.Data) != 0 || again.HasMore {
		t.Fatalf("second page %+v", again)
	}
}

// Scenario 6: an altered cursor, or another partner's, is 400.
func TestPartnerFeed_TamperedCursor(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	p.push(t, pushBody(t, p.sales(2, 1000, "cash"))).Body.Close()
	a, b := rs.bank(t, "24"), rs.bank(t, "24")
	cur := a.changes(t, "", 1).NextCursor
	bad := []byte(cur)
	bad[3] ^= 1
	for _, c := range []string{string(bad), "xyz", cur + "A"} {
		wantError(t, a.signed(t, "GET", "/partner/v1/changes", url.Values{"cursor": {c}}, nil, nil), http.StatusBadRequest, "cursor_invalid")
	}
	wantError(t, b.signed(t, "GET", "/partner/v1/changes", url.Values{"cursor": {cur}}, nil, nil), http.StatusBadRequest, "cursor_invalid")
}

// Scenario 3: a phone syncing after the day was final makes an adjusted
// revision, and the reconciliation changes with it.
func TestPartnerFeed_LateDataAfterFinalIsAdjusted(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	b := rs.bank(t, "24")
	// The two sales a minute apart fall on one business day, and neither
	// after now, whenever the test runs (in the last minute before
	// midnight, both go two minutes back).
	now, loc := time.Now(), mustLoc(t)
	at := now
	if at.In(loc).Format(time.DateOnly) != at.Add(time.Minute).In(loc).Format(time.DateOnly) {
		at = at.Add(-2 * time.Minute)
	}
	p.push(t, pushBody(t, []chosync.Event{p.qrSale(45000, "", at)})).Body.Close()
	// Three days on, the day is final.
	rs.partners.Now = func() time.Time { return now.Add(3 * 24 * time.Hour) }
	n, err := rs.partners.FinalizeDays(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("finalize: %d, %v", n, err)
	}
	// A phone that was offline since then syncs a sale of that day.
	late := p.qrSale(30000, "", at.Add(time.Minute))
	p.push(t, pushBody(t, []chosync.Event{late})).Body.Close()
	var statuses []string
	for _, r := range b.changes(t, "", 100).Data {
		statuses = append(statuses, r.Status)
	}
	if got := strings.Join(statuses, " "); got != "provisional final adjusted" {
		t.Fatalf("revisions %q, want provisional final adjusted", got)
	}
}

// Scenario 4: pages of a snapshot list passed the first page's as_of_seq
// stay consistent while data changes between them.
func TestPartnerSummaries_PagesConsistentAsOf(t *testing.T) {
	rs := newRegistryServer(t)
	b := rs.bank(t, "24")
	var stalls []*enrolled
	for range 3 {
		obj := rs.objects(t, false)
		p := rs.enroll(t, obj.stall)
		p.push(t, pushBody(t, p.sales(1, 1000, "cash"))).Body.Close()
		stalls = append(stalls, p)
	}
	date := time.Now().In(mustLoc(t)).Format(time.DateOnly)
	get := func(q url.Values) summariesResponse {
		res := b.signed(t, "GET", "/partner/v1/summaries", q, nil, nil)
		var out summariesResponse
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("summaries: %d %s", res.StatusCode, body)
		}
		json.Unmarshal(body, &out)
		return out
	}
	first := get(url.Values{"business_date": {date}, "limit": {"1"}})
	if len(first.Data) != 1 || !first.HasMore {
		t.Fatalf("first page %+v", first)
	}
	// Every stall sells more before the second page.
	for _, p := range stalls {
		p.push(t, pushBody(t, p.sales(1, 5000, "qr"))).Body.Close()
	}
	rest := get(url.Values{"business_date": {date}, "limit": {"10"}, "starting_after": {first.StartingAfter}, "as_of_seq": {strconv.FormatUint(first.AsOfSeq, 10)}})
	for _, r := range append(first.Data, rest.Data...) {
		if r.ByMethod["qr"].Count != 0 || r.ChangeSeq > first.AsOfSeq {
			t.Fatalf("a page shows data after as_of_seq %d: %+v", first.AsOfSeq, r)
		}
	}
	if len(first.Data)+len(rest.Data) != 3 {
		t.Fatalf("pages hold %d stalls, want 3", len(first.Data)+len(rest.Data))
	}
	now := get(url.Values{"business_date": {date}})
	for _, r := range now.Data {
		if r.ByMethod["qr"].Amount != 5000 {
			t.Fatalf("a fresh snapshot lacks the new sale: %+v", r)
		}
	}
}

// businessNow is the time a test's sales and credits are placed before: now,
// or, within span after midnight in the market's zone, a minute before that
// midnight, so that everything up to span before it falls on one business
// day whenever the test runs.
func businessNow(t *testing.T, span time.Duration) time.Time {
	t.Helper()
	now := time.Now().In(mustLoc(t))
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	if now.Sub(midnight) > span {
		return now
	}
	return midnight.Add(-time.Minute)
}

func mustLoc(t *testing.T) *time.Location {
	l, err := time.LoadLocation(choso.DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Scenario 7: the export's trailer proves the stream complete.
func TestPartnerExport_TrailerAndTruncation(t *testing.T) {
	rs := newRegistryServer(t)
	b := rs.bank(t, "24")
	for range 3 {
		obj := rs.objects(t, false)
		p := rs.enroll(t, obj.stall)
		p.push(t, pushBody(t, p.sales(2, 1000, "cash"))).Body.Close()
	}
	date := time.Now().In(mustLoc(t)).Format(time.DateOnly)
	res := b.signed(t, "GET", "/partner/v1/exports/summaries.ndjson", url.Values{"from": {date}, "to": {date}}, nil, nil)
	// Go's client asked for gzip itself and inflated the stream.
	if res.StatusCode != 200 || !res.Uncompressed {
		t.Fatalf("export: %d, uncompressed %v: want a gzip stream", res.StatusCode, res.Uncompressed)
	}
	body, _ := io.ReadAll(res.Body)
	lines := strings.SplitAfter(strings.TrimSuffix(string(body), "\n"), "\n")
	var trailer exportTrailer
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &trailer); err != nil || !trailer.Trailer {
		t.Fatalf("last line is not a trailer: %q", lines[len(lines)-1])
	}
	data := strings.Join(lines[:len(lines)-1], "")
	sum := sha256.Sum256([]byte(data))
	if trailer.Rows != 3 || trailer.SHA256 != hex.EncodeToString(sum[:]) || trailer.AsOfSeq == 0 {
		t.Fatalf("trailer %+v, data lines %d, sha %x", trailer, len(lines)-1, sum)
	}
	// A changed line no longer matches; a cut stream has no trailer.
	changed := strings.Replace(data, `"cash"`, `"CASH"`, 1)
	if s := sha256.Sum256([]byte(changed)); hex.EncodeToString(s[:]) == trailer.SHA256 {
		t.Fatal("a changed line still matches the trailer")
	}
	cut := bufio.NewScanner(strings.NewReader(data[:len(data)/2]))
	for cut.Scan() {
		if strings.Contains(cut.Text(), `"trailer"`) {
			t.Fatal("a cut stream holds a trailer")
		}
	}
	csvRes := b.signed(t, "GET", "/partner/v1/exports/summaries.csv", url.Values{"from": {date}, "to": {date}, "bom": {"true"}}, nil, nil)
	csvBody, _ := io.ReadAll(csvRes.Body)
	if !strings.HasPrefix(string(csvBody), "\uFEFFchange_seq,business_date,status") || strings.Count(string(csvBody), "\r\n") != 4 {
		t.Fatalf("csv export:\n%s", csvBody)
	}
	wantError(t, b.signed(t, "GET", "/partner/v1/exports/summaries.ndjson", url.Values{"from": {"2026-13-01"}, "to": {date}}, nil, nil), http.StatusBadRequest, choso.EInvalid)
}

// Credits: matched by reference, by amount and time, idempotent by
// bank_txn_id; the phone sees them; reconciliation follows.
func TestPartnerCredits_MatchIdempotencyReconciliation(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	b := rs.bank(t, "24")
	now := businessNow(t, 30*time.Minute)
	ref, _ := qr.NewReference(rand.Reader)
	p.push(t, pushBody(t, []chosync.Event{
		p.qrSale(45000, ref, now.Add(-30*time.Minute)),
		p.qrSale(20000, "", now.Add(-20*time.Minute)),
		p.qrSale(15000, "", now.Add(-10*time.Minute)),
	})).Body.Close()
	post := func(credits string) (*http.Response, creditsResponse) {
		res := b.signed(t, "POST", "/partner/v1/credits", nil, []byte(`{"credits":[`+credits+`]}`), nil)
		var out creditsResponse
		json.NewDecoder(res.Body).Decode(&out)
		return res, out
	}
	at := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	credits := `{"bank_txn_id":"FT1","bin":"970436","account":"0011001234567","amount":45000,"credited_at":"` + at(-29*time.Minute) + `","content":"` + strings.ToLower(ref) + ` thanh toan"},` +
		`{"bank_txn_id":"FT2","bin":"970436","account":"0011001234567","amount":20000,"credited_at":"` + at(-18*time.Minute) + `","content":"chuyen tien"},` +
		`{"bank_txn_id":"FT3","bin":"970436","account":"0011001234567","amount":99000,"credited_at":"` + at(-5*time.Minute) + `","content":"?"},` +
		`{"bank_txn_id":"FT4","bin":"970436","account":"999999","amount":1000,"credited_at":"` + at(0) + `","content":"?"}`
	res, out := post(credits)
	if res.StatusCode != 200 || len(out.Results) != 4 {
		t.Fatalf("post: %d %+v", res.StatusCode, out)
	}
	want := []string{"created/reference", "created/amount_time", "created/account_only", "created/none"}
	for i, r := range out.Results {
		if got := r.Status + "/" + r.Credit.MatchKind; got != want[i] {
			t.Errorf("credit %d: %s, want %s", i, got, want[i])
		}
	}
	// The same post again: the stored results.
	res, again := post(credits)
	if res.StatusCode != 200 || again.Results[0].Status != "duplicate" || again.Results[0].Credit.Seq != out.Results[0].Credit.Seq {
		t.Fatalf("replay: %d %+v", res.StatusCode, again.Results[0])
	}
	// The same id with other content: 409.
	res, conflict := post(`{"bank_txn_id":"FT1","bin":"970436","account":"0011001234567","amount":46000,"credited_at":"` + at(-29*time.Minute) + `","content":"x"}`)
	if res.StatusCode != http.StatusConflict || conflict.Results[0].Status != "conflict" {
		t.Fatalf("conflict: %d %+v", res.StatusCode, conflict)
	}
	// The phone sees the three credits to its account, matched or not.
	var phone struct {
		Data []struct {
			Amount int64  `json:"amount"`
			Match  string `json:"match"`
		} `json:"data"`
	}
	json.NewDecoder(rs.do(t, "GET", "/v1/sync/credits?since=0", nil, "Authorization", "Bearer "+p.token).Body).Decode(&phone)
	if len(phone.Data) != 3 {
		t.Fatalf("phone sees %d credits, want 3: %+v", len(phone.Data), phone.Data)
	}
	// Confirmed amounts reach the totals.
	var totals syncTotals
	json.NewDecoder(rs.do(t, "GET", "/v1/sync/totals", nil, "Authorization", "Bearer "+p.token).Body).Decode(&totals)
	if len(totals.Days) != 1 || totals.Days[0].ConfirmedQR.Amount != 65000 || totals.Days[0].ConfirmedQR.Count != 2 {
		t.Fatalf("totals %+v", totals.Days)
	}
	// Reconciliation: pending while provisional; the reasons are there.
	r := b.reconcile(t, totals.Days[0].Date, "0011001234567")
	if r.Status != choso.ReconPending || !slicesContain(r.Reasons, "unmatched_qr_sales") || !slicesContain(r.Reasons, "unmatched_bank_lines") || len(r.Lines) != 6 {
		t.Fatalf("reconciliation %+v", r)
	}
}

// A phone offline at the market syncs its QR sales after the bank posted
// their credits: each credit came in account_only. The late matcher's pass
// matches them (by reference, and by amount and time), the phone's totals
// show them confirmed, the bank's credit shows its sale, and the day
// reconciles with no unmatched line. A second pass changes nothing.
func TestPartnerCredits_BeforeTheirSales_MatchedLate(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	b := rs.bank(t, "24")
	now := businessNow(t, 30*time.Minute)
	at := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	ref, _ := qr.NewReference(rand.Reader)
	credits := `{"bank_txn_id":"FT1","bin":"970436","account":"0011001234567","amount":45000,"credited_at":"` + at(-29*time.Minute) + `","content":"` + ref + ` thanh toan"},` +
		`{"bank_txn_id":"FT2","bin":"970436","account":"0011001234567","amount":20000,"credited_at":"` + at(-18*time.Minute) + `","content":"chuyen tien"},` +
		`{"bank_txn_id":"FT3","bin":"970436","account":"0011001234567","amount":99000,"credited_at":"` + at(-5*time.Minute) + `","content":"?"}`
	res := b.signed(t, "POST", "/partner/v1/credits", nil, []byte(`{"credits":[`+credits+`]}`), nil)
	var out creditsResponse
	json.NewDecoder(res.Body).Decode(&out)
	res.Body.Close()
	for i, r := range out.Results {
		if r.Status != "created" || r.Credit.MatchKind != choso.MatchAccountOnly {
			t.Fatalf("credit %d before any sale: %+v", i, r)
		}
	}

	// The phone comes back online with the two sales those credits paid,
	// and pulls the credits: none is matched yet.
	sales := []chosync.Event{p.qrSale(45000, ref, now.Add(-30*time.Minute)), p.qrSale(20000, "", now.Add(-20*time.Minute))}
	decodePush(t, p.push(t, pushBody(t, sales)))
	before := pullCredits(t, rs, p, 0)
	if len(before.Data) != 3 || before.Data[0].SaleID != "" {
		t.Fatalf("the phone's credits before the pass: %+v, want 3 unmatched", before.Data)
	}
	ctx := context.Background()
	n, more, err := rs.partners.MatchLateCredits(ctx)
	if err != nil || n != 2 || more {
		t.Fatalf("late pass: %d matched, more %v, %v; want 2", n, more, err)
	}
	for id, want := range map[string][2]string{"FT1": {sales[0].ID, choso.MatchReference}, "FT2": {sales[1].ID, choso.MatchAmountTime}, "FT3": {"", choso.MatchAccountOnly}} {
		var c *choso.Credit
		rs.reg.Store.View(ctx, func(tx choso.Tx) error { c, err = tx.FindCredit(b.partnerID, id); return err })
		if err != nil || c.SaleID != want[0] || c.MatchKind != want[1] {
			t.Errorf("credit %s after the pass: %+v, %v; want sale %q by %s", id, c, err, want[0], want[1])
		}
	}
	totals := decodeTotals(t, rs, p)
	if totals.Days[0].ConfirmedQR != (choso.MethodTotals{Count: 2, Amount: 65000}) {
		t.Fatalf("totals after the pass: %+v", totals.Days)
	}
	// The phone's next page brings the two credits again, matched, under
	// the seqs it has; then nothing more.
	after := pullCredits(t, rs, p, before.LastSeq)
	if len(after.Data) != 2 || after.Data[0].Seq != before.Data[0].Seq || after.Data[0].SaleID != sales[0].ID ||
		after.Data[1].Seq != before.Data[1].Seq || after.Data[1].SaleID != sales[1].ID || after.LastSeq <= before.LastSeq {
		t.Fatalf("the phone's next page after the pass: %+v (from %d), want FT1 and FT2 again with their sales", after, before.LastSeq)
	}
	if again := pullCredits(t, rs, p, after.LastSeq); len(again.Data) != 0 {
		t.Fatalf("the page after that: %+v, want none", again.Data)
	}
	r := b.reconcile(t, totals.Days[0].Date, "0011001234567")
	if slicesContain(r.Reasons, "unmatched_qr_sales") || !slicesContain(r.Reasons, "unmatched_bank_lines") {
		t.Fatalf("reconciliation after the pass: %+v (only FT3 has no sale)", r.Reasons)
	}
	// The pass's own day change comes round again and matches nothing more.
	for range 2 {
		if n, _, err := rs.partners.MatchLateCredits(ctx); err != nil || n != 0 {
			t.Fatalf("pass after: %d matched, %v; want 0", n, err)
		}
	}
	if totals := decodeTotals(t, rs, p); totals.Days[0].ConfirmedQR.Count != 2 {
		t.Fatalf("a later pass confirmed again: %+v", totals.Days[0].ConfirmedQR)
	}
}

// A customer who types the stall's account into a banking app pays by
// transfer, not by scanning the QR: the bank's credit pays that sale as it
// would a QR sale (by amount and time, or by the sale's reference), and
// the day reconciles with no unmatched line (PARTNER.md §6 reconciles qr +
// transfer). A cash sale of the same amount is never paid by a credit.
func TestPartnerCredits_TransferSalesAreMatchedAndReconciled(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	b := rs.bank(t, "24")
	now := businessNow(t, 30*time.Minute)
	sale := func(amount int64, method string, at time.Time) chosync.Event {
		ev := p.qrSale(amount, "", at)
		ev.Payload, _ = json.Marshal(chosync.SaleRecord{Amount: amount, Method: method})
		return ev
	}
	cash, transfer := sale(30000, choso.MethodCash, now.Add(-25*time.Minute)), sale(30000, choso.MethodTransfer, now.Add(-20*time.Minute))
	decodePush(t, p.push(t, pushBody(t, []chosync.Event{cash, transfer})))
	credit := `{"bank_txn_id":"FT7","bin":"970436","account":"0011001234567","amount":30000,"credited_at":"` +
		now.Add(-19*time.Minute).UTC().Format(time.RFC3339) + `","content":"NGUYEN VAN A chuyen tien"}`
	res := b.signed(t, "POST", "/partner/v1/credits", nil, []byte(`{"credits":[`+credit+`]}`), nil)
	var out creditsResponse
	json.NewDecoder(res.Body).Decode(&out)
	res.Body.Close()
	if len(out.Results) != 1 || out.Results[0].Credit.SaleID != transfer.ID || out.Results[0].Credit.MatchKind != choso.MatchAmountTime {
		t.Fatalf("the credit of a transfer sale: %+v; want sale %s by amount and time", out.Results, transfer.ID)
	}
	// A transfer the phone syncs after its credit came, on a day of no QR
	// sale: the late pass matches it.
	early := `{"bank_txn_id":"FT8","bin":"970436","account":"0011001234567","amount":12000,"credited_at":"` +
		now.Add(-9*time.Minute).UTC().Format(time.RFC3339) + `","content":"chuyen tien"}`
	b.signed(t, "POST", "/partner/v1/credits", nil, []byte(`{"credits":[`+early+`]}`), nil).Body.Close()
	late := sale(12000, choso.MethodTransfer, now.Add(-10*time.Minute))
	decodePush(t, p.push(t, pushBody(t, []chosync.Event{late})))
	if n, _, err := rs.partners.MatchLateCredits(t.Context()); err != nil || n != 1 {
		t.Fatalf("late pass over a day of transfer sales: %d matched, %v; want 1", n, err)
	}
	totals := decodeTotals(t, rs, p)
	if totals.Days[0].ConfirmedQR != (choso.MethodTotals{Count: 2, Amount: 42000}) {
		t.Errorf("confirmed: %+v, want the two transfers", totals.Days[0].ConfirmedQR)
	}
	rs.partners.Now = func() time.Time { return now.Add(3 * 24 * time.Hour) }
	if _, err := rs.partners.FinalizeDays(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := b.reconcile(t, totals.Days[0].Date, "0011001234567")
	if r.Status != choso.ReconMatched || len(r.Lines) != 4 || r.QRSales != (choso.MethodTotals{Count: 2, Amount: 42000}) {
		t.Fatalf("reconciliation of a final day with two transfer sales and their credits: %+v; want matched, the sales and the credits", r)
	}
}

// A sale at 23:58 paid at 00:03: the credit's business day is the one
// after its sale's, and the late pass, which looks at the days beside a
// changed day, still matches it.
func TestPartnerCredits_BeforeTheirSales_MatchedAcrossMidnight(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	b := rs.bank(t, "24")
	loc, err := choso.LoadLocation(choso.DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	// The midnight before now, so the sale is in the past but less than a
	// day old (older than a day before the phone's enrollment, its time
	// would be implausible, SYNC.md §6.10); in the two minutes before a
	// midnight, that midnight.
	now := time.Now().In(loc)
	midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, loc)
	if midnight.Add(-2 * time.Minute).After(now) {
		midnight = midnight.AddDate(0, 0, -1)
	}
	soldAt, paidAt := midnight.Add(-2*time.Minute), midnight.Add(3*time.Minute)
	credit := `{"bank_txn_id":"FT9","bin":"970436","account":"0011001234567","amount":37000,"credited_at":"` + paidAt.Format(time.RFC3339) + `","content":"chuyen tien"}`
	res := b.signed(t, "POST", "/partner/v1/credits", nil, []byte(`{"credits":[`+credit+`]}`), nil)
	var out creditsResponse
	json.NewDecoder(res.Body).Decode(&out)
	res.Body.Close()
	if len(out.Results) != 1 || out.Results[0].Credit.MatchKind != choso.MatchAccountOnly || out.Results[0].Credit.BusinessDate != midnight.Format(time.DateOnly) {
		t.Fatalf("the credit before its sale: %+v", out.Results)
	}
	sale := p.qrSale(37000, "", soldAt)
	decodePush(t, p.push(t, pushBody(t, []chosync.Event{sale})))
	ctx := context.Background()
	if n, _, err := rs.partners.MatchLateCredits(ctx); err != nil || n != 1 {
		t.Fatalf("late pass: %d matched, %v; want 1", n, err)
	}
	err = rs.reg.Store.View(ctx, func(tx choso.Tx) error {
		c, err := tx.FindCredit(b.partnerID, "FT9")
		if err != nil {
			return err
		}
		if c.SaleID != sale.ID || c.MatchKind != choso.MatchAmountTime {
			t.Errorf("the credit after the pass: %+v; want sale %s by amount and time", c, sale.ID)
		}
		day, err := tx.FindStallDay(obj.stall, soldAt.Format(time.DateOnly))
		if err != nil {
			return err
		}
		if day.ConfirmedQR != (choso.MethodTotals{Count: 1, Amount: 37000}) {
			t.Errorf("the sale's day %s: confirmed %v; want the credit", day.Date, day.ConfirmedQR)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// phoneCredits is a page of GET /v1/sync/credits.
type phoneCredits struct {
	Data []struct {
		Seq    uint64 `json:"seq"`
		Amount int64  `json:"amount"`
		SaleID string `json:"sale_id"`
		Match  string `json:"match"`
	} `json:"data"`
	LastSeq uint64 `json:"last_seq"`
}

func pullCredits(t *testing.T, rs *registryServer, p *enrolled, since uint64) phoneCredits {
	t.Helper()
	res := rs.do(t, "GET", "/v1/sync/credits?since="+strconv.FormatUint(since, 10), nil, "Authorization", "Bearer "+p.token)
	defer res.Body.Close()
	var page phoneCredits
	if err := json.NewDecoder(res.Body).Decode(&page); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("credits since %d: %d %v", since, res.StatusCode, err)
	}
	return page
}

func decodeTotals(t *testing.T, rs *registryServer, p *enrolled) syncTotals {
	t.Helper()
	var totals syncTotals
	res := rs.do(t, "GET", "/v1/sync/totals", nil, "Authorization", "Bearer "+p.token)
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&totals); err != nil || len(totals.Days) != 1 {
		t.Fatalf("totals: %+v, %v", totals, err)
	}
	return totals
}

func slicesContain(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The Go client for banks, against the real server: a limit over the
// server's most asks for the most, rather than failing every page.
func TestPartnerClient_LimitOverTheCap_Pages(t *testing.T) {
	rs := newRegistryServer(t)
	b := rs.bank(t, "24")
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	p.push(t, pushBody(t, p.sales(2, 1000, "cash"))).Body.Close()
	c, err := partnerclient.New(rs.URL, b.keyID, b.secret)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for page, err := range c.ChangePages(t.Context(), "", 5000) {
		if err != nil {
			t.Fatalf("ChangePages with limit 5000: %v", err)
		}
		n += len(page.Data)
	}
	if n == 0 {
		t.Fatal("no revisions paged")
	}
}

// Scenario 10: a key that hammers gets 429 with Retry-After.
func TestPartner_RateLimitedPerKey(t *testing.T) {
	rs := newRegistryServer(t)
	b := rs.bank(t, "24")
	// A clock that stands still: the key's burst never refills, however
	// slowly a loaded machine sends the 60 requests.
	frozen := time.Now()
	rs.partnerLimiter = newPartnerLimiter(func() time.Time { return frozen })
	var last *http.Response
	for range 60 {
		last = b.signed(t, "GET", "/partner/v1/changes", url.Values{}, nil, nil)
		if last.StatusCode == http.StatusTooManyRequests {
			break
		}
	}
	wantError(t, last, http.StatusTooManyRequests, choso.ERateLimited)
	if last.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
}

// The nonce memory's bound on one key is a 429 too, and like every 429 it
// says when to come back: a bank's client waits for Retry-After.
func TestPartner_NonceMemoryFullForKey_429WithRetryAfter(t *testing.T) {
	rs := newRegistryServer(t)
	b := rs.bank(t, "24")
	rs.partnerVerifier.MaxNoncesPerKey = 3
	for i := range 3 {
		if res := b.signed(t, "GET", "/partner/v1/changes", url.Values{}, nil, nil); res.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, res.StatusCode)
		}
	}
	res := b.signed(t, "GET", "/partner/v1/changes", url.Values{}, nil, nil)
	wantError(t, res, http.StatusTooManyRequests, choso.ERateLimited)
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
}

// Scenario 10, exports: a partner runs at most two at once; a third is 429.
func TestPartnerExport_ConcurrencyLimit(t *testing.T) {
	rs := newRegistryServer(t)
	b := rs.bank(t, "24")
	pid := mustPartnerOfKey(t, rs, b.keyID)
	for range MaxExportsPerPartner {
		if !rs.exports.acquire(pid) {
			t.Fatal("a slot was refused below the limit")
		}
	}
	date := time.Now().In(mustLoc(t)).Format(time.DateOnly)
	res := b.signed(t, "GET", "/partner/v1/exports/summaries.ndjson", url.Values{"from": {date}, "to": {date}}, nil, nil)
	wantError(t, res, http.StatusTooManyRequests, choso.ERateLimited)
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// Another partner is not held up, and a released slot is free again.
	other := rs.bank(t, "24")
	if res := other.signed(t, "GET", "/partner/v1/exports/summaries.csv", url.Values{"from": {date}, "to": {date}}, nil, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("another partner's export: %d", res.StatusCode)
	}
	rs.exports.release(pid)
	if res := b.signed(t, "GET", "/partner/v1/exports/summaries.csv", url.Values{"from": {date}, "to": {date}}, nil, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("export after a release: %d", res.StatusCode)
	}
	if !rs.exports.acquire(pid) || rs.exports.acquire(pid) {
		t.Fatal("the finished export did not give its slot back")
	}
}

// Limits of a credits post: 1,000 credits and 1 MiB of body.
// One vendor, two stalls, one payout account. The credits for the second
// stall's sales go to that stall (by reference, and by amount and time),
// and the account's reconciliation counts both stalls' sales. A credit
// that came before its sale went to the first stall; matched late, it moves
// to the second stall's credits, where that stall's phone sees it.
func TestPartnerCredits_TwoStallsOneAccount(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	b := rs.bank(t, "24")
	ctx := context.Background()
	if _, err := rs.reg.CreateStall(ctx, choso.SystemPrincipal("test"), obj.market, choso.NewStall{Code: "Z-9", Name: "Hoa quả cô Lan",
		VendorName: "Nguyễn Thị Lan", VendorPhone: "0912345678", ConsentGiven: true,
		Payout: choso.PayoutAccount{BIN: "970436", Account: "0011001234567", Holder: "NGUYEN THI LAN"}}); err != nil {
		t.Fatal(err)
	}
	var stalls []*choso.Stall
	err := rs.reg.Store.View(ctx, func(tx choso.Tx) (err error) {
		stalls, err = tx.FindStallsByAccount("970436", "0011001234567")
		return err
	})
	if err != nil || len(stalls) != 2 {
		t.Fatalf("stalls on the account: %v, %v", stalls, err)
	}
	first, selling := stalls[0].ID, stalls[1].ID // an unmatched credit goes to the first
	p := rs.enroll(t, selling)
	now := businessNow(t, 30*time.Minute)
	at := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	ref, _ := qr.NewReference(rand.Reader)
	sales := []chosync.Event{p.qrSale(45000, ref, now.Add(-30*time.Minute)), p.qrSale(20000, "", now.Add(-20*time.Minute))}
	decodePush(t, p.push(t, pushBody(t, sales)))
	got := b.postCredits(t, `{"bank_txn_id":"FT1","bin":"970436","account":"0011001234567","amount":45000,"credited_at":"`+at(-29*time.Minute)+`","content":"`+ref+`"},`+
		`{"bank_txn_id":"FT2","bin":"970436","account":"0011001234567","amount":20000,"credited_at":"`+at(-18*time.Minute)+`","content":"chuyen tien"}`)
	for i, want := range []string{choso.MatchReference, choso.MatchAmountTime} {
		if c := got[i].Credit; c.MatchKind != want || c.StallID != selling || c.SaleID != sales[i].ID {
			t.Errorf("credit %d: %s to %s for %q; want %s to %s for %s", i, c.MatchKind, c.StallID, c.SaleID, want, selling, sales[i].ID)
		}
	}
	r := b.reconcile(t, now.Format(time.DateOnly), "0011001234567")
	if r.QRSales != (choso.MethodTotals{Count: 2, Amount: 65000}) || len(r.Reasons) != 0 {
		t.Fatalf("the account's reconciliation: sales %+v, reasons %v; want the second stall's two sales, nothing unmatched", r.QRSales, r.Reasons)
	}

	// A credit before its sale: to the first stall, then matched late.
	late := b.postCredits(t, `{"bank_txn_id":"FT3","bin":"970436","account":"0011001234567","amount":15000,"credited_at":"`+at(-9*time.Minute)+`","content":"chuyen tien"}`)[0].Credit
	if late.MatchKind != choso.MatchAccountOnly || late.StallID != first {
		t.Fatalf("a credit before its sale: %s to %s; want account_only to the first stall %s", late.MatchKind, late.StallID, first)
	}
	seen := pullCredits(t, rs, p, 0)
	sale := p.qrSale(15000, "", now.Add(-10*time.Minute))
	decodePush(t, p.push(t, pushBody(t, []chosync.Event{sale})))
	if n, _, err := rs.partners.MatchLateCredits(ctx); err != nil || n != 1 {
		t.Fatalf("late pass: %d matched, %v; want 1", n, err)
	}
	var c *choso.Credit
	rs.reg.Store.View(ctx, func(tx choso.Tx) (err error) { c, err = tx.FindCredit(b.partnerID, "FT3"); return err })
	if c.StallID != selling || c.SaleID != sale.ID {
		t.Fatalf("FT3 after the pass: to %s for %q; want %s for %s", c.StallID, c.SaleID, selling, sale.ID)
	}
	if next := pullCredits(t, rs, p, seen.LastSeq); len(next.Data) != 1 || next.Data[0].SaleID != sale.ID {
		t.Fatalf("the selling stall's phone after the pass: %+v; want FT3, matched", next.Data)
	}
}

// A vendor shows one dynamic code to two customers: the same amount, the
// same reference. Posted after both sales synced, each credit pays the
// sale made near it, by reference, though the reference index names only
// the later sale.
func TestPartnerCredits_OneCodeShownTwice_EachCreditPaysItsSale(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	b := rs.bank(t, "24")
	now := businessNow(t, 40*time.Minute)
	ref, _ := qr.NewReference(rand.Reader)
	sales := []chosync.Event{p.qrSale(20000, ref, now.Add(-40*time.Minute)), p.qrSale(20000, ref, now.Add(-15*time.Minute))}
	decodePush(t, p.push(t, pushBody(t, sales)))
	at := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	got := b.postCredits(t, `{"bank_txn_id":"FT1","bin":"970436","account":"0011001234567","amount":20000,"credited_at":"`+at(-39*time.Minute)+`","content":"`+ref+`"},`+
		`{"bank_txn_id":"FT2","bin":"970436","account":"0011001234567","amount":20000,"credited_at":"`+at(-14*time.Minute)+`","content":"`+ref+`"}`)
	for i, r := range got {
		if r.Credit.MatchKind != choso.MatchReference || r.Credit.SaleID != sales[i].ID {
			t.Errorf("%s: %s for %q; want reference for the sale made near it, %s", r.BankTxnID, r.Credit.MatchKind, r.Credit.SaleID, sales[i].ID)
		}
	}
}

// Two banks' programmes cover the province. A bank's reconciliation of an
// account holds its own credits and the sales they paid, never the other
// bank's credit lines (their IDs and transfer messages are the other bank's
// customers'); the market's own reconciliation page sees both.
func TestPartnerReconciliation_OtherBanksCreditsNotShown(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	vcb, other := rs.bank(t, "24"), rs.bank(t, "24")
	now := businessNow(t, 30*time.Minute)
	ref, _ := qr.NewReference(rand.Reader)
	paid, unpaid := p.qrSale(45000, ref, now.Add(-30*time.Minute)), p.qrSale(20000, "", now.Add(-20*time.Minute))
	decodePush(t, p.push(t, pushBody(t, []chosync.Event{paid, unpaid})))
	vcb.postCredits(t, `{"bank_txn_id":"FT1","bin":"970436","account":"0011001234567","amount":45000,"credited_at":"`+
		now.Add(-29*time.Minute).UTC().Format(time.RFC3339)+`","content":"`+ref+` NGUYEN VAN A chuyen"}`)
	reconcile := func(b *bank) choso.Reconciliation { return b.reconcile(t, now.Format(time.DateOnly), "0011001234567") }
	if r := reconcile(vcb); r.Credits.Amount != 45000 || r.QRSales.Amount != 65000 || len(r.Lines) != 3 {
		t.Fatalf("the posting bank's reconciliation: credits %+v, sales %+v, %d lines; want its credit and both sales", r.Credits, r.QRSales, len(r.Lines))
	}
	r := reconcile(other)
	for _, l := range r.Lines {
		if l.ID == "FT1" || l.ID == paid.ID || l.MatchedTo == "FT1" {
			t.Fatalf("the other bank sees %+v", l)
		}
	}
	if r.Credits.Count != 0 || r.QRSales != (choso.MethodTotals{Count: 1, Amount: 20000}) {
		t.Fatalf("the other bank's reconciliation: credits %+v, sales %+v; want none of the first bank's, the unpaid sale", r.Credits, r.QRSales)
	}
	market, err := rs.partners.Reconcile(t.Context(), &choso.Partner{MarketIDs: []string{obj.market}}, now.Format(time.DateOnly), "970436", "0011001234567")
	if err != nil || market.Credits.Amount != 45000 || market.QRSales.Amount != 65000 {
		t.Fatalf("the market's own view: %+v, %v; want every credit and sale", market, err)
	}
}

// Each bank names its own transactions: two core banking systems may give
// their credits one ID (both "FT" and the date and a counter). The second
// bank's FT1 is a credit of its own, not a conflict with the first's; each
// bank's retry is its own duplicate; and each reconciles the sale its FT1
// paid, not the other's.
func TestPartnerCredits_TwoBanksOneTxnID(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	vcb, tcb := rs.bank(t, "24"), rs.bank(t, "24")
	now := businessNow(t, 30*time.Minute)
	ref, _ := qr.NewReference(rand.Reader)
	byRef, byTime := p.qrSale(45000, ref, now.Add(-30*time.Minute)), p.qrSale(20000, "", now.Add(-20*time.Minute))
	decodePush(t, p.push(t, pushBody(t, []chosync.Event{byRef, byTime})))
	vcbFT1 := `{"bank_txn_id":"FT1","bin":"970436","account":"0011001234567","amount":45000,"credited_at":"` +
		now.Add(-29*time.Minute).UTC().Format(time.RFC3339) + `","content":"` + ref + ` NGUYEN VAN A chuyen"}`
	tcbFT1 := `{"bank_txn_id":"FT1","bin":"970436","account":"0011001234567","amount":20000,"credited_at":"` +
		now.Add(-19*time.Minute).UTC().Format(time.RFC3339) + `","content":"chuyen tien"}`
	if r := vcb.postCredits(t, vcbFT1)[0]; r.Status != choso.CreditCreated || r.Credit.SaleID != byRef.ID {
		t.Fatalf("the first bank's FT1: %s for %q, want created for %s", r.Status, r.Credit.SaleID, byRef.ID)
	}
	if r := tcb.postCredits(t, tcbFT1)[0]; r.Status != choso.CreditCreated || r.Credit.SaleID != byTime.ID {
		t.Fatalf("the second bank's FT1: %s %q for %q, want created for %s", r.Status, r.Message, r.Credit.SaleID, byTime.ID)
	}
	for _, c := range []struct {
		b    *bank
		body string
		sale string
	}{{vcb, vcbFT1, byRef.ID}, {tcb, tcbFT1, byTime.ID}} {
		if r := c.b.postCredits(t, c.body)[0]; r.Status != choso.CreditDuplicate || r.Credit.SaleID != c.sale {
			t.Errorf("a bank's FT1 again: %s for %q, want duplicate for %s", r.Status, r.Credit.SaleID, c.sale)
		}
	}
	if got := decodeTotals(t, rs, p).Days[0].ConfirmedQR; got != (choso.MethodTotals{Count: 2, Amount: 65000}) {
		t.Fatalf("confirmed: %+v, want both sales", got)
	}
	for _, c := range []struct {
		b      *bank
		sale   string
		amount int64
	}{{vcb, byRef.ID, 45000}, {tcb, byTime.ID, 20000}} {
		r := c.b.reconcile(t, now.Format(time.DateOnly), "0011001234567")
		if len(r.Lines) != 2 || r.Credits.Amount != c.amount || r.QRSales.Amount != c.amount || len(r.Reasons) != 0 {
			t.Errorf("a bank's reconciliation: %+v; want its FT1 and the sale it paid, %d đồng, nothing unmatched", r, c.amount)
			continue
		}
		for _, l := range r.Lines {
			if l.Kind == "sale" && l.ID != c.sale || l.Kind == "credit" && l.MatchedTo != c.sale {
				t.Errorf("a bank's reconciliation line %+v: want its own sale %s", l, c.sale)
			}
		}
	}
	market, err := rs.partners.Reconcile(t.Context(), &choso.Partner{MarketIDs: []string{obj.market}}, now.Format(time.DateOnly), "970436", "0011001234567")
	if err != nil || market.Credits.Amount != 65000 || market.QRSales.Amount != 65000 || len(market.Reasons) != 0 {
		t.Fatalf("the market's own view: %+v, %v; want both banks' FT1 and both sales, nothing unmatched", market, err)
	}
}

// A credit that names a sale's payment reference but pays another amount
// does not confirm it (PARTNER.md §6: by reference, 1:1 and the exact
// amount): it stays a bank line for the reconciliation to show. The credit
// for the right amount then matches by the reference.
func TestPartnerCredits_ReferenceWithAnotherAmount_NotMatched(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	b := rs.bank(t, "24")
	now := businessNow(t, 10*time.Minute)
	ref, _ := qr.NewReference(rand.Reader)
	decodePush(t, p.push(t, pushBody(t, []chosync.Event{p.qrSale(450000, ref, now.Add(-10*time.Minute))})))
	post := func(id string, amount int64) []choso.CreditResult {
		t.Helper()
		return b.postCredits(t, fmt.Sprintf(`{"bank_txn_id":%q,"bin":"970436","account":"0011001234567","amount":%d,"credited_at":%q,"content":"%s thanh toan"}`,
			id, amount, now.Add(-9*time.Minute).UTC().Format(time.RFC3339), ref))
	}
	if r := post("FT1", 1000)[0]; r.Credit.MatchKind != choso.MatchAccountOnly || r.Credit.SaleID != "" {
		t.Fatalf("1,000 đồng naming a 450,000 đồng sale: %+v, want account_only", r.Credit)
	}
	if got := decodeTotals(t, rs, p).Days[0].ConfirmedQR; got != (choso.MethodTotals{}) {
		t.Fatalf("confirmed after the short credit: %+v", got)
	}
	if r := post("FT2", 450000)[0]; r.Credit.MatchKind != choso.MatchReference {
		t.Fatalf("the full credit: %+v, want matched by reference", r.Credit)
	}
	// Naming a sale, a credit pays that sale or none: not a printed-code
	// sale of its amount nearby, whose own credit would be left over.
	decodePush(t, p.push(t, pushBody(t, []chosync.Event{p.qrSale(1000, "", now.Add(-9*time.Minute))})))
	if r := post("FT3", 1000)[0]; r.Credit.MatchKind != choso.MatchAccountOnly {
		t.Fatalf("1,000 đồng naming the paid sale, beside a 1,000 đồng static-code sale: %+v, want account_only", r.Credit)
	}
}

// One bad line does not fail a bank's post: an account with a character
// no account has, or a transaction ID with a NUL (which PostgreSQL cannot
// hold), is that credit's "invalid", and the rest are stored.
func TestPartnerCredits_OneBadLine_RestStored(t *testing.T) {
	rs := newRegistryServer(t)
	b := rs.bank(t, "24")
	got := b.postCredits(t, `{"bank_txn_id":"FT1","bin":"970436","account":"0011001234567","amount":1000,"credited_at":"2026-11-26T09:00:00Z","content":""},`+
		`{"bank_txn_id":"FT2","bin":"970436","account":"0011/001234567","amount":2000,"credited_at":"2026-11-26T09:01:00Z","content":""},`+
		`{"bank_txn_id":"FT3\u0000X","bin":"970436","account":"0011001234567","amount":3000,"credited_at":"2026-11-26T09:02:00Z","content":""}`)
	if len(got) != 3 || got[0].Status != choso.CreditCreated || got[1].Status != choso.CreditInvalid || !strings.Contains(got[1].Message, "letters and digits") ||
		got[2].Status != choso.CreditInvalid || !strings.Contains(got[2].Message, "printable") {
		t.Fatalf("results %+v, want created, then invalid twice (an account with a slash, an ID with a NUL)", got)
	}
}

// A line the bank wrote wrong is a bad line too: a time without its
// offset (a core banking system's local time), an amount in quotes or
// with a fraction, a credit that is not an object. Each is that credit's
// "invalid", with a message that says what to send, and the rest of the
// post is stored, as for a line that breaks a rule.
func TestPartnerCredits_UnreadableLine_ThatCreditsInvalid(t *testing.T) {
	rs := newRegistryServer(t)
	b := rs.bank(t, "24")
	got := b.postCredits(t, `{"bank_txn_id":"FT1","bin":"970436","account":"0011001234567","amount":1000,"credited_at":"2026-11-26T09:00:00+07:00"},`+
		`{"bank_txn_id":"FT2","bin":"970436","account":"0011001234567","amount":2000,"credited_at":"2026-11-26T09:01:00"},`+
		`{"bank_txn_id":"FT3","bin":"970436","account":"0011001234567","amount":"3000","credited_at":"2026-11-26T09:02:00+07:00"},`+
		`{"bank_txn_id":"FT4","bin":"970436","account":"0011001234567","amount":4000.5,"credited_at":"2026-11-26T09:03:00+07:00"},`+
		`"FT5",`+
		`{"bank_txn_id":"FT6","bin":"970436","account":"0011001234567","amount":6000,"credited_at":"2026-11-26T09:04:00Z"}`)
	want := []struct{ id, status, message string }{
		{"FT1", choso.CreditCreated, ""},
		{"FT2", choso.CreditInvalid, `"credited_at"`},
		{"FT3", choso.CreditInvalid, "integer"},
		{"FT4", choso.CreditInvalid, "integer"},
		{"", choso.CreditInvalid, "object"},
		{"FT6", choso.CreditCreated, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if r := got[i]; r.BankTxnID != w.id || r.Status != w.status || !strings.Contains(r.Message, w.message) {
			t.Errorf("result %d: %s %s %q; want %s %s, a message about %q", i, r.BankTxnID, r.Status, r.Message, w.id, w.status, w.message)
		}
	}
}

// A time the server cannot read is told as a time: the form to send, with
// its offset, not "must be an object" (Go's time.Time is a struct).
func TestPartnerCredits_TimeWithoutOffset_MessageSaysTheForm(t *testing.T) {
	rs := newRegistryServer(t)
	b := rs.bank(t, "24")
	for _, at := range []string{`"2026-11-26T09:01:00"`, `"2026-11-26 09:01:00+07:00"`, `"2026-11-26T09:01:00+0700"`, `1764122460`} {
		r := b.postCredits(t, `{"bank_txn_id":"FT1","bin":"970436","account":"0011001234567","amount":1000,"credited_at":`+at+`}`)[0]
		if r.Status != choso.CreditInvalid || !strings.Contains(r.Message, `"credited_at"`) || !strings.Contains(r.Message, "RFC 3339") ||
			!strings.Contains(r.Message, "+07:00") || strings.Contains(r.Message, "object") {
			t.Errorf("credited_at %s: %s %q; want invalid, saying to send RFC 3339 with its offset", at, r.Status, r.Message)
		}
	}
}

// An amount out of bounds is told with the bounds: one over the cap is
// not "must be positive", which a bank could not act on.
func TestPartnerCredits_AmountAtTheEdges(t *testing.T) {
	rs := newRegistryServer(t)
	b := rs.bank(t, "24")
	one := `{"bank_txn_id":"FT%d","bin":"970436","account":"0011001234567","amount":%d,"credited_at":"2026-11-26T09:00:00+07:00"}`
	amounts := []int64{1, 10_000_000_000, 0, -1, 10_000_000_001}
	var parts []string
	for i, a := range amounts {
		parts = append(parts, fmt.Sprintf(one, i, a))
	}
	got := b.postCredits(t, strings.Join(parts, ","))
	for i, want := range []string{choso.CreditCreated, choso.CreditCreated, choso.CreditInvalid, choso.CreditInvalid, choso.CreditInvalid} {
		if got[i].Status != want {
			t.Errorf("amount %d: %s, want %s", amounts[i], got[i].Status, want)
		}
	}
	if msg := got[4].Message; !strings.Contains(msg, "10,000,000,000") {
		t.Errorf("amount %d: %q; want the message to give the most a credit may be", amounts[4], msg)
	}
}

// A credit is money that has arrived: one dated ahead of the server's clock
// is a bank's mistake (most often a Vietnamese local time marked Z, seven
// hours ahead, or a mistyped year), told as such; it must not start a
// stall-day in the future that the feed carries and no one can remove.
func TestPartnerCredits_CreditedInTheFuture_Invalid(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	b := rs.bank(t, "24")
	loc := mustLoc(t)
	now := time.Now().In(loc)
	localAsZ := now.Format("2006-01-02T15:04:05") + "Z" // the wall time in Vietnam, labelled UTC
	got := b.postCredits(t, `{"bank_txn_id":"FT1","bin":"970436","account":"0011001234567","amount":1000,"credited_at":"`+localAsZ+`"},`+
		`{"bank_txn_id":"FT2","bin":"970436","account":"0011001234567","amount":1000,"credited_at":"`+now.AddDate(73, 0, 0).Format(time.RFC3339)+`"},`+
		`{"bank_txn_id":"FT3","bin":"970436","account":"0011001234567","amount":1000,"credited_at":"`+now.Add(-time.Minute).Format(time.RFC3339)+`"}`)
	for i, want := range []string{choso.CreditInvalid, choso.CreditInvalid, choso.CreditCreated} {
		if got[i].Status != want || (want == choso.CreditInvalid && !strings.Contains(got[i].Message, "ahead")) {
			t.Errorf("%s: %s %q, want %s", got[i].BankTxnID, got[i].Status, got[i].Message, want)
		}
	}
	for _, r := range b.changes(t, "", 100).Data {
		if r.StallID == obj.stall && r.BusinessDate > now.Format(time.DateOnly) {
			t.Errorf("the feed carries a stall-day in the future: %+v", r)
		}
	}
}

// An account is read alike wherever a bank gives it: as printed, in
// groups, in lower case. A credit posted so reaches its stall, and the
// reconciliation asked so finds the same account.
func TestPartnerReconciliation_AccountAsTheCreditsTakeIt(t *testing.T) {
	rs := newRegistryServer(t)
	rs.objects(t, false)
	b := rs.bank(t, "24")
	now := businessNow(t, time.Minute)
	r := b.postCredits(t, `{"bank_txn_id":"FT1","bin":"970436","account":"0011 0012 34567","amount":1000,"credited_at":"`+now.Format(time.RFC3339)+`"}`)[0]
	if r.Status != choso.CreditCreated || r.Credit.StallID == "" {
		t.Fatalf("a credit to the account in groups: %+v", r)
	}
	for _, account := range []string{"0011001234567", "0011 0012 34567", " 0011001234567 "} {
		res := b.signed(t, "GET", "/partner/v1/reconciliation", url.Values{"date": {now.Format(time.DateOnly)}, "bin": {"970436"}, "account": {account}}, nil, nil)
		var rec choso.Reconciliation
		body, _ := io.ReadAll(res.Body)
		if err := json.Unmarshal(body, &rec); err != nil || res.StatusCode != http.StatusOK || rec.Credits.Count != 1 || rec.Account != "0011001234567" {
			t.Errorf("reconciliation of account %q: %d %s; want the account's, with its credit", account, res.StatusCode, body)
		}
	}
}

// A transfer message is limited in characters, as the message says, not
// in bytes: 200 characters of Vietnamese with its diacritics (600 bytes of
// UTF-8) are taken; 501 characters are not.
func TestPartnerCredits_ContentCountsCharacters(t *testing.T) {
	rs := newRegistryServer(t)
	b := rs.bank(t, "24")
	one := `{"bank_txn_id":%q,"bin":"970436","account":"0011001234567","amount":1000,"credited_at":"2026-11-26T09:00:00+07:00","content":%q}`
	got := b.postCredits(t, fmt.Sprintf(one, "FT1", strings.Repeat("ề", 200))+","+fmt.Sprintf(one, "FT2", strings.Repeat("a", 501)))
	if got[0].Status != choso.CreditCreated || got[1].Status != choso.CreditInvalid {
		t.Fatalf("200 characters of Vietnamese: %s %q; 501 characters: %s; want created, invalid", got[0].Status, got[0].Message, got[1].Status)
	}
}

func TestPartnerCredits_Limits(t *testing.T) {
	rs := newRegistryServer(t)
	b := rs.bank(t, "24")
	one := `{"bank_txn_id":"FT%d","bin":"970436","account":"0011001234567","amount":1000,"credited_at":"2026-11-26T09:00:00Z","content":""}`
	var parts []string
	for i := range choso.MaxCreditsPerPost + 1 {
		parts = append(parts, fmt.Sprintf(one, i))
	}
	body := []byte(`{"credits":[` + strings.Join(parts, ",") + `]}`)
	wantError(t, b.signed(t, "POST", "/partner/v1/credits", nil, body, nil), http.StatusRequestEntityTooLarge, choso.ETooLarge)
	huge := []byte(`{"credits":[],"pad":"` + strings.Repeat("x", PartnerBodyLimit) + `"}`)
	wantError(t, b.signed(t, "POST", "/partner/v1/credits", nil, huge, nil), http.StatusRequestEntityTooLarge, choso.ETooLarge)
	wantError(t, b.signed(t, "POST", "/partner/v1/credits", nil, []byte(`{"credits":[]}`), nil), http.StatusBadRequest, choso.EInvalid)
	// A reconciliation needs its account: without one it is a bad request,
	// not an unknown account.
	wantError(t, b.signed(t, "GET", "/partner/v1/reconciliation", url.Values{"date": {"2026-11-26"}}, nil, nil), http.StatusBadRequest, choso.EInvalid)
}
