package qr

import (
	"io"
	"strconv"
)

// WriteSVG writes the code as an SVG whose user unit is one module: the
// viewBox spans the symbol plus its quiet zone, a white rectangle fills it,
// and one path draws the dark modules as a rectangle per horizontal run, with
// crispEdges so scaling never blurs a module edge. With size > 0 the image
// is size pixels square; with size ≤ 0 it has no width or height and takes
// the size its container gives it, which is what a printed card wants.
func (m *Matrix) WriteSVG(w io.Writer, size int) error {
	if err := checkImageSize(size); err != nil {
		return err
	}
	total := m.size + 2*QuietZone
	b := make([]byte, 0, 256+m.size*m.size*3)
	b = append(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 `...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, '"')
	if size > 0 {
		b = append(b, ` width="`...)
		b = strconv.AppendInt(b, int64(size), 10)
		b = append(b, `" height="`...)
		b = strconv.AppendInt(b, int64(size), 10)
		b = append(b, '"')
	}
	b = append(b, ` shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/><path fill="#000" d="`...)
	for y := 0; y < m.size; y++ {
		dark := m.dark[y*m.size : (y+1)*m.size]
		for x := 0; x < m.size; {
			if !dark[x] {
				x++
				continue
			}
			run := x
			for run < m.size && dark[run] {
				run++
			}
			n := int64(run - x)
			b = append(b, 'M')
			b = strconv.AppendInt(b, int64(x+QuietZone), 10)
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(y+QuietZone), 10)
			b = append(b, 'h')
			b = strconv.AppendInt(b, n, 10)
			b = append(b, "v1h-"...)
			b = strconv.AppendInt(b, n, 10)
			b = append(b, 'z')
			x = run
		}
	}
	b = append(b, "\"/></svg>\n"...)
	_, err := w.Write(b)
	return err
}

// RenderSVG encodes payload at level and writes it as an SVG (see WriteSVG).
// Like RenderPNG, it reuses the matrices of recently rendered payloads.
func RenderSVG(w io.Writer, payload string, level Level, size int) error {
	if err := checkImageSize(size); err != nil {
		return err
	}
	m, err := matrices.matrix(payload, level)
	if err != nil {
		return err
	}
	return m.WriteSVG(w, size)
}
