package qr

import (
	"errors"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// Level is the QR error-correction level. The zero Level is M, the default:
// it survives a scuffed, laminated card in a market stall (15 % of the code
// recoverable) without growing the code as much as Q or H.
type Level uint8

// The error-correction levels, by the share of the code that can be lost.
const (
	LevelM Level = iota // 15 %, the default
	LevelL              // 7 %
	LevelQ              // 25 %
	LevelH              // 30 %
)

// String returns "L", "M", "Q" or "H".
func (l Level) String() string {
	switch l {
	case LevelL:
		return "L"
	case LevelQ:
		return "Q"
	case LevelH:
		return "H"
	}
	return "M"
}

// ParseLevel reads "L", "M", "Q" or "H" in either case; "" is M.
func ParseLevel(s string) (Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "M":
		return LevelM, nil
	case "L":
		return LevelL, nil
	case "Q":
		return LevelQ, nil
	case "H":
		return LevelH, nil
	}
	return LevelM, errors.New("qr: error-correction level " + s + " is not L, M, Q or H")
}

func (l Level) skip2() qrcode.RecoveryLevel {
	switch l {
	case LevelL:
		return qrcode.Low
	case LevelQ:
		return qrcode.High
	case LevelH:
		return qrcode.Highest
	}
	return qrcode.Medium
}

// QuietZone is the white border, in modules, around every rendered code: the
// four the QR standard requires for a reliable scan.
const QuietZone = 4

// MaxImageSize caps the pixel size of a rendered image, so a request cannot
// make the server build an arbitrarily large bitmap.
const MaxImageSize = 4096

// Matrix is the module grid of a QR code, without its quiet zone.
type Matrix struct {
	size    int
	version int
	level   Level
	dark    []bool // row-major, size×size
}

// NewMatrix encodes payload as a QR code at the given level. The module grid
// comes from github.com/skip2/go-qrcode; drawing it is this package's job.
//
// Nearly all of the cost of a rendered image is here: skip2 builds the symbol
// once for each of the eight masks and scores each. RenderPNG and RenderSVG
// keep recent matrices (see matrixCache); NewMatrix always builds.
func NewMatrix(payload string, level Level) (*Matrix, error) {
	q, err := qrcode.New(payload, level.skip2())
	if err != nil {
		return nil, errors.New("qr: building the QR code: " + err.Error())
	}
	// Without its border skip2 builds each of the eight candidate symbols
	// about a third smaller (41×41 instead of 49×49 modules at version 6),
	// and it picks the same mask: its penalty scores read the symbol
	// only, never the border (TestNewMatrix_SameSymbolAsSkip2WithItsBorder).
	q.DisableBorder = true
	bm := q.Bitmap()
	n := len(bm)
	if n < 21 || len(bm[0]) != n {
		return nil, errors.New("qr: unexpected bitmap from skip2/go-qrcode")
	}
	m := &Matrix{size: n, version: q.VersionNumber, level: level, dark: make([]bool, n*n)}
	for y := range n {
		copy(m.dark[y*n:(y+1)*n], bm[y])
	}
	return m, nil
}

// Size is the number of modules on a side, without the quiet zone.
func (m *Matrix) Size() int { return m.size }

// Version is the QR version, 1–40; printed on a stall's card so a volunteer
// can tell a reprint from an old card.
func (m *Matrix) Version() int { return m.version }

// Level is the error-correction level the matrix was built with.
func (m *Matrix) Level() Level { return m.level }

// Dark reports whether the module at column x, row y is dark. Coordinates
// outside the symbol, the quiet zone included, are light.
func (m *Matrix) Dark(x, y int) bool {
	if x < 0 || y < 0 || x >= m.size || y >= m.size {
		return false
	}
	return m.dark[y*m.size+x]
}

// Layout says how a size-pixel image of m is laid out. Every module is the
// same whole number of pixels, module = size / (Size + 2·QuietZone), so there
// is no scaling blur; the pixels that do not divide evenly widen the white
// border, and the symbol sits centred, margin pixels from the top-left
// corner. The image is exactly size pixels square, or, when size is too small
// for one pixel per module, the smallest image that has one.
func (m *Matrix) Layout(size int) (pixels, module, margin int) {
	total := m.size + 2*QuietZone
	if size < total {
		return total, 1, QuietZone
	}
	module = size / total
	return size, module, (size - module*m.size) / 2
}

func checkImageSize(size int) error {
	if size > MaxImageSize {
		return errors.New("qr: image size over the limit of 4096 pixels")
	}
	return nil
}
