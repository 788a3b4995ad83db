package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/choso/choso"
)

// An admin's export of a vendor (DESIGN.md §11) holds everything kept about
// them: besides their stalls and the audit, the phones enrolled for their
// stalls and the bank credits to their payout account.
func TestVendorExport_HoldsDevicesAndCredits(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, false)
	ctx := context.Background()
	pt, err := rs.partners.FindPartner(ctx, obj.partner)
	if err != nil {
		t.Fatal(err)
	}
	res, err := rs.partners.PostCredits(ctx, pt, []choso.CreditInput{{BankTxnID: "FT26112600001", BIN: "970436", Account: "0011001234567",
		Amount: 25000, CreditedAt: time.Now().Add(-time.Hour), Content: "TRAN VAN BINH chuyen tien"}})
	if err != nil || res[0].Status != choso.CreditCreated || res[0].Credit.StallID != obj.stall {
		t.Fatalf("credit: %+v, %v", res, err)
	}
	r := rs.do(t, "POST", "/v1/admin/vendors/export", strings.NewReader(`{"phone":"0912 345 678"}`),
		"Content-Type", "application/json", "Authorization", "Bearer "+rs.token(t, "admin"))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("export: %d", r.StatusCode)
	}
	var exp struct {
		Stalls  []choso.Stall  `json:"stalls"`
		Devices []choso.Device `json:"devices"`
		Credits []choso.Credit `json:"credits"`
	}
	if err := json.NewDecoder(r.Body).Decode(&exp); err != nil {
		t.Fatal(err)
	}
	if len(exp.Stalls) != 1 || exp.Stalls[0].ID != obj.stall {
		t.Fatalf("export stalls = %+v", exp.Stalls)
	}
	var devices []string
	for _, d := range exp.Devices {
		devices = append(devices, d.ID)
	}
	if !contains(devices, obj.device) || len(devices) != 2 { // the phone in use and the revoked one
		t.Errorf("export devices %v, want the stall's two phones, %s among them", devices, obj.device)
	}
	if len(exp.Credits) != 1 || exp.Credits[0].BankTxnID != "FT26112600001" || exp.Credits[0].Content != "TRAN VAN BINH chuyen tien" {
		t.Errorf("export credits %+v, want the credit FT26112600001 to the vendor's account", exp.Credits)
	}
}

// An official reads figures and changes nothing (DESIGN.md §1): the stall's
// record comes to them with the vendor's phone and the account masked, as
// lists show them. Those who may change the stall see them whole.
func TestStallView_OfficialsGetThePhoneAndAccountMasked(t *testing.T) {
	rs := newRegistryServer(t)
	obj := rs.objects(t, true)
	for _, tt := range []struct {
		user   string
		masked bool
	}{{"official", true}, {"volin", false}, {"admin", false}} {
		r := rs.do(t, "GET", "/v1/stalls/"+obj.stall, nil, "Authorization", "Bearer "+rs.token(t, tt.user))
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: GET stall: %d", tt.user, r.StatusCode)
		}
		var st choso.Stall
		if err := json.NewDecoder(r.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		if st.PendingPayout == nil {
			t.Fatalf("%s: the stall's pending payout change is missing", tt.user)
		}
		for _, v := range []string{st.Vendor.Phone, st.Payout.Account, st.PendingPayout.Account.Account} {
			if strings.Contains(v, "*") != tt.masked {
				t.Errorf("%s: phone %q, account %q, proposed account %q: want masked=%v", tt.user,
					st.Vendor.Phone, st.Payout.Account, st.PendingPayout.Account.Account, tt.masked)
				break
			}
		}
	}
}
