package qr

import "strings"

// The decoder's walk over a payload's data objects. It reads each object once,
// files the fields it knows, descends into the templates it knows, warns as it
// goes, and keeps only what the verdict needs (walkState); it stores no tree.
// Elements rebuilds the tree from the payload for callers that want it.

// walkState is what the walk learns besides Fields and Warnings: the syntax
// errors of the root and of the two templates a transfer depends on, 38 (with
// 38.01) and 62, and the few facts about other objects the verdict and the
// family need. Its zero value is the start of a walk.
type walkState struct {
	root, t38, t62 SyntaxError
	broken         int // optional templates (26–51 but 38, and 64) that failed to parse

	roots     int       // root objects read
	seen      [2]uint64 // bit id%64 of word id/64: a root object with that ID was read
	firstID   int       // the first root object's ID and value
	firstVal  string
	lastID    int // the last root object's ID and offset
	lastAt    int
	napas     string // the value of the first 38
	napasKids uint8  // has00, has01: which children the first 38 has
	merchants uint8  // merchantZaloPay…: GUIDs found in merchant templates (26–51)

	// The first field that decides a payment (see decidesPayment) and
	// appears twice with different values: its path and the two values.
	conflict             string
	conflictA, conflictB string
}

// clash notes that the payment field at path was given as first and then
// as second. A repeat of the same value is no conflict, nor is an empty one
// (a zero-length object states nothing). The first conflict is the one kept.
func (w *walkState) clash(path, first, second string) {
	if first != second && first != "" && second != "" && w.conflict == "" {
		w.conflict, w.conflictA, w.conflictB = path, first, second
	}
}

func (w *walkState) failed() bool {
	return w.root.Problem != ProblemNone || w.t38.Problem != ProblemNone || w.t62.Problem != ProblemNone || w.broken > 0
}

func (w *walkState) hasRoot(id int) bool { return w.seen[id>>6]&(1<<(id&63)) != 0 }

// The children of 38 that judge38 asks about, as bits of walkState.napasKids.
const (
	has00 = 1 << iota // the GUID
	has01             // the beneficiary
)

// What the GUIDs (sub-ID 00) of merchant templates say, as bits of
// walkState.merchants; classify turns them into a family.
const (
	merchantZaloPay = 1 << iota
	merchantMoMo
	merchantAirPay
	merchantVNPay
	merchantMSB
)

// walk reads the payload s: lengths count characters with byChars, bytes
// otherwise; where an ID repeats, the first wins. r.Fields, r.Warnings and w
// must be as a fresh walk finds them.
func (r *Result) walk(s string, byChars bool, w *walkState) {
	f := &r.Fields
	i := 0
	for i < len(s) {
		ve, ok := objectEnd(s, i, len(s))
		if byChars {
			ve, ok = objectEndChars(s, i, len(s))
		}
		if !ok {
			w.root = syntaxErrorAt(s, i, len(s), byChars)
			return
		}
		idStr, v := s[i:i+2], s[i+4:ve]
		id := idNum(idStr)
		if w.roots == 0 {
			w.firstID, w.firstVal = id, v
		}
		w.roots++
		w.lastID, w.lastAt = id, i
		vs := i + 4
		i = ve
		if v == "" {
			r.warn(Warning{Code: WarnZeroLength, Path: idStr})
		}
		if w.hasRoot(id) {
			r.warn(Warning{Code: WarnDuplicateTag, Path: idStr})
			if first, ok := r.rootPaymentField(id, w); ok {
				w.clash(idStr, first, v)
			}
			continue
		}
		w.seen[id>>6] |= 1 << (id & 63)
		switch rootKinds[id] {
		case kindFormat:
			f.FormatIndicator = v
		case kindPOI:
			f.POI = v
			switch v {
			case "11":
				f.Initiation = Static
			case "12":
				f.Initiation = Dynamic
			}
		case kindMCC:
			f.MCC = v
		case kindCurrency:
			f.Currency = v
		case kindAmount:
			f.AmountText = v
		case kindCountry:
			f.Country = v
		case kindName:
			f.MerchantName = v
		case kindCity:
			f.City = v
		case kindPostalCode:
			f.PostalCode = v
		case kindNAPAS:
			w.napas = v
			r.walk38(s, vs, ve, byChars, w)
		case kindAdditional:
			r.walk62(s, vs, ve, byChars, &w.t62)
		case kindMerchant, kindTemplate:
			ok, guid := scanTemplate(s, vs, ve, byChars)
			switch {
			case !ok:
				// 80–99 are templates by the spec, but Techcombank (8315T…),
				// TPBank (8707CLASSIC) and MoMo (8003046) put plain values
				// there: a failed parse there just means a plain value.
				if id < 80 && v != "" {
					w.broken++
				}
			case isMerchantTemplate(id):
				w.merchants |= merchantOf(id, guid)
			}
		}
	}
}

