package rta

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// Quarantine reasons of a Row: stable codes that the quarantine table,
// metrics and reports count by.
const (
	ReasonBadFieldCount  = "bad_field_count"   // fewer fields than the header, or extra fields that are not empty
	ReasonBadQuoting     = "bad_quoting"       // a double quote that does not open or close a field properly
	ReasonMissingField   = "missing_field"     // a field the record needs (folio, scheme, units, ...) is empty
	ReasonBadDate        = "bad_date"          // a date that is not DD-Mon-YYYY or DD/MM/YYYY
	ReasonBadUnits       = "bad_units"         // units not a plain decimal, too many decimals, or a negative balance
	ReasonBadAmount      = "bad_amount"        // an amount or stamp duty not a plain decimal or with more than 2 decimals
	ReasonBadNAV         = "bad_nav"           // a NAV/price that is not a plain decimal, or negative
	ReasonUnknownTxnType = "unknown_trxn_type" // a transaction type code this RTA's code list does not have
)

// Row is one data line of a feed, good or not.
type Row struct {
	Line int    // 1-based line number in the (decompressed) file
	Raw  []byte // the line without its terminator; a copy, safe to keep
	// Exactly one of Holding and Txn is filled when Reason == "", by the
	// layout's Kind.
	Holding fund.RTAHolding
	Txn     fund.RTATransaction
	Reason  string // "" = good; else one of the Reason* codes
	Detail  string // for a rejected row: what is wrong, in words a person can act on
}

// Parser reads a feed one line at a time. It is not safe for concurrent use.
type Parser struct {
	lr     *lineReader
	layout *Layout
	idx    [numFields]int
	delim  byte
	ncols  int
	names  []string // the header's column names, normalised
	spans  []span
	err    error
	dates  map[string]fund.Date // parsed dates by their text: a feed has few distinct dates
}

// NewParser reads the header (the first non-blank line) and identifies the
// layout from its column names. An input that is not a feed of a known
// layout yields a *HeaderError (errors.Is(err, ErrNotRTAFile)). r must
// already be decompressed (see Decompress).
func NewParser(r io.Reader) (*Parser, error) {
	p := &Parser{lr: newLineReader(r), dates: make(map[string]fund.Date, 16)}
	for {
		line, err := p.lr.next()
		if errors.Is(err, io.EOF) {
			return nil, &HeaderError{Line: p.lr.n, Problem: "the body is empty"}
		}
		if errors.Is(err, errLineTooLong) {
			return nil, &HeaderError{Line: p.lr.n + 1, Problem: fmt.Sprintf("the first line is longer than %d bytes", MaxLineBytes)}
		}
		if err != nil {
			return nil, err
		}
		if p.lr.n == 1 {
			line = bytes.TrimPrefix(line, []byte("\ufeff"))
		}
		t := bytes.TrimSpace(line)
		if len(t) == 0 {
			continue
		}
		if t[0] == '<' {
			return nil, &HeaderError{Line: p.lr.n, Header: cut(t), Problem: "got an HTML or XML page, not a delimited feed"}
		}
		p.delim = delimiterOf(t)
		spans, err := split(t, p.delim, nil)
		if err != nil {
			return nil, &HeaderError{Line: p.lr.n, Header: cut(t), Problem: "the header has " + errQuote.Error()}
		}
		names := make([]string, len(spans))
		for i, s := range spans {
			names[i] = s.text(t)
		}
		l, idx, err := identify(names)
		if err != nil {
			return nil, &HeaderError{Line: p.lr.n, Header: cut(t), Problem: err.Error()}
		}
		// A trailing delimiter after the last name is not a column.
		for len(names) > 0 && normName(names[len(names)-1]) == "" {
			names = names[:len(names)-1]
		}
		for i := range names {
			names[i] = normName(names[i])
		}
		p.layout, p.idx, p.ncols, p.names = l, idx, len(names), names
		return p, nil
	}
}

func cut(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// Layout returns the layout identified from the header.
func (p *Parser) Layout() *Layout { return p.layout }

// Delimiter returns the field delimiter found in the header: ',' or '|'.
func (p *Parser) Delimiter() byte { return p.delim }

// Next returns the next data row, or io.EOF after the last one. Blank lines
// are skipped. Every other line yields a Row, good or rejected; an error
// other than io.EOF is a read failure (or a line longer than MaxLineBytes)
// and ends the parse.
func (p *Parser) Next() (Row, error) {
	if p.err != nil {
		return Row{}, p.err
	}
	for {
		line, err := p.lr.next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("rta: line %d: %w", p.lr.n+1, err)
			}
			p.err = err
			return Row{}, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		row := Row{Line: p.lr.n, Raw: bytes.Clone(line)}
		p.parse(&row)
		return row, nil
	}
}

