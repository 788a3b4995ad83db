// Package clienttest is a small, faithful stand-in for the Chợ Số server's
// sync routes, for tests of sync/client and cmd/choso-sim that must run
// without the real server. It applies pushes by the rules of SYNC.md §6.5
// (contiguous seqs, duplicates answered with their original result, gaps
// apply nothing, seq_reused, ULIDs applied once across devices, rejected
// events consumed) and can misbehave on demand: lose answers after
// applying, answer 429, 503 or 413, report a gap, rotate tokens, revoke.
package clienttest

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	chosync "github.com/choso/choso/sync"
)

// Totals are a count and an amount.
type Totals struct {
	Count  int64 `json:"count"`
	Amount int64 `json:"amount"`
}

// Day is one stall's totals of one business day, net of voids.
type Day struct {
	Date     string            `json:"business_date"`
	ByMethod map[string]Totals `json:"by_method"`
	Voids    Totals            `json:"voids"`
}

// Device is the server's record of one enrolled phone.
type Device struct {
	ID         string
	StallID    string
	Token      string
	PrevToken  string // valid until Token is first used
	AppliedSeq uint64
	Revoked    bool
	Suspended  bool
	Cloned     bool
	Pushes     int
	results    map[uint64]result
}

type result struct {
	status, code string
	hash         string
	serverSeq    uint64
}

type entity struct {
	hash           string
	stallID, date  string
	method         string
	amount         int64
	voided         bool
	pendingVoidFor bool
}

// Server is the fake. Set its knobs under Lock/Unlock, or before use.
type Server struct {
	*httptest.Server

	mu        sync.Mutex
	devices   map[string]*Device // by id
	byToken   map[string]*Device
	codes     map[string]string // enrollment code → stall id
	entities  map[string]*entity
	days      map[string]map[string]*Day // stall → date → day
	markets   map[string]string          // id → name
	credits   []credit                   // the bank's credits, in the order posted
	stalls    map[string]string          // id → market id
	serverSeq uint64
	version   uint64
	now       func() time.Time

	// Knobs: each counts down as it fires.
	DropAfterApply int    // apply the push, then cut the connection without an answer
	Answer429      int    // answer 429 with RetryAfter
	Answer503      int    // answer 503 with RetryAfter, applying nothing
	RetryAfter     string // the Retry-After header of 429/503 ("" for none)
	GapNext        int    // drop this many events from the front of the next push: a gap
	RotateNext     int    // the next pushes carry a new token
	// MaxEvents answers 413 to a push of more events; 0 means 500.
	MaxEvents int
	// ConfigVersion is what pushes and the config route report.
	ConfigVersion int
	// Requests counts push requests; GzipRequests those sent gzip.
	Requests, GzipRequests int
	// ConfigPulls counts 200 answers of the config route, NotModified 304s.
	ConfigPulls, NotModified int
}

// New starts a fake server; it closes with the test.
func New(t interface{ Cleanup(func()) }) *Server {
	s := &Server{
		devices: map[string]*Device{}, byToken: map[string]*Device{}, codes: map[string]string{},
		entities: map[string]*entity{}, days: map[string]map[string]*Day{},
		markets: map[string]string{}, stalls: map[string]string{},
		now: time.Now, ConfigVersion: 1,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/auth/login", s.handleLogin)
	mux.HandleFunc("POST /v1/markets", s.handleMarketCreate)
	mux.HandleFunc("GET /v1/markets", s.handleMarketList)
	mux.HandleFunc("POST /v1/markets/{id}/stalls", s.handleStallCreate)
	mux.HandleFunc("GET /v1/markets/{id}/stalls", s.handleStallList)
	mux.HandleFunc("POST /v1/stalls/{id}/enrollments", s.handleEnrollmentCreate)
	mux.HandleFunc("POST /v1/devices/enroll", s.handleEnroll)
	mux.HandleFunc("POST /v1/sync/push", s.handlePush)
	mux.HandleFunc("GET /v1/sync/config", s.handleConfig)
	mux.HandleFunc("GET /v1/sync/totals", s.handleTotals)
	mux.HandleFunc("GET /v1/sync/status", s.handleStatus)
	mux.HandleFunc("GET /v1/sync/credits", s.handleCredits)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// Lock and Unlock guard the knobs.
func (s *Server) Lock()   { s.mu.Lock() }
func (s *Server) Unlock() { s.mu.Unlock() }

// SetNow sets the server's clock.
func (s *Server) SetNow(now func() time.Time) { s.mu.Lock(); s.now = now; s.mu.Unlock() }

// NewStall registers a stall and returns its id.
func (s *Server) NewStall() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "stl_" + randHex(6)
	s.stalls[id] = ""
	return id
}

// EnrollmentCode returns a fresh one-time code for a stall.
func (s *Server) EnrollmentCode(stallID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := strings.ToUpper(randHex(6))
	s.codes[code] = stallID
	return code
}

// Device returns a copy of a device's record.
func (s *Server) Device(id string) Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := *s.devices[id]
	d.results = nil
	return d
}

