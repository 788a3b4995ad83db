package choso

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// CreditInput is one credit notification as the bank posts it.
type CreditInput struct {
	BankTxnID  string    `json:"bank_txn_id"`
	BIN        string    `json:"bin"`
	Account    string    `json:"account"`
	Amount     int64     `json:"amount"`
	CreditedAt time.Time `json:"credited_at"`
	Content    string    `json:"content"`
}

// CreditResult is what happened to one posted credit.
type CreditResult struct {
	BankTxnID string  `json:"bank_txn_id"`
	Status    string  `json:"status"` // created, duplicate, conflict, invalid
	Message   string  `json:"message,omitempty"`
	Credit    *Credit `json:"credit,omitempty"`
}

// Credit statuses.
const (
	CreditCreated   = "created"
	CreditDuplicate = "duplicate" // the same bank_txn_id with the same content: the stored result
	CreditConflict  = "conflict"  // the same bank_txn_id with other content
	CreditInvalid   = "invalid"
)

// MatchWindow is how far a static-code credit's time may be from the sale's.
const MatchWindow = 10 * time.Minute

// MaxCreditAmount is the largest credit taken, in đồng.
const MaxCreditAmount = 10_000_000_000

// MaxCreditAhead is how far after the server's clock a credit's
// credited_at may be: clocks differ a little, money does not arrive from
// the future.
const MaxCreditAhead = time.Hour

// MaxCreditsPerPost bounds one POST of credits.
const MaxCreditsPerPost = 1000

