package bolt

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/choso/choso"
	bolt "go.etcd.io/bbolt"
)

// checkCreditKeys refuses a credit whose fields cannot be keys. The bank
// transaction ID is a whole key of its own, so it may hold anything but
// nothing; the BIN, account and date lead index keys.
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

// appendSeqKey appends parts joined by "/", then "/" and seq BE, to b.
func appendSeqKey(b []byte, seq uint64, parts ...string) []byte {
	for _, p := range parts {
		b = append(b, p...)
		b = append(b, keySep...)
	}
	return binary.BigEndian.AppendUint64(b, seq)
}

// creditIDKey appends a credit's key in the ID index to b: its partner's
// ID, a NUL, and its bank transaction ID, since each bank names its own
// transactions. A credit stored before schema 3 is under its bank
// transaction ID alone; no such ID holds a NUL (ValidBankTxnID), so the
// two forms never meet.
func creditIDKey(b []byte, partnerID, bankTxnID string) []byte {
	b = append(b, partnerID...)
	b = append(b, 0)
	return append(b, bankTxnID...)
}

// FindCredit returns the credit a partner posted with a bank transaction
// ID, through the ID index; see choso.CreditTx.
func (tx *Tx) FindCredit(partnerID, bankTxnID string) (*choso.Credit, error) {
	if bankTxnID == "" || !choso.ValidBankTxnID(bankTxnID) {
		return nil, notFound("no credit with bank transaction ID " + bankTxnID) // no such ID can be stored
	}
	ids := tx.bucket(bucketCreditIDs)
	var buf keyBuf
	if seq := ids.Get(creditIDKey(buf[:0], partnerID, bankTxnID)); seq != nil {
		return tx.getIndexedCredit(seq)
	}
	if seq := ids.Get([]byte(bankTxnID)); seq != nil { // stored before schema 3
		c, err := tx.getIndexedCredit(seq)
		if err != nil || c.PartnerID == partnerID {
			return c, err
		}
	}
	return nil, notFound("no credit with bank transaction ID " + bankTxnID)
}

// getIndexedCredit reads the credit an index names by its seq key; a
// missing one means the index is broken.
func (tx *Tx) getIndexedCredit(seq []byte) (*choso.Credit, error) {
	v := tx.bucket(bucketCredits).Get(seq)
	if v == nil || len(seq) != 8 {
		return nil, choso.Errorf(choso.EInternal, "credit index names credit %x, which is not stored", seq)
	}
	return decodeCredit(v)
}

// AppendCredit stores c under the credits bucket's next sequence, which it
// sets in c.Seq, with entries in the ID, stall (when matched to one) and
// account-day (when it has a business date) indexes; see choso.CreditTx.
// It also returns EInvalid for an empty bank transaction ID, a BIN, account
// or stall ID that cannot be a key, or a business date not in the form
// YYYY-MM-DD. The sequence lives in the bucket, inside the transaction, so a
// stall's phones can page its credits by seq without missing one.
func (tx *Tx) AppendCredit(c *choso.Credit) (uint64, error) {
	if err := tx.writable(); err != nil {
		return 0, err
	}
	if err := checkCreditKeys(c); err != nil {
		return 0, err
	}
	switch _, err := tx.FindCredit(c.PartnerID, c.BankTxnID); {
	case err == nil:
		return 0, choso.Errorf(choso.EConflict, "credit with bank transaction ID %s already exists", c.BankTxnID)
	case choso.ErrorCode(err) != choso.ENotFound:
		return 0, err
	}
	b := tx.bucketFilled(bucketCredits, appendFill)
	seq, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	c.Seq = seq
	var buf keyBuf
	key := binary.BigEndian.AppendUint64(buf[:0], seq)
	if err := b.Put(encodeCredit(key, c)); err != nil {
		return 0, err
	}
	if err := tx.bucket(bucketCreditIDs).Put(creditIDKey(buf[:0], c.PartnerID, c.BankTxnID), seqKey(seq)); err != nil { // bbolt keeps values as given: not buf
		return 0, err
	}
	if c.StallID != "" {
		if err := tx.bucket(bucketStallCredits).Put(appendSeqKey(buf[:0], seq, c.StallID), nil); err != nil {
			return 0, err
		}
	}
	if c.BusinessDate != "" {
		if err := tx.bucket(bucketAccountCredits).Put(appendSeqKey(buf[:0], seq, c.BIN, c.Account, c.BusinessDate), nil); err != nil {
			return 0, err
		}
	}
	return seq, nil
}

