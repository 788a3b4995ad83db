package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/choso/choso"
)

var auditTests = []testCase{
	{"Audit_Append_SetsIncreasingSeqAndKeepsEveryField", testAuditAppend},
	{"Audit_Append_RolledBackLeavesNoEntry", testAuditAppendRolledBack},
	{"Audit_List_FiltersByObjectAndActorNewestFirst", testAuditListFilters},
	{"Audit_List_PagesWithBeforeWithoutDuplicatesOrGaps", testAuditListPages},
}

func newAudit(actor *choso.User, action, objectID string, minute int) *choso.AuditEntry {
	return &choso.AuditEntry{
		At: at(9, 0).Add(time.Duration(minute) * time.Minute), ActorID: actor.ID, Actor: actor.Username,
		Action: action, ObjectType: "stall", ObjectID: objectID,
	}
}

// appendAudits appends entries in order, each in its own transaction, and
// returns copies carrying the Seq the store gave them.
func appendAudits(t *testing.T, s choso.Store, entries ...*choso.AuditEntry) []*choso.AuditEntry {
	t.Helper()
	var out []*choso.AuditEntry
	for _, e := range entries {
		c := *e
		update(t, s, func(tx choso.Tx) error { return tx.AppendAudit(&c) })
		out = append(out, &c)
	}
	return out
}

func listAudit(t *testing.T, s choso.Store, f choso.AuditFilter) []*choso.AuditEntry {
	t.Helper()
	var list []*choso.AuditEntry
	view(t, s, func(tx choso.Tx) error {
		var err error
		list, err = tx.ListAudit(f)
		return err
	})
	return list
}

func auditSeqs(list []*choso.AuditEntry) []uint64 {
	var seqs []uint64
	for _, e := range list {
		seqs = append(seqs, e.Seq)
	}
	return seqs
}

func testAuditAppend(t *testing.T, h Harness) {
	s := open(t, h)
	first := newAudit(lan, "stall.create", stallRau.ID, 0)
	first.Changes = []choso.FieldChange{
		{Field: "name", After: "Rau sạch cô Lan"},
		{Field: "vendor.phone", After: choso.MaskPhone(phoneLan)},
		{Field: "payout.account", After: choso.MaskAccount("0011004123456")},
	}
	first.Note = "Đăng ký tại chợ, có sự đồng ý của chủ quầy"
	second := newAudit(admin, "stall.payout_approve", stallRau.ID, 5)
	var inOne [2]choso.AuditEntry
	update(t, s, func(tx choso.Tx) error {
		inOne[0], inOne[1] = *first, *second
		for i := range inOne {
			if err := tx.AppendAudit(&inOne[i]); err != nil {
				return err
			}
		}
		return nil
	})
	later := appendAudits(t, s, newAudit(minh, "user.update", minh.ID, 9))
	seqs := []uint64{inOne[0].Seq, inOne[1].Seq, later[0].Seq}
	if seqs[0] == 0 || seqs[0] >= seqs[1] || seqs[1] >= seqs[2] {
		t.Fatalf("Seqs of three appends in order: got %v, want increasing from ≥ 1", seqs)
	}
	got := listAudit(t, s, choso.AuditFilter{})
	wantEqual(t, "ListAudit", got, []*choso.AuditEntry{later[0], &inOne[1], &inOne[0]})
}

func testAuditAppendRolledBack(t *testing.T, h Harness) {
	s := open(t, h)
	kept := appendAudits(t, s, newAudit(lan, "stall.create", stallRau.ID, 0))
	err := s.Update(t.Context(), func(tx choso.Tx) error {
		if err := tx.AppendAudit(newAudit(lan, "stall.update", stallRau.ID, 1)); err != nil {
			return err
		}
		return choso.Errorf(choso.EConflict, "the change itself failed")
	})
	wantCode(t, "Update that appended then failed", err, choso.EConflict)
	got := listAudit(t, s, choso.AuditFilter{ObjectID: stallRau.ID})
	wantEqual(t, "ListAudit after the rollback", got, kept)
	next := appendAudits(t, s, newAudit(lan, "stall.update", stallRau.ID, 2))
	if next[0].Seq <= kept[0].Seq {
		t.Fatalf("Seq after a rollback: got %d, want more than %d", next[0].Seq, kept[0].Seq)
	}
}

