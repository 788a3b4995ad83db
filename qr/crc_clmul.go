//go:build amd64 && !purego

package qr

// On amd64 the CRC of a payload's whole 16-byte blocks is folded with
// carry-less multiplication (PCLMULQDQ), a few instructions per block
// instead of the tables' three per byte; the CRC is checked on every decode
// and computed on every encode.
//
// A CRC is the remainder of the message, read as a polynomial over GF(2)
// with its first bit highest, times x¹⁶, divided by P = x¹⁶ + x¹² + x⁵ + 1.
// Folding keeps a 128-bit polynomial A congruent to the message so far
// modulo P: for the next block B, A·x¹²⁸ + B ≡ A_hi·(x¹⁹² mod P) +
// A_lo·(x¹²⁸ mod P) + B, where A_hi and A_lo are A's 64-bit halves. Each
// product has fewer than 80 bits, so A stays within 128. The initial value
// 0xFFFF is the same as inverting the first 16 bits of the message.
// crc_amd64.s reduces A to the CRC of the blocks, from which the tables go
// on over the last few bytes.

// useCLMUL reports whether the CPU has PCLMULQDQ and PSHUFB (every x86-64
// CPU since about 2011).
var useCLMUL = cpuHasCLMUL()

// crcFoldK holds the constants of crc_amd64.s, in pairs loaded together:
// the PSHUFB mask that reverses a block's bytes; the multipliers of A's
// low and high halves to fold over one block (x¹²⁸, x¹⁹² mod P) and over
// two (x²⁵⁶, x³²⁰ mod P); the initial value over the top 16 bits of the
// first block; the reduction's x⁸⁰ and x⁶⁴ mod P; Barrett's μ and P itself.
var crcFoldK = [12]uint64{
	0x08090a0b0c0d0e0f, 0x0001020304050607,
	xPowModP(128), xPowModP(192),
	xPowModP(256), xPowModP(320),
	0, crcInit << 48,
	xPowModP(80), xPowModP(64),
	crcBarrettMu(), 1<<16 | crcPoly,
}

// xPowModP returns xⁿ mod P.
func xPowModP(n int) uint64 {
	var r uint64 = 1
	for range n {
		r <<= 1
		if r&(1<<16) != 0 {
			r ^= 1<<16 | crcPoly
		}
	}
	return r
}

// crcBarrettMu returns ⌊x⁶⁴/P⌋ by long division, bit by bit from the top.
func crcBarrettMu() uint64 {
	var q uint64
	rem := uint64(1) << 16 // the running remainder, x^k for k = 64 down to 16
	for k := 64; k >= 16; k-- {
		// rem holds the top 17 bits in view; bit 16 set means P divides in.
		if rem&(1<<16) != 0 {
			q |= 1 << (k - 16)
			rem ^= 1<<16 | crcPoly
		}
		rem <<= 1
	}
	return q
}

// crcFoldMin is the shortest input folded: the fold takes two blocks to
// start, and below that the tables are as fast.
const crcFoldMin = 32

// crcFoldString returns the CRC of the whole 16-byte blocks of s (at least
// two), and in high a bit for each position in a block where some block
// has a byte that is not ASCII.
//
//go:noescape
func crcFoldString(s string, k *[12]uint64) (crc uint16, high uint16)

//go:noescape
func crcFoldBytes(b []byte, k *[12]uint64) uint16

func cpuHasCLMUL() bool

// crcString is CRC16 of s.
func crcString(s string) uint16 {
	c, _ := crcASCII(s)
	return c
}

// crcASCII is CRC16 that also reports whether every byte is ASCII: the
// decoder needs both, and the folding loads every block anyway.
func crcASCII(s string) (uint16, bool) {
	if !useCLMUL || len(s) < crcFoldMin {
		return crcUpdate(crcInit, s), isASCII(s)
	}
	c, high := crcFoldString(s, &crcFoldK)
	t := &crcTablesPtr[0]
	var or byte
	for i := len(s) &^ 15; i < len(s); i++ {
		c = c<<8 ^ t[byte(c>>8)^s[i]]
		or |= s[i]
	}
	return c, high == 0 && or < 0x80
}

// crcBytes is CRC16 of b.
func crcBytes(b []byte) uint16 {
	if !useCLMUL || len(b) < crcFoldMin {
		return crcUpdate(crcInit, b)
	}
	return crcTail(crcFoldBytes(b, &crcFoldK), b[len(b)&^15:])
}

// crcTail continues c over the last 0–15 bytes, a byte at a time.
func crcTail[T string | []byte](c uint16, s T) uint16 {
	t := &crcTablesPtr[0]
	for i := 0; i < len(s); i++ {
		c = c<<8 ^ t[byte(c>>8)^s[i]]
	}
	return c
}
