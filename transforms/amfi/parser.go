package amfi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

// Quarantine reasons of a Row. They are stable codes: the quarantine table,
// metrics and the check report count by them.
const (
	ReasonNAVNotAvailable   = "nav_not_available"   // NAV is N.A., empty or "-": the scheme published no NAV
	ReasonBadNAV            = "bad_nav"             // NAV is not a number, or is zero or negative
	ReasonBadDate           = "bad_date"            // date is not DD-Mon-YYYY
	ReasonBadFieldCount     = "bad_field_count"     // the line does not have the header's number of fields
	ReasonMissingSchemeCode = "missing_scheme_code" // scheme code empty or not a number
	ReasonFutureDate        = "future_date"         // set by Check and the nav stage: dated after BusinessDate+FutureLimitDays
	ReasonLineTooLong       = "line_too_long"       // the line is longer than MaxLineBytes
)

// MaxLineBytes bounds one line. AMFI's lines are under 300 bytes. The bound
// is also what keeps every text field storable: a Postgres btree entry (the
// schemes, navs and nav_latest keys, the schemes.amc index) must stay under
// 2704 bytes, so no field of a line that passes may be longer than that. A
// longer data line is a Row with ReasonLineTooLong and the parse goes on with
// the next line; a longer first line is not a NAV header.
const MaxLineBytes = 2048

// keptOfLongLine is how much of a too-long line is kept as its Raw bytes,
// for the quarantine view: enough to see what it is.
const keptOfLongLine = 512

// Row is one data line of the file (a line containing ';'), good or not.
type Row struct {
	Line int    // 1-based line number in the file
	Raw  []byte // the raw line without its terminator; a copy, safe to keep
	// Record is the NAV when Reason == "". On a rejected row it carries only
	// what could be read (the block's category and AMC, and the text fields
	// when the field count was right) for the quarantine view; its NAV and
	// Date are zero.
	Record fund.NAVRecord
	Reason string // "" = good; else one of the Reason* codes
	Detail string // for a rejected row: what is wrong, in words a person can act on
}

// Parser reads an AMFI NAV file one line at a time. It is not safe for
// concurrent use.
type Parser struct {
	br      *bufio.Reader
	kind    kind
	cols    columns
	line    int // number of the last line read
	err     error
	long    []byte // the start of the last line longer than MaxLineBytes
	longLen int    // length of the last line longer than MaxLineBytes
	slab    []byte // backing store for Row.Raw copies
	starts  [maxColumns + 1]int
	ends    [maxColumns + 1]int

	schemeType, category, amc string
	dates                     map[string]fund.Date // parsed dates by their text
	header                    string               // the header line as found (trimmed)
}

// NewParser reads the first non-blank line of r and identifies the layout
// from its column names. The header may carry a UTF-8 BOM, surrounding
// spaces and any letter case. An input that is not an AMFI NAV file yields
// a *HeaderError (errors.Is(err, ErrNotNAVFile)) saying what was found: an
// empty body, an HTML page, or the unknown header line.
func NewParser(r io.Reader) (*Parser, error) {
	p := &Parser{
		br:    bufio.NewReaderSize(r, 64<<10),
		dates: make(map[string]fund.Date, 64),
	}
	for {
		line, err := p.readLine()
		if err == io.EOF {
			return nil, &HeaderError{Problem: HeaderEmpty, Line: p.line}
		}
		if err == errLineTooLong {
			return nil, &HeaderError{Problem: HeaderUnknown, Line: p.line + 1, Header: cut(p.long),
				Hint: fmt.Sprintf("the first line is longer than %d bytes", MaxLineBytes)}
		}
		if err != nil {
			return nil, err
		}
		p.line++
		if p.line == 1 {
			line = bytes.TrimPrefix(line, []byte("\ufeff"))
		}
		t := trimSpace(line)
		if len(t) == 0 {
			continue
		}
		if looksLikeHTML(t) {
			first := append([]byte(nil), t...)
			more := p.peekText(8 << 10)
			return nil, htmlError(first, p.line, more)
		}
		k, c, err := identify(t, p.line)
		if err != nil {
			return nil, err
		}
		p.kind, p.cols, p.header = k, c, string(t)
		return p, nil
	}
}

