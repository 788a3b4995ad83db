package qr

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"strconv"
	"strings"
	"testing"
)

// checkModules compares every module of m, quiet zone included, with what
// dark(x, y) reads back from an image, in module coordinates where the
// symbol starts at (0, 0) and the quiet zone is negative or past Size.
func checkModules(t *testing.T, m *Matrix, dark func(x, y int) bool) {
	t.Helper()
	bad := 0
	for y := -QuietZone; y < m.Size()+QuietZone; y++ {
		for x := -QuietZone; x < m.Size()+QuietZone; x++ {
			if got, want := dark(x, y), m.Dark(x, y); got != want {
				if bad++; bad <= 5 {
					t.Errorf("module (%d,%d): got dark=%v, want %v", x, y, got, want)
				}
			}
		}
	}
	if bad > 5 {
		t.Errorf("%d modules differ in all", bad)
	}
}

func TestWritePNG_EveryModuleDecodesBackAtEverySize(t *testing.T) {
	payloads := map[string]string{
		"static MB":     mbStatic,
		"bench payload": benchPayload,
		"tiny":          "0002",
	}
	for name, p := range payloads {
		for _, level := range []Level{LevelL, LevelM, LevelQ, LevelH} {
			m, err := NewMatrix(p, level)
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range []int{1, 33, 64, 100, 255, 256, 257, 300, 512, 1000} {
				t.Run(fmt.Sprintf("%s/%s/%dpx", name, level, size), func(t *testing.T) {
					var buf bytes.Buffer
					if err := m.WritePNG(&buf, size); err != nil {
						t.Fatal(err)
					}
					img, err := png.Decode(&buf)
					if err != nil {
						t.Fatalf("image/png cannot read it: %v", err)
					}
					pixels, module, margin := m.Layout(size)
					if b := img.Bounds(); b.Dx() != pixels || b.Dy() != pixels {
						t.Fatalf("size: got %dx%d, want %dx%d", b.Dx(), b.Dy(), pixels, pixels)
					}
					if total := m.Size() + 2*QuietZone; size >= total && pixels != size {
						t.Errorf("pixels: got %d, want the requested %d", pixels, size)
					}
					if margin < QuietZone*module {
						t.Errorf("margin: got %d px, want at least %d (4 modules)", margin, QuietZone*module)
					}
					isDark := func(px, py int) bool {
						r, g, b, _ := img.At(px, py).RGBA()
						if r != g || g != b || (r != 0 && r != 0xFFFF) {
							t.Fatalf("pixel (%d,%d) is neither black nor white: %d %d %d", px, py, r, g, b)
						}
						return r == 0
					}
					// Every pixel of a module must agree: no scaling artefacts.
					checkModules(t, m, func(x, y int) bool {
						x0, y0 := margin+x*module, margin+y*module
						d := isDark(x0, y0)
						for py := y0; py < y0+module; py++ {
							for px := x0; px < x0+module; px++ {
								if isDark(px, py) != d {
									t.Fatalf("module (%d,%d) is not uniform at pixel (%d,%d)", x, y, px, py)
								}
							}
						}
						return d
					})
					// Outside the grid of modules, only white.
					for py := 0; py < pixels; py++ {
						for _, px := range []int{0, pixels - 1} {
							if isDark(px, py) || isDark(py, px) {
								t.Fatalf("border pixel (%d,%d) is dark", px, py)
							}
						}
					}
				})
			}
		}
	}
}

