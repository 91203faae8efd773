package amfi

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// naive is a deliberately simple, independent count of a NAVAll file: the
// whole file split on '\n', '\r's trimmed, a data line is one with exactly
// (header columns - 1) semicolons whose first field is all digits, and the
// NAV column is found by its header name. It shares no code with the parser.
type naive struct {
	lines     []string // every line, '\r's trimmed; lines[i] is line i+1
	dataLines int
	navNA     int // NAV field exactly "N.A."
	navZero   int // NAV field made only of '0' and '.'
	good      int // neither
	codes     map[string]bool
	amcs      map[string]bool
	blocks    map[string]bool // block header line (trimmed) of good rows
	blockSeen int             // block header lines in the file
	goodDates map[string]int  // date text -> good rows
	allDates  map[string]bool // date text of every data line
	navText   map[int]string  // line number -> NAV field
	minDate   time.Time
	maxDate   time.Time
}

func countNaively(t *testing.T, data []byte) naive {
	t.Helper()
	n := naive{codes: map[string]bool{}, amcs: map[string]bool{}, blocks: map[string]bool{},
		goodDates: map[string]int{}, allDates: map[string]bool{}, navText: map[int]string{}}
	for _, l := range bytes.Split(data, []byte("\n")) {
		n.lines = append(n.lines, strings.TrimRight(string(l), "\r"))
	}
	header := strings.Split(n.lines[0], ";")
	navIdx, dateIdx := -1, -1
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "net asset value":
			navIdx = i
		case "date":
			dateIdx = i
		}
	}
	if navIdx < 0 || dateIdx < 0 {
		t.Fatalf("naive count: no NAV/Date column in header %q", n.lines[0])
	}
	block, amc := "", ""
	for i, l := range n.lines[1:] {
		lineNo := i + 2
		if !strings.Contains(l, ";") {
			switch s := strings.TrimSpace(l); {
			case s == "":
			case strings.Contains(s, "Schemes") && strings.Contains(s, "("):
				block = s // the AMC carries over: AMFI omits the AMC line when it does not change
				n.blockSeen++
			default:
				amc = s
			}
			continue
		}
		f := strings.Split(l, ";")
		if len(f) != len(header) || strings.Trim(f[0], "0123456789") != "" || f[0] == "" {
			continue
		}
		n.dataLines++
		nav := f[navIdx]
		n.navText[lineNo] = nav
		n.allDates[f[dateIdx]] = true
		switch {
		case nav == "N.A.":
			n.navNA++
			continue
		case strings.Trim(nav, "0.") == "":
			n.navZero++
			continue
		}
		n.good++
		n.codes[f[0]] = true
		if amc != "" {
			n.amcs[amc] = true
		}
		n.blocks[block] = true
		n.goodDates[f[dateIdx]]++
		d, err := time.Parse("02-Jan-2006", f[dateIdx])
		if err != nil {
			t.Fatalf("naive count: line %d date %q: %v", lineNo, f[dateIdx], err)
		}
		if n.minDate.IsZero() || d.Before(n.minDate) {
			n.minDate = d
		}
		if d.After(n.maxDate) {
			n.maxDate = d
		}
	}
	return n
}

// knownRow is one row looked up by hand (grep/awk) in a fixture.
type knownRow struct {
	line                     int
	code, name, nav, date    string
	schemeType, category     string
	amc                      string
	isinGrowth, isinReinv    string
	plan, option             string
	repurchaseNull, saleNull bool
}

// fixtureCase holds, per file, what PROVENANCE.md states about it (or what
// was looked up with grep); -1 = not stated.
type fixtureCase struct {
	file         string
	layout       Layout
	bytes        int    // PROVENANCE "bytes"
	newlines     int    // PROVENANCE "lines" (wc -l)
	rows         int    // data rows, where PROVENANCE states it
	navNA        int    // PROVENANCE count of N.A. (NAV column; see TestFixture2017NAValues)
	trailingTen  int    // NAVs written "10." per PROVENANCE
	blockLines   int    // category lines per PROVENANCE
	distinctDate int    // distinct dates per PROVENANCE
	business     string // PROVENANCE "NAV date"
	minDate      string // PROVENANCE oldest, where stated
	maxDate      string // PROVENANCE newest, where stated
	known        knownRow
}