// rootPaymentField returns the value first read for root ID id when that
// object decides a transfer's payment: its kind (01), account (38), currency
// (53), amount (54) or country (58). A second, different value of one of
// these makes the code ambiguous: the decoder reads the first, and nothing
// says a banking app does too.
func (r *Result) rootPaymentField(id int, w *walkState) (string, bool) {
	f := &r.Fields
	switch id {
	case 1:
		return f.POI, true
	case 38:
		return w.napas, true
	case 53:
		return f.Currency, true
	case 54:
		return f.AmountText, true
	case 58:
		return f.Country, true
	}
	return "", false
}

// walk38 reads NAPAS's template, s[vs:ve], and its beneficiary template 38.01.
// 38.01 is only read inside a readable 38, so the rest of the level is
// checked before descending into it.
func (r *Result) walk38(s string, vs, ve int, byChars bool, w *walkState) {
	f := &r.Fields
	var seen00, seen01, seen02 bool
	var first01 string
	for j := vs; j < ve; {
		ke, ok := objectEnd(s, j, ve)
		if byChars {
			ke, ok = objectEndChars(s, j, ve)
		}
		if !ok {
			w.t38 = syntaxErrorAt(s, j, ve, byChars)
			w.t38.Context = "38" // the children before the break still count
			return
		}
		idStr, v := s[j:j+2], s[j+4:ke]
		if v == "" {
			r.warn(Warning{Code: WarnZeroLength, Path: "38." + idStr})
		}
		switch idStr {
		case "00":
			w.napasKids |= has00
			if seen00 {
				r.warn(Warning{Code: WarnDuplicateTag, Path: "38.00"})
				w.clash("38.00", f.GUID, v)
			}
			if f.GUID == "" {
				f.GUID = v
			}
			seen00 = true
		case "02":
			if seen02 {
				r.warn(Warning{Code: WarnDuplicateTag, Path: "38.02"})
				w.clash("38.02", string(f.Service), v)
			}
			if f.Service == "" {
				f.Service = Service(v)
			}
			seen02 = true
		case "01":
			w.napasKids |= has01
			if seen01 {
				r.warn(Warning{Code: WarnDuplicateTag, Path: "38.01"})
				w.clash("38.01", first01, v)
				break
			}
			seen01, first01 = true, v
			if scanRun(s, ke, ve, byChars) < 0 {
				r.walkBeneficiary(s, j+4, ke, byChars, w)
			}
		}
		j = ke
	}
}

// walkBeneficiary reads 38.01, s[vs:ve]: the bank's BIN and the account.
func (r *Result) walkBeneficiary(s string, vs, ve int, byChars bool, w *walkState) {
	f := &r.Fields
	err := &w.t38
	var seen00, seen01 bool
	for j := vs; j < ve; {
		ke, ok := objectEnd(s, j, ve)
		if byChars {
			ke, ok = objectEndChars(s, j, ve)
		}
		if !ok {
			*err = syntaxErrorAt(s, j, ve, byChars)
			err.Context = "38.01"
			return
		}
		idStr, v := s[j:j+2], s[j+4:ke]
		if v == "" {
			r.warn(Warning{Code: WarnZeroLength, Path: "38.01." + idStr})
		}
		switch idStr {
		case "00":
			if seen00 {
				r.warn(Warning{Code: WarnDuplicateTag, Path: "38.01.00"})
				w.clash("38.01.00", f.BIN, v)
			}
			if f.BIN == "" {
				f.BIN = v
			}
			seen00 = true
		case "01":
			if seen01 {
				r.warn(Warning{Code: WarnDuplicateTag, Path: "38.01.01"})
				w.clash("38.01.01", f.Account, v)
			}
			if f.Account == "" {
				f.Account = v
			}
			seen01 = true
		default:
			r.warn(Warning{Code: WarnExtraSubtag, Path: "38.01", Text: idStr})
		}
		j = ke
	}
}

