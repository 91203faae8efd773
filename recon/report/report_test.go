package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

func nd(s string) decimal.NullDecimal {
	return decimal.NullDecimal{Decimal: decimal.RequireFromString(s), Valid: true}
}

func TestReport(t *testing.T) {
	day := fund.NewDate(2026, 8, 21)
	dir := t.TempDir()
	r, err := New(dir, Run{RunID: 9, Date: day, HoldingsRTAs: []string{"CAMS"}, RTAHoldings: 100, LedgerHoldings: 101})
	if err != nil {
		t.Fatal(err)
	}
	var breaks []fund.Break
	// 12 holding breaks with differences 1..12 units (sign alternating), first seen 0..11 days ago.
	for i := 1; i <= 12; i++ {
		diff := fmt.Sprint(i)
		if i%2 == 0 {
			diff = "-" + diff
		}
		breaks = append(breaks, fund.Break{ID: int64(i), Key: fmt.Sprintf("h|units_mismatch|CAMS|F%d|S", i), Scope: "holding",
			Type: fund.UnitsMismatch, RTA: "CAMS", Folio: fmt.Sprintf("F%d", i), SchemeCode: "S", UnitsDiff: nd(diff),
			RTAUnits: nd("100"), LedgerUnits: nd(nd("100").Decimal.Sub(decimal.RequireFromString(diff)).String()),
			Status: fund.BreakOpen, FirstSeen: day.AddDays(-(i - 1)), LastSeen: day, RTAFile: "f.csv", RTALine: i + 1})
	}
	breaks = append(breaks,
		fund.Break{ID: 20, Key: "t|duplicate|KFINTECH|n:9", Scope: "transaction", Type: fund.Duplicate, RTA: "KFINTECH", Folio: "G",
			RTATxnNo: "9", Status: fund.BreakOpen, FirstSeen: day.AddDays(-40), LastSeen: day, Detail: `sent "twice", really`},
		fund.Break{ID: 21, Key: "t|nav_date_mismatch|CAMS|o:O1", Scope: "transaction", Type: fund.NAVDateMismatch, RTA: "CAMS",
			Folio: "F1", OrderID: "O1", Status: fund.BreakExplained, Cause: fund.CauseAfterCutoff, FirstSeen: day, LastSeen: day,
			RTANAVDate: day, LedgerNAVDate: day.AddDays(-1), UnitsDiff: nd("0")},
		fund.Break{ID: 22, Key: "h|missing_at_rta|CAMS|F9|S", Scope: "holding", Type: fund.MissingAtRTA, RTA: "CAMS", Folio: "F9",
			SchemeCode: "S", Status: fund.BreakResolved, FirstSeen: day.AddDays(-3), LastSeen: day.AddDays(-1), Resolved: day, UnitsDiff: nd("-500")},
	)
	for _, b := range breaks {
		if err := r.Add(b); err != nil {
			t.Fatal(err)
		}
	}
	s, err := r.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Ages: units_mismatch first seen 0..11 days ago → 0d:1, 1-2d:2, 3-7d:5, 8-30d:4; the duplicate is 40 days old.
	want := map[string]map[string]int{
		"units_mismatch":    {"0d": 1, "1-2d": 2, "3-7d": 5, "8-30d": 4},
		"duplicate":         {">30d": 1},
		"nav_date_mismatch": {"0d": 1},
	}
	if fmt.Sprint(s.ByTypeAge) != fmt.Sprint(want) || s.Open != 13 || s.Explained != 1 || s.Resolved != 1 || s.New != 2 ||
		s.ByType["units_mismatch"] != 12 || s.ByCause["after_cutoff"] != 1 || s.ByCause["(none inferred)"] != 13 || s.ByRTA["CAMS"] != 13 {
		t.Fatalf("summary %+v", s)
	}
	// The 10 largest of |1..12| (the resolved −500 does not count): 12, 11, ..., 3, with their signs.
	var got []string
	for _, d := range s.Largest {
		got = append(got, d.UnitsDiff)
	}
	if strings.Join(got, " ") != "-12 11 -10 9 -8 7 -6 5 -4 3" {
		t.Fatalf("largest: %v", got)
	}
	f, err := os.Open(filepath.Join(dir, "breaks_20260821.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(breaks) || strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
		t.Fatalf("%d csv rows, header %v", len(rows), rows[0])
	}
	col := func(name string) int {
		for i, c := range csvHeader {
			if c == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	dup := rows[13]
	if dup[col("detail")] != `sent "twice", really` || dup[col("age_days")] != "40" || dup[col("rta_txn_no")] != "9" || dup[col("status")] != "open" {
		t.Fatalf("duplicate row %v", dup)
	}
	if rows[3][col("rta_line")] != "4" || rows[3][col("first_seen")] != "2026-08-19" || rows[3][col("units_diff")] != "3" {
		t.Fatalf("row 3 %v", rows[3])
	}
	var js Summary
	b, err := os.ReadFile(filepath.Join(dir, "summary_20260821.json"))
	if err != nil || json.Unmarshal(b, &js) != nil || js.Open != 13 || len(js.Largest) != 10 {
		t.Fatalf("json summary %s %v", b, err)
	}
	txt, err := os.ReadFile(filepath.Join(dir, "summary_20260821.txt"))
	if err != nil || !strings.Contains(string(txt), "units_mismatch           1       2       5       4       0       12") ||
		!strings.Contains(string(txt), "13 open, 1 explained (2 new today); 1 resolved today") {
		t.Fatalf("text summary:\n%s", txt)
	}
}

// xnode is any element of a parsed SVG.
type xnode struct {
	XMLName xml.Name
	Attr    []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Kids    []xnode    `xml:",any"`
}

func (n xnode) attr(name string) string {
	for _, a := range n.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// walk calls f for n and every element under it, in document order.
func (n xnode) walk(f func(xnode)) {
	f(n)
	for _, k := range n.Kids {
		k.walk(f)
	}
}

func (n xnode) class(c string) []xnode {
	var out []xnode
	n.walk(func(k xnode) {
		if k.attr("class") == c {
			out = append(out, k)
		}
	})
	return out
}

func TestReconChart(t *testing.T) {
	day := fund.NewDate(2026, 8, 21)
	const odd = `odd<&"type'`
	id := int64(0)
	mk := func(typ fund.BreakType, age int, status, cause string) fund.Break {
		id++
		return fund.Break{ID: id, Key: fmt.Sprintf("k%d", id), Scope: "holding", Type: typ, RTA: "CAMS", Folio: fmt.Sprintf("F%d", id),
			Status: status, Cause: cause, FirstSeen: day.AddDays(-age), LastSeen: day}
	}
	ages := func(typ fund.BreakType, status string, ages ...int) []fund.Break {
		var bs []fund.Break
		for _, a := range ages {
			bs = append(bs, mk(typ, a, status, ""))
		}
		return bs
	}
	cat := func(parts ...[]fund.Break) []fund.Break {
		var bs []fund.Break
		for _, p := range parts {
			bs = append(bs, p...)
		}
		return bs
	}
	for _, tc := range []struct {
		name   string
		breaks []fund.Break
		want   map[string]map[string]int // type → age bucket → count, counted by hand
		tally  string                    // the title's counts, as the text summary has them
		causes string                    // a line under the bars, "" when there are no breaks
	}{
		{
			name: "types and ages",
			breaks: cat(
				// missing_in_ledger ages 0,0,0 | 1,2 | 5 | 9,30 | 31,40 → 3, 2, 1, 2, 2 = 10
				ages(fund.MissingInLedger, fund.BreakOpen, 0, 0, 0, 1, 2, 5, 9, 30, 31, 40),
				// units_mismatch ages 0..11 → 1, 2, 5, 4 = 12, and an explained one 3 days old → 3-7d 6, total 13
				ages(fund.UnitsMismatch, fund.BreakOpen, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
				[]fund.Break{mk(fund.UnitsMismatch, 3, fund.BreakExplained, fund.CauseRoundingStep)},
				// duplicate: one, 100 days old
				ages(fund.Duplicate, fund.BreakOpen, 100),
				// amount_mismatch: resolved today only, so no bar
				ages(fund.AmountMismatch, fund.BreakResolved, 2),
			),
			want: map[string]map[string]int{
				"missing_in_ledger": {"0d": 3, "1-2d": 2, "3-7d": 1, "8-30d": 2, ">30d": 2},
				"units_mismatch":    {"0d": 1, "1-2d": 2, "3-7d": 6, "8-30d": 4},
				"duplicate":         {">30d": 1},
			},
			// open 10+12+1 = 23, explained 1, new (age 0) 3+1 = 4, resolved 1
			tally:  "breaks: 23 open, 1 explained (4 new today); 1 resolved today",
			causes: "probable causes: (none inferred) 23, rounding_step 1",
		},
		{
			name: "markup in a type and a cause",
			breaks: cat(
				[]fund.Break{mk(odd, 0, fund.BreakOpen, "x <&> y"), mk(odd, 4, fund.BreakOpen, "x <&> y"), mk(odd, 4, fund.BreakExplained, "")},
				ages(fund.NAVDateMismatch, fund.BreakOpen, 0),
			),
			want: map[string]map[string]int{
				odd:                 {"0d": 1, "3-7d": 2},
				"nav_date_mismatch": {"0d": 1},
			},
			tally:  "breaks: 3 open, 1 explained (2 new today); 0 resolved today",
			causes: "probable causes: (none inferred) 2, x <&> y 2",
		},
		{
			name:  "no breaks",
			tally: "breaks: 0 open, 0 explained (0 new today); 0 resolved today",
		},
		{
			name:   "resolved only",
			breaks: ages(fund.UnitsMismatch, fund.BreakResolved, 1, 5),
			tally:  "breaks: 0 open, 0 explained (0 new today); 2 resolved today",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r, err := New(dir, Run{RunID: 7, Date: day})
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range tc.breaks {
				if err := r.Add(b); err != nil {
					t.Fatal(err)
				}
			}
			s, err := r.Close()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "chart_20260821.svg")
			if s.Chart != path {
				t.Fatalf("summary's chart %q, want %q", s.Chart, path)
			}
			var js struct {
				Chart string `json:"chart"`
			}
			if b, err := os.ReadFile(filepath.Join(dir, "summary_20260821.json")); err != nil || json.Unmarshal(b, &js) != nil || js.Chart != path {
				t.Fatalf("json summary's chart %q (%v)", js.Chart, err)
			}
			txt, err := os.ReadFile(filepath.Join(dir, "summary_20260821.txt"))
			if err != nil || !strings.HasSuffix(string(txt), "\nevery break: "+s.CSV+"\nchart: "+path+"\n") {
				t.Fatalf("text summary does not end with the chart's line (%v):\n%s", err, txt)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// Well-formed XML, one svg element.
			dec := xml.NewDecoder(bytes.NewReader(raw))
			for {
				if _, err := dec.Token(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("not well-formed XML: %v\n%s", err, raw)
				}
			}
			var svg xnode
			if err := xml.Unmarshal(raw, &svg); err != nil || svg.XMLName.Local != "svg" || svg.XMLName.Space != "http://www.w3.org/2000/svg" {
				t.Fatalf("root %v (%v)", svg.XMLName, err)
			}
			var texts []string
			svg.walk(func(n xnode) {
				if n.XMLName.Local == "text" || n.XMLName.Local == "title" {
					texts = append(texts, n.Text)
				}
			})
			all := strings.Join(texts, "\n")
			if !strings.Contains(all, "folio-recon 2026-08-21") || !strings.Contains(all, tc.tally) {
				t.Fatalf("no title with the date and %q in:\n%s", tc.tally, all)
			}
			bars := svg.class("bar")
			if len(tc.want) == 0 {
				if empty := svg.class("empty"); len(bars) != 0 || len(empty) != 1 || empty[0].Text != "no breaks" {
					t.Fatalf("%d bars, %v; want none and \"no breaks\"\n%s", len(bars), empty, raw)
				}
				return
			}
			if len(svg.class("empty")) != 0 || len(svg.class("legend-item")) != len(AgeBuckets) {
				t.Fatalf("a chart with breaks: %d \"no breaks\", %d legend items", len(svg.class("empty")), len(svg.class("legend-item")))
			}
			for i, it := range svg.class("legend-item") {
				if it.attr("data-bucket") != AgeBuckets[i].Name {
					t.Fatalf("legend item %d is %q", i, it.attr("data-bucket"))
				}
			}
			// One bar per type with a nonzero total; the widest total fills chartBarsW.
			maxTotal, totals := 0, map[string]int{}
			for typ, byAge := range tc.want {
				for _, n := range byAge {
					totals[typ] += n
				}
				maxTotal = max(maxTotal, totals[typ])
			}
			seen := map[string]bool{}
			for _, g := range bars {
				typ := g.attr("data-type")
				want, ok := tc.want[typ]
				if !ok || seen[typ] {
					t.Fatalf("bar for %q: unexpected or twice", typ)
				}
				seen[typ] = true
				if got := g.class("total"); len(got) != 1 || got[0].Text != strconv.Itoa(totals[typ]) || g.attr("data-total") != strconv.Itoa(totals[typ]) {
					t.Fatalf("%s: total printed %v, data-total %s; want %d", typ, got, g.attr("data-total"), totals[typ])
				}
				if label := g.class("label"); len(label) != 1 || label[0].Text != typ {
					t.Fatalf("%s: label %v", typ, label)
				}
				segs := g.class("seg")
				x := -1.0
				bucket := 0
				for _, seg := range segs {
					b, n := seg.attr("data-bucket"), seg.attr("data-count")
					for bucket < len(AgeBuckets) && AgeBuckets[bucket].Name != b {
						bucket++
					}
					if bucket == len(AgeBuckets) || n != strconv.Itoa(want[b]) {
						t.Fatalf("%s: segment %s count %s out of order or not %d", typ, b, n, want[b])
					}
					bucket++
					w, err1 := strconv.ParseFloat(seg.attr("width"), 64)
					sx, err2 := strconv.ParseFloat(seg.attr("x"), 64)
					if err1 != nil || err2 != nil {
						t.Fatalf("%s %s: width %q x %q", typ, b, seg.attr("width"), seg.attr("x"))
					}
					if exp := float64(want[b]) * chartBarsW / float64(maxTotal); math.Abs(w-exp) > 1 {
						t.Fatalf("%s %s: width %.2f, want %.2f (%d of %d)", typ, b, w, exp, want[b], maxTotal)
					}
					if x >= 0 && math.Abs(sx-x) > 0.02 {
						t.Fatalf("%s %s: segment starts at %.2f, the previous ends at %.2f", typ, b, sx, x)
					}
					x = sx + w
				}
				nonzero := 0
				for _, n := range want {
					if n > 0 {
						nonzero++
					}
				}
				if len(segs) != nonzero {
					t.Fatalf("%s: %d segments, want %d", typ, len(segs), nonzero)
				}
			}
			if len(seen) != len(tc.want) {
				t.Fatalf("bars for %v, want %v", seen, tc.want)
			}
			if !strings.Contains(all, tc.causes) {
				t.Fatalf("no %q in:\n%s", tc.causes, all)
			}
			if _, ok := tc.want[odd]; ok {
				if bytes.Contains(raw, []byte("<&")) || !bytes.Contains(raw, []byte("odd&lt;&amp;&#34;type&#39;")) ||
					!bytes.Contains(raw, []byte("x &lt;&amp;&gt; y 2")) {
					t.Fatalf("markup not escaped:\n%s", raw)
				}
			}
		})
	}
}
