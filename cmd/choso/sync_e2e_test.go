package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	chosync "github.com/choso/choso/sync"
)

// e2ePhone is a minimal phone for end-to-end tests: an in-memory outbox of
// numbered sales, pushed until acknowledged. It keeps what it recorded and
// what the server acknowledged, so the test can check both.
type e2ePhone struct {
	token   string
	stallID string
	account string // the stall's payout account
	mu      sync.Mutex
	events  []chosync.Event // every event ever recorded, by seq-1
	amounts []int64
	acked   uint64
}

func ulid() string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var b [26]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[b[i]%32]
	}
	b[0] = '0'
	return string(b[:])
}

func (p *e2ePhone) record(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now().UnixMilli()
	for range n {
		amount := int64(1000 * (1 + mrand.IntN(200)))
		method := []string{"cash", "qr", "transfer"}[mrand.IntN(3)]
		ref := "" // half the QR sales carry a dynamic code's payment reference
		if method == "qr" && mrand.IntN(2) == 0 {
			ref = fmt.Sprintf("DRILL%08X", mrand.Uint32())
		}
		payload, _ := json.Marshal(chosync.SaleRecord{Amount: amount, Method: method, Ref: ref})
		p.events = append(p.events, chosync.Event{Seq: uint64(len(p.events) + 1), ID: ulid(), Type: "sale.record", V: 1,
			WallMs: now, AnchoredMs: now, Payload: payload})
		p.amounts = append(p.amounts, amount)
	}
}

// pushOnce sends up to 50 unacknowledged events. It returns true when the
// server answered with an ack.
func (p *e2ePhone) pushOnce(client *http.Client, base string) (bool, error) {
	p.mu.Lock()
	from := p.acked
	to := min(uint64(len(p.events)), from+50)
	batch := append([]chosync.Event(nil), p.events[from:to]...)
	p.mu.Unlock()
	if len(batch) == 0 {
		return false, nil
	}
	body, _ := json.Marshal(chosync.PushRequest{Protocol: 1, AppVersion: "e2e", Client: chosync.ClientState{WallMs: time.Now().UnixMilli(), PendingCount: len(batch)}, Events: batch})
	req, _ := http.NewRequest("POST", base+"/v1/sync/push", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return false, err // maybe committed: the retry will tell
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return false, fmt.Errorf("push: %d %v", res.StatusCode, err)
	}
	var out chosync.PushResponse
	if err := json.Unmarshal(b, &out); err != nil {
		return false, err
	}
	if out.Token != "" {
		p.token = out.Token
	}
	p.mu.Lock()
	if out.AckSeq > p.acked {
		p.acked = out.AckSeq
	}
	p.mu.Unlock()
	return true, nil
}

func (p *e2ePhone) recorded() (count, sum int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.amounts {
		sum += a
	}
	return int64(len(p.amounts)), sum
}

// e2eServer drives a real choso binary through setup.
type e2eServer struct {
	t     *testing.T
	data  string
	proc  *process
	base  string
	admin string // the first admin's password
}

func startServer(t *testing.T, data string, extra ...string) *e2eServer {
	t.Helper()
	p := start(t, append([]string{"--data", data, "--addr", "127.0.0.1:0", "--push-limit", "off"}, extra...)...)
	s := &e2eServer{t: t, data: data, proc: p}
	s.base = "http://" + p.waitLog(t, "listening")["addr"].(string)
	return s
}

