package qr

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
	"sync"
)

// The PNG writer is this package's own: a QR code is two colours on a grid of
// whole-pixel squares, so it is written as a 1-bit greyscale PNG, built a
// module row at a time. image/png (which skip2/go-qrcode uses) would instead
// receive a full 8-bit image, filter-score every row and compress at its best
// level, at many times the cost for a bigger-than-needed file.

// pngEncoder holds the buffers and the zlib writer one encoding needs; pooled
// because a zlib writer carries hundreds of kilobytes of state.
type pngEncoder struct {
	raw  []byte       // filtered scanlines
	z    bytes.Buffer // the zlib stream
	zw   *zlib.Writer
	file []byte // the PNG file
}

var pngEncoders = sync.Pool{New: func() any {
	e := &pngEncoder{}
	// BestSpeed: the scanlines repeat (every module row is module pixels
	// high, and repeats are filtered to zeros), so even the fastest level
	// compresses a 256 px code to well under a kilobyte.
	e.zw, _ = zlib.NewWriterLevel(&e.z, zlib.BestSpeed)
	return e
}}

var pngSignature = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}

// PNG filter types (PNG spec §9.2): none, and "up", which stores each byte
// minus the byte above it, so a row equal to the one above becomes zeros.
const (
	pngFilterNone = 0
	pngFilterUp   = 2
)

// WritePNG writes the code as a 1-bit greyscale PNG of size×size pixels
// (laid out as Layout says) to w.
func (m *Matrix) WritePNG(w io.Writer, size int) error {
	if err := checkImageSize(size); err != nil {
		return err
	}
	pixels, module, margin := m.Layout(size)
	stride := (pixels + 7) / 8

	e := pngEncoders.Get().(*pngEncoder)
	defer pngEncoders.Put(e)

	// Scanlines. A light row is all ones (1 = white in 1-bit greyscale); a
	// module row is built once and then repeated module-1 times as "up"
	// rows of zeros.
	line := 1 + stride
	raw := e.raw[:0]
	if cap(raw) < pixels*line {
		raw = make([]byte, 0, pixels*line)
	}
	raw = raw[:pixels*line]
	clear(raw)
	row := func(y int) []byte { return raw[y*line+1 : (y+1)*line] }
	lightRow := func(y int) {
		raw[y*line] = pngFilterNone
		r := row(y)
		for i := range r {
			r[i] = 0xFF
		}
	}
	upRow := func(y int) { raw[y*line] = pngFilterUp } // data already zero

	y := 0
	for ; y < margin; y++ {
		if y == 0 {
			lightRow(y)
		} else {
			upRow(y)
		}
	}
	for my := 0; my < m.size; my++ {
		lightRow(y)
		r := row(y)
		dark := m.dark[my*m.size : (my+1)*m.size]
		for mx := 0; mx < m.size; {
			if !dark[mx] {
				mx++
				continue
			}
			run := mx
			for run < m.size && dark[run] {
				run++
			}
			clearBits(r, margin+mx*module, margin+run*module)
			mx = run
		}
		y++
		for k := 1; k < module; k++ {
			upRow(y)
			y++
		}
	}
	if y < pixels {
		lightRow(y)
		for y++; y < pixels; y++ {
			upRow(y)
		}
	}
	e.raw = raw

	e.z.Reset()
	e.zw.Reset(&e.z)
	if _, err := e.zw.Write(raw); err != nil {
		return err
	}
	if err := e.zw.Close(); err != nil {
		return err
	}

	f := append(e.file[:0], pngSignature...)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(pixels))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(pixels))
	ihdr[8] = 1 // bit depth
	ihdr[9] = 0 // colour type: greyscale
	// compression, filter and interlace methods: 0
	f = appendChunk(f, "IHDR", ihdr[:])
	f = appendChunk(f, "IDAT", e.z.Bytes())
	f = appendChunk(f, "IEND", nil)
	e.file = f
	_, err := w.Write(f)
	return err
}

// clearBits sets pixels [from, to) of a 1-bit row to 0 (black).
func clearBits(r []byte, from, to int) {
	for from < to && from&7 != 0 {
		r[from>>3] &^= 0x80 >> (from & 7)
		from++
	}
	for ; from+8 <= to; from += 8 {
		r[from>>3] = 0
	}
	for ; from < to; from++ {
		r[from>>3] &^= 0x80 >> (from & 7)
	}
}

// appendChunk appends a PNG chunk: length, type, data, and the CRC-32 of
// type and data.
func appendChunk(dst []byte, typ string, data []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)))
	start := len(dst)
	dst = append(dst, typ...)
	dst = append(dst, data...)
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}

// RenderPNG encodes payload at level and writes it as a size-pixel PNG. The
// matrices of recently rendered payloads are kept (matrixCache), so showing
// a stall's static code again costs only the PNG encoding.
func RenderPNG(w io.Writer, payload string, level Level, size int) error {
	return renderPNG(w, payload, level, size, matrices)
}

// renderPNG is RenderPNG with its matrix cache; with nil it builds every
// matrix.
func renderPNG(w io.Writer, payload string, level Level, size int, c *matrixCache) error {
	if err := checkImageSize(size); err != nil {
		return err
	}
	m, err := c.matrix(payload, level)
	if err != nil {
		return err
	}
	return m.WritePNG(w, size)
}
