package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fundflow/fundflow/fund"
)

// The chart's geometry, in pixels. The bars' area has a fixed width (the
// largest total fills it); the label column grows with the longest type.
const (
	chartPad     = 20.0
	chartBarsW   = 600.0 // the longest bar
	chartTotalW  = 70.0  // room for the total after a bar
	chartRowH    = 30.0
	chartBarH    = 20.0
	chartCharW   = 7.0 // an estimate of a 12px sans-serif character's width
	chartMaxType = 48  // type labels longer than this are cut (the full name is in data-type and the tooltip)
)

// bucketColors are the age buckets' colours, from fresh (yellow) to old
// (dark red); bucketInk is the colour of a count printed on each.
var (
	bucketColors = []string{"#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"}
	bucketInk    = []string{"#222222", "#222222", "#222222", "#ffffff", "#ffffff"}
)

// esc escapes s for XML text and attribute values (characters XML cannot
// carry become U+FFFD).
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// px formats a coordinate.
func px(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// chartTypes lists the types with open or explained breaks: the known types
// in report order, then any other in name order.
func chartTypes(s Summary) []string {
	var ts []string
	known := map[string]bool{}
	for _, t := range fund.BreakTypes {
		known[string(t)] = true
		if s.ByType[string(t)] > 0 {
			ts = append(ts, string(t))
		}
	}
	var other []string
	for t, n := range s.ByType {
		if !known[t] && n > 0 {
			other = append(other, t)
		}
	}
	sort.Strings(other)
	return append(ts, other...)
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// wrap joins parts with ", " after prefix into lines of at most about max
// characters.
func wrap(prefix string, parts []string, max int) []string {
	var lines []string
	line := prefix
	for i, p := range parts {
		sep := ""
		if i > 0 {
			sep = ", "
		}
		if i > 0 && utf8.RuneCountInString(line)+len(sep)+utf8.RuneCountInString(p) > max {
			lines = append(lines, line+",")
			line, sep = "    ", ""
		}
		line += sep + p
	}
	return append(lines, line)
}

// WriteChart draws the summary as an SVG picture: a horizontal bar per
// break type with open or explained breaks, stacked by age bucket, its
// total at its end; the title gives the date and the counts as the text
// summary does, and the probable causes are listed under the bars.
func WriteChart(w io.Writer, s Summary) error {
	types := chartTypes(s)
	longest := len("type")
	maxTotal := 0
	for _, t := range types {
		longest = max(longest, utf8.RuneCountInString(cut(t, chartMaxType)))
		maxTotal = max(maxTotal, s.ByType[t])
	}
	labelW := max(130, chartCharW*float64(longest)+16)
	barsX := chartPad + labelW
	width := barsX + chartBarsW + chartTotalW + chartPad
	maxChars := int((width - 2*chartPad) / chartCharW)

	var zero []string
	for _, t := range fund.BreakTypes {
		if s.ByType[string(t)] == 0 {
			zero = append(zero, string(t))
		}
	}
	var notes []string // lines under the bars
	if len(types) > 0 && len(zero) > 0 {
		notes = append(notes, wrap("no breaks of type: ", zero, maxChars)...)
	}
	if len(s.ByCause) > 0 {
		notes = append(notes, wrap("probable causes: ", strings.Split(counts(s.ByCause), ", "), maxChars)...)
	}

	const legendY, barsY = 84.0, 112.0
	height := barsY + chartRowH*float64(max(len(types), 1)) + 10 + 18*float64(len(notes)) + chartPad
	title := fmt.Sprintf("folio-recon %s: breaks by type and age", s.Date)
	tally := fmt.Sprintf("breaks: %d open, %d explained (%d new today); %d resolved today", s.Open, s.Explained, s.New, s.Resolved)

	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">
<title>%s</title>
<rect width="100%%" height="100%%" fill="#ffffff"/>
<text class="title" x="%s" y="32" font-size="17" font-weight="bold" fill="#222222">%s</text>
<text class="subtitle" x="%s" y="54" font-size="13" fill="#444444">%s (run %d)</text>
`, width, height, width, height, esc(title+"; "+tally), px(chartPad), esc(title), px(chartPad), esc(tally), s.Run.RunID)

	if len(types) == 0 {
		fmt.Fprintf(&b, `<text class="empty" x="%s" y="%s" font-size="15" text-anchor="middle" fill="#444444">no breaks</text>
`, px(width/2), px(barsY+chartRowH/2))
	} else {
		fmt.Fprintf(&b, "<g class=\"legend\">\n<text x=\"%s\" y=\"%s\" text-anchor=\"end\" fill=\"#444444\">age since first seen</text>\n",
			px(barsX-8), px(legendY+4))
		x := barsX
		for i, a := range AgeBuckets {
			fmt.Fprintf(&b, "<g class=\"legend-item\" data-bucket=\"%s\"><rect x=\"%s\" y=\"%s\" width=\"14\" height=\"14\" fill=\"%s\"/><text x=\"%s\" y=\"%s\">%s</text></g>\n",
				esc(a.Name), px(x), px(legendY-8), bucketColors[i], px(x+19), px(legendY+4), esc(a.Name))
			x += 19 + chartCharW*float64(utf8.RuneCountInString(a.Name)) + 22
		}
		b.WriteString("</g>\n")
		scale := chartBarsW / float64(maxTotal)
		for row, t := range types {
			y := barsY + chartRowH*float64(row)
			total := s.ByType[t]
			fmt.Fprintf(&b, "<g class=\"bar\" data-type=\"%s\" data-total=\"%d\">\n<text class=\"label\" x=\"%s\" y=\"%s\" text-anchor=\"end\" fill=\"#222222\">%s</text>\n",
				esc(t), total, px(barsX-8), px(y+chartBarH/2+4), esc(cut(t, chartMaxType)))
			x := barsX
			for i, a := range AgeBuckets {
				n := s.ByTypeAge[t][a.Name]
				if n == 0 {
					continue
				}
				segW := float64(n) * scale
				fmt.Fprintf(&b, "<rect class=\"seg\" data-bucket=\"%s\" data-count=\"%d\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"%s\"><title>%s</title></rect>\n",
					esc(a.Name), n, px(x), px(y), px(segW), px(chartBarH), bucketColors[i], esc(fmt.Sprintf("%s, %s: %d", t, a.Name, n)))
				if label := strconv.Itoa(n); segW >= chartCharW*float64(len(label))+6 {
					fmt.Fprintf(&b, "<text class=\"count\" x=\"%s\" y=\"%s\" text-anchor=\"middle\" font-size=\"11\" fill=\"%s\">%s</text>\n",
						px(x+segW/2), px(y+chartBarH/2+4), bucketInk[i], label)
				}
				x += segW
			}
			fmt.Fprintf(&b, "<text class=\"total\" x=\"%s\" y=\"%s\" font-weight=\"bold\" fill=\"#222222\">%d</text>\n</g>\n",
				px(x+6), px(y+chartBarH/2+4), total)
		}
	}
	y := barsY + chartRowH*float64(max(len(types), 1)) + 10
	for _, line := range notes {
		fmt.Fprintf(&b, "<text class=\"note\" x=\"%s\" y=\"%s\" fill=\"#444444\" xml:space=\"preserve\">%s</text>\n", px(chartPad), px(y), esc(line))
		y += 18
	}
	b.WriteString("</svg>\n")
	_, err := b.WriteTo(w)
	return err
}
