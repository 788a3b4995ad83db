//go:build !amd64 || purego

package qr

// crcString is CRC16 of s: the tables alone where there is no folding
// (crc_clmul.go).
func crcString(s string) uint16 { return crcUpdate(crcInit, s) }

// crcBytes is CRC16 of b.
func crcBytes(b []byte) uint16 { return crcUpdate(crcInit, b) }
