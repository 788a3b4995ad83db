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
	// Tree is every data object, templates' children after their parents;
	// values are substrings of Payload.
	Tree []Element
	// ByteLengths is set when lengths had to be counted in UTF-8 bytes, the
	// fallback for generators that count that way (VIETQR.md §2).
	ByteLengths bool

	cause cause
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

// DecodeInto is Decode writing into r and reusing its Tree and Warnings
// storage: decoding a valid payload into a reused Result allocates nothing.
func DecodeInto(r *Result, payload string) {
	*r = Result{Tree: r.Tree[:0], Warnings: r.Warnings[:0]}
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
	s := strings.TrimSpace(payload)
	r.Payload = s
	if len(s) != len(payload) {
		r.warn(Warning{Code: WarnTrimmed})
	}
	if s == "" {
		r.Family = FamilyNotEMV
		r.fail(VerdictEmpty, cause{code: causeEmpty})
		return
	}
	if len(s) < 2 || s[:2] != "00" {
		r.Family = FamilyNotEMV
		r.fail(VerdictNotEMV, cause{code: causeNotEMV})
		return
	}
	ascii := isASCII(s)
	if !ascii {
		r.warn(Warning{Code: WarnNonASCII})
	}

	// The CRC first (DESIGN.md §4): it is the one check that tells damage from
	// a generator's quirks. A missing CRC is judged after parsing, which tells
	// a cut string (truncated) from one that never had a CRC.
	crcMissing := r.checkCRC(s)

	// Structure: characters first, UTF-8 bytes if that fails (VIETQR.md §2).
	rootErr, err38, err62 := r.buildTree(s, true)
	if !ascii && (rootErr.Problem != ProblemNone || err38.Problem != ProblemNone || err62.Problem != ProblemNone || r.brokenTemplates() > 0) {
		mark := len(r.Tree)
		br, b38, b62 := r.buildTreeAt(mark, s, false)
		if br.Problem == ProblemNone && b38.Problem == ProblemNone && b62.Problem == ProblemNone && r.brokenTemplatesFrom(mark) == 0 {
			r.Tree = append(r.Tree[:0], r.Tree[mark:]...)
			for i := range r.Tree {
				if r.Tree[i].Parent >= 0 {
					r.Tree[i].Parent -= mark
				}
			}
			rootErr, err38, err62 = br, b38, b62
			r.ByteLengths = true
			r.warn(Warning{Code: WarnByteLengths})
		} else {
			r.Tree = r.Tree[:mark]
		}
	}

	if crcMissing {
		if rootErr.Problem == ProblemOverrun {
			r.fail(VerdictTruncated, cause{code: causeSyntax, syntax: rootErr})
		} else {
			r.fail(VerdictNoCRC, cause{code: causeCRCMissing})
		}
	}
	structureOK := rootErr.Problem == ProblemNone
	switch rootErr.Problem {
	case ProblemNone:
	case ProblemBadID:
		r.fail(VerdictBadTag, cause{code: causeSyntax, syntax: rootErr})
	default:
		if !(crcMissing && rootErr.Problem == ProblemOverrun) {
			r.fail(VerdictBadLength, cause{code: causeSyntax, syntax: rootErr})
		}
	}
	if structureOK && r.CRCValid {
		last := r.lastRoot()
		if last < 0 || r.Tree[last].ID != "63" || r.Tree[last].Offset != len(s)-8 {
			structureOK = false
			r.fail(VerdictBadLength, cause{code: causeCRCNotLast})
		}
	}

	headerOK := len(r.Tree) > 0 && r.Tree[0].ID == "00" && r.Tree[0].Value == "01"
	switch {
	case len(r.Tree) == 0:
	case r.Tree[0].ID != "00":
		r.fail(VerdictBadHeader, cause{code: causeNoFormat})
	case r.Tree[0].Value != "01":
		r.fail(VerdictBadHeader, cause{code: causeFormat, text: r.Tree[0].Value})
	}
	r.EMVOK = r.CRCValid && structureOK && headerOK

	r.readFields()
	napas38 := r.judge38(err38)
	if !napas38 && rootErr.Problem != ProblemNone && r.rootIndex("38") < 0 {
		// Cut or broken before 38 could be read: still name the family
		// when the NAPAS template visibly starts.
		if k := strings.Index(s, "0010"+NAPASGUID); k >= 4 && s[k-4:k-2] == "38" {
			napas38 = true
		}
	}
	r.Family = r.classify(napas38)
	transfer := napas38 && (r.Fields.Service == ServiceAccount || r.Fields.Service == ServiceCard)
	r.judgeCommon(transfer, err62)
	r.Transfer = transfer && r.Verdict == ""
}

