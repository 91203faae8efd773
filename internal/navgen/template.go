// Package navgen synthesises realistic AMFI NAV history from one real
// NAVAll file: the same schemes, names, ISINs, categories, AMCs and block
// layout, the same stale rows of wound-up schemes, with NAVs that follow a
// seeded random walk per scheme whose size depends on the kind of scheme.
// It writes one NAVAll file per business day (the real 6-field layout, CRLF,
// separator lines as in the template) or one large historical NAV report
// (the amfi-history layout) for backfills. Generation is streaming: memory
// holds the template and one walk state per scheme, never the history.
//
// NAVs are integers of 1/10,000 (four decimals, exact) and every step of the
// walk rounds half up explicitly; there is no float anywhere.
package navgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/transforms/amfi"
)

// Template is a real NAVAll file taken apart: its lines in order, each
// either a context line (blank, block header, AMC) kept verbatim, or a
// reference to a scheme row.
type Template struct {
	Business fund.Date // the file's business date (amfi.BusinessDate)
	lines    []tline
	schemes  []scheme
}

// tline is one line of the template: text, or a scheme (index) when row >= 0.
type tline struct {
	text []byte
	row  int
}

// walk classes: how a kind of scheme moves per calendar day, in parts per
// million (drift and the standard deviation of the noise).
type class struct {
	name         string
	drift, sigma int64
}

var (
	classLiquid   = class{"liquid", 180, 15}     // ~6.5%/yr, almost no noise
	classDebt     = class{"debt", 190, 500}      // ~7%/yr, 0.05% a day
	classArb      = class{"arbitrage", 180, 120} // liquid-like
	classHybrid   = class{"hybrid", 280, 5000}   // 0.5% a day
	classGold     = class{"gold", 250, 9000}     // commodity ETFs
	classOverseas = class{"overseas", 300, 11000}
	classEquity   = class{"equity", 350, 10000} // ~13%/yr, 1% a day
)

