package choso_test

import (
	"bytes"
	"testing"

	"github.com/choso/choso"
)

// FuzzImportCSV reads arbitrary files as a stall import: parsing never
// panics, a dry run never writes, and every problem it reports names a line
// of the file.
func FuzzImportCSV(f *testing.F) {
	header := "code,name,category,vendor_name,vendor_phone,bin,account,service,holder_name\n"
	for _, seed := range []string{
		header + "A-1,Bún chả,Ăn uống,Nguyễn Thị Lan,0912345678,970436,0011001234567,account,NGUYEN THI LAN\n",
		"\ufeff" + header + "A-2,\"Rau, củ\",Rau,\"Lê \"\"Hoa\"\"\",+84387654321,970418,58110000715752,card,LE HOA\r\n",
		header + "A-1,x,,y,0912345678,970436,1,account,Z\nA-1,x,,y,0912345678,970436,1,account,Z\n",
		header + "B-1,,,,,,,,\n,,,,,,,,\n",
		"code,name\nA,B\n",
		header + "\"unterminated\n",
		header + "C-1,Gạo,Gạo,Đỗ Thu,0901234567,123456,ACC!,bank,\n",
	} {
		f.Add([]byte(seed))
	}
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, file []byte) {
		rows, err := choso.ParseStallCSV(bytes.NewReader(file))
		if err != nil {
			if choso.ErrorCode(err) != choso.EInvalid && choso.ErrorCode(err) != choso.ETooLarge {
				t.Fatalf("parse error with code %q: %v", choso.ErrorCode(err), err)
			}
			return
		}
		report, err := fx.reg.ImportStalls(fx.ctx, fx.volA, fx.marketInScope.ID, rows, true, true)
		if err != nil {
			if choso.ErrorCode(err) != choso.EInvalid && choso.ErrorCode(err) != choso.ETooLarge {
				t.Fatalf("dry run error with code %q: %v", choso.ErrorCode(err), err)
			}
			return
		}
		if report.Created != 0 {
			t.Fatalf("a dry run created %d stalls", report.Created)
		}
		lines := bytes.Count(file, []byte("\n")) + 2
		for _, e := range report.Errors {
			if e.Line < 1 || e.Line > lines || e.Message == "" {
				t.Fatalf("row error %+v does not name a line of a %d-line file", e, lines)
			}
		}
	})
}
