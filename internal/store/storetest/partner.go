package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/choso/choso"
)

var partnerTests = []testCase{
	{"Partner_Create_FindReturnsEveryFieldWithTheSealedSecret", testPartnerCreateFind},
	{"Partner_Create_IDExistsConflict", testPartnerCreateIDExists},
	{"Partner_Create_MalformedIDInvalid", testPartnerCreateMalformed},
	{"Partner_Update_ReplacesEveryField", testPartnerUpdate},
	{"Partner_Update_MissingNotFound", testPartnerUpdateMissing},
	{"Partner_Find_MissingNotFound", testPartnerFindMissing},
	{"Partner_Find_ReturnsACopyTheCallerOwns", testPartnerFindCopy},
	{"Partner_List_EveryPartnerInIDOrder", testPartnerList},
	{"PartnerKey_Put_FindReturnsEveryFieldWithTheSealedSecret", testPartnerKeyPutFind},
	{"PartnerKey_Put_ReplacesAndMovesThePartnerIndex", testPartnerKeyPutReplaces},
	{"PartnerKey_Put_MalformedKeysInvalid", testPartnerKeyPutMalformed},
	{"PartnerKey_Find_MissingNotFound", testPartnerKeyFindMissing},
	{"PartnerKey_List_OldestFirstOnlyThePartnersKeys", testPartnerKeyList},
}

// newPartner returns a partner with every field set, so a round trip shows
// any field a backend drops, the sealed secret JSON hides among them.
func newPartner(id, name string) *choso.Partner {
	return &choso.Partner{
		ID: id, Name: name, Provinces: []string{bacNinh.Code, haNoi.Code}, MarketIDs: []string{"mkt_benthanh"},
		Disabled: false, CreatedAt: at(7, 0), WebhookURL: "https://" + id + ".example.vn/choso",
		WebhookSecretSealed: []byte("sealed:" + id + "\x00\xff"),
	}
}

// newPartnerKey returns a key with every field set, revoked if revoked.
func newPartnerKey(id, partnerID string, created time.Time, revoked bool) *choso.PartnerKey {
	k := &choso.PartnerKey{ID: id, PartnerID: partnerID, SecretSealed: []byte("sealed:" + id + "\x00\xff"), CreatedAt: created}
	if revoked {
		r := created.Add(48 * time.Hour)
		k.RevokedAt = &r
	}
	return k
}

var (
	partnerVCB = newPartner("ptn_vcb", "Vietcombank")
	partnerTCB = newPartner("ptn_tcb", "Techcombank")
)

func createPartners(t *testing.T, s choso.Store, partners ...*choso.Partner) {
	t.Helper()
	update(t, s, func(tx choso.Tx) error {
		for _, p := range partners {
			c := *p
			if err := tx.CreatePartner(&c); err != nil {
				return fmt.Errorf("CreatePartner(%s): %w", p.ID, err)
			}
		}
		return nil
	})
}

func putPartnerKeys(t *testing.T, s choso.Store, keys ...*choso.PartnerKey) {
	t.Helper()
	update(t, s, func(tx choso.Tx) error {
		for _, k := range keys {
			c := *k
			if err := tx.PutPartnerKey(&c); err != nil {
				return fmt.Errorf("PutPartnerKey(%s): %w", k.ID, err)
			}
		}
		return nil
	})
}

func wantPartner(t *testing.T, s choso.Store, want *choso.Partner) {
	t.Helper()
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindPartner(want.ID)
		if err != nil {
			t.Fatalf("FindPartner(%s): %v", want.ID, err)
		}
		wantEqual(t, "FindPartner("+want.ID+")", got, want)
		return nil
	})
}

func testPartnerCreateFind(t *testing.T, h Harness) {
	s := open(t, h)
	bare := &choso.Partner{ID: "ptn_bare", Name: "Ngân hàng trống"} // nil slices, zero time, no secret
	createPartners(t, s, partnerVCB, bare)
	wantPartner(t, s, partnerVCB)
	wantPartner(t, s, bare)
}

func testPartnerCreateIDExists(t *testing.T, h Harness) {
	s := open(t, h)
	createPartners(t, s, partnerVCB)
	dup := newPartner(partnerVCB.ID, "Vietcombank giả")
	err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.CreatePartner(dup) })
	wantCode(t, "CreatePartner(existing ID)", err, choso.EConflict)
	wantPartner(t, s, partnerVCB)
}

func testPartnerCreateMalformed(t *testing.T, h Harness) {
	s := open(t, h)
	for _, id := range []string{"", "ptn/vcb"} {
		err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.CreatePartner(newPartner(id, "Ngân hàng")) })
		wantCode(t, fmt.Sprintf("CreatePartner(%q)", id), err, choso.EInvalid)
	}
	view(t, s, func(tx choso.Tx) error {
		if got, err := tx.ListPartners(); err != nil || len(got) != 0 {
			t.Errorf("ListPartners after refused creates: got %v, %v; want none", got, err)
		}
		return nil
	})
}