// Revoke and Suspend change a device's status.
func (s *Server) Revoke(id string) { s.mu.Lock(); s.devices[id].Revoked = true; s.mu.Unlock() }
func (s *Server) Suspend(id string, on bool) {
	s.mu.Lock()
	s.devices[id].Suspended = on
	s.mu.Unlock()
}
func (s *Server) SetApplied(id string, n uint64) {
	s.mu.Lock()
	s.devices[id].AppliedSeq = n
	s.mu.Unlock()
}

// StallTotals sums a stall's days: by method, net of voids.
func (s *Server) StallTotals(stallID string) map[string]Totals {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Totals{}
	for _, d := range s.days[stallID] {
		for m, t := range d.ByMethod {
			o := out[m]
			o.Count += t.Count
			o.Amount += t.Amount
			out[m] = o
		}
	}
	return out
}

// EventsApplied is how many events took effect (server seqs handed out).
func (s *Server) EventsApplied() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serverSeq
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"token": "usr_" + randHex(8)})
}

func (s *Server) handleMarketCreate(w http.ResponseWriter, r *http.Request) {
	var in struct{ Name string }
	json.NewDecoder(r.Body).Decode(&in)
	s.mu.Lock()
	id := "mkt_" + randHex(6)
	s.markets[id] = in.Name
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "name": in.Name})
}

func (s *Server) handleMarketList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data := []map[string]any{}
	for id, name := range s.markets {
		data = append(data, map[string]any{"id": id, "name": name})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "next_cursor": "", "has_more": false})
}

func (s *Server) handleStallCreate(w http.ResponseWriter, r *http.Request) {
	var in struct{ Code string }
	json.NewDecoder(r.Body).Decode(&in)
	s.mu.Lock()
	id := "stl_" + randHex(6)
	s.stalls[id] = r.PathValue("id")
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "code": in.Code})
}

func (s *Server) handleStallList(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"data": []any{}, "next_cursor": "", "has_more": false})
}

func (s *Server) handleEnrollmentCreate(w http.ResponseWriter, r *http.Request) {
	code := s.EnrollmentCode(r.PathValue("id"))
	writeJSON(w, http.StatusCreated, map[string]any{"code": code, "expires_at": time.Now().Add(15 * time.Minute)})
}

func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) {
	var in struct{ Code string }
	if json.NewDecoder(r.Body).Decode(&in) != nil {
		writeError(w, http.StatusBadRequest, "invalid", "bad body")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stall, ok := s.codes[in.Code]
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no such code")
		return
	}
	delete(s.codes, in.Code)
	d := &Device{ID: "dev_" + randHex(8), StallID: stall, Token: randHex(32), results: map[uint64]result{}}
	s.devices[d.ID] = d
	s.byToken[d.Token] = d
	writeJSON(w, http.StatusCreated, map[string]any{"device_id": d.ID, "token": d.Token, "stall_id": stall,
		"server_time_ms": s.now().UnixMilli()})
}

// auth finds the device of a request, honouring the previous token of a
// rotation until the new one is used. Called with s.mu held.
func (s *Server) auth(w http.ResponseWriter, r *http.Request) *Device {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	d := s.byToken[tok]
	if !ok || d == nil {
		writeError(w, http.StatusUnauthorized, "unauthorized", "unknown token")
		return nil
	}
	if tok == d.Token && d.PrevToken != "" {
		delete(s.byToken, d.PrevToken)
		d.PrevToken = ""
	}
	if d.Revoked {
		writeError(w, http.StatusForbidden, "device_revoked", "revoked")
		return nil
	}
	if d.Suspended {
		writeError(w, http.StatusForbidden, "device_suspended", "suspended")
		return nil
	}
	return d
}

