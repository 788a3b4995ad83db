package postgres

import (
	"strings"

	"github.com/choso/choso"
)

// keySep is the separator the bbolt store builds its index keys with. This
// store needs no composite keys, but it refuses the same values bbolt
// refuses, so that a value accepted by one backend is accepted by the other
// and the conformance suite holds both to one contract.
const keySep = "/"

// checkKeyPart returns EInvalid when s is empty or holds the separator.
func checkKeyPart(what, s string) error {
	if s == "" {
		return choso.Errorf(choso.EInvalid, "%s is empty", what)
	}
	if strings.Contains(s, keySep) {
		return choso.Errorf(choso.EInvalid, "%s %q must not contain %q", what, s, keySep)
	}
	return nil
}

// Page sizes for ListMarkets, ListStalls and ListAudit, as in the bbolt
// store: a Limit of 0 or less means DefaultListLimit, and no page holds more
// than MaxListLimit.
const (
	DefaultListLimit = choso.DefaultPageSize
	MaxListLimit     = 500
)

var _ = [MaxListLimit - choso.MaxPageSize - 1]struct{}{} // compile error if MaxListLimit ≤ choso.MaxPageSize

func listLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultListLimit
	case n > MaxListLimit:
		return MaxListLimit
	}
	return n
}

// MaxScanLimit caps ListEvents, ListChanges, ListStallCredits and
// ListDaysByDate, as in the bbolt store.
const MaxScanLimit = 10_000

func scanLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultListLimit
	case n > MaxScanLimit:
		return MaxScanLimit
	}
	return n
}

// isDate reports whether s has the form YYYY-MM-DD.
func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i := range len(s) {
		if i != 4 && i != 7 && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}

func checkDate(date string) error {
	if !isDate(date) {
		return choso.Errorf(choso.EInvalid, "business date %q: want YYYY-MM-DD", date)
	}
	return nil
}
