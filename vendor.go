package choso

import (
	"context"
	"time"
)

// VendorExport is everything held about a vendor (DESIGN.md §11): their
// stalls, the phones enrolled for them, the bank credits to their payout
// accounts, and the audit entries about those stalls.
type VendorExport struct {
	Phone      string        `json:"phone"`
	ExportedAt time.Time     `json:"exported_at"`
	Stalls     []*Stall      `json:"stalls"`
	Devices    []*Device     `json:"devices"`
	Credits    []*Credit     `json:"credits"`
	Audit      []*AuditEntry `json:"audit"`
}

// ExportVendor gathers everything held about the vendor with the given
// phone; admin only. The export is itself audited.
func (r *Registry) ExportVendor(ctx context.Context, p *Principal, phone string) (*VendorExport, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	e164, err := NormalizePhone(phone)
	if err != nil {
		return nil, err
	}
	now := r.now()
	out := &VendorExport{Phone: e164, ExportedAt: now, Stalls: []*Stall{}, Devices: []*Device{}, Credits: []*Credit{}, Audit: []*AuditEntry{}}
	// Read in a read transaction: a vendor's credits and audit may run to
	// thousands, and a write transaction would hold every phone's push
	// back while they are read. The export's own audit entries follow.
	err = r.Store.View(ctx, func(tx Tx) error {
		out.Stalls, out.Devices, out.Credits, out.Audit = out.Stalls[:0], out.Devices[:0], out.Credits[:0], out.Audit[:0]
		stalls, err := tx.FindStallsByPhone(e164)
		if err != nil {
			return err
		}
		if len(stalls) == 0 {
			return Errorf(ENotFound, "no stall has a vendor with phone %s", MaskPhone(e164))
		}
		out.Stalls = stalls
		for _, s := range stalls {
			devices, err := tx.ListStallDevices(s.ID)
			if err != nil {
				return err
			}
			out.Devices = append(out.Devices, devices...)
			for after := uint64(0); ; {
				credits, err := tx.ListStallCredits(s.ID, after, MaxPageSize)
				if err != nil {
					return err
				}
				if len(credits) == 0 { // a store may return fewer than asked: stop at an empty page
					break
				}
				out.Credits = append(out.Credits, credits...)
				after = credits[len(credits)-1].StallPos
			}
			for before := uint64(0); ; {
				entries, err := tx.ListAudit(AuditFilter{ObjectID: s.ID, Before: before, Limit: MaxPageSize})
				if err != nil {
					return err
				}
				out.Audit = append(out.Audit, entries...)
				if len(entries) < MaxPageSize {
					break
				}
				before = entries[len(entries)-1].Seq
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = r.Store.Update(ctx, func(tx Tx) error {
		for _, s := range out.Stalls {
			if err := audit(tx, p, now, "vendor.export", "stall", s.ID, nil, "personal data exported"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ErasedMarker replaces erased personal fields.
const ErasedMarker = "(đã xoá)"

// EraseVendor erases the personal fields of a stall's vendor: name, phone,
// account holder name, and all but the last four characters of the account
// number; admin only. The stall is suspended, its sales and totals stay
// (financial aggregates are kept), and the audit log keeps only masked values.
func (r *Registry) EraseVendor(ctx context.Context, p *Principal, stallID string) (*Stall, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	now := r.now()
	var s *Stall
	err := r.Store.Update(ctx, func(tx Tx) error {
		var err error
		if s, err = findStallInScope(tx, p, stallID); err != nil {
			return err
		}
		if s.ErasedAt != nil {
			return Errorf(EConflict, "this vendor's personal data was already erased")
		}
		cs := changeSet{}
		cs.add("vendor_name", "(personal)", ErasedMarker)
		cs.add("vendor_phone", MaskPhone(s.Vendor.Phone), "")
		cs.add("holder_name", "(personal)", ErasedMarker)
		cs.add("status", string(s.Status), string(StallSuspended))
		s.Vendor = Vendor{Name: ErasedMarker}
		s.Payout.Holder = ErasedMarker
		s.Payout.Account = MaskAccount(s.Payout.Account)
		s.PendingPayout = nil
		s.FormerPayouts = nil
		s.Status = StallSuspended
		s.ErasedAt = &now
		s.ConfigVersion++
		s.UpdatedAt = now
		if err := tx.UpdateStall(s); err != nil {
			return err
		}
		return audit(tx, p, now, "vendor.erase", "stall", s.ID, cs, "personal data erased on request")
	})
	return s, err
}