func TestWritePNG_IsOneBitGreyscale(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderPNG(&buf, benchPayload, LevelM, 256); err != nil {
		t.Fatal(err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(buf.Bytes()))
	if err != nil || format != "png" {
		t.Fatalf("got %s, %v, want a PNG", format, err)
	}
	if b := buf.Bytes(); b[24] != 1 || b[25] != 0 {
		t.Errorf("IHDR: got bit depth %d colour type %d, want 1 and 0", b[24], b[25])
	}
	if cfg.Width != 256 {
		t.Errorf("width: got %d, want 256", cfg.Width)
	}
	if buf.Len() > 2048 {
		t.Errorf("size: got %d bytes, want under 2 KiB for a 256 px code", buf.Len())
	}
}

func TestRender_RefusesAnImageOverTheSizeLimit(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderPNG(&buf, mbStatic, LevelM, MaxImageSize+1); err == nil {
		t.Errorf("png: got no error, want one")
	}
	if err := RenderSVG(&buf, mbStatic, LevelM, MaxImageSize+1); err == nil {
		t.Errorf("svg: got no error, want one")
	}
}

// svgDoc is the part of our SVG the test reads back.
type svgDoc struct {
	ViewBox string `xml:"viewBox,attr"`
	Width   string `xml:"width,attr"`
	Height  string `xml:"height,attr"`
	Shape   string `xml:"shape-rendering,attr"`
	Paths   []struct {
		D    string `xml:"d,attr"`
		Fill string `xml:"fill,attr"`
	} `xml:"path"`
}

// parsePath fills the modules covered by an SVG path made of the commands
// WriteSVG uses: "M x y", "h n", "v n", "h-n", "z", each rectangle closed.
func parsePath(t *testing.T, d string, n int) [][]bool {
	t.Helper()
	grid := make([][]bool, n)
	for i := range grid {
		grid[i] = make([]bool, n)
	}
	num := func(s string, i int) (int, int) {
		j := i
		if j < len(s) && s[j] == '-' {
			j++
		}
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		v, err := strconv.Atoi(s[i:j])
		if err != nil {
			t.Fatalf("path: bad number at %d in %q", i, s[i:min(len(s), i+20)])
		}
		return v, j
	}
	for i := 0; i < len(d); {
		if d[i] != 'M' {
			t.Fatalf("path: got %q at %d, want M", d[i], i)
		}
		x, j := num(d, i+1)
		if d[j] != ' ' {
			t.Fatalf("path: want a space at %d", j)
		}
		y, j := num(d, j+1)
		if d[j] != 'h' {
			t.Fatalf("path: want h at %d", j)
		}
		w, j := num(d, j+1)
		if !strings.HasPrefix(d[j:], "v1h-") {
			t.Fatalf("path: want v1h- at %d", j)
		}
		w2, j := num(d, j+4)
		if d[j] != 'z' || w2 != w || w <= 0 {
			t.Fatalf("path: rectangle at %d is not closed back to its start", i)
		}
		for k := x; k < x+w; k++ {
			if grid[y][k] {
				t.Fatalf("path: module (%d,%d) drawn twice", k, y)
			}
			grid[y][k] = true
		}
		i = j + 1
	}
	return grid
}

func TestWriteSVG_EveryModuleParsesBackFromThePath(t *testing.T) {
	for _, size := range []int{0, 256, 1000} {
		for _, level := range []Level{LevelM, LevelH} {
			t.Run(fmt.Sprintf("%s/%dpx", level, size), func(t *testing.T) {
				m, err := NewMatrix(benchPayload, level)
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				if err := m.WriteSVG(&buf, size); err != nil {
					t.Fatal(err)
				}
				var doc svgDoc
				if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
					t.Fatalf("not XML: %v", err)
				}
				total := m.Size() + 2*QuietZone
				if want := fmt.Sprintf("0 0 %d %d", total, total); doc.ViewBox != want {
					t.Errorf("viewBox: got %q, want %q", doc.ViewBox, want)
				}
				wantSize := ""
				if size > 0 {
					wantSize = strconv.Itoa(size)
				}
				if doc.Width != wantSize || doc.Height != wantSize {
					t.Errorf("width, height: got %q %q, want %q", doc.Width, doc.Height, wantSize)
				}
				if doc.Shape != "crispEdges" {
					t.Errorf("shape-rendering: got %q, want crispEdges", doc.Shape)
				}
				if len(doc.Paths) != 1 {
					t.Fatalf("paths: got %d, want 1", len(doc.Paths))
				}
				grid := parsePath(t, doc.Paths[0].D, total)
				checkModules(t, m, func(x, y int) bool { return grid[y+QuietZone][x+QuietZone] })
			})
		}
	}
}

func TestNewMatrix_PicksALargerVersionForAHigherLevel(t *testing.T) {
	m, _ := NewMatrix(benchPayload, LevelM)
	h, _ := NewMatrix(benchPayload, LevelH)
	if m.Version() >= h.Version() {
		t.Errorf("versions: got M=%d H=%d, want M < H", m.Version(), h.Version())
	}
	if m.Size() != 17+4*m.Version() {
		t.Errorf("size: got %d, want %d for version %d", m.Size(), 17+4*m.Version(), m.Version())
	}
}

func TestParseLevel_ReadsTheFourLevels(t *testing.T) {
	for in, want := range map[string]Level{"": LevelM, "m": LevelM, "L": LevelL, "q": LevelQ, " H ": LevelH} {
		got, err := ParseLevel(in)
		if err != nil || got != want {
			t.Errorf("ParseLevel(%q): got %v, %v, want %v", in, got, err, want)
		}
	}
	if _, err := ParseLevel("X"); err == nil {
		t.Errorf("ParseLevel(\"X\"): got no error, want one")
	}
}
