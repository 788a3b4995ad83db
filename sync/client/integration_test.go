package client

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/choso/choso/qr"
)

// realServer builds cmd/choso, starts it on a temp data directory and port
// 0, and returns its base URL and an admin token. It skips when the server
// does not build (it is written alongside this package).
func realServer(t *testing.T) (base, adminToken string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the real server")
	}
	bin := filepath.Join(t.TempDir(), "choso")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/choso").CombinedOutput(); err != nil {
		t.Skipf("the server does not build yet: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--data", t.TempDir(), "--addr", "127.0.0.1:0")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var password string
	sc := bufio.NewScanner(stderr)
	deadline := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	for (base == "" || password == "") && sc.Scan() {
		var line map[string]any
		json.Unmarshal(sc.Bytes(), &line)
		switch line["msg"] {
		case "admin created":
			password, _ = line["password"].(string)
		case "listening":
			base = "http://" + line["addr"].(string)
		}
	}
	deadline.Stop()
	go func() {
		for sc.Scan() {
		}
	}()
	if base == "" || password == "" {
		t.Fatal("no listening and admin created lines")
	}
	var login struct{ Token string }
	userCall(t, base, "", "POST", "/v1/auth/login", map[string]string{"username": "admin", "password": password}, &login)
	return base, login.Token
}

