// Package qr is Chợ Số's VietQR engine: the EMV TLV codec and CRC, the
// encoder of VietQR transfer codes, the decoder that reads and classifies any
// code a vendor or a bank shows, the NAPAS bank directory, and PNG and SVG
// rendering.
//
// The rules and their sources are in ../shared/reference/VIETQR.md; where it
// and DESIGN.md §4 differ, DESIGN.md wins. In short:
//
//   - Encode is strict. It emits ASCII only (Fold strips tones and maps đ to
//     D), amounts of 1–9 digits with 01=12, no amount with 01=11, 62.08 of at
//     most 25 characters with the payment reference first, and an upper-case
//     CRC. It refuses what it cannot encode faithfully instead of truncating.
//   - Decode is lenient where real banking apps are: lower-case CRCs,
//     zero-length tags, tags in any order, an over-long 62.08, amounts of up
//     to 13 characters, lengths counted in UTF-8 bytes. It checks the CRC
//     first, names the family of any code, and gives one Verdict word with a
//     precise reason; it never panics.
//   - Rendering takes the module grid from github.com/skip2/go-qrcode and
//     draws it itself, whole pixels per module, with a four-module quiet zone.
//
// The package is pure: no files, network or clock. Images go to an io.Writer;
// randomness for payment references comes from the caller's io.Reader; the
// bank directory is embedded from banks.tsv, a copy of
// ../shared/data/banks.tsv.
package qr
