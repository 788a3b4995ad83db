//go:build amd64 && !purego

package qr

import "math/bits"

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
// 0xFFFF is the same as inverting the first 16 bits of the message. At the
// end the tables take A's 16 bytes as a message with a zero initial value,
// which gives A·x¹⁶ mod P: the CRC of the blocks, from which the tables
// go on over the last few bytes.

// useCLMUL reports whether the CPU has PCLMULQDQ and PSHUFB (every x86-64
// CPU since about 2011).
var useCLMUL = cpuHasCLMUL()

// crcFoldK holds, in order: the PSHUFB mask that reverses a block's bytes,
// x¹²⁸ mod P and x¹⁹² mod P (multiplying A's low and high halves), and the
// initial value placed over the top 16 bits of the first block.
var crcFoldK = [6]uint64{
	0x08090a0b0c0d0e0f, 0x0001020304050607,
	uint64(xPowModP(128)), uint64(xPowModP(192)),
	0, crcInit << 48,
}

// xPowModP returns xⁿ mod P.
func xPowModP(n int) uint16 {
	var r uint32 = 1
	for range n {
		r <<= 1
		if r&0x10000 != 0 {
			r ^= 0x10000 | crcPoly
		}
	}
	return uint16(r)
}

// crcFoldMin is the shortest input folded: below two blocks the tables are
// as fast.
const crcFoldMin = 32

//go:noescape
func crcFoldString(s string, k *[6]uint64) (hi, lo uint64)

//go:noescape
func crcFoldBytes(b []byte, k *[6]uint64) (hi, lo uint64)

func cpuHasCLMUL() bool

// crcString is CRC16 of s.
func crcString(s string) uint16 {
	if !useCLMUL || len(s) < crcFoldMin {
		return crcUpdate(crcInit, s)
	}
	hi, lo := crcFoldString(s, &crcFoldK)
	return crcUpdate(crcOf128(hi, lo), s[len(s)&^15:])
}

// crcBytes is CRC16 of b.
func crcBytes(b []byte) uint16 {
	if !useCLMUL || len(b) < crcFoldMin {
		return crcUpdate(crcInit, b)
	}
	hi, lo := crcFoldBytes(b, &crcFoldK)
	return crcUpdate(crcOf128(hi, lo), b[len(b)&^15:])
}

// crcOf128 is the CRC, from a zero initial value, of the 16 bytes of hi and
// lo, big-endian: one step of crcUpdate's loop.
func crcOf128(hi, lo uint64) uint16 {
	t := crcTablesPtr
	hi, lo = bits.ReverseBytes64(hi), bits.ReverseBytes64(lo)
	return t[15][byte(hi)] ^ t[14][byte(hi>>8)] ^ t[13][byte(hi>>16)] ^ t[12][byte(hi>>24)] ^
		t[11][byte(hi>>32)] ^ t[10][byte(hi>>40)] ^ t[9][byte(hi>>48)] ^ t[8][byte(hi>>56)] ^
		t[7][byte(lo)] ^ t[6][byte(lo>>8)] ^ t[5][byte(lo>>16)] ^ t[4][byte(lo>>24)] ^
		t[3][byte(lo>>32)] ^ t[2][byte(lo>>40)] ^ t[1][byte(lo>>48)] ^ t[0][byte(lo>>56)]
}
