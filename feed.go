package choso

import (
	"context"
	"fmt"
	"time"
)

// Partners holds the rules of the bank partner's side: its keys, the change
// feed of stall-day revisions, snapshot lists, exports, credits and
// reconciliation, each limited to the partner's programme.
type Partners struct {
	Store  Store
	Sealer Sealer
	Now    Clock // required
	// ExtractRef finds a payment reference in a transfer's content as
	// banks mangle it (the qr package's ExtractReference).
	ExtractRef func(content string) (string, bool)
	// FinalAfter is how long after its business day a stall-day turns
	// final (DESIGN.md §6: two days).
	FinalAfter time.Duration
	// Location resolves a market's time zone.
	Location func(name string) (*time.Location, error)
}

// Sealer seals and opens secrets with the master key; the aad binds a
// sealed secret to what it belongs to (a key ID).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// DefaultFinalAfter is the delay after which a business day turns final.
const DefaultFinalAfter = 48 * time.Hour

// Revision is one entry of the partner feed: a stall-day as it stood after
// one committing transaction, flat for banks' systems.
type Revision struct {
	ChangeSeq    uint64                  `json:"change_seq"`
	StallID      string                  `json:"stall_id"`
	StallCode    string                  `json:"stall_code"`
	MarketID     string                  `json:"market_id"`
	CommuneCode  string                  `json:"commune_code"`
	ProvinceCode string                  `json:"province_code"`
	BIN          string                  `json:"bin"`
	Account      string                  `json:"account"`
	BusinessDate string                  `json:"business_date"`
	Status       string                  `json:"status"`
	Revision     uint64                  `json:"revision"`
	ByMethod     map[string]MethodTotals `json:"by_method"`
	Voids        MethodTotals            `json:"voids"`
	ConfirmedQR  MethodTotals            `json:"confirmed_qr"`
	ChangedAt    time.Time               `json:"changed_at"`
}

func (ps *Partners) now() time.Time { return ps.Now().UTC() }

// revisionOf flattens a change with its stall's identity and account.
func revisionOf(c *Change, s *stallIdentity) Revision {
	return revisionOfDay(&c.Day, c.ChangeSeq, c.At, s)
}

// revisionOfDay flattens a stall-day as it stood at change seq: the day
// itself, or the day of a change.
func revisionOfDay(d *StallDay, seq uint64, at time.Time, s *stallIdentity) Revision {
	r := Revision{
		ChangeSeq: seq, StallID: d.StallID, MarketID: d.MarketID, CommuneCode: d.CommuneCode,
		ProvinceCode: d.ProvinceCode, BusinessDate: d.Date, Status: d.Status, Revision: seq,
		ByMethod: d.ByMethod, Voids: d.Voids, ConfirmedQR: d.ConfirmedQR, ChangedAt: at,
	}
	if r.ByMethod == nil {
		r.ByMethod = map[string]MethodTotals{}
	}
	for _, m := range []string{MethodCash, MethodQR, MethodTransfer} {
		if _, ok := r.ByMethod[m]; !ok {
			r.ByMethod[m] = MethodTotals{}
		}
	}
	if r.Status == "" {
		r.Status = DayProvisional
	}
	if s != nil {
		r.StallCode, r.BIN, r.Account = s.code, s.bin, s.account
	}
	return r
}

// stallIdentity is what a revision shows of its stall: a few short
// strings, so a cache of many stalls stays small.
type stallIdentity struct{ code, bin, account string }

// stallCache reads each stall once per request (nil for a stall not found).
type stallCache map[string]*stallIdentity

// of returns the identity a day carries (days written since the store kept
// it), or reads the stall. For the first it fills and returns own, so a
// row of an export allocates nothing here.
func (sc stallCache) of(tx Tx, d *StallDay, own *stallIdentity) (*stallIdentity, error) {
	if d.StallCode != "" {
		*own = stallIdentity{code: d.StallCode, bin: d.BIN, account: d.Account}
		return own, nil
	}
	return sc.get(tx, d.StallID)
}

