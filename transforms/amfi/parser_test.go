package amfi

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

const header6 = "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date"

// assertNotNAV checks that err is a *HeaderError of the given problem, that
// errors.Is(err, ErrNotNAVFile) holds and that the message names what was seen.
func assertNotNAV(t *testing.T, err error, problem HeaderProblem, mention ...string) {
	t.Helper()
	if !errors.Is(err, ErrNotNAVFile) {
		t.Fatalf("err = %v, want ErrNotNAVFile", err)
	}
	var he *HeaderError
	if !errors.As(err, &he) || he.Problem != problem {
		t.Fatalf("err = %#v, want *HeaderError %s", err, problem)
	}
	for _, m := range mention {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("message %q does not mention %q", err.Error(), m)
		}
	}
}

func TestHeaderVariants(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		want         Layout
	}{
		{"navall6", header6, LayoutNAVAll6},
		{"navall6 no space after slash", "Scheme Code;ISIN Div Payout/ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date", LayoutNAVAll6},
		{"BOM", "\ufeff" + header6, LayoutNAVAll6},
		{"case and spaces", "  SCHEME CODE ; isin div payout /  isin growth;Isin Div Reinvestment ;scheme name;NET ASSET VALUE;date  ", LayoutNAVAll6},
		{"leading blank lines", "\r\n \r\n" + header6, LayoutNAVAll6},
		{"navall8 plan option", "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Plan;Option;Net Asset Value;Date", LayoutNAVAll8PlanOpt},
		{"navall8 repurchase sale", "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Repurchase Price;Sale Price;Date", LayoutNAVAll8RepSale},
		{"history", "Scheme Code;Scheme Name;ISIN Div Payout/ISIN Growth;ISIN Div Reinvestment;Net Asset Value;Repurchase Price;Sale Price;Date", LayoutHistory},
		{"history plan option", "Scheme Code;NAV Name;Plan;Option;ISIN Div Payout/ISIN Growth;ISIN Div Reinvestment;Net Asset Value;Date", LayoutHistoryPlanOpt},
		// Columns are found by name: a reordered 6-field header still maps.
		{"navall6 reordered", "Scheme Code;Scheme Name;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Date;Net Asset Value", LayoutNAVAll6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, eol := range []string{"\r\n", "\n", "\r\r\n", ""} {
				p, err := NewParser(strings.NewReader(tc.header + eol))
				if err != nil {
					t.Fatalf("eol %q: %v", eol, err)
				}
				if p.Layout() != tc.want {
					t.Errorf("eol %q: layout %q, want %q", eol, p.Layout(), tc.want)
				}
				if _, err := p.Next(); err != io.EOF {
					t.Errorf("eol %q: Next on a header-only file = %v, want io.EOF", eol, err)
				}
			}
		})
	}
}

func TestHeaderColumnsByName(t *testing.T) {
	// Same columns, different order: the values land in the right fields.
	in := "Date;Net Asset Value;Scheme Name;ISIN Div Reinvestment;ISIN Div Payout/ ISIN Growth;Scheme Code\n" +
		"21-Aug-2026;12.5;Some Fund;INF000000002;INF000000001;123\n"
	_, rows := parseAll(t, []byte(in))
	r := rows[0].Record
	if rows[0].Reason != "" || r.SchemeCode != "123" || r.SchemeName != "Some Fund" || r.ISINGrowth != "INF000000001" ||
		r.ISINReinvest != "INF000000002" || r.NAV.String() != "12.5" || r.Date != fund.NewDate(2026, 8, 21) {
		t.Errorf("%+v %q", r, rows[0].Reason)
	}
}

