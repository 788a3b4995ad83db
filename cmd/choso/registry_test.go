package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/partnerclient"
)

func login(t *testing.T, base, username, password string) string {
	t.Helper()
	body := `{"username":"` + username + `","password":"` + password + `"}`
	res, err := http.Post(base+"/v1/auth/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode != http.StatusOK || out.Token == "" {
		t.Fatalf("login %s: %d", username, res.StatusCode)
	}
	return out.Token
}

func getJSON(t *testing.T, url, token string, v any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	json.NewDecoder(res.Body).Decode(v)
	return res.StatusCode
}

func TestChoso_FirstAdminDemoAndLogins(t *testing.T) {
	data := t.TempDir()
	p := start(t, "--data", data, "--addr", "127.0.0.1:0", "--demo")
	admin := p.waitLog(t, "admin created")
	base := "http://" + p.waitLog(t, "listening")["addr"].(string)
	if admin["username"] != "admin" || len(admin["password"].(string)) < 12 {
		t.Fatalf("admin created line = %v", admin)
	}
	regions := p.waitLog(t, "regions loaded")
	if regions["count"] != float64(3355) {
		t.Fatalf("regions loaded = %v, want 3355 (34 provinces, 3,321 communes)", regions["count"])
	}
	var demo []map[string]any
	p.mu.Lock()
	for _, l := range p.lines {
		if l["msg"] == "demo user" {
			demo = append(demo, l)
		}
	}
	p.mu.Unlock()
	if len(demo) != 2 {
		t.Fatalf("demo user lines = %d, want a volunteer and an official", len(demo))
	}

	// Real argon2id logins for all three.
	adminTok := login(t, base, "admin", admin["password"].(string))
	var markets struct {
		Data []struct {
			ID, Name, CommuneCode string `json:"-"`
		} `json:"data"`
	}
	var raw struct {
		Data []map[string]any `json:"data"`
	}
	if code := getJSON(t, base+"/v1/markets", adminTok, &raw); code != 200 || len(raw.Data) != 2 {
		t.Fatalf("admin lists %d markets (%d), want 2", len(raw.Data), code)
	}
	_ = markets
	total := 0
	for _, m := range raw.Data {
		var stalls struct {
			Data []map[string]any `json:"data"`
		}
		getJSON(t, base+"/v1/markets/"+m["id"].(string)+"/stalls?limit=200", adminTok, &stalls)
		total += len(stalls.Data)
		banks := map[string]bool{}
		for _, s := range stalls.Data {
			banks[s["payout"].(map[string]any)["bin"].(string)] = true
		}
		if len(banks) < 5 {
			t.Errorf("market %s uses %d banks, want several", m["name"], len(banks))
		}
	}
	if total != 40 {
		t.Fatalf("demo stalls = %d, want 40", total)
	}
	var officialTok string
	for _, d := range demo {
		tok := login(t, base, d["username"].(string), d["password"].(string))
		var mine struct {
			Data []map[string]any `json:"data"`
		}
		if code := getJSON(t, base+"/v1/markets", tok, &mine); code != 200 || len(mine.Data) != 2 {
			t.Errorf("%s sees %d markets, want the 2 of their scope", d["username"], len(mine.Data))
		}
		if d["role"] == "official" {
			officialTok = tok
		}
	}

	// A week of the phones' sales and the demo bank's credits, for the
	// official's dashboard: every method sold, most QR and transfer sales
	// confirmed, every stall's phone recently synced.
	seeded := p.waitLog(t, "demo sales seeded")
	if seeded["events"].(float64) < 1000 || seeded["credits"].(float64) < 500 {
		t.Fatalf("demo sales seeded: %v", seeded)
	}
	loc, err := time.LoadLocation(choso.DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(loc)
	var rep choso.Report
	url := base + "/v1/reports/markets?from=" + today.AddDate(0, 0, -6).Format(time.DateOnly) + "&to=" + today.Format(time.DateOnly)
	if code := getJSON(t, url, officialTok, &rep); code != 200 {
		t.Fatalf("official's report: %d", code)
	}
	tot := rep.Total
	if tot.StallsActive != 40 || tot.StallsSelling != 40 {
		t.Errorf("report: %d stalls active and %d selling, want all 40", tot.StallsActive, tot.StallsSelling)
	}
	for _, m := range choso.Methods {
		if tot.ByMethod[m].Count == 0 {
			t.Errorf("report: no %s sales", m)
		}
	}
	paid := tot.ByMethod[choso.MethodQR].Count + tot.ByMethod[choso.MethodTransfer].Count
	if c := tot.ConfirmedQR.Count; c < paid/2 || c > paid {
		t.Errorf("report: %d sales confirmed by the bank of %d QR and transfer sales, want most", c, paid)
	}
	// The stalls joined over the month: its first week had some of them.
	url = base + "/v1/reports/markets?from=" + today.AddDate(0, 0, -29).Format(time.DateOnly) + "&to=" + today.AddDate(0, 0, -23).Format(time.DateOnly)
	if code := getJSON(t, url, officialTok, &rep); code != 200 || rep.Total.StallsRegistered == 0 || rep.Total.StallsRegistered >= 40 {
		t.Errorf("the month's first week: %d stalls registered (%d), want some of the 40", rep.Total.StallsRegistered, code)
	}
	// The logged partner key signs for the partner API.
	bank := p.waitLog(t, "demo partner")
	pc, err := partnerclient.New(base, bank["key_id"].(string), []byte(bank["secret"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	page, err := pc.Changes(t.Context(), "", 10)
	if err != nil || len(page.Data) != 10 {
		t.Fatalf("the demo bank's feed: %v, %+v", err, page)
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	// The demo's events agree with their entities, indexes and day totals.
	if out, _, code := runCLI(t, "check", "--events", "--data", data); code != 0 {
		t.Fatalf("check --events on the demo store: %d\n%s", code, out)
	}

	// A second start neither recreates the admin nor reseeds the demo.
	p = start(t, "--data", data, "--addr", "127.0.0.1:0", "--demo")
	p.waitLog(t, "listening")
	skipped := p.waitLog(t, "demo data skipped: the store already has markets")
	if skipped["markets"] != float64(2) {
		t.Fatalf("second start: %v", skipped)
	}
	if strings.Contains(p.output(), `"admin created"`) {
		t.Fatal("second start created another admin")
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
}

func TestChoso_UserAndRegionCommands(t *testing.T) {
	data := t.TempDir()
	stdout, stderr, code := runCLI(t, "user", "add", "--data", data, "--username", "lan", "--role", "volunteer", "--commune", "07210")
	if code != 0 || !strings.Contains(stdout, "user lan (volunteer) created") || !strings.Contains(stdout, "password: ") {
		t.Fatalf("user add: %d\n%s%s", code, stdout, stderr)
	}
	cmd := exec.Command(chosoBinary(t), "user", "add", "--data", data, "--username", "canbo", "--role", "official", "--province", "24", "--password-stdin")
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader("mật khẩu đủ dài\n")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "password:") {
		t.Fatalf("user add --password-stdin: %v\n%s", err, out)
	}
	if _, stderr, code := runCLI(t, "user", "add", "--data", data, "--username", "lan", "--role", "volunteer", "--commune", "07210"); code != exitError || !strings.Contains(stderr, "taken") && !strings.Contains(stderr, "exists") {
		t.Fatalf("duplicate user add: %d %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "user", "add", "--data", data, "--username", "x1y", "--role", "volunteer", "--commune", "99999"); code != exitError || !strings.Contains(stderr, "99999") {
		t.Fatalf("user add with an unknown commune: %d %s", code, stderr)
	}
	stdout, _, _ = runCLI(t, "user", "list", "--data", data)
	if !strings.Contains(stdout, "lan") || !strings.Contains(stdout, "canbo") || !strings.Contains(stdout, "07210") {
		t.Fatalf("user list:\n%s", stdout)
	}
	stdout, stderr, code = runCLI(t, "user", "passwd", "--data", data, "--username", "lan")
	if code != 0 || !strings.Contains(stdout, "password: ") {
		t.Fatalf("user passwd: %d %s%s", code, stdout, stderr)
	}

	csv := filepath.Join(t.TempDir(), "regions.csv")
	os.WriteFile(csv, []byte("code,name,parent_code\n24,Tỉnh Bắc Ninh,\n07210,Phường Bắc Giang (đổi tên),24\n"), 0o600)
	stdout, stderr, code = runCLI(t, "region", "import", "--data", data, csv)
	if code != 0 || !strings.Contains(stdout, "2 regions read: 0 created, 1 changed") {
		t.Fatalf("region import: %d %s%s", code, stdout, stderr)
	}
	os.WriteFile(csv, []byte("code,name,parent_code\n07210,,24\n"), 0o600)
	if _, stderr, code := runCLI(t, "region", "import", "--data", data, csv); code != exitError || !strings.Contains(stderr, "line 2") {
		t.Fatalf("bad region file: %d %s", code, stderr)
	}
}
