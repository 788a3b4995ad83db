package sync

import (
	"crypto/sha256"
	"math/rand/v2"
)

// crockford is the alphabet ULIDs are written in.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ULID writes a client ULID: the low 48 bits of ms (a Unix time in
// milliseconds) and then the 80 bits of entropy, as 26 characters of
// Crockford base32, most significant first. For tools that make events
// (the demo, choso-gen); a phone's sync/client makes its own.
func ULID(ms int64, entropy [10]byte) string {
	hi := uint64(ms)&(1<<48-1)<<16 | uint64(entropy[0])<<8 | uint64(entropy[1])
	var lo uint64
	for _, b := range entropy[2:] {
		lo = lo<<8 | uint64(b)
	}
	// 128 bits in 26 characters of 5 bits: the first carries the top 3.
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// A ULIDTag is the 20 bits a phone puts first in the randomness of every
// ULID its outbox makes (characters 11–14 of the ULID), the same for all of
// them: sync/client picks one at random when an outbox makes its first
// event. The server's bbolt store keys its index of client ULIDs with the
// tag after the ULID's first five characters (the 9.3 hours its time falls
// in) and before the rest of its time (internal/store/bolt/entitykey.go),
// so a phone's push of a day recorded offline lands in a leaf or two of the
// index, not one an event among every other phone's sales of those hours.
// Only the first 4 bits of the third byte count. Nothing relies on a tag
// for correctness: any ULID is accepted and deduplicated.
type ULIDTag [3]byte

// Tagged returns entropy with its first 20 bits the tag's.
func (t ULIDTag) Tagged(entropy [10]byte) [10]byte {
	entropy[0], entropy[1] = t[0], t[1]
	entropy[2] = t[2]&0xf0 | entropy[2]&0x0f
	return entropy
}

// TagOf is the tag of the outbox a tool makes events for in a device's
// name (the demo, choso-gen): the first 20 bits of the device ID's SHA-256.
func TagOf(deviceID string) ULIDTag {
	sum := sha256.Sum256([]byte(deviceID))
	return ULIDTag{sum[0], sum[1], sum[2]}
}

// SeededULID is ULID with the tag and entropy from rng: for tools whose
// events should come out the same from one run to the next.
func SeededULID(ms int64, tag ULIDTag, rng *rand.Rand) string {
	var entropy [10]byte
	for i := range entropy {
		entropy[i] = byte(rng.Uint32())
	}
	return ULID(ms, tag.Tagged(entropy))
}