func (s *Server) handlePush(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.Requests++
	gz := r.Header.Get("Content-Encoding") == "gzip"
	if gz {
		s.GzipRequests++
	}
	if s.Answer429 > 0 {
		s.Answer429--
		s.retryAfter(w)
		s.mu.Unlock()
		writeError(w, http.StatusTooManyRequests, "rate_limited", "slow down")
		return
	}
	if s.Answer503 > 0 {
		s.Answer503--
		s.retryAfter(w)
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "unavailable", "busy")
		return
	}
	s.mu.Unlock()

	var body io.Reader = http.MaxBytesReader(w, r.Body, chosync.MaxWireBytes)
	if gz {
		zr, err := gzip.NewReader(body)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid", "bad gzip")
			return
		}
		body = io.LimitReader(zr, chosync.MaxDecodedBytes+1)
	}
	raw, err := io.ReadAll(body)
	if err != nil || len(raw) > chosync.MaxDecodedBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "body too large")
		return
	}
	var req chosync.PushRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.auth(w, r)
	if d == nil {
		return
	}
	max := s.MaxEvents
	if max == 0 {
		max = chosync.MaxEvents
	}
	if len(req.Events) > max {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "too many events")
		return
	}
	for i, e := range req.Events {
		if e.Seq == 0 || i > 0 && e.Seq <= req.Events[i-1].Seq {
			writeError(w, http.StatusBadRequest, "invalid", "seqs must increase from 1")
			return
		}
	}
	if s.GapNext > 0 && len(req.Events) > 1 {
		n := min(s.GapNext, len(req.Events)-1)
		req.Events = req.Events[n:]
		s.GapNext = 0
	}
	d.Pushes++
	resp := s.apply(d, &req)
	if s.RotateNext > 0 {
		s.RotateNext--
		d.PrevToken = d.Token
		d.Token = randHex(32)
		s.byToken[d.Token] = d
		resp.Token = d.Token
	}
	if s.DropAfterApply > 0 {
		s.DropAfterApply--
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) retryAfter(w http.ResponseWriter) {
	if s.RetryAfter != "" {
		w.Header().Set("Retry-After", s.RetryAfter)
	}
}

// apply is SYNC.md §6.5 over the fake's maps. Called with s.mu held.
func (s *Server) apply(d *Device, req *chosync.PushRequest) *chosync.PushResponse {
	now := s.now()
	resp := &chosync.PushResponse{Results: []chosync.Result{}, ServerTimeMs: now.UnixMilli(), ConfigVersion: s.ConfigVersion}
	for i, ev := range req.Events {
		h := hashOf(&ev)
		switch {
		case ev.Seq <= d.AppliedSeq:
			old, ok := d.results[ev.Seq]
			switch {
			case !ok:
				resp.Results = append(resp.Results, chosync.Result{Seq: ev.Seq, Status: chosync.StatusDuplicate, Note: chosync.NoteExpired})
			case old.hash != h:
				d.Cloned = true
				resp.Results = append(resp.Results, chosync.Result{Seq: ev.Seq, Status: chosync.StatusRejected, Code: chosync.CodeSeqReused, Message: "enroll again"})
				for _, rest := range req.Events[i+1:] {
					resp.Results = append(resp.Results, chosync.Result{Seq: rest.Seq, Status: chosync.StatusNotProcessed})
				}
				goto done
			default:
				resp.Results = append(resp.Results, chosync.Result{Seq: ev.Seq, Status: chosync.StatusDuplicate, Code: old.code, ServerSeq: old.serverSeq,
					Original: &chosync.Original{Status: old.status, Code: old.code, ServerSeq: old.serverSeq}})
			}
		case ev.Seq == d.AppliedSeq+1:
			res := s.applyOne(d, &ev, h, now)
			d.results[ev.Seq] = result{status: res.Status, code: res.Code, hash: h, serverSeq: res.ServerSeq}
			d.AppliedSeq = ev.Seq
			resp.Results = append(resp.Results, res)
		default:
			resp.Gap = &chosync.Gap{Expected: d.AppliedSeq + 1, Received: ev.Seq}
			for _, rest := range req.Events[i:] {
				resp.Results = append(resp.Results, chosync.Result{Seq: rest.Seq, Status: chosync.StatusNotProcessed})
			}
			goto done
		}
	}
done:
	resp.AckSeq, resp.NextExpectedSeq = d.AppliedSeq, d.AppliedSeq+1
	s.version++
	resp.TotalsVersion = s.version
	return resp
}

