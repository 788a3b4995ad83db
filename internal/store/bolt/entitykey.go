package bolt

// The entity index is keyed by a client ULID's characters in another order:
// the hours its time falls in, then its tag, then the rest of its time,
// then the rest.
//
// A ULID is 26 characters: ten of time (48 bits of milliseconds), sixteen
// of randomness. Keyed by the ULID itself, the index holds every phone's
// events in time order, and a market's phones record their sales over the
// same hours: when they send a day recorded offline, a push's events land
// among every other phone's, one leaf apiece. A group commit then rewrote a
// 16 KiB leaf for nearly every event it applied (BENCHMARKS.md, issue 5).
//
// The phone client (sync/client) makes the first four characters of
// randomness, 20 bits, the same for every event of an outbox: its tag.
// The key puts the tag after the ULID's first five characters, which name
// the 2^25 ms (about 9.3 hours) its time falls in, and before the other
// five. Within those hours an outbox's events are one run of keys in time
// order, so a push appends to the end of its run, in a leaf or two; and
// the runs of those hours sit together, so a day's writes touch the day's
// part of the index, not every outbox's part of the whole file.
//
// The key is a reordering of the ULID, computed from the ULID alone: a
// lookup needs nothing else, and deduplication stays global. A ULID from a
// client that writes no tag is found all the same; its events are only
// spread as before. Keys of any other length are the ID as it is, which
// no 26-character key can be.
const (
	ulidLen     = 26
	ulidHours   = 5  // the first characters of a ULID's time: 2^25 ms
	ulidTimeLen = 10 // the characters of its 48-bit time
	ulidTagLen  = 4  // the tag: the first 20 bits of its randomness

	entityKeyMax = 64 // what a stack buffer for one key holds without growing
)

// entityKey appends to dst the key of the entity whose ID is id.
func entityKey(dst []byte, id string) []byte {
	if len(id) != ulidLen {
		return append(dst, id...)
	}
	dst = append(dst, id[:ulidHours]...)
	dst = append(dst, id[ulidTimeLen:ulidTimeLen+ulidTagLen]...)
	dst = append(dst, id[ulidHours:ulidTimeLen]...)
	return append(dst, id[ulidTimeLen+ulidTagLen:]...)
}

// entityID appends to dst the ID whose key is k: entityKey's inverse.
func entityID(dst, k []byte) []byte {
	if len(k) != ulidLen {
		return append(dst, k...)
	}
	const tag, minutes = ulidHours, ulidHours + ulidTagLen
	dst = append(dst, k[:ulidHours]...)
	dst = append(dst, k[minutes:minutes+ulidTimeLen-ulidHours]...)
	dst = append(dst, k[tag:tag+ulidTagLen]...)
	return append(dst, k[ulidTimeLen+ulidTagLen:]...)
}