func testAuditListFilters(t *testing.T, h Harness) {
	s := open(t, h)
	// Object IDs where one is a prefix of another ("stl_rau" and
	// "stl_rau/x") must not mix.
	e := appendAudits(t, s,
		newAudit(lan, "stall.create", "stl_rau", 0),       // 0
		newAudit(lan, "stall.create", "stl_bun", 1),       // 1
		newAudit(admin, "stall.suspend", "stl_bun", 2),    // 2
		newAudit(lan, "stall.update", "stl_rau", 3),       // 3
		newAudit(minh, "market.update", "mkt_bac", 4),     // 4
		newAudit(admin, "stall.payout", "stl_rau", 5),     // 5
		newAudit(lan, "stall.update", "stl_rau/x", 6),     // 6
		newAudit(admin, "user.create", lan.ID, 7),         // 7
		newAudit(lan, "stall.update", "stl_rau", 8),       // 8
		newAudit(lan, "stall.update", "stl_ra", 9),        // 9
		newAudit(lan, "stall.update", "stl_rau", 10),      // 10
		newAudit(admin, "stall.payout", "stl_rau", 11),    // 11
		newAudit(minh, "region.import", "07210", 12),      // 12
		newAudit(lan, "stall.update", "stl_rau", 13),      // 13
		newAudit(lan, "stall.create", "stl_bun/rau", 14),  // 14
		newAudit(admin, "user.disable", "usr_minh", 15),   // 15
		newAudit(admin, "stall.resume", "stl_bun", 16),    // 16
		newAudit(lan, "stall.update", "stl_rau", 17),      // 17
		newAudit(admin, "user.update", "usr_lan/old", 18), // 18
	)
	seqs := func(idx ...int) []uint64 {
		var out []uint64
		for _, i := range idx {
			out = append(out, e[i].Seq)
		}
		return out
	}
	tests := []struct {
		name string
		f    choso.AuditFilter
		want []uint64
	}{
		{"everything", choso.AuditFilter{}, seqs(18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)},
		{"an object", choso.AuditFilter{ObjectID: "stl_rau"}, seqs(17, 13, 11, 10, 8, 5, 3, 0)},
		{"an object whose ID begins another's", choso.AuditFilter{ObjectID: "stl_ra"}, seqs(9)},
		{"an object with a slash", choso.AuditFilter{ObjectID: "stl_rau/x"}, seqs(6)},
		{"an actor", choso.AuditFilter{ActorID: admin.ID}, seqs(18, 16, 15, 11, 7, 5, 2)},
		{"an actor and an object", choso.AuditFilter{ActorID: admin.ID, ObjectID: "stl_rau"}, seqs(11, 5)},
		{"an object changed by no such actor", choso.AuditFilter{ActorID: minh.ID, ObjectID: "stl_rau"}, nil},
		{"a user as object, not actor", choso.AuditFilter{ObjectID: lan.ID}, seqs(7)},
		{"an unknown object", choso.AuditFilter{ObjectID: "stl_ghost"}, nil},
		{"an unknown actor", choso.AuditFilter{ActorID: "usr_ghost"}, nil},
		{"before", choso.AuditFilter{Before: e[5].Seq}, seqs(4, 3, 2, 1, 0)},
		{"before, an object", choso.AuditFilter{ObjectID: "stl_rau", Before: e[11].Seq}, seqs(10, 8, 5, 3, 0)},
		{"before, an actor", choso.AuditFilter{ActorID: minh.ID, Before: e[12].Seq}, seqs(4)},
		{"before, both", choso.AuditFilter{ActorID: lan.ID, ObjectID: "stl_rau", Before: e[10].Seq}, seqs(8, 3, 0)},
		{"before the first", choso.AuditFilter{Before: e[0].Seq}, nil},
		{"before past the newest", choso.AuditFilter{Before: e[18].Seq + 100}, seqs(18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)},
		{"limit", choso.AuditFilter{ObjectID: "stl_rau", Limit: 3}, seqs(17, 13, 11)},
		{"limit, both", choso.AuditFilter{ActorID: lan.ID, ObjectID: "stl_rau", Limit: 2}, seqs(17, 13)},
		{"zero limit is a default page", choso.AuditFilter{ActorID: minh.ID, Limit: 0}, seqs(12, 4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := listAudit(t, s, tt.f)
			wantEqual(t, fmt.Sprintf("ListAudit(%+v) seqs", tt.f), auditSeqs(got), tt.want)
			for _, g := range got {
				for _, w := range e {
					if w.Seq == g.Seq {
						wantEqual(t, fmt.Sprintf("entry %d", g.Seq), g, w)
					}
				}
			}
		})
	}
}

func testAuditListPages(t *testing.T, h Harness) {
	s := open(t, h)
	const n = 53
	var all []*choso.AuditEntry
	update(t, s, func(tx choso.Tx) error {
		for i := range n {
			actor, object := lan, stallRau.ID
			if i%4 == 0 {
				actor, object = admin, stallBun.ID
			}
			e := newAudit(actor, "stall.update", object, i)
			if err := tx.AppendAudit(e); err != nil {
				return err
			}
			all = append(all, e)
		}
		return nil
	})
	filters := []struct {
		name string
		f    choso.AuditFilter
	}{
		{"everything", choso.AuditFilter{}},
		{"an object", choso.AuditFilter{ObjectID: stallRau.ID}},
		{"an actor", choso.AuditFilter{ActorID: admin.ID}},
		{"both", choso.AuditFilter{ObjectID: stallRau.ID, ActorID: lan.ID}},
	}
	for _, ff := range filters {
		var want []uint64
		for i := len(all) - 1; i >= 0; i-- {
			e := all[i]
			if (ff.f.ObjectID == "" || e.ObjectID == ff.f.ObjectID) && (ff.f.ActorID == "" || e.ActorID == ff.f.ActorID) {
				want = append(want, e.Seq)
			}
		}
		for _, size := range []int{1, 5, 12} {
			t.Run(fmt.Sprintf("%s/pages of %d", ff.name, size), func(t *testing.T) {
				f := ff.f
				f.Limit = size
				var got []uint64
				for pages := 0; ; pages++ {
					if pages > n {
						t.Fatalf("more than %d pages: the cursor does not advance", n)
					}
					page := listAudit(t, s, f)
					if len(page) > size {
						t.Fatalf("page of %d entries, want at most %d", len(page), size)
					}
					if len(page) == 0 {
						break
					}
					got = append(got, auditSeqs(page)...)
					f.Before = page[len(page)-1].Seq
				}
				wantEqual(t, "paged seqs", got, want)
			})
		}
	}
}