// checkCRC verifies a trailing 6304xxxx. It reports whether there is no CRC
// object at all, leaving that verdict to the caller.
func (r *Result) checkCRC(s string) (missing bool) {
	n := len(s)
	if n >= 8 && s[n-8:n-4] == "6304" {
		stated := s[n-4:]
		r.Fields.CRC = stated
		got, ok := parseCRCHex(stated)
		if !ok {
			r.fail(VerdictBadCRC, cause{code: causeCRCNotHex, text: stated})
			return false
		}
		want := CRC16(s[:n-4])
		if got != want {
			r.fail(VerdictBadCRC, cause{code: causeCRCMismatch, n: int(got), m: int(want)})
			return false
		}
		r.CRCValid = true
		for i := n - 4; i < n; i++ {
			if s[i] >= 'a' && s[i] <= 'f' {
				r.warn(Warning{Code: WarnLowercaseCRC})
				break
			}
		}
		return false
	}
	for k := 3; k >= 0; k-- {
		if n >= 4+k && s[n-4-k:n-k] == "6304" && isHex(s[n-k:]) {
			if k == 0 {
				r.fail(VerdictNoCRC, cause{code: causeCRCEmpty})
			} else {
				r.Fields.CRC = s[n-k:]
				r.fail(VerdictBadCRC, cause{code: causeCRCShort, text: s[n-k:]})
			}
			return false
		}
	}
	return true
}

// buildTree parses s into r.Tree, descending into the templates it knows. It
// returns the root's syntax error and those of the two templates a transfer
// depends on, 38 (with 38.01) and 62. Other templates that fail to parse keep
// no children; brokenTemplates finds them.
func (r *Result) buildTree(s string, byChars bool) (root, t38, t62 SyntaxError) {
	return r.buildTreeAt(0, s, byChars)
}

// buildTreeAt builds the tree after the first mark elements of r.Tree, so a
// second attempt (by bytes) can sit beside the first until one is chosen.
func (r *Result) buildTreeAt(mark int, s string, byChars bool) (root, t38, t62 SyntaxError) {
	r.Tree, root = parseRun(r.Tree, s, 0, len(s), -1, byChars)
	// Parent indexes are absolute in r.Tree; the caller shifts them if it
	// moves this attempt down to index 0.
	end := len(r.Tree)
	for i := mark; i < end; i++ {
		e := r.Tree[i]
		switch {
		case e.ID == "38":
			var err SyntaxError
			r.Tree, err = r.parseChildren(i, byChars)
			if err.Problem != ProblemNone {
				err.Context = "38"
				t38 = err
				break
			}
			if j := r.child(i, "01"); j >= 0 {
				r.Tree, err = r.parseChildren(j, byChars)
				if err.Problem != ProblemNone {
					err.Context = "38.01"
					t38 = err
				}
			}
		case e.ID == "62":
			var err SyntaxError
			r.Tree, err = r.parseChildren(i, byChars)
			if err.Problem != ProblemNone {
				err.Context = "62"
				t62 = err
			}
		case isOptionalTemplate(e.ID) || e.ID >= "80":
			// 80–99 are templates by the spec, but Techcombank (8315T…),
			// TPBank (8707CLASSIC) and MoMo (8003046) put plain values there:
			// a failed parse there just means a plain value.
			before := len(r.Tree)
			var err SyntaxError
			r.Tree, err = r.parseChildren(i, byChars)
			if err.Problem != ProblemNone {
				r.Tree = r.Tree[:before]
			}
		}
	}
	return root, t38, t62
}

func (r *Result) parseChildren(i int, byChars bool) ([]Element, SyntaxError) {
	e := r.Tree[i]
	start := e.Offset + 4
	return parseRun(r.Tree, r.Payload, start, start+len(e.Value), i, byChars)
}

// isOptionalTemplate reports whether a root ID is a template whose failure to
// parse is only a warning: the merchant templates other than NAPAS's 38 (26–51)
// and the alternate-language template 64.
func isOptionalTemplate(id string) bool {
	return id != "38" && isMerchantTemplate(id) || id == "64"
}