var fixtureCases = []fixtureCase{
	{
		file: "NAVAll_2017-04-13_8col-repurchase-sale.txt", layout: LayoutNAVAll8RepSale,
		bytes: 1692633, newlines: 14651, rows: -1, navNA: 67, trailingTen: -1, blockLines: 16, distinctDate: 591,
		business: "2017-04-13", minDate: "2008-03-31", maxDate: "2017-04-16",
		known: knownRow{line: 8790, code: "131521", name: "HDFC FMP 1125D SEPTEMBER 2014 (1) - Direct Option - Growth Option",
			nav: "12.5262", date: "2017-04-13", schemeType: "Close Ended Schemes", category: "Income", amc: "HDFC Mutual Fund",
			isinGrowth: "INF179KA1ZM9", repurchaseNull: true, saleNull: true},
	},
	{
		file: "NAVAll_2019-06-21.txt", layout: LayoutNAVAll6,
		bytes: 1780739, newlines: 18414, rows: -1, navNA: 82, trailingTen: 36, blockLines: 53, distinctDate: 804,
		business: "2019-06-21", maxDate: "2019-06-23",
		known: knownRow{line: 11048, code: "131277", name: "HDFC FMP 1134D September 2014 (1) - Direct Option - Dividend Option",
			nav: "10", date: "2017-10-26", schemeType: "Close Ended Schemes", category: "Income", amc: "HDFC Mutual Fund",
			isinGrowth: "INF179KA1XJ0", repurchaseNull: true, saleNull: true},
	},
	{
		file: "NAVAll_2021-10-01_LF-normalized.txt", layout: LayoutNAVAll6,
		bytes: 1583699, newlines: 16598, rows: -1, navNA: 6, trailingTen: -1, blockLines: -1, distinctDate: -1,
		business: "2021-10-01",
		known: knownRow{line: 9958, code: "133275", name: "ICICI Prudential Growth Fund - Series 6 Direct Dividend",
			nav: "10.97", date: "2018-07-09", schemeType: "Close Ended Schemes", category: "Growth", amc: "ICICI Prudential Mutual Fund",
			isinGrowth: "INF109KA15O0", repurchaseNull: true, saleNull: true},
	},
	{
		file: "NAVAll_2023-08-11.txt", layout: LayoutNAVAll6,
		bytes: 1508222, newlines: 15678, rows: -1, navNA: 6, trailingTen: -1, blockLines: -1, distinctDate: -1,
		business: "2023-08-11",
		known: knownRow{line: 9406, code: "149253", name: "Edelweiss Nifty 50 Index Fund Regular Plan IDCW",
			nav: "10.9462", date: "2023-08-11", schemeType: "Open Ended Schemes", category: "Other Scheme - Index Funds", amc: "Edelweiss Mutual Fund",
			isinGrowth: "INF754K01MY7", isinReinv: "INF754K01MZ4", repurchaseNull: true, saleNull: true},
	},
	{
		file: "NAVAll_2025-09-17_CR-CR-LF.txt", layout: LayoutNAVAll6,
		bytes: 1645236, newlines: 17202, rows: -1, navNA: 1, trailingTen: -1, blockLines: -1, distinctDate: -1,
		business: "2025-09-17",
		known: knownRow{line: 10321, code: "148806", name: "Aditya Birla Sun Life Nifty Midcap 150 Index Fund - Regular - Payout of IDCW",
			nav: "23.9703", date: "2025-09-17", schemeType: "Open Ended Schemes", category: "Other Scheme - Index Funds", amc: "Aditya Birla Sun Life Mutual Fund",
			isinGrowth: "INF209KB1W58", isinReinv: "INF209KB1W66", repurchaseNull: true, saleNull: true},
	},
	{
		file: "NAVAll_2026-08-18_last-6col.txt", layout: LayoutNAVAll6,
		bytes: 1651261, newlines: 17810, rows: 14280, navNA: 0, trailingTen: 17, blockLines: 93, distinctDate: -1,
		business: "2026-08-18",
		known: knownRow{line: 10686, code: "117608", name: "Quantum Multi Asset Active FOF - Direct Plan Growth Option",
			nav: "37.8524", date: "2026-08-17", schemeType: "Open Ended Schemes", category: "Other Scheme - FoF Domestic", amc: "Quantum Mutual Fund",
			isinGrowth: "INF082J01168", repurchaseNull: true, saleNull: true},
	},
	{
		file: "NAVAll_2026-08-21_8col-plan-option.txt", layout: LayoutNAVAll8PlanOpt,
		bytes: 1504074, newlines: 17867, rows: -1, navNA: -1, trailingTen: -1, blockLines: 101, distinctDate: -1,
		business: "2026-08-21", maxDate: "2026-08-23",
		known: knownRow{line: 10720, code: "120702", name: "ICICI Prudential Diversified Debt Strategy Active FOF",
			nav: "49.9498", date: "2026-08-21", schemeType: "Open Ended Schemes", category: "Other Scheme - FoF Domestic", amc: "ICICI Prudential Mutual Fund",
			isinGrowth: "INF109K01X73", plan: "Direct Plan", option: "Growth", repurchaseNull: true, saleNull: true},
	},
}

