// Package nav is the typed stage of nav-ingest: it decodes AMFI NAV files
// into items with their file position, and validates them (positive, dated,
// not in the future, no implausible jump from the scheme's previous NAV)
// before they are published.
package nav

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/transforms/amfi"
)

// Item is one parsed data line of a NAV file.
type Item struct {
	Row      amfi.Row
	From     fund.Source
	Business fund.Date // the file's business date (see amfi.BusinessDateOf)
	Header   string    // the file's header line: how to read Row.Raw again
}

// Origin returns the item's file position and raw line.
func (it Item) Origin() (fund.Source, []byte) { return it.From, it.Row.Raw }

// replayContext is what a quarantined row needs besides its raw bytes to be
// read again without its file: the header, the block and AMC lines above
// it, and the file's business date (for the future-date rule).
type replayContext struct {
	Header     string `json:"header"`
	SchemeType string `json:"scheme_type,omitempty"`
	Category   string `json:"category,omitempty"`
	AMC        string `json:"amc,omitempty"`
	Business   string `json:"business_date,omitempty"`
}

// ReplayContext is stored with a quarantined row (pipelines.Contextual).
func (it Item) ReplayContext() []byte {
	c := replayContext{Header: it.Header, SchemeType: it.Row.Record.SchemeType, Category: it.Row.Record.Category, AMC: it.Row.Record.AMC}
	if !it.Business.IsZero() {
		c.Business = it.Business.String()
	}
	b, _ := json.Marshal(c) // strings only: cannot fail
	return b
}

// Reread reads a quarantined row again from its raw bytes and the context
// ReplayContext stored, as the parser would now read it in its file: a
// small file of the header, the block and AMC lines and the row, parsed by
// the same parser. The item keeps the row's original position.
func Reread(raw, context []byte, from fund.Source) (Item, error) {
	var c replayContext
	if err := json.Unmarshal(context, &c); err != nil || c.Header == "" {
		return Item{}, fmt.Errorf("nav: no replay context for %s line %d (quarantined before contexts were kept?)", from.File, from.Line)
	}
	var b bytes.Buffer
	b.WriteString(c.Header + "\n")
	if c.SchemeType != "" {
		b.WriteString(c.SchemeType + "(" + c.Category + ")\n")
	}
	if c.AMC != "" {
		b.WriteString(c.AMC + "\n")
	}
	b.Write(raw)
	b.WriteString("\n")
	p, err := amfi.NewParser(&b)
	if err != nil {
		return Item{}, fmt.Errorf("nav: replay %s line %d: %w", from.File, from.Line, err)
	}
	row, err := p.Next()
	if err != nil {
		return Item{}, fmt.Errorf("nav: replay %s line %d: not a data row (%v)", from.File, from.Line, err)
	}
	row.Line = from.Line
	it := Item{Row: row, From: from, Header: c.Header}
	if c.Business != "" {
		if it.Business, err = fund.ParseISODate(c.Business); err != nil {
			return Item{}, fmt.Errorf("nav: replay context of %s line %d: %w", from.File, from.Line, err)
		}
	}
	return it, nil
}

// Decode is the feed decoder for AMFI NAV files. It finds the file's
// business date in a first pass and streams the rows in a second; a
// seekable input (the feed's spooled file) is read twice from disk, so a
// history report of millions of rows never sits in memory, anything else is
// read into memory first. A body that is not a NAV file (an HTML error page,
// an unknown header, no rows at all) rejects the file as a whole.
func Decode(r io.Reader, file fund.Source) (func() (Item, error), error) {
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, pipelines.Transient(err)
		}
		rs = bytes.NewReader(data)
	}
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	p, err := amfi.NewParser(rs)
	if err != nil {
		if errors.Is(err, amfi.ErrNotNAVFile) {
			return nil, fmt.Errorf("%w: %w", pipelines.ErrRejectFile, err)
		}
		return nil, err
	}
	counts := map[fund.Date]int{}
	rows := 0
	for {
		row, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		rows++
		if row.Reason == "" {
			counts[row.Record.Date]++
		}
	}
	if rows == 0 {
		return nil, fmt.Errorf("%w: %s has an AMFI header but no NAV rows", pipelines.ErrRejectFile, file.File)
	}
	business := amfi.BusinessDateOf(p.Layout(), counts)
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return nil, err
	}
	if p, err = amfi.NewParser(rs); err != nil {
		return nil, err
	}
	header := p.Header()
	return func() (Item, error) {
		row, err := p.Next()
		if err != nil {
			return Item{}, err
		}
		from := file
		from.Line = row.Line
		return Item{Row: row, From: from, Business: business, Header: header}, nil
	}, nil
}

