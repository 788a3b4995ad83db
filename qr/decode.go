package qr

import (
	"encoding/json"
	"strings"
)

// Result is everything the decoder learns about a payload.
type Result struct {
	Payload  string    // the payload decoded, without surrounding whitespace
	Family   Family    // what kind of code it is
	Verdict  Verdict   // "ok" or the first reason it cannot be used
	EMVOK    bool      // the EMV structure, payload format indicator and CRC are valid
	Transfer bool      // a VietQR transfer (QRIBFTTA/QRIBFTTC) a banking app can pay
	CRCValid bool      // the CRC is present and matches (either hex case)
	Fields   Fields    // the common fields, read leniently even from an invalid payload
	Warnings []Warning // what is off without stopping use, plus failures after the first
	// ByteLengths is set when lengths had to be counted in UTF-8 bytes, the
	// fallback for generators that count that way (VIETQR.md §2).
	ByteLengths bool

	cause   cause
	bankBIN string // the directory's VietQR BIN for Fields.BIN, "" when unknown
	ascii   bool   // the payload is all ASCII, so characters are bytes
	walked  bool   // the payload looked enough like EMV for its objects to be read
}

// Initiation is the point of initiation method (01) in words.
type Initiation string

// The points of initiation.
const (
	Static  Initiation = "static"  // 01 = 11: reusable, the payer types the amount
	Dynamic Initiation = "dynamic" // 01 = 12: one payment, usually with an amount
)

// Fields are the data objects a person or a reconciler asks about. Missing
// objects are empty strings.
type Fields struct {
	FormatIndicator string     // 00, "01"
	POI             string     // 01 as written, "11" or "12"
	Initiation      Initiation // 01 in words, "" when 01 is neither 11 nor 12
	GUID            string     // 38.00, "A000000727" for NAPAS
	BIN             string     // 38.01.00, the beneficiary bank
	Bank            string     // the bank's short name from the directory, "" when unknown
	Account         string     // 38.01.01, account, card, alias or virtual account
	Service         Service    // 38.02
	MCC             string     // 52
	Currency        string     // 53, "704" for VND
	AmountText      string     // 54 as written
	Amount          int64      // 54 in đồng, when it is a whole non-zero number (HasAmount)
	HasAmount       bool
	Country         string // 58
	MerchantName    string // 59
	City            string // 60
	PostalCode      string // 61
	BillNumber      string // 62.01
	MobileNumber    string // 62.02
	StoreLabel      string // 62.03
	LoyaltyNumber   string // 62.04
	ReferenceLabel  string // 62.05
	CustomerLabel   string // 62.06
	TerminalLabel   string // 62.07
	Purpose         string // 62.08, the transfer message banking apps pre-fill
	CRC             string // 63 as written
}

// Decode reads any string, from a valid VietQR to arbitrary text, and never
// panics. See Result.
func Decode(payload string) Result {
	var r Result
	DecodeInto(&r, payload)
	return r
}

// DecodeInto is Decode writing into r and reusing its Warnings storage:
// decoding a valid payload into a reused Result allocates nothing.
func DecodeInto(r *Result, payload string) {
	// Clearing in place and putting the storage back is cheaper than
	// copying in a fresh Result built around it.
	warnings := r.Warnings[:0]
	*r = Result{}
	r.Warnings = warnings
	r.decode(payload)
	if r.Verdict == "" {
		r.Verdict = VerdictOK
	}
}

// Message explains the verdict in English.
func (r *Result) Message() string {
	if r.Verdict == VerdictOK || r.Verdict == "" {
		switch {
		case r.Transfer:
			return "valid VietQR transfer"
		case r.Family == FamilyNAPASPush || r.Family == FamilyNAPASCash:
			return "valid EMV code for a NAPAS service that is not a transfer (" + string(r.Fields.Service) + ")"
		}
		return "valid EMV code, not a VietQR transfer (" + string(r.Family) + ")"
	}
	return r.cause.message()
}

