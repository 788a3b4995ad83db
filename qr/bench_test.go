package qr

import (
	"io"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

// benchPayload is the shared harness's payload (../shared/bench/qr-go and
// vietqr-node): a 150-character dynamic VietQR built by vietnam-qr-pay. Its
// 62.08 is 37 characters, over our encoder's limit, so it decodes with one
// warning and BenchmarkEncode builds a code of similar size within the rules.
const benchPayload = "00020101021238570010A00000072701270006970436011300110012345670208QRIBFTTA5303704540712500005802VN62410837Thanh toan don hang DH20260101 ban 126304C472"

// benchTransfer is the harness's input (vietqr-node/bench.js): same bank,
// account and amount, and a mixed-case ASCII message cut to the 25
// characters our encoder allows, so it is folded as the harness's would be.
var benchTransfer = Transfer{
	BIN: "970436", Account: "0011001234567", Amount: 1250000,
	Purpose: "Thanh toan don hang DH202",
}

// benchTransferFull has every optional field and Vietnamese text to fold.
var benchTransferFull = Transfer{
	BIN: "970436", Account: "0011001234567", Amount: 1250000,
	Reference: "CS7QW3K9MA", Purpose: "Bàn 12 mua rau",
	MerchantName: "Chợ Bến Thành sạp 1042", City: "Hồ Chí Minh",
}

func BenchmarkEncode(b *testing.B) {
	benchmarkEncode(b, benchTransfer)
}

func BenchmarkEncodeFull(b *testing.B) {
	benchmarkEncode(b, benchTransferFull)
}

func benchmarkEncode(b *testing.B, t Transfer) {
	if _, err := Encode(t); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Encode(t); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendEncode(b *testing.B) {
	buf := make([]byte, 0, 256)
	for b.Loop() {
		var err error
		if buf, err = AppendEncode(buf[:0], benchTransfer); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	var r Result
	for b.Loop() {
		DecodeInto(&r, benchPayload)
	}
	if !r.Transfer {
		b.Fatalf("got verdict %s, want a transfer", r.Verdict)
	}
}

func BenchmarkDecodeNew(b *testing.B) {
	for b.Loop() {
		_ = Decode(benchPayload)
	}
}

func BenchmarkNewMatrix(b *testing.B) {
	for b.Loop() {
		if _, err := NewMatrix(benchPayload, LevelM); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderPNG256 is RenderPNG of one payload again and again, as
// the server shows a stall's static code: after the first call the matrix
// comes from the cache and only the PNG is encoded.
func BenchmarkRenderPNG256(b *testing.B) {
	for b.Loop() {
		if err := RenderPNG(io.Discard, benchPayload, LevelM, 256); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderPNG256Cold builds the matrix on every call, as RenderPNG
// does for a payload it has not seen (a dynamic code): the figure to set
// against BenchmarkSkip2PNG256, which also builds every time.
func BenchmarkRenderPNG256Cold(b *testing.B) {
	for b.Loop() {
		if err := renderPNG(io.Discard, benchPayload, LevelM, 256, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWritePNG256(b *testing.B) {
	m, err := NewMatrix(benchPayload, LevelM)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := m.WritePNG(io.Discard, 256); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderSVG(b *testing.B) {
	for b.Loop() {
		if err := RenderSVG(io.Discard, benchPayload, LevelM, 256); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteSVG(b *testing.B) {
	m, err := NewMatrix(benchPayload, LevelM)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := m.WriteSVG(io.Discard, 256); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSkip2PNG256 is skip2/go-qrcode's own 256 px PNG of the same payload
// at the same level, as ../shared/bench/qr-go measures it, for the ratio.
func BenchmarkSkip2PNG256(b *testing.B) {
	for b.Loop() {
		if _, err := qrcode.Encode(benchPayload, qrcode.Medium, 256); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSkip2Bitmap(b *testing.B) {
	for b.Loop() {
		q, err := qrcode.New(benchPayload, qrcode.Medium)
		if err != nil {
			b.Fatal(err)
		}
		_ = q.Bitmap()
	}
}

func BenchmarkExtractReference(b *testing.B) {
	ref, err := NewReference(&seededReader{n: 3})
	if err != nil {
		b.Fatal(err)
	}
	content := "MBVCB.3279715342." + strings.ToLower(ref) + " ban 12 thanh toan.CT tu 0011001234567 NGUYEN VAN A toi 0352350917"
	for b.Loop() {
		if _, ok := ExtractReference(content); !ok {
			b.Fatal("not found")
		}
	}
}
