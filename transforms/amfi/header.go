package amfi

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Layout names the column layout of an AMFI NAV file, as identified from its
// header line.
type Layout string

// The known layouts. The comments give the header line each is identified by
// (column names are matched ignoring case, surrounding spaces and the space
// AMFI sometimes writes after the '/' in "ISIN Div Payout/ ISIN Growth").
const (
	// LayoutNAVAll6: Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date
	// (NAVAll.txt from 2018 until 18-Aug-2026).
	LayoutNAVAll6 Layout = "amfi-navall-6"
	// LayoutNAVAll8PlanOpt: Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Plan;Option;Net Asset Value;Date
	// (NAVAll.txt from NAV date 19-Aug-2026).
	LayoutNAVAll8PlanOpt Layout = "amfi-navall-8-plan-option"
	// LayoutNAVAll8RepSale: Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Repurchase Price;Sale Price;Date
	// (NAVAll.txt in 2017).
	LayoutNAVAll8RepSale Layout = "amfi-navall-8-repurchase-sale"
	// LayoutHistory: Scheme Code;Scheme Name;ISIN Div Payout/ISIN Growth;ISIN Div Reinvestment;Net Asset Value;Repurchase Price;Sale Price;Date
	// (the historical NAV report).
	LayoutHistory Layout = "amfi-history"
	// LayoutHistoryPlanOpt: Scheme Code;NAV Name;Plan;Option;ISIN Div Payout/ISIN Growth;ISIN Div Reinvestment;Net Asset Value;Date
	// (the historical NAV report from Sep 2026). It reports the same layout
	// name as LayoutHistory — the check command's contract knows only
	// "amfi-history" — but has its own column mapping, taken from the header.
	LayoutHistoryPlanOpt Layout = "amfi-history"
)

// ErrNotNAVFile means the input is not an AMFI NAV file at all (an empty
// body, an HTML error page, an unknown header). The whole file is refused.
var ErrNotNAVFile = errors.New("not an AMFI NAV file")

// HeaderProblem says what NewParser found instead of a known header.
type HeaderProblem string

// The kinds of HeaderError.
const (
	HeaderEmpty   HeaderProblem = "empty"   // no bytes, or only blank lines
	HeaderHTML    HeaderProblem = "html"    // a web page: an error page or a redirect saved as the file
	HeaderUnknown HeaderProblem = "unknown" // a first line that is not a known AMFI header
)

// HeaderError is returned by NewParser (and Check) when the input does not
// start with a known AMFI header. errors.Is(err, ErrNotNAVFile) is true.
type HeaderError struct {
	Problem HeaderProblem
	Line    int    // line of the offending header; for an empty body, the number of blank lines
	Header  string // the first non-blank line as found, cut to 200 bytes
	Title   string // for HTML: the page's <title>, if it has one
	Missing []string
	Unknown []string
	Hint    string
}

