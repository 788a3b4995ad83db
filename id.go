package choso

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

// ID prefixes name an object's type in its ID, so a stall ID passed where a
// market ID belongs fails as not found rather than matching by accident.
const (
	PrefixMarket  = "mkt_"
	PrefixStall   = "stl_"
	PrefixUser    = "usr_"
	PrefixDevice  = "dev_"
	PrefixPartner = "ptn_"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns prefix followed by 128 random bits in lower-case Crockford
// base32 (26 characters): opaque, unguessable, safe in URLs.
func NewID(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	return prefix + idEncoding.EncodeToString(b[:])
}

// ValidID reports whether id has the given prefix and the shape NewID gives.
// Handlers check it before a lookup, so a malformed ID is simply not found.
func ValidID(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) != 26 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') || c == 'i' || c == 'l' || c == 'o' || c == 'u' {
			return false
		}
	}
	return true
}