// walk62 reads the additional-data template, s[vs:ve].
func (r *Result) walk62(s string, vs, ve int, byChars bool, err *SyntaxError) {
	f := &r.Fields
	for j := vs; j < ve; {
		ke, ok := objectEnd(s, j, ve)
		if byChars {
			ke, ok = objectEndChars(s, j, ve)
		}
		if !ok {
			*err = syntaxErrorAt(s, j, ve, byChars)
			err.Context = "62"
			return
		}
		idStr, v := s[j:j+2], s[j+4:ke]
		if v == "" {
			r.warn(Warning{Code: WarnZeroLength, Path: "62." + idStr})
		}
		var dst *string
		switch idStr {
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
			*dst = v
		}
		j = ke
	}
}

// objectEnd reads the header of the data object at s[i:end], lengths in
// bytes, and returns where its value ends; ok is false when the header is
// not four digits or the value runs past end. It is small enough to be
// inlined in the walk's loops (a digit test by table keeps it so);
// objectEndChars, a call, is for lengths in characters, and the loops take
// it only then.
func objectEnd(s string, i, end int) (ve int, ok bool) {
	if end-i < 4 {
		return 0, false
	}
	h := s[i : i+4]
	ve = i + 4 + int(h[2]-'0')*10 + int(h[3]-'0')
	return ve, notDigit[h[0]]|notDigit[h[1]]|notDigit[h[2]]|notDigit[h[3]] == 0 && ve <= end
}

// notDigit is 0 for the ten decimal digits and 1 for every other byte.
var notDigit = func() (t [256]uint8) {
	for i := range t {
		if i < '0' || i > '9' {
			t[i] = 1
		}
	}
	return t
}()

// objectEndChars is objectEnd with lengths counted in characters.
func objectEndChars(s string, i, end int) (ve int, ok bool) {
	if end-i < 4 {
		return 0, false
	}
	x, ok := tlvHeader(s[i : i+4])
	ve = skipChars(s, i+4, end, int(x>>16&0xF)*10+int(x>>24))
	return ve, ok && ve <= end
}

// scanRun returns the offset of the first object of s[vs:ve] that cannot be
// read, or -1.
func scanRun(s string, vs, ve int, byChars bool) int {
	for j := vs; j < ve; {
		ke, ok := objectEnd(s, j, ve)
		if byChars {
			ke, ok = objectEndChars(s, j, ve)
		}
		if !ok {
			return j
		}
		j = ke
	}
	return -1
}

// scanTemplate reports whether the template s[vs:ve] reads, and the value of
// its first sub-ID 00 (a merchant template's GUID).
func scanTemplate(s string, vs, ve int, byChars bool) (ok bool, guid string) {
	found := false
	for j := vs; j < ve; {
		ke, ok := objectEnd(s, j, ve)
		if byChars {
			ke, ok = objectEndChars(s, j, ve)
		}
		if !ok {
			return false, ""
		}
		if !found && s[j:j+2] == "00" {
			guid, found = s[j+4:ke], true
		}
		j = ke
	}
	return true, guid
}

// merchantOf says what the GUID of merchant template id tells of its issuer.
func merchantOf(id int, guid string) uint8 {
	switch {
	case guid == guidZaloPay:
		return merchantZaloPay
	case guid == guidMoMo:
		return merchantMoMo
	case guid == guidAirPay || containsFold(guid, "shopeepay"):
		return merchantAirPay
	case strings.EqualFold(guid, guidVNPay):
		return merchantVNPay
	case id == 26 && guid == binMSB:
		return merchantMSB
	}
	return 0
}