func (e *HeaderError) Error() string {
	var b strings.Builder
	b.WriteString(ErrNotNAVFile.Error())
	b.WriteString(": ")
	switch e.Problem {
	case HeaderEmpty:
		b.WriteString("the body is empty")
		if e.Line > 0 {
			fmt.Fprintf(&b, " (only blank lines: %d)", e.Line)
		}
	case HeaderHTML:
		b.WriteString("got an HTML page")
		if e.Title != "" {
			fmt.Fprintf(&b, " titled %q", e.Title)
		}
		fmt.Fprintf(&b, " (line %d: %q)", e.Line, e.Header)
	default:
		fmt.Fprintf(&b, "unknown header on line %d: %q", e.Line, e.Header)
		if len(e.Unknown) > 0 {
			fmt.Fprintf(&b, "; unrecognised columns %q", e.Unknown)
		}
		if len(e.Missing) > 0 {
			fmt.Fprintf(&b, "; missing columns %q", e.Missing)
		}
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotNAVFile) true.
func (e *HeaderError) Is(target error) bool { return target == ErrNotNAVFile }

// kind is the internal layout: LayoutHistory and LayoutHistoryPlanOpt share
// a public name but not their columns.
type kind int

const (
	kindNAVAll6 kind = iota + 1
	kindNAVAll8PlanOpt
	kindNAVAll8RepSale
	kindHistory
	kindHistoryPlanOpt
)

func (k kind) layout() Layout {
	switch k {
	case kindNAVAll6:
		return LayoutNAVAll6
	case kindNAVAll8PlanOpt:
		return LayoutNAVAll8PlanOpt
	case kindNAVAll8RepSale:
		return LayoutNAVAll8RepSale
	case kindHistory:
		return LayoutHistory
	case kindHistoryPlanOpt:
		return LayoutHistoryPlanOpt
	}
	return ""
}

// columns maps each field to its index in a data line; -1 = absent.
type columns struct {
	code, isinGrowth, isinReinvest, name, plan, option, nav, repurchase, sale, date int
	n                                                                               int // number of fields in a data line
}

// maxColumns bounds a header; AMFI's widest has 8.
const maxColumns = 16

// Column names, normalised: ASCII lower case, all white space removed.
var columnNames = []struct {
	norm string
	slot func(*columns) *int
}{
	{"schemecode", func(c *columns) *int { return &c.code }},
	{"isindivpayout/isingrowth", func(c *columns) *int { return &c.isinGrowth }},
	{"isindivreinvestment", func(c *columns) *int { return &c.isinReinvest }},
	{"schemename", func(c *columns) *int { return &c.name }},
	{"navname", func(c *columns) *int { return &c.name }}, // the history report's plan/option form
	{"plan", func(c *columns) *int { return &c.plan }},
	{"option", func(c *columns) *int { return &c.option }},
	{"netassetvalue", func(c *columns) *int { return &c.nav }},
	{"repurchaseprice", func(c *columns) *int { return &c.repurchase }},
	{"saleprice", func(c *columns) *int { return &c.sale }},
	{"date", func(c *columns) *int { return &c.date }},
}

// identify reads the column names of a header line and decides the layout.
// The columns are found by name; the layout is decided by which names are
// present, and — for the two pairs of layouts with the same names (NAVAll
// 2017 and the old history report; NAVAll 2026 and the new history report)
// — by whether the name comes before the ISINs (history) or after (NAVAll).
func identify(line []byte, lineNo int) (kind, columns, error) {
	c := columns{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0}
	herr := &HeaderError{Problem: HeaderUnknown, Line: lineNo, Header: cut(line)}
	names := bytes.Split(line, []byte{';'})
	if len(names) > maxColumns {
		herr.Hint = fmt.Sprintf("it has %d columns, AMFI's headers have at most 8", len(names))
		return 0, c, herr
	}
	c.n = len(names)
	for i, raw := range names {
		norm := normaliseName(raw)
		found := false
		for _, cn := range columnNames {
			if cn.norm != norm {
				continue
			}
			found = true
			slot := cn.slot(&c)
			if *slot >= 0 {
				herr.Unknown = append(herr.Unknown, cut(bytes.TrimSpace(raw))+" (twice)")
			}
			*slot = i
			break
		}
		if !found {
			herr.Unknown = append(herr.Unknown, cut(bytes.TrimSpace(raw)))
		}
	}
	for _, req := range []struct {
		idx  int
		name string
	}{{c.code, "Scheme Code"}, {c.isinGrowth, "ISIN Div Payout/ ISIN Growth"}, {c.isinReinvest, "ISIN Div Reinvestment"}, {c.name, "Scheme Name"}, {c.nav, "Net Asset Value"}, {c.date, "Date"}} {
		if req.idx < 0 {
			herr.Missing = append(herr.Missing, req.name)
		}
	}
	// Plan/Option and Repurchase/Sale Price come in pairs.
	for _, pair := range [][2]struct {
		idx  int
		name string
	}{{{c.plan, "Plan"}, {c.option, "Option"}}, {{c.repurchase, "Repurchase Price"}, {c.sale, "Sale Price"}}} {
		switch {
		case pair[0].idx >= 0 && pair[1].idx < 0:
			herr.Missing = append(herr.Missing, pair[1].name)
		case pair[0].idx < 0 && pair[1].idx >= 0:
			herr.Missing = append(herr.Missing, pair[0].name)
		}
	}
	if c.plan >= 0 && c.repurchase >= 0 {
		herr.Hint = "it has both Plan/Option and Repurchase/Sale Price, which no AMFI layout has"
	}
	if len(herr.Unknown) > 0 || len(herr.Missing) > 0 || herr.Hint != "" {
		if len(names) > 1 && isDigits(bytes.TrimSpace(names[0])) {
			herr.Hint = "the first line looks like a data row: the header line is missing"
		}
		return 0, c, herr
	}
	history := c.name < c.isinGrowth
	var k kind
	switch {
	case c.plan >= 0 && history:
		k = kindHistoryPlanOpt
	case c.plan >= 0:
		k = kindNAVAll8PlanOpt
	case c.repurchase >= 0 && history:
		k = kindHistory
	case c.repurchase >= 0:
		k = kindNAVAll8RepSale
	default:
		k = kindNAVAll6
	}
	return k, c, nil
}

// normaliseName lower-cases ASCII letters and drops all white space (and a
// stray BOM or NBSP), so "ISIN Div Payout/ ISIN Growth", " isin div
// payout/isin growth " and "ISIN Div Payout/ISIN Growth" are one name.
func normaliseName(b []byte) string {
	s := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n', '\v', '\f', '\u00a0', '\ufeff':
			return -1
		}
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, string(b))
	return s
}

// htmlError builds the error for a body that starts with markup; more holds
// the lines after the first (bounded by the caller), searched for <title>.
func htmlError(first []byte, lineNo int, more []byte) *HeaderError {
	e := &HeaderError{Problem: HeaderHTML, Line: lineNo, Header: cut(first)}
	all := append(append([]byte{}, first...), more...)
	lower := bytes.ToLower(all)
	if i := bytes.Index(lower, []byte("<title")); i >= 0 {
		if j := bytes.IndexByte(lower[i:], '>'); j >= 0 {
			start := i + j + 1
			if k := bytes.Index(lower[start:], []byte("</title")); k >= 0 {
				e.Title = cut(bytes.TrimSpace(all[start : start+k]))
			}
		}
	}
	e.Hint = "the download returned a web page (an error or a redirect) instead of the NAV file"
	return e
}

// looksLikeHTML reports whether a trimmed first line is markup.
func looksLikeHTML(t []byte) bool {
	if len(t) > 0 && t[0] == '<' {
		return true
	}
	l := bytes.ToLower(t)
	return bytes.Contains(l, []byte("<html")) || bytes.Contains(l, []byte("<head")) || bytes.Contains(l, []byte("<body"))
}

// cut returns b as a string, shortened to 120 bytes for messages.
func cut(b []byte) string {
	const max = 120
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
