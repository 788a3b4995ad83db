package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/choso/choso/internal/store/postgres/pgtest"
	"github.com/choso/choso/partnerclient"
)

// drillBank posts credits like the bank: each credit has a unique
// bank_txn_id and a content that names it; it posts each until the server
// acknowledges it, again after a restart when it never heard back.
type drillBank struct {
	mu       sync.Mutex
	pending  []partnerclient.Credit
	acked    map[string]bool // bank_txn_id → acknowledged
	next     int
	accounts []string
}

// drillCreditBatch is the most credits the drill's bank posts at once.
const drillCreditBatch = 100

func (b *drillBank) post(ctx context.Context, c *partnerclient.Client) {
	b.mu.Lock()
	b.next++
	b.pending = append(b.pending, partnerclient.Credit{
		BankTxnID: fmt.Sprintf("FT%08d", b.next), BIN: "970436", Account: b.accounts[b.next%len(b.accounts)],
		Amount: int64(1000 * (1 + b.next%50)), CreditedAt: time.Now().UTC(), Content: fmt.Sprintf("DRILL FT%08d", b.next),
	})
	// Oldest first and a bounded batch, as a bank's integration sends:
	// posting everything unacknowledged at once grows past the body limit
	// after a run of failures and is refused (413) from then on.
	batch := append([]partnerclient.Credit(nil), b.pending[:min(len(b.pending), drillCreditBatch)]...)
	b.mu.Unlock()
	res, err := c.PostCredits(ctx, batch)
	if err != nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	done := map[string]bool{}
	for _, r := range res {
		if r.Status == "created" || r.Status == "duplicate" {
			b.acked[r.BankTxnID], done[r.BankTxnID] = true, true
		}
	}
	kept := b.pending[:0]
	for _, p := range b.pending {
		if !done[p.BankTxnID] {
			kept = append(kept, p)
		}
	}
	b.pending = kept
}

// drillVolunteer registers stalls one by one; a create it never heard back
// from is sent again after a restart, and a 409 then means it committed.
type drillVolunteer struct {
	mu      sync.Mutex
	market  string
	token   string
	next    int
	pending []string        // codes sent without an answer
	acked   map[string]bool // codes the server acknowledged
}

func (v *drillVolunteer) create(s *e2eServer, client *http.Client) {
	v.mu.Lock()
	if len(v.pending) == 0 {
		v.next++
		v.pending = append(v.pending, fmt.Sprintf("V-%05d", v.next))
	}
	code := v.pending[0]
	v.mu.Unlock()
	status, err := s.try(client, "POST", "/v1/markets/"+v.market+"/stalls", v.token, map[string]any{
		"code": code, "name": "Quầy " + code, "vendor_name": "Lê Thị Hoa", "vendor_phone": "0387654321",
		"payout": map[string]string{"bin": "970422", "account": "9" + code[2:], "holder_name": "LE THI HOA"}, "consent_given": true})
	if err != nil {
		return
	}
	if status == http.StatusCreated || status == http.StatusConflict {
		v.mu.Lock()
		v.acked[code] = true
		v.pending = v.pending[1:]
		v.mu.Unlock()
	}
}

