package client

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/choso/choso/qr"
)

// ErrNoPayout is DynamicQR before the first config pull, or for a stall
// whose config has no payout account (its vendor's data was erased).
var ErrNoPayout = errors.New("client: no payout account in the cached config; pull the config first")

// QRCode is a dynamic VietQR code for one sale.
type QRCode struct {
	// Payload is the EMV string to draw as a QR code (any QR library; the
	// checksum is in it).
	Payload string
	// Ref is the payment reference first in the code's message: pass it to
	// RecordSale when the customer has paid, so the bank's credit finds the
	// sale.
	Ref    string
	Amount int64 // đồng
}

// configQR is the part of the cached config that names the payout account.
type configQR struct {
	QR struct {
		BIN     string `json:"bin"`
		Account string `json:"account"`
		Service string `json:"service"`
	} `json:"qr"`
}

// DynamicQR makes the VietQR code of one sale of amount đồng to the
// stall's payout account, with a fresh payment reference ("CS" and eight
// symbols) first in its message and as much of purpose as fits after it.
// It needs no network: the account comes from the cached config, so it
// fails with ErrNoPayout before the first RefreshConfig. Record the sale
// with RecordSale(amount, "qr", code.Ref).
func (c *Client) DynamicQR(amount int64, purpose string) (*QRCode, error) {
	if amount < 1 || amount > qr.MaxAmount {
		return nil, fmt.Errorf("%w: amount %d: a VietQR carries 1–%d đồng", ErrInvalidSale, amount, qr.MaxAmount)
	}
	var cfg configQR
	err := c.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketMeta).Get(keyConfig)
		if raw == nil {
			return ErrNoPayout
		}
		return json.Unmarshal(raw, &cfg)
	})
	if err != nil {
		return nil, err
	}
	if cfg.QR.BIN == "" || cfg.QR.Account == "" {
		return nil, ErrNoPayout
	}
	ref, err := qr.NewReference(rand.Reader)
	if err != nil {
		return nil, err
	}
	t := qr.Transfer{BIN: cfg.QR.BIN, Account: cfg.QR.Account, Service: qr.ServiceAccount}
	if strings.EqualFold(cfg.QR.Service, string(qr.ServiceCard)) || strings.EqualFold(cfg.QR.Service, "card") {
		t.Service = qr.ServiceCard
	}
	t.SetSale(amount, ref, purpose) // as the server's dynamic codes
	payload, err := qr.Encode(t)
	if err != nil {
		return nil, err
	}
	return &QRCode{Payload: payload, Ref: ref, Amount: amount}, nil
}