// fail records a failure: the first becomes the verdict, later ones warnings.
func (r *Result) fail(v Verdict, c cause) {
	if r.Verdict == "" {
		r.Verdict, r.cause = v, c
		return
	}
	r.Warnings = append(r.Warnings, Warning{Code: WarningCode(v), Text: c.message()})
}

func (r *Result) warn(w Warning) { r.Warnings = append(r.Warnings, w) }

func (r *Result) decode(payload string) {
	s := payload
	// Scanned payloads rarely carry spaces; TrimSpace is for those that do.
	if n := len(s); n == 0 || s[0]-'!' > '~'-'!' || s[n-1]-'!' > '~'-'!' {
		s = strings.TrimSpace(s)
	}
	r.Payload = s
	if len(s) != len(payload) {
		r.warn(Warning{Code: WarnTrimmed})
	}
	if s == "" {
		r.Family = FamilyNotEMV
		r.fail(VerdictEmpty, cause{code: causeEmpty})
		return
	}
	if len(s) > MaxPayloadLen {
		r.Family = FamilyNotEMV
		r.fail(VerdictTooLong, cause{code: causeTooLong, n: len(s)})
		return
	}
	if len(s) < 2 || s[:2] != "00" {
		r.Family = FamilyNotEMV
		r.fail(VerdictNotEMV, cause{code: causeNotEMV})
		return
	}
	// The CRC first (DESIGN.md §4): it is the one check that tells damage from
	// a generator's quirks. A missing CRC is judged after parsing, which tells
	// a cut string (truncated) from one that never had a CRC. The same pass
	// over the bytes says whether they are all ASCII.
	crcMissing, ascii := r.checkCRC(s)
	r.ascii = ascii
	if !ascii {
		r.warn(Warning{Code: WarnNonASCII})
	}

	// Structure: characters first, UTF-8 bytes if that fails (VIETQR.md §2).
	// In ASCII the two agree, and counting bytes is faster.
	var w walkState
	r.walked = true
	if ascii {
		r.walk(s, false, &w)
	} else {
		r.walkNonASCII(s, &w)
	}
	rootErr := &w.root
	if f := &r.Fields; f.BIN != "" {
		if k, ok := banks.lookupBIN(f.BIN); ok {
			f.Bank = banks.banks[k].ShortName
			r.bankBIN = banks.banks[k].BIN
		}
	}

	if crcMissing {
		if rootErr.Problem == ProblemOverrun {
			r.fail(VerdictTruncated, cause{code: causeSyntax, syntax: *rootErr})
		} else {
			r.fail(VerdictNoCRC, cause{code: causeCRCMissing})
		}
	}
	structureOK := rootErr.Problem == ProblemNone
	switch rootErr.Problem {
	case ProblemNone:
	case ProblemBadID:
		r.fail(VerdictBadTag, cause{code: causeSyntax, syntax: *rootErr})
	default:
		if !(crcMissing && rootErr.Problem == ProblemOverrun) {
			r.fail(VerdictBadLength, cause{code: causeSyntax, syntax: *rootErr})
		}
	}
	if structureOK && r.CRCValid {
		if w.roots == 0 || w.lastID != 63 || w.lastAt != len(s)-8 {
			structureOK = false
			r.fail(VerdictBadLength, cause{code: causeCRCNotLast})
		}
	}

	headerOK := w.roots > 0 && w.firstID == 0 && w.firstVal == "01"
	switch {
	case w.roots == 0:
	case w.firstID != 0:
		r.fail(VerdictBadHeader, cause{code: causeNoFormat})
	case w.firstVal != "01":
		r.fail(VerdictBadHeader, cause{code: causeFormat, text: w.firstVal})
	}
	r.EMVOK = r.CRCValid && structureOK && headerOK

	napas38 := r.judge38(&w)
	if !napas38 && rootErr.Problem != ProblemNone && !w.hasRoot(38) {
		// Cut or broken before 38 could be read: still name the family
		// when the NAPAS template visibly starts.
		if k := strings.Index(s, "0010"+NAPASGUID); k >= 4 && s[k-4:k-2] == "38" {
			napas38 = true
		}
	}
	r.Family = r.classify(napas38, &w)
	transfer := napas38 && (r.Fields.Service == ServiceAccount || r.Fields.Service == ServiceCard)
	if transfer && w.conflict != "" {
		r.fail(VerdictAmbiguous, cause{code: causeAmbiguous, text: w.conflict, first: w.conflictA, second: w.conflictB})
	}
	r.judgeCommon(transfer, &w)
	r.Transfer = transfer && r.Verdict == ""
}