// rowError is a rejected row's reason and detail.
type rowError struct{ reason, detail string }

func (p *Parser) reject(row *Row, reason, format string, args ...any) {
	row.Reason, row.Detail = reason, fmt.Sprintf(format, args...)
}

func (p *Parser) parse(row *Row) {
	spans, err := split(row.Raw, p.delim, p.spans)
	p.spans = spans
	if err != nil {
		p.reject(row, ReasonBadQuoting, "%v", err)
		return
	}
	if len(spans) < p.ncols {
		p.reject(row, ReasonBadFieldCount, "%d fields, the header has %d", len(spans), p.ncols)
		return
	}
	for _, s := range spans[p.ncols:] {
		if s.start < s.end && len(bytes.TrimSpace(row.Raw[s.start:s.end])) > 0 {
			p.reject(row, ReasonBadFieldCount, "%d fields, the header has %d", len(spans), p.ncols)
			return
		}
	}
	var e *rowError
	if p.layout.Kind == Holdings {
		row.Holding, e = p.holding(row.Raw)
	} else {
		row.Txn, e = p.txn(row.Raw)
	}
	if e != nil {
		row.Holding, row.Txn = fund.RTAHolding{}, fund.RTATransaction{}
		row.Reason, row.Detail = e.reason, e.detail
	}
}

// get returns a field's text ("" when the layout has no column for it).
func (p *Parser) get(line []byte, f field) string {
	i := p.idx[f]
	if i < 0 {
		return ""
	}
	return p.spans[i].text(line)
}

// colName is the column a field is read from, for messages.
func (p *Parser) colName(f field) string {
	if i := p.idx[f]; i >= 0 {
		return p.names[i]
	}
	if c := p.layout.cols[f]; len(c) > 0 {
		return c[0]
	}
	return fieldNames[f]
}

func (p *Parser) required(line []byte, f field) (string, *rowError) {
	v := p.get(line, f)
	if v == "" {
		return "", &rowError{ReasonMissingField, fmt.Sprintf("%s (%s) is empty", fieldNames[f], p.colName(f))}
	}
	return v, nil
}

func (p *Parser) date(line []byte, f field, need bool) (fund.Date, *rowError) {
	v := p.get(line, f)
	if v == "" {
		if need {
			return fund.Date{}, &rowError{ReasonMissingField, fmt.Sprintf("%s (%s) is empty", fieldNames[f], p.colName(f))}
		}
		return fund.Date{}, nil
	}
	if d, ok := p.dates[v]; ok {
		return d, nil
	}
	d, err := fund.ParseRTADate(v)
	if err != nil {
		return fund.Date{}, &rowError{ReasonBadDate, fmt.Sprintf("%s (%s) %q is not DD-Mon-YYYY or DD/MM/YYYY", fieldNames[f], p.colName(f), cutS(v))}
	}
	if len(p.dates) < 4096 {
		p.dates[v] = d
	}
	return d, nil
}

