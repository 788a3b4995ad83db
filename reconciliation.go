package choso

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Reconciliation statuses.
const (
	ReconMatched  = "matched"
	ReconMismatch = "mismatch"
	ReconPending  = "pending" // the day is provisional: phones may still be syncing
)

// Reconciliation compares, for one payout account and business day, the QR
// sales the stall's phones recorded with the credits the bank posted.
type Reconciliation struct {
	BIN          string       `json:"bin"`
	Account      string       `json:"account"`
	BusinessDate string       `json:"business_date"`
	StallID      string       `json:"stall_id,omitempty"`
	Status       string       `json:"status"`
	Reasons      []string     `json:"reasons"`  // why it is a mismatch: unmatched_bank_lines, unmatched_qr_sales, amount_differs
	Notes        []string     `json:"notes"`    // what is not a mismatch but worth knowing: day_boundary
	QRSales      MethodTotals `json:"qr_sales"` // the sales paid into the account: QR and transfer
	Credits      MethodTotals `json:"credits"`
	Lines        []ReconLine  `json:"lines"`
	DayStatus    string       `json:"day_status"`

	// pairedDays are the other days whose lines this day's are paired
	// with (a payment across midnight, whether or not its sale was voided
	// since): a change here changes their reconciliation too.
	pairedDays []string
}

// ReconLine is one bank line or one QR or transfer sale of a reconciliation.
type ReconLine struct {
	Kind      string    `json:"kind"` // credit or sale
	ID        string    `json:"id"`   // bank_txn_id or sale ULID
	Amount    int64     `json:"amount"`
	At        time.Time `json:"at"`
	MatchedTo string    `json:"matched_to,omitempty"`
	Match     string    `json:"match,omitempty"`
}

