package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/partnerauth"
	"github.com/choso/choso/internal/secret"
	"github.com/choso/choso/internal/store/bolt"
	"github.com/choso/choso/partnerclient"
)

// TestPartnerBench measures the bank partner's two benchmarks of issue 6 on
// the built binary over loopback HTTP, signed with partnerclient:
//
//   - feed page latency: GET /partner/v1/changes?limit=500 at cursors drawn
//     at random over the whole feed and at its tail, on a store of
//     stalls × dates × revisions changes (default 50,000 × 20 × 10 = 10
//     million), p50 and p99;
//   - export: GET /partner/v1/exports/summaries.ndjson over every date (one
//     row per stall-day: 1 million by default), MB/s of uncompressed NDJSON,
//     the server's peak RssAnon sampled every 50 ms from /proc/PID/status,
//     the server's and this process's CPU time, and the store file's size
//     before and after; once quiet, once while a second key posts credits
//     (a writer) the whole time; then the CSV export of the same rows.
//
// It is a measurement, not an assertion: it runs only with
// CHOSO_BENCH_PARTNER=1 and logs the figures (BENCHMARKS.md, issue 6).
//
//	CHOSO_BENCH_PARTNER=1 go test -run TestPartnerBench -v -timeout 2h ./cmd/choso
//
// Optional: CHOSO_BENCH_PARTNER_STALLS, _DATES, _REVS (the store's shape),
// _PAGES (random pages, default 300; tail pages are a third of that),
// _EXPORTS (quiet exports, default 3), _DIR (keep the store in this
// directory and reuse it on the next run instead of a temp dir), _PROFILE
// (a path: the server writes its CPU profile there at shutdown).
func TestPartnerBench(t *testing.T) {
	if os.Getenv("CHOSO_BENCH_PARTNER") != "1" {
		t.Skip("set CHOSO_BENCH_PARTNER=1 to measure the partner feed and export")
	}
	shape := benchShape{
		stalls: envInt("CHOSO_BENCH_PARTNER_STALLS", 50_000),
		dates:  envInt("CHOSO_BENCH_PARTNER_DATES", 20),
		revs:   envInt("CHOSO_BENCH_PARTNER_REVS", 10),
	}
	pages := envInt("CHOSO_BENCH_PARTNER_PAGES", 300)
	exports := envInt("CHOSO_BENCH_PARTNER_EXPORTS", 3)
	bin := chosoBinary(t)

	dir := os.Getenv("CHOSO_BENCH_PARTNER_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	storePath := filepath.Join(dir, "choso.db")
	if _, err := os.Stat(storePath); err != nil {
		began := time.Now()
		generatePartnerStore(t, storePath, shape)
		t.Logf("generated %s in %v", shape, time.Since(began).Round(time.Second))
	} else {
		t.Logf("reusing the store in %s", dir)
	}
	var meta benchMeta
	readJSONFile(t, filepath.Join(dir, "bench.json"), &meta)
	fi, err := os.Stat(storePath)
	if err != nil {
		t.Fatal(err)
	}
	total := uint64(meta.Changes)
	t.Logf("store: %d changes, %d stall-days, %d stalls; file %d MiB, %.0f bytes per revision",
		meta.Changes, meta.StallDays, meta.Stalls, fi.Size()>>20, float64(fi.Size())/float64(meta.Changes))

	// Partner keys are made with the CLI on the stopped store, as an
	// operator would: one to read, one to post credits during an export.
	if meta.KeyID == "" {
		var add, key map[string]string
		out, stderr, code := runCLI(t, "partner", "add", "Ngân hàng bench", "--province", benchProvince, "--data", dir)
		if code != 0 || json.Unmarshal([]byte(out), &add) != nil {
			t.Fatalf("partner add: exit %d: %s%s", code, out, stderr)
		}
		out, stderr, code = runCLI(t, "partner", "key", add["partner_id"], "--data", dir)
		if code != 0 || json.Unmarshal([]byte(out), &key) != nil {
			t.Fatalf("partner key: exit %d: %s%s", code, out, stderr)
		}
		meta.PartnerID, meta.KeyID, meta.Secret = add["partner_id"], add["key_id"], add["secret"]
		meta.WriterKeyID, meta.WriterSecret = key["key_id"], key["secret"]
		writeJSONFile(t, filepath.Join(dir, "bench.json"), meta)
	}
	master, err := secret.MasterKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	cursorKey := derive(master, "partner feed cursors")

	srv := startBenchServer(t, bin, dir)
	defer srv.stop(t)
	base := "http://" + srv.addr
	waitReady(t, base)
	time.Sleep(2 * time.Second) // let startup's finalizer pass settle

	timer := &timedTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	client, err := partnerclient.New(base, meta.KeyID, []byte(meta.Secret),
		partnerclient.WithHTTPClient(&http.Client{Transport: timer}), partnerclient.WithRetries(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// The test's cursors must be the server's: check one against a page.
	first, err := client.Changes(ctx, "", 500)
	if err != nil {
		t.Fatal(err)
	}
	if want := benchCursor(cursorKey, meta.PartnerID, 500); first.NextCursor != want || len(first.Data) != 500 {
		t.Fatalf("first page: %d rows, cursor %s; want 500 rows and the test's cursor %s", len(first.Data), first.NextCursor, want)
	}

	// Feed pages, paced under the key's rate limit (20 a second).
	rng := mrand.New(mrand.NewPCG(7, 11))
	type pageRun struct {
		after uint64
		kind  string
	}
	var runs []pageRun
	for range pages {
		runs = append(runs, pageRun{after: rng.Uint64N(total - 500), kind: "random"})
	}
	for range max(pages/3, 1) {
		runs = append(runs, pageRun{after: total - 500 - rng.Uint64N(5000), kind: "tail"})
	}
	rng.Shuffle(len(runs), func(i, j int) { runs[i], runs[j] = runs[j], runs[i] })
	logFrom := srv.logSize(t)
	lat := map[string][]time.Duration{}
	for _, r := range runs {
		began := time.Now()
		page, err := client.Changes(ctx, benchCursor(cursorKey, meta.PartnerID, r.after), 500)
		call := time.Since(began)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 500 || page.Data[0].ChangeSeq != r.after+1 {
			t.Fatalf("page after %d: %d rows from seq %d, want 500 from %d", r.after, len(page.Data), page.Data[0].ChangeSeq, r.after+1)
		}
		lat[r.kind+" http"] = append(lat[r.kind+" http"], timer.last)
		lat[r.kind+" client call"] = append(lat[r.kind+" client call"], call)
		lat["all http"] = append(lat["all http"], timer.last)
		time.Sleep(max(0, 60*time.Millisecond-time.Since(began)))
	}
	serverMs := srv.requestDurations(t, logFrom, "/partner/v1/changes")
	t.Logf("feed page body: %d bytes (last page)", timer.lastBytes)
	for _, k := range []string{"random http", "tail http", "all http", "random client call", "tail client call"} {
		t.Logf("feed limit=500 %-18s n=%d %s", k, len(lat[k]), quantiles(lat[k]))
	}
	t.Logf("feed limit=500 %-18s n=%d %s", "server handler", len(serverMs), quantiles(serverMs))

	// Exports of every date.
	from, to := meta.Dates[0], meta.Dates[len(meta.Dates)-1]
	for i := range exports + 1 {
		writer := i == exports // the last one runs with a writer
		var stopWriter func() int
		if writer {
			stopWriter = startCreditWriter(t, base, meta, to)
		}
		idle := rssAnon(t, srv.cmd.Process.Pid)
		before := fileSize(t, storePath)
		sampler := sampleRSS(t, srv.cmd.Process.Pid)
		cw := &countingWriter{}
		timer.bodyBytes.Store(0)
		serverCPU, clientCPU := procCPU(t, srv.cmd.Process.Pid), selfCPU()
		began := time.Now()
		tr, err := client.ExportNDJSON(ctx, from, to, cw)
		elapsed := time.Since(began)
		serverCPU, clientCPU = procCPU(t, srv.cmd.Process.Pid)-serverCPU, selfCPU()-clientCPU
		peak, samples := sampler()
		after := fileSize(t, storePath)
		posts := 0
		if stopWriter != nil {
			posts = stopWriter()
		}
		if err != nil {
			t.Fatal(err)
		}
		if tr.Rows != int64(meta.StallDays) {
			t.Errorf("export: %d rows, want %d", tr.Rows, meta.StallDays)
		}
		t.Logf("export %s..%s writer=%v: %d rows, %d bytes NDJSON (%d gzip on the wire) in %v: %.1f MB/s; CPU server %.2f s, client %.2f s; load %s; RssAnon idle %.1f MiB, peak %.1f MiB (%d samples); file %d → %d bytes (%+d); %d credit posts during it",
			from, to, writer, tr.Rows, cw.n, timer.bodyBytes.Load(), elapsed.Round(time.Millisecond), float64(cw.n)/elapsed.Seconds()/1e6,
			serverCPU.Seconds(), clientCPU.Seconds(), loadAverage(), float64(idle)/1024, float64(peak)/1024, samples, before, after, after-before, posts)
	}

	// The CSV export of the same rows (no gzip, no trailer), read with
	// net/http and a signature made here: partnerclient reads NDJSON only.
	for range exports {
		cw := &countingWriter{}
		idle := rssAnon(t, srv.cmd.Process.Pid)
		sampler := sampleRSS(t, srv.cmd.Process.Pid)
		serverCPU, clientCPU := procCPU(t, srv.cmd.Process.Pid), selfCPU()
		began := time.Now()
		status := signedGet(t, base, meta.KeyID, meta.Secret, "/partner/v1/exports/summaries.csv", url.Values{"from": {from}, "to": {to}}, cw)
		elapsed := time.Since(began)
		serverCPU, clientCPU = procCPU(t, srv.cmd.Process.Pid)-serverCPU, selfCPU()-clientCPU
		peak, samples := sampler()
		if status != http.StatusOK {
			t.Fatalf("csv export: HTTP %d", status)
		}
		t.Logf("csv export %s..%s: %d bytes in %v: %.1f MB/s; CPU server %.2f s, client %.2f s; load %s; RssAnon idle %.1f MiB, peak %.1f MiB (%d samples)",
			from, to, cw.n, elapsed.Round(time.Millisecond), float64(cw.n)/elapsed.Seconds()/1e6, serverCPU.Seconds(), clientCPU.Seconds(), loadAverage(),
			float64(idle)/1024, float64(peak)/1024, samples)
	}
}

// signedGet sends a GET signed as DESIGN.md §6 says and copies the body
// to w; it returns the status.
func signedGet(t *testing.T, base, keyID, secret, path string, q url.Values, w io.Writer) int {
	t.Helper()
	raw := q.Encode()
	ts := time.Now().Unix()
	nonce := fmt.Sprintf("bench%016x", mrand.Uint64())
	req, err := http.NewRequest("GET", base+path+"?"+raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(partnerauth.HeaderKey, keyID)
	req.Header.Set(partnerauth.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(partnerauth.HeaderNonce, nonce)
	req.Header.Set(partnerauth.HeaderSignature, partnerauth.Sign([]byte(secret), "GET", path, raw, ts, nonce, nil))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if _, err := io.Copy(w, res.Body); err != nil {
		t.Fatal(err)
	}
	return res.StatusCode
}

// benchProvince and benchBIN: Hà Nội, and a real bank's BIN (Vietcombank).
const (
	benchProvince = "01"
	benchBIN      = "970436"
)

type benchShape struct{ stalls, dates, revs int }

func (s benchShape) String() string {
	return fmt.Sprintf("%d stalls × %d dates × %d revisions = %d changes", s.stalls, s.dates, s.revs, s.stalls*s.dates*s.revs)
}

// benchMeta is what the generator and the CLI made, kept beside the store
// so a kept store can be reused.
type benchMeta struct {
	Changes, StallDays, Stalls int
	Dates                      []string
	Accounts                   []string // a few stalls' payout accounts, for the credit writer
	PartnerID, KeyID, Secret   string
	WriterKeyID, WriterSecret  string
}

// generatePartnerStore writes a store of shape.stalls stalls in 100
// markets of one province, each with a day on each of shape.dates business
// dates (ending 11 days ago, so all are final), each day revised
// shape.revs times. Revisions are committed round by round, each round
// visiting the stalls in a new random order, as pushes arrive through a
// day: consecutive changes belong to different stalls. One transaction per
// date; the day's last revision is its final one, as the finalizer writes.
func generatePartnerStore(t *testing.T, path string, shape benchShape) {
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	regions, err := choso.ParseRegionCSV(strings.NewReader(regionsCSV))
	if err != nil {
		t.Fatal(err)
	}
	var communes []string
	for _, r := range regions {
		if r.ParentCode == benchProvince && choso.LevelOf(r.Code) == choso.LevelCommune {
			communes = append(communes, r.Code)
		}
	}
	if len(communes) == 0 {
		t.Fatalf("no communes of province %s in the embedded list", benchProvince)
	}
	now := time.Now().UTC()
	const markets = 100
	stalls := make([]*choso.Stall, shape.stalls)
	err = db.Update(ctx, func(tx choso.Tx) error {
		var ms []*choso.Market
		for i := range markets {
			m := &choso.Market{ID: choso.NewID(choso.PrefixMarket), Name: fmt.Sprintf("Chợ bench %03d", i), CommuneCode: communes[i%len(communes)],
				ProvinceCode: benchProvince, Address: "Hà Nội", TimeZone: choso.DefaultTimeZone, CreatedAt: now, UpdatedAt: now, CreatedBy: "usr_bench"}
			if err := tx.CreateMarket(m); err != nil {
				return err
			}
			ms = append(ms, m)
		}
		for i := range stalls {
			m := ms[i%markets]
			s := &choso.Stall{ID: choso.NewID(choso.PrefixStall), MarketID: m.ID, CommuneCode: m.CommuneCode, ProvinceCode: m.ProvinceCode,
				Code: fmt.Sprintf("A-%d", i/markets+1), Name: fmt.Sprintf("Sạp rau cô Lan %d", i), Category: "Rau củ",
				Vendor: choso.Vendor{Name: "Nguyễn Thị Lan", Phone: fmt.Sprintf("+8491%07d", i)},
				Payout: choso.PayoutAccount{BIN: benchBIN, Account: fmt.Sprintf("1%09d", i), Service: choso.ServiceAccount, Holder: "NGUYEN THI LAN"},
				Status: choso.StallActive, QRVersion: 1, ConfigVersion: 1,
				Consent:   choso.Consent{RecordedBy: "usr_bench", RecordedAt: now, NoticeVersion: choso.CurrentNoticeVersion},
				CreatedAt: now, UpdatedAt: now, CreatedBy: "usr_bench"}
			if err := tx.CreateStall(s); err != nil {
				return err
			}
			stalls[i] = s
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(stalls, func(a, b *choso.Stall) int { return strings.Compare(a.ID, b.ID) })

	loc, _ := time.LoadLocation(choso.DefaultTimeZone)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	var dates []string
	for i := shape.dates - 1; i >= 0; i-- {
		dates = append(dates, today.AddDate(0, 0, -11-i).Format(time.DateOnly))
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	changes := 0
	for di, date := range dates {
		began := time.Now()
		day, _ := time.ParseInLocation(time.DateOnly, date, loc)
		days := make([]choso.StallDay, len(stalls))
		for i, s := range stalls {
			days[i] = choso.StallDay{StallID: s.ID, MarketID: s.MarketID, CommuneCode: s.CommuneCode, ProvinceCode: s.ProvinceCode, Date: date,
				StallCode: s.Code, BIN: s.Payout.BIN, Account: s.Payout.Account} // as the sync rules write them
		}
		order := make([]int, len(stalls))
		for i := range order {
			order[i] = i
		}
		// bbolt splits nodes only at commit: the first date's rounds go in
		// a transaction each, or its change index (empty until then) would
		// take every insert into one node, at a cost quadratic in its size.
		// Later dates spread over the index's pages: one transaction each.
		group := shape.revs
		if di == 0 {
			group = 1
		}
		for r0 := 0; r0 < shape.revs; r0 += group {
			err := db.Update(ctx, func(tx choso.Tx) error {
				for r := r0; r < min(r0+group, shape.revs); r++ {
					if err := appendRound(tx, rng, days, order, day, r, r == shape.revs-1); err != nil {
						return err
					}
				}
				if r0+group < shape.revs {
					return nil
				}
				for i := range days {
					if err := tx.PutStallDay(&days[i]); err != nil {
						return err
					}
				}
				// The finalizer has passed these dates (it would otherwise
				// revise every day again at startup).
				return tx.SetMeta(choso.MetaFinalizedThrough, []byte(date))
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		changes += len(stalls) * shape.revs
		fi, _ := os.Stat(path)
		t.Logf("date %s: %d changes in %v, file %d MiB", date, len(stalls)*shape.revs, time.Since(began).Round(time.Millisecond), fi.Size()>>20)
	}
	meta := benchMeta{Changes: changes, StallDays: len(stalls) * len(dates), Stalls: len(stalls), Dates: dates}
	for _, s := range stalls[:100] {
		meta.Accounts = append(meta.Accounts, s.Payout.Account)
	}
	writeJSONFile(t, filepath.Join(filepath.Dir(path), "bench.json"), meta)
}

// appendRound appends one revision of every day, the stalls in a new
// random order; the last round makes each day final, as the finalizer does.
func appendRound(tx choso.Tx, rng *mrand.Rand, days []choso.StallDay, order []int, day time.Time, r int, final bool) error {
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for n, i := range order {
		d := &days[i]
		at := day.Add(6*time.Hour + time.Duration(r)*time.Hour + time.Duration(n)*time.Hour/time.Duration(len(order)))
		if final {
			d.Status = choso.DayFinal
			at = day.Add(50 * time.Hour) // the finalizer's pass
		} else {
			d.Status = choso.DayProvisional
			// A push's worth of sales: new totals in a new map (the
			// change keeps its own).
			bm := map[string]choso.MethodTotals{}
			for _, m := range []string{choso.MethodCash, choso.MethodQR, choso.MethodTransfer} {
				t := d.ByMethod[m]
				k := int64(rng.IntN(4))
				t.Count += k
				t.Amount += k * int64(5+rng.IntN(200)) * 1000
				bm[m] = t
			}
			d.ByMethod = bm
			d.LastServerSeq += uint64(1 + rng.IntN(8))
			if rng.IntN(10) == 0 {
				d.Voids.Count++
				d.Voids.Amount += 20000
			}
			d.ConfirmedQR = choso.MethodTotals{Count: d.ByMethod[choso.MethodQR].Count * 9 / 10, Amount: d.ByMethod[choso.MethodQR].Amount * 9 / 10}
		}
		d.UpdatedAt = at.UTC()
		seq, err := tx.AppendChange(&choso.Change{Day: *d, At: at.UTC()})
		if err != nil {
			return err
		}
		d.Revision = seq
	}
	return nil
}

// benchCursor is the server's feed cursor for change seq seq
// (server/partner.go encodeCursor), so pages can start anywhere in a
// feed of millions without walking to it.
func benchCursor(key []byte, partnerID string, seq uint64) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(partnerID))
	binary.Write(m, binary.BigEndian, seq)
	b := binary.BigEndian.AppendUint64([]byte{1}, seq)
	return base64.RawURLEncoding.EncodeToString(append(b, m.Sum(nil)[:12]...))
}

// benchServer is the built binary serving a bench store, its log in a file.
type benchServer struct {
	cmd     *exec.Cmd
	addr    string
	logPath string
}

func startBenchServer(t *testing.T, bin, dir string) *benchServer {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--data", dir, "--addr", "127.0.0.1:0")
	cmd.Env = cleanEnv()
	if p := os.Getenv("CHOSO_BENCH_PARTNER_PROFILE"); p != "" {
		cmd.Env = append(cmd.Env, "CHOSO_CPU_PROFILE="+p)
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logFile.Close()
	s := &benchServer{cmd: cmd, logPath: logPath}
	deadline := time.Now().Add(60 * time.Second)
	for s.addr == "" && time.Now().Before(deadline) {
		s.eachLog(t, 0, func(l map[string]any) {
			if l["msg"] == "listening" {
				s.addr, _ = l["addr"].(string)
			}
		})
		time.Sleep(20 * time.Millisecond)
	}
	if s.addr == "" {
		cmd.Process.Kill()
		cmd.Wait()
		data, _ := os.ReadFile(logPath)
		t.Fatalf("server did not log listening within 60 s:\n%s", data)
	}
	return s
}

func (s *benchServer) stop(t *testing.T) {
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("server exit: %v", err)
	}
}

func (s *benchServer) logSize(t *testing.T) int64 {
	fi, err := os.Stat(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func (s *benchServer) eachLog(t *testing.T, from int64, fn func(map[string]any)) {
	f, err := os.Open(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Seek(from, io.SeekStart)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			fn(l)
		}
	}
}

// requestDurations returns the duration_ms the server logged for each 200
// on path since log offset from.
func (s *benchServer) requestDurations(t *testing.T, from int64, path string) []time.Duration {
	var out []time.Duration
	s.eachLog(t, from, func(l map[string]any) {
		if l["msg"] == "request" && l["path"] == path && l["status"] == float64(200) {
			ms, _ := l["duration_ms"].(float64)
			out = append(out, time.Duration(ms*float64(time.Millisecond)))
		}
	})
	return out
}

// startCreditWriter posts batches of 20 credits to known stalls' accounts
// with the second key, ten posts a second, until the returned func is
// called; that returns how many posts succeeded.
func startCreditWriter(t *testing.T, base string, meta benchMeta, date string) func() int {
	client, err := partnerclient.New(base, meta.WriterKeyID, []byte(meta.WriterSecret))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var posts atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		credited, _ := time.Parse(time.DateOnly, date)
		credited = credited.Add(3 * time.Hour)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var batch []partnerclient.Credit
			for i := range 20 {
				batch = append(batch, partnerclient.Credit{BankTxnID: fmt.Sprintf("bench-%d-%d-%d", time.Now().UnixNano(), n, i), BIN: benchBIN,
					Account: meta.Accounts[(n*20+i)%len(meta.Accounts)], Amount: 50000, CreditedAt: credited, Content: "CK tien rau"})
			}
			if _, err := client.PostCredits(ctx, batch); err == nil {
				posts.Add(1)
			} else if ctx.Err() == nil {
				t.Errorf("credit post: %v", err)
			}
		}
	}()
	return func() int {
		cancel()
		wg.Wait()
		return int(posts.Load())
	}
}

// timedTransport records, for the last request, the time from sending it
// to reading its body's end, and counts body bytes (as sent, compressed).
type timedTransport struct {
	base      http.RoundTripper
	last      time.Duration
	lastBytes int64
	bodyBytes atomic.Int64
}

func (tt *timedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	began := time.Now()
	res, err := tt.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	res.Body = &timedBody{ReadCloser: res.Body, tt: tt, began: began}
	return res, nil
}

type timedBody struct {
	io.ReadCloser
	tt    *timedTransport
	began time.Time
	n     int64
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	b.tt.bodyBytes.Add(int64(n))
	if err == io.EOF {
		b.tt.last, b.tt.lastBytes = time.Since(b.began), b.n
	}
	return n, err
}

// sampleRSS samples the process's RssAnon every 50 ms until the returned
// func is called, which returns the peak in KiB and the sample count.
func sampleRSS(t *testing.T, pid int) func() (peakKiB int64, samples int) {
	done := make(chan struct{})
	var peak int64
	var n int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			peak, n = max(peak, rssAnon(t, pid)), n+1
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() (int64, int) {
		close(done)
		wg.Wait()
		return max(peak, rssAnon(t, pid)), n + 1
	}
}

// rssAnon returns RssAnon of /proc/PID/status in KiB.
func rssAnon(t *testing.T, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Error(err)
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kib
		}
	}
	t.Error("no RssAnon in /proc status")
	return 0
}

// procCPU returns the user and system CPU time a process has used, from
// /proc/PID/stat (in clock ticks of 10 ms).
func procCPU(t *testing.T, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Error(err)
		return 0
	}
	// Fields after the command name, which is in parentheses: utime is
	// the 12th, stime the 13th.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// selfCPU returns the CPU time this test process (the client) has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage is the 1-minute load average: the machine is shared.
func loadAverage() string {
	data, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

func quantiles(d []time.Duration) string {
	if len(d) == 0 {
		return "no samples"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	q := func(p float64) time.Duration {
		return s[min(len(s)-1, int(p*float64(len(s))))].Round(10 * time.Microsecond)
	}
	return fmt.Sprintf("p50 %v p90 %v p99 %v max %v (min %v)", q(0.50), q(0.90), q(0.99), s[len(s)-1].Round(10*time.Microsecond), s[0].Round(10*time.Microsecond))
}

func fileSize(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func readJSONFile(t *testing.T, path string, v any) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

func writeJSONFile(t *testing.T, path string, v any) {
	data, _ := json.MarshalIndent(v, "", "  ")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
