package qr

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

// cachePayloads are distinct payloads of one size, for filling a cache.
func cachePayloads(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i], _ = Encode(Transfer{BIN: "970436", Account: "0011001234567", Amount: int64(100000 + i)})
	}
	return out
}

func sameModules(t *testing.T, got, want *Matrix) {
	t.Helper()
	if got.Size() != want.Size() || got.Version() != want.Version() || got.Level() != want.Level() {
		t.Fatalf("got size %d version %d level %s, want %d, %d, %s",
			got.Size(), got.Version(), got.Level(), want.Size(), want.Version(), want.Level())
	}
	checkModules(t, got, want.Dark)
}

func TestNewMatrix_SameSymbolAsSkip2WithItsBorder(t *testing.T) {
	payloads := append([]string{benchPayload, mbStatic, "0002", strings.Repeat("A1", 200)}, cachePayloads(8)...)
	for _, p := range payloads {
		for _, level := range []Level{LevelL, LevelM, LevelQ, LevelH} {
			m, err := NewMatrix(p, level)
			if err != nil {
				t.Fatal(err)
			}
			q, err := qrcode.New(p, level.skip2())
			if err != nil {
				t.Fatal(err)
			}
			bm := q.Bitmap() // with skip2's own 4-module border
			if n := len(bm) - 8; n != m.Size() {
				t.Fatalf("%.20q/%s: size: got %d, want %d", p, level, m.Size(), n)
			}
			checkModules(t, m, func(x, y int) bool { return bm[y+4][x+4] })
		}
	}
}

func TestMatrixCache_SameMatrixAsNewMatrix(t *testing.T) {
	c := newMatrixCache(4, 1<<20)
	for _, level := range []Level{LevelM, LevelH} {
		got, err := c.matrix(benchPayload, level)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := NewMatrix(benchPayload, level)
		sameModules(t, got, want)
		again, _ := c.matrix(benchPayload, level)
		if again != got {
			t.Errorf("%s: second lookup built a new matrix, want the kept one", level)
		}
	}
	if n, _ := c.len(); n != 2 {
		t.Errorf("entries: got %d, want 2 (one per level)", n)
	}
}

func TestMatrixCache_KeepsAtMostMaxEntriesDroppingTheLeastRecentlyUsed(t *testing.T) {
	c := newMatrixCache(3, 1<<20)
	p := cachePayloads(5)
	first, _ := c.matrix(p[0], LevelM)
	c.matrix(p[1], LevelM)
	c.matrix(p[2], LevelM)
	c.matrix(p[0], LevelM) // p[0] is now the most recently used; p[1] the least
	c.matrix(p[3], LevelM)
	c.matrix(p[4], LevelM)
	if n, _ := c.len(); n != 3 {
		t.Fatalf("entries: got %d, want 3", n)
	}
	if again, _ := c.matrix(p[0], LevelM); again != first {
		t.Errorf("p[0], used recently, was dropped")
	}
	for _, i := range []int{1, 2} {
		if _, kept := c.byKey[matrixKey{p[i], LevelM}]; kept {
			t.Errorf("p[%d], the least recently used, is still kept", i)
		}
	}
}

func TestMatrixCache_KeepsAtMostMaxModules(t *testing.T) {
	m, _ := NewMatrix(cachePayloads(1)[0], LevelM)
	per := m.Size() * m.Size()
	c := newMatrixCache(100, 2*per+per/2) // room for two
	for _, p := range cachePayloads(6) {
		if _, err := c.matrix(p, LevelM); err != nil {
			t.Fatal(err)
		}
		if n, mods := c.len(); n > 2 || mods > 2*per+per/2 {
			t.Fatalf("got %d matrices of %d modules, want at most 2 and %d", n, mods, 2*per+per/2)
		}
	}
	tiny := newMatrixCache(100, per-1) // too small for any
	if _, err := tiny.matrix(benchPayload, LevelM); err != nil {
		t.Fatal(err)
	}
	if n, mods := tiny.len(); n != 0 || mods != 0 {
		t.Errorf("got %d matrices of %d modules, want none", n, mods)
	}
}

func TestMatrixCache_DoesNotKeepErrors(t *testing.T) {
	c := newMatrixCache(4, 1<<20)
	tooLong := strings.Repeat("x", 3000) // over a version 40 code's capacity in byte mode
	for range 2 {
		if _, err := c.matrix(tooLong, LevelH); err == nil {
			t.Fatalf("got no error for %d bytes, want one", len(tooLong))
		}
	}
	if n, _ := c.len(); n != 0 {
		t.Errorf("entries: got %d, want 0", n)
	}
}

func TestRenderPNG_CachedWritesTheSameBytesAsUncached(t *testing.T) {
	for _, p := range append(cachePayloads(3), benchPayload, mbStatic) {
		var cold, warm1, warm2 bytes.Buffer
		if err := renderPNG(&cold, p, LevelM, 256, nil); err != nil {
			t.Fatal(err)
		}
		RenderPNG(&warm1, p, LevelM, 256)
		RenderPNG(&warm2, p, LevelM, 256)
		if !bytes.Equal(cold.Bytes(), warm1.Bytes()) || !bytes.Equal(cold.Bytes(), warm2.Bytes()) {
			t.Errorf("%.30q: cached rendering differs from a fresh one", p)
		}
		var svgCold, svgWarm bytes.Buffer
		m, _ := NewMatrix(p, LevelM)
		m.WriteSVG(&svgCold, 256)
		RenderSVG(&svgWarm, p, LevelM, 256)
		if svgCold.String() != svgWarm.String() {
			t.Errorf("%.30q: cached SVG differs from a fresh one", p)
		}
	}
}

// Run with -race: renderings share kept matrices.
func TestMatrixCache_ConcurrentRenderings(t *testing.T) {
	c := newMatrixCache(4, 1<<20)
	p := cachePayloads(6)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 12 {
				var buf bytes.Buffer
				if err := renderPNG(&buf, p[(g+i)%len(p)], LevelM, 128, c); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n, _ := c.len(); n > 4 {
		t.Errorf("entries: got %d, want at most 4", n)
	}
}
