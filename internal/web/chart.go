package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"unicode/utf8"
)

// Series colours: cash, QR, transfer. Each passes 4.5:1 against white text
// and 3:1 against the page background, and the legend and table carry the
// same figures for anyone who cannot tell them apart. Against one another
// they are 1.1–1.2:1: stacked segments are outlined in white to show
// where one ends.
var seriesColors = [3]string{"#5b6472", "#1d4ed8", "#0f7a3d"}

// Bar is one bar of a chart: a label and its three values (cash, QR,
// transfer), in đồng.
type Bar struct {
	Label  string
	Values [3]int64
}

func (b Bar) total() int64 { return b.Values[0] + b.Values[1] + b.Values[2] }

// A chart is drawn twice, at two widths, and the style sheet shows the one
// that fits the screen: an svg scales its text with it, and the wide
// drawing on a 360 px phone put the labels at 8 px, too small to read.
// The narrow one is drawn at about a phone's width, so its text is about
// the style sheet's size there.
type layout struct {
	class string
	width int
	// For the share chart: the room for the row labels, and the most
	// characters of a label that fit it.
	labelW, labelChars int
}

var layouts = [...]layout{
	{class: "wide", width: 640, labelW: 200, labelChars: 28},
	{class: "narrow", width: 340, labelW: 124, labelChars: 12},
}

// ShareChart draws each bar as a 100% stacked horizontal bar: how a row's
// sales split between cash, QR and transfer. names are the series' names
// for the legend and the tooltips. It returns nil for no bars.
func ShareChart(title string, names [3]string, bars []Bar) template.HTML {
	if len(bars) == 0 {
		return ""
	}
	var b strings.Builder
	for _, l := range layouts {
		shareSVG(&b, l, title, names, bars)
	}
	figures(&b, title, names, bars, func(bar Bar, v int64) string {
		if bar.total() == 0 {
			return "0%"
		}
		return fmt.Sprintf("%.0f%%", 100*float64(v)/float64(bar.total()))
	})
	return template.HTML(b.String())
}

func shareSVG(b *strings.Builder, l layout, title string, names [3]string, bars []Bar) {
	const barH, gap, top = 22, 8, 30
	height := top + len(bars)*(barH+gap)
	svgOpen(b, l, height, title)
	legend(b, names, l)
	plotW := float64(l.width - l.labelW - 10)
	for i, bar := range bars {
		y := top + i*(barH+gap)
		fmt.Fprintf(b, `<text x="%d" y="%d" class="l">%s</text>`, l.labelW-6, y+barH-6, esc(truncate(bar.Label, l.labelChars)))
		total := bar.total()
		if total == 0 {
			fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="#e5e7eb"><title>%s: 0</title></rect>`, l.labelW, y, plotW, barH, esc(bar.Label))
			continue
		}
		x := float64(l.labelW)
		for s, v := range bar.Values {
			if v == 0 {
				continue
			}
			w := plotW * float64(v) / float64(total)
			pct := 100 * float64(v) / float64(total)
			fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" stroke="#fff"><title>%s — %s: %.0f%%</title></rect>`,
				x, y, w, barH, seriesColors[s], esc(bar.Label), esc(names[s]), pct)
			if w > 34 {
				fmt.Fprintf(b, `<text x="%.1f" y="%d" class="v">%.0f%%</text>`, x+w/2, y+barH-6, pct)
			}
			x += w
		}
	}
	b.WriteString(`</svg>`)
}

// DayChart draws stacked columns: each day's sales amount by method.
func DayChart(title string, names [3]string, days []Bar) template.HTML {
	if len(days) == 0 {
		return ""
	}
	var b strings.Builder
	for _, l := range layouts {
		daySVG(&b, l, title, names, days)
	}
	figures(&b, title, names, days, func(_ Bar, v int64) string { return Money(v) })
	return template.HTML(b.String())
}