// Reconcile builds the reconciliation of one account and day, computed
// from both sides as they stand, so it is current whenever either changes.
func (ps *Partners) Reconcile(ctx context.Context, p *Partner, date, bin, account string) (*Reconciliation, error) {
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return nil, Errorf(EInvalid, "date must be YYYY-MM-DD")
	}
	var rec *Reconciliation
	err := ps.Store.View(ctx, func(tx Tx) error {
		var err error
		rec, err = ps.reconcile(tx, p, date, bin, account)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// reconcile builds a reconciliation inside tx. Returns ENotFound when no
// stall of the partner's programme has the account.
func (ps *Partners) reconcile(tx Tx, p *Partner, date, bin, account string) (*Reconciliation, error) {
	day, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return nil, Errorf(EInvalid, "date must be YYYY-MM-DD")
	}
	account = normalAccount(account)
	if len(bin) != 6 || !allDigits(bin) || account == "" {
		return nil, Errorf(EInvalid, "bin (6 digits) and account are required")
	}
	rec := &Reconciliation{BIN: bin, Account: account, BusinessDate: date, Reasons: []string{}, Notes: []string{}, Lines: []ReconLine{}}
	stalls, err := tx.FindStallsByAccount(bin, account)
	if err != nil {
		return nil, err
	}
	// An account may pay out for several stalls (one vendor's two): their
	// sales on the day are one side of the account's reconciliation.
	stalls = slices.DeleteFunc(stalls, func(s *Stall) bool { return !p.Covers(s.ProvinceCode, s.MarketID) })
	if len(stalls) == 0 {
		return nil, Errorf(ENotFound, "no stall of your programme has this account")
	}
	// The stalls that hold the account now come first: the first names
	// the reconciliation's stall and time zone.
	slices.SortStableFunc(stalls, func(a, b *Stall) int {
		switch ha, hb := holdsAccount(a, bin, account), holdsAccount(b, bin, account); {
		case ha == hb:
			return 0
		case ha:
			return -1
		}
		return 1
	})
	rec.StallID = stalls[0].ID
	loc := time.UTC
	if m, err := tx.FindMarket(stalls[0].MarketID); err == nil && ps.Location != nil {
		if l, err := ps.Location(m.TimeZone); err == nil {
			loc = l
		}
	}
	start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
	// The account's side is provisional while any of its stalls' days is,
	// or while none has one; adjusted once any was adjusted.
	var statuses []string
	for _, s := range stalls {
		switch d, err := tx.FindStallDay(s.ID, date); {
		case err == nil:
			statuses = append(statuses, d.Status)
		case ErrorCode(err) != ENotFound:
			return nil, err
		}
	}
	switch {
	case len(statuses) == 0 || slices.Contains(statuses, DayProvisional) || slices.Contains(statuses, ""):
		rec.DayStatus = DayProvisional
	case slices.Contains(statuses, DayAdjusted):
		rec.DayStatus = DayAdjusted
	default:
		rec.DayStatus = DayFinal
	}
	credits, err := tx.ListAccountCredits(bin, account, date)
	if err != nil {
		return nil, err
	}
	// A sale at 23:58 paid at 00:03 is one payment on two business days:
	// the sale on its day, the credit on the next. Each day lists its own
	// line, matched to the other day's, and leaves that amount out of its
	// comparison (carried), so both days reconcile, with a day_boundary
	// note, rather than stay mismatched for good.
	var salesCarried, creditsCarried int64
	paidHere := map[string]*Credit{} // sale ULID → this day's credit that paid it
	// A bank sees its own credits, not another bank's (their IDs and
	// transfer messages are that bank's customers'); the market's own view
	// (a partner with no ID) sees them all.
	own := func(c *Credit) bool { return p.ID == "" || c.PartnerID == p.ID }
	for _, c := range credits {
		if !own(c) {
			continue
		}
		rec.Credits.Count++
		rec.Credits.Amount += c.Amount
		rec.Lines = append(rec.Lines, ReconLine{Kind: "credit", ID: c.BankTxnID, Amount: c.Amount, At: c.CreditedAt, MatchedTo: c.SaleID, Match: c.MatchKind})
		if c.SaleID != "" {
			paidHere[c.SaleID] = c
		} else {
			addReason(rec, "unmatched_bank_lines")
		}
	}
	from, to := start.UnixMilli(), start.AddDate(0, 0, 1).UnixMilli()-1
	var ids []string
	for _, s := range stalls {
		some, err := tx.ListQRSales(s.ID, from, to)
		if err != nil {
			return nil, err
		}
		ids = append(ids, some...)
	}
	byID := make(map[string]*Stall, len(stalls))
	for _, s := range stalls {
		byID[s.ID] = s
	}
	for _, id := range ids {
		e, err := tx.FindEntity(id)
		if err != nil {
			continue
		}
		_, here := paidHere[id]
		var c *Credit // the credit that paid it, when not one of this day's
		if !here && e.ConfirmedBy != "" {
			var mine bool
			if c, mine, err = paidBy(tx, p, id, e.ConfirmedBy); err != nil {
				return nil, err
			}
			if !mine {
				continue // another bank's credit paid it: that bank reconciles it
			}
		}
		// A stall whose payout account changed has sales of both: a sale is
		// this account's when its money came to it, or, not paid yet, when
		// the account was in force at the sale's time.
		switch st := byID[e.StallID]; {
		case here:
		case c != nil:
			if c.BIN != bin || c.Account != account {
				continue
			}
		case e.ConfirmedBy == "" && st != nil:
			if in := st.PayoutAt(time.UnixMilli(e.EffectiveMs)); in.BIN != bin || normalAccount(in.Account) != account {
				continue
			}
		}
		if c != nil && c.BusinessDate != date {
			rec.pair(c.BusinessDate)
			if e.VoidedBy == "" {
				salesCarried += e.Amount
				addNote(rec, "day_boundary")
			}
		}
		if e.VoidedBy != "" {
			continue
		}
		if e.BusinessDate != date {
			addNote(rec, "day_boundary") // the phone's day is not the day its time falls on
		}
		rec.QRSales.Count++
		rec.QRSales.Amount += e.Amount
		rec.Lines = append(rec.Lines, ReconLine{Kind: "sale", ID: id, Amount: e.Amount, At: time.UnixMilli(e.EffectiveMs).UTC(), MatchedTo: e.ConfirmedBy})
		if e.ConfirmedBy == "" {
			addReason(rec, "unmatched_qr_sales")
		}
		delete(paidHere, id)
	}
	// What is left in paidHere paid a sale not listed here: one of another
	// day is carried; a voided one is money for no sale, and the amounts
	// say so.
	for saleID, c := range paidHere {
		e, err := tx.FindEntity(saleID)
		if err != nil || e.EffectiveMs >= from && e.EffectiveMs <= to {
			continue
		}
		rec.pair(time.UnixMilli(e.EffectiveMs).In(loc).Format(time.DateOnly))
		if e.VoidedBy == "" {
			creditsCarried += c.Amount
			addNote(rec, "day_boundary")
		}
	}
	if rec.QRSales.Amount-salesCarried != rec.Credits.Amount-creditsCarried {
		addReason(rec, "amount_differs")
	}
	switch {
	case rec.DayStatus == DayProvisional:
		rec.Status = ReconPending
	case len(rec.Reasons) == 0:
		rec.Status = ReconMatched
	default:
		rec.Status = ReconMismatch
	}
	return rec, nil
}

func addReason(r *Reconciliation, reason string) {
	if !slices.Contains(r.Reasons, reason) {
		r.Reasons = append(r.Reasons, reason)
	}
}

// paidBy finds the credit with bank transaction ID bankTxnID that paid
// the sale saleID, and says whether it is the partner's to reconcile
// (mine). Each bank names its own transactions, so the ID alone does not
// say whose credit it is. A bank's own is the one it posted; the market's
// view (a partner with no ID) takes every bank's, and finds the credit
// among them (nil, mine, when none has it).
func paidBy(tx Tx, p *Partner, saleID, bankTxnID string) (c *Credit, mine bool, err error) {
	ids := []string{p.ID}
	if p.ID == "" {
		partners, err := tx.ListPartners()
		if err != nil {
			return nil, false, err
		}
		ids = ids[:0]
		for _, pt := range partners {
			ids = append(ids, pt.ID)
		}
	}
	for _, id := range ids {
		switch c, err := tx.FindCredit(id, bankTxnID); {
		case err == nil && c.SaleID == saleID:
			return c, true, nil
		case err != nil && ErrorCode(err) != ENotFound:
			return nil, false, err
		}
	}
	return nil, p.ID == "", nil
}

func (r *Reconciliation) pair(date string) {
	if date != r.BusinessDate && !slices.Contains(r.pairedDays, date) {
		r.pairedDays = append(r.pairedDays, date)
	}
}

func addNote(r *Reconciliation, note string) {
	if !slices.Contains(r.Notes, note) {
		r.Notes = append(r.Notes, note)
	}
}

// Reconciliation re-runs. Reconcile computes an account-day when asked;
// for the "reconciliation.mismatch" webhook the server also re-runs it
// whenever either side changes, and remembers what each account-day was,
// so a partner is told once per change of state, not at every re-run.
// What changed is found in the feed (a phone's sales, a day turning final
// or adjusted, a matched credit) and in a list of the account-days that
// posted credits touched (an unmatched credit makes no feed change).
//
// The state lives in the store's meta values, per partner: the feed
// position of the last pass, the credited account-days not yet re-run, the
// last state of each account-day that was ever a mismatch, and the queue
// of notices not yet delivered. A store interface of its own (a reconTx)
// would be the tidier home; meta keeps the store interfaces unchanged.

// Reconciliation re-run bounds.
const (
	// ReconPassDays bounds the account-days one pass re-runs.
	ReconPassDays = 500
	// ReconQueueMax bounds the notices waiting for delivery: while more
	// wait, passes pause (nothing is dropped) until deliveries resume.
	ReconQueueMax = 2000
	// reconPassNotices is the most notices one pass can queue: one for each
	// of its days and for the days either side that a payment across
	// midnight pairs with them (re-run with them). A pass starts only when
	// they fit under ReconQueueMax.
	reconPassNotices = 3 * ReconPassDays
	// reconScanBudget bounds the feed changes one pass reads.
	reconScanBudget = 20 * MaxFeedLimit
)

// ReconNotice tells a partner that an account-day's reconciliation turned
// mismatch, or that its mismatch reasons changed. It waits in a queue
// until delivered, keeping its ID across retries.
type ReconNotice struct {
	ID           string    `json:"id"`
	BIN          string    `json:"bin"`
	Account      string    `json:"account"`
	BusinessDate string    `json:"business_date"`
	StallID      string    `json:"stall_id"`
	Reasons      []string  `json:"reasons"`
	At           time.Time `json:"at"` // when the re-run found it
}

// PrefixEvent starts a webhook event ID.
const PrefixEvent = "evt_"

// accountDay names a reconciliation: a payout account on a business day.
type accountDay struct{ bin, account, date string }

func (a accountDay) String() string { return a.bin + " " + a.account + " " + a.date }

func reconCursorKey(partnerID string) string { return "recon_cursor/" + partnerID }
func reconDirtyKey(partnerID string) string  { return "recon_dirty/" + partnerID }
func reconQueueKey(partnerID string) string  { return "recon_queue/" + partnerID }
func reconStateKey(partnerID string, a accountDay) string {
	return "recon_state/" + partnerID + "/" + a.bin + "/" + a.account + "/" + a.date
}

// creditedDays are the account-days that posted credits touched, each with
// the number of the post that last touched it, so a pass that re-ran one
// forgets it only if no later post touched it again meanwhile.
type creditedDays struct {
	posts uint64 // posts counted so far
	days  map[accountDay]uint64
}

// readCreditedDays reads the list: a first line "posts N", then a line
// "BIN ACCOUNT DATE N" for each account-day.
func readCreditedDays(tx Tx, partnerID string) (*creditedDays, error) {
	v, err := tx.Meta(reconDirtyKey(partnerID))
	if err != nil {
		return nil, err
	}
	cd := &creditedDays{days: map[accountDay]uint64{}}
	for line := range strings.Lines(string(v)) {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "posts":
			cd.posts, _ = strconv.ParseUint(f[1], 10, 64)
		case len(f) == 4:
			n, _ := strconv.ParseUint(f[3], 10, 64)
			cd.days[accountDay{f[0], f[1], f[2]}] = n
		}
	}
	return cd, nil
}

