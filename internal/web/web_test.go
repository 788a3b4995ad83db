package web

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// wellFormed reads every token of an XML document.
func wellFormed(doc string) error {
	d := xml.NewDecoder(strings.NewReader(doc))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func TestMoneyAndNumber(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1.000", 1250000: "1.250.000", -45000: "-45.000", 999999999: "999.999.999"} {
		if got := Number(n); got != want {
			t.Errorf("Number(%d) = %q, want %q", n, got, want)
		}
	}
	if got := Money(25000); got != "25.000 ₫" {
		t.Errorf("Money = %q", got)
	}
}

func TestT_TranslatesAndFormats(t *testing.T) {
	if got := T(English, "Đăng nhập"); got != "Sign in" {
		t.Errorf("T(en) = %q", got)
	}
	if got := T(Vietnamese, "Đăng nhập"); got != "Đăng nhập" {
		t.Errorf("T(vi) = %q", got)
	}
	if got := T(English, "Đã nhập %d quầy.", 3); got != "Imported 3 stalls." {
		t.Errorf("T with args = %q", got)
	}
	if ParseLang("en") != English || ParseLang("fr") != Vietnamese || ParseLang("") != Vietnamese {
		t.Error("ParseLang")
	}
}

// The charts are well-formed SVG whose labels are escaped, whose
// segments carry the figures as tooltips, and whose widths add up.
func TestCharts_WellFormedAndEscaped(t *testing.T) {
	names := [3]string{"Tiền mặt", "QR", "Chuyển khoản"}
	share := string(ShareChart("Tỷ lệ", names, []Bar{
		{Label: `Chợ <script>alert(1)</script>`, Values: [3]int64{25, 75, 0}},
		{Label: "Chợ trống"},
	}))
	days := string(DayChart("Theo ngày", names, []Bar{{Label: "2026-11-26", Values: [3]int64{100, 200, 300}}, {Label: "2026-11-27"}}))
	for name, svg := range map[string]string{"share": share, "days": days} {
		if err := wellFormed(svg); err != nil {
			t.Errorf("%s chart is not well-formed XML: %v\n%s", name, err, svg)
		}
		if strings.Contains(svg, "<script>") {
			t.Errorf("%s chart carries an unescaped label", name)
		}
	}
	for _, want := range []string{"25%", "75%", "Chợ trống: 0", `role="img"`} {
		if !strings.Contains(share, want) {
			t.Errorf("share chart lacks %q", want)
		}
	}
	if !strings.Contains(days, "26/11") || !strings.Contains(days, "Chuyển khoản: 300 ₫") || !strings.Contains(days, "600 ₫") {
		t.Errorf("day chart lacks its labels: %s", days)
	}
	if ShareChart("x", names, nil) != "" || DayChart("x", names, nil) != "" {
		t.Error("a chart of nothing should be empty")
	}
}
