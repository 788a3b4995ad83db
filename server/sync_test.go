package server

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/auth"
	chosync "github.com/choso/choso/sync"
)

// enrolled is a phone enrolled through the HTTP routes.
type enrolled struct {
	rs      *registryServer
	id      string
	token   string
	stallID string
	seq     uint64
}

func (rs *registryServer) enroll(t *testing.T, stallID string) *enrolled {
	t.Helper()
	res := rs.do(t, "POST", "/v1/stalls/"+stallID+"/enrollments", nil, "Authorization", "Bearer "+rs.token(t, "volin"))
	var code enrollmentResponse
	json.NewDecoder(res.Body).Decode(&code)
	if res.StatusCode != http.StatusCreated || len(code.Code) != 12 || !strings.HasPrefix(code.QRSVG, "<svg") || code.QRPayload != "choso:enroll:"+code.Code {
		t.Fatalf("enrollment code: %d %+v", res.StatusCode, code)
	}
	if d := time.Until(code.ExpiresAt); d < 14*time.Minute || d > 16*time.Minute {
		t.Fatalf("code expires in %v, want 15 minutes", d)
	}
	// Typed by a person: lower case, grouped, with an O for a 0.
	typed := strings.ToLower(code.CodeDisplay)
	res = rs.do(t, "POST", "/v1/devices/enroll", strings.NewReader(`{"code":"`+typed+`","app_version":"1.0.0"}`), "Content-Type", "application/json")
	var dev enrollResponse
	json.NewDecoder(res.Body).Decode(&dev)
	if res.StatusCode != http.StatusCreated || dev.Token == "" || dev.StallID != stallID {
		t.Fatalf("enroll: %d %+v", res.StatusCode, dev)
	}
	// A code works once.
	res = rs.do(t, "POST", "/v1/devices/enroll", strings.NewReader(`{"code":"`+code.Code+`"}`), "Content-Type", "application/json")
	wantError(t, res, http.StatusNotFound, choso.ENotFound)
	return &enrolled{rs: rs, id: dev.DeviceID, token: dev.Token, stallID: stallID}
}

func (p *enrolled) sales(n int, amount int64, method string) []chosync.Event {
	var out []chosync.Event
	now := time.Now()
	for range n {
		p.seq++
		payload, _ := json.Marshal(chosync.SaleRecord{Amount: amount, Method: method})
		out = append(out, chosync.Event{Seq: p.seq, ID: testULID(), Type: "sale.record", V: 1,
			WallMs: now.UnixMilli(), AnchoredMs: now.UnixMilli(), Payload: payload})
	}
	return out
}