// walkNonASCII reads a payload with non-ASCII characters: lengths in
// characters, and if that fails, in UTF-8 bytes; if both fail, the
// characters' reading is the one reported.
func (r *Result) walkNonASCII(s string, w *walkState) {
	fields, warnings := r.Fields, len(r.Warnings)
	undo := func() {
		r.Fields, r.Warnings = fields, r.Warnings[:warnings]
		*w = walkState{}
	}
	if r.walk(s, true, w); !w.failed() {
		return
	}
	undo()
	if r.walk(s, false, w); !w.failed() {
		r.ByteLengths = true
		r.warn(Warning{Code: WarnByteLengths})
		return
	}
	undo()
	r.walk(s, true, w)
}

// checkCRC verifies a trailing 6304xxxx and reports whether the payload is
// ASCII. It reports whether there is no CRC object at all, leaving that
// verdict to the caller.
func (r *Result) checkCRC(s string) (missing, ascii bool) {
	n := len(s)
	if n >= 8 && s[n-8:n-4] == "6304" {
		want, ascii := crcASCII(s[:n-4])
		stated := s[n-4:]
		r.Fields.CRC = stated
		got, ok := parseCRCHex(stated)
		if !ok {
			r.fail(VerdictBadCRC, cause{code: causeCRCNotHex, text: stated})
			return false, ascii && isASCII(stated)
		}
		if got != want {
			r.fail(VerdictBadCRC, cause{code: causeCRCMismatch, n: int(got), m: int(want)})
			return false, ascii
		}
		r.CRCValid = true
		// Of the hex digits, only a–f have both 0x40 and 0x20 set.
		if h := uint32(stated[0]) | uint32(stated[1])<<8 | uint32(stated[2])<<16 | uint32(stated[3])<<24; h&(h<<1)&0x40404040 != 0 {
			r.warn(Warning{Code: WarnLowercaseCRC})
		}
		return false, ascii
	}
	ascii = isASCII(s)
	for k := 3; k >= 0; k-- {
		if n >= 4+k && s[n-4-k:n-k] == "6304" && isHex(s[n-k:]) {
			if k == 0 {
				r.fail(VerdictNoCRC, cause{code: causeCRCEmpty})
			} else {
				r.Fields.CRC = s[n-k:]
				r.fail(VerdictBadCRC, cause{code: causeCRCShort, text: s[n-k:]})
			}
			return false, ascii
		}
	}
	return true, ascii
}

// judge38 checks the NAPAS template and reports whether the payload carries
// one (its GUID is NAPAS's, even if the rest is broken).
func (r *Result) judge38(w *walkState) bool {
	if !w.hasRoot(38) {
		return false
	}
	err38, v := &w.t38, w.napas
	napas := r.Fields.GUID == NAPASGUID || strings.EqualFold(r.Fields.GUID, NAPASGUID) || err38.Problem != ProblemNone && len(v) >= 14 && strings.EqualFold(v[:14], "0010"+NAPASGUID)
	if !napas {
		return false
	}
	f := &r.Fields
	if err38.Problem != ProblemNone {
		r.fail(VerdictBadTag38, cause{code: cause38Syntax, syntax: *err38})
	}
	switch {
	case err38.Problem != ProblemNone:
		// The fields below are whatever was read before the break.
	case w.napasKids&has00 == 0:
		r.fail(VerdictBadTag38, cause{code: cause38NoGUID})
	case w.napasKids&has01 == 0:
		r.fail(VerdictBadTag38, cause{code: cause38NoBeneficiary})
	case len(f.BIN) != 6 || !isDigits(f.BIN):
		r.fail(VerdictBadTag38, cause{code: cause38BIN, text: f.BIN})
	case f.Account == "":
		r.fail(VerdictBadTag38, cause{code: cause38NoAccount})
	case len(f.Account) > MaxAccountLen && len([]rune(f.Account)) > MaxAccountLen:
		r.fail(VerdictBadTag38, cause{code: cause38LongAccount, n: len([]rune(f.Account))})
	}
	switch f.Service {
	case ServiceAccount, ServiceCard, ServicePush, ServiceCash:
	case "":
		if err38.Problem == ProblemNone {
			r.fail(VerdictBadTag38, cause{code: cause38NoService})
		}
	default:
		r.fail(VerdictBadTag38, cause{code: cause38Service, text: string(f.Service)})
	}
	if len(f.BIN) == 6 {
		if r.bankBIN == "" {
			r.warn(Warning{Code: WarnUnknownBIN, Text: f.BIN})
		} else if r.bankBIN != f.BIN {
			r.warn(Warning{Code: WarnSBVBIN, Text: f.BIN})
		}
	}
	return true
}