func (sc stallCache) get(tx Tx, id string) (*stallIdentity, error) {
	if s, ok := sc[id]; ok {
		return s, nil
	}
	s, err := tx.FindStall(id)
	if ErrorCode(err) == ENotFound {
		sc[id] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ident := &stallIdentity{code: s.Code, bin: s.Payout.BIN, account: s.Payout.Account}
	sc[id] = ident
	return ident, nil
}

// FeedLimits bound a feed page.
const (
	DefaultFeedLimit = 100
	MaxFeedLimit     = 1000
)

// FeedPage is one page of the change feed.
type FeedPage struct {
	Data    []Revision
	Last    uint64 // change seq to continue after
	HasMore bool
}

// Changes returns the partner's revisions after change seq after, in commit
// order. Changes outside the programme are skipped but still move the
// cursor, so a page may hold fewer than limit entries; it reads at most
// a bounded number of changes, so a partner with a small programme never
// holds a long read transaction. bbolt commits one writer at a time, so
// change N+1 is never visible before N: a cursor never skips a row.
func (ps *Partners) Changes(ctx context.Context, p *Partner, after uint64, limit int) (*FeedPage, error) {
	limit = clampLimit(limit, DefaultFeedLimit, MaxFeedLimit)
	page := &FeedPage{Data: []Revision{}, Last: after}
	const scanBudget = 20 * MaxFeedLimit
	err := ps.Store.View(ctx, func(tx Tx) error {
		page.Data, page.Last, page.HasMore = page.Data[:0], after, false
		stalls := stallCache{}
		scanned := 0
		for scanned < scanBudget {
			chunk, err := tx.ListChanges(page.Last, min(MaxFeedLimit, scanBudget-scanned))
			if err != nil {
				return err
			}
			if len(chunk) == 0 {
				return nil
			}
			for _, c := range chunk {
				if len(page.Data) == limit {
					page.HasMore = true
					return nil
				}
				scanned++
				page.Last = c.ChangeSeq
				if !p.Covers(c.Day.ProvinceCode, c.Day.MarketID) {
					continue
				}
				var own stallIdentity
				s, err := stalls.of(tx, &c.Day, &own)
				if err != nil {
					return err
				}
				page.Data = append(page.Data, revisionOf(c, s))
			}
		}
		// Out of budget with changes left: say so, the cursor moved.
		more, err := tx.ListChanges(page.Last, 1)
		page.HasMore = len(more) > 0
		return err
	})
	return page, err
}

func clampLimit(n, def, max int) int {
	switch {
	case n <= 0:
		return def
	case n > max:
		return max
	}
	return n
}

// SummaryFilter selects a snapshot list of stall-days of one business date.
type SummaryFilter struct {
	Date          string
	MarketID      string
	CommuneCode   string
	StartingAfter string // keyset: the last stall ID of the previous page
	AsOfSeq       uint64 // 0: now; pages of one list pass the first page's as_of_seq
	Limit         int
}

// SummaryPage is one page of a snapshot list.
type SummaryPage struct {
	Data    []Revision
	AsOfSeq uint64
	HasMore bool
}

// Summaries lists the partner's stall-days of one date as they stood at
// AsOfSeq, in stall order. Passing the first page's AsOfSeq to the next
// pages keeps them consistent with each other while data keeps arriving:
// a day changed since is shown as its latest revision at or before AsOfSeq.
func (ps *Partners) Summaries(ctx context.Context, p *Partner, f SummaryFilter) (*SummaryPage, error) {
	if _, err := time.Parse(time.DateOnly, f.Date); err != nil {
		return nil, Errorf(EInvalid, "business_date must be YYYY-MM-DD")
	}
	limit := clampLimit(f.Limit, DefaultFeedLimit, MaxFeedLimit)
	page := &SummaryPage{Data: []Revision{}}
	err := ps.Store.View(ctx, func(tx Tx) error {
		page.Data, page.HasMore = page.Data[:0], false
		asOf := f.AsOfSeq
		if asOf == 0 {
			var err error
			if asOf, err = tx.LastChangeSeq(); err != nil {
				return err
			}
		}
		page.AsOfSeq = asOf
		stalls := stallCache{}
		after := f.StartingAfter
		for {
			days, err := tx.ListDaysByDate(f.Date, after, MaxFeedLimit)
			if err != nil {
				return err
			}
			if len(days) == 0 {
				return nil
			}
			for _, d := range days {
				after = d.StallID
				if !p.Covers(d.ProvinceCode, d.MarketID) ||
					(f.MarketID != "" && d.MarketID != f.MarketID) || (f.CommuneCode != "" && d.CommuneCode != f.CommuneCode) {
					continue
				}
				c, err := changeAsOf(tx, d, asOf)
				if err != nil {
					return err
				}
				if c == nil {
					continue // the day did not exist yet at asOf
				}
				if len(page.Data) == limit {
					page.HasMore = true
					return nil
				}
				var own stallIdentity
				s, err := stalls.of(tx, &c.Day, &own)
				if err != nil {
					return err
				}
				page.Data = append(page.Data, revisionOf(c, s))
			}
		}
	})
	return page, err
}

// changeAsOf returns a stall-day as it stood at change seq asOf: itself
// when its latest revision is not newer, else its latest earlier change;
// nil when the day did not exist yet.
func changeAsOf(tx Tx, d *StallDay, asOf uint64) (*Change, error) {
	if d.Revision <= asOf {
		return &Change{ChangeSeq: d.Revision, Day: *d, At: d.UpdatedAt}, nil
	}
	c, err := tx.FindChangeAsOf(d.StallID, d.Date, asOf)
	if ErrorCode(err) == ENotFound {
		return nil, nil
	}
	return c, err
}

// ExportChunk is how many stall-days one read transaction of an export
// reads: short transactions keep the file from growing under writers and
// memory flat whatever the range.
const ExportChunk = 2000

// exportStallCacheMax bounds the stalls an export remembers: every date
// lists the same stalls again, and decoding a stall cost more than
// everything else an export row needs. 50,000 stalls took about 20 MiB of
// RssAnon (BENCHMARKS.md); past it the cache starts over, and a larger
// programme's export decodes a stall per row as before.
const exportStallCacheMax = 50_000

// Export calls emit with the partner's stall-days of every business date
// from from to to (inclusive), each as its latest revision at or before the
// export's as_of_seq, in date then stall order. It returns the as_of_seq.
// emit must not keep r: its memory is reused for later rows.
//
// It reads in short transactions of ExportChunk days, so the store file
// does not grow under writers and memory stays flat whatever the range.
// A goroutine reads the next chunk while emit encodes and sends the one
// before: reading and encoding take about the same time, and overlap on
// two cores. A stall's code and payout account are read once per export,
// so every row of a stall shows the same ones even if they change while
// the export runs.
func (ps *Partners) Export(ctx context.Context, p *Partner, from, to string, emit func(r *Revision) error) (uint64, error) {
	start, err1 := time.Parse(time.DateOnly, from)
	end, err2 := time.Parse(time.DateOnly, to)
	if err1 != nil || err2 != nil || end.Before(start) {
		return 0, Errorf(EInvalid, "from and to must be dates YYYY-MM-DD, from ≤ to")
	}
	if end.Sub(start) > 366*24*time.Hour {
		return 0, Errorf(EInvalid, "export at most a year at a time")
	}
	var asOf uint64
	if err := ps.Store.View(ctx, func(tx Tx) error {
		var err error
		asOf, err = tx.LastChangeSeq()
		return err
	}); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Three chunks at most are alive: one emitted, one waiting, one read.
	chunks := make(chan []Revision, 1)
	spent := make(chan []Revision, 2)
	read := make(chan error, 1)
	go func() {
		defer close(chunks)
		read <- ps.readExport(ctx, p, start, end, asOf, chunks, spent)
	}()
	stop := func(err error) (uint64, error) {
		cancel()
		for range chunks {
		}
		<-read
		return asOf, err
	}
	for rows := range chunks {
		if err := ctx.Err(); err != nil {
			return stop(fmt.Errorf("export cancelled: %w", err))
		}
		for i := range rows {
			if err := emit(&rows[i]); err != nil {
				return stop(err)
			}
		}
		select {
		case spent <- rows[:0]:
		default:
		}
	}
	if err := <-read; err != nil {
		return asOf, err
	}
	return asOf, nil
}

// readExport sends the rows of Export to out a chunk at a time, taking
// the slices to fill from spent when there are any.
func (ps *Partners) readExport(ctx context.Context, p *Partner, start, end time.Time, asOf uint64, out chan<- []Revision, spent <-chan []Revision) error {
	stalls := stallCache{}
	for day := start; !day.After(end); day = day.AddDate(0, 0, 1) {
		date := day.Format(time.DateOnly)
		after := ""
		for {
			var rows []Revision
			select {
			case rows = <-spent:
			default:
				rows = make([]Revision, 0, ExportChunk)
			}
			more := false
			err := ps.Store.View(ctx, func(tx Tx) error {
				rows, more = rows[:0], false
				days, err := tx.ListDaysByDate(date, after, ExportChunk)
				if err != nil {
					return err
				}
				more = len(days) == ExportChunk
				if len(stalls) > exportStallCacheMax {
					stalls = stallCache{} // a new map: clear keeps the old one's size
				}
				for _, d := range days {
					after = d.StallID
					if !p.Covers(d.ProvinceCode, d.MarketID) {
						continue
					}
					// The day as it is, when not newer than asOf (nearly
					// always): no change to read or copy.
					day, seq, at := d, d.Revision, d.UpdatedAt
					if d.Revision > asOf {
						c, err := changeAsOf(tx, d, asOf)
						if err != nil {
							return err
						}
						if c == nil {
							continue
						}
						day, seq, at = &c.Day, c.ChangeSeq, c.At
					}
					var own stallIdentity
					s, err := stalls.of(tx, day, &own)
					if err != nil {
						return err
					}
					rows = append(rows, revisionOfDay(day, seq, at, s))
				}
				return nil
			})
			if err != nil {
				return err
			}
			if len(rows) > 0 {
				select {
				case out <- rows:
				case <-ctx.Done():
					return fmt.Errorf("export cancelled: %w", ctx.Err())
				}
			}
			if !more {
				break
			}
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("export cancelled: %w", err)
		}
	}
	return nil
}