func userCall(t *testing.T, base, token, method, path string, in, out any) int {
	t.Helper()
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b.String())
	}
	if out != nil {
		json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

// TestIntegration_RealServer_EnrollPushConfigTotalsRevoke runs the client
// against the real server: enroll by a volunteer's code, sales, a void and
// a day.close pushed in one gzip batch, the totals read back, the config
// pulled and then 304, a resend after a lost answer, and a revocation.
func TestIntegration_RealServer_EnrollPushConfigTotalsRevoke(t *testing.T) {
	base, tok := realServer(t)
	var market, stall struct{ ID string }
	userCall(t, base, tok, "POST", "/v1/markets", map[string]string{"name": "Chợ Bến Thành thử", "commune_code": "07210"}, &market)
	userCall(t, base, tok, "POST", "/v1/markets/"+market.ID+"/stalls", map[string]any{
		"code": "A01", "name": "Sạp cá Út", "vendor_name": "Nguyễn Văn A", "vendor_phone": "0912345678", "consent_given": true,
		"payout": map[string]string{"bin": "970436", "account": "0011001234567", "holder_name": "NGUYEN VAN A"},
	}, &stall)
	var code struct{ Code string }
	userCall(t, base, tok, "POST", "/v1/stalls/"+stall.ID+"/enrollments", map[string]any{}, &code)

	c := mustOpen(t, filepath.Join(t.TempDir(), "outbox.db"), nil, sysClock{}, func(o *Options) { o.ServerURL = base })
	if err := c.Enroll(code.Code); err != nil {
		t.Fatal(err)
	}
	st := mustStatus(t, c)
	if st.StallID != stall.ID || !strings.HasPrefix(st.DeviceID, "dev_") || st.AnchoredMs == 0 {
		t.Fatalf("after enrollment: %+v", st)
	}
	sales := mustSell(t, c, 3, 45_000, "qr")
	mustSell(t, c, 2, 20_000, "cash")
	if _, err := c.VoidSale(sales[0].ID, "nhầm"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CloseDay(""); err != nil {
		t.Fatal(err)
	}
	pending, _ := c.PendingEvents(0)
	r := mustPush(t, c)
	if r.Outcome != OutcomeOK || r.Applied != 7 || r.Acked != 7 || r.Pending != 0 || r.AckSeq != 7 {
		t.Fatalf("push: %+v", r)
	}

	raw, err := c.Totals(7)
	if err != nil {
		t.Fatal(err)
	}
	var totals struct {
		Days []struct {
			ByMethod map[string]struct{ Count, Amount int64 } `json:"by_method"`
			Voids    struct{ Count, Amount int64 }
		}
	}
	json.Unmarshal(raw, &totals)
	if len(totals.Days) != 1 || totals.Days[0].ByMethod["qr"].Amount != 90_000 || totals.Days[0].ByMethod["cash"].Count != 2 || totals.Days[0].Voids.Count != 1 {
		t.Fatalf("server totals: %s", raw)
	}
	if tally := mustTally(t, c); tally.QRAmount != 90_000 || tally.CashAmount != 40_000 {
		t.Fatalf("phone tally: %+v", tally)
	}

	if changed, err := c.RefreshConfig(); err != nil || !changed {
		t.Fatalf("config pull: %v %v", changed, err)
	}
	if changed, err := c.RefreshConfig(); err != nil || changed {
		t.Fatalf("config pull again: changed %v, %v; want a 304", changed, err)
	}
	cfg, _ := c.ConfigJSON()
	if !bytes.Contains(cfg, []byte(`"config_version"`)) || !bytes.Contains(cfg, []byte(stall.ID)) {
		t.Fatalf("cached config: %s", cfg)
	}
	if qc, err := c.DynamicQR(45_000, "cá"); err != nil {
		t.Fatalf("dynamic QR from the real server's config: %v", err)
	} else if f := qr.Decode(qc.Payload).Fields; f.Account != "0011001234567" || f.Amount != 45_000 || !qr.ValidReference(qc.Ref) {
		t.Fatalf("dynamic QR %+v decodes as %+v", qc, f)
	}
	if raw, err := c.Credits(0); err != nil || !bytes.Contains(raw, []byte(`"last_seq"`)) {
		t.Fatalf("credits: %s %v", raw, err)
	}
	// The month's statement holds the day's sales, net of the void.
	month := time.Now().In(time.FixedZone("ICT", 7*3600)).Format("2006-01")
	rawSt, err := c.Statement(month)
	if err != nil {
		t.Fatalf("statement: %v", err)
	}
	var stmt struct {
		StallID string `json:"stall_id"`
		Period  string `json:"period"`
		Sales   struct{ Count, Amount int64 }
	}
	if json.Unmarshal(rawSt, &stmt); stmt.StallID != stall.ID || stmt.Period != month || stmt.Sales.Amount != 130_000 {
		t.Fatalf("statement of %s: %s", month, rawSt)
	}
	if _, err := c.Statement("2026-13"); HTTPErrorOf(err) == nil || HTTPErrorOf(err).Status != 400 {
		t.Errorf("a statement for month 13: %v, want the server's 400", err)
	}

	// A lost answer: the same events again are duplicates, nothing counted twice.
	restoreOutbox(t, c, pending)
	r = mustPush(t, c)
	if r.Outcome != OutcomeOK || r.Duplicates != 7 || r.Applied != 0 || r.Pending != 0 {
		t.Fatalf("resend: %+v", r)
	}
	raw2, _ := c.Totals(7)
	var again struct {
		Days []struct {
			ByMethod map[string]struct{ Count, Amount int64 } `json:"by_method"`
		}
	}
	json.Unmarshal(raw2, &again)
	if again.Days[0].ByMethod["qr"].Amount != 90_000 {
		t.Fatalf("totals after the resend: %s", raw2)
	}

	userCall(t, base, tok, "POST", "/v1/devices/"+st.DeviceID+"/revoke", map[string]any{}, nil)
	mustSell(t, c, 1, 1000, "cash")
	r = mustPush(t, c)
	if r.Outcome != OutcomeRevoked || r.HTTPStatus != 403 || r.Pending != 1 {
		t.Fatalf("after revocation: %+v", r)
	}
	if s := mustStatus(t, c); s.State != StateRevoked || s.Pending != 1 {
		t.Fatalf("status after revocation: %+v", s)
	}
	if _, err := c.Totals(7); ErrorKind(err) != OutcomeRevoked {
		t.Fatalf("a read after revocation: kind %q (%v)", ErrorKind(err), err)
	}
}

// restoreOutbox puts events back in the outbox, as if the answer that
// acked them had been lost.
func restoreOutbox(t *testing.T, c *Client, pending []byte) {
	t.Helper()
	var evs []json.RawMessage
	if err := json.Unmarshal(pending, &evs); err != nil {
		t.Fatal(err)
	}
	err := c.db.Update(func(tx *bolt.Tx) error {
		for _, raw := range evs {
			var ev struct{ Seq uint64 }
			json.Unmarshal(raw, &ev)
			if err := tx.Bucket(bucketOutbox).Put(seqKey(ev.Seq), raw); err != nil {
				return err
			}
		}
		m := tx.Bucket(bucketMeta)
		return putUint(m, keyPending, getUint(m, keyPending)+uint64(len(evs)))
	})
	if err != nil {
		t.Fatal(err)
	}
}
