package qr

import (
	_ "embed"
	"regexp"
	"sort"
	"strings"
)

// banksTSV is the NAPAS bank directory of ../shared/data/banks.tsv: one row per
// BIN, with the sources and disagreements between the lists it was built from.
//
//go:embed banks.tsv
var banksTSV string

// AppSupport says whether a bank's app can pay a VietQR (scan and transfer).
// Receiving needs only a BIN: every bank with a BIN can receive.
type AppSupport string

// The values of AppSupport.
const (
	AppPays           AppSupport = "yes"
	AppDoesNotPay     AppSupport = "no" // receive-only banks, and banks no list supports
	AppSupportUnknown AppSupport = "unknown"
)

// Bank is one institution of the NAPAS directory.
type Bank struct {
	BIN       string     `json:"bin"`        // the BIN the VietQR bank lists use; encode with this one
	OtherBINs []string   `json:"other_bins"` // BINs the SBV list gives where it differs (CIMB 970459); accepted when decoding
	ShortName string     `json:"short_name"` // "MBBank"; not unique across lists, see BanksByShortName
	Code      string     `json:"code"`       // NAPAS/vietqr.io code ("MB"), "" when none is known
	Name      string     `json:"name"`       // full Vietnamese name, with diacritics
	SWIFT     string     `json:"swift"`      // "" when none is known
	AppCanPay AppSupport `json:"vietqr_app_can_pay"`
	// OtherCodes are codes other lists use for this bank ("STP" in the NAPAS
	// list for Sacombank's STB). They collide across banks (vietnam-qr-pay's
	// "BVB" is Viet Capital Bank, vietqr.io's "BVB" is BaoViet Bank), so only
	// LookupBanks matches them.
	OtherCodes []string `json:"other_codes,omitempty"`
}

// directory is the parsed banks.tsv, built once at start-up.
type directory struct {
	banks []Bank         // sorted for a picker
	byBIN map[uint32]int // every BIN as a number, SBV ones included → index in banks
	// napasBIN[k] is 1 + the index in banks of BIN 970000+k, 0 when none: the
	// decoder and encoder look up every payload's BIN, nearly all are
	// 970xxx or 971xxx, and an array index is several times faster than a
	// map lookup. Other BINs (422589, 546034, …) go to byBIN.
	napasBIN [napasBINSpan]uint16
	byCode   map[string]int // upper-cased primary code → index
}

var banks = parseDirectory(banksTSV)

// sbvAlias matches the flag banks.tsv puts on a row whose BIN only the SBV list
// uses: "CIMB: SBV BIN 970459, but VietQR lists (…) use 422589".
var sbvAlias = regexp.MustCompile(`SBV BIN (\d{6}), but [^|]*? uses? (\d{6})`)

func parseDirectory(tsv string) directory {
	type row struct {
		bank  Bank
		alias string // the VietQR BIN this row's SBV BIN stands for
	}
	var rows []row
	lines := strings.Split(strings.TrimRight(tsv, "\n"), "\n")
	for _, line := range lines[1:] {
		f := strings.Split(strings.TrimRight(line, "\r"), "\t")
		if len(f) < 12 {
			panic("qr: banks.tsv: short row " + line)
		}
		bin := f[0]
		if len(bin) != 6 || !isDigits(bin) {
			continue // no BIN, so it cannot receive a VietQR and has no place in the directory
		}
		b := Bank{BIN: bin, ShortName: f[1], Name: f[2], Code: f[3], SWIFT: f[4]}
		switch f[5] {
		case "yes":
			b.AppCanPay = AppPays
		case "no", "receive-only":
			b.AppCanPay = AppDoesNotPay
		default:
			b.AppCanPay = AppSupportUnknown
		}
		for _, oc := range strings.Split(f[9], ",") {
			if _, code, ok := strings.Cut(strings.TrimSpace(oc), "="); ok && code != "" && !strings.EqualFold(code, b.Code) {
				b.OtherCodes = append(b.OtherCodes, code)
			}
		}
		var alias string
		if m := sbvAlias.FindStringSubmatch(f[11]); m != nil && m[1] == bin {
			alias = m[2]
		}
		rows = append(rows, row{b, alias})
	}

	d := directory{byBIN: map[uint32]int{}, byCode: map[string]int{}}
	for _, r := range rows {
		if r.alias == "" {
			d.banks = append(d.banks, r.bank)
		}
	}
	sort.SliceStable(d.banks, func(i, j int) bool {
		a, b := strings.ToLower(d.banks[i].ShortName), strings.ToLower(d.banks[j].ShortName)
		if a != b {
			return a < b
		}
		return d.banks[i].BIN < d.banks[j].BIN
	})
	for i, b := range d.banks {
		d.byBIN[binKey(b.BIN)] = i
		if b.Code != "" {
			d.byCode[strings.ToUpper(b.Code)] = i
		}
	}
	for _, r := range rows {
		if r.alias == "" {
			continue
		}
		i, ok := d.byBIN[binKey(r.alias)]
		if !ok {
			panic("qr: banks.tsv: " + r.bank.BIN + " is flagged as the SBV BIN of " + r.alias + ", which has no row")
		}
		b := &d.banks[i]
		b.OtherBINs = append(b.OtherBINs, r.bank.BIN)
		if b.Name == "" {
			b.Name = r.bank.Name
		}
		d.byBIN[binKey(r.bank.BIN)] = i
	}
	for i := range d.banks {
		if d.banks[i].OtherBINs == nil {
			d.banks[i].OtherBINs = []string{} // JSON [], as documented
		}
	}
	for k, i := range d.byBIN {
		if k-napasBINFirst < napasBINSpan {
			d.napasBIN[k-napasBINFirst] = uint16(i + 1)
		}
	}
	return d
}

