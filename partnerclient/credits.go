package partnerclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Credit is one credit notification: money that reached a payout account.
type Credit struct {
	BankTxnID  string    `json:"bank_txn_id"` // the bank's id; posting it again is safe
	BIN        string    `json:"bin"`
	Account    string    `json:"account"`
	Amount     int64     `json:"amount"`      // đồng
	CreditedAt time.Time `json:"credited_at"` // sent in RFC 3339
	Content    string    `json:"content"`     // the transfer message as the bank has it
}

// CreditResult says what the server did with one credit.
type CreditResult struct {
	BankTxnID string `json:"bank_txn_id"`
	Status    string `json:"status"` // CreditCreated, CreditDuplicate or CreditConflict
	// Match is how the credit was matched to a stall and a sale, as the
	// server sends it.
	Match json.RawMessage `json:"match,omitempty"`
}

// Credit result statuses.
const (
	CreditCreated   = "created"   // stored now
	CreditDuplicate = "duplicate" // stored before with the same content: nothing changed
	CreditConflict  = "conflict"  // stored before with different content: check your records
)

// PostCredits posts credit notifications. They are idempotent by
// BankTxnID, so a batch whose response was lost can be posted again;
// 429 and 503 are retried as such. Results come in the order of credits.
func (c *Client) PostCredits(ctx context.Context, credits []Credit) ([]CreditResult, error) {
	if len(credits) == 0 {
		return nil, errors.New("partnerclient: no credits to post")
	}
	body, err := json.Marshal(struct {
		Credits []Credit `json:"credits"`
	}{credits})
	if err != nil {
		return nil, err
	}
	var resp struct {
		Results []CreditResult `json:"results"`
	}
	if err := c.doJSON(ctx, "POST", "/partner/v1/credits", nil, body, &resp); err != nil {
		return nil, err
	}
	if len(resp.Results) != len(credits) {
		return resp.Results, fmt.Errorf("partnerclient: posted %d credits, got %d results", len(credits), len(resp.Results))
	}
	return resp.Results, nil
}
