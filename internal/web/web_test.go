package web

import (
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
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
	if got := Money(25000); got != "25.000\u00a0₫" {
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
	if !strings.Contains(days, "26/11") || !strings.Contains(days, "Chuyển khoản: 300\u00a0₫") || !strings.Contains(days, "600\u00a0₫") {
		t.Errorf("day chart lacks its labels: %s", days)
	}
	if ShareChart("x", names, nil) != "" || DayChart("x", names, nil) != "" {
		t.Error("a chart of nothing should be empty")
	}
}

// The day chart's scale label is drawn right-aligned left of the plot: a
// province's day (a billion đồng and more) must fit in the margin, not be
// cut at the chart's left edge ("1.234.567.000 ₫" read "567.000 ₫").
func TestDayChart_ScaleLabelFitsItsMargin(t *testing.T) {
	names := [3]string{"Tiền mặt", "QR", "Chuyển khoản"}
	label := regexp.MustCompile(`<text x="(\d+)" y="\d+" class="l">([^<]+)</text>`)
	for _, top := range []int64{900, 31_319_000, 1_234_567_000, 999_999_999_999} {
		for _, svg := range drawings(t, DayChart("Theo ngày", names, []Bar{{Label: "2026-11-26", Values: [3]int64{top, 0, 0}}})) {
			m := label.FindStringSubmatch(svg)
			if m == nil {
				t.Fatalf("no scale label in %s", svg)
			}
			x, _ := strconv.Atoi(m[1])
			text := html.UnescapeString(m[2])
			if text != Money(top) {
				t.Errorf("scale label %q, want %q", text, Money(top))
			}
			// At the stylesheet's 15 px a character of it is at most 9 px wide.
			if need := 9 * utf8.RuneCountInString(text); x < need {
				t.Errorf("scale label %q ends at x=%d: %d px of it fall off the chart's left edge", text, x, need-x)
			}
		}
	}
}

// The day chart's dates do not run into each other: however many days and
// however wide the scale label, two shown dates are 40 px apart or more.
func TestDayChart_DatesDoNotTouch(t *testing.T) {
	names := [3]string{"Tiền mặt", "QR", "Chuyển khoản"}
	date := regexp.MustCompile(`<text x="([\d.]+)" y="\d+" class="d">`)
	for _, n := range []int{1, 7, 16, 30, 31, 92, 366} {
		for _, top := range []int64{900, 1_234_567_000} {
			var days []Bar
			for i := range n {
				days = append(days, Bar{Label: fmt.Sprintf("2026-%02d-%02d", 1+i/28%12, 1+i%28), Values: [3]int64{top, 0, 0}})
			}
			for _, svg := range drawings(t, DayChart("x", names, days)) {
				xs := date.FindAllStringSubmatch(svg, -1)
				if len(xs) == 0 {
					t.Fatalf("%d days: no dates", n)
				}
				for i := 1; i < len(xs); i++ {
					a, _ := strconv.ParseFloat(xs[i-1][1], 64)
					b, _ := strconv.ParseFloat(xs[i][1], 64)
					if b-a < 40 {
						t.Errorf("%d days, scale %d: dates %d and %d are %.1f px apart", n, top, i-1, i, b-a)
						break
					}
				}
			}
		}
	}
}

// A chart is one image to a screen reader (role img): its segments'
// tooltips are out of reach. Its figures come with it as a table outside
// the svg, so a TalkBack user gets the numbers, not only the title.
func TestCharts_FiguresOutsideTheImage(t *testing.T) {
	names := [3]string{"Tiền mặt", "QR", "Chuyển khoản"}
	share := string(ShareChart("Tỷ lệ", names, []Bar{{Label: "Chợ Thương", Values: [3]int64{25, 75, 0}}, {Label: "Chợ trống"}}))
	days := string(DayChart("Theo ngày", names, []Bar{{Label: "2026-11-26", Values: [3]int64{100, 200, 300}}}))
	for name, c := range map[string]struct {
		html string
		want []string
	}{
		"share": {share, []string{"<caption>Tỷ lệ</caption>", `<th scope="col">Chuyển khoản</th>`, `<th scope="row">Chợ Thương</th><td>25%</td><td>75%</td><td>0%</td>`, `<th scope="row">Chợ trống</th><td>0%</td>`}},
		"days":  {days, []string{"<caption>Theo ngày</caption>", `<th scope="row">26/11/2026</th><td>100` + "\u00a0₫</td><td>200\u00a0₫</td><td>300\u00a0₫</td>"}},
	} {
		end := strings.LastIndex(c.html, "</svg>")
		if end < 0 {
			t.Fatalf("%s chart: no svg", name)
		}
		outside := c.html[end+len("</svg>"):]
		if err := wellFormed(outside); err != nil {
			t.Errorf("%s chart's figures are not well-formed: %v", name, err)
		}
		for _, w := range c.want {
			if !strings.Contains(outside, w) {
				t.Errorf("%s chart: outside its image, got %s, want it to hold %s", name, outside, w)
			}
		}
	}
}

// Stacked segments touch, and the series' colours are 1.1–1.2:1 against
// one another, under WCAG 1.4.11's 3:1: each segment is outlined in white
// (5.4:1 or more against every series), so where one ends shows.
func TestCharts_SegmentsAreSeparated(t *testing.T) {
	names := [3]string{"Tiền mặt", "QR", "Chuyển khoản"}
	bars := []Bar{{Label: "2026-11-26", Values: [3]int64{100, 200, 300}}}
	segment := regexp.MustCompile(`<rect [^>]*fill="#[0-9a-f]{6}"[^>]*><title>`)
	for name, chart := range map[string]template.HTML{"share": ShareChart("x", names, bars), "days": DayChart("x", names, bars)} {
		for _, svg := range drawings(t, chart) {
			segs := segment.FindAllString(svg, -1)
			if len(segs) != 3 {
				t.Fatalf("%s chart: %d segments, want 3", name, len(segs))
			}
			for _, s := range segs {
				if !strings.Contains(s, `stroke="#fff"`) {
					t.Errorf("%s chart: got %s, want a white outline", name, s)
				}
			}
		}
	}
}

// drawings returns a chart's two drawings, wide then narrow.
func drawings(t *testing.T, chart template.HTML) []string {
	t.Helper()
	var out []string
	for _, class := range []string{"wide", "narrow"} {
		_, rest, ok := strings.Cut(string(chart), `<svg class="chart `+class+`"`)
		svg, _, closed := strings.Cut(rest, "</svg>")
		if !ok || !closed {
			t.Fatalf("no %s drawing in %s", class, chart)
		}
		out = append(out, svg)
	}
	return out
}

// The narrow drawing, the one a 360 px phone shows, keeps its text inside
// its 340 px: the legend's three names in a row from the left edge, a
// row's label cut to what fits left of the bars.
func TestCharts_NarrowDrawingFitsAPhone(t *testing.T) {
	names := [3]string{"Tiền mặt", "QR", "Chuyển khoản"}
	bars := []Bar{{Label: "Chợ đầu mối nông sản Bắc Giang", Values: [3]int64{100, 200, 300}}}
	legendText := regexp.MustCompile(`<text x="(\d+)" y="16" class="g">([^<]+)</text>`)
	label := regexp.MustCompile(`class="l">([^<]+)</text>`)
	for name, chart := range map[string]template.HTML{"share": ShareChart("x", names, bars), "days": DayChart("x", names, bars)} {
		narrow := drawings(t, chart)[1]
		if !strings.Contains(narrow, `viewBox="0 0 340 `) {
			t.Fatalf("%s chart's narrow drawing: %s", name, narrow)
		}
		// At the style sheet's 15 px a character is at most 9 px wide.
		for _, m := range legendText.FindAllStringSubmatch(narrow, -1) {
			x, _ := strconv.Atoi(m[1])
			if end := x + 9*utf8.RuneCountInString(html.UnescapeString(m[2])); end > 340 {
				t.Errorf("%s chart: the legend's %q ends at x=%d, past 340", name, m[2], end)
			}
		}
		if name == "share" {
			m := label.FindStringSubmatch(narrow)
			if m == nil || 9*utf8.RuneCountInString(html.UnescapeString(m[1])) > 124-6 {
				t.Errorf("share chart: the narrow label %v does not fit left of the bars (118 px)", m)
			}
		}
	}
}
