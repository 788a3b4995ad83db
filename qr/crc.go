package qr

// CRC-16/CCITT-FALSE (also catalogued as CRC-16/IBM-3740): polynomial 0x1021,
// initial value 0xFFFF, no reflection, no final XOR. EMVCo MPM and NAPAS use it
// for tag 63 (VIETQR.md §7).
const (
	crcPoly = 0x1021
	crcInit = 0xFFFF
)

// crcTable holds the CRC of every byte value shifted into the high byte, so the
// checksum costs one lookup per input byte instead of eight shifts.
var crcTable = buildCRCTable()

func buildCRCTable() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ crcPoly
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}

// CRC16 returns the CRC-16/CCITT-FALSE of the bytes of s. For a payload, s is
// everything up to and including the "6304" that introduces the CRC.
func CRC16(s string) uint16 {
	c := uint16(crcInit)
	for i := 0; i < len(s); i++ {
		c = c<<8 ^ crcTable[byte(c>>8)^s[i]]
	}
	return c
}

// crc16Bytes is CRC16 over a byte slice; the encoder builds payloads in a
// []byte and converting would cost an allocation.
func crc16Bytes(b []byte) uint16 {
	c := uint16(crcInit)
	for _, x := range b {
		c = c<<8 ^ crcTable[byte(c>>8)^x]
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
	for i := 0; i < 4; i++ {
		d, ok := hexDigit(s[i])
		if !ok {
			return 0, false
		}
		c = c<<4 | uint16(d)
	}
	return c, true
}

func hexDigit(b byte) (byte, bool) {
	switch {
	case b >= '0' && b <= '9':
		return b - '0', true
	case b >= 'A' && b <= 'F':
		return b - 'A' + 10, true
	case b >= 'a' && b <= 'f':
		return b - 'a' + 10, true
	}
	return 0, false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if _, ok := hexDigit(s[i]); !ok {
			return false
		}
	}
	return true
}