func TestFixtures(t *testing.T) {
	for _, tc := range fixtureCases {
		t.Run(tc.file, func(t *testing.T) {
			data := fixture(t, tc.file)
			// The file is the one PROVENANCE.md describes.
			if len(data) != tc.bytes || bytes.Count(data, []byte("\n")) != tc.newlines {
				t.Fatalf("fixture has %d bytes, %d newlines; PROVENANCE says %d, %d", len(data), bytes.Count(data, []byte("\n")), tc.bytes, tc.newlines)
			}
			nv := countNaively(t, data)
			// The naive count agrees with what PROVENANCE states.
			if tc.rows >= 0 && nv.dataLines != tc.rows {
				t.Errorf("naive data lines = %d, PROVENANCE says %d rows", nv.dataLines, tc.rows)
			}
			if tc.navNA >= 0 && nv.navNA != tc.navNA {
				t.Errorf("naive N.A. NAVs = %d, PROVENANCE says %d", nv.navNA, tc.navNA)
			}
			if tc.blockLines >= 0 && nv.blockSeen != tc.blockLines {
				t.Errorf("naive category lines = %d, PROVENANCE says %d", nv.blockSeen, tc.blockLines)
			}
			if tc.distinctDate >= 0 && len(nv.allDates) != tc.distinctDate {
				t.Errorf("naive distinct dates = %d, PROVENANCE says %d", len(nv.allDates), tc.distinctDate)
			}

			p, rows := parseAll(t, data)
			if p.Layout() != tc.layout {
				t.Errorf("layout = %q, want %q", p.Layout(), tc.layout)
			}

			// Every data line gives exactly one row, in order, with its own bytes.
			good, reasons := 0, map[string]int{}
			prev := 0
			for _, r := range rows {
				if r.Line <= prev {
					t.Fatalf("row line %d after %d", r.Line, prev)
				}
				prev = r.Line
				if _, isData := nv.navText[r.Line]; !isData {
					t.Errorf("line %d gave a row but is not a data line: %q", r.Line, r.Raw)
				}
				if want := nv.lines[r.Line-1]; string(r.Raw) != want {
					t.Fatalf("line %d: Raw = %q, want %q", r.Line, r.Raw, want)
				}
				if r.Reason == "" {
					good++
					if !r.Record.NAV.IsPositive() {
						t.Errorf("line %d: good row with NAV %s", r.Line, r.Record.NAV)
					}
				} else {
					reasons[r.Reason]++
					if r.Detail == "" {
						t.Errorf("line %d: reason %s without detail", r.Line, r.Reason)
					}
				}
			}
			if len(rows) != nv.dataLines {
				t.Errorf("good+rejected = %d, naive data lines = %d", len(rows), nv.dataLines)
			}
			if good != nv.good {
				t.Errorf("good rows = %d, naive = %d", good, nv.good)
			}
			wantReasons := map[string]int{}
			if nv.navNA > 0 {
				wantReasons[ReasonNAVNotAvailable] = nv.navNA
			}
			if nv.navZero > 0 {
				wantReasons[ReasonBadNAV] = nv.navZero
			}
			if fmt.Sprint(reasons) != fmt.Sprint(wantReasons) {
				t.Errorf("reasons = %v, naive = %v", reasons, wantReasons)
			}

			// Trailing-dot NAVs ("10.", "1000.") are exact integers.
			tens := 0
			for _, r := range rows {
				txt := nv.navText[r.Line]
				if !strings.HasSuffix(txt, ".") || r.Reason != "" {
					continue
				}
				if txt == "10." {
					tens++
				}
				want := decimal.RequireFromString(strings.TrimSuffix(txt, "."))
				if !r.Record.NAV.Equal(want) {
					t.Errorf("line %d: NAV %q parsed as %s", r.Line, txt, r.Record.NAV)
				}
			}
			if tc.trailingTen >= 0 && tens != tc.trailingTen {
				t.Errorf("%d NAVs written 10., PROVENANCE says %d", tens, tc.trailingTen)
			}

			// The known row, attributed to its block and AMC.
			k := tc.known
			var got *Row
			for i := range rows {
				if rows[i].Line == k.line {
					got = &rows[i]
				}
			}
			if got == nil {
				t.Fatalf("no row for line %d", k.line)
			}
			rec := got.Record
			if got.Reason != "" || rec.SchemeCode != k.code || rec.SchemeName != k.name || rec.NAV.String() != k.nav ||
				rec.Date.String() != k.date || rec.SchemeType != k.schemeType || rec.Category != k.category || rec.AMC != k.amc ||
				rec.ISINGrowth != k.isinGrowth || rec.ISINReinvest != k.isinReinv || rec.Plan != k.plan || rec.Option != k.option ||
				rec.Repurchase.Valid == k.repurchaseNull || rec.Sale.Valid == k.saleNull {
				t.Errorf("line %d:\n got %+v (reason %q)\nwant %+v", k.line, rec, got.Reason, k)
			}

			// The dry-run report.
			rep := mustCheck(t, data)
			want := Report{
				Layout: tc.layout, Rows: nv.good, Quarantined: nv.navNA + nv.navZero, Reasons: wantReasons,
				Schemes: len(nv.codes), AMCs: len(nv.amcs), Categories: len(nv.blocks),
				MinDate: nv.minDate.Format("2006-01-02"), MaxDate: nv.maxDate.Format("2006-01-02"),
				BusinessDate: tc.business,
			}
			if fmt.Sprintf("%+v", rep) != fmt.Sprintf("%+v", want) {
				t.Errorf("Check:\n got %+v\nwant %+v", rep, want)
			}
			if tc.minDate != "" && rep.MinDate != tc.minDate {
				t.Errorf("min date %s, PROVENANCE says %s", rep.MinDate, tc.minDate)
			}
			if tc.maxDate != "" && rep.MaxDate != tc.maxDate {
				t.Errorf("max date %s, PROVENANCE says %s", rep.MaxDate, tc.maxDate)
			}
			// Every scheme code appears once per file, so schemes == rows.
			if rep.Schemes != rep.Rows {
				t.Errorf("schemes %d != rows %d", rep.Schemes, rep.Rows)
			}
		})
	}
}

