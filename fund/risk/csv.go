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
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxLine), maxLine)
	var out []Point
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if text == "" {
			continue
		}
		if len(out) == 0 && strings.EqualFold(strings.ReplaceAll(text, " ", ""), "date,nav") {
			continue
		}
		date, nav, ok := strings.Cut(text, ",")
		if !ok || strings.Contains(nav, ",") {
			return nil, &LineError{line, fmt.Sprintf("want 2 fields date,nav, got %q", text)}
		}
		d, err := fund.ParseISODate(strings.TrimSpace(date))
		if err != nil {
			return nil, &LineError{line, err.Error()}
		}
		v, err := parseNAV(strings.TrimSpace(nav))
		if err != nil {
			return nil, &LineError{line, err.Error()}
		}
		if n := len(out); n > 0 && !out[n-1].Date.Before(d) {
			return nil, &LineError{line, fmt.Sprintf("date %s does not follow %s (dates must strictly increase)", d, out[n-1].Date)}
		}
		out = append(out, Point{Date: d, NAV: v})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &LineError{line + 1, fmt.Sprintf("line longer than %d bytes", maxLine)}
		}
		return nil, fmt.Errorf("risk: read NAVs: %w", err)
	}
	return out, nil
}

// parseNAV accepts digits with at most one point ("12.3456", "10", ".5"),
// positive: no sign, exponent or separators, so the value is what was
// written.
func parseNAV(s string) (decimal.Decimal, error) {
	digits, point := 0, false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !point:
			point = true
		default:
			return decimal.Decimal{}, fmt.Errorf("nav %q: want a plain decimal like 123.4567", s)
		}
	}
	if digits == 0 || digits > 30 {
		return decimal.Decimal{}, fmt.Errorf("nav %q: want a plain decimal of 1 to 30 digits", s)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("nav %q: %w", s, err)
	}
	if d.Sign() <= 0 {
		return decimal.Decimal{}, fmt.Errorf("nav %q: not positive", s)
	}
	return d, nil
}