func daySVG(b *strings.Builder, l layout, title string, names [3]string, days []Bar) {
	const height, top, bottom = 240, 30, 24
	var highest int64
	for _, d := range days {
		highest = max(highest, d.total())
	}
	// The scale label sits right-aligned left of the plot: the margin
	// grows with it (at the stylesheet's 15 px a character is at most
	// 9 px), so a province's billions are not cut at the chart's edge.
	scale := Money(highest)
	left := max(70, 9*utf8.RuneCountInString(scale)+8)
	svgOpen(b, l, height, title)
	legend(b, names, l)
	plotH := float64(height - top - bottom)
	slot := float64(l.width-left-10) / float64(len(days))
	colW := slot * 0.8
	// A date under every column that has room for one: "30/10" at the
	// stylesheet's 13 px is some 40 px wide.
	step := int(math.Ceil(42 / slot))
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#9ca3af"/>`, left, height-bottom, l.width-10, height-bottom)
	fmt.Fprintf(b, `<text x="%d" y="%d" class="l">%s</text>`, left-4, top+10, esc(scale))
	fmt.Fprintf(b, `<text x="%d" y="%d" class="l">0</text>`, left-4, height-bottom)
	for i, d := range days {
		x := float64(left) + float64(i)*slot + (slot-colW)/2
		y := float64(height - bottom)
		for s, v := range d.Values {
			if v == 0 || highest == 0 {
				continue
			}
			h := plotH * float64(v) / float64(highest)
			y -= h
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="#fff"><title>%s — %s: %s</title></rect>`,
				x, y, colW, h, seriesColors[s], esc(d.Label), esc(names[s]), esc(Money(v)))
		}
		if i%step == 0 {
			fmt.Fprintf(b, `<text x="%.1f" y="%d" class="d">%s</text>`, x+colW/2, height-6, esc(shortDate(d.Label)))
		}
	}
	b.WriteString(`</svg>`)
}

// svgOpen starts a chart's drawing at a layout. Its text is styled by the
// page's style sheet (svg.chart .l, .v, .d, .g; the pages' CSP allows no
// inline styles), which also shows the layout that fits the screen.
func svgOpen(b *strings.Builder, l layout, h int, title string) {
	fmt.Fprintf(b, `<svg class="chart %s" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s"><title>%s</title>`,
		l.class, l.width, h, esc(title), esc(title))
}

// figures writes a chart's figures as a table, hidden from the eye (the
// stylesheet's .sr): an svg of role img is one image to a screen reader,
// its segments' tooltips out of reach, and a volunteer using TalkBack must
// get the numbers, not only the chart's title.
func figures(b *strings.Builder, title string, names [3]string, bars []Bar, cell func(Bar, int64) string) {
	fmt.Fprintf(b, `<div class="sr"><table><caption>%s</caption><thead><tr><td></td>`, esc(title))
	for _, n := range names {
		fmt.Fprintf(b, `<th scope="col">%s</th>`, esc(n))
	}
	b.WriteString(`</tr></thead><tbody>`)
	for _, bar := range bars {
		fmt.Fprintf(b, `<tr><th scope="row">%s</th>`, esc(longDate(bar.Label)))
		for _, v := range bar.Values {
			fmt.Fprintf(b, `<td>%s</td>`, esc(cell(bar, v)))
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</tbody></table></div>`)
}

// legend names the series in a row above the plot: in the wide layout
// from the plot's left, 130 px apart; in the narrow one from the chart's
// left, each after the last name's width (at the style sheet's 15 px a
// character is at most 9 px), so "Chuyển khoản" stays inside 340 px.
func legend(b *strings.Builder, names [3]string, l layout) {
	x := l.labelW
	if l.class == "narrow" {
		x = 4
	}
	for i, n := range names {
		fmt.Fprintf(b, `<rect x="%d" y="6" width="12" height="12" fill="%s"/><text x="%d" y="16" class="g">%s</text>`, x, seriesColors[i], x+16, esc(n))
		if l.class == "narrow" {
			x += 16 + 9*utf8.RuneCountInString(n) + 12
		} else {
			x += 130
		}
	}
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// shortDate turns 2026-11-27 into 27/11.
func shortDate(d string) string {
	if len(d) == 10 {
		return d[8:] + "/" + d[5:7]
	}
	return d
}

// longDate turns 2026-11-27 into 27/11/2026, as the pages write dates;
// any other label stays as it is.
func longDate(d string) string {
	if len(d) == 10 && d[4] == '-' && d[7] == '-' {
		return d[8:] + "/" + d[5:7] + "/" + d[:4]
	}
	return d
}

// Money formats đồng the Vietnamese way: 1.250.000 ₫, the sign held to
// its number by a no-break space, so a narrow tile on a phone never puts
// the ₫ on a line of its own.
func Money(n int64) string {
	return Number(n) + "\u00a0₫"
}

// Number formats an integer with dots between thousands.
func Number(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	s := fmt.Sprint(n)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Percent formats a 0–1 share as a whole percentage.
func Percent(share float64) string {
	return fmt.Sprintf("%.0f%%", 100*share)
}
