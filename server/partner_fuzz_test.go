package server

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/bolt"
)

// FuzzDecodeCursor feeds arbitrary cursors to the partner feed's decoder:
// it never panics, accepts only what this server signed for this partner,
// and a partner cannot use another partner's cursor.
func FuzzDecodeCursor(f *testing.F) {
	s := New(Config{CursorKey: []byte("fuzz cursor key, 32 bytes long!!")})
	for _, seq := range []uint64{0, 1, 42, 1 << 40, ^uint64(0)} {
		f.Add(s.encodeCursor("ptn_a", seq))
	}
	f.Add("")
	f.Add("AQAAAAAAAAAq")
	f.Add("not base64 at all!")
	f.Fuzz(func(t *testing.T, cursor string) {
		seq, err := s.decodeCursor("ptn_a", cursor)
		if err != nil {
			if choso.ErrorCode(err) != ecursorInvalid {
				t.Fatalf("error code %q, want %s", choso.ErrorCode(err), ecursorInvalid)
			}
			return
		}
		if cursor == "" {
			return
		}
		if back, err := s.decodeCursor("ptn_a", s.encodeCursor("ptn_a", seq)); err != nil || back != seq {
			t.Fatalf("seq %d does not round-trip: %d, %v", seq, back, err)
		}
		if _, err := s.decodeCursor("ptn_b", cursor); err == nil {
			t.Fatalf("partner b accepted partner a's cursor %q", cursor)
		}
	})
}

// FuzzPartnerCredits posts arbitrary bodies as the bank's credits: the
// strict decoder and the credit rules never panic, every credit gets a
// known status, and posting an accepted body again changes nothing (the
// same bank_txn_id with the same content returns the stored result).
func FuzzPartnerCredits(f *testing.F) {
	for _, seed := range []string{
		`{"credits":[{"bank_txn_id":"FT1","bin":"970436","account":"0011001234567","amount":25000,"credited_at":"2026-11-26T09:30:00+07:00","content":"CSAB12CD34 bun cha"}]}`,
		`{"credits":[{"bank_txn_id":"FT2","bin":"970436","account":"0011 0012 34567","amount":1,"credited_at":"2026-11-26T02:30:00Z","content":""},{"bank_txn_id":"FT2","bin":"970436","account":"0011001234567","amount":2,"credited_at":"2026-11-26T02:30:00Z"}]}`,
		`{"credits":[{"bank_txn_id":"","bin":"97043","account":"","amount":-5,"credited_at":"0001-01-01T00:00:00Z"}]}`,
		`{"credits":[]}`,
		`{"credits":[{"bank_txn_id":"FT3","BANK_TXN_ID":"FT4"}]}`,
		`{"credits":null,"extra":1}`,
	} {
		f.Add([]byte(seed))
	}
	db, err := bolt.Open(filepath.Join(f.TempDir(), "choso.db"), bolt.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	ps := newTestPartners(db)
	ctx := context.Background()
	reg := &choso.Registry{Store: db, Banks: testBanks{}, Hasher: plainHasher{}, Now: time.Now}
	if _, _, err := reg.PutRegions(ctx, choso.SystemPrincipal("fuzz"), []*choso.Region{{Code: "24", Name: "Tỉnh Bắc Ninh"}}); err != nil {
		f.Fatal(err)
	}
	partner, _, _, err := ps.AddPartner(ctx, choso.SystemPrincipal("fuzz"), choso.NewPartner{Name: "Ngân hàng", Provinces: []string{"24"}})
	if err != nil {
		f.Fatal(err)
	}
	known := map[string]bool{choso.CreditCreated: true, choso.CreditDuplicate: true, choso.CreditConflict: true, choso.CreditInvalid: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req creditsRequest
		if unmarshalStrict(body, &req) != nil || len(req.Credits) > choso.MaxCreditsPerPost {
			return
		}
		first, err := postCredits(ctx, ps, partner, req.Credits)
		if err != nil {
			if code := choso.ErrorCode(err); code != choso.EInvalid && code != choso.ETooLarge {
				t.Fatalf("post: %v", err)
			}
			return
		}
		if len(first) != len(req.Credits) {
			t.Fatalf("%d results for %d credits", len(first), len(req.Credits))
		}
		again, err := postCredits(ctx, ps, partner, req.Credits)
		if err != nil {
			t.Fatalf("the same post again: %v", err)
		}
		for i, r := range first {
			if !known[r.Status] {
				t.Fatalf("credit %d: status %q", i, r.Status)
			}
			if r.Status == choso.CreditCreated && again[i].Status != choso.CreditDuplicate {
				t.Fatalf("credit %d posted again: %q, want duplicate", i, again[i].Status)
			}
		}
	})
}