// judgeCommon checks the root fields. For a transfer they decide the verdict;
// for other families the same problems are only warnings, since those codes
// are not ours to pay.
func (r *Result) judgeCommon(transfer bool, w *walkState) {
	f := &r.Fields
	err62 := &w.t62
	if f.POI != "11" && f.POI != "12" {
		if transfer {
			r.fail(VerdictBadHeader, cause{code: causeInitiation, text: f.POI})
		} else {
			r.warn(Warning{Code: WarnInitiation, Text: f.POI})
		}
	}
	if f.Currency != "704" {
		if transfer {
			r.fail(VerdictBadCurrency, cause{code: causeCurrency, text: f.Currency})
		} else {
			r.warn(Warning{Code: WarnCurrency, Text: f.Currency})
		}
	}
	if f.Country != "VN" {
		if transfer {
			r.fail(VerdictBadCountry, cause{code: causeCountry, text: f.Country})
		} else {
			r.warn(Warning{Code: WarnCountry, Text: f.Country})
		}
	}
	if f.AmountText != "" {
		r.judgeAmount(transfer)
	}
	if transfer {
		switch {
		case f.POI == "12" && !f.HasAmount && f.AmountText == "":
			r.warn(Warning{Code: WarnDynamicWithoutAmount})
		case f.POI == "11" && f.AmountText != "":
			r.warn(Warning{Code: WarnStaticWithAmount})
		}
	}
	if err62.Problem != ProblemNone {
		if transfer {
			r.fail(VerdictBadTag62, cause{code: cause62Syntax, syntax: *err62})
		} else {
			r.warn(Warning{Code: WarnBadTemplate, Text: err62.Error()})
		}
	}
	if w.broken > 0 {
		r.warnBrokenTemplates()
	}
	r.warnLong(f.Purpose, "62.08", MaxPurposeLen)
	r.warnLong(f.MerchantName, "59", MaxMerchantNameLen)
	r.warnLong(f.City, "60", MaxCityLen)
}

// warnBrokenTemplates warns of each optional template at the root that the
// walk did not read: one that failed to parse, or a repeat, which the walk
// does not descend into.
func (r *Result) warnBrokenTemplates() {
	s, byChars := r.Payload, !r.ByteLengths
	var seen [2]uint64
	forEachRoot(s, r.lengthsInChars(), func(at, id int, v string) {
		first := seen[id>>6]&(1<<(id&63)) == 0
		seen[id>>6] |= 1 << (id & 63)
		if v == "" || !isOptionalTemplate(id) {
			return
		}
		vs, end := at+4, at+4+len(v)
		bad := scanRun(s, vs, end, r.lengthsInChars())
		if first && bad < 0 {
			return
		}
		_, bad = parseRun(nil, s, vs, end, 0, byChars)
		err := syntaxErrorAt(s, max(bad, vs), end, byChars)
		err.Context = s[at : at+2]
		r.warn(Warning{Code: WarnBadTemplate, Path: s[at : at+2], Text: err.Error()})
	})
}

func (r *Result) warnLong(v, path string, max int) {
	if len(v) <= max {
		return
	}
	n := len(v)
	if !r.ascii {
		n = len([]rune(v))
	}
	if n > max {
		r.warn(Warning{Code: WarnLongValue, Path: path, N: n, Max: max})
	}
}