// Banks returns every bank that can receive a VietQR (every bank with a BIN),
// sorted by short name, case-insensitively, for a picker. The slice is a copy.
func Banks() []Bank {
	out := make([]Bank, len(banks.banks))
	copy(out, banks.banks)
	return out
}

// BankByBIN finds a bank by any of its BINs: the one VietQR lists use or the
// SBV one where they differ (970459 and 422589 are both CIMB).
func BankByBIN(bin string) (Bank, bool) {
	i, ok := banks.lookupBIN(bin)
	if !ok {
		return Bank{}, false
	}
	return banks.banks[i], true
}

// BankByCode finds a bank by its NAPAS/vietqr.io code ("VCB", "MB"),
// case-insensitively. Codes are unique; short names are not.
func BankByCode(code string) (Bank, bool) {
	i, ok := banks.byCode[strings.ToUpper(strings.TrimSpace(code))]
	if !ok {
		return Bank{}, false
	}
	return banks.banks[i], true
}

// BanksByShortName returns every bank whose short name matches,
// case-insensitively. More than one result means the name is ambiguous and
// the caller must ask for a BIN or code.
func BanksByShortName(name string) []Bank {
	var out []Bank
	for _, b := range banks.banks {
		if strings.EqualFold(b.ShortName, strings.TrimSpace(name)) {
			out = append(out, b)
		}
	}
	return out
}

// LookupBanks matches key against every identifier a person might type: BIN
// (either one), code, short name, and the codes other lists use. It returns
// all matches, without duplicates, in picker order; a key such as "BVB"
// (BaoViet Bank's code, and Viet Capital Bank's code in vietnam-qr-pay) gives
// two.
func LookupBanks(key string) []Bank {
	key = strings.TrimSpace(key)
	var out []Bank
	for i, b := range banks.banks {
		match := strings.EqualFold(b.Code, key) || strings.EqualFold(b.ShortName, key)
		if j, ok := banks.lookupBIN(key); ok && j == i {
			match = true
		}
		for _, oc := range b.OtherCodes {
			match = match || strings.EqualFold(oc, key)
		}
		if match {
			out = append(out, b)
		}
	}
	return out
}

// EncodeBIN returns the BIN to put in a VietQR for bin: the VietQR lists' BIN
// when bin is a bank's SBV BIN (970459 → 422589, DESIGN.md §4), bin itself
// otherwise, including BINs the directory does not know.
func EncodeBIN(bin string) string {
	if i, ok := banks.lookupBIN(bin); ok {
		return banks.banks[i].BIN
	}
	return bin
}

// napasBINFirst and napasBINSpan bound the BINs the directory keeps in an
// array: 970000–971999.
const (
	napasBINFirst = 970000
	napasBINSpan  = 2000
)

// lookupBIN finds the index of the bank with the given BIN.
func (d *directory) lookupBIN(bin string) (int, bool) {
	if len(bin) != 6 {
		return 0, false
	}
	b := bin[:6]
	d0, d1, d2, d3, d4, d5 := b[0]-'0', b[1]-'0', b[2]-'0', b[3]-'0', b[4]-'0', b[5]-'0'
	if d0 > 9 || d1 > 9 || d2 > 9 || d3 > 9 || d4 > 9 || d5 > 9 {
		return 0, false
	}
	k := uint32(d0)*100000 + uint32(d1)*10000 + uint32(d2)*1000 + uint32(d3)*100 + uint32(d4)*10 + uint32(d5)
	if k-napasBINFirst < napasBINSpan {
		i := d.napasBIN[k-napasBINFirst]
		return int(i) - 1, i != 0
	}
	i, ok := d.byBIN[k]
	return i, ok
}

// binKey is a 6-digit BIN as a number.
func binKey(bin string) uint32 {
	var k uint32
	for i := 0; i < len(bin); i++ {
		k = k*10 + uint32(bin[i]-'0')
	}
	return k
}