func testPartnerUpdate(t *testing.T, h Harness) {
	s := open(t, h)
	createPartners(t, s, partnerVCB)
	changed := *partnerVCB
	changed.Name, changed.Provinces, changed.MarketIDs = "Vietcombank Bắc Ninh", []string{bacNinh.Code}, nil
	changed.Disabled, changed.WebhookURL, changed.WebhookSecretSealed = true, "", nil
	update(t, s, func(tx choso.Tx) error { c := changed; return tx.UpdatePartner(&c) })
	wantPartner(t, s, &changed)
	rotated := changed
	rotated.WebhookURL, rotated.WebhookSecretSealed = "https://hook.example.vn", []byte("sealed:new")
	update(t, s, func(tx choso.Tx) error { c := rotated; return tx.UpdatePartner(&c) })
	wantPartner(t, s, &rotated)
}

func testPartnerUpdateMissing(t *testing.T, h Harness) {
	s := open(t, h)
	createPartners(t, s, partnerVCB)
	for _, id := range []string{partnerTCB.ID, ""} {
		err := s.Update(t.Context(), func(tx choso.Tx) error { return tx.UpdatePartner(newPartner(id, "Ngân hàng")) })
		wantCode(t, fmt.Sprintf("UpdatePartner(%q)", id), err, choso.ENotFound)
	}
	view(t, s, func(tx choso.Tx) error {
		if got, err := tx.ListPartners(); err != nil || len(got) != 1 {
			t.Errorf("ListPartners after refused updates: got %v, %v; want only %s", got, err, partnerVCB.ID)
		}
		return nil
	})
}

func testPartnerFindMissing(t *testing.T, h Harness) {
	s := open(t, h)
	createPartners(t, s, partnerVCB)
	view(t, s, func(tx choso.Tx) error {
		for _, id := range []string{"", "ptn_vc", "ptn_vcb2", "PTN_VCB", partnerVCB.ID + "/x"} {
			_, err := tx.FindPartner(id)
			wantCode(t, fmt.Sprintf("FindPartner(%q)", id), err, choso.ENotFound)
		}
		return nil
	})
}

func testPartnerFindCopy(t *testing.T, h Harness) {
	s := open(t, h)
	createPartners(t, s, partnerVCB)
	putPartnerKeys(t, s, newPartnerKey("key_vcb1", partnerVCB.ID, at(7, 0), false))
	view(t, s, func(tx choso.Tx) error {
		p, err := tx.FindPartner(partnerVCB.ID)
		if err != nil {
			t.Fatalf("FindPartner: %v", err)
		}
		k, err := tx.FindPartnerKey("key_vcb1")
		if err != nil {
			t.Fatalf("FindPartnerKey: %v", err)
		}
		p.Provinces[0], p.WebhookSecretSealed[0] = "xx", 'X'
		k.SecretSealed[0] = 'X'
		return nil
	})
	wantPartner(t, s, partnerVCB)
	view(t, s, func(tx choso.Tx) error {
		k, err := tx.FindPartnerKey("key_vcb1")
		if err != nil {
			t.Fatalf("FindPartnerKey: %v", err)
		}
		wantEqual(t, "FindPartnerKey after changing an earlier copy", k, newPartnerKey("key_vcb1", partnerVCB.ID, at(7, 0), false))
		return nil
	})
}

func testPartnerList(t *testing.T, h Harness) {
	s := open(t, h)
	bidv := newPartner("ptn_bidv", "BIDV")
	bidv.Disabled = true
	createPartners(t, s, partnerVCB, bidv, partnerTCB)
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.ListPartners()
		if err != nil {
			t.Fatalf("ListPartners: %v", err)
		}
		wantEqual(t, "ListPartners", got, []*choso.Partner{bidv, partnerTCB, partnerVCB})
		return nil
	})
}

func testPartnerKeyPutFind(t *testing.T, h Harness) {
	s := open(t, h)
	createPartners(t, s, partnerVCB)
	live := newPartnerKey("key_vcb1", partnerVCB.ID, at(7, 0), false)
	revoked := newPartnerKey("key_vcb0", partnerVCB.ID, at(6, 0), true)
	putPartnerKeys(t, s, live, revoked)
	view(t, s, func(tx choso.Tx) error {
		for _, want := range []*choso.PartnerKey{live, revoked} {
			got, err := tx.FindPartnerKey(want.ID)
			if err != nil {
				t.Fatalf("FindPartnerKey(%s): %v", want.ID, err)
			}
			wantEqual(t, "FindPartnerKey("+want.ID+")", got, want)
		}
		return nil
	})
}