// PROVENANCE says the 2017 file has "67 N.A. values (NAV, repurchase or sale
// price)". Counted in the file, 67 is the number in the NAV column alone:
// the repurchase and sale columns add 2,106 and 2,116 more (4,289 in all).
// Only the NAV ones reject a row; a missing price is Null.
func TestFixture2017NAValues(t *testing.T) {
	data := fixture(t, "NAVAll_2017-04-13_8col-repurchase-sale.txt")
	if n := bytes.Count(data, []byte("N.A.")); n != 4289 {
		t.Fatalf("N.A. tokens in file = %d, want 4289", n)
	}
	byCol := map[int]int{}
	zeroPrice := 0
	for _, l := range strings.Split(strings.ReplaceAll(string(data), "\r", ""), "\n") {
		f := strings.Split(l, ";")
		if len(f) != 8 {
			continue
		}
		for i, v := range f {
			if v == "N.A." {
				byCol[i]++
			}
		}
		if strings.Trim(f[5], "0.") == "" && f[4] != "N.A." && strings.Trim(f[4], "0.") != "" {
			zeroPrice++
		}
	}
	if byCol[4] != 67 || byCol[5] != 2106 || byCol[6] != 2116 {
		t.Fatalf("N.A. by column = %v", byCol)
	}

	_, rows := parseAll(t, data)
	na, nullRep, nullSale, validRep := 0, 0, 0, 0
	for _, r := range rows {
		if r.Reason == ReasonNAVNotAvailable {
			na++
		}
		if r.Reason != "" {
			continue
		}
		if !r.Record.Repurchase.Valid {
			nullRep++
		} else {
			validRep++
			if !r.Record.Repurchase.Decimal.IsPositive() {
				t.Errorf("line %d: repurchase %s kept", r.Line, r.Record.Repurchase.Decimal)
			}
		}
		if !r.Record.Sale.Valid {
			nullSale++
		}
	}
	if na != byCol[4] {
		t.Errorf("nav_not_available = %d, want %d", na, byCol[4])
	}
	// Good rows with an N.A. or zero repurchase price keep their NAV.
	if nullRep < zeroPrice || nullSale == 0 || validRep == 0 {
		t.Errorf("null repurchase %d (zero prices on good rows %d), null sale %d, valid repurchase %d", nullRep, zeroPrice, nullSale, validRep)
	}

	// Line 625: NAV, repurchase and sale all N.A.; no ISIN at all ("-;-").
	for _, r := range rows {
		if r.Line != 625 {
			continue
		}
		if r.Reason != ReasonNAVNotAvailable || r.Detail != `NAV "N.A." is not a number: the scheme published no NAV for this date` ||
			r.Record.SchemeCode != "102507" || r.Record.ISINGrowth != "" || r.Record.ISINReinvest != "" ||
			r.Record.Category != "Floating Rate" || r.Record.AMC != "SBI Mutual Fund" || !r.Record.NAV.IsZero() ||
			r.Record.Repurchase.Valid || r.Record.Sale.Valid {
			t.Errorf("line 625: %+v", r)
		}
		return
	}
	t.Error("no row for line 625")
}

