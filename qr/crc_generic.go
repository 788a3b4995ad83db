//go:build !amd64 || purego

package qr

// crcString is CRC16 of s: the tables alone where there is no folding
// (crc_clmul.go).
func crcString(s string) uint16 { return crcUpdate(crcInit, s) }

// crcBytes is CRC16 of b.
func crcBytes(b []byte) uint16 { return crcUpdate(crcInit, b) }

// crcASCII is CRC16 that also reports whether every byte is ASCII. Two
// passes are cheaper than one here: the ASCII test reads eight bytes at a
// time, which the CRC's byte lookups cannot share.
func crcASCII(s string) (uint16, bool) {
	return crcUpdate(crcInit, s), isASCII(s)
}