// try is call that reports a broken connection instead of failing.
func (s *e2eServer) try(client *http.Client, method, path, token string, body any) (int, error) {
	req, err := newJSONRequest(method, s.base+path, token, body)
	if err != nil {
		return 0, err
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// TestKill9_WholeServer kills the real server at random moments while
// phones push sales, the bank posts credits and a volunteer registers
// stalls, all at once; after every restart each side resends what it never
// heard acknowledged. At the end every acknowledged write is present once:
// sales in the totals, credits on the phones' credit lists, stalls in the
// market. CHOSO_DRILL_CYCLES sets the cycles (default 8; 1,000 for the
// full drill).
func TestKill9_WholeServer(t *testing.T) {
	data := t.TempDir()
	kill9Drill(t, func() *e2eServer { return startServer(t, data) }, func() (string, int) {
		out, _, code := runCLI(t, "check", "--events", "--data", data)
		return out, code
	})
}

// TestKill9_WholeServer_OnPostgres is the same drill over the PostgreSQL
// store: the node is killed, the database lives on.
func TestKill9_WholeServer_OnPostgres(t *testing.T) {
	url := pgtest.NewDatabase(t)
	env := append(cleanEnv(), "CHOSO_MASTER_KEY="+testMasterKey)
	data := t.TempDir()
	kill9Drill(t, func() *e2eServer {
		p := startWith(t, env, "--data", data, "--addr", "127.0.0.1:0", "--push-limit", "off", "--store", url)
		s := &e2eServer{t: t, data: data, proc: p}
		s.base = "http://" + p.waitLog(t, "listening")["addr"].(string)
		waitReady(t, s.base)
		return s
	}, func() (string, int) {
		out, _, code := runCLIWith(t, env, "check", "--events", "--store", url)
		return out, code
	})
}

// kill9Drill runs the drill on servers start gives: each call starts the
// server again on the same store. check runs `choso check` on the store at
// the end.
func kill9Drill(t *testing.T, start func() *e2eServer, check func() (out string, code int)) {
	cycles := 8
	if v, err := strconv.Atoi(os.Getenv("CHOSO_DRILL_CYCLES")); err == nil && v > 0 {
		cycles = v
	}
	s := start()
	admin := s.proc.waitLog(t, "admin created")["password"].(string)
	phones := s.setupPhones(4, admin)
	var login struct{ Token string }
	if code := s.call("POST", "/v1/auth/login", "", map[string]string{"username": "admin", "password": admin}, &login); code != 200 {
		t.Fatalf("login: %d", code)
	}
	var key struct {
		KeyID  string `json:"key_id"`
		Secret string `json:"secret"`
	}
	if code := s.call("POST", "/v1/admin/partners", login.Token, map[string]any{"name": "Ngân hàng", "provinces": []string{"24"}}, &key); code != 201 {
		t.Fatalf("partner: %d", code)
	}
	var mk struct{ ID string }
	if code := s.call("POST", "/v1/markets", login.Token, map[string]string{"name": "Chợ Nhớn", "commune_code": "07210"}, &mk); code != 201 {
		t.Fatalf("market: %d", code)
	}
	bank := &drillBank{acked: map[string]bool{}}
	for _, p := range phones {
		bank.accounts = append(bank.accounts, p.account)
	}
	vol := &drillVolunteer{market: mk.ID, token: login.Token, acked: map[string]bool{}}
	client := &http.Client{Timeout: 5 * time.Second}
	lost := 0
	for cycle := range cycles {
		if cycle > 0 {
			s = start()
			lost += checkAckedPushes(t, s, phones, cycle)
			if cycle%100 == 0 {
				t.Logf("%s: %d of %d cycles, %d acked pushes lost so far", time.Now().UTC().Format(time.TimeOnly), cycle, cycles, lost)
			}
		}
		bc, err := partnerclient.New(s.base, key.KeyID, []byte(key.Secret), partnerclient.WithHTTPClient(client), partnerclient.WithRetries(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, p := range phones {
			wg.Go(func() {
				for ctx.Err() == nil {
					p.record(1 + mrand.IntN(10))
					p.pushOnce(client, s.base)
				}
			})
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				bank.post(ctx, bc)
			}
		})
		wg.Go(func() {
			for ctx.Err() == nil {
				vol.create(s, client)
			}
		})
		time.Sleep(time.Duration(100+mrand.IntN(400)) * time.Millisecond)
		s.kill()
		cancel()
		wg.Wait()
	}

	// Restart, let every side finish what it has, and count.
	s = start()
	lost += checkAckedPushes(t, s, phones, cycles)
	drain(t, s.base, phones)
	bc, err := partnerclient.New(s.base, key.KeyID, []byte(key.Secret), partnerclient.WithHTTPClient(client))
	if err != nil {
		t.Fatal(err)
	}
	for try := 0; bank.pendingCount() > 0; try++ {
		if try == 1000 {
			t.Fatalf("the bank still has %d credits unacknowledged after %d posts", bank.pendingCount(), try)
		}
		bank.post(context.Background(), bc)
	}
	for try := 0; vol.pendingCount() > 0; try++ {
		if try == 1000 {
			t.Fatalf("the volunteer still has %d stalls unacknowledged after %d tries", vol.pendingCount(), try)
		}
		vol.create(s, client)
	}
	events := checkTotals(t, s, phones)

	// Credits: each acknowledged one reaches its stall's phone exactly once.
	seen := map[string]int{}
	for _, p := range phones {
		var since uint64
		for {
			var page struct {
				Data []struct {
					Seq     uint64 `json:"seq"`
					Content string `json:"content"`
				} `json:"data"`
			}
			if code := s.call("GET", "/v1/sync/credits?since="+strconv.FormatUint(since, 10), p.token, nil, &page); code != 200 {
				t.Fatalf("credits: %d", code)
			}
			if len(page.Data) == 0 {
				break
			}
			for _, c := range page.Data {
				seen[c.Content]++
				since = c.Seq
			}
		}
	}
	creditsLost, creditsDup := 0, 0
	for id := range bank.acked {
		switch n := seen["DRILL "+id]; {
		case n == 0:
			creditsLost++
		case n > 1:
			creditsDup++
		}
	}
	// Stalls: each acknowledged code is registered once.
	codes := map[string]int{}
	for cursor := ""; ; {
		var page struct {
			Data       []struct{ Code string } `json:"data"`
			NextCursor string                  `json:"next_cursor"`
			HasMore    bool                    `json:"has_more"`
		}
		if code := s.call("GET", "/v1/markets/"+mk.ID+"/stalls?limit=200&cursor="+cursor, login.Token, nil, &page); code != 200 {
			t.Fatalf("stalls: %d", code)
		}
		for _, st := range page.Data {
			codes[st.Code]++
		}
		if !page.HasMore {
			break
		}
		cursor = page.NextCursor
	}
	stallsLost := 0
	for code := range vol.acked {
		if codes[code] != 1 {
			stallsLost++
		}
	}
	t.Logf("%d kill -9 cycles over the whole server: %d sales (%d acked pushes lost), %d credits acknowledged (%d lost, %d duplicated), %d stalls registered (%d lost)",
		cycles, events, lost, len(bank.acked), creditsLost, creditsDup, len(vol.acked), stallsLost)
	if lost+creditsLost+creditsDup+stallsLost > 0 {
		t.Errorf("acknowledged writes lost or duplicated")
	}
	if len(bank.acked) == 0 || len(vol.acked) == 0 || events == 0 {
		t.Errorf("the drill wrote too little to prove anything: %d credits, %d stalls, %d sales", len(bank.acked), len(vol.acked), events)
	}
	s.proc.cmd.Process.Signal(syscall.SIGTERM)
	s.proc.cmd.Wait()
	out, code := check()
	if code != 0 {
		t.Fatalf("check after the drill: %s", out)
	}
	// --events walked the log: every sale has its entity, result, index and
	// payment reference, and every stall's day totals are its sales.
	if !strings.Contains(out, " events agree with their entities, results, QR-sale index, payment references and day totals") || strings.Contains(out, "; 0 events") {
		t.Errorf("check --events after the drill: %s", out)
	}
	t.Logf("check: %s", strings.TrimSpace(out))
}

func (b *drillBank) pendingCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

func (v *drillVolunteer) pendingCount() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.pending)
}

