package risk

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// LineError names the line of a NAV CSV that could not be read and why.
type LineError struct {
	Line   int
	Reason string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// maxLine bounds one line of a NAV CSV: a date, a comma and a NAV fit in far
// less; a longer line is not this format (and is not buffered whole).
const maxLine = 256

// ParseCSV reads `date,nav` rows (ISO dates, strictly increasing; NAVs as
// plain positive decimals, exactly as published). A first line `date,nav`
// is a header; blank lines and spaces around fields are ignored. The first
// bad line ends the read with a *LineError: a risk figure over a series
// with a hole is not the figure asked for.
func ParseCSV(r io.Reader) ([]Point, error) {
	rows, _, _, err := readDated(r, datedLayout{header: "date,nav", what: "NAVs", parse: parseNAV})
	if err != nil {
		return nil, err
	}
	out := make([]Point, len(rows))
	for i, d := range rows {
		out[i] = Point{Date: d.date, NAV: d.value}
	}
	return out, nil
}

// datedLayout is a two-column CSV of ISO dates and decimals: a NAV series
// (ParseCSV) or a rate series (ParseRatesCSV).
type datedLayout struct {
	header   string // the header line, e.g. "date,nav"
	required bool   // the header must come first (else it may)
	comments bool   // lines starting with # are skipped
	what     string // what the rows are, for a read error
	parse    func(string) (decimal.Decimal, error)
}

type datedRow struct {
	date  fund.Date
	value decimal.Decimal
}

// readDated reads a datedLayout: dates strictly increasing, blank lines and
// spaces around fields ignored, the first bad line ending the read with a
// *LineError. It also answers how many lines it read and whether it saw
// the header.
func readDated(r io.Reader, l datedLayout) (rows []datedRow, lines int, sawHeader bool, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxLine), maxLine)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if text == "" || (l.comments && strings.HasPrefix(text, "#")) {
			continue
		}
		isHeader := strings.EqualFold(strings.ReplaceAll(text, " ", ""), l.header)
		if l.required && !sawHeader {
			if !isHeader {
				return nil, line, false, &LineError{line, fmt.Sprintf("want the header %s, got %q", l.header, text)}
			}
			sawHeader = true
			continue
		}
		if !l.required && len(rows) == 0 && isHeader {
			sawHeader = true
			continue
		}
		date, val, ok := strings.Cut(text, ",")
		if !ok || strings.Contains(val, ",") {
			return nil, line, sawHeader, &LineError{line, fmt.Sprintf("want 2 fields %s, got %q", l.header, text)}
		}
		d, err := fund.ParseISODate(strings.TrimSpace(date))
		if err != nil {
			return nil, line, sawHeader, &LineError{line, err.Error()}
		}
		v, err := l.parse(strings.TrimSpace(val))
		if err != nil {
			return nil, line, sawHeader, &LineError{line, err.Error()}
		}
		if n := len(rows); n > 0 && !rows[n-1].date.Before(d) {
			return nil, line, sawHeader, &LineError{line, fmt.Sprintf("date %s does not follow %s (dates must strictly increase)", d, rows[n-1].date)}
		}
		rows = append(rows, datedRow{d, v})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, line, sawHeader, &LineError{line + 1, fmt.Sprintf("line longer than %d bytes", maxLine)}
		}
		return nil, line, sawHeader, fmt.Errorf("risk: read %s: %w", l.what, err)
	}
	return rows, line, sawHeader, nil
}

// parseNAV accepts digits with at most one point ("12.3456", "10", ".5"),
// positive: no sign, exponent or separators, so the value is what was
// written.
func parseNAV(s string) (decimal.Decimal, error) {
	d, err := parsePlain("nav", "a plain decimal like 123.4567", 30, s)
	if err == nil && d.Sign() <= 0 {
		err = fmt.Errorf("nav %q: not positive", s)
	}
	return d, err
}

// parsePlain reads a field written as digits with at most one point (at
// most max digits): no sign, exponent or separators. form says what is
// wanted, in the error.
func parsePlain(field, form string, max int, s string) (decimal.Decimal, error) {
	digits, point := 0, false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !point:
			point = true
		default:
			return decimal.Decimal{}, fmt.Errorf("%s %q: want %s", field, s, form)
		}
	}
	if digits == 0 || digits > max {
		return decimal.Decimal{}, fmt.Errorf("%s %q: want a plain decimal of 1 to %d digits", field, s, max)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("%s %q: %w", field, s, err)
	}
	return d, nil
}