// SetCreditMatch records the sale a stored credit paid and moves the
// credit to the end of that sale's stall's credits; see choso.CreditTx. The
// new place comes from the credits' own sequence, so it is past every seq
// and place a phone has paged by; the credit keeps its seq, and the ID and
// account-day indexes stay.
func (tx *Tx) SetCreditMatch(partnerID, bankTxnID, stallID, saleID, kind string) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if saleID == "" || kind == "" {
		return choso.Errorf(choso.EInvalid, "a credit's match needs a sale ID and a kind")
	}
	if err := checkKeyPart("credit stall ID", stallID); err != nil {
		return err
	}
	c, err := tx.FindCredit(partnerID, bankTxnID)
	if err != nil {
		return err
	}
	if c.SaleID != "" {
		return choso.Errorf(choso.EConflict, "credit %s is matched to sale %s already", bankTxnID, c.SaleID)
	}
	credits := tx.bucketFilled(bucketCredits, appendFill)
	pos, err := credits.NextSequence() // the credits' own sequence: past every seq phones have seen
	if err != nil {
		return err
	}
	// An unmatched credit was never moved: its stall entry is at its seq.
	idx := tx.bucket(bucketStallCredits)
	var buf keyBuf
	if c.StallID != "" {
		if err := idx.Delete(appendSeqKey(buf[:0], c.Seq, c.StallID)); err != nil {
			return err
		}
	}
	if err := idx.Put(appendSeqKey(buf[:0], pos, stallID), seqKey(c.Seq)); err != nil {
		return err
	}
	c.StallID, c.SaleID, c.MatchKind = stallID, saleID, kind
	return credits.Put(encodeCredit(binary.BigEndian.AppendUint64(buf[:0], c.Seq), c))
}

// ListStallCredits returns up to limit credits of a stall with StallPos >
// after, in that order, from the stall index; see choso.CreditTx. An entry
// is keyed by the credit's StallPos and holds the credit's seq when the two
// differ (a credit matched late), nothing when they do not. Limit 0 or less
// means DefaultListLimit, and it is capped at MaxScanLimit.
func (tx *Tx) ListStallCredits(stallID string, after uint64, limit int) ([]*choso.Credit, error) {
	if checkKeyPart("stall ID", stallID) != nil {
		return nil, nil
	}
	limit = scanLimit(limit)
	prefix := joinKey(stallID, "")
	var list []*choso.Credit
	for k, v := range ascend(tx.bucket(bucketStallCredits), prefix, appendSeqKey(nil, after, stallID)) {
		pos := k[len(prefix):]
		seq := pos
		if len(v) == 8 {
			seq = v
		}
		c, err := tx.getIndexedCredit(seq)
		if err != nil {
			return nil, err
		}
		c.StallPos = binary.BigEndian.Uint64(pos)
		if list = append(list, c); len(list) == limit {
			break
		}
	}
	return list, nil
}

// ListAccountCredits returns, in seq order, the credits to a payout account
// whose BusinessDate is date, from the account-day index; see
// choso.CreditTx. A credit stored without a business date is in no day.
func (tx *Tx) ListAccountCredits(bin, account, date string) ([]*choso.Credit, error) {
	if checkKeyPart("BIN", bin) != nil || checkKeyPart("account", account) != nil || !isDate(date) {
		return nil, nil
	}
	prefix := joinKey(bin, account, date, "")
	var list []*choso.Credit
	for k := range ascend(tx.bucket(bucketAccountCredits), prefix, nil) {
		c, err := tx.getIndexedCredit(k[len(prefix):])
		if err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	return list, nil
}

// PutSaleRef records the sale a payment reference names; see
// choso.CreditTx. It returns EInvalid for an empty reference or sale ID.
func (tx *Tx) PutSaleRef(ref, saleID string) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if ref == "" || saleID == "" {
		return choso.Errorf(choso.EInvalid, "payment reference and sale ID must not be empty")
	}
	return tx.bucket(bucketSaleRefs).Put([]byte(ref), []byte(saleID))
}

// FindSaleByRef returns the ULID of the sale with a payment reference; see
// choso.CreditTx.
func (tx *Tx) FindSaleByRef(ref string) (string, error) {
	var id []byte
	if ref != "" {
		id = tx.bucket(bucketSaleRefs).Get([]byte(ref))
	}
	if id == nil {
		return "", notFound("no sale with payment reference " + ref)
	}
	return string(id), nil
}