// Segregated-portfolio NAVs written without a leading zero.
func TestFixture2021LeadingDot(t *testing.T) {
	data := fixture(t, "NAVAll_2021-10-01_LF-normalized.txt")
	if bytes.Contains(data, []byte("\r")) {
		t.Fatal("fixture should be LF-only")
	}
	want := bytes.Count(data, []byte(";.4157;"))
	if want != 2 {
		t.Fatalf("grep finds %d ;.4157; rows, want 2", want)
	}
	_, rows := parseAll(t, data)
	exact := decimal.New(4157, -4)
	got, leadingDot := 0, 0
	for _, r := range rows {
		if bytes.Contains(r.Raw, []byte(";.4157;")) {
			got++
			if r.Reason != "" || !r.Record.NAV.Equal(exact) || r.Record.NAV.String() != "0.4157" {
				t.Errorf("line %d: %q -> %s %q", r.Line, r.Raw, r.Record.NAV, r.Reason)
			}
		}
		if i := bytes.Index(r.Raw, []byte(";.")); i >= 0 && r.Reason == "" {
			leadingDot++
			if r.Record.NAV.GreaterThanOrEqual(decimal.NewFromInt(1)) {
				t.Errorf("line %d: leading-dot NAV %s >= 1", r.Line, r.Record.NAV)
			}
		}
	}
	if got != want || leadingDot != bytes.Count(data, []byte(";.")) {
		t.Errorf(".4157 rows %d (want %d), leading-dot rows %d (grep %d)", got, want, leadingDot, bytes.Count(data, []byte(";.")))
	}
}