// brokenTemplates counts the optional templates that have a value but no
// children: they failed to parse.
func (r *Result) brokenTemplates() int { return r.brokenTemplatesFrom(0) }

func (r *Result) brokenTemplatesFrom(mark int) int {
	n := 0
	for i := mark; i < len(r.Tree); i++ {
		e := r.Tree[i]
		if e.Parent != -1 || e.Value == "" || !isOptionalTemplate(e.ID) {
			continue
		}
		if r.child(i, "") < 0 {
			n++
		}
	}
	return n
}

// child finds the first child of the element at index p whose ID is id (any
// ID when id is ""). Children always follow their parent.
func (r *Result) child(p int, id string) int {
	for i := p + 1; i < len(r.Tree); i++ {
		if r.Tree[i].Parent == p && (id == "" || r.Tree[i].ID == id) {
			return i
		}
	}
	return -1
}

func (r *Result) childValue(p int, id string) string {
	if i := r.child(p, id); i >= 0 {
		return r.Tree[i].Value
	}
	return ""
}

func (r *Result) rootIndex(id string) int {
	for i, e := range r.Tree {
		if e.Parent == -1 && e.ID == id {
			return i
		}
	}
	return -1
}

func (r *Result) lastRoot() int {
	for i := len(r.Tree) - 1; i >= 0; i-- {
		if r.Tree[i].Parent == -1 {
			return i
		}
	}
	return -1
}

// readFields copies the common fields out of the tree, first occurrence wins,
// and warns about empty and repeated data objects.
func (r *Result) readFields() {
	f := &r.Fields
	var seen [100]bool // root IDs seen
	for i, e := range r.Tree {
		if e.Value == "" {
			r.warn(Warning{Code: WarnZeroLength, Path: r.path(i)})
		}
		if e.Parent != -1 {
			continue
		}
		id := int(e.ID[0]-'0')*10 + int(e.ID[1]-'0')
		if seen[id] {
			r.warn(Warning{Code: WarnDuplicateTag, Path: e.ID})
			continue
		}
		seen[id] = true
		switch e.ID {
		case "00":
			f.FormatIndicator = e.Value
		case "01":
			f.POI = e.Value
			switch e.Value {
			case "11":
				f.Initiation = Static
			case "12":
				f.Initiation = Dynamic
			}
		case "38":
			f.GUID = r.childValue(i, "00")
			if j := r.child(i, "01"); j >= 0 {
				f.BIN = r.childValue(j, "00")
				f.Account = r.childValue(j, "01")
			}
			f.Service = Service(r.childValue(i, "02"))
		case "52":
			f.MCC = e.Value
		case "53":
			f.Currency = e.Value
		case "54":
			f.AmountText = e.Value
		case "58":
			f.Country = e.Value
		case "59":
			f.MerchantName = e.Value
		case "60":
			f.City = e.Value
		case "61":
			f.PostalCode = e.Value
		case "62":
			for j := i + 1; j < len(r.Tree); j++ {
				c := r.Tree[j]
				if c.Parent != i {
					continue
				}
				var dst *string
				switch c.ID {
				case "01":
					dst = &f.BillNumber
				case "02":
					dst = &f.MobileNumber
				case "03":
					dst = &f.StoreLabel
				case "04":
					dst = &f.LoyaltyNumber
				case "05":
					dst = &f.ReferenceLabel
				case "06":
					dst = &f.CustomerLabel
				case "07":
					dst = &f.TerminalLabel
				case "08":
					dst = &f.Purpose
				}
				if dst != nil && *dst == "" {
					*dst = c.Value
				}
			}
		}
	}
	if f.BIN != "" {
		if b, ok := BankByBIN(f.BIN); ok {
			f.Bank = b.ShortName
		}
	}
}

// path names the element at i the way the spec does: "62.08", "38.01.00".
// Root IDs cost nothing; nested paths allocate, but only warnings use them.
func (r *Result) path(i int) string {
	e := r.Tree[i]
	if e.Parent < 0 {
		return e.ID
	}
	switch p := r.Tree[e.Parent]; {
	case p.Parent < 0 && p.ID == "62" && e.ID == "08":
		return "62.08"
	}
	return r.path(e.Parent) + "." + e.ID
}