// Thresholds are the largest relative NAV moves from the previous NAV that
// publish without review, by kind of scheme.
type Thresholds struct {
	Liquid decimal.Decimal // liquid, overnight and money-market schemes
	Debt   decimal.Decimal // other debt schemes
	Other  decimal.Decimal // equity, hybrid, index, FoF, ...
	// MaxGapDays: the jump check compares only with a previous NAV at most
	// this many days older; after a long gap a large move is plausible.
	MaxGapDays int
}

// DefaultThresholds: a liquid fund moves a few basis points a day, a debt
// fund rarely more than a couple of percent, an equity fund fell 13% on the
// worst day of March 2020.
var DefaultThresholds = Thresholds{
	Liquid:     decimal.RequireFromString("0.02"),
	Debt:       decimal.RequireFromString("0.10"),
	Other:      decimal.RequireFromString("0.25"),
	MaxGapDays: 10,
}

// For returns the threshold of a category.
func (t Thresholds) For(category string) decimal.Decimal {
	c := strings.ToLower(category)
	switch {
	case strings.Contains(c, "liquid"), strings.Contains(c, "overnight"), strings.Contains(c, "money market"):
		return t.Liquid
	case strings.Contains(c, "debt"), strings.Contains(c, "income"), strings.Contains(c, "gilt"), strings.Contains(c, "bond"):
		return t.Debt
	}
	return t.Other
}

// Validator checks items against the rules and the schemes' previous NAVs.
// It is used by one goroutine (the engine's transformer) and learns each
// NAV it passes, so a multi-file backfill compares each day with the last.
type Validator struct {
	prev       map[string]fund.DatedNAV
	thresholds Thresholds
}

// NewValidator starts from the schemes' latest NAVs (from nav_latest).
func NewValidator(latest map[string]fund.DatedNAV, t Thresholds) *Validator {
	if latest == nil {
		latest = map[string]fund.DatedNAV{}
	}
	return &Validator{prev: latest, thresholds: t}
}

// Reasons a validator quarantines a row for, beyond the parser's.
const (
	ReasonNAVJump      = "nav_jump"      // held for review: moved more than the category allows
	ReasonNAVPrecision = "nav_precision" // more than 8 decimals: more than storage keeps exactly
)

// MaxNAVDecimals is the scale of NAV columns in Postgres and ClickHouse.
const MaxNAVDecimals = 8

// Stage validates one item.
func (v *Validator) Stage(ctx context.Context, it Item) (fund.NAVLine, error) {
	row := it.Row
	if row.Reason != "" {
		return fund.NAVLine{}, &pipelines.RejectError{Reason: row.Reason, Detail: row.Detail}
	}
	rec := row.Record
	if amfi.IsFutureDated(rec.Date, it.Business) {
		return fund.NAVLine{}, pipelines.Reject(amfi.ReasonFutureDate, "dated %s, more than %d days after the file's business date %s",
			rec.Date, amfi.FutureLimitDays, it.Business)
	}
	if -rec.NAV.Exponent() > MaxNAVDecimals && !rec.NAV.Equal(rec.NAV.Round(MaxNAVDecimals)) {
		return fund.NAVLine{}, pipelines.Reject(ReasonNAVPrecision, "NAV %s has more than %d decimals", rec.NAV, MaxNAVDecimals)
	}
	if p, ok := v.prev[rec.SchemeCode]; ok && rec.Date.After(p.Date) && rec.Date.DaysSince(p.Date) <= v.thresholds.MaxGapDays {
		limit := v.thresholds.For(rec.Category)
		move := rec.NAV.Sub(p.NAV).Div(p.NAV).Abs()
		if move.GreaterThan(limit) {
			return fund.NAVLine{}, pipelines.Reject(ReasonNAVJump, "NAV %s on %s moved %s%% from %s on %s; the limit for %q is %s%%",
				rec.NAV, rec.Date, move.Mul(decimal.NewFromInt(100)).StringFixed(2), p.NAV, p.Date, rec.Category, limit.Mul(decimal.NewFromInt(100)).String())
		}
	}
	if p, ok := v.prev[rec.SchemeCode]; !ok || rec.Date.After(p.Date) {
		v.prev[rec.SchemeCode] = fund.DatedNAV{NAV: rec.NAV, Date: rec.Date}
	}
	return fund.NAVLine{NAVRecord: rec, From: it.From}, nil
}