// ValidBankTxnID reports whether a bank's transaction ID can be a key in
// every store: any text the bank chooses, but UTF-8 and printable (a NUL,
// which JSON's "\u0000" delivers, is not text to PostgreSQL).
func ValidBankTxnID(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// validate checks a credit as posted at now.
func (in *CreditInput) validate(now time.Time) error {
	in.BankTxnID = strings.TrimSpace(in.BankTxnID)
	in.Account = normalAccount(in.Account)
	switch {
	case in.BankTxnID == "" || len(in.BankTxnID) > 64:
		return Errorf(EInvalid, "bank_txn_id must be 1–64 characters")
	case !ValidBankTxnID(in.BankTxnID):
		return Errorf(EInvalid, "bank_txn_id must be printable text (UTF-8, no control characters)")
	case len(in.BIN) != 6 || !allDigits(in.BIN):
		return Errorf(EInvalid, "bin must be 6 digits")
	case in.Account == "" || len(in.Account) > 19:
		return Errorf(EInvalid, "account must be 1–19 characters")
	case !accountChars(in.Account):
		return Errorf(EInvalid, "account may hold only letters and digits")
	case in.Amount < 1 || in.Amount > MaxCreditAmount:
		return Errorf(EInvalid, "amount must be a whole number of đồng from 1 to 10,000,000,000, got %d", in.Amount)
	case in.CreditedAt.IsZero():
		return Errorf(EInvalid, "credited_at is required (RFC 3339)")
	case in.CreditedAt.After(now.Add(MaxCreditAhead)):
		// Money that has not arrived yet: most often a local time marked
		// Z, or a mistyped year. Taken, it would start a stall-day in the
		// future that the feed carries for good.
		return Errorf(EInvalid, "credited_at %s is %s ahead of the server's clock; send when the money arrived, with its offset (a Vietnamese time marked Z is 7 hours ahead)",
			in.CreditedAt.Format(time.RFC3339), in.CreditedAt.Sub(now).Round(time.Minute))
	case utf8.RuneCountInString(in.Content) > 500:
		return Errorf(EInvalid, "content must be at most 500 characters")
	}
	return nil
}

func (in *CreditInput) hash() []byte {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%s\x00%d\x00%d\x00%s", in.BankTxnID, in.BIN, in.Account, in.Amount, in.CreditedAt.UnixNano(), in.Content)))
	return h[:]
}

// PostCredits takes a bank's credit notifications, idempotent by the
// bank's bank_txn_id (each bank's own: another bank may use the same ID
// for its own credit), and matches each to a stall by BIN + account and to a sale:
// by the payment reference in the content and the exact amount (dynamic
// codes), or, for the printed static code, by amount and time (±10
// minutes) when exactly one recorded QR or transfer sale fits (findSale;
// a transfer to the account is paid the same way). A matched
// sale's day gets the confirmed amount, with a feed change. All credits of
// one post commit together.
func (ps *Partners) PostCredits(ctx context.Context, p *Partner, in []CreditInput) ([]CreditResult, error) {
	if len(in) == 0 {
		return nil, Errorf(EInvalid, "no credits in the post")
	}
	if len(in) > MaxCreditsPerPost {
		return nil, Errorf(ETooLarge, "%d credits in one post; at most %d", len(in), MaxCreditsPerPost)
	}
	now := ps.now()
	var results []CreditResult
	err := ps.Store.Update(ctx, func(tx Tx) error {
		results = results[:0]
		through, err := tx.Meta(MetaFinalizedThrough)
		if err != nil {
			return err
		}
		days := &dayWrites{days: map[string]*StallDay{}, finalizedThrough: string(through)}
		for i := range in {
			c := in[i]
			r := CreditResult{BankTxnID: c.BankTxnID}
			if err := c.validate(now); err != nil {
				r.Status, r.Message = CreditInvalid, ErrorMessage(err)
				results = append(results, r)
				continue
			}
			hash := c.hash()
			old, err := tx.FindCredit(p.ID, c.BankTxnID)
			switch {
			case err == nil && bytes.Equal(old.Hash, hash):
				r.Status, r.Credit = CreditDuplicate, old
				results = append(results, r)
				continue
			case err == nil:
				r.Status, r.Message = CreditConflict, "this bank_txn_id was posted with other content"
				results = append(results, r)
				continue
			case ErrorCode(err) != ENotFound:
				return err
			}
			credit := &Credit{BankTxnID: c.BankTxnID, PartnerID: p.ID, BIN: c.BIN, Account: c.Account, Amount: c.Amount,
				CreditedAt: c.CreditedAt.UTC(), Content: c.Content, ReceivedAt: now, Hash: hash, MatchKind: MatchNone}
			if err := ps.match(tx, p, credit, days); err != nil {
				return err
			}
			if _, err := tx.AppendCredit(credit); err != nil {
				return err
			}
			r.Status, r.Credit = CreditCreated, credit
			results = append(results, r)
		}
		var touched []accountDay
		for _, r := range results {
			if r.Status == CreditCreated && r.Credit.StallID != "" {
				touched = append(touched, creditDay(r.Credit))
			}
		}
		if err := markCreditedDays(tx, p.ID, touched); err != nil {
			return err
		}
		return days.write(tx, now)
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// match finds the credit's stall and sale inside tx, and adds a matched
// sale's amount to its day's confirmed QR totals. An account may pay out
// for several stalls (one vendor, two stalls): the credit goes to the stall
// whose sale it paid, or, matched to none, to the first of them (an active
// one before a suspended one). A credit to an account on a day none of its
// stalls has recorded anything (a vendor who takes QR payments without the
// app, a phone that has not synced) starts that stall-day, with no sales:
// the finalizer then turns it final like any day, and its reconciliation
// reports the bank's lines rather than waiting for ever.
func (ps *Partners) match(tx Tx, p *Partner, c *Credit, days *dayWrites) error {
	// Until a stall says which, the day is the programme's default zone's,
	// so an unmatched credit still shows on its account's day.
	if ps.Location != nil {
		if l, err := ps.Location(DefaultTimeZone); err == nil {
			c.BusinessDate = c.CreditedAt.In(l).Format(time.DateOnly)
		}
	}
	stalls, err := creditStalls(tx, p, c.BIN, c.Account)
	if err != nil || len(stalls) == 0 {
		return err
	}
	stall := stalls[0]
	c.StallID, c.MatchKind = stall.ID, MatchAccountOnly
	loc := time.UTC
	if m, err := tx.FindMarket(stall.MarketID); err == nil && ps.Location != nil {
		if l, err := ps.Location(m.TimeZone); err == nil {
			loc = l
		}
	}
	c.BusinessDate = c.CreditedAt.In(loc).Format(time.DateOnly)

	// The credit's own day, which may not be its sale's (a sale at 23:58
	// paid at 00:03), must exist for the finalizer to close it.
	if err := days.start(tx, stalls, c.BusinessDate); err != nil {
		return err
	}
	sale, saleID, kind, err := ps.findSale(tx, stalls, c)
	if err != nil || sale == nil {
		return err
	}
	c.StallID, c.SaleID, c.MatchKind = sale.StallID, saleID, kind
	return confirmSale(tx, c, sale, days)
}

// creditStalls returns the stalls a credit to an account may be for: those
// of the partner's programme with that payout account, not erased, the
// active ones first, then those whose account it was before a change (a
// customer paid a card printed before it).
func creditStalls(tx Tx, p *Partner, bin, account string) ([]*Stall, error) {
	all, err := tx.FindStallsByAccount(bin, account)
	if err != nil {
		return nil, err
	}
	var active, others, former []*Stall
	for _, s := range all {
		switch {
		case !p.Covers(s.ProvinceCode, s.MarketID) || s.ErasedAt != nil:
		case !holdsAccount(s, bin, account):
			former = append(former, s) // the account was this stall's before a change
		case s.Status == StallActive:
			active = append(active, s)
		default:
			others = append(others, s)
		}
	}
	return append(append(active, others...), former...), nil
}

// findSale returns the sale of one of the account's stalls that credit c
// paid, and how it matched. Only a QR or transfer sale (PaidIntoAccount)
// not yet paid or voided, of the
// credit's exact amount, is paid by it (PARTNER.md §6):
//
//   - by the payment reference in the content (dynamic codes): among the
//     sales within ±MatchWindow of the credit that carry it, the earliest
//     (a vendor may show one code to two customers: each credit pays the
//     sale made near it); failing those, the sale the reference index
//     names (a credit may come late); failing that, none;
//   - for the printed static code, a credit naming no reference, by amount
//     and time: exactly one sale with no reference within ±MatchWindow.
//
// It returns a nil sale when none fits.
func (ps *Partners) findSale(tx Tx, stalls []*Stall, c *Credit) (*Entity, string, string, error) {
	payable := func(e *Entity) bool {
		return e.ConfirmedBy == "" && e.VoidedBy == "" && e.Amount == c.Amount &&
			slices.ContainsFunc(stalls, func(s *Stall) bool { return s.ID == e.StallID })
	}
	var ref string
	if ps.ExtractRef != nil {
		if r, ok := ps.ExtractRef(c.Content); ok {
			ref = strings.ToUpper(r)
		}
	}
	from, to := c.CreditedAt.Add(-MatchWindow).UnixMilli(), c.CreditedAt.Add(MatchWindow).UnixMilli()
	var ids []string
	for _, s := range stalls {
		some, err := tx.ListQRSales(s.ID, from, to)
		if err != nil {
			return nil, "", "", err
		}
		ids = append(ids, some...)
	}
	if pf, ok := tx.(EntityPrefetcher); ok {
		// On PostgreSQL each lookup below would be a round trip.
		if err := pf.PrefetchEntities(ids); err != nil {
			return nil, "", "", err
		}
	}
	// By amount and time, a sale of a stall whose account it is now comes
	// before one of a stall whose account it was (another stall of the
	// vendor's may have it now): the former holder's sale is the credit's
	// only when no current holder's fits, or one vendor's credit would
	// pay, or be kept from paying, another stall's sale.
	current := func(e *Entity) bool {
		return slices.ContainsFunc(stalls, func(s *Stall) bool { return s.ID == e.StallID && holdsAccount(s, c.BIN, c.Account) })
	}
	var byRef *Entity
	var byRefID string
	var byTime [2]*Entity // by a current holder's sale, a former one's
	var byTimeID [2]string
	var timeFits [2]int
	for _, id := range ids {
		e, err := tx.FindEntity(id)
		if err != nil || !payable(e) {
			continue
		}
		switch {
		case ref != "" && strings.ToUpper(e.Ref) == ref:
			if byRef == nil || e.EffectiveMs < byRef.EffectiveMs {
				byRef, byRefID = e, id
			}
		case e.Ref == "":
			i := 1
			if current(e) {
				i = 0
			}
			byTime[i], byTimeID[i] = e, id
			timeFits[i]++
		}
	}
	if byRef != nil {
		return byRef, byRefID, MatchReference, nil
	}
	if ref != "" {
		id, err := tx.FindSaleByRef(ref)
		if err != nil && ErrorCode(err) != ENotFound {
			return nil, "", "", err
		}
		if id != "" {
			if e, err := tx.FindEntity(id); err == nil && payable(e) {
				return e, id, MatchReference, nil
			}
		}
		// A credit that names a sale pays that sale or none: not another
		// of the same amount nearby, whose own credit would then be left
		// over. Its sale may not be synced yet: the late pass tries again.
		return nil, "", "", nil
	}
	i := 0
	if timeFits[0] == 0 {
		i = 1
	}
	if timeFits[i] != 1 {
		return nil, "", "", nil
	}
	return byTime[i], byTimeID[i], MatchAmountTime, nil
}

// holdsAccount says whether bin + account (normalized) is the stall's
// payout account now, not one it had before a change.
func holdsAccount(s *Stall, bin, account string) bool {
	return s.Payout.BIN == bin && normalAccount(s.Payout.Account) == account
}

// confirmSale marks sale (c.SaleID) paid by credit c and adds the credit
// to the confirmed QR totals of the sale's day, kept in days until
// days.write.
func confirmSale(tx Tx, c *Credit, sale *Entity, days *dayWrites) error {
	sale.ConfirmedBy = c.BankTxnID
	if err := tx.PutEntity(c.SaleID, sale); err != nil {
		return err
	}
	key := sale.StallID + "/" + sale.BusinessDate
	d := days.days[key]
	if d == nil {
		var err error
		d, err = tx.FindStallDay(sale.StallID, sale.BusinessDate)
		if err != nil {
			return err
		}
		days.days[key] = d
	}
	d.ConfirmedQR.Count++
	d.ConfirmedQR.Amount += c.Amount
	return nil
}

// dayWrites are the stall-days the bank's credits changed or started in one
// transaction, written once each by write.
type dayWrites struct {
	days map[string]*StallDay // by stall ID + "/" + date
	// finalizedThrough is the finalizer's last finalized date
	// (MetaFinalizedThrough): a day started for a date up to it is final.
	finalizedThrough string
	// stored are the stall-days found in the store, so a post of many
	// credits to one account-day reads it once.
	stored map[string]bool
}

// start adds the first stall's day on date to the writes when none of the
// stalls (an account's) has a day there yet.
func (w *dayWrites) start(tx Tx, stalls []*Stall, date string) error {
	for _, s := range stalls {
		key := s.ID + "/" + date
		if w.days[key] != nil || w.stored[key] {
			return nil
		}
		_, err := tx.FindStallDay(s.ID, date)
		if ErrorCode(err) != ENotFound {
			if err == nil {
				if w.stored == nil {
					w.stored = map[string]bool{}
				}
				w.stored[key] = true
			}
			return err
		}
	}
	stall := stalls[0]
	w.days[stall.ID+"/"+date] = &StallDay{StallID: stall.ID, MarketID: stall.MarketID, CommuneCode: stall.CommuneCode, ProvinceCode: stall.ProvinceCode,
		Date: date, StallCode: stall.Code, BIN: stall.Payout.BIN, Account: stall.Payout.Account, ByMethod: map[string]MethodTotals{}}
	return nil
}

// write stores the days, each with one feed change. A day started here is
// provisional, or final when its date is already finalized; a final day
// that changed becomes adjusted.
func (w *dayWrites) write(tx Tx, now time.Time) error {
	for _, key := range slices.Sorted(maps.Keys(w.days)) {
		d := w.days[key]
		d.Changed(now, w.finalizedThrough)
		if err := StoreRevision(tx, d, now); err != nil {
			return err
		}
	}
	return nil
}

// StoreRevision stores a changed stall-day with the feed change that tells
// the partners of it, as its new revision (d.Revision).
func StoreRevision(tx Tx, d *StallDay, now time.Time) error {
	seq, err := tx.AppendChange(&Change{Day: *d, At: now})
	if err != nil {
		return err
	}
	d.Revision = seq
	return tx.PutStallDay(d)
}

// Late matching. A phone that was offline when its customers paid syncs
// its QR and transfer sales after the bank has posted their credits, and a credit
// matches only sales already recorded; so such a credit stays account_only
// and its sale unconfirmed, and the day reconciles as a mismatch though
// nothing is wrong. MatchLateCredits follows the feed (every push writes a
// change for each stall-day it touched) and matches those credits again
// once their stall's sales are in.

// lateMatchCursorKey is the meta key of the last feed change
// MatchLateCredits has looked at.
const lateMatchCursorKey = "late_match_cursor"

// lateMatchDays is how far, in business days either side, a credit's day
// may be from the day of the sale it paid: a sale at 23:58 paid at 00:03.
const lateMatchDays = 1

// creditRef names a stored credit: its bank's transaction ID is that
// bank's own.
type creditRef struct{ partnerID, bankTxnID string }

// MatchLateCredits makes one pass: it reads up to MaxFeedLimit feed
// changes after its cursor and, for each stall-day with QR or transfer
// sales among
// them, tries again to match the stall's unmatched credits on that day and
// the days beside it, to its account or a former one (a card printed
// before a payout change), by the rules of PostCredits. A matched credit gets its
// sale (SetCreditMatch), the sale is confirmed, and its day gets the
// confirmed amount with a feed change; the credit's own account-day goes
// to its partner's list of days to re-run. It returns how many credits it
// matched and whether more changes wait. The reading happens in a read
// transaction; the write, when there is anything to write, is short.
func (ps *Partners) MatchLateCredits(ctx context.Context) (int, bool, error) {
	var (
		after, last uint64
		todo        []creditRef
		more        bool
	)
	err := ps.Store.View(ctx, func(tx Tx) error {
		var err error
		todo, more = todo[:0], false
		if after, _, err = readUint(tx, lateMatchCursorKey); err != nil {
			return err
		}
		last = after
		chunk, err := tx.ListChanges(after, MaxFeedLimit)
		if err != nil || len(chunk) == 0 {
			return err
		}
		last, more = chunk[len(chunk)-1].ChangeSeq, len(chunk) == MaxFeedLimit
		seen := map[accountDay]bool{}
		queued := map[creditRef]bool{}
		formers := formerPayouts{}
		for _, ch := range chunk {
			d := &ch.Day
			if d.ByMethod[MethodQR].Count+d.ByMethod[MethodTransfer].Count == 0 || d.BIN == "" || d.Account == "" {
				continue
			}
			day, err := time.Parse(time.DateOnly, d.Date)
			if err != nil {
				continue
			}
			// A customer may pay a card printed before a payout change: a
			// credit to one of the stall's former accounts may pay its sale.
			accounts := []PayoutAccount{{BIN: d.BIN, Account: d.Account}}
			former, err := formers.of(tx, d.StallID)
			if err != nil {
				return err
			}
			for _, f := range former {
				accounts = append(accounts, f.Account)
			}
			for _, acct := range accounts {
				for i := -lateMatchDays; i <= lateMatchDays; i++ {
					a := accountDay{acct.BIN, acct.Account, day.AddDate(0, 0, i).Format(time.DateOnly)}
					if seen[a] {
						continue
					}
					seen[a] = true
					credits, err := tx.ListAccountCredits(a.bin, a.account, a.date)
					if err != nil {
						return err
					}
					for _, c := range credits {
						// Any stall's on the account: one vendor's two stalls
						// share it, and an unmatched credit went to the first.
						if ref := (creditRef{c.PartnerID, c.BankTxnID}); c.SaleID == "" && c.StallID != "" && !queued[ref] {
							todo, queued[ref] = append(todo, ref), true
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil || last == after {
		return 0, false, err
	}
	now := ps.now()
	matched := 0
	err = ps.Store.Update(ctx, func(tx Tx) error {
		matched = 0
		days := &dayWrites{days: map[string]*StallDay{}} // the days of sales, which exist
		touched := map[string][]accountDay{}             // by partner
		partners := map[string]*Partner{}
		for _, ref := range todo {
			c, err := tx.FindCredit(ref.partnerID, ref.bankTxnID)
			if err != nil {
				return err
			}
			if c.SaleID != "" {
				continue // matched meanwhile
			}
			p := partners[c.PartnerID]
			if p == nil {
				switch p, err = tx.FindPartner(c.PartnerID); {
				case ErrorCode(err) == ENotFound:
					continue // no programme to match it in
				case err != nil:
					return err
				}
				partners[c.PartnerID] = p
			}
			stalls, err := creditStalls(tx, p, c.BIN, c.Account)
			if err != nil {
				return err
			}
			sale, saleID, kind, err := ps.findSale(tx, stalls, c)
			if err != nil {
				return err
			}
			if sale == nil {
				continue
			}
			if err := tx.SetCreditMatch(c.PartnerID, c.BankTxnID, sale.StallID, saleID, kind); err != nil {
				return err
			}
			c.SaleID, c.MatchKind = saleID, kind
			if err := confirmSale(tx, c, sale, days); err != nil {
				return err
			}
			touched[c.PartnerID] = append(touched[c.PartnerID], creditDay(c))
			matched++
		}
		if err := days.write(tx, now); err != nil {
			return err
		}
		// The sale's day has its feed change; the credit's day, when it is
		// another (a sale at 23:58 paid at 00:03), changed too.
		for _, id := range slices.Sorted(maps.Keys(touched)) {
			if err := markCreditedDays(tx, id, touched[id]); err != nil {
				return err
			}
		}
		return tx.SetMeta(lateMatchCursorKey, []byte(strconv.FormatUint(last, 10)))
	})
	if err != nil {
		return 0, false, err
	}
	return matched, more, nil
}

// StallCredits returns the credits to a stall's account past place since
// (Credit.StallPos): what its phones show as "tiền đã về". A credit matched
// late comes again at a later place.
func (ps *Partners) StallCredits(ctx context.Context, stallID string, since uint64, limit int) ([]*Credit, error) {
	limit = clampLimit(limit, DefaultFeedLimit, MaxFeedLimit)
	var out []*Credit
	err := ps.Store.View(ctx, func(tx Tx) error {
		var err error
		out, err = tx.ListStallCredits(stallID, since, limit)
		return err
	})
	if out == nil {
		out = []*Credit{}
	}
	return out, err
}

// MetaFinalizedThrough is the meta key of the last business date
// FinalizeDays has finalized (YYYY-MM-DD). A stall-day first written for a
// date up to it, by a phone that synced after its date was finalized, is
// written final at once: no later run of FinalizeDays looks at that date.
const MetaFinalizedThrough = "finalized_through"

// FinalizeDays turns provisional stall-days final once FinalAfter has
// passed since the end of their business day, each with a feed change. It
// works through dates in order and remembers where it stopped in the meta
// bucket (MetaFinalizedThrough), so each run reads only new dates; it is
// safe to run again. The
// days' reconciliations stop being pending then: RerunReconciliations finds
// the final revisions in the feed and re-runs them.
func (ps *Partners) FinalizeDays(ctx context.Context) (int, error) {
	delay := ps.FinalAfter
	if delay <= 0 {
		delay = DefaultFinalAfter
	}
	loc := time.UTC
	if ps.Location != nil {
		if l, err := ps.Location(DefaultTimeZone); err == nil {
			loc = l
		}
	}
	now := ps.now()
	// The last business date whose end is at least delay ago.
	cutoff := now.In(loc).Add(-delay).AddDate(0, 0, -1).Format(time.DateOnly)
	finalized := 0
	for {
		var next string
		done, n := false, 0
		err := ps.Store.Update(ctx, func(tx Tx) error {
			next, done, n = "", false, 0 // a backend may run fn again
			through, err := tx.Meta(MetaFinalizedThrough)
			if err != nil {
				return err
			}
			date := cutoff
			if len(through) > 0 {
				t, err := time.Parse(time.DateOnly, string(through))
				if err != nil {
					return err
				}
				date = t.AddDate(0, 0, 1).Format(time.DateOnly)
			} else {
				// First run: start a year back; older days are final by age.
				date = now.In(loc).AddDate(-1, 0, 0).Format(time.DateOnly)
			}
			if date > cutoff {
				done = true
				return nil
			}
			for after := ""; ; {
				days, err := tx.ListDaysByDate(date, after, ExportChunk)
				if err != nil {
					return err
				}
				for _, d := range days {
					after = d.StallID
					if d.Status != DayProvisional && d.Status != "" {
						continue
					}
					d.Status, d.UpdatedAt = DayFinal, now
					if err := StoreRevision(tx, d, now); err != nil {
						return err
					}
					n++
				}
				if len(days) < ExportChunk {
					break
				}
			}
			next = date
			return tx.SetMeta(MetaFinalizedThrough, []byte(date))
		})
		if err != nil {
			return finalized, err
		}
		finalized += n
		if done || next == "" {
			return finalized, nil
		}
	}
}