func (cd *creditedDays) write(tx Tx, partnerID string) error {
	lines := make([]string, 0, len(cd.days))
	for a, n := range cd.days {
		lines = append(lines, a.String()+" "+strconv.FormatUint(n, 10)+"\n")
	}
	slices.Sort(lines)
	return tx.SetMeta(reconDirtyKey(partnerID), []byte("posts "+strconv.FormatUint(cd.posts, 10)+"\n"+strings.Join(lines, "")))
}

// markCreditedDays adds account-days whose credits changed (created by a
// post, or matched to their sale later) to the partner's list for the next
// re-run, when the partner takes webhooks. An unmatched credit makes no
// feed change, and a credit matched on a day other than its sale's changes
// a day the feed does not name, so the list is how a re-run learns of them.
func markCreditedDays(tx Tx, partnerID string, touched []accountDay) error {
	if len(touched) == 0 {
		return nil
	}
	pt, err := tx.FindPartner(partnerID)
	if ErrorCode(err) == ENotFound {
		return nil // no partner, no webhook
	}
	if err != nil || pt.WebhookURL == "" {
		return err
	}
	cd, err := readCreditedDays(tx, partnerID)
	if err != nil {
		return err
	}
	cd.posts++
	for _, a := range touched {
		cd.days[a] = cd.posts
	}
	return cd.write(tx, partnerID)
}

