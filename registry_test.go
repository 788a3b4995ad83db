package choso_test

import (
	"context"
	"crypto/subtle"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/auth"
	"github.com/choso/choso/internal/store/bolt"
)

// fixture is a registry over a real bbolt file with a few regions and
// users: two volunteers of Phường Bắc Giang, one of a Hà Nội ward, and an
// official of Bắc Ninh province.
type fixture struct {
	reg                    *choso.Registry
	now                    time.Time
	mu                     sync.Mutex
	admin                  *choso.Principal
	volA, volB, volOut     *choso.Principal
	official               *choso.Principal
	passwords              map[string]string
	ctx                    context.Context
	marketInScope, outside *choso.Market
}

// plainHasher stands in for argon2id in tests of the registry's rules: the
// race detector makes each real hash take a second. internal/auth tests the
// real one, and the end-to-end tests run it.
type plainHasher struct{}

func (plainHasher) Hash(_ context.Context, pw string) (string, error) { return "plain$" + pw, nil }

func (plainHasher) Verify(_ context.Context, hash, pw string) (bool, error) {
	return subtle.ConstantTimeCompare([]byte(hash), []byte("plain$"+pw)) == 1, nil
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "choso.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{now: time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC), passwords: map[string]string{}, ctx: context.Background()}
	f.reg = &choso.Registry{Store: db, Banks: fakeBanks{}, Hasher: plainHasher{}, Now: f.clock}
	f.admin = choso.SystemPrincipal("test")
	_, _, err = f.reg.PutRegions(f.ctx, f.admin, []*choso.Region{
		{Code: "24", Name: "Tỉnh Bắc Ninh"},
		{Code: "07210", Name: "Phường Bắc Giang", ParentCode: "24"},
		{Code: "09187", Name: "Phường Kinh Bắc", ParentCode: "24"},
		{Code: "01", Name: "Thành phố Hà Nội"},
		{Code: "00004", Name: "Phường Ba Đình", ParentCode: "01"},
	})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name string, role choso.Role, scope ...string) *choso.Principal {
		u, pw, err := f.reg.CreateUser(f.ctx, f.admin, choso.NewUser{Username: name, Role: role, Scope: scope})
		if err != nil {
			t.Fatalf("CreateUser %s: %v", name, err)
		}
		f.passwords[name] = pw
		return u.Principal()
	}
	f.volA = mk("lan", choso.RoleVolunteer, "07210")
	f.volB = mk("minh", choso.RoleVolunteer, "07210", "09187")
	f.volOut = mk("hanoi", choso.RoleVolunteer, "00004")
	f.official = mk("canbo", choso.RoleOfficial, "24")
	f.marketInScope, err = f.reg.CreateMarket(f.ctx, f.volA, choso.NewMarket{Name: "Chợ Thương", CommuneCode: "07210"})
	if err != nil {
		t.Fatal(err)
	}
	f.outside, err = f.reg.CreateMarket(f.ctx, f.volOut, choso.NewMarket{Name: "Chợ Đồng Xuân", CommuneCode: "00004"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) stall(t testing.TB, p *choso.Principal, marketID, code string) *choso.Stall {
	t.Helper()
	s, err := f.reg.CreateStall(f.ctx, p, marketID, choso.NewStall{
		Code: code, Name: "Bún chả cô Lan", Category: "Ăn uống", VendorName: "Nguyễn Thị Lan", VendorPhone: "0912 345 678",
		Payout:       choso.PayoutAccount{BIN: "970436", Account: "0011001234567", Service: choso.ServiceAccount, Holder: "NGUYEN THI LAN"},
		ConsentGiven: true,
	})
	if err != nil {
		t.Fatalf("CreateStall %s: %v", code, err)
	}
	return s
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := choso.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

func TestRegistry_Market_ScopeDecidesWhoSeesAndChanges(t *testing.T) {
	f := newFixture(t)
	id := f.marketInScope.ID
	if f.marketInScope.ProvinceCode != "24" {
		t.Fatalf("ProvinceCode = %q, want 24 from the commune", f.marketInScope.ProvinceCode)
	}
	name := "Chợ Thương mới"
	tests := []struct {
		who        string
		p          *choso.Principal
		find, edit string // wanted error codes; "" is success
	}{
		{"admin", f.admin, "", ""},
		{"volunteer in scope", f.volB, "", ""},
		{"volunteer out of scope", f.volOut, choso.ENotFound, choso.ENotFound},
		{"official of the province", f.official, "", choso.EForbidden},
		{"anonymous", nil, choso.EUnauthorized, choso.EUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.who, func(t *testing.T) {
			_, err := f.reg.FindMarket(f.ctx, tt.p, id)
			wantCode(t, err, tt.find)
			_, err = f.reg.UpdateMarket(f.ctx, tt.p, id, choso.MarketPatch{Name: &name})
			wantCode(t, err, tt.edit)
		})
	}
	_, err := f.reg.CreateMarket(f.ctx, f.volA, choso.NewMarket{Name: "Chợ ngoài", CommuneCode: "00004"})
	wantCode(t, err, choso.EForbidden)
	_, err = f.reg.CreateMarket(f.ctx, f.official, choso.NewMarket{Name: "Chợ", CommuneCode: "07210"})
	wantCode(t, err, choso.EForbidden)
	_, err = f.reg.CreateMarket(f.ctx, f.admin, choso.NewMarket{Name: "Chợ", CommuneCode: "99999"})
	wantCode(t, err, choso.EInvalid)
	_, err = f.reg.FindMarket(f.ctx, f.admin, "mkt_nonsense")
	wantCode(t, err, choso.ENotFound)
}

func TestRegistry_ListMarkets_ScopedFilteredPaged(t *testing.T) {
	f := newFixture(t)
	for i := range 7 {
		if _, err := f.reg.CreateMarket(f.ctx, f.volB, choso.NewMarket{Name: fmt.Sprintf("Chợ Kinh Bắc %d", i), CommuneCode: "09187"}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(p *choso.Principal, filter choso.MarketFilter) int {
		t.Helper()
		n := 0
		seen := map[string]bool{}
		for pages := 0; ; pages++ {
			page, err := f.reg.ListMarkets(f.ctx, p, filter)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page.Data {
				if seen[m.ID] {
					t.Fatalf("market %s on two pages", m.ID)
				}
				seen[m.ID] = true
				if !p.Covers(m.CommuneCode, m.ProvinceCode) {
					t.Fatalf("%s sees %s outside their scope", p.Username, m.Name)
				}
			}
			n += len(page.Data)
			if !page.HasMore {
				return n
			}
			filter.After = page.NextCursor
		}
	}
	tests := []struct {
		who    string
		p      *choso.Principal
		filter choso.MarketFilter
		want   int
	}{
		{"admin sees all", f.admin, choso.MarketFilter{Limit: 3}, 9},
		{"volunteer of one commune", f.volA, choso.MarketFilter{Limit: 2}, 1},
		{"volunteer of two communes", f.volB, choso.MarketFilter{Limit: 2}, 8},
		{"official of the province", f.official, choso.MarketFilter{Limit: 4}, 8},
		{"official filtering one commune", f.official, choso.MarketFilter{Communes: []string{"09187"}}, 7},
		{"volunteer filtering by their province", f.volA, choso.MarketFilter{Provinces: []string{"24"}}, 1},
		{"filter outside the scope selects nothing", f.volA, choso.MarketFilter{Communes: []string{"00004"}}, 0},
		{"name query ignores diacritics", f.admin, choso.MarketFilter{Query: "cho kinh bac"}, 7},
		{"name query, another", f.admin, choso.MarketFilter{Query: "ĐỒNG XUÂN"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.who, func(t *testing.T) {
			if got := count(tt.p, tt.filter); got != tt.want {
				t.Fatalf("got %d markets, want %d", got, tt.want)
			}
		})
	}
}

func TestRegistry_Stall_CreateRules(t *testing.T) {
	f := newFixture(t)
	s := f.stall(t, f.volA, f.marketInScope.ID, "a-1")
	if s.Code != "A-1" || s.Vendor.Phone != "+84912345678" || s.QRVersion != 1 || s.Consent.RecordedBy != f.volA.UserID || s.Consent.NoticeVersion == "" {
		t.Fatalf("created stall = %+v", s)
	}
	in := choso.NewStall{Code: "A-1", Name: "Rau", VendorName: "Lê Thị Hoa", VendorPhone: "0387654321",
		Payout: choso.PayoutAccount{BIN: "970418", Account: "58110000715752", Holder: "LE THI HOA"}, ConsentGiven: true}
	_, err := f.reg.CreateStall(f.ctx, f.volB, f.marketInScope.ID, in)
	wantCode(t, err, choso.EConflict)
	in.Code = "A-2"
	_, err = f.reg.CreateStall(f.ctx, f.volOut, f.marketInScope.ID, in)
	wantCode(t, err, choso.ENotFound)
	_, err = f.reg.CreateStall(f.ctx, f.official, f.marketInScope.ID, in)
	wantCode(t, err, choso.EForbidden)
	in.ConsentGiven = false
	_, err = f.reg.CreateStall(f.ctx, f.volA, f.marketInScope.ID, in)
	wantCode(t, err, choso.EInvalid)
	_, err = f.reg.FindStall(f.ctx, f.volOut, s.ID)
	wantCode(t, err, choso.ENotFound)
	if _, err := f.reg.FindStall(f.ctx, f.official, s.ID); err != nil {
		t.Fatalf("official in scope FindStall: %v", err)
	}
}

func TestRegistry_PayoutChange_NeedsASecondPerson(t *testing.T) {
	f := newFixture(t)
	s := f.stall(t, f.volA, f.marketInScope.ID, "B-7")
	newAcct := choso.PayoutAccount{BIN: "970459", Account: "800 1234 5678", Holder: "NGUYEN THI LAN"}

	_, err := f.reg.ProposePayoutChange(f.ctx, f.official, s.ID, newAcct)
	wantCode(t, err, choso.EForbidden)
	_, err = f.reg.ProposePayoutChange(f.ctx, f.volOut, s.ID, newAcct)
	wantCode(t, err, choso.ENotFound)
	_, err = f.reg.ProposePayoutChange(f.ctx, f.volA, s.ID, choso.PayoutAccount{BIN: "123456", Account: "1", Holder: "X"})
	wantCode(t, err, choso.EInvalid)

	got, err := f.reg.ProposePayoutChange(f.ctx, f.volA, s.ID, newAcct)
	if err != nil {
		t.Fatal(err)
	}
	if got.Payout.BIN != "970436" || got.PendingPayout == nil || got.PendingPayout.Account.BIN != "422589" || got.QRVersion != 1 {
		t.Fatalf("after proposal: payout %+v pending %+v qr %d; want the old account in force", got.Payout, got.PendingPayout, got.QRVersion)
	}
	_, err = f.reg.ApprovePayoutChange(f.ctx, f.volA, s.ID, time.Time{})
	wantCode(t, err, choso.EForbidden) // the proposer alone cannot
	_, err = f.reg.ApprovePayoutChange(f.ctx, f.official, s.ID, time.Time{})
	wantCode(t, err, choso.EForbidden)
	_, err = f.reg.ApprovePayoutChange(f.ctx, f.volOut, s.ID, time.Time{})
	wantCode(t, err, choso.ENotFound)

	got, err = f.reg.ApprovePayoutChange(f.ctx, f.volB, s.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Payout.Account != "80012345678" || got.Payout.BIN != "422589" || got.PendingPayout != nil || got.QRVersion != 2 || got.ConfigVersion != s.ConfigVersion+1 {
		t.Fatalf("after approval: %+v, want the new account, qr_version 2, config_version bumped", got)
	}
	if len(got.FormerPayouts) != 1 || got.FormerPayouts[0].Account != s.Payout || got.FormerPayouts[0].Until.IsZero() {
		t.Fatalf("after approval: former accounts %+v, want the one replaced, with when", got.FormerPayouts)
	}
	_, err = f.reg.ApprovePayoutChange(f.ctx, f.admin, s.ID, time.Time{})
	wantCode(t, err, choso.EConflict) // nothing pending

	// A proposal replaced after the approver opened it is not approved
	// unseen: the approval names the proposal it reviewed.
	first, err := f.reg.ProposePayoutChange(f.ctx, f.volA, s.ID, choso.PayoutAccount{BIN: "970436", Account: "0011001111111", Holder: "NGUYEN THI LAN"})
	if err != nil {
		t.Fatal(err)
	}
	seen := first.PendingPayout.ProposedAt
	if _, err := f.reg.ProposePayoutChange(f.ctx, f.volA, s.ID, choso.PayoutAccount{BIN: "970436", Account: "0099009999999", Holder: "NGUYEN THI LAN"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.reg.ApprovePayoutChange(f.ctx, f.volB, s.ID, seen)
	wantCode(t, err, choso.EConflict)
	now, err := f.reg.FindStall(f.ctx, f.volB, s.ID)
	if err != nil || now.Payout.Account != "80012345678" {
		t.Fatalf("after the refused approval: %+v, %v; want the account unchanged", now, err)
	}
	got, err = f.reg.ApprovePayoutChange(f.ctx, f.volB, s.ID, now.PendingPayout.ProposedAt)
	if err != nil || got.Payout.Account != "0099009999999" {
		t.Fatalf("approving the proposal as reviewed: %+v, %v", got, err)
	}

	// Rejection drops a proposal without touching the account.
	f.reg.ProposePayoutChange(f.ctx, f.volB, s.ID, choso.PayoutAccount{BIN: "970418", Account: "999", Holder: "X"})
	got, err = f.reg.RejectPayoutChange(f.ctx, f.volB, s.ID)
	if err != nil || got.PendingPayout != nil || got.Payout.Account != "0099009999999" || got.QRVersion != 3 {
		t.Fatalf("after rejection: %+v, %v", got, err)
	}

	// The audit log has the change, with the numbers masked.
	page, err := f.reg.ListAudit(f.ctx, f.admin, choso.AuditFilter{ObjectID: s.ID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range page.Data {
		actions = append(actions, e.Action)
		for _, c := range e.Changes {
			if strings.Contains(c.Before+c.After, "0011001234567") || strings.Contains(c.Before+c.After, "80012345678") {
				t.Errorf("audit %s shows an unmasked account: %+v", e.Action, c)
			}
		}
		if e.Action == "stall.payout_approve" && e.ActorID != f.volB.UserID {
			t.Errorf("approval audited as %s, want %s", e.ActorID, f.volB.UserID)
		}
	}
	want := "stall.payout_reject stall.payout_propose stall.payout_approve stall.payout_propose stall.payout_propose stall.payout_approve stall.payout_propose stall.create"
	if strings.Join(actions, " ") != want {
		t.Fatalf("audit actions newest first = %q, want %q", strings.Join(actions, " "), want)
	}
}

func TestRegistry_UpdateStall_SuspendBumpsConfigAndRefusesServerFields(t *testing.T) {
	f := newFixture(t)
	s := f.stall(t, f.volA, f.marketInScope.ID, "C-1")
	suspended := choso.StallSuspended
	got, err := f.reg.UpdateStall(f.ctx, f.volB, s.ID, choso.StallPatch{Status: &suspended})
	if err != nil || got.Status != choso.StallSuspended || got.ConfigVersion != s.ConfigVersion+1 {
		t.Fatalf("suspend: %+v, %v", got, err)
	}
	f.stall(t, f.volA, f.marketInScope.ID, "C-2")
	taken := "C-2"
	_, err = f.reg.UpdateStall(f.ctx, f.volA, s.ID, choso.StallPatch{Code: &taken})
	wantCode(t, err, choso.EConflict)
	badPhone := "123"
	_, err = f.reg.UpdateStall(f.ctx, f.volA, s.ID, choso.StallPatch{VendorPhone: &badPhone})
	wantCode(t, err, choso.EInvalid)
}

func TestRegistry_Sessions(t *testing.T) {
	f := newFixture(t)
	_, _, _, err := f.reg.Login(f.ctx, "lan", "wrong password")
	wantCode(t, err, choso.EUnauthorized)
	_, _, _, errUnknown := f.reg.Login(f.ctx, "nobody", "wrong password")
	if choso.ErrorMessage(err) != choso.ErrorMessage(errUnknown) {
		t.Fatalf("unknown user says %q, wrong password %q: they must not differ", choso.ErrorMessage(errUnknown), choso.ErrorMessage(err))
	}
	token, sess, u, err := f.reg.Login(f.ctx, " LAN ", f.passwords["lan"])
	if err != nil || u.ID != f.volA.UserID || !sess.ExpiresAt().Equal(f.now.Add(choso.SessionIdleTimeout)) {
		t.Fatalf("Login: %v %+v", err, sess)
	}
	p, _, err := f.reg.Authenticate(f.ctx, token)
	if err != nil || p.UserID != f.volA.UserID || p.Role != choso.RoleVolunteer {
		t.Fatalf("Authenticate: %+v %v", p, err)
	}
	_, _, err = f.reg.Authenticate(f.ctx, token+"x")
	wantCode(t, err, choso.EUnauthorized)

	// Used within the idle limit, the session lives on past it.
	f.advance(20 * time.Minute)
	if _, _, err := f.reg.Authenticate(f.ctx, token); err != nil {
		t.Fatalf("after 20 min: %v", err)
	}
	f.advance(20 * time.Minute)
	if _, _, err := f.reg.Authenticate(f.ctx, token); err != nil {
		t.Fatalf("after 40 min with use at 20: %v", err)
	}
	// Idle past 30 minutes, it ends.
	f.advance(31 * time.Minute)
	_, _, err = f.reg.Authenticate(f.ctx, token)
	wantCode(t, err, choso.EUnauthorized)

	// The absolute limit holds however busy the session is.
	token, _, _, _ = f.reg.Login(f.ctx, "lan", f.passwords["lan"])
	for range 12*3 + 1 {
		f.advance(20 * time.Minute)
		if _, _, err = f.reg.Authenticate(f.ctx, token); err != nil {
			break
		}
	}
	wantCode(t, err, choso.EUnauthorized)

	// A password change ends every session.
	token, _, _, _ = f.reg.Login(f.ctx, "lan", f.passwords["lan"])
	other, _, _, _ := f.reg.Login(f.ctx, "lan", f.passwords["lan"])
	if _, err := f.reg.SetPassword(f.ctx, f.volA, f.volA.UserID, "wrong", "a new long password"); choso.ErrorCode(err) != choso.EInvalid {
		t.Fatalf("SetPassword with a wrong current password: %v", err)
	}
	if _, err := f.reg.SetPassword(f.ctx, f.volA, f.volA.UserID, f.passwords["lan"], "a new long password"); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{token, other} {
		_, _, err = f.reg.Authenticate(f.ctx, tok)
		wantCode(t, err, choso.EUnauthorized)
	}
	if _, _, _, err := f.reg.Login(f.ctx, "lan", "a new long password"); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	// Another volunteer cannot touch lan's password; to them lan does not exist.
	_, err = f.reg.SetPassword(f.ctx, f.volB, f.volA.UserID, "", "hijacked password")
	wantCode(t, err, choso.ENotFound)

	// Disabling a user ends their sessions and their logins.
	token, _, _, _ = f.reg.Login(f.ctx, "minh", f.passwords["minh"])
	yes := true
	if _, err := f.reg.UpdateUser(f.ctx, f.admin, f.volB.UserID, choso.UserPatch{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.reg.Authenticate(f.ctx, token)
	wantCode(t, err, choso.EUnauthorized)
	_, _, _, err = f.reg.Login(f.ctx, "minh", f.passwords["minh"])
	wantCode(t, err, choso.EUnauthorized)
	_, err = f.reg.Logout(f.ctx, "never-issued"), nil
	if err != nil {
		t.Fatal(err)
	}
}

func TestRegistry_Users_AdminOnlyAndFirstAdminOnce(t *testing.T) {
	f := newFixture(t)
	_, _, err := f.reg.CreateUser(f.ctx, f.volA, choso.NewUser{Username: "evil", Role: choso.RoleAdmin})
	wantCode(t, err, choso.EForbidden)
	_, _, err = f.reg.CreateUser(f.ctx, f.admin, choso.NewUser{Username: "LAN", Role: choso.RoleAdmin})
	wantCode(t, err, choso.EConflict)
	_, _, err = f.reg.CreateUser(f.ctx, f.admin, choso.NewUser{Username: "ghost", Role: choso.RoleVolunteer, Scope: []string{"99999"}})
	wantCode(t, err, choso.EInvalid)
	_, err = f.reg.ListUsers(f.ctx, f.official)
	wantCode(t, err, choso.EForbidden)

	// Users exist, so no first admin.
	if pw, err := f.reg.EnsureFirstAdmin(f.ctx); err != nil || pw != "" {
		t.Fatalf("EnsureFirstAdmin with users: %q, %v; want nothing", pw, err)
	}
	db, err := bolt.Open(filepath.Join(t.TempDir(), "empty.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	empty := &choso.Registry{Store: db, Banks: fakeBanks{}, Hasher: auth.NewHasher(2), Now: time.Now}
	pw, err := empty.EnsureFirstAdmin(f.ctx)
	if err != nil || len(pw) != 16 {
		t.Fatalf("first admin: %q, %v", pw, err)
	}
	if again, _ := empty.EnsureFirstAdmin(f.ctx); again != "" {
		t.Fatal("a second first admin was created")
	}
	if _, _, u, err := empty.Login(f.ctx, "admin", pw); err != nil || u.Role != choso.RoleAdmin {
		t.Fatalf("login as the first admin: %v", err)
	}
}

// A commune imported under the wrong province and put right: its markets
// and stalls move with it, so the right province's official sees them and
// the province report counts their sales there.
func TestRegistry_CommunePutUnderAnotherProvince_TakesItsMarkets(t *testing.T) {
	f := newFixture(t)
	put := func(parent string) {
		t.Helper()
		if _, _, err := f.reg.PutRegions(f.ctx, f.admin, []*choso.Region{{Code: "07300", Name: "Xã Yên Dũng", ParentCode: parent}}); err != nil {
			t.Fatal(err)
		}
	}
	put("01") // under Hà Nội by mistake
	m, err := f.reg.CreateMarket(f.ctx, f.admin, choso.NewMarket{Name: "Chợ Yên Dũng", CommuneCode: "07300"})
	if err != nil {
		t.Fatal(err)
	}
	s := f.stall(t, f.admin, m.ID, "Y-1")
	f.putDay(t, s, "2026-11-20", 100_000, 0, 0)
	put("24") // put right: Bắc Ninh
	if got, err := f.reg.FindMarket(f.ctx, f.official, m.ID); err != nil || got.ProvinceCode != "24" {
		t.Fatalf("Bắc Ninh's official opens the market: %+v, %v", got, err)
	}
	if got, err := f.reg.FindStall(f.ctx, f.admin, s.ID); err != nil || got.ProvinceCode != "24" {
		t.Fatalf("the stall: %+v, %v; want province 24", got, err)
	}
	rep, err := f.reg.Report(f.ctx, f.admin, choso.ReportFilter{From: "2026-11-01", To: "2026-11-30", GroupBy: choso.ByProvince})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Rows {
		if r.Key == "01" && r.Sales.Amount != 0 {
			t.Errorf("the market's sales (%d) are still counted in Hà Nội", r.Sales.Amount)
		}
	}
}

func TestRegistry_Vendor_ExportAndErase(t *testing.T) {
	f := newFixture(t)
	s := f.stall(t, f.volA, f.marketInScope.ID, "D-1")
	_, err := f.reg.ExportVendor(f.ctx, f.volA, "0912345678")
	wantCode(t, err, choso.EForbidden)
	exp, err := f.reg.ExportVendor(f.ctx, f.admin, "+84 912 345 678")
	if err != nil || len(exp.Stalls) != 1 || exp.Stalls[0].ID != s.ID || len(exp.Audit) == 0 {
		t.Fatalf("export: %+v, %v", exp, err)
	}
	// The export is itself audited: the next export lists it.
	again, err := f.reg.ExportVendor(f.ctx, f.admin, "0912345678")
	if err != nil || !slices.ContainsFunc(again.Audit, func(e *choso.AuditEntry) bool {
		return e.Action == "vendor.export" && e.ObjectID == s.ID && e.ActorID == f.admin.UserID
	}) {
		t.Fatalf("the second export's audit does not hold the first export: %v", err)
	}
	erased, err := f.reg.EraseVendor(f.ctx, f.admin, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if erased.Vendor.Phone != "" || erased.Vendor.Name != choso.ErasedMarker || erased.Payout.Holder != choso.ErasedMarker ||
		erased.Payout.Account != "*********4567" || erased.Status != choso.StallSuspended || erased.ErasedAt == nil {
		t.Fatalf("erased stall = %+v", erased)
	}
	_, err = f.reg.ExportVendor(f.ctx, f.admin, "0912345678")
	wantCode(t, err, choso.ENotFound)
	_, err = f.reg.EraseVendor(f.ctx, f.admin, s.ID)
	wantCode(t, err, choso.EConflict)
	// Other fields of an erased stall can still change; personal ones cannot come back.
	name := "Quầy đã đóng"
	if _, err := f.reg.UpdateStall(f.ctx, f.volA, s.ID, choso.StallPatch{Name: &name}); err != nil {
		t.Fatalf("rename an erased stall: %v", err)
	}
	phone := "0912345678"
	_, err = f.reg.UpdateStall(f.ctx, f.volA, s.ID, choso.StallPatch{VendorPhone: &phone})
	wantCode(t, err, choso.EConflict)
	// The edit page sends the erased fields back as shown: that is no change.
	marker, closed := choso.ErasedMarker, "Quầy đã đóng hẳn"
	if _, err := f.reg.UpdateStall(f.ctx, f.volA, s.ID, choso.StallPatch{Name: &closed, VendorName: &marker}); err != nil {
		t.Fatalf("rename with the erased name sent back as shown: %v", err)
	}
	// An erased vendor's stall does not sell again: its account is masked.
	active := choso.StallActive
	_, err = f.reg.UpdateStall(f.ctx, f.volA, s.ID, choso.StallPatch{Status: &active})
	wantCode(t, err, choso.EConflict)
	// The audit log, which no erasure rewrites, never held the names.
	page, err := f.reg.ListAudit(f.ctx, f.admin, choso.AuditFilter{ObjectID: s.ID, Limit: 200})
	if err != nil || len(page.Data) < 3 {
		t.Fatalf("audit: %d entries, %v", len(page.Data), err)
	}
	for _, e := range page.Data {
		for _, c := range e.Changes {
			if v := c.Before + " " + c.After; strings.Contains(v, "Nguyễn Thị Lan") || strings.Contains(v, "NGUYEN THI LAN") || strings.Contains(v, "912345678") {
				t.Errorf("audit %s %s holds personal data: %q", e.Action, c.Field, v)
			}
		}
	}
}

func TestRegistry_EveryChangeIsAudited(t *testing.T) {
	f := newFixture(t)
	s := f.stall(t, f.volA, f.marketInScope.ID, "E-1")
	name := "Chợ Thương (mới)"
	f.reg.UpdateMarket(f.ctx, f.volA, f.marketInScope.ID, choso.MarketPatch{Name: &name})
	cat := "Thủy sản"
	f.reg.UpdateStall(f.ctx, f.volA, s.ID, choso.StallPatch{Category: &cat})
	page, err := f.reg.ListAudit(f.ctx, f.admin, choso.AuditFilter{ActorID: f.volA.UserID, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*choso.AuditEntry{}
	for _, e := range page.Data {
		got[e.Action+" "+e.ObjectID] = e
	}
	for _, want := range []string{"market.create " + f.marketInScope.ID, "market.update " + f.marketInScope.ID, "stall.create " + s.ID, "stall.update " + s.ID} {
		if got[want] == nil {
			t.Errorf("no audit entry %q", want)
		}
	}
	if e := got["stall.update "+s.ID]; e == nil || len(e.Changes) != 1 || e.Changes[0] != (choso.FieldChange{Field: "category", Before: "Ăn uống", After: "Thủy sản"}) {
		t.Fatalf("stall.update changes = %+v", e)
	}
	_, err = f.reg.ListAudit(f.ctx, f.volA, choso.AuditFilter{})
	wantCode(t, err, choso.EForbidden)
}

// A stall keeps the payout accounts its changes replaced, newest first and
// at most MaxFormerPayouts: PayoutAt names the one in force at a time, a
// list masks them as it masks the current one, and erasing the vendor
// drops them.
func TestStall_FormerPayouts(t *testing.T) {
	f := newFixture(t)
	s := f.stall(t, f.volA, f.marketInScope.ID, "B-8")
	var changed []time.Time
	accounts := []string{"80010000001", "80010000002", "80010000003", "80010000004"}
	for i, acct := range accounts {
		f.advance(time.Hour)
		if _, err := f.reg.ProposePayoutChange(f.ctx, f.volA, s.ID, choso.PayoutAccount{BIN: "970459", Account: acct, Holder: "NGUYEN THI LAN"}); err != nil {
			t.Fatal(err)
		}
		got, err := f.reg.ApprovePayoutChange(f.ctx, f.volB, s.ID, time.Time{})
		if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		changed = append(changed, got.FormerPayouts[0].Until)
		s = got
	}
	if len(s.FormerPayouts) != choso.MaxFormerPayouts {
		t.Fatalf("after %d changes: %d former accounts, want %d", len(accounts), len(s.FormerPayouts), choso.MaxFormerPayouts)
	}
	for i, want := range []string{"80010000003", "80010000002", "80010000001"} {
		if got := s.FormerPayouts[i].Account.Account; got != want {
			t.Errorf("former account %d: %s, want %s (newest first)", i, got, want)
		}
	}
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{changed[1].Add(-time.Minute), "80010000001"}, // before the second change: the first's new account
		{changed[1], "80010000002"},
		{changed[3].Add(-time.Second), "80010000003"},
		{changed[3], "80010000004"},
		{changed[3].Add(time.Hour), "80010000004"},
	} {
		if got := s.PayoutAt(c.at).Account; got != c.want {
			t.Errorf("PayoutAt(%v): %s, want %s", c.at, got, c.want)
		}
	}
	if m := s.Masked(); m.FormerPayouts[0].Account.Account != choso.MaskAccount("80010000003") || s.FormerPayouts[0].Account.Account != "80010000003" {
		t.Errorf("Masked: former %s (the stall's own now %s), want it masked on the copy only", m.FormerPayouts[0].Account.Account, s.FormerPayouts[0].Account.Account)
	}
	erased, err := f.reg.EraseVendor(f.ctx, f.admin, s.ID)
	if err != nil || erased.FormerPayouts != nil {
		t.Fatalf("after erasure: former accounts %+v, %v; want none", erased.FormerPayouts, err)
	}
}

// A vendor who changed back to an account had before is paid into it
// once: PayoutAccounts names each BIN and account one time, the current
// first, whatever its holder's spelling then.
func TestStall_PayoutAccounts_EachOnce(t *testing.T) {
	a := choso.PayoutAccount{BIN: "970436", Account: "0011001234567", Holder: "LE THI HOA"}
	b := choso.PayoutAccount{BIN: "970436", Account: "0011009999999", Holder: "LE THI HOA"}
	older := a
	older.Holder = "LÊ THỊ HOA"
	s := &choso.Stall{Payout: a, FormerPayouts: []choso.FormerPayout{{Account: b}, {Account: older}}}
	if got := s.PayoutAccounts(); !slices.Equal(got, []choso.PayoutAccount{a, b}) {
		t.Fatalf("PayoutAccounts: %+v, want the current account and the other once", got)
	}
}