// What the decoder does with each root ID. The kinds from kindNAPAS on are
// templates.
const (
	kindOther      = iota // nothing beyond reading it
	kindFormat            // 00
	kindPOI               // 01
	kindMCC               // 52
	kindCurrency          // 53
	kindAmount            // 54
	kindCountry           // 58
	kindName              // 59
	kindCity              // 60
	kindPostalCode        // 61
	kindNAPAS             // 38
	kindAdditional        // 62
	kindMerchant          // 26–51 but 38: merchant templates
	kindTemplate          // 64 and 80–99: other templates
)

// rootKinds maps a root ID to its kind; a dense switch on the kind compiles
// to a jump table.
var rootKinds = func() (k [100]uint8) {
	for id := range k {
		switch {
		case isMerchantTemplate(id):
			k[id] = kindMerchant
		case isOptionalTemplate(id) || id >= 80:
			k[id] = kindTemplate
		}
	}
	k[0], k[1], k[38] = kindFormat, kindPOI, kindNAPAS
	k[52], k[53], k[54], k[58], k[59], k[60], k[61], k[62] = kindMCC, kindCurrency, kindAmount, kindCountry, kindName, kindCity, kindPostalCode, kindAdditional
	return k
}()

// forEachRoot calls fn with the offset, ID and value of every root object of
// s that can be read, in order.
func forEachRoot(s string, byChars bool, fn func(at, id int, v string)) {
	for i := 0; i < len(s); {
		ve, ok := objectEnd(s, i, len(s))
		if byChars {
			ve, ok = objectEndChars(s, i, len(s))
		}
		if !ok {
			return
		}
		fn(i, idNum(s[i:i+2]), s[i+4:ve])
		i = ve
	}
}

// lengthsInChars reports whether r's payload was read with lengths counted in
// characters (or, all ASCII, in either).
func (r *Result) lengthsInChars() bool { return !r.ascii && !r.ByteLengths }

// Elements returns every data object of the payload as the decoder read it:
// root objects in order, each template the decoder descends into followed by
// its children (38's, then those of its first 38.01), values being substrings
// of Payload; none when the payload was not read as EMV at all. It parses the
// payload again, so it allocates; decoding does not need it.
func (r *Result) Elements() []Element {
	if !r.walked {
		return nil
	}
	s, byChars := r.Payload, r.lengthsInChars()
	var tree []Element
	var seen [2]uint64
	for i := 0; i < len(s); {
		ve, ok := objectEnd(s, i, len(s))
		if byChars {
			ve, ok = objectEndChars(s, i, len(s))
		}
		if !ok {
			break
		}
		at := len(tree)
		id := idNum(s[i : i+2])
		tree = append(tree, Element{ID: s[i : i+2], Value: s[i+4 : ve], Parent: -1, Offset: i})
		vs := i + 4
		i = ve
		if seen[id>>6]&(1<<(id&63)) != 0 {
			continue
		}
		seen[id>>6] |= 1 << (id & 63)
		switch rootKinds[id] {
		case kindNAPAS:
			var bad int
			from := len(tree)
			if tree, bad = parseRun(tree, s, vs, ve, at, byChars); bad >= 0 {
				break
			}
			for j, end := from, len(tree); j < end; j++ {
				if tree[j].ID == "01" {
					kv := tree[j].Offset + 4
					tree, _ = parseRun(tree, s, kv, kv+len(tree[j].Value), j, byChars)
					break
				}
			}
		case kindAdditional:
			tree, _ = parseRun(tree, s, vs, ve, at, byChars)
		case kindMerchant, kindTemplate:
			n := len(tree)
			if t, bad := parseRun(tree, s, vs, ve, at, byChars); bad < 0 {
				tree = t
			} else {
				tree = t[:n]
			}
		}
	}
	return tree
}

// idNum is a data object's ID as a number; IDs are two digits by construction.
func idNum(id string) int {
	return int(id[0]-'0')*10 + int(id[1]-'0')
}

// isOptionalTemplate reports whether a root ID is a template whose failure to
// parse is only a warning: the merchant templates other than NAPAS's 38 (26–51)
// and the alternate-language template 64.
func isOptionalTemplate(id int) bool {
	return id != 38 && isMerchantTemplate(id) || id == 64
}