// creditDay is the account-day a credit counts on.
func creditDay(c *Credit) accountDay {
	return accountDay{c.BIN, c.Account, c.BusinessDate}
}

// resetReconNotices starts a partner's reconciliation notices afresh when
// its webhook is turned on (from the feed's end: webhooks tell of news,
// not of history) and drops what waits when it is turned off. A new URL
// for a webhook already on keeps its place.
func resetReconNotices(tx Tx, partnerID, before, after string) error {
	switch {
	case after == "":
		for _, key := range []string{reconDirtyKey(partnerID), reconQueueKey(partnerID)} {
			if err := tx.SetMeta(key, nil); err != nil {
				return err
			}
		}
		return nil
	case before == "":
		last, err := tx.LastChangeSeq()
		if err != nil {
			return err
		}
		return tx.SetMeta(reconCursorKey(partnerID), []byte(strconv.FormatUint(last, 10)))
	}
	return nil
}

func readUint(tx Tx, key string) (uint64, bool, error) {
	v, err := tx.Meta(key)
	if err != nil || len(v) == 0 {
		return 0, false, err
	}
	n, err := strconv.ParseUint(string(v), 10, 64)
	return n, err == nil, err
}

func readReconQueue(tx Tx, partnerID string) ([]ReconNotice, error) {
	v, err := tx.Meta(reconQueueKey(partnerID))
	if err != nil || len(v) == 0 {
		return nil, err
	}
	var q []ReconNotice
	if err := json.Unmarshal(v, &q); err != nil {
		return nil, WrapError(EInternal, "the reconciliation notice queue is unreadable", err)
	}
	return q, nil
}