func (s *Server) applyOne(d *Device, ev *chosync.Event, h string, now time.Time) chosync.Result {
	rej := func(code string) chosync.Result {
		return chosync.Result{Seq: ev.Seq, Status: chosync.StatusRejected, Code: code, Message: code}
	}
	if len(ev.ID) != 26 {
		return rej(chosync.CodeInvalidID)
	}
	if ev.V != 1 {
		return rej(chosync.CodeUnsupportedVersion)
	}
	if e, ok := s.entities[ev.ID]; ok && !e.pendingVoidFor {
		if e.hash == h {
			return chosync.Result{Seq: ev.Seq, Status: chosync.StatusApplied, Note: chosync.NoteEntityExists}
		}
		return rej(chosync.CodeIDConflict)
	}
	date := effectiveDate(ev, now)
	switch ev.Type {
	case "sale.record":
		var p chosync.SaleRecord
		if json.Unmarshal(ev.Payload, &p) != nil {
			return rej(chosync.CodeInvalidPayload)
		}
		if p.Amount < 1 || p.Amount > chosync.MaxSaleAmount {
			return rej(chosync.CodeInvalidAmount)
		}
		if p.Method != "cash" && p.Method != "qr" && p.Method != "transfer" {
			return rej(chosync.CodeInvalidMethod)
		}
		e := &entity{hash: h, stallID: d.StallID, date: date, method: p.Method, amount: p.Amount}
		// A void of the same stall waited for it; another stall's cannot void it.
		voided := s.entities[ev.ID] != nil && s.entities[ev.ID].stallID == d.StallID
		s.entities[ev.ID] = e
		day := s.day(d.StallID, date)
		add(day.ByMethod, p.Method, 1, p.Amount)
		if voided {
			e.voided = true
			add(day.ByMethod, p.Method, -1, -p.Amount)
			day.Voids.Count++
			day.Voids.Amount += p.Amount
		}
	case "sale.void":
		var p chosync.SaleVoid
		if json.Unmarshal(ev.Payload, &p) != nil || len(p.SaleID) != 26 {
			return rej(chosync.CodeInvalidPayload)
		}
		sale := s.entities[p.SaleID]
		switch {
		case sale == nil:
			s.entities[p.SaleID] = &entity{pendingVoidFor: true, stallID: d.StallID}
		case sale.pendingVoidFor || sale.voided:
			return rej(chosync.CodeAlreadyVoided)
		case sale.stallID != d.StallID:
			return rej(chosync.CodeForeignSale)
		default:
			sale.voided = true
			day := s.day(sale.stallID, sale.date)
			add(day.ByMethod, sale.method, -1, -sale.amount)
			day.Voids.Count++
			day.Voids.Amount += sale.amount
		}
		s.entities[ev.ID] = &entity{hash: h}
	case "day.close":
		var p chosync.DayClose
		if json.Unmarshal(ev.Payload, &p) != nil {
			return rej(chosync.CodeInvalidPayload)
		}
		s.entities[ev.ID] = &entity{hash: h}
	default:
		return rej(chosync.CodeUnknownType)
	}
	s.serverSeq++
	return chosync.Result{Seq: ev.Seq, Status: chosync.StatusApplied, ServerSeq: s.serverSeq}
}

// effectiveDate is the event's day at UTC+7: anchored time, else the
// offset-corrected one, else wall.
func effectiveDate(ev *chosync.Event, now time.Time) string {
	ms := ev.AnchoredMs
	if ms <= 0 {
		ms = ev.CorrectedMs
	}
	if ms <= 0 {
		ms = ev.WallMs
	}
	if ms <= 0 || ms > now.Add(5*time.Minute).UnixMilli() {
		ms = now.UnixMilli()
	}
	return time.UnixMilli(ms).UTC().Add(7 * time.Hour).Format(time.DateOnly)
}

func (s *Server) day(stall, date string) *Day {
	m := s.days[stall]
	if m == nil {
		m = map[string]*Day{}
		s.days[stall] = m
	}
	d := m[date]
	if d == nil {
		d = &Day{Date: date, ByMethod: map[string]Totals{}}
		m[date] = d
	}
	return d
}

