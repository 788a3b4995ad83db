package partnerclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
	Status    string `json:"status"`            // CreditCreated, CreditDuplicate, CreditConflict or CreditInvalid
	Message   string `json:"message,omitempty"` // why, for conflict and invalid
	// Credit is the credit as the server holds it, with how it was
	// matched: set for created and duplicate, nil for invalid and conflict.
	Credit *StoredCredit `json:"credit,omitempty"`
}

// StoredCredit is a credit as the server holds it: what the bank posted,
// and the stall and sale it was matched to.
type StoredCredit struct {
	Credit
	ReceivedAt   time.Time `json:"received_at"`
	StallID      string    `json:"stall_id,omitempty"`      // "" if no stall has the account
	BusinessDate string    `json:"business_date,omitempty"` // the stall's business day of CreditedAt
	SaleID       string    `json:"sale_id,omitempty"`       // the sale it paid, if known
	Match        string    `json:"match"`                   // MatchReference, MatchAmountTime, MatchAccountOnly or MatchNone
}

// Credit result statuses.
const (
	CreditCreated   = "created"   // stored now
	CreditDuplicate = "duplicate" // stored before with the same content: nothing changed
	CreditConflict  = "conflict"  // stored before with different content: check your records
	CreditInvalid   = "invalid"   // refused; Message says why
)

// How a credit was matched.
const (
	MatchReference   = "reference"    // the payment reference in the content named the sale
	MatchAmountTime  = "amount_time"  // exactly one QR sale of the amount within ±10 minutes
	MatchAccountOnly = "account_only" // the stall is known, the sale is not
	MatchNone        = "none"         // no stall has this account
)

// PostCredits posts credit notifications. They are idempotent by
// BankTxnID, so a batch whose response was lost can be posted again;
// 429 and 503 are retried as such. Results come in the order of credits.
//
// A batch with any conflict is answered 409 with every result; PostCredits
// returns those results without an error, so check each Status.
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
	status, err := c.doJSONPassing(ctx, "POST", "/partner/v1/credits", nil, body, &resp, http.StatusConflict)
	if err != nil {
		return nil, err
	}
	if len(resp.Results) != len(credits) {
		if status == http.StatusConflict {
			return nil, &Error{StatusCode: status, Code: "conflict", Message: "the server answered 409 without a result for every credit"}
		}
		return resp.Results, fmt.Errorf("partnerclient: posted %d credits, got %d results", len(credits), len(resp.Results))
	}
	return resp.Results, nil
}
