package partnerclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"time"
)

// Revision is one entry of the change feed: a stall-day's totals as they
// stood after one change on the server. Amounts are in đồng.
type Revision struct {
	ChangeSeq    uint64            `json:"change_seq"`
	StallID      string            `json:"stall_id"`
	StallCode    string            `json:"stall_code"`
	MarketID     string            `json:"market_id"`
	CommuneCode  string            `json:"commune_code"`
	ProvinceCode string            `json:"province_code"`
	BIN          string            `json:"bin"`     // payout account's bank (BIN)
	Account      string            `json:"account"` // payout account number
	BusinessDate string            `json:"business_date"`
	Status       string            `json:"status"` // StatusProvisional, StatusFinal or StatusAdjusted
	Revision     uint64            `json:"revision"`
	ByMethod     map[string]Totals `json:"by_method"` // "cash", "qr", "transfer"
	Voids        Totals            `json:"voids"`
	ConfirmedQR  Totals            `json:"confirmed_qr"` // QR sales the bank's credits confirmed
	ChangedAt    time.Time         `json:"changed_at"`
	// Raw is the object as the server sent it, fields this client does
	// not know included: store it if you keep the feed verbatim.
	Raw json.RawMessage `json:"-"`
}

// Totals is a count of sales and their amount in đồng.
type Totals struct {
	Count  int64 `json:"count"`
	Amount int64 `json:"amount"`
}

// Revision statuses.
const (
	StatusProvisional = "provisional" // phones may still be syncing
	StatusFinal       = "final"       // the day is settled on our side
	StatusAdjusted    = "adjusted"    // data arrived after the day was final
)

// ChangesPage is one page of the change feed. Save NextCursor once Data is
// applied: it is where the next call (now or in a month) continues.
type ChangesPage struct {
	Data       []Revision
	NextCursor string
	HasMore    bool
}

// MaxChangesLimit is the most revisions the server gives in one page.
const MaxChangesLimit = 1000

// Changes returns the revisions after cursor ("" for the beginning of the
// feed), at most limit of them (0 for the server's default; a larger limit
// than MaxChangesLimit asks for MaxChangesLimit, which the server refuses
// to exceed). A page may be short, even empty, with HasMore set: the server
// bounds the work of one call.
func (c *Client) Changes(ctx context.Context, cursor string, limit int) (*ChangesPage, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(min(limit, MaxChangesLimit)))
	}
	var body struct {
		Data       []json.RawMessage `json:"data"`
		NextCursor string            `json:"next_cursor"`
		HasMore    bool              `json:"has_more"`
	}
	if err := c.doJSON(ctx, "GET", "/partner/v1/changes", q, nil, &body); err != nil {
		return nil, err
	}
	page := &ChangesPage{Data: make([]Revision, len(body.Data)), NextCursor: body.NextCursor, HasMore: body.HasMore}
	for i, raw := range body.Data {
		if err := json.Unmarshal(raw, &page.Data[i]); err != nil {
			return nil, fmt.Errorf("partnerclient: change feed item %d: %w", i, err)
		}
		page.Data[i].Raw = raw
	}
	if page.HasMore && (page.NextCursor == "" || page.NextCursor == cursor && len(page.Data) == 0) {
		return nil, errors.New("partnerclient: the server said has_more but gave no new cursor")
	}
	return page, nil
}

// ChangePages follows the feed from cursor, page by page, until a page has
// HasMore false; that last page is yielded too, and its NextCursor is
// where to resume later. On an error it yields (nil, err) and stops.
//
//	for page, err := range client.ChangePages(ctx, saved, 500) {
//		if err != nil {
//			return err
//		}
//		apply(page.Data)
//		saved = page.NextCursor // persist after applying
//	}
func (c *Client) ChangePages(ctx context.Context, cursor string, limit int) iter.Seq2[*ChangesPage, error] {
	return func(yield func(*ChangesPage, error) bool) {
		for {
			page, err := c.Changes(ctx, cursor, limit)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(page, nil) || !page.HasMore {
				return
			}
			cursor = page.NextCursor
		}
	}
}