func add(m map[string]Totals, method string, n, amount int64) {
	t := m[method]
	t.Count += n
	t.Amount += amount
	m[method] = t
}

// hashOf fingerprints an event by its decoded content, as the server does.
func hashOf(ev *chosync.Event) string {
	var v any
	switch ev.Type {
	case "sale.record":
		v = new(chosync.SaleRecord)
	case "sale.void":
		v = new(chosync.SaleVoid)
	case "day.close":
		v = new(chosync.DayClose)
	}
	payload := ev.Payload
	if v != nil && json.Unmarshal(ev.Payload, v) == nil {
		payload, _ = json.Marshal(v)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s\x00", ev.Type, ev.V, ev.BusinessDate, ev.ID)
	h.Write(payload)
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.auth(w, r)
	if d == nil {
		return
	}
	etag := `"cfg-` + d.StallID + "-" + strconv.Itoa(s.ConfigVersion) + `"` // a stall's own, as the real server's
	if r.Header.Get("If-None-Match") == etag {
		s.NotModified++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.ConfigPulls++
	w.Header().Set("ETag", etag)
	writeJSON(w, http.StatusOK, map[string]any{"config_version": s.ConfigVersion, "stall": map[string]any{"id": d.StallID},
		"qr":    map[string]any{"bin": "970436", "bank_short_name": "Vietcombank", "account": "0011001234567", "service": "QRIBFTTA", "holder_name": "NGUYEN THI MAI"},
		"banks": []any{}, "server_time_ms": s.now().UnixMilli()})
}

func (s *Server) handleTotals(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.auth(w, r)
	if d == nil {
		return
	}
	days := []*Day{}
	for _, day := range s.days[d.StallID] {
		days = append(days, day)
	}
	writeJSON(w, http.StatusOK, map[string]any{"totals_version": s.version, "days": days})
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.auth(w, r)
	if d == nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": d.ID, "stall_id": d.StallID, "ack_seq": d.AppliedSeq})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Clock is a phone clock a test moves by hand: it implements client.Clock.
type Clock struct {
	mu      sync.Mutex
	wall    int64
	elapsed int64
	boot    string
}

// NewClock starts a clock at wall time wallMs, 1 hour after boot "boot-1".
func NewClock(wallMs int64) *Clock { return &Clock{wall: wallMs, elapsed: 3_600_000, boot: "boot-1"} }

// WallMs, ElapsedMs and BootID implement client.Clock.
func (c *Clock) WallMs() int64    { c.mu.Lock(); defer c.mu.Unlock(); return c.wall }
func (c *Clock) ElapsedMs() int64 { c.mu.Lock(); defer c.mu.Unlock(); return c.elapsed }
func (c *Clock) BootID() string   { c.mu.Lock(); defer c.mu.Unlock(); return c.boot }

// Advance moves both clocks by ms.
func (c *Clock) Advance(ms int64) { c.mu.Lock(); c.wall += ms; c.elapsed += ms; c.mu.Unlock() }

// SetWall sets the wall clock alone, as a user changing the time does.
func (c *Clock) SetWall(ms int64) { c.mu.Lock(); c.wall = ms; c.mu.Unlock() }

// Reboot starts a new boot: elapsed restarts near 0.
func (c *Clock) Reboot(boot string) { c.mu.Lock(); c.boot = boot; c.elapsed = 10_000; c.mu.Unlock() }

// credit is one bank credit to a stall's account, as GET /v1/sync/credits
// shows it.
type credit struct {
	stallID string
	Seq     uint64 `json:"seq"`
	Amount  int64  `json:"amount"`
	Content string `json:"content"`
	SaleID  string `json:"sale_id,omitempty"`
	Match   string `json:"match"`
}

// AddCredit posts a bank credit to a stall's account, matched to no sale,
// for GET /v1/sync/credits.
func (s *Server) AddCredit(stallID string, amount int64, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.credits = append(s.credits, credit{stallID: stallID, Seq: uint64(len(s.credits) + 1), Amount: amount, Content: content, Match: "account_only"})
}

func (s *Server) handleCredits(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.auth(w, r)
	if d == nil {
		return
	}
	since, _ := strconv.ParseUint(r.URL.Query().Get("since"), 10, 64)
	out, last := []credit{}, since
	for _, c := range s.credits {
		if c.stallID == d.StallID && c.Seq > since {
			out = append(out, c)
			last = c.Seq
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out, "last_seq": last})
}
