package qr

import "slices"

// The decoder's tree: every data object of a payload in one flat, reusable
// slice, built in one pass that also reads the common fields, so decoding a
// valid payload touches each object once and allocates nothing.

// treeErrors are the syntax errors of one attempt at building the tree: the
// root's, and those of the two templates a transfer depends on, 38 (with
// 38.01) and 62. Optional templates that fail to parse keep no children and
// are only counted.
type treeErrors struct {
	root, t38, t62 SyntaxError
	broken         int
}

func (te treeErrors) failed() bool {
	return te.root.Problem != ProblemNone || te.t38.Problem != ProblemNone || te.t62.Problem != ProblemNone || te.broken > 0
}

// treeState is what building the tree changes in a Result besides Tree, so a
// failed attempt can be undone before the next.
type treeState struct {
	fields   Fields
	warnings int
}

func (r *Result) saveTree() treeState { return treeState{r.Fields, len(r.Warnings)} }

func (r *Result) undoTree(st treeState) {
	r.Fields = st.fields
	r.Warnings = r.Warnings[:st.warnings]
	r.Tree = r.Tree[:0]
	r.rootAt = [100]uint16{}
	r.merchants = 0
	r.napasKids = 0
}

// buildTree parses s into r.Tree, descends into the templates it knows and
// reads the common fields; where an ID repeats, the first wins. With byChars,
// lengths count characters, otherwise bytes. te must be zero. A template's
// children are appended right after it.
func (r *Result) buildTree(s string, byChars bool, te *treeErrors) {
	// Every object takes at least four bytes, and parseRun reserves room for
	// a template's children the same way, so this one reservation covers a
	// whole payload: a fresh Result allocates its tree once.
	r.Tree = slices.Grow(r.Tree[:0], len(s)/4+4)
	if byChars {
		r.buildTreeChars(s, te)
		return
	}
	// rootRun reads the plain objects, which are most of them, in a loop
	// that makes no calls; whatever needs one (a template, a warning, a
	// syntax error, more room) is handled here, and then it resumes.
	i := 0
	for {
		var stop rootStop
		switch i, stop = r.rootRun(s, i); stop {
		case stopEnd:
			return
		case stopBad:
			te.root = syntaxErrorAt(s, i, len(s), false)
			return
		case stopFull:
			r.Tree = slices.Grow(r.Tree, 1)
		case stopObject:
			r.rootObject(len(r.Tree)-1, false, te)
		}
	}
}

// rootStop says why rootRun stopped.
type rootStop uint8

const (
	stopEnd    rootStop = iota // the payload is read
	stopBad                    // the object at the offset returned cannot be read
	stopFull                   // the tree needs room for one more object
	stopObject                 // the last object in the tree is for rootObject
)

// rootRun reads the root objects of s from offset i, lengths counted in
// bytes, appending each to the tree. An object that is a template, an empty
// value or a repeat is left for rootObject; every other one sets its field
// here. It returns the offset reached and why it stopped.
func (r *Result) rootRun(s string, i int) (int, rootStop) {
	f := &r.Fields
	tree := r.Tree
	for {
		q := s[i:]
		if len(q) < 4 {
			r.Tree = tree
			if len(q) == 0 {
				return i, stopEnd
			}
			return i, stopBad
		}
		x, ok := tlvHeader(q[:4])
		ve := 4 + int(x>>16&0xF)*10 + int(x>>24)
		if !ok || ve > len(q) {
			r.Tree = tree
			return i, stopBad
		}
		at := len(tree)
		if at == cap(tree) {
			r.Tree = tree
			return i, stopFull
		}
		tree = tree[:at+1]
		id, v := int(x&0xF)*10+int(x>>8&0xF), q[4:ve]
		el := &tree[at]
		el.ID, el.Value, el.Parent, el.Offset, el.kids = q[:2], v, -1, i, span{}
		i += ve
		kind := rootKinds[id]
		if v == "" || r.rootAt[id] != 0 || kind >= kindNAPAS {
			r.Tree = tree
			return i, stopObject
		}
		r.rootAt[id] = uint16(at + 1) // MaxPayloadLen keeps the tree far below 65,535
		switch kind {
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
		}
	}
}

// buildTreeChars is buildTree for lengths counted in characters.
func (r *Result) buildTreeChars(s string, te *treeErrors) {
	i := 0
	for i < len(s) {
		if len(s)-i < 4 {
			te.root = syntaxErrorAt(s, i, len(s), true)
			return
		}
		x, ok := tlvHeader(s[i : i+4])
		if !ok {
			te.root = syntaxErrorAt(s, i, len(s), true)
			return
		}
		ve := skipChars(s, i+4, len(s), int(x>>16&0xF)*10+int(x>>24))
		if ve > len(s) {
			te.root = syntaxErrorAt(s, i, len(s), true)
			return
		}
		at := len(r.Tree)
		r.Tree = append(r.Tree, Element{ID: s[i : i+2], Value: s[i+4 : ve], Parent: -1, Offset: i})
		i = ve
		r.rootObject(at, true, te)
	}
}