// CR CR LF line ends and mojibake: every line still splits, and the garbled
// category passes through byte for byte. (PROVENANCE calls it "’" read as
// cp1252, "â€™"; the bytes are C3 A2 C2 80 C2 99, i.e. the UTF-8 of "’"
// read as Latin-1 and re-encoded, and it is in a block header, not a name.)
func TestFixture2025CRCRLFAndMojibake(t *testing.T) {
	data := fixture(t, "NAVAll_2025-09-17_CR-CR-LF.txt")
	if n, m := bytes.Count(data, []byte("\r\r\n")), bytes.Count(data, []byte("\n")); n != m {
		t.Fatalf("%d of %d lines end in CR CR LF", n, m)
	}
	mojibake := "Solution Oriented Scheme - Children\xc3\xa2\xc2\x80\xc2\x99s Fund"
	blockLine := "Open Ended Schemes(" + mojibake + ")\r\r\n"
	if bytes.Count(data, []byte(blockLine)) != 1 {
		t.Fatalf("block line %q not found once", blockLine)
	}
	// Naively: the rows between that block line and the next one.
	after := string(data[bytes.Index(data, []byte(blockLine))+len(blockLine):])
	if i := strings.Index(after, "Schemes("); i >= 0 {
		after = after[:i]
	}
	wantRows := strings.Count(after, ";") / 5

	_, rows := parseAll(t, data)
	found := 0
	for _, r := range rows {
		if bytes.HasSuffix(r.Raw, []byte("\r")) || strings.HasSuffix(r.Record.SchemeName, "\r") {
			t.Fatalf("line %d keeps a CR: %q", r.Line, r.Raw)
		}
		if r.Record.Category == mojibake {
			found++
		}
	}
	if found != wantRows || wantRows == 0 {
		t.Errorf("%d rows carry the mojibake category, the file has %d", found, wantRows)
	}
}