func TestNotANAVFile(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		problem  HeaderProblem
		mention  []string
	}{
		{"empty", "", HeaderEmpty, []string{"empty"}},
		{"blank lines", " \r\n\r\n\n", HeaderEmpty, []string{"empty", "only blank lines: 3"}},
		{"BOM only", "\ufeff", HeaderEmpty, []string{"empty"}},
		{"html", "<!DOCTYPE html>\n<html><head><TITLE> Service Unavailable </TITLE></head></html>", HeaderHTML, []string{"HTML", `"Service Unavailable"`, "<!DOCTYPE html>"}},
		{"html no title", "<html><body>nope</body></html>", HeaderHTML, []string{"HTML", "<html><body>nope</body></html>"}},
		{"unknown header", "Code;Name;NAV;Date\n1;x;10;21-Aug-2026\n", HeaderUnknown, []string{`"Code;Name;NAV;Date"`, "unrecognised", `"Code"`, "missing", `"Scheme Code"`}},
		{"missing date", "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value\n", HeaderUnknown, []string{"missing", `"Date"`}},
		{"plan without option", "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Plan;Net Asset Value;Date\n", HeaderUnknown, []string{`"Option"`}},
		{"duplicate column", header6 + ";Date\n", HeaderUnknown, []string{"Date (twice)"}},
		{"trailing semicolon", header6 + ";\n", HeaderUnknown, []string{`""`}},
		{"data row first", "119551;INF209KA12Z1;INF209KA13Z9;Fund;146.4745;21-Jun-2019\n", HeaderUnknown, []string{"header line is missing"}},
		{"comma csv", "Scheme Code,ISIN,Scheme Name,Net Asset Value,Date\n", HeaderUnknown, []string{"Scheme Code,ISIN"}},
		{"json", `{"error":"rate limited"}`, HeaderUnknown, []string{`rate limited`}},
		{"too many columns", strings.Repeat("a;", 20) + "\n", HeaderUnknown, []string{"21 columns"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewParser(strings.NewReader(tc.in))
			assertNotNAV(t, err, tc.problem, tc.mention...)
			_, err = Check(strings.NewReader(tc.in))
			assertNotNAV(t, err, tc.problem)
		})
	}
}

func TestLongHeaderIsQuotedShort(t *testing.T) {
	in := strings.Repeat("x", 5000) + "\n"
	_, err := NewParser(strings.NewReader(in))
	assertNotNAV(t, err, HeaderUnknown, "…")
	if len(err.Error()) > 600 {
		t.Errorf("message is %d bytes", len(err.Error()))
	}
}

func TestLineEndingsAndBlocks(t *testing.T) {
	body := []string{
		header6,
		"100;-;-;Before any block;1;18-Aug-2026",
		"Open Ended Schemes(Debt Scheme - Banking and PSU Fund)",
		" ",
		"Aditya Birla Sun Life Mutual Fund",
		" ",
		"119551;INF209KA12Z1;INF209KA13Z9;Aditya Birla Sun Life Banking & PSU Debt Fund  - DIRECT - IDCW;107.1360;18-Aug-2026",
		"",
		"IIFCL Mutual Fund (IDF)",
		"140001;-;-;IIFCL Fund Series I;12.1;18-Aug-2026",
		"Open Ended Schemes (Balanced)",
		"140002;INF000000001;-;AMC carried over;13;18-Aug-2026",
		"Axis Mutual Fund",
		"140003;INF000000003;---;Axis Fund;14.00;18-Aug-2026",
		"Interval Fund Schemes ( Income )",
		"HDFC Mutual Fund",
		"140004;INF000000004; NA ;HDFC Fund ;1000.;18-Aug-2026",
		"Close Ended Schemes(Income/Debt Oriented Schemes - Fixed Term Plan)",
		"Nippon India Mutual Fund",
		"140005;#N/A;NOTAPP;  Nippon Fund;.5;18-Aug-2026",
	}
	type want struct {
		line                           int
		code, typ, cat, amc, name, nav string
		isinG, isinR                   string
	}
	wants := []want{
		{2, "100", "", "", "", "Before any block", "1", "", ""},
		{7, "119551", "Open Ended Schemes", "Debt Scheme - Banking and PSU Fund", "Aditya Birla Sun Life Mutual Fund", "Aditya Birla Sun Life Banking & PSU Debt Fund  - DIRECT - IDCW", "107.136", "INF209KA12Z1", "INF209KA13Z9"},
		{10, "140001", "Open Ended Schemes", "Debt Scheme - Banking and PSU Fund", "IIFCL Mutual Fund (IDF)", "IIFCL Fund Series I", "12.1", "", ""},
		// No AMC line after the block header: AMFI omits it when the AMC does not change.
		{12, "140002", "Open Ended Schemes", "Balanced", "IIFCL Mutual Fund (IDF)", "AMC carried over", "13", "INF000000001", ""},
		{14, "140003", "Open Ended Schemes", "Balanced", "Axis Mutual Fund", "Axis Fund", "14", "INF000000003", ""},
		{17, "140004", "Interval Fund Schemes", "Income", "HDFC Mutual Fund", "HDFC Fund", "1000", "INF000000004", ""},
		{20, "140005", "Close Ended Schemes", "Income/Debt Oriented Schemes - Fixed Term Plan", "Nippon India Mutual Fund", "Nippon Fund", "0.5", "", ""},
	}
	for _, eol := range []string{"\r\n", "\n", "\r\r\n"} {
		for _, final := range []string{eol, "", eol + eol, eol + " " + eol} {
			in := strings.Join(body, eol) + final
			_, rows := parseAll(t, []byte(in))
			if len(rows) != len(wants) {
				t.Fatalf("eol %q final %q: %d rows, want %d", eol, final, len(rows), len(wants))
			}
			for i, w := range wants {
				r := rows[i]
				rec := r.Record
				if r.Reason != "" || r.Line != w.line || string(r.Raw) != body[w.line-1] || rec.SchemeCode != w.code ||
					rec.SchemeType != w.typ || rec.Category != w.cat || rec.AMC != w.amc || rec.SchemeName != w.name ||
					rec.NAV.String() != w.nav || rec.ISINGrowth != w.isinG || rec.ISINReinvest != w.isinR ||
					rec.Date != fund.NewDate(2026, 8, 18) || rec.Repurchase.Valid || rec.Sale.Valid {
					t.Errorf("eol %q final %q row %d:\n got %+v line %d raw %q reason %q\nwant %+v", eol, final, i, rec, r.Line, r.Raw, r.Reason, w)
				}
			}
		}
	}
}