func cutS(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// number parses an optional decimal field; empty is zero.
func (p *Parser) number(line []byte, f field, reason string) (decimal.Decimal, bool, *rowError) {
	v := p.get(line, f)
	if v == "" {
		return decimal.Decimal{}, false, nil
	}
	d, err := fund.ParseDecimal(v)
	if err != nil {
		return decimal.Decimal{}, false, &rowError{reason, fmt.Sprintf("%s (%s) %q is not a plain decimal number", fieldNames[f], p.colName(f), cutS(v))}
	}
	return d, true, nil
}

func (p *Parser) units(line []byte, f field) (fund.Units, *rowError) {
	d, ok, e := p.number(line, f, ReasonBadUnits)
	if e != nil {
		return fund.Units{}, e
	}
	if !ok {
		return fund.Units{}, &rowError{ReasonMissingField, fmt.Sprintf("%s (%s) is empty", fieldNames[f], p.colName(f))}
	}
	u, err := fund.UnitsAsWritten(d)
	if err != nil {
		return fund.Units{}, &rowError{ReasonBadUnits, fmt.Sprintf("%s (%s): %v", fieldNames[f], p.colName(f), err)}
	}
	return u, nil
}

func (p *Parser) amount(line []byte, f field, need bool) (fund.Amount, *rowError) {
	d, ok, e := p.number(line, f, ReasonBadAmount)
	if e != nil {
		return fund.Amount{}, e
	}
	if !ok {
		if need {
			return fund.Amount{}, &rowError{ReasonMissingField, fmt.Sprintf("%s (%s) is empty", fieldNames[f], p.colName(f))}
		}
		return fund.Amount{}, nil
	}
	a, err := fund.AmountFromDecimal(d.Abs(), fund.NoRounding)
	if err != nil {
		return fund.Amount{}, &rowError{ReasonBadAmount, fmt.Sprintf("%s (%s) %s has more than 2 decimals", fieldNames[f], p.colName(f), d.String())}
	}
	return a, nil
}

func (p *Parser) nav(line []byte) (decimal.Decimal, *rowError) {
	d, _, e := p.number(line, fNAV, ReasonBadNAV)
	if e != nil {
		return decimal.Decimal{}, e
	}
	if d.IsNegative() {
		return decimal.Decimal{}, &rowError{ReasonBadNAV, fmt.Sprintf("NAV (%s) %s is negative", p.colName(fNAV), d.String())}
	}
	return d, nil
}

func (p *Parser) holding(line []byte) (h fund.RTAHolding, e *rowError) {
	h.RTA = p.layout.RTA
	if h.Folio, e = p.required(line, fFolio); e != nil {
		return h, e
	}
	if h.Product, e = p.required(line, fProduct); e != nil {
		return h, e
	}
	if h.AsOf, e = p.date(line, fAsOf, true); e != nil {
		return h, e
	}
	if h.Units, e = p.units(line, fUnits); e != nil {
		return h, e
	}
	if h.Units.Sign() < 0 {
		return h, &rowError{ReasonBadUnits, fmt.Sprintf("a negative unit balance %s (%s)", h.Units, p.colName(fUnits))}
	}
	if h.NAV, e = p.nav(line); e != nil {
		return h, e
	}
	v, _, e := p.number(line, fValue, ReasonBadAmount)
	if e != nil {
		return h, e
	}
	h.Value = v
	h.ISIN = p.get(line, fISIN)
	h.SchemeName = p.get(line, fSchemeName)
	h.Investor = p.get(line, fInvestor)
	h.PAN = p.get(line, fPAN)
	h.Broker = p.get(line, fBroker)
	return h, nil
}

func (p *Parser) txn(line []byte) (t fund.RTATransaction, e *rowError) {
	t.RTA = p.layout.RTA
	if t.Folio, e = p.required(line, fFolio); e != nil {
		return t, e
	}
	if t.Product, e = p.required(line, fProduct); e != nil {
		return t, e
	}
	if t.TxnNo, e = p.required(line, fTxnNo); e != nil {
		return t, e
	}
	code, e := p.required(line, fType)
	if e != nil {
		return t, e
	}
	t.TypeCode = code
	kind, ok := p.layout.codes[strings.ToUpper(code)]
	if !ok {
		return t, &rowError{ReasonUnknownTxnType, fmt.Sprintf("transaction type %q (%s) is not one of %s's codes %s",
			cutS(code), p.colName(fType), p.layout.Name, strings.Join(p.layout.KnownCodes(), " "))}
	}
	t.Kind = kind
	if t.TradeDate, e = p.date(line, fTradeDate, true); e != nil {
		return t, e
	}
	if t.NAVDate, e = p.date(line, fNAVDate, false); e != nil {
		return t, e
	}
	if t.NAVDate.IsZero() {
		t.NAVDate = t.TradeDate
	}
	if t.PostDate, e = p.date(line, fPostDate, false); e != nil {
		return t, e
	}
	if t.Reported, e = p.date(line, fReported, false); e != nil {
		return t, e
	}
	u, e := p.units(line, fUnits)
	if e != nil {
		return t, e
	}
	// RTAs write redemptions with or without a minus sign: the kind decides.
	if u.Sign() < 0 {
		u = u.Neg()
	}
	if !kind.IssuesUnits() {
		u = u.Neg()
	}
	t.Units = u
	if t.Amount, e = p.amount(line, fAmount, true); e != nil {
		return t, e
	}
	if t.StampDuty, e = p.amount(line, fStampDuty, false); e != nil {
		return t, e
	}
	if t.NAV, e = p.nav(line); e != nil {
		return t, e
	}
	t.ISIN = p.get(line, fISIN)
	t.SchemeName = p.get(line, fSchemeName)
	t.Investor = p.get(line, fInvestor)
	t.UserRef = p.get(line, fUserRef)
	t.Status = p.get(line, fStatus)
	// CAMS writes 0 in SIPTRXNNO when there is no SIP; its reports leave it empty.
	if reg := p.get(line, fSIPReg); reg != "0" {
		t.SIPRegNo = reg
	}
	return t, nil
}