func writeReconQueue(tx Tx, partnerID string, q []ReconNotice) error {
	if len(q) == 0 {
		return tx.SetMeta(reconQueueKey(partnerID), nil)
	}
	v, err := json.Marshal(q)
	if err != nil {
		return err
	}
	return tx.SetMeta(reconQueueKey(partnerID), v)
}

// formerPayouts reads each stall's former payout accounts once per pass.
type formerPayouts map[string][]FormerPayout

func (fp formerPayouts) of(tx Tx, stallID string) ([]FormerPayout, error) {
	if f, ok := fp[stallID]; ok {
		return f, nil
	}
	s, err := tx.FindStall(stallID)
	switch {
	case ErrorCode(err) == ENotFound:
		fp[stallID] = nil
	case err != nil:
		return nil, err
	default:
		fp[stallID] = s.FormerPayouts
	}
	return fp[stallID], nil
}

func pairedDays(r *Reconciliation) []string {
	if r == nil {
		return nil
	}
	return r.pairedDays
}

// reconState is what the dedupe compares: the status, and for a mismatch
// its reasons in a fixed order.
func reconState(r *Reconciliation) string {
	if r.Status != ReconMismatch {
		return r.Status
	}
	return ReconMismatch + ":" + strings.Join(slices.Sorted(slices.Values(r.Reasons)), ",")
}