// rootObject acts on root object Tree[at], just appended: warns of an empty
// value or a repeat, notes where the ID first appears, reads the field or
// descends into the template.
func (r *Result) rootObject(at int, byChars bool, te *treeErrors) {
	f := &r.Fields
	el := &r.Tree[at]
	idStr, v := el.ID, el.Value
	id := idNum(idStr)
	if v == "" {
		r.warn(Warning{Code: WarnZeroLength, Path: idStr})
	}
	if r.rootAt[id] != 0 {
		r.warn(Warning{Code: WarnDuplicateTag, Path: idStr})
		return
	}
	r.rootAt[id] = uint16(at + 1)
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
		r.read38(at, byChars, &te.t38)
	case kindAdditional:
		r.read62(at, byChars, &te.t62)
	case kindMerchant, kindTemplate:
		if isMerchantTemplate(id) {
			r.merchants |= 1 << id
		}
		// 80–99 are templates by the spec, but Techcombank (8315T…),
		// TPBank (8707CLASSIC) and MoMo (8003046) put plain values
		// there: a failed parse there just means a plain value.
		before := len(r.Tree)
		if !r.parseChildren(at, byChars, nil) {
			r.Tree = r.Tree[:before]
			if id < 80 && v != "" {
				te.broken++
			}
			return
		}
		r.setKids(at, before)
	}
}

// What the decoder does with each root ID. The kinds from kindNAPAS on are
// templates.
const (
	kindOther      = iota // nothing beyond the tree
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

// The children of 38 that judge38 asks about, as bits of Result.napasKids.
const (
	has00 = 1 << iota // the GUID
	has01             // the beneficiary
)

// read38 parses NAPAS's template and its beneficiary template 38.01.
func (r *Result) read38(i int, byChars bool, err *SyntaxError) {
	f := &r.Fields
	from := len(r.Tree)
	if !r.parseChildren(i, byChars, err) {
		err.Context = "38"
	}
	r.setKids(i, from)
	to := len(r.Tree)
	seen01 := false
	for j := from; j < to; j++ {
		c := &r.Tree[j]
		if c.Value == "" {
			r.warn(Warning{Code: WarnZeroLength, Path: r.path(j)})
		}
		switch c.ID {
		case "00":
			r.napasKids |= has00
			if f.GUID == "" {
				f.GUID = c.Value
			}
		case "02":
			if f.Service == "" {
				f.Service = Service(c.Value)
			}
		case "01":
			r.napasKids |= has01
			if seen01 || err.Problem != ProblemNone {
				continue // a repeat, or 38 itself is broken
			}
			seen01 = true
			from := len(r.Tree)
			if !r.parseChildren(j, byChars, err) {
				err.Context = "38.01"
			}
			r.setKids(j, from)
			for k := from; k < len(r.Tree); k++ {
				g := &r.Tree[k]
				if g.Value == "" {
					r.warn(Warning{Code: WarnZeroLength, Path: r.path(k)})
				}
				switch g.ID {
				case "00":
					if f.BIN == "" {
						f.BIN = g.Value
					}
				case "01":
					if f.Account == "" {
						f.Account = g.Value
					}
				default:
					r.warn(Warning{Code: WarnExtraSubtag, Path: "38.01", Text: g.ID})
				}
			}
		}
	}
}

// read62 parses the additional-data template.
func (r *Result) read62(i int, byChars bool, err *SyntaxError) {
	f := &r.Fields
	from := len(r.Tree)
	if !r.parseChildren(i, byChars, err) {
		err.Context = "62"
	}
	r.setKids(i, from)
	for j := from; j < len(r.Tree); j++ {
		c := &r.Tree[j]
		if c.Value == "" {
			r.warn(Warning{Code: WarnZeroLength, Path: r.path(j)})
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

// parseChildren appends the children of template Tree[i] to the tree and
// reports whether they all parsed; if not, it describes the problem in err
// unless err is nil.
func (r *Result) parseChildren(i int, byChars bool, err *SyntaxError) bool {
	start := r.Tree[i].Offset + 4
	end := start + len(r.Tree[i].Value)
	var bad int
	if byChars {
		r.Tree, bad = parseRun(r.Tree, r.Payload, start, end, i, true)
	} else {
		v := r.Tree[i].Value
		if cap(r.Tree)-len(r.Tree) < len(v)/4 {
			r.Tree = slices.Grow(r.Tree, len(v)/4)
		}
		r.Tree, bad = parseBytes(r.Tree, v, start, i)
	}
	if bad >= 0 {
		if err != nil {
			*err = syntaxErrorAt(r.Payload, bad, end, byChars)
		}
		return false
	}
	return true
}

// setKids records that the children of Tree[p] are Tree[from:]; children are
// always appended together, right after their parent is read.
func (r *Result) setKids(p, from int) {
	r.Tree[p].kids = span{int32(from), int32(len(r.Tree))}
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

// child finds the first child of Tree[p] whose ID is id (any ID when id is "").
func (r *Result) child(p int, id string) int {
	if p < 0 || p >= len(r.Tree) {
		return -1
	}
	k := r.Tree[p].kids
	for i := k.from; i < k.to; i++ {
		if id == "" || r.Tree[i].ID == id {
			return int(i)
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
	return int(r.rootAt[idNum(id)]) - 1 // a uint16 minus one: -1 when absent
}

func (r *Result) lastRoot() int {
	for i := len(r.Tree) - 1; i >= 0; i-- {
		if r.Tree[i].Parent == -1 {
			return i
		}
	}
	return -1
}

// path names the element at i the way the spec does: "62.08", "38.01.00".
// Root IDs cost nothing; nested paths allocate, but only warnings use them.
func (r *Result) path(i int) string {
	e := r.Tree[i]
	if e.Parent < 0 {
		return e.ID
	}
	return r.path(e.Parent) + "." + e.ID
}