// judgeAmount reads 54: digits with at most one point, at most 13
// characters, non-zero, no decimals for VND (VIETQR.md §6). The encoder allows
// nine digits; the decoder accepts up to 13 with a warning.
func (r *Result) judgeAmount(transfer bool) {
	f := &r.Fields
	s := f.AmountText
	if len(s) > 13 {
		r.badAmount(transfer, causeAmountLong)
		return
	}
	// One pass reads the whole part and finds the point; digits are checked
	// on the way, so a valid amount is read once.
	var v int64
	i := 0
	for ; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			break
		}
		v = v*10 + int64(d)
	}
	whole, dot := s[:i], i < len(s) && s[i] == '.'
	frac := ""
	if dot {
		frac = s[i+1:]
	}
	if whole == "" || i < len(s) && !dot || !isDigits(frac) {
		r.badAmount(transfer, causeAmountSyntax)
		return
	}
	if frac != "" {
		r.badAmount(transfer, causeAmountDecimals)
		return
	}
	if v == 0 {
		r.badAmount(transfer, causeAmountZero)
		return
	}
	f.Amount, f.HasAmount = v, true
	if dot {
		r.warn(Warning{Code: WarnAmountTrailingDot, Text: s})
	}
	if whole[0] == '0' {
		r.warn(Warning{Code: WarnAmountLeadingZero, Text: s})
	}
	if v >= 500_000_000 {
		r.warn(Warning{Code: WarnAmountOverCap, Text: s})
	}
}

// badAmount records an unusable 54: the verdict of a transfer, a warning on
// other codes.
func (r *Result) badAmount(transfer bool, c causeCode) {
	s := r.Fields.AmountText
	if transfer {
		r.fail(VerdictBadAmount, cause{code: c, text: s})
	} else {
		r.warn(Warning{Code: WarnAmount, Text: s})
	}
}

// MarshalJSON writes the shape `choso qr decode` prints and POST /v1/qr/decode
// answers: emv_ok, transfer, family, verdict, message, warnings, fields.
func (r Result) MarshalJSON() ([]byte, error) {
	w := r.Warnings
	if w == nil {
		w = []Warning{}
	}
	return json.Marshal(struct {
		EMVOK    bool      `json:"emv_ok"`
		Transfer bool      `json:"transfer"`
		Family   Family    `json:"family"`
		Verdict  Verdict   `json:"verdict"`
		Message  string    `json:"message"`
		Warnings []Warning `json:"warnings"`
		Fields   Fields    `json:"fields"`
	}{r.EMVOK, r.Transfer, r.Family, r.Verdict, r.Message(), w, r.Fields})
}

// MarshalJSON writes the fields in snake_case; amount is a number, or null
// when 54 is absent or not a whole number of đồng.
func (f Fields) MarshalJSON() ([]byte, error) {
	var amount *int64
	if f.HasAmount {
		amount = &f.Amount
	}
	return json.Marshal(struct {
		BIN            string     `json:"bin"`
		Bank           string     `json:"bank"`
		Account        string     `json:"account"`
		Service        Service    `json:"service"`
		Initiation     Initiation `json:"initiation"`
		Amount         *int64     `json:"amount"`
		Currency       string     `json:"currency"`
		Country        string     `json:"country"`
		MCC            string     `json:"mcc"`
		MerchantName   string     `json:"merchant_name"`
		City           string     `json:"city"`
		BillNumber     string     `json:"bill_number"`
		StoreLabel     string     `json:"store_label"`
		ReferenceLabel string     `json:"reference_label"`
		TerminalLabel  string     `json:"terminal_label"`
		Purpose        string     `json:"purpose"`
		CRC            string     `json:"crc"`
	}{f.BIN, f.Bank, f.Account, f.Service, f.Initiation, amount, f.Currency, f.Country, f.MCC,
		f.MerchantName, f.City, f.BillNumber, f.StoreLabel, f.ReferenceLabel, f.TerminalLabel, f.Purpose, f.CRC})
}
