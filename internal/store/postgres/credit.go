package postgres

import (
	"cmp"
	"strings"

	"github.com/choso/choso"
)

// creditRecord is a credit as stored, with the fingerprint JSON leaves out.
type creditRecord struct {
	choso.Credit
	Hash []byte `json:"hash,omitempty"`
	// StallPos mirrors the stall_pos column once the credit moved
	// (SetCreditMatch); 0 means its seq.
	StallPos uint64 `json:"stall_pos,omitempty"`
}

// credit returns the stored credit; stallPos says whether to set its
// StallPos, which only a listing of a stall's credits does.
func (rec *creditRecord) credit(stallPos bool) *choso.Credit {
	c := rec.Credit
	c.Hash = rec.Hash
	if stallPos {
		c.StallPos = cmp.Or(rec.StallPos, c.Seq)
	}
	return &c
}

// checkCreditKeys refuses what the bbolt store refuses; see keySep.
func checkCreditKeys(c *choso.Credit) error {
	if c.BankTxnID == "" {
		return choso.Errorf(choso.EInvalid, "bank transaction ID is empty")
	}
	if !choso.ValidBankTxnID(c.BankTxnID) {
		return choso.Errorf(choso.EInvalid, "bank transaction ID %q is not printable text", c.BankTxnID)
	}
	if err := checkKeyPart("credit BIN", c.BIN); err != nil {
		return err
	}
	if err := checkKeyPart("credit account", c.Account); err != nil {
		return err
	}
	if c.StallID != "" {
		if err := checkKeyPart("credit stall ID", c.StallID); err != nil {
			return err
		}
	}
	if c.BusinessDate != "" {
		return checkDate(c.BusinessDate)
	}
	return nil
}

func listCredits(tx *Tx, stallPos bool, sql string, args ...any) ([]*choso.Credit, error) {
	recs, err := listDocs[creditRecord](tx, sql, args...)
	if err != nil {
		return nil, err
	}
	list := make([]*choso.Credit, len(recs))
	for i, rec := range recs {
		list[i] = rec.credit(stallPos)
	}
	return list, nil
}

// FindCredit returns the credit a partner posted with a bank transaction
// ID; see choso.CreditTx. A row whose partner_id is empty was stored before
// migration 0006 or by a node of the release before it: its doc says whose
// it is.
func (tx *Tx) FindCredit(partnerID, bankTxnID string) (*choso.Credit, error) {
	rec, err := tx.findCredit(partnerID, bankTxnID)
	if err != nil {
		return nil, err
	}
	return rec.credit(false), nil
}

func (tx *Tx) findCredit(partnerID, bankTxnID string) (*creditRecord, error) {
	if bankTxnID == "" || !choso.ValidBankTxnID(bankTxnID) {
		return nil, notFound("no credit with bank transaction ID %q", bankTxnID) // no such text can be stored
	}
	recs, err := listDocs[creditRecord](tx, "SELECT doc FROM credits WHERE bank_txn_id = $1 AND partner_id IN ($2, '')", bankTxnID, partnerID)
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		if rec.PartnerID == partnerID {
			return rec, nil
		}
	}
	return nil, notFound("no credit with bank transaction ID %s", bankTxnID)
}

// AppendCredit stores a new credit with the next credit seq, in commit
// order, so that a phone pulling its stall's credits by seq misses none; see
// choso.CreditTx and the package doc.
func (tx *Tx) AppendCredit(c *choso.Credit) (uint64, error) {
	if err := tx.canWrite(); err != nil {
		return 0, err
	}
	if err := checkCreditKeys(c); err != nil {
		return 0, err
	}
	switch _, err := tx.findCredit(c.PartnerID, c.BankTxnID); {
	case err == nil:
		return 0, choso.Errorf(choso.EConflict, "credit with bank transaction ID %s already exists", c.BankTxnID)
	case choso.ErrorCode(err) != choso.ENotFound:
		return 0, err
	}
	seq, err := tx.nextSeq("credit")
	if err != nil {
		return 0, err
	}
	c.Seq = seq
	doc, err := marshal(creditRecord{Credit: *c, Hash: c.Hash})
	if err != nil {
		return 0, err
	}
	_, err = tx.exec(`INSERT INTO credits (seq, bank_txn_id, partner_id, stall_id, bin, account, business_date, doc, stall_pos)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $1)`, int64(seq), c.BankTxnID, c.PartnerID, c.StallID, c.BIN, c.Account, c.BusinessDate, doc)
	if err != nil {
		return 0, err
	}
	return seq, nil
}