func partnerKeyIDs(t *testing.T, s choso.Store, partnerID string) []string {
	t.Helper()
	var ids []string
	view(t, s, func(tx choso.Tx) error {
		list, err := tx.ListPartnerKeys(partnerID)
		for _, k := range list {
			if k.PartnerID != partnerID {
				t.Errorf("ListPartnerKeys(%q): got a key of %q", partnerID, k.PartnerID)
			}
			ids = append(ids, k.ID)
		}
		return err
	})
	return ids
}

func testPartnerKeyPutReplaces(t *testing.T, h Harness) {
	s := open(t, h)
	createPartners(t, s, partnerVCB, partnerTCB)
	key := newPartnerKey("key_1", partnerVCB.ID, at(7, 0), false)
	putPartnerKeys(t, s, key)
	// Revocation replaces the key in place.
	revoked := newPartnerKey("key_1", partnerVCB.ID, at(7, 0), true)
	putPartnerKeys(t, s, revoked)
	view(t, s, func(tx choso.Tx) error {
		got, err := tx.FindPartnerKey("key_1")
		if err != nil {
			t.Fatalf("FindPartnerKey: %v", err)
		}
		wantEqual(t, "FindPartnerKey after revocation", got, revoked)
		return nil
	})
	wantEqual(t, "ListPartnerKeys after revocation", partnerKeyIDs(t, s, partnerVCB.ID), []string{"key_1"})
	// A key put under another partner leaves the first one's list.
	moved := newPartnerKey("key_1", partnerTCB.ID, at(7, 0), false)
	putPartnerKeys(t, s, moved)
	wantEqual(t, "ListPartnerKeys(old partner)", partnerKeyIDs(t, s, partnerVCB.ID), []string(nil))
	wantEqual(t, "ListPartnerKeys(new partner)", partnerKeyIDs(t, s, partnerTCB.ID), []string{"key_1"})
}

func testPartnerKeyPutMalformed(t *testing.T, h Harness) {
	s := open(t, h)
	createPartners(t, s, partnerVCB)
	tests := []struct{ id, partnerID string }{
		{"", partnerVCB.ID},
		{"key/1", partnerVCB.ID},
		{"key_1", ""},
		{"key_1", "ptn/vcb"},
	}
	for _, tt := range tests {
		err := s.Update(t.Context(), func(tx choso.Tx) error {
			return tx.PutPartnerKey(newPartnerKey(tt.id, tt.partnerID, at(7, 0), false))
		})
		wantCode(t, fmt.Sprintf("PutPartnerKey(%q, %q)", tt.id, tt.partnerID), err, choso.EInvalid)
	}
	if got := partnerKeyIDs(t, s, partnerVCB.ID); len(got) != 0 {
		t.Fatalf("ListPartnerKeys after refused puts: got %v, want none", got)
	}
}

func testPartnerKeyFindMissing(t *testing.T, h Harness) {
	s := open(t, h)
	createPartners(t, s, partnerVCB)
	putPartnerKeys(t, s, newPartnerKey("key_vcb1", partnerVCB.ID, at(7, 0), false))
	view(t, s, func(tx choso.Tx) error {
		for _, id := range []string{"", "key_vcb", "key_vcb12", partnerVCB.ID, partnerVCB.ID + "/key_vcb1"} {
			_, err := tx.FindPartnerKey(id)
			wantCode(t, fmt.Sprintf("FindPartnerKey(%q)", id), err, choso.ENotFound)
		}
		return nil
	})
}

func testPartnerKeyList(t *testing.T, h Harness) {
	s := open(t, h)
	vcb2 := &choso.Partner{ID: partnerVCB.ID + "2", Name: "Neighbour"} // its keys sort next to ptn_vcb's
	createPartners(t, s, partnerVCB, partnerTCB, vcb2)
	// IDs in the opposite order of creation, two created together.
	putPartnerKeys(t, s,
		newPartnerKey("key_d", partnerVCB.ID, at(6, 0), true),
		newPartnerKey("key_c", partnerVCB.ID, at(9, 0), false),
		newPartnerKey("key_b", partnerVCB.ID, at(8, 0), false),
		newPartnerKey("key_a", partnerVCB.ID, at(9, 0), false),
		newPartnerKey("key_t", partnerTCB.ID, at(5, 0), false),
		newPartnerKey("key_n", vcb2.ID, at(5, 0), false),
	)
	tests := []struct {
		partnerID string
		want      []string
	}{
		{partnerVCB.ID, []string{"key_d", "key_b", "key_a", "key_c"}},
		{partnerTCB.ID, []string{"key_t"}},
		{vcb2.ID, []string{"key_n"}},
		{"ptn_none", nil},
		{"ptn_vc", nil},
		{"", nil},
	}
	for _, tt := range tests {
		if got := partnerKeyIDs(t, s, tt.partnerID); !slices.Equal(got, tt.want) {
			t.Errorf("ListPartnerKeys(%q): got %v, want %v", tt.partnerID, got, tt.want)
		}
	}
}
