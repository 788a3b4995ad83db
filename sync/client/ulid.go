package client

import (
	"crypto/rand"
	"errors"
)

// crockford is the Crockford base32 alphabet ULIDs are written in.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newULID returns a ULID for the given Unix time in milliseconds: 48 bits of
// time then 80 random bits, 26 characters of Crockford base32. ULIDs made in
// the same millisecond are not ordered among themselves; the outbox orders
// by seq, never by ULID.
func newULID(ms int64) (string, error) {
	var b [16]byte
	if ms < 0 {
		ms = 0
	}
	u := uint64(ms) & (1<<48 - 1)
	for i := 5; i >= 0; i-- {
		b[i] = byte(u)
		u >>= 8
	}
	if _, err := rand.Read(b[6:]); err != nil {
		return "", err
	}
	return encodeULID(b), nil
}

// encodeULID writes 128 bits as 26 base32 characters, 5 bits at a time from
// the most significant end; the first character carries the top 3 bits.
func encodeULID(b [16]byte) string {
	var out [26]byte
	// hi:lo is the 128-bit value.
	var hi, lo uint64
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

var errBadULID = errors.New("not a ULID")

// decodeULID is encodeULID's inverse; it accepts lower case and refuses
// values over 128 bits.
func decodeULID(s string) ([16]byte, error) {
	var b [16]byte
	if len(s) != 26 {
		return b, errBadULID
	}
	var hi, lo uint64
	for i := 0; i < 26; i++ {
		v := crockfordValue(s[i])
		if v < 0 || (i == 0 && v > 7) {
			return b, errBadULID
		}
		hi = hi<<5 | lo>>59
		lo = lo<<5 | uint64(v)
	}
	for i := 7; i >= 0; i-- {
		b[i] = byte(hi)
		b[8+i] = byte(lo)
		hi >>= 8
		lo >>= 8
	}
	return b, nil
}

func crockfordValue(c byte) int {
	if c >= 'a' && c <= 'z' {
		c -= 'a' - 'A'
	}
	for i := 0; i < len(crockford); i++ {
		if crockford[i] == c {
			return i
		}
	}
	return -1
}

// ulidTime returns the millisecond time a ULID carries.
func ulidTime(s string) (int64, error) {
	b, err := decodeULID(s)
	if err != nil {
		return 0, err
	}
	var ms int64
	for i := 0; i < 6; i++ {
		ms = ms<<8 | int64(b[i])
	}
	return ms, nil
}
