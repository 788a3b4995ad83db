package sync

import "math/rand/v2"

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

// SeededULID is ULID with entropy from rng: for tools whose events should
// come out the same from one run to the next.
func SeededULID(ms int64, rng *rand.Rand) string {
	var entropy [10]byte
	for i := range entropy {
		entropy[i] = byte(rng.Uint32())
	}
	return ULID(ms, entropy)
}