func TestReasons(t *testing.T) {
	for _, tc := range []struct {
		name, line, reason, detail string
	}{
		{"N.A.", "100;-;-;Fund;N.A.;21-Aug-2026", ReasonNAVNotAvailable, `NAV "N.A." is not a number: the scheme published no NAV for this date`},
		{"empty NAV", "100;-;-;Fund;;21-Aug-2026", ReasonNAVNotAvailable, "NAV is empty: the scheme published no NAV for this date"},
		{"blank NAV", "100;-;-;Fund;   ;21-Aug-2026", ReasonNAVNotAvailable, "NAV is empty: the scheme published no NAV for this date"},
		{"dash NAV", "100;-;-;Fund;-;21-Aug-2026", ReasonNAVNotAvailable, `NAV "-" is not a number: the scheme published no NAV for this date`},
		{"zero NAV", "100;-;-;Fund;0.0000;21-Aug-2026", ReasonBadNAV, `NAV "0.0000" is not positive: a NAV must be greater than zero (AMFI writes 0 for schemes that have no NAV)`},
		{"bare zero", "100;-;-;Fund;0;21-Aug-2026", ReasonBadNAV, `NAV "0" is not positive: a NAV must be greater than zero (AMFI writes 0 for schemes that have no NAV)`},
		{"negative NAV", "100;-;-;Fund;-12.5;21-Aug-2026", ReasonBadNAV, `NAV "-12.5" is not positive: a NAV must be greater than zero (AMFI writes 0 for schemes that have no NAV)`},
		{"text NAV", "100;-;-;Fund;abc;21-Aug-2026", ReasonBadNAV, `NAV "abc" is not a number`},
		{"two dots", "100;-;-;Fund;1.2.3;21-Aug-2026", ReasonBadNAV, `NAV "1.2.3" is not a number`},
		{"lone dot", "100;-;-;Fund;.;21-Aug-2026", ReasonBadNAV, `NAV "." is not a number`},
		{"exponent", "100;-;-;Fund;1e3;21-Aug-2026", ReasonBadNAV, `NAV "1e3" is not a number`},
		{"thousands comma", "100;-;-;Fund;1,000.50;21-Aug-2026", ReasonBadNAV, `NAV "1,000.50" is not a number`},
		{"bad date", "100;-;-;Fund;10.5;2026-08-21", ReasonBadDate, `date "2026-08-21" is not a DD-Mon-YYYY date`},
		{"impossible date", "100;-;-;Fund;10.5;31-Feb-2026", ReasonBadDate, `date "31-Feb-2026" is not a DD-Mon-YYYY date`},
		{"empty date", "100;-;-;Fund;10.5;", ReasonBadDate, `date "" is not a DD-Mon-YYYY date`},
		{"too few fields", "100;-;-;Fund;10.5", ReasonBadFieldCount, "the line has 5 fields, the amfi-navall-6 header has 6"},
		{"too many fields", "100;-;-;Fund;extra;10.5;21-Aug-2026", ReasonBadFieldCount, "the line has 7 fields, the amfi-navall-6 header has 6"},
		{"many fields", strings.Repeat(";", 40), ReasonBadFieldCount, "the line has 41 fields, the amfi-navall-6 header has 6"},
		{"empty code", ";-;-;Fund;10.5;21-Aug-2026", ReasonMissingSchemeCode, "the scheme code field is empty"},
		{"text code", "ABC;-;-;Fund;10.5;21-Aug-2026", ReasonMissingSchemeCode, `scheme code "ABC" is not a number`},
		// The first failing check wins: code, then NAV, then date.
		{"code before nav", ";-;-;Fund;N.A.;bad", ReasonMissingSchemeCode, "the scheme code field is empty"},
		{"nav before date", "100;-;-;Fund;N.A.;bad", ReasonNAVNotAvailable, `NAV "N.A." is not a number: the scheme published no NAV for this date`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := header6 + "\r\nOpen Ended Schemes(Liquid)\r\nSome AMC\r\n" + tc.line + "\r\n"
			_, rows := parseAll(t, []byte(in))
			if len(rows) != 1 {
				t.Fatalf("%d rows", len(rows))
			}
			r := rows[0]
			if r.Reason != tc.reason || r.Detail != tc.detail || r.Line != 4 || string(r.Raw) != tc.line {
				t.Errorf("got %q %q line %d raw %q\nwant %q %q", r.Reason, r.Detail, r.Line, r.Raw, tc.reason, tc.detail)
			}
			if !r.Record.NAV.IsZero() || !r.Record.Date.IsZero() {
				t.Errorf("rejected row carries NAV %s date %v", r.Record.NAV, r.Record.Date)
			}
			if r.Record.AMC != "Some AMC" || r.Record.Category != "Liquid" {
				t.Errorf("rejected row context %q %q", r.Record.AMC, r.Record.Category)
			}
		})
	}
}