// peekText returns up to n further bytes of input (for an error message).
func (p *Parser) peekText(n int) []byte {
	var out []byte
	for len(out) < n {
		line, err := p.readLine()
		if err != nil {
			break
		}
		out = append(out, line...)
		out = append(out, '\n')
	}
	return out
}

// Layout returns the layout identified from the header.
func (p *Parser) Layout() Layout { return p.kind.layout() }

// Header returns the header line the layout was identified from, without
// its BOM, surrounding spaces and line ending. Two layouts share the name
// "amfi-history": the header, not the layout, says how to read a row again.
func (p *Parser) Header() string { return p.header }

// Next returns the next data row, or io.EOF after the last one. Block
// header lines ("Open Ended Schemes(Debt Scheme - Liquid Fund)"), AMC lines
// and blank separator lines are consumed silently: they set SchemeType,
// Category and AMC on the rows that follow (the AMC stays in force across
// a block header until the next AMC line, as AMFI writes it). Every data line yields a Row,
// good or rejected, and so does every line longer than MaxLineBytes
// (ReasonLineTooLong, with only its first bytes as Raw: a poison line never
// stops the file); an error other than io.EOF is a read failure and ends
// the parse.
func (p *Parser) Next() (Row, error) {
	if p.err != nil {
		return Row{}, p.err
	}
	for {
		line, err := p.readLine()
		if err == errLineTooLong {
			p.line++
			r := Row{Line: p.line, Raw: append([]byte(nil), p.long[:min(len(p.long), keptOfLongLine)]...)}
			return reject(r, ReasonLineTooLong, fmt.Sprintf("the line is %d bytes long, more than the %d an AMFI line may have (AMFI's are under 300); its first %d bytes are kept",
				p.longLen, MaxLineBytes, len(r.Raw))), nil
		}
		if err != nil {
			if err != io.EOF {
				err = fmt.Errorf("amfi: line %d: %w", p.line+1, err)
			}
			p.err = err
			return Row{}, err
		}
		p.line++
		if bytes.IndexByte(line, ';') < 0 {
			p.context(line)
			continue
		}
		return p.row(line), nil
	}
}

var errLineTooLong = errors.New("line longer than MaxLineBytes: not an AMFI NAV file")