// appendQRSaleKey appends stall ID + "/" + effective ms BE + "/", the
// prefix of a QR sale's key before its sale ID, to b.
func appendQRSaleKey(b []byte, stallID string, ms uint64) []byte {
	b = appendSeqKey(b, ms, stallID)
	return append(b, keySep...)
}

// PutQRSale indexes a QR sale of a stall by its effective time; see
// choso.CreditTx. It returns EInvalid for a stall ID that cannot be a key,
// an empty sale ID, or a negative time (before 1970: never a real sale's,
// and the key orders times as unsigned).
func (tx *Tx) PutQRSale(stallID string, effectiveMs int64, saleID string) error {
	if err := tx.writable(); err != nil {
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
	k := append(appendQRSaleKey(tx.hold(len(stallID)+10+len(saleID)), stallID, uint64(effectiveMs)), saleID...)
	if len(k) > bolt.MaxKeySize {
		return choso.Errorf(choso.EInvalid, "QR sale key of %d bytes is too long", len(k))
	}
	tx.qrSales = append(tx.qrSales, k) // written in runs at commit (flushQRSales); see Tx
	return nil
}

// The QR-sale index holds a stall's sales in runs: one key for the sales
// a transaction indexed for a stall within qrRunSpan of each other, up to
// maxQRRun of them, where each sale used to be a key of its own. A push's
// sales were as many leaf insertions, each into its stall's part of the
// index; a run is one (BENCHMARKS.md, issue 5).
//
// A run's key is its first sale's, stall ID + "/" + effective ms BE + "/" +
// sale ULID, and its value the others, in order of time then ULID: for
// each, uvarint(ms − the first's ms), uvarint(len(ULID)), ULID. A key with
// an empty value is a run of one, which is how every sale indexed before
// schema 4 reads. A key that holds a run is never written again: a sale
// indexed anew as a run's first is left out of the new run, which starts
// at the next. The span bounds how far before a range a scan starts; it
// is part of the format: a run wider than it is corrupt.
const (
	qrRunSpan = uint64(time.Hour / time.Millisecond)
	maxQRRun  = 256
)

// flushQRSales writes the held QR sales (their keys, one a sale) in runs.
func (tx *Tx) flushQRSales() error {
	keys := tx.qrSales
	slices.SortFunc(keys, bytes.Compare)
	keys = slices.CompactFunc(keys, bytes.Equal)          // a sale indexed twice is listed once
	b := tx.bucketFilled(bucketQRSales, mostlyAppendFill) // a stall's sales, by time
	for len(keys) > 0 {
		first := keys[0]
		if len(b.Get(first)) > 0 {
			// The first of a run written before (an earlier transaction,
			// or this one before a ListQRSales): the sale is indexed, and
			// a put would write over the run's other sales.
			keys = keys[1:]
			continue
		}
		head := bytes.Index(first, []byte(keySep)) + len(keySep) // stall ID + "/": PutQRSale checked the ID holds no "/"
		firstMs := binary.BigEndian.Uint64(first[head:])
		n, size := 1, 0
		for ; n < len(keys) && n < maxQRRun; n++ {
			k := keys[n]
			if !bytes.HasPrefix(k, first[:head]) || binary.BigEndian.Uint64(k[head:])-firstMs > qrRunSpan {
				break
			}
			size += 2*binary.MaxVarintLen64 + len(k) - head - 8 - len(keySep)
		}
		var v []byte
		if n > 1 {
			v = tx.hold(size)
			for _, k := range keys[1:n] {
				id := k[head+8+len(keySep):]
				v = binary.AppendUvarint(v, binary.BigEndian.Uint64(k[head:])-firstMs)
				v = binary.AppendUvarint(v, uint64(len(id)))
				v = append(v, id...)
			}
		}
		if err := b.Put(first, v); err != nil {
			return err
		}
		keys = keys[n:]
	}
	tx.qrSales = tx.qrSales[:0]
	return nil
}

// qrSale is a sale of the QR-sale index.
type qrSale struct {
	ms uint64
	id string
}

// appendQRRun appends the sales of the run stored under key, value with
// times in [from, to] to list; rest is the key past its stall ID and "/".
// The others cost no allocation: a listing scans an hour of a stall's sales
// before its range (`choso check --events` lists one instant a sale). It
// returns EInternal for a run that cannot be read, in range or not.
func appendQRRun(list []qrSale, key, rest, value []byte, from, to uint64) ([]qrSale, error) {
	malformed := func(why string) error {
		return choso.Errorf(choso.EInternal, "QR sale index: run %q: %s", key, why)
	}
	if len(rest) < 8+len(keySep)+1 {
		return list, malformed("key too short")
	}
	firstMs := binary.BigEndian.Uint64(rest)
	if firstMs >= from && firstMs <= to {
		list = append(list, qrSale{firstMs, string(rest[8+len(keySep):])})
	}
	for n := 1; len(value) > 0; n++ {
		if n == maxQRRun {
			return list, malformed(fmt.Sprintf("more than %d sales", maxQRRun))
		}
		delta, k := binary.Uvarint(value)
		if k <= 0 || delta > qrRunSpan {
			return list, malformed("bad time offset")
		}
		value = value[k:]
		size, k := binary.Uvarint(value)
		if k <= 0 || size == 0 || size > uint64(len(value)-k) {
			return list, malformed("bad sale ID length")
		}
		value = value[k:]
		if ms := firstMs + delta; ms >= from && ms <= to {
			list = append(list, qrSale{ms, string(value[:size])})
		}
		value = value[size:]
	}
	return list, nil
}

// ListQRSales returns the ULIDs of a stall's QR sales with effective times
// in [fromMs, toMs], by time and then ULID, by one scan from qrRunSpan
// before fromMs; see choso.CreditTx. No sale has a negative time, so a
// negative fromMs reads as 0.
func (tx *Tx) ListQRSales(stallID string, fromMs, toMs int64) ([]string, error) {
	if checkKeyPart("stall ID", stallID) != nil || toMs < 0 || fromMs > toMs {
		return nil, nil
	}
	from, to := uint64(max(fromMs, 0)), uint64(toMs)
	if err := tx.flush(); err != nil { // the scan must see this transaction's writes
		return nil, err
	}
	prefix := joinKey(stallID, "")
	var buf keyBuf
	c := tx.bucket(bucketQRSales).Cursor()
	var sales []qrSale
	for k, v := c.Seek(appendQRSaleKey(buf[:0], stallID, from-min(from, qrRunSpan))); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		rest := k[len(prefix):]
		if len(rest) >= 8 && binary.BigEndian.Uint64(rest) > to {
			break
		}
		var err error
		if sales, err = appendQRRun(sales, k, rest, v, from, to); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(sales, func(a, b qrSale) int {
		return cmp.Or(cmp.Compare(a.ms, b.ms), strings.Compare(a.id, b.id))
	})
	sales = slices.Compact(sales) // a sale indexed in two runs is listed once
	if len(sales) == 0 {
		return nil, nil
	}
	list := make([]string, 0, len(sales))
	for _, s := range sales {
		list = append(list, s.id)
	}
	return list, nil
}

// The credit codec: credits are written on every bank post and read on
// every sync of a stall's phones, so they take the binary form.

func encodeCredit(key []byte, x *choso.Credit) (k, v []byte) {
	e := newEncoder(key, 60+len(x.BankTxnID)+len(x.PartnerID)+len(x.BIN)+len(x.Account)+len(x.Content)+
		len(x.Hash)+len(x.StallID)+len(x.BusinessDate)+len(x.SaleID)+len(x.MatchKind))
	e.uint(x.Seq)
	e.str(x.BankTxnID)
	e.str(x.PartnerID)
	e.str(x.BIN)
	e.str(x.Account)
	e.int(x.Amount)
	e.time(x.CreditedAt)
	e.str(x.Content)
	e.time(x.ReceivedAt)
	e.bytes(x.Hash)
	e.str(x.StallID)
	e.str(x.BusinessDate)
	e.str(x.SaleID)
	e.str(x.MatchKind)
	return e.keyValue()
}

func decodeCredit(v []byte) (*choso.Credit, error) {
	d := newDecoder(v)
	if !d.since(binFormat2) { // credits came with format 2
		d.bad, d.b = true, nil
	}
	x := &choso.Credit{
		Seq:          d.uint(),
		BankTxnID:    d.str(),
		PartnerID:    d.str(),
		BIN:          d.str(),
		Account:      d.str(),
		Amount:       d.int(),
		CreditedAt:   d.time(),
		Content:      d.str(),
		ReceivedAt:   d.time(),
		Hash:         d.bytes(),
		StallID:      d.str(),
		BusinessDate: d.str(),
		SaleID:       d.str(),
		MatchKind:    d.str(),
	}
	return x, d.done("credit")
}