// judge38 checks the NAPAS template and reports whether the payload carries
// one (its GUID is NAPAS's, even if the rest is broken).
func (r *Result) judge38(err38 SyntaxError) bool {
	i := r.rootIndex("38")
	if i < 0 {
		return false
	}
	v := r.Tree[i].Value
	napas := strings.EqualFold(r.Fields.GUID, NAPASGUID) || err38.Problem != ProblemNone && len(v) >= 14 && strings.EqualFold(v[:14], "0010"+NAPASGUID)
	if !napas {
		return false
	}
	f := &r.Fields
	if err38.Problem != ProblemNone {
		r.fail(VerdictBadTag38, cause{code: cause38Syntax, syntax: err38})
	}
	j := r.child(i, "01")
	switch {
	case err38.Problem != ProblemNone:
		// The fields below are whatever was read before the break.
	case r.child(i, "00") < 0:
		r.fail(VerdictBadTag38, cause{code: cause38NoGUID})
	case j < 0:
		r.fail(VerdictBadTag38, cause{code: cause38NoBeneficiary})
	case len(f.BIN) != 6 || !isDigits(f.BIN):
		r.fail(VerdictBadTag38, cause{code: cause38BIN, text: f.BIN})
	case f.Account == "":
		r.fail(VerdictBadTag38, cause{code: cause38NoAccount})
	case len([]rune(f.Account)) > MaxAccountLen:
		r.fail(VerdictBadTag38, cause{code: cause38LongAccount, n: len([]rune(f.Account))})
	}
	if j >= 0 {
		for k := j + 1; k < len(r.Tree); k++ {
			if c := r.Tree[k]; c.Parent == j && c.ID != "00" && c.ID != "01" {
				r.warn(Warning{Code: WarnExtraSubtag, Path: "38.01", Text: c.ID})
			}
		}
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
	if f.BIN != "" && len(f.BIN) == 6 {
		if b, ok := BankByBIN(f.BIN); !ok {
			r.warn(Warning{Code: WarnUnknownBIN, Text: f.BIN})
		} else if b.BIN != f.BIN {
			r.warn(Warning{Code: WarnSBVBIN, Text: f.BIN})
		}
	}
	return true
}

// judgeCommon checks the root fields. For a transfer they decide the verdict;
// for other families the same problems are only warnings, since those codes
// are not ours to pay.
func (r *Result) judgeCommon(transfer bool, err62 SyntaxError) {
	f := &r.Fields
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
			r.fail(VerdictBadTag62, cause{code: cause62Syntax, syntax: err62})
		} else {
			r.warn(Warning{Code: WarnBadTemplate, Text: err62.Error()})
		}
	}
	if r.brokenTemplates() > 0 {
		for i, e := range r.Tree {
			if e.Parent != -1 || e.Value == "" || !isOptionalTemplate(e.ID) || r.child(i, "") >= 0 {
				continue
			}
			_, err := parseRun(nil, r.Payload, e.Offset+4, e.Offset+4+len(e.Value), i, !r.ByteLengths)
			err.Context = e.ID
			r.warn(Warning{Code: WarnBadTemplate, Path: e.ID, Text: err.Error()})
		}
	}
	r.warnLong(f.Purpose, "62.08", MaxPurposeLen)
	r.warnLong(f.MerchantName, "59", MaxMerchantNameLen)
	r.warnLong(f.City, "60", MaxCityLen)
}

func (r *Result) warnLong(v, path string, max int) {
	if len(v) <= max {
		return
	}
	if n := len([]rune(v)); n > max {
		r.warn(Warning{Code: WarnLongValue, Path: path, N: n, Max: max})
	}
}

// judgeAmount reads 54: digits with at most one point, at most 13
// characters, non-zero, no decimals for VND (VIETQR.md §6). The encoder allows
// nine digits; the decoder accepts up to 13 with a warning.
func (r *Result) judgeAmount(transfer bool) {
	f := &r.Fields
	s := f.AmountText
	bad := func(c causeCode) {
		if transfer {
			r.fail(VerdictBadAmount, cause{code: c, text: s})
		} else {
			r.warn(Warning{Code: WarnAmount, Text: s})
		}
	}
	if len(s) > 13 {
		bad(causeAmountLong)
		return
	}
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || !isDigits(whole) || !isDigits(frac) {
		bad(causeAmountSyntax)
		return
	}
	if frac != "" {
		bad(causeAmountDecimals)
		return
	}
	var v int64
	for i := 0; i < len(whole); i++ {
		v = v*10 + int64(whole[i]-'0')
	}
	if v == 0 {
		bad(causeAmountZero)
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