// checkAckedPushes counts phones whose acknowledged seq the restarted
// server does not hold.
func checkAckedPushes(t *testing.T, s *e2eServer, phones []*e2ePhone, cycle int) (lost int) {
	t.Helper()
	for i, p := range phones {
		var st struct {
			Device struct {
				AckSeq uint64 `json:"ack_seq"`
			} `json:"device"`
		}
		s.call("GET", "/v1/sync/status", p.token, nil, &st)
		if st.Device.AckSeq < p.acked {
			lost++
			t.Errorf("cycle %d phone %d: server at seq %d, but the phone was acked up to %d", cycle, i, st.Device.AckSeq, p.acked)
		}
	}
	return lost
}

func newJSONRequest(method, url, token string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}

// TestHotBackupUnderLoad streams GET /v1/admin/backup while phones push,
// then restores the copy: a server starts on it, choso check is clean, and
// it holds every sale acknowledged before the backup began. The push
// latency during the backup goes to the log (-v) for BENCHMARKS.md.
func TestHotBackupUnderLoad(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	admin := s.proc.waitLog(t, "admin created")["password"].(string)
	phones := s.setupPhones(8, admin)
	for _, p := range phones {
		p.record(2000)
	}
	drain(t, s.base, phones)
	before := checkTotals(t, s, phones)
	var login struct{ Token string }
	if code := s.call("POST", "/v1/auth/login", "", map[string]string{"username": "admin", "password": admin}, &login); code != 200 {
		t.Fatalf("login: %d", code)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var lat []time.Duration
	client := &http.Client{Timeout: 10 * time.Second}
	for _, p := range phones {
		wg.Go(func() {
			for ctx.Err() == nil {
				p.record(20)
				start := time.Now()
				if ok, _ := p.pushOnce(client, s.base); ok {
					mu.Lock()
					lat = append(lat, time.Since(start))
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	backup := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(backup)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := newJSONRequest("GET", s.base+"/v1/admin/backup", login.Token, nil)
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(f, res.Body)
	res.Body.Close()
	f.Close()
	took := time.Since(start)
	time.Sleep(200 * time.Millisecond)
	cancel()
	wg.Wait()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("backup: %d, %v", res.StatusCode, err)
	}
	slices.Sort(lat)
	if len(lat) == 0 {
		t.Fatal("no push went through during the backup")
	}
	t.Logf("hot backup of %d bytes in %v while 8 phones pushed: %d pushes, p50 %v, p99 %v, max %v",
		n, took.Round(time.Millisecond), len(lat), lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
	drain(t, s.base, phones)
	s.proc.cmd.Process.Signal(syscall.SIGTERM)
	s.proc.cmd.Wait()

	// Restore: the copy checks clean and a server serves it.
	if out, _, code := runCLI(t, "check", "--store", "bolt:"+backup); code != 0 {
		t.Fatalf("check of the backup: %s", out)
	}
	restored := t.TempDir()
	if err := os.Rename(backup, filepath.Join(restored, "choso.db")); err != nil {
		t.Fatal(err)
	}
	r := startServer(t, restored)
	var total int64
	for _, p := range phones {
		var tot struct {
			Days []struct {
				ByMethod map[string]struct{ Count int64 } `json:"by_method"`
			}
		}
		if code := r.call("GET", "/v1/sync/totals?days=2", p.token, nil, &tot); code != 200 {
			t.Fatalf("totals on the restored store: %d", code)
		}
		for _, d := range tot.Days {
			for _, m := range d.ByMethod {
				total += m.Count
			}
		}
	}
	if total < before {
		t.Errorf("the restored store has %d sales, fewer than the %d acknowledged before the backup", total, before)
	}
	r.proc.cmd.Process.Signal(syscall.SIGTERM)
	r.proc.cmd.Wait()
}
