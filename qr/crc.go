package qr

// CRC-16/CCITT-FALSE (also catalogued as CRC-16/IBM-3740): polynomial 0x1021,
// initial value 0xFFFF, no reflection, no final XOR. EMVCo MPM and NAPAS use it
// for tag 63 (VIETQR.md §7).
const (
	crcPoly = 0x1021
	crcInit = 0xFFFF
)

// crcTables[0] holds the CRC of every byte value shifted into the high byte,
// so the checksum costs one lookup per byte instead of eight shifts;
// crcTables[k] is the same byte followed by k zero bytes. With them the loop
// takes sixteen bytes per step ("slicing by 16"): the CRC is checked on every
// decode and computed on every encode, and is the largest single cost of both.
var crcTables = buildCRCTables()

func buildCRCTables() (t [16][256]uint16) {
	for i := range t[0] {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ crcPoly
			} else {
				c <<= 1
			}
		}
		t[0][i] = c
	}
	for k := 1; k < len(t); k++ {
		for i := range t[k] {
			p := t[k-1][i]
			t[k][i] = p<<8 ^ t[0][p>>8]
		}
	}
	return t
}

// CRC16 returns the CRC-16/CCITT-FALSE of the bytes of s. For a payload, s is
// everything up to and including the "6304" that introduces the CRC.
func CRC16(s string) uint16 {
	return crcString(s)
}

// crc16Bytes is CRC16 over a byte slice; the encoder builds payloads in a
// []byte, and converting it would cost an allocation.
func crc16Bytes(b []byte) uint16 {
	return crcBytes(b)
}

// crcTablesPtr is where crcUpdate finds the tables. Reaching them through a
// variable keeps their address in a register, so each lookup is one
// instruction, table offset included; through the array itself the compiler
// recomputes the address for every lookup.
var crcTablesPtr = &crcTables

// crcUpdate continues CRC c over s. Each step takes sixteen bytes: fourteen
// lookups that do not depend on the CRC so far, which overlap with the
// previous step, and two that do.
func crcUpdate[T string | []byte](c uint16, s T) uint16 {
	t := crcTablesPtr
	for len(s) >= 16 {
		q := s[:16]
		x := t[13][q[2]] ^ t[12][q[3]] ^ t[11][q[4]] ^ t[10][q[5]] ^
			t[9][q[6]] ^ t[8][q[7]] ^ t[7][q[8]] ^ t[6][q[9]] ^
			t[5][q[10]] ^ t[4][q[11]] ^ t[3][q[12]] ^ t[2][q[13]] ^
			t[1][q[14]] ^ t[0][q[15]]
		c = x ^ t[15][q[0]^byte(c>>8)] ^ t[14][q[1]^byte(c)]
		s = s[16:]
	}
	for i := 0; i < len(s); i++ {
		c = c<<8 ^ t[0][byte(c>>8)^s[i]]
	}
	return c
}

const upperHex = "0123456789ABCDEF"

// appendCRCHex appends c as four upper-case hex digits, zero-padded: dropping
// leading zeros is the most common generator bug (VIETQR.md §7).
func appendCRCHex(dst []byte, c uint16) []byte {
	return append(dst, upperHex[c>>12], upperHex[c>>8&0xF], upperHex[c>>4&0xF], upperHex[c&0xF])
}

// parseCRCHex reads four hex digits in either case; MB Bank and Techcombank
// apps emit lower case.
func parseCRCHex(s string) (c uint16, ok bool) {
	if len(s) != 4 {
		return 0, false
	}
	d0, d1, d2, d3 := hexValue[s[0]], hexValue[s[1]], hexValue[s[2]], hexValue[s[3]]
	if d0|d1|d2|d3 > 0xF {
		return 0, false
	}
	return uint16(d0)<<12 | uint16(d1)<<8 | uint16(d2)<<4 | uint16(d3), true
}

// hexValue maps a byte to its value as a hex digit of either case, and
// every other byte to 0xFF, so four digits are checked with one test.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xFF
	}
	for i := 0; i < 16; i++ {
		t[upperHex[i]] = byte(i)
		t["0123456789abcdef"[i]] = byte(i)
	}
	return t
}()

func hexDigit(b byte) (byte, bool) {
	d := hexValue[b]
	return d, d <= 0xF
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if _, ok := hexDigit(s[i]); !ok {
			return false
		}
	}
	return true
}