func (s *e2eServer) call(method, path, token string, body any, out any) int {
	s.t.Helper()
	req, err := newJSONRequest(method, s.base+path, token, body)
	if err != nil {
		s.t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

// setupPhones creates a market with n stalls and enrolls one phone each.
func (s *e2eServer) setupPhones(n int, adminPassword string) []*e2ePhone {
	s.t.Helper()
	var login struct{ Token string }
	if code := s.call("POST", "/v1/auth/login", "", map[string]string{"username": "admin", "password": adminPassword}, &login); code != 200 {
		s.t.Fatalf("login: %d", code)
	}
	var m struct{ ID string }
	if code := s.call("POST", "/v1/markets", login.Token, map[string]string{"name": "Chợ Thương", "commune_code": "07210"}, &m); code != 201 {
		s.t.Fatalf("market: %d", code)
	}
	var phones []*e2ePhone
	for i := range n {
		var st struct{ ID string }
		code := s.call("POST", "/v1/markets/"+m.ID+"/stalls", login.Token, map[string]any{
			"code": fmt.Sprintf("A-%d", i+1), "name": "Quầy " + strconv.Itoa(i+1), "vendor_name": "Nguyễn Văn An", "vendor_phone": "0912345678",
			"payout": map[string]string{"bin": "970436", "account": fmt.Sprintf("00110012345%02d", i), "holder_name": "NGUYEN VAN AN"}, "consent_given": true}, &st)
		if code != 201 {
			s.t.Fatalf("stall: %d", code)
		}
		var enr struct{ Code string }
		if code := s.call("POST", "/v1/stalls/"+st.ID+"/enrollments", login.Token, nil, &enr); code != 201 {
			s.t.Fatalf("enrollment: %d", code)
		}
		var dev struct{ Token, StallID string }
		if code := s.call("POST", "/v1/devices/enroll", "", map[string]string{"code": enr.Code}, &dev); code != 201 {
			s.t.Fatalf("enroll: %d", code)
		}
		phones = append(phones, &e2ePhone{token: dev.Token, stallID: dev.StallID, account: fmt.Sprintf("00110012345%02d", i)})
	}
	return phones
}

// drain pushes every phone's outbox until the server acknowledged it all.
func drain(t *testing.T, base string, phones []*e2ePhone) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for _, p := range phones {
		for {
			p.mu.Lock()
			done := p.acked == uint64(len(p.events))
			p.mu.Unlock()
			if done {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("phones did not drain within 60 s")
			}
			p.pushOnce(client, base)
		}
	}
}

// checkTotals compares every stall's server totals with what its phone
// recorded: equal means nothing lost and nothing counted twice.
func checkTotals(t *testing.T, s *e2eServer, phones []*e2ePhone) (events int64) {
	t.Helper()
	for i, p := range phones {
		var tot struct {
			Days []struct {
				ByMethod map[string]struct{ Count, Amount int64 } `json:"by_method"`
			}
		}
		if code := s.call("GET", "/v1/sync/totals?days=2", p.token, nil, &tot); code != 200 {
			t.Fatalf("totals: %d", code)
		}
		var count, sum int64
		for _, d := range tot.Days {
			for _, m := range d.ByMethod {
				count += m.Count
				sum += m.Amount
			}
		}
		wantCount, wantSum := p.recorded()
		if count != wantCount || sum != wantSum {
			t.Errorf("phone %d: server has %d sales for %d đồng, the phone recorded %d for %d", i, count, sum, wantCount, wantSum)
		}
		events += wantCount
	}
	return events
}

func (s *e2eServer) kill() {
	s.proc.cmd.Process.Signal(syscall.SIGKILL)
	s.proc.cmd.Wait()
}

// TestKill9_UnderConcurrentPushes kills the real server at random moments
// while eight phones push, restarts it, and checks after every restart that
// no acknowledged event is missing, and at the end that the totals equal
// the sum of the distinct events. CHOSO_KILL_CYCLES sets the number of
// cycles (default 30).
func TestKill9_UnderConcurrentPushes(t *testing.T) {
	cycles := 30
	if v, err := strconv.Atoi(os.Getenv("CHOSO_KILL_CYCLES")); err == nil && v > 0 {
		cycles = v
	}
	data := t.TempDir()
	s := startServer(t, data)
	admin := s.proc.waitLog(t, "admin created")["password"].(string)
	phones := s.setupPhones(8, admin)
	client := &http.Client{Timeout: 5 * time.Second}
	lost, acked := uint64(0), uint64(0)
	for cycle := range cycles {
		if cycle > 0 {
			s = startServer(t, data)
			// Every event the phones saw acknowledged must still be there.
			for i, p := range phones {
				var st struct {
					Device struct {
						AckSeq uint64 `json:"ack_seq"`
					} `json:"device"`
				}
				s.call("GET", "/v1/sync/status", p.token, nil, &st)
				if st.Device.AckSeq < p.acked {
					lost += p.acked - st.Device.AckSeq
					t.Errorf("cycle %d phone %d: server at seq %d, but the phone was acked up to %d", cycle, i, st.Device.AckSeq, p.acked)
				}
			}
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for _, p := range phones {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					p.record(1 + mrand.IntN(20))
					p.pushOnce(client, s.base)
				}
			})
		}
		time.Sleep(time.Duration(50+mrand.IntN(250)) * time.Millisecond)
		s.kill()
		close(stop)
		wg.Wait()
	}
	// What the phones saw acknowledged while kills came; the drain below
	// adds events that never went through one.
	for _, p := range phones {
		acked += p.acked
	}
	if acked < uint64(cycles) {
		t.Fatalf("%d events acknowledged over %d kill -9 cycles: too few to show anything", acked, cycles)
	}
	s = startServer(t, data)
	drain(t, s.base, phones)
	events := checkTotals(t, s, phones)
	t.Logf("%d kill -9 cycles: %d events acknowledged before the last kill, %d of them lost; after the drain the totals equal the %d distinct events",
		cycles, acked, lost, events)
	s.proc.cmd.Process.Signal(syscall.SIGTERM)
	s.proc.cmd.Wait()
	if out, _, code := runCLI(t, "check", "--data", data); code != 0 {
		t.Fatalf("check after the drill: %s", out)
	}
}