// RerunReconciliations makes one pass for a partner: it re-runs the
// reconciliation of the account-days that changed since the last pass (at
// most ReconPassDays of them, with the days paired with them by payments
// across midnight) and queues a ReconNotice for each that turned
// mismatch or whose mismatch reasons changed; one that stops being a
// mismatch before its notice went out leaves the queue. A partner's first
// pass starts at the feed's end: webhooks tell of news, not of history.
// It returns how many account-days it re-ran and whether more wait. The
// reading happens in read transactions, the bookkeeping in one short write.
func (ps *Partners) RerunReconciliations(ctx context.Context, p *Partner) (int, bool, error) {
	var (
		after, last uint64
		started     bool
		queued      int
		todo        []accountDay
		fromDirty   = map[accountDay]uint64{}
		more        bool
	)
	err := ps.Store.View(ctx, func(tx Tx) error {
		var err error
		todo, fromDirty, more = todo[:0], map[accountDay]uint64{}, false
		if after, started, err = readUint(tx, reconCursorKey(p.ID)); err != nil {
			return err
		}
		if !started {
			last, err = tx.LastChangeSeq()
			return err
		}
		q, err := readReconQueue(tx, p.ID)
		if err != nil {
			return err
		}
		if queued = len(q); queued+reconPassNotices > ReconQueueMax {
			return nil // deliveries are behind: wait for them
		}
		credited, err := readCreditedDays(tx, p.ID)
		if err != nil {
			return err
		}
		seen := map[accountDay]bool{}
		for _, a := range slices.SortedFunc(maps.Keys(credited.days), func(a, b accountDay) int { return strings.Compare(a.String(), b.String()) }) {
			if len(todo) == ReconPassDays {
				more = true
				break
			}
			todo, seen[a], fromDirty[a] = append(todo, a), true, credited.days[a]
		}
		last = after
		stalls, formers := stallCache{}, formerPayouts{}
		for scanned := 0; scanned < reconScanBudget && len(todo) < ReconPassDays; {
			chunk, err := tx.ListChanges(last, min(MaxFeedLimit, reconScanBudget-scanned))
			if err != nil || len(chunk) == 0 {
				return err
			}
			for _, c := range chunk {
				if len(todo) == ReconPassDays {
					more = true
					return nil
				}
				scanned++
				last = c.ChangeSeq
				d := &c.Day
				// A provisional day reconciles as pending: nothing to tell.
				if d.Status == DayProvisional || d.Status == "" || !p.Covers(d.ProvinceCode, d.MarketID) {
					continue
				}
				var own stallIdentity
				s, err := stalls.of(tx, d, &own)
				if err != nil {
					return err
				}
				if s == nil {
					continue
				}
				if a := (accountDay{s.bin, s.account, d.Date}); !seen[a] {
					todo, seen[a] = append(todo, a), true
				}
				// The stall's former accounts have its sales of days before
				// the change, and those paid into them since (a card printed
				// before): their days change with it.
				former, err := formers.of(tx, d.StallID)
				if err != nil {
					return err
				}
				for _, f := range former {
					if a := (accountDay{f.Account.BIN, f.Account.Account, d.Date}); !seen[a] && len(todo) < ReconPassDays {
						todo, seen[a] = append(todo, a), true
					}
				}
			}
		}
		rest, err := tx.ListChanges(last, 1)
		more = more || len(rest) > 0
		return err
	})
	if err != nil {
		return 0, false, err
	}
	if !started {
		return 0, false, ps.Store.Update(ctx, func(tx Tx) error {
			if _, ok, err := readUint(tx, reconCursorKey(p.ID)); err != nil || ok {
				return err
			}
			return tx.SetMeta(reconCursorKey(p.ID), []byte(strconv.FormatUint(last, 10)))
		})
	}
	if queued+reconPassNotices > ReconQueueMax {
		return 0, false, nil
	}
	if len(todo) == 0 && last == after {
		return 0, more, nil // nothing new: no write
	}
	// Re-run each in read transactions of a bounded size, then the days
	// their lines are paired with (a payment across midnight), which the
	// same change may have changed: a sale voided on its day makes its
	// credit, the next day, money for no sale.
	// Each result goes to its day's place, so a read transaction the store
	// runs again (PostgreSQL retries a serialization failure) rewrites it.
	var recs []*Reconciliation
	rerun := func(from int) error {
		recs = append(recs, make([]*Reconciliation, len(todo)-len(recs))...)
		const perTx = 100
		for i := from; i < len(todo); i += perTx {
			err := ps.Store.View(ctx, func(tx Tx) error {
				for j := i; j < min(i+perTx, len(todo)); j++ {
					a := todo[j]
					r, err := ps.reconcile(tx, p, a.date, a.bin, a.account)
					if ErrorCode(err) == ENotFound || ErrorCode(err) == EInvalid {
						r, err = nil, nil // no stall of the programme has it now
					}
					if err != nil {
						return err
					}
					recs[j] = r
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	if err := rerun(0); err != nil {
		return 0, false, err
	}
	inTodo := make(map[accountDay]bool, len(todo))
	for _, a := range todo {
		inTodo[a] = true
	}
	first := len(todo)
	for i, r := range recs[:first] {
		for _, date := range pairedDays(r) {
			if a := (accountDay{todo[i].bin, todo[i].account, date}); !inTodo[a] {
				todo, inTodo[a] = append(todo, a), true
			}
		}
	}
	if err := rerun(first); err != nil {
		return 0, false, err
	}
	now := ps.now()
	err = ps.Store.Update(ctx, func(tx Tx) error {
		q, err := readReconQueue(tx, p.ID)
		if err != nil {
			return err
		}
		queueChanged := false
		for i, a := range todo {
			r := recs[i]
			if r == nil {
				continue
			}
			old, err := tx.Meta(reconStateKey(p.ID, a))
			if err != nil {
				return err
			}
			state := reconState(r)
			wasMismatch := strings.HasPrefix(string(old), ReconMismatch)
			switch {
			case r.Status == ReconMismatch && state != string(old):
				q = slices.DeleteFunc(q, func(n ReconNotice) bool { return n.BIN == a.bin && n.Account == a.account && n.BusinessDate == a.date })
				q = append(q, ReconNotice{ID: NewID(PrefixEvent), BIN: a.bin, Account: a.account, BusinessDate: a.date,
					StallID: r.StallID, Reasons: slices.Sorted(slices.Values(r.Reasons)), At: now})
			case r.Status != ReconMismatch && wasMismatch:
				q = slices.DeleteFunc(q, func(n ReconNotice) bool { return n.BIN == a.bin && n.Account == a.account && n.BusinessDate == a.date })
			default:
				continue
			}
			queueChanged = true
			if err := tx.SetMeta(reconStateKey(p.ID, a), []byte(state)); err != nil {
				return err
			}
		}
		if queueChanged {
			if err := writeReconQueue(tx, p.ID, q); err != nil {
				return err
			}
		}
		// An account-day a post touched again since the read stays for the
		// next pass.
		if len(fromDirty) > 0 {
			credited, err := readCreditedDays(tx, p.ID)
			if err != nil {
				return err
			}
			for a, n := range fromDirty {
				if credited.days[a] == n {
					delete(credited.days, a)
				}
			}
			if err := credited.write(tx, p.ID); err != nil {
				return err
			}
		}
		return tx.SetMeta(reconCursorKey(p.ID), []byte(strconv.FormatUint(last, 10)))
	})
	if err != nil {
		return 0, false, err
	}
	return len(todo), more, nil
}

// ReconNotices returns the notices waiting for delivery to a partner,
// oldest first.
func (ps *Partners) ReconNotices(ctx context.Context, partnerID string) ([]ReconNotice, error) {
	var q []ReconNotice
	err := ps.Store.View(ctx, func(tx Tx) error {
		var err error
		q, err = readReconQueue(tx, partnerID)
		return err
	})
	return q, err
}

// RecordReconNotice logs one delivery attempt of a notice in the audit log
// (object: the partner), and on success takes it off the queue, in one
// transaction: a notice is retried until it is delivered, at least once.
func (ps *Partners) RecordReconNotice(ctx context.Context, partnerID string, n *ReconNotice, typ string, attempt int, ok bool, detail string) error {
	now := ps.now()
	return ps.Store.Update(ctx, func(tx Tx) error {
		action := "webhook.failed"
		if ok {
			action = "webhook.delivered"
			q, err := readReconQueue(tx, partnerID)
			if err != nil {
				return err
			}
			if err := writeReconQueue(tx, partnerID, slices.DeleteFunc(q, func(x ReconNotice) bool { return x.ID == n.ID })); err != nil {
				return err
			}
		}
		// The account is masked: the log is append-only, and no erasure
		// could take a vendor's account number out of it again.
		return audit(tx, SystemPrincipal("webhook"), now, action, "partner", partnerID, nil,
			fmt.Sprintf("%s %s attempt %d: %s %s %s %s", typ, n.ID, attempt, n.BIN, MaskAccount(n.Account), n.BusinessDate, detail))
	})
}