func TestNAVDecimals(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"10.", "10"},
		{".4157", "0.4157"},
		{"1000.0000", "1000"},
		{"0010.50", "10.5"},
		{"+3.25", "3.25"},
		{"0.00001", "0.00001"},
		{"146.4745", "146.4745"},
		{"123456789012345678.9", "123456789012345678.9"},
		{"12345678901234567890123456789.123456789", "12345678901234567890123456789.123456789"},
		{"0.000000000000000000000000001", "0.000000000000000000000000001"},
	} {
		d, ok := parseDecimal([]byte(tc.in))
		want := decimal.RequireFromString(tc.want)
		if !ok || !d.Equal(want) || d.String() != want.String() {
			t.Errorf("parseDecimal(%q) = %s, %v; want %s", tc.in, d, ok, tc.want)
		}
	}
	// Scale is kept as written: 1000.0000 has four decimals.
	if d, _ := parseDecimal([]byte("1000.0000")); d.Exponent() != -4 {
		t.Errorf("1000.0000 exponent %d", d.Exponent())
	}
	for _, bad := range []string{"", ".", "-", "+", "1..2", "1.2.", "12a", " 1", "1e5", "١٢", "12345678901234567890.1.2", "12345678901234567890x"} {
		if d, ok := parseDecimal([]byte(bad)); ok {
			t.Errorf("parseDecimal(%q) = %s, want failure", bad, d)
		}
	}
}

