package client

import (
	"crypto/rand"
	"errors"

	bolt "go.etcd.io/bbolt"

	chosync "github.com/choso/choso/sync"
)

// crockford is the Crockford base32 alphabet ULIDs are written in.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newULID returns a ULID for the given Unix time in milliseconds: 48 bits of
// time then 80 bits, 26 characters of Crockford base32 (written by
// chosync.ULID, as the server's tools write theirs). The first 20 of the 80
// bits are the outbox's tag (chosync.ULIDTag says why), the other 60
// random. ULIDs made in the same millisecond are not ordered among
// themselves; the outbox orders by seq, never by ULID.
func newULID(ms int64, tag chosync.ULIDTag) (string, error) {
	var entropy [10]byte
	if _, err := rand.Read(entropy[:]); err != nil {
		return "", err
	}
	return chosync.ULID(max(ms, 0), tag.Tagged(entropy)), nil
}

// outboxTag returns the outbox's ULID tag, picked at random at its first
// event and kept in its meta bucket m.
func outboxTag(m *bolt.Bucket) (chosync.ULIDTag, error) {
	var tag chosync.ULIDTag
	if v := m.Get(keyULIDTag); len(v) == len(tag) {
		copy(tag[:], v)
		return tag, nil
	}
	if _, err := rand.Read(tag[:]); err != nil {
		return tag, err
	}
	return tag, m.Put(keyULIDTag, tag[:])
}

var errBadULID = errors.New("not a ULID")

// decodeULID is chosync.ULID's inverse, its 128 bits whole; it accepts
// lower case and refuses values over 128 bits.
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
	return ulidMs(b), nil
}

// ulidMs is the time a decoded ULID's first 48 bits carry.
func ulidMs(b [16]byte) int64 {
	var ms int64
	for _, c := range b[:6] {
		ms = ms<<8 | int64(c)
	}
	return ms
}