// readLine returns the next line without its '\n' and without any '\r's
// before it (CRLF, and the CR CR LF of a CRLF file re-saved in text mode).
// The slice is valid until the next call. It returns io.EOF only when no
// bytes are left. A line longer than MaxLineBytes is read to its end but
// not kept: errLineTooLong, with its first MaxLineBytes bytes in p.long and
// its length in p.longLen, and the next call reads the line after it.
func (p *Parser) readLine() ([]byte, error) {
	line, err := p.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// Longer than the read buffer, so longer than MaxLineBytes: keep its
		// start and skip the rest.
		p.long = append(p.long[:0], line[:min(len(line), MaxLineBytes)]...)
		p.longLen = len(line)
		for err == bufio.ErrBufferFull {
			line, err = p.br.ReadSlice('\n')
			p.longLen += len(line)
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if err == nil {
			p.longLen-- // the '\n'
		}
		return nil, errLineTooLong
	}
	if err != nil && (err != io.EOF || len(line) == 0) {
		return nil, err
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	for n := len(line); n > 0 && line[n-1] == '\r'; n-- {
		line = line[:n-1]
	}
	if len(line) > MaxLineBytes {
		p.long = append(p.long[:0], line[:MaxLineBytes]...)
		p.longLen = len(line)
		return nil, errLineTooLong
	}
	return line, nil
}

// context handles a line without ';': blank, block header or AMC name.
func (p *Parser) context(line []byte) {
	t := trimSpace(line)
	if len(t) == 0 {
		return
	}
	if typ, cat, ok := blockHeader(t); ok {
		if string(typ) != p.schemeType {
			p.schemeType = string(typ)
		}
		if string(cat) != p.category {
			p.category = string(cat)
		}
		// The AMC is kept: AMFI writes an AMC line only when the AMC
		// changes, even across a block header. In the 2023-2026 files a
		// block whose first AMC is the previous block's last one has no
		// AMC line (e.g. "Open Ended Schemes(Growth)" right after ICICI
		// Prudential's gilt rows, followed by ICICI Prudential rows).
		return
	}
	if string(t) != p.amc {
		p.amc = string(t)
	}
}

// blockHeader recognises "Open Ended Schemes(Debt Scheme - Banking and PSU
// Fund)", "Open Ended Schemes (Balanced)", "Open Ended Schemes ( Debt Scheme
// - Overnight Fund )", "Close Ended Schemes(…)", "Interval Fund Schemes(…)":
// the text before the first '(' ends in "Schemes". A parenthesis alone is
// not enough: AMC names have them too ("IIFCL Mutual Fund (IDF)",
// "360 ONE Mutual Fund (Formerly Known as IIFL Mutual Fund)").
func blockHeader(t []byte) (typ, cat []byte, ok bool) {
	i := bytes.IndexByte(t, '(')
	if i < 0 {
		return nil, nil, false
	}
	typ = trimSpace(t[:i])
	const suffix = "schemes"
	if len(typ) < len(suffix) || !bytes.EqualFold(typ[len(typ)-len(suffix):], []byte(suffix)) {
		return nil, nil, false
	}
	rest := t[i+1:]
	if j := bytes.LastIndexByte(rest, ')'); j >= 0 {
		rest = rest[:j]
	}
	return typ, trimSpace(rest), true
}

// row builds the Row of a data line.
func (p *Parser) row(line []byte) Row {
	r := Row{Line: p.line, Raw: p.copyRaw(line)}
	rec := &r.Record
	rec.SchemeType, rec.Category, rec.AMC = p.schemeType, p.category, p.amc

	// Split on ';' into field bounds, counting all fields.
	n, start := 0, 0
	for i := 0; i <= len(line); i++ {
		if i < len(line) && line[i] != ';' {
			continue
		}
		if n < len(p.starts) {
			s, e := start, i
			for s < e && isSpace(line[s]) {
				s++
			}
			for e > s && isSpace(line[e-1]) {
				e--
			}
			p.starts[n], p.ends[n] = s, e
		}
		n++
		start = i + 1
	}
	c := &p.cols
	if n != c.n {
		return reject(r, ReasonBadFieldCount, fmt.Sprintf("the line has %d fields, the %s header has %d", n, p.Layout(), c.n))
	}

	// One string for the whole line; the text fields are substrings of it.
	s := string(line)
	field := func(i int) string { return s[p.starts[i]:p.ends[i]] }
	fieldBytes := func(i int) []byte { return line[p.starts[i]:p.ends[i]] }

	rec.SchemeCode = field(c.code)
	rec.SchemeName = field(c.name)
	if !absent(fieldBytes(c.isinGrowth)) {
		rec.ISINGrowth = field(c.isinGrowth)
	}
	if !absent(fieldBytes(c.isinReinvest)) {
		rec.ISINReinvest = field(c.isinReinvest)
	}
	if c.plan >= 0 {
		rec.Plan = field(c.plan)
		rec.Option = field(c.option)
	}
	if rec.SchemeCode == "" {
		return reject(r, ReasonMissingSchemeCode, "the scheme code field is empty")
	}
	if !isDigits(fieldBytes(c.code)) {
		return reject(r, ReasonMissingSchemeCode, fmt.Sprintf("scheme code %q is not a number", rec.SchemeCode))
	}

	navText := fieldBytes(c.nav)
	if absent(navText) {
		if len(navText) == 0 {
			return reject(r, ReasonNAVNotAvailable, "NAV is empty: the scheme published no NAV for this date")
		}
		return reject(r, ReasonNAVNotAvailable, fmt.Sprintf("NAV %q is not a number: the scheme published no NAV for this date", navText))
	}
	nav, ok := parseDecimal(navText)
	if !ok {
		return reject(r, ReasonBadNAV, fmt.Sprintf("NAV %q is not a number", navText))
	}
	if !nav.IsPositive() {
		return reject(r, ReasonBadNAV, fmt.Sprintf("NAV %q is not positive: a NAV must be greater than zero (AMFI writes 0 for schemes that have no NAV)", navText))
	}

	dateText := fieldBytes(c.date)
	d, ok := p.date(dateText)
	if !ok {
		return reject(r, ReasonBadDate, fmt.Sprintf("date %q is not a DD-Mon-YYYY date", dateText))
	}

	rec.NAV = nav
	rec.Date = d
	if c.repurchase >= 0 {
		rec.Repurchase = price(fieldBytes(c.repurchase), navText, nav)
		rec.Sale = price(fieldBytes(c.sale), navText, nav)
	}
	return r
}

func reject(r Row, reason, detail string) Row {
	r.Reason, r.Detail = reason, detail
	return r
}

// copyRaw copies a line into a shared slab; each returned slice has its
// capacity cut at its end, so later copies never overwrite it.
func (p *Parser) copyRaw(b []byte) []byte {
	const slabSize = 16 << 10
	if len(b) > slabSize/4 {
		return append([]byte(nil), b...)
	}
	if cap(p.slab)-len(p.slab) < len(b) {
		p.slab = make([]byte, 0, slabSize)
	}
	start := len(p.slab)
	p.slab = append(p.slab, b...)
	return p.slab[start:len(p.slab):len(p.slab)]
}

// date parses DD-Mon-YYYY through fund.ParseDMY, remembering each distinct
// text (a file has a few hundred distinct dates over ~15,000 rows).
func (p *Parser) date(b []byte) (fund.Date, bool) {
	if d, ok := p.dates[string(b)]; ok {
		return d, true
	}
	d, err := fund.ParseDMY(string(b))
	if err != nil {
		return fund.Date{}, false
	}
	if len(p.dates) >= 4096 {
		clear(p.dates)
	}
	p.dates[string(b)] = d
	return d, true
}

// price reads a repurchase or sale price. N.A., empty, "-", 0 or anything
// unreadable is Null: these columns are informational and never reject a
// row. A price written exactly like the NAV shares its value.
func price(b, navText []byte, nav decimal.Decimal) decimal.NullDecimal {
	if absent(b) {
		return decimal.NullDecimal{}
	}
	if bytes.Equal(b, navText) {
		return decimal.NullDecimal{Decimal: nav, Valid: true}
	}
	d, ok := parseDecimal(b)
	if !ok || !d.IsPositive() {
		return decimal.NullDecimal{}
	}
	return decimal.NullDecimal{Decimal: d, Valid: true}
}

// absent reports whether a trimmed field is one of AMFI's "no value"
// placeholders: empty, dashes, N.A. (and its variants), #N/A, NOTAPP. An
// ISIN field holding one becomes ""; any other ISIN text is kept as
// published, malformed or not ("Redeemed", "INF78901059"): checking ISINs
// is validation's job, not the parser's.
func absent(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	dashes := true
	for _, c := range b {
		if c != '-' {
			dashes = false
			break
		}
	}
	if dashes {
		return true
	}
	if len(b) > 6 {
		return false
	}
	for _, w := range placeholders {
		if bytes.EqualFold(b, w) {
			return true
		}
	}
	return false
}

var placeholders = [][]byte{[]byte("N.A."), []byte("N.A"), []byte("NA"), []byte("N/A"), []byte("#N/A"), []byte("NOTAPP")}

func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n'
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