func TestRawIsACopy(t *testing.T) {
	var b strings.Builder
	b.WriteString(header6 + "\n")
	for i := 0; i < 2000; i++ {
		b.WriteString("100;-;-;Fund ")
		b.WriteString(strings.Repeat("x", i%50))
		b.WriteString(";10.5;21-Aug-2026\n")
	}
	in := []byte(b.String())
	// One byte per Read: every line straddles buffer refills.
	p, err := NewParser(iotest.OneByteReader(bytes.NewReader(in)))
	if err != nil {
		t.Fatal(err)
	}
	var rows []Row
	for {
		r, err := p.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	lines := strings.Split(string(in), "\n")
	for _, r := range rows {
		if string(r.Raw) != lines[r.Line-1] {
			t.Fatalf("line %d: Raw %q changed, want %q", r.Line, r.Raw, lines[r.Line-1])
		}
		if cap(r.Raw) != len(r.Raw) {
			t.Fatalf("line %d: Raw has spare capacity %d: an append would write into the next row", r.Line, cap(r.Raw)-len(r.Raw))
		}
	}
	if len(rows) != 2000 {
		t.Errorf("%d rows", len(rows))
	}
}

func TestLongLines(t *testing.T) {
	at := MaxLineBytes - len("100;-;-;;10.5;21-Aug-2026")
	tests := []struct {
		name   string
		line   string // the second data line
		reason string // "" = a good row
	}{
		{"at the limit", "100;-;-;" + strings.Repeat("n", at) + ";10.5;21-Aug-2026", ""},
		{"one byte over", "100;-;-;" + strings.Repeat("n", at+1) + ";10.5;21-Aug-2026", ReasonLineTooLong},
		{"at the limit with CRLF", "100;-;-;" + strings.Repeat("n", at) + ";10.5;21-Aug-2026\r", ""},
		{"longer than the read buffer", "100;-;-;" + strings.Repeat("n", 200<<10) + ";10.5;21-Aug-2026", ReasonLineTooLong},
		{"1 MB without a separator", strings.Repeat("x", 1<<20), ReasonLineTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// good, poison, good: the line after the long one is read as usual.
			in := header6 + "\n99;-;-;First;9;21-Aug-2026\n" + tc.line + "\n101;-;-;Short;11;21-Aug-2026\n"
			_, rows := parseAll(t, []byte(in))
			if len(rows) != 3 {
				t.Fatalf("%d rows, want 3", len(rows))
			}
			if rows[0].Reason != "" || rows[2].Reason != "" || rows[2].Record.SchemeCode != "101" || rows[2].Line != 4 {
				t.Fatalf("rows around the long line: %+v / %+v", rows[0], rows[2])
			}
			r := rows[1]
			if r.Line != 3 || r.Reason != tc.reason {
				t.Fatalf("long line: line %d reason %q, want 3 %q", r.Line, r.Reason, tc.reason)
			}
			if tc.reason != "" && (len(r.Raw) != keptOfLongLine || !strings.HasPrefix(tc.line, string(r.Raw)) ||
				!strings.Contains(r.Detail, strconv.Itoa(len(tc.line)))) {
				t.Fatalf("long line kept %d bytes (want the first %d), detail %q", len(r.Raw), keptOfLongLine, r.Detail)
			}
		})
	}
	// A first line that long is not a NAV header.
	if _, err := NewParser(strings.NewReader(strings.Repeat("x;", MaxLineBytes) + "\n")); !errors.Is(err, ErrNotNAVFile) {
		t.Fatalf("NewParser = %v, want ErrNotNAVFile", err)
	}
}

type failingReader struct{ data []byte }

var errDisk = errors.New("disk on fire")

func (f *failingReader) Read(b []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, errDisk
	}
	n := copy(b, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReadErrorIsReturned(t *testing.T) {
	p, err := NewParser(&failingReader{data: []byte(header6 + "\n100;-;-;Fund;10;21-Aug-2026\n")})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := p.Next(); err != nil || r.Reason != "" {
		t.Fatalf("first row: %+v %v", r, err)
	}
	if _, err := p.Next(); !errors.Is(err, errDisk) || errors.Is(err, ErrNotNAVFile) {
		t.Fatalf("Next = %v, want the read error", err)
	}
	if _, err := NewParser(&failingReader{}); !errors.Is(err, errDisk) {
		t.Fatalf("NewParser = %v, want the read error", err)
	}
	if _, err := Check(&failingReader{data: []byte(header6 + "\n")}); !errors.Is(err, errDisk) {
		t.Fatalf("Check = %v, want the read error", err)
	}
}

func TestNextAllocations(t *testing.T) {
	data := fixture(t, "NAVAll_2026-08-18_last-6col.txt")
	var rowsN int
	allocs := testing.AllocsPerRun(3, func() {
		p, err := NewParser(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		rowsN = 0
		for {
			if _, err := p.Next(); err != nil {
				break
			}
			rowsN++
		}
	})
	// Per good row: the line string, the NAV's big.Int (2 allocations in
	// shopspring/decimal); Raw comes from a shared slab.
	if per := allocs / float64(rowsN); per > 4 {
		t.Errorf("%.2f allocations per row", per)
	}
}