// classify picks the walk class of a category (AMFI's free text, any era).
func classify(category string) class {
	c := strings.ToLower(category)
	has := func(ws ...string) bool {
		for _, w := range ws {
			if strings.Contains(c, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("liquid", "overnight", "money market"):
		return classLiquid
	case has("arbitrage"):
		return classArb
	case has("overseas"):
		return classOverseas
	case has("gold", "silver"):
		return classGold
	case has("debt", "income", "gilt", "bond", "duration", "floater", "credit", "banking and psu", "fixed term", "fmp"):
		return classDebt
	case has("hybrid", "balanced", "savings", "asset allocation", "retirement", "children", "solution"):
		return classHybrid
	}
	return classEquity
}

// scheme is one data row of the template.
type scheme struct {
	code, name, isinG, isinR string
	typ, category, amc       string
	anchor                   fund.Date // the date of the template row
	anchorDay                int64
	anchorTicks              int64    // the template NAV in 1/10,000
	anchorText               []byte   // the NAV as written (kept for stale rows)
	fields                   [][]byte // the raw fields of a 6-field template row (spacing as published)
	raw                      []byte   // a template row that did not parse: copied verbatim...
	rawLive                  bool     // ...but re-dated to each file's date when it was dated near the business date
	daily                    bool     // liquid/overnight: a NAV for every calendar day
	cls                      class
	walkID                   uint64 // the row's place in the whole file: seeds its walk, so Keep changes no NAV
}

// liveWithin: a template row dated within this many days of the business
// date belongs to a scheme that is alive; older rows are stale (wound up).
const liveWithin = 7

// LoadTemplate reads a real NAVAll file. Any AMFI layout parses; the
// generated files are always written in the 6-field layout.
func LoadTemplate(r io.Reader) (*Template, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	p, err := amfi.NewParser(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("navgen: template: %w", err)
	}
	rows := map[int]amfi.Row{}
	counts := map[fund.Date]int{}
	for {
		row, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("navgen: template: %w", err)
		}
		rows[row.Line] = row
		if row.Reason == "" {
			counts[row.Record.Date]++
		}
	}
	if len(counts) == 0 {
		return nil, errors.New("navgen: template has no valid NAV rows")
	}
	t := &Template{Business: amfi.BusinessDate(counts)}
	lines := bytes.Split(data, []byte("\n"))
	headerSeen := false
	for i, l := range lines {
		l = bytes.TrimRight(l, "\r")
		if !headerSeen {
			if len(bytes.TrimSpace(l)) > 0 {
				headerSeen = true // the header itself: written fresh, in the 6-field layout
			}
			continue
		}
		row, ok := rows[i+1]
		if !ok {
			if i == len(lines)-1 && len(l) == 0 {
				break // the split after the final newline
			}
			t.lines = append(t.lines, tline{text: append([]byte(nil), l...), row: -1})
			continue
		}
		s := t.newScheme(row)
		s.walkID = uint64(len(t.schemes))
		t.lines = append(t.lines, tline{row: len(t.schemes)})
		t.schemes = append(t.schemes, s)
	}
	return t, nil
}

func (t *Template) newScheme(row amfi.Row) scheme {
	rec := row.Record
	s := scheme{code: rec.SchemeCode, name: rec.SchemeName, isinG: rec.ISINGrowth, isinR: rec.ISINReinvest,
		typ: rec.SchemeType, category: rec.Category, amc: rec.AMC, cls: classify(rec.Category)}
	if f := bytes.Split(row.Raw, []byte(";")); len(f) == 6 {
		s.fields = f
	}
	if row.Reason != "" {
		s.raw = row.Raw
		// A row that is bad every day (a segregated portfolio's NAV of
		// 0.0000) keeps coming, dated like the others.
		if s.fields != nil {
			if d, err := fund.ParseDMY(string(bytes.TrimSpace(s.fields[5]))); err == nil {
				gap := t.Business.DaysSince(d)
				s.rawLive = gap >= 0 && gap <= liveWithin
			}
		}
		return s
	}
	s.daily = fund.CategoryRuleFor(rec.Category) == fund.CategoryLiquid
	nav, err := fund.NAVFromDecimal(rec.NAV, fund.RoundHalfUp)
	if err != nil {
		// Positive by the parser's rules, so only a NAV below 0.00005 lands
		// here: keep the row as it was written.
		s.raw = row.Raw
		return s
	}
	s.anchor, s.anchorDay = rec.Date, dayNumber(rec.Date)
	s.anchorTicks = nav.Decimal().Shift(fund.NAVScale).IntPart()
	if s.fields != nil {
		s.anchorText = bytes.TrimSpace(s.fields[4])
	}
	return s
}

// Schemes returns the number of scheme rows in the template.
func (t *Template) Schemes() int { return len(t.schemes) }

// dayNumber numbers calendar days (days since 1970-01-01).
func dayNumber(d fund.Date) int64 { return d.Time().Unix() / 86400 }

// Keep narrows the template to the schemes whose codes are listed (every
// context line stays, so each kept row keeps its category and AMC) and
// returns how many scheme rows are left. A code the template lacks is an
// error: a demo or benchmark asking for a scheme should not silently get
// none.
func (t *Template) Keep(codes []string) (int, error) {
	want := make(map[string]bool, len(codes))
	for _, c := range codes {
		want[c] = true
	}
	var lines []tline
	var schemes []scheme
	found := map[string]bool{}
	for _, l := range t.lines {
		if l.row < 0 {
			lines = append(lines, l)
			continue
		}
		s := t.schemes[l.row]
		if !want[s.code] {
			continue
		}
		found[s.code] = true
		lines = append(lines, tline{row: len(schemes)})
		schemes = append(schemes, s)
	}
	for _, c := range codes {
		if !found[c] {
			return 0, fmt.Errorf("navgen: the template has no scheme %q", c)
		}
	}
	t.lines, t.schemes = lines, schemes
	return len(schemes), nil
}