// cutProxy forwards loopback TCP to the server and, for a share of
// connections, cuts the connection once the server has started answering:
// the server committed, the phone never hears it.
type cutProxy struct {
	ln      net.Listener
	target  string
	cutRate float64
	cuts    int
	mu      sync.Mutex
}

func newCutProxy(t *testing.T, target string, cutRate float64) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, cutRate: cutRate}
	go p.serve()
	t.Cleanup(func() { ln.Close() })
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *cutProxy) handle(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	go io.Copy(server, client)
	if mrand.Float64() < p.cutRate {
		// Wait for the first bytes of the response (the commit happened),
		// then drop everything.
		buf := make([]byte, 1)
		server.Read(buf)
		p.mu.Lock()
		p.cuts++
		p.mu.Unlock()
		return
	}
	io.Copy(client, server)
}

func TestCutConnections_EveryEventAppliedExactlyOnce(t *testing.T) {
	s := startServer(t, t.TempDir())
	admin := s.proc.waitLog(t, "admin created")["password"].(string)
	phones := s.setupPhones(4, admin)
	_, port, _ := net.SplitHostPort(s.base[len("http://"):])
	proxy := newCutProxy(t, "127.0.0.1:"+port, 0.3)
	base := "http://" + proxy.ln.Addr().String()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var wg sync.WaitGroup
	for _, p := range phones {
		p.record(1000)
		wg.Go(func() {
			deadline := time.Now().Add(60 * time.Second)
			for time.Now().Before(deadline) {
				p.mu.Lock()
				done := p.acked == uint64(len(p.events))
				p.mu.Unlock()
				if done {
					return
				}
				p.pushOnce(client, base)
			}
		})
	}
	wg.Wait()
	proxy.mu.Lock()
	cuts := proxy.cuts
	proxy.mu.Unlock()
	if cuts == 0 {
		t.Fatal("the proxy cut no response; the test proved nothing")
	}
	events := checkTotals(t, s, phones)
	t.Logf("%d responses cut after commit; %d events applied exactly once", cuts, events)
}
