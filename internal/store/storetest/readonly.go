package storetest

import (
	"testing"

	"github.com/choso/choso"
)

// testViewRefusesEveryWrite calls each writing method of Tx in a read-only
// transaction, with arguments that would succeed in Update, and checks that
// each returns EInvalid and changes nothing.
func testViewRefusesEveryWrite(t *testing.T, h Harness) {
	s := open(t, h)
	seedRegions(t, s)
	seedUsers(t, s)
	seedStalls(t, s)
	putSessions(t, s, newSession("tok-lan-1", lan.ID, at(8, 0), at(8, 10)))
	createPartners(t, s, partnerVCB)
	writes := []struct {
		name  string
		write func(choso.Tx) error
	}{
		{"PutRegion", func(tx choso.Tx) error { return tx.PutRegion(commune("07211", "Phường Mới", "24")) }},
		{"CreateUser", func(tx choso.Tx) error { return tx.CreateUser(newUser("usr_new", "hoa.le", choso.RoleAdmin)) }},
		{"UpdateUser", func(tx choso.Tx) error { u := *lan; u.Disabled = true; return tx.UpdateUser(&u) }},
		{"PutSession", func(tx choso.Tx) error {
			return tx.PutSession(newSession("tok-lan-2", lan.ID, at(9, 0), at(9, 0)))
		}},
		{"DeleteSession", func(tx choso.Tx) error { return tx.DeleteSession(tokenHash("tok-lan-1")) }},
		{"DeleteUserSessions", func(tx choso.Tx) error { _, err := tx.DeleteUserSessions(lan.ID); return err }},
		{"DeleteExpiredSessions", func(tx choso.Tx) error { _, err := tx.DeleteExpiredSessions(at(23, 0)); return err }},
		{"CreateMarket", func(tx choso.Tx) error { return tx.CreateMarket(newMarket("mkt_new", "Chợ Mới", baDinh)) }},
		{"UpdateMarket", func(tx choso.Tx) error { m := *choThuong; m.Name = "Chợ Thương Mới"; return tx.UpdateMarket(&m) }},
		{"CreateStall", func(tx choso.Tx) error {
			return tx.CreateStall(newStall(choThuong, "stl_new", "A-01", "Gà ta", "+84909876543"))
		}},
		{"UpdateStall", func(tx choso.Tx) error { st := *stallRau; st.Code = "Z-01"; return tx.UpdateStall(&st) }},
		{"AppendAudit", func(tx choso.Tx) error { return tx.AppendAudit(newAudit(lan, "stall.update", stallRau.ID, 0)) }},
		{"CreatePartner", func(tx choso.Tx) error { return tx.CreatePartner(partnerTCB) }},
		{"UpdatePartner", func(tx choso.Tx) error { p := *partnerVCB; p.Disabled = true; return tx.UpdatePartner(&p) }},
		{"PutPartnerKey", func(tx choso.Tx) error {
			return tx.PutPartnerKey(newPartnerKey("key_vcb1", partnerVCB.ID, at(7, 0), false))
		}},
		{"AppendCredit", func(tx choso.Tx) error {
			_, err := tx.AppendCredit(newCredit("FT26061000001", stallRau.ID, "2026-03-02"))
			return err
		}},
		{"PutSaleRef", func(tx choso.Tx) error { return tx.PutSaleRef("CS7K3M9QXR", "01JNF8SALE000000000000000A") }},
		{"PutQRSale", func(tx choso.Tx) error { return tx.PutQRSale(stallRau.ID, 1772416800000, "01JNF8SALE000000000000000A") }},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			err := s.View(t.Context(), w.write)
			wantCode(t, w.name+" in View", err, choso.EInvalid)
		})
	}
	view(t, s, func(tx choso.Tx) error {
		if _, err := tx.FindRegion("07211"); choso.ErrorCode(err) != choso.ENotFound {
			t.Errorf("FindRegion(07211): got %v, want not found", err)
		}
		if n, _ := tx.CountUsers(); n != len(userAll) {
			t.Errorf("CountUsers: got %d, want %d", n, len(userAll))
		}
		if u, err := tx.FindUserByID(lan.ID); err != nil || u.Disabled {
			t.Errorf("FindUserByID(lan): got %+v, %v; want lan, not disabled", u, err)
		}
		if _, err := tx.FindSession(tokenHash("tok-lan-1")); err != nil {
			t.Errorf("FindSession(tok-lan-1): got %v, want the session", err)
		}
		if _, err := tx.FindSession(tokenHash("tok-lan-2")); choso.ErrorCode(err) != choso.ENotFound {
			t.Errorf("FindSession(tok-lan-2): got %v, want not found", err)
		}
		if n, _ := tx.CountMarkets(); n != len(marketAll) {
			t.Errorf("CountMarkets: got %d, want %d", n, len(marketAll))
		}
		if m, err := tx.FindMarket(choThuong.ID); err != nil || m.Name != choThuong.Name {
			t.Errorf("FindMarket(%s): got %+v, %v; want the name unchanged", choThuong.ID, m, err)
		}
		if n, _ := tx.CountStalls(""); n != len(stallAll) {
			t.Errorf("CountStalls: got %d, want %d", n, len(stallAll))
		}
		if _, err := tx.FindStallByCode(choBacGiang.ID, stallRau.Code); err != nil {
			t.Errorf("FindStallByCode(%s): got %v, want the stall", stallRau.Code, err)
		}
		if got, _ := tx.ListAudit(choso.AuditFilter{}); len(got) != 0 {
			t.Errorf("ListAudit: got %d entries, want none", len(got))
		}
		if got, err := tx.ListPartners(); err != nil || len(got) != 1 || got[0].Disabled {
			t.Errorf("ListPartners: got %v, %v; want %s alone, not disabled", got, err, partnerVCB.ID)
		}
		if _, err := tx.FindPartnerKey("key_vcb1"); choso.ErrorCode(err) != choso.ENotFound {
			t.Errorf("FindPartnerKey(key_vcb1): got %v, want not found", err)
		}
		if _, err := tx.FindCredit(partnerVCB.ID, "FT26061000001"); choso.ErrorCode(err) != choso.ENotFound {
			t.Errorf("FindCredit(FT26061000001): got %v, want not found", err)
		}
		if _, err := tx.FindSaleByRef("CS7K3M9QXR"); choso.ErrorCode(err) != choso.ENotFound {
			t.Errorf("FindSaleByRef(CS7K3M9QXR): got %v, want not found", err)
		}
		if got, err := tx.ListQRSales(stallRau.ID, 0, 1<<62); err != nil || len(got) != 0 {
			t.Errorf("ListQRSales: got %v, %v; want none", got, err)
		}
		return nil
	})
}