func pushBody(t *testing.T, events []chosync.Event) []byte {
	b, err := json.Marshal(chosync.PushRequest{Protocol: 1, AppVersion: "1.0.0", Client: chosync.ClientState{WallMs: time.Now().UnixMilli()}, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func (p *enrolled) push(t *testing.T, body []byte, hdr ...string) *http.Response {
	t.Helper()
	h := append([]string{"Authorization", "Bearer " + p.token, "Content-Type", "application/json"}, hdr...)
	return p.rs.do(t, "POST", "/v1/sync/push", bytes.NewReader(body), h...)
}

func decodePush(t *testing.T, res *http.Response) chosync.PushResponse {
	t.Helper()
	var out chosync.PushResponse
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("push: %d %s", res.StatusCode, b)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSyncPush_PlainAndGzip(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	res := decodePush(t, p.push(t, pushBody(t, p.sales(3, 45000, "qr"))))
	if res.AckSeq != 3 || len(res.Results) != 3 || res.ConfigVersion < 1 || res.ServerTimeMs == 0 || res.TotalsVersion == 0 {
		t.Fatalf("plain push: %+v", res)
	}
	res = decodePush(t, p.push(t, gz(pushBody(t, p.sales(50, 10000, "cash"))), "Content-Encoding", "gzip"))
	if res.AckSeq != 53 {
		t.Fatalf("gzip push: ack %d", res.AckSeq)
	}
	// Both bodies are of the form phones send, which the fast decoder reads.
	if fast, full := testutil.ToFloat64(rs.metrics.pushFast), testutil.ToFloat64(rs.metrics.pushFull); fast != 2 || full != 0 {
		t.Fatalf("push decodes: %v fast, %v full; want 2 and 0", fast, full)
	}
	// A body with an escape in it goes to the strict decoder, and applies
	// as well.
	escaped := bytes.Replace(pushBody(t, p.sales(1, 10000, "cash")), []byte(`"app_version":"1.0.0"`), []byte(`"app_version":"1.0\u002e0"`), 1)
	if res = decodePush(t, p.push(t, escaped)); res.AckSeq != 54 || testutil.ToFloat64(rs.metrics.pushFull) != 1 {
		t.Fatalf("escaped push: ack %d, %v full decodes; want 54 and 1", res.AckSeq, testutil.ToFloat64(rs.metrics.pushFull))
	}
	// The totals route sees all three pushes.
	tr := rs.do(t, "GET", "/v1/sync/totals?days=3", nil, "Authorization", "Bearer "+p.token)
	var totals syncTotals
	json.NewDecoder(tr.Body).Decode(&totals)
	if len(totals.Days) != 1 || totals.Days[0].ByMethod["qr"].Amount != 135000 || totals.Days[0].ByMethod["cash"].Count != 51 || totals.TotalsVersion != res.TotalsVersion {
		t.Fatalf("totals: %+v (push totals_version %d)", totals, res.TotalsVersion)
	}
	st := rs.do(t, "GET", "/v1/sync/status", nil, "Authorization", "Bearer "+p.token)
	var status struct {
		Device          choso.Device `json:"device"`
		NextExpectedSeq uint64       `json:"next_expected_seq"`
	}
	json.NewDecoder(st.Body).Decode(&status)
	if status.Device.AppliedSeq != 54 || status.NextExpectedSeq != 55 || status.Device.AppVersion != "1.0.0" {
		t.Fatalf("status: %+v", status)
	}
}

// SYNC.md §7 #22: an oversized or zip-bomb body is refused with 413 before
// it is parsed, without the server holding it in memory, and consumes
// nothing.
func Test22_OversizedOrZipBombBody_413NothingConsumed(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)

	// A zip bomb: 50 MB of spaces inflates past the 4 MiB cap.
	bomb := gz(bytes.Repeat([]byte{' '}, 50<<20))
	if len(bomb) > chosync.MaxWireBytes {
		t.Fatalf("test bomb is %d bytes on the wire; it must pass the wire limit to test the inflate cap", len(bomb))
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	wantError(t, p.push(t, bomb, "Content-Encoding", "gzip"), http.StatusRequestEntityTooLarge, choso.ETooLarge)
	runtime.ReadMemStats(&after)
	// The server (in this process) reads at most the 4 MiB cap and one byte
	// more: its buffer grows by doubling to 8 MiB, 16 MiB allocated in all
	// (32 under the race detector). Inflating the whole bomb allocates
	// 128 MiB (256).
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("refusing the zip bomb allocated %d MiB", grew>>20)
	}
	// Over the wire limit.
	big := append(pushBody(t, nil), bytes.Repeat([]byte{' '}, chosync.MaxWireBytes)...)
	wantError(t, p.push(t, big), http.StatusRequestEntityTooLarge, choso.ETooLarge)
	// Too many events: refused at the 501st, not read on by the strict
	// decoder.
	full := testutil.ToFloat64(rs.metrics.pushFull)
	wantError(t, p.push(t, pushBody(t, p.sales(501, 1000, "cash"))), http.StatusRequestEntityTooLarge, choso.ETooLarge)
	if got := testutil.ToFloat64(rs.metrics.pushFull); got != full {
		t.Errorf("a push of 501 events went to the strict decoder (%v full decodes, were %v)", got, full)
	}
	p.seq = 0
	// Corrupt gzip, unknown encodings, unknown fields.
	wantError(t, p.push(t, []byte("not gzip"), "Content-Encoding", "gzip"), http.StatusBadRequest, choso.EInvalid)
	wantError(t, p.push(t, pushBody(t, nil), "Content-Encoding", "br"), http.StatusUnsupportedMediaType, choso.EUnsupportedMedia)
	wantError(t, p.push(t, []byte(`{"protocol":1,"events":[],"device_id":"dev_x"}`)), http.StatusBadRequest, choso.EInvalid)
	// Nothing above consumed a seq.
	res := decodePush(t, p.push(t, pushBody(t, p.sales(1, 1000, "cash"))))
	if res.AckSeq != 1 {
		t.Fatalf("after refused batches: ack %d, want 1", res.AckSeq)
	}
}

// TestSyncPush_BusyQueues_503WithRetryAfter: a push that cannot get a
// decode slot, or then a place in the writer's queue, within the queue
// wait is answered 503 with Retry-After, nothing taken; once the queues
// drain, the same push is applied.
func TestSyncPush_BusyQueues_503WithRetryAfter(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	rs.pushGate.wait = 50 * time.Millisecond
	body := pushBody(t, p.sales(1, 1000, "cash"))
	for _, queue := range []struct {
		name  string
		slots chan struct{}
	}{{"decode slots", rs.pushGate.decode}, {"writer queue", rs.pushGate.slots}} {
		for range cap(queue.slots) {
			queue.slots <- struct{}{}
		}
		res := p.push(t, body)
		wantError(t, res, http.StatusServiceUnavailable, choso.EUnavailable)
		if res.Header.Get("Retry-After") == "" {
			t.Fatalf("%s full: 503 without Retry-After", queue.name)
		}
		for range cap(queue.slots) {
			<-queue.slots
		}
	}
	if res := decodePush(t, p.push(t, body)); res.AckSeq != 1 {
		t.Fatalf("after the queues drained: ack %d, want 1", res.AckSeq)
	}
}

func TestSyncPush_PerDeviceRateLimit(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	// A clock that stands still: the device's burst never refills, however
	// slowly a loaded machine sends the pushes.
	frozen := time.Now()
	rs.pushGate.limiter = auth.NewLimiter(DefaultPushLimits.Burst, DefaultPushLimits.Interval, func() time.Time { return frozen })
	var last *http.Response
	for i := 0; i < DefaultPushLimits.Burst+1; i++ {
		last = p.push(t, pushBody(t, p.sales(1, 1000, "cash")))
		if i < DefaultPushLimits.Burst && last.StatusCode != http.StatusOK {
			t.Fatalf("push %d: %d", i+1, last.StatusCode)
		}
	}
	wantError(t, last, http.StatusTooManyRequests, choso.ERateLimited)
	if last.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
}

func TestSyncAuth_RevokedAndUnknownDevices(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	decodePush(t, p.push(t, pushBody(t, p.sales(1, 1000, "cash"))))

	// The volunteer sees the phone and its status, then revokes it.
	tok := "Bearer " + rs.token(t, "volin")
	var list struct {
		Data []choso.Device `json:"data"`
	}
	json.NewDecoder(rs.do(t, "GET", "/v1/stalls/"+obj.stall+"/devices", nil, "Authorization", tok).Body).Decode(&list)
	var mine *choso.Device
	for i := range list.Data {
		if list.Data[i].ID == p.id {
			mine = &list.Data[i]
		}
	}
	if mine == nil || mine.AppliedSeq != 1 || mine.LastSeenAt.IsZero() || mine.AppVersion != "1.0.0" {
		t.Fatalf("devices: %+v", list.Data)
	}
	wantError(t, rs.do(t, "POST", "/v1/devices/"+p.id+"/revoke", nil, "Authorization", "Bearer "+rs.token(t, "volout")), http.StatusNotFound, choso.ENotFound)
	if res := rs.do(t, "POST", "/v1/devices/"+p.id+"/revoke", nil, "Authorization", tok); res.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	for _, path := range []string{"/v1/sync/config", "/v1/sync/totals", "/v1/sync/status"} {
		wantError(t, rs.do(t, "GET", path, nil, "Authorization", "Bearer "+p.token), http.StatusForbidden, choso.EDeviceRevoked)
	}
	wantError(t, p.push(t, pushBody(t, p.sales(1, 1000, "cash"))), http.StatusForbidden, choso.EDeviceRevoked)
	wantError(t, rs.do(t, "GET", "/v1/sync/status", nil, "Authorization", "Bearer nonsense"), http.StatusUnauthorized, choso.EUnauthorized)
	// A user's session token is not a device token.
	wantError(t, rs.do(t, "GET", "/v1/sync/status", nil, "Authorization", tok), http.StatusUnauthorized, choso.EUnauthorized)
}

func TestSyncPush_SuspendedStall(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	suspended := choso.StallSuspended
	rs.reg.UpdateStall(t.Context(), rs.users["volin"].Principal(), obj.stall, choso.StallPatch{Status: &suspended})
	wantError(t, p.push(t, pushBody(t, p.sales(1, 1000, "cash"))), http.StatusForbidden, choso.EDeviceSuspended)
}

func TestSyncConfig_ETagAndContent(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	res := rs.do(t, "GET", "/v1/sync/config", nil, "Authorization", "Bearer "+p.token)
	var cfg syncConfig
	json.NewDecoder(res.Body).Decode(&cfg)
	etag := res.Header.Get("ETag")
	if res.StatusCode != http.StatusOK || etag == "" || cfg.Stall.Code != "A-1" || cfg.QR.Account != "0011001234567" || !strings.HasPrefix(cfg.QR.StaticPayload, "000201010211") || len(cfg.Banks) < 50 || cfg.Market.TimeZone == "" {
		t.Fatalf("config: %d %+v", res.StatusCode, cfg.Stall)
	}
	if res := rs.do(t, "GET", "/v1/sync/config", nil, "Authorization", "Bearer "+p.token, "If-None-Match", etag); res.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d, want 304", res.StatusCode)
	}
	// A change volunteers make shows in the next push response and config.
	name := "Bún chả cô Lan (mới)"
	rs.reg.UpdateStall(t.Context(), rs.users["volin"].Principal(), obj.stall, choso.StallPatch{Name: &name})
	push := decodePush(t, p.push(t, pushBody(t, p.sales(1, 1000, "cash"))))
	if push.ConfigVersion != cfg.ConfigVersion+1 {
		t.Fatalf("push config_version %d, want %d", push.ConfigVersion, cfg.ConfigVersion+1)
	}
	res = rs.do(t, "GET", "/v1/sync/config", nil, "Authorization", "Bearer "+p.token, "If-None-Match", etag)
	if res.StatusCode != http.StatusOK || res.Header.Get("ETag") == etag {
		t.Fatalf("after a change: %d, same ETag", res.StatusCode)
	}
	// Pushes change the device's own status in the config, not the config:
	// the new ETag holds across one.
	etag = res.Header.Get("ETag")
	decodePush(t, p.push(t, pushBody(t, p.sales(1, 1000, "cash"))))
	if res := rs.do(t, "GET", "/v1/sync/config", nil, "Authorization", "Bearer "+p.token, "If-None-Match", etag); res.StatusCode != http.StatusNotModified {
		t.Fatalf("after a push: %d, want 304", res.StatusCode)
	}
}

// Two stalls whose configs differ in their stall alone (new stalls share
// their versions): one stall's ETag is no 304 for the other's phone, which
// would keep the first stall's QR and payout account.
func TestSyncConfig_ETagOfAnotherStall_Not304(t *testing.T) {
	rs := newRegistryServer(t)
	objA, objB := rs.objects(t, false), rs.objects(t, false)
	pA, pB := rs.enroll(t, objA.stall), rs.enroll(t, objB.stall)
	res := rs.do(t, "GET", "/v1/sync/config", nil, "Authorization", "Bearer "+pA.token)
	etagA := res.Header.Get("ETag")
	if res.StatusCode != http.StatusOK || etagA == "" {
		t.Fatalf("config A: %d %q", res.StatusCode, etagA)
	}
	if res := rs.do(t, "GET", "/v1/sync/config", nil, "Authorization", "Bearer "+pB.token, "If-None-Match", etagA); res.StatusCode != http.StatusOK {
		t.Fatalf("stall B's phone sent stall A's ETag and got %d, want 200", res.StatusCode)
	}
}

// A market renamed, or its time zone corrected: both show on the phones, so
// the next push tells them to pull the config, and the config is new.
func TestSyncConfig_MarketChange_ReachesThePhone(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	res := rs.do(t, "GET", "/v1/sync/config", nil, "Authorization", "Bearer "+p.token)
	etag := res.Header.Get("ETag")
	var before syncConfig
	json.NewDecoder(res.Body).Decode(&before)
	name := "Chợ Thương (mới)"
	if _, err := rs.reg.UpdateMarket(t.Context(), rs.users["volin"].Principal(), obj.market, choso.MarketPatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if push := decodePush(t, p.push(t, pushBody(t, p.sales(1, 1000, "cash")))); push.ConfigVersion <= before.ConfigVersion {
		t.Fatalf("push config_version %d after the market was renamed, was %d", push.ConfigVersion, before.ConfigVersion)
	}
	res = rs.do(t, "GET", "/v1/sync/config", nil, "Authorization", "Bearer "+p.token, "If-None-Match", etag)
	var after syncConfig
	json.NewDecoder(res.Body).Decode(&after)
	if res.StatusCode != http.StatusOK || after.Market.Name != name {
		t.Fatalf("config after the rename: %d, market %q", res.StatusCode, after.Market.Name)
	}
}

func TestEnroll_WrongExpiredAndRateLimited(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	// The network's budget on a clock that stands still: it never refills,
	// however slowly a loaded machine sends the attempts.
	frozen := time.Now()
	rs.enrollByIP, rs.enrollByStall = newEnrollGuards(func() time.Time { return frozen }, nil)
	for i := range 10 {
		res := rs.do(t, "POST", "/v1/devices/enroll", strings.NewReader(`{"code":"ABCD-EFGH-JKMN"}`), "Content-Type", "application/json")
		wantError(t, res, http.StatusNotFound, choso.ENotFound)
		_ = i
	}
	res := rs.do(t, "POST", "/v1/devices/enroll", strings.NewReader(`{"code":"ABCD-EFGH-JKMN"}`), "Content-Type", "application/json")
	wantError(t, res, http.StatusTooManyRequests, choso.ERateLimited)
	// No code at all is the app's mistake, not a wrong code: 400.
	rs.enrollByIP = newAttemptGuard("enroll-ip", 1000, time.Millisecond, time.Now, nil)
	wantError(t, rs.do(t, "POST", "/v1/devices/enroll", strings.NewReader(`{"app_version":"1.0.0"}`), "Content-Type", "application/json"), http.StatusBadRequest, choso.EInvalid)
	// Officials cannot make codes; out-of-scope volunteers do not see the stall.
	wantError(t, rs.do(t, "POST", "/v1/stalls/"+obj.stall+"/enrollments", nil, "Authorization", "Bearer "+rs.token(t, "official")), http.StatusForbidden, choso.EForbidden)
	wantError(t, rs.do(t, "POST", "/v1/stalls/"+obj.stall+"/enrollments", nil, "Authorization", "Bearer "+rs.token(t, "volout")), http.StatusNotFound, choso.ENotFound)
}

// A stall enrolling phones faster than a market does gets 429 with a
// Retry-After, and the code it sent stays unused: the phone that waits as
// told enrolls with the same code, and no phantom device is left behind.
func TestEnroll_StallLimit429_CodeStillUsable(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	ctx := t.Context()
	rs.enrollByIP = newAttemptGuard("enroll-ip", 1000, time.Millisecond, time.Now, nil)
	volin := rs.users["volin"].Principal()
	count := func() int {
		t.Helper()
		devices, err := rs.reg.ListStallDevices(ctx, volin, obj.stall)
		if err != nil {
			t.Fatal(err)
		}
		return len(devices)
	}
	enroll := func(code string) *http.Response {
		return rs.do(t, "POST", "/v1/devices/enroll", strings.NewReader(`{"code":"`+code+`"}`), "Content-Type", "application/json")
	}
	for i := range 10 {
		code, _, err := rs.reg.CreateEnrollment(ctx, volin, obj.stall)
		if err != nil {
			t.Fatal(err)
		}
		if res := enroll(code); res.StatusCode != http.StatusCreated {
			t.Fatalf("enrollment %d: %d", i+1, res.StatusCode)
		}
	}
	code, _, err := rs.reg.CreateEnrollment(ctx, volin, obj.stall)
	if err != nil {
		t.Fatal(err)
	}
	before := count()
	res := enroll(code)
	wantError(t, res, http.StatusTooManyRequests, choso.ERateLimited)
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	if n := count(); n != before {
		t.Fatalf("devices after the 429: %d, want %d: no phantom", n, before)
	}
	rs.enrollByStall.reset(ctx, obj.stall) // the wait has passed
	if res := enroll(code); res.StatusCode != http.StatusCreated {
		t.Fatalf("the same code after the wait: %d, want 201", res.StatusCode)
	}
}

// testULID is a fresh ULID-shaped ID: 26 Crockford characters, the first 0.
func testULID() string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var b [26]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[b[i]%32]
	}
	b[0] = '0'
	return string(b[:])
}

// The strings of a push that the server keeps (app_version, boot_id and
// the hlc on the device record and each event, which the status routes
// and volunteers' device lists send back) are bounded: a longer one is a
// 400 for the push, nothing consumed, not a device record of megabytes
// rewritten at every push. Enrollment's app_version too.
func TestSyncPush_OverlongStrings_PushRefusedOrEventRejected(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	p := rs.enroll(t, obj.stall)
	long := strings.Repeat("x", chosync.MaxStringBytes+1)
	for name, set := range map[string]func(*chosync.PushRequest){
		"app_version": func(r *chosync.PushRequest) { r.AppVersion = long },
		"boot_id":     func(r *chosync.PushRequest) { r.Client.BootID = long },
		"client hlc":  func(r *chosync.PushRequest) { r.Client.HLC = long },
	} {
		req := chosync.PushRequest{Protocol: 1, AppVersion: "1.0.0", Client: chosync.ClientState{WallMs: time.Now().UnixMilli()}, Events: p.sales(1, 1000, "cash")}
		p.seq = 0
		set(&req)
		body, _ := json.Marshal(req)
		msg := wantError(t, p.push(t, body), http.StatusBadRequest, choso.EInvalid)
		if !strings.Contains(msg, "128 bytes") {
			t.Errorf("%s: message %q does not name the limit", name, msg)
		}
	}
	res := decodePush(t, p.push(t, pushBody(t, p.sales(1, 1000, "cash"))))
	if res.AckSeq != 1 {
		t.Fatalf("after refused pushes: ack %d, want 1", res.AckSeq)
	}
	// An event's own overlong strings reject that event alone, consumed,
	// with a message that quotes no more than 40 bytes: the queue moves on
	// (DESIGN.md §5), and what the server keeps stays small.
	for name, set := range map[string]func(*chosync.Event){
		"event hlc":  func(e *chosync.Event) { e.HLC = long },
		"event id":   func(e *chosync.Event) { e.ID = long },
		"event type": func(e *chosync.Event) { e.Type = long },
		"event date": func(e *chosync.Event) { e.BusinessDate = long },
	} {
		evs := p.sales(2, 1000, "cash")
		set(&evs[0])
		out := decodePush(t, p.push(t, pushBody(t, evs)))
		if len(out.Results) != 2 || out.Results[0].Status != chosync.StatusRejected || out.Results[1].Status != chosync.StatusApplied || out.AckSeq != evs[1].Seq {
			t.Fatalf("%s: results %+v, ack %d; want the first rejected, the second applied, ack %d", name, out.Results, out.AckSeq, evs[1].Seq)
		}
		if len(out.Results[0].Message) > 100 {
			t.Errorf("%s: the rejection's message is %d bytes: %.60q…", name, len(out.Results[0].Message), out.Results[0].Message)
		}
	}
	st := rs.do(t, "GET", "/v1/sync/status", nil, "Authorization", "Bearer "+p.token)
	var status struct {
		Device choso.Device `json:"device"`
	}
	json.NewDecoder(st.Body).Decode(&status)
	if status.Device.AppVersion != "1.0.0" {
		t.Fatalf("device app_version %.40q…, want 1.0.0", status.Device.AppVersion)
	}

	code := rs.do(t, "POST", "/v1/stalls/"+obj.stall+"/enrollments", nil, "Authorization", "Bearer "+rs.token(t, "volin"))
	var ec enrollmentResponse
	json.NewDecoder(code.Body).Decode(&ec)
	enroll := func(appVersion string) *http.Response {
		return rs.do(t, "POST", "/v1/devices/enroll", strings.NewReader(`{"code":"`+ec.Code+`","app_version":"`+appVersion+`"}`), "Content-Type", "application/json")
	}
	wantError(t, enroll(long), http.StatusBadRequest, choso.EInvalid)
	if res := enroll("1.0.0"); res.StatusCode != http.StatusCreated {
		t.Fatalf("enroll after the refused one: %d, want 201 (the code unused)", res.StatusCode)
	}
}