// The first 8-field file: Plan/Option columns, often empty; stray tabs in
// Option; liquid funds dated two days after the file.
func TestFixture2026PlanOption(t *testing.T) {
	data := fixture(t, "NAVAll_2026-08-21_8col-plan-option.txt")
	_, rows := parseAll(t, data)
	both, planOnly, optionOnly := 0, 0, 0
	boiLiquid23, dated23 := 0, 0
	aug23 := "2026-08-23"
	for _, r := range rows {
		switch rec := r.Record; {
		case rec.Plan == "" && rec.Option == "":
			both++
		case rec.Plan == "":
			planOnly++
		case rec.Option == "":
			optionOnly++
		}
		if bytes.HasSuffix(r.Raw, []byte(";23-Aug-2026")) {
			dated23++
			if r.Reason != "" || r.Record.Date.String() != aug23 {
				t.Errorf("line %d: %q %s", r.Line, r.Reason, r.Record.Date)
			}
			if r.Record.SchemeName == "BANK OF INDIA LIQUID FUND" {
				boiLiquid23++
				if r.Record.AMC != "Bank of India Mutual Fund" || r.Record.Category != "Debt Scheme - Liquid Fund" {
					t.Errorf("line %d attributed to %q / %q", r.Line, r.Record.AMC, r.Record.Category)
				}
			}
		}
		switch r.Line {
		case 7624, 9625, 10498, 17862:
			// First rows of blocks that have no AMC line (AMFI omits it when
			// the AMC does not change); the names show whose they are.
			want := map[int]string{7624: "ICICI Prudential Mutual Fund", 9625: "UTI Mutual Fund",
				10498: "Zerodha Mutual Fund", 17862: "UTI Mutual Fund"}[r.Line]
			if r.Record.AMC != want || r.Record.Category == "" {
				t.Errorf("line %d %q: AMC %q, want %q", r.Line, r.Record.SchemeName, r.Record.AMC, want)
			}
		case 1518: // "Daily IDCW - ReInvestment\t": the trailing tab is trimmed
			if r.Record.Option != "Daily IDCW - ReInvestment" {
				t.Errorf("line 1518 option %q", r.Record.Option)
			}
		case 1743: // "Monthly IDCW\t Option": an inner tab stays as published
			if r.Record.Option != "Monthly IDCW\t Option" {
				t.Errorf("line 1743 option %q", r.Record.Option)
			}
		}
	}
	// PROVENANCE: 5,786 rows with both empty, 81 with only Plan, 89 with only Option.
	if both != 5786 || planOnly != 81 || optionOnly != 89 {
		t.Errorf("empty plan+option %d, plan %d, option %d; PROVENANCE says 5786, 81, 89", both, planOnly, optionOnly)
	}
	// grep: 91 rows dated 23-Aug-2026, 6 of them BANK OF INDIA LIQUID FUND.
	if dated23 != bytes.Count(data, []byte(";23-Aug-2026\r\n")) || dated23 != 91 || boiLiquid23 != 6 {
		t.Errorf("rows dated 23-Aug: %d (BOI liquid %d), want 91 (6)", dated23, boiLiquid23)
	}
	// +2 days: inside the limit, so none is future_date.
	rep := mustCheck(t, data)
	if rep.Reasons[ReasonFutureDate] != 0 || rep.MaxDate != aug23 || rep.BusinessDate != "2026-08-21" {
		t.Errorf("report %+v", rep)
	}
}

// An AMC name with parentheses is an AMC, not a block header.
func TestFixtureAMCWithParentheses(t *testing.T) {
	data := fixture(t, "NAVAll_2023-08-11.txt")
	_, rows := parseAll(t, data)
	for _, r := range rows {
		if r.Line == 809 { // grep -n: 805 block header, 807 AMC, 809 first row
			if r.Record.SchemeCode != "122612" || r.Record.AMC != "360 ONE Mutual Fund (Formerly Known as IIFL Mutual Fund)" ||
				r.Record.Category != "Debt Scheme - Dynamic Bond" || r.Record.SchemeType != "Open Ended Schemes" {
				t.Errorf("line 809: %+v", r.Record)
			}
			return
		}
	}
	t.Error("no row for line 809")
}

func TestFixtureHTMLIsNotANAVFile(t *testing.T) {
	for _, tc := range []struct{ file, title, first string }{
		{"NAVAll_error_2025-09-14_nginx-404.html", "404 Not Found", "<html>"},
		{"NAVAll_error_2025-09-16_document-moved.html", "Document Moved", "<head><title>Document Moved</title></head>"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := fixture(t, tc.file)
			_, err := NewParser(bytes.NewReader(data))
			assertNotNAV(t, err, HeaderHTML, "HTML page", tc.title, tc.first)
			_, err = Check(bytes.NewReader(data))
			assertNotNAV(t, err, HeaderHTML, "HTML page", tc.title)
		})
	}
}