// SetCreditMatch records the sale a stored credit paid and moves the
// credit to the end of that sale's stall's credits, at a new value of the
// credit sequence; see choso.CreditTx.
func (tx *Tx) SetCreditMatch(partnerID, bankTxnID, stallID, saleID, kind string) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if saleID == "" || kind == "" {
		return choso.Errorf(choso.EInvalid, "a credit's match needs a sale ID and a kind")
	}
	if err := checkKeyPart("credit stall ID", stallID); err != nil {
		return err
	}
	rec, err := tx.findCredit(partnerID, bankTxnID)
	if err != nil {
		return err
	}
	if rec.SaleID != "" {
		return choso.Errorf(choso.EConflict, "credit %s is matched to sale %s already", bankTxnID, rec.SaleID)
	}
	pos, err := tx.nextSeq("credit")
	if err != nil {
		return err
	}
	rec.StallID, rec.SaleID, rec.MatchKind, rec.StallPos = stallID, saleID, kind, pos
	doc, err := marshal(rec)
	if err != nil {
		return err
	}
	_, err = tx.exec("UPDATE credits SET doc = $1, stall_id = $2, stall_pos = $3 WHERE seq = $4", doc, stallID, int64(pos), int64(rec.Seq))
	return err
}

// ListStallCredits returns up to limit credits of a stall with StallPos >
// after, in that order; see choso.CreditTx.
func (tx *Tx) ListStallCredits(stallID string, after uint64, limit int) ([]*choso.Credit, error) {
	a, ok := seqArg(after)
	if !ok || checkKeyPart("stall ID", stallID) != nil {
		return nil, nil
	}
	return listCredits(tx, true, "SELECT doc FROM credits WHERE stall_id = $1 AND stall_pos > $2 ORDER BY stall_pos LIMIT "+itoa(scanLimit(limit)), stallID, a)
}

// ListAccountCredits returns, in seq order, the credits to one payout
// account whose BusinessDate is date; see choso.CreditTx.
func (tx *Tx) ListAccountCredits(bin, account, date string) ([]*choso.Credit, error) {
	if !isDate(date) {
		return nil, nil
	}
	return listCredits(tx, false, "SELECT doc FROM credits WHERE bin = $1 AND account = $2 AND business_date = $3 ORDER BY seq", bin, account, date)
}

// PutSaleRef records the payment reference of a sale; see choso.CreditTx.
func (tx *Tx) PutSaleRef(ref, saleID string) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if ref == "" || saleID == "" {
		return choso.Errorf(choso.EInvalid, "payment reference and sale ID must not be empty")
	}
	if strings.IndexByte(ref, 0) >= 0 {
		// Text cannot hold a NUL byte: such a reference is kept as bytes
		// (migration 0004). No reference is in both tables.
		_, err := tx.exec("INSERT INTO sale_refs_nul (ref, sale_id) VALUES ($1, $2) ON CONFLICT (ref) DO UPDATE SET sale_id = excluded.sale_id", []byte(ref), saleID)
		return err
	}
	_, err := tx.exec("INSERT INTO sale_refs (ref, sale_id) VALUES ($1, $2) ON CONFLICT (ref) DO UPDATE SET sale_id = excluded.sale_id", ref, saleID)
	return err
}

// FindSaleByRef returns the ULID of the sale with a payment reference; see
// choso.CreditTx.
func (tx *Tx) FindSaleByRef(ref string) (string, error) {
	var id string
	q, arg := "SELECT sale_id FROM sale_refs WHERE ref = $1", any(ref)
	if strings.IndexByte(ref, 0) >= 0 {
		q, arg = "SELECT sale_id FROM sale_refs_nul WHERE ref = $1", []byte(ref)
	}
	found, err := tx.scanRow(q, []any{arg}, &id)
	if err != nil {
		return "", err
	}
	if !found {
		return "", notFound("no sale with payment reference %s", ref)
	}
	return id, nil
}

// PutQRSale indexes a QR sale of a stall by its effective time; see
// choso.CreditTx.
func (tx *Tx) PutQRSale(stallID string, effectiveMs int64, saleID string) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if err := checkKeyPart("stall ID", stallID); err != nil {
		return err
	}
	if saleID == "" {
		return choso.Errorf(choso.EInvalid, "sale ID is empty")
	}
	if effectiveMs < 0 {
		return choso.Errorf(choso.EInvalid, "effective time %d ms is before 1970", effectiveMs)
	}
	tx.bulk.addQRSale(stallID, effectiveMs, saleID)
	return nil
}

// ListQRSales returns the ULIDs of a stall's QR sales with effective times
// in [fromMs, toMs], by time; see choso.CreditTx.
func (tx *Tx) ListQRSales(stallID string, fromMs, toMs int64) ([]string, error) {
	return tx.listStrings(`SELECT sale_id FROM qr_sales WHERE stall_id = $1 AND effective_ms BETWEEN $2 AND $3
		ORDER BY effective_ms, sale_id`, stallID, fromMs, toMs)
}
