package nav

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/transforms/amfi"
)

// refValidator is the validator as it was before its fast paths (session
// 34's Stage, word for word on math/big divisions, time.Date comparisons
// and per-row lower-casing): what the fast validator must decide, row by
// row, reason and detail alike.
type refValidator struct {
	prev       map[string]fund.DatedNAV
	thresholds Thresholds
	now        func() time.Time
	futureDays int
	stored     []Holder
}

func (v *refValidator) Stage(it Item) (fund.NAVLine, error) {
	row := it.Row
	if row.Reason != "" {
		return fund.NAVLine{}, &pipelines.RejectError{Reason: row.Reason, Detail: row.Detail}
	}
	rec := row.Record
	if err := refStorable(rec); err != nil {
		return fund.NAVLine{}, err
	}
	if err := v.dated(rec.Date, it.Business); err != nil {
		return fund.NAVLine{}, err
	}
	if f := it.FirstSaid; f != nil {
		return fund.NAVLine{}, pipelines.Reject(ReasonDuplicateConflict, "scheme %s on %s was given at line %d with NAV %s; this line says %s (the first one is kept)",
			rec.SchemeCode, rec.Date, f.From.Line, f.NAV, rec.NAV)
	}
	all := len(v.stored) > 0
	for _, h := range v.stored {
		all = all && h.Holds(rec)
	}
	if all {
		return fund.NAVLine{}, pipelines.ErrStored
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

func (v *refValidator) dated(d, business fund.Date) error {
	if d.Before(MinNAVDate) {
		return pipelines.Reject(ReasonDateOutOfRange, "dated %s, before %s: no NAV is that old", d, MinNAVDate)
	}
	if amfi.IsFutureDated(d, business) {
		return pipelines.Reject(amfi.ReasonFutureDate, "dated %s, more than %d days after the file's business date %s",
			d, amfi.FutureLimitDays, business)
	}
	if today := Today(v.now()); d.After(today.AddDays(v.futureDays)) {
		return pipelines.Reject(amfi.ReasonFutureDate, "dated %s, more than %d days after today (%s in IST)", d, v.futureDays, today)
	}
	return nil
}

func refStorable(rec fund.NAVRecord) error {
	if -rec.NAV.Exponent() > MaxNAVDecimals && !rec.NAV.Equal(rec.NAV.Round(MaxNAVDecimals)) {
		return pipelines.Reject(ReasonNAVPrecision, "NAV %s has more than %d decimals", rec.NAV, MaxNAVDecimals)
	}
	for _, f := range []struct {
		name string
		v    decimal.NullDecimal
	}{{"NAV", decimal.NullDecimal{Decimal: rec.NAV, Valid: true}}, {"repurchase price", rec.Repurchase}, {"sale price", rec.Sale}} {
		if f.v.Valid && f.v.Decimal.Abs().GreaterThanOrEqual(roundsToMax) {
			return pipelines.Reject(ReasonNAVOutOfRange, "%s %s does not fit the NAV columns (%d digits, %d after the point: less than %s)",
				f.name, f.v.Decimal, NAVPrecision, MaxNAVDecimals, MaxNAVExclusive)
		}
	}
	for _, f := range []struct{ name, v string }{
		{"scheme code", rec.SchemeCode}, {"scheme name", rec.SchemeName}, {"ISIN", rec.ISINGrowth}, {"reinvestment ISIN", rec.ISINReinvest},
		{"plan", rec.Plan}, {"option", rec.Option}, {"category", rec.Category}, {"scheme type", rec.SchemeType}, {"AMC", rec.AMC},
	} {
		if i := strings.IndexByte(f.v, 0); i >= 0 {
			return pipelines.Reject(ReasonBadEncoding, "%s %q has a NUL byte at byte %d", f.name, f.v, i+1)
		}
		if !utf8.ValidString(f.v) {
			return pipelines.Reject(ReasonBadEncoding, "%s %q is not UTF-8 (a Latin-1 or Windows-1252 byte?)", f.name, f.v)
		}
	}
	return nil
}

// outcome is what a stage said of a row, comparable across validators.
func outcome(line fund.NAVLine, err error) string {
	var rej *pipelines.RejectError
	switch {
	case errors.Is(err, pipelines.ErrStored):
		return "stored"
	case errors.As(err, &rej):
		return "reject " + rej.Reason + ": " + rej.Detail
	case err != nil:
		return "error " + err.Error()
	}
	return fmt.Sprintf("pass %s %s %s line %d", line.SchemeCode, line.Date, line.NAV, line.From.Line)
}

// both runs items through the fast validator and the reference from the
// same previous NAVs, clock and stores, and fails at the first row they
// judge differently. It returns how many rows each outcome kind had.
func both(t testing.TB, items []Item, prev map[string]fund.DatedNAV, now func() time.Time, stored []Holder) map[string]int {
	t.Helper()
	v := NewValidator(prev, DefaultThresholds)
	v.Now, v.Stored = now, stored
	ref := &refValidator{prev: map[string]fund.DatedNAV{}, thresholds: DefaultThresholds, now: now, futureDays: amfi.FutureLimitDays, stored: stored}
	for k, p := range prev {
		ref.prev[k] = p
	}
	kinds := map[string]int{}
	for _, it := range items {
		got, want := outcome(v.Stage(context.Background(), it)), outcome(ref.Stage(it))
		if got != want {
			t.Fatalf("%s line %d (%q):\n got %s\nwant %s", it.From.File, it.From.Line, it.Row.Raw, got, want)
		}
		kind, _, _ := strings.Cut(want, ":")
		kind, _, _ = strings.Cut(kind, " "+it.Row.Record.SchemeCode)
		kinds[kind]++
	}
	return kinds
}

// decodeBytes is decodeAll for bytes that may not be a NAV file (none).
func decodeBytes(t testing.TB, data []byte, file string) []Item {
	t.Helper()
	next, err := Decode(bytes.NewReader(data), fund.Origin{File: file})
	if err != nil {
		return nil
	}
	var items []Item
	for {
		it, err := next()
		if errors.Is(err, io.EOF) {
			return items
		}
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
}

// Every row of every NAVAll fixture gets the reference's verdict, against
// previous NAVs placed around each category's limit (just under, at, just
// over, far over, down as well as up), a day, the gap limit and a day past
// it before, or after the row; with a store that holds every other scheme.
func TestStageIsTheReference(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(filepath.Dir(testkit.Fixture(t, "amfi/navall/NAVAll_2019-06-21.txt")), "NAVAll_*.txt"))
	if err != nil || len(files) < 7 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	// prev·(1+f) = nav: f just around the limits of 0.02, 0.10, 0.25
	tiny := decimal.New(1, -16)
	var factors []decimal.Decimal
	for _, l := range []string{"0.02", "0.10", "0.25"} {
		for _, d := range []decimal.Decimal{tiny.Neg(), decimal.Zero, tiny, decimal.New(5, -17), decimal.New(1, -9)} {
			f := decimal.RequireFromString(l).Add(d)
			factors = append(factors, f, f.Neg())
		}
	}
	factors = append(factors, decimal.Zero, decimal.RequireFromString("3"), decimal.RequireFromString("-0.9"))
	total := map[string]int{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		items := decodeBytes(t, data, filepath.Base(file))
		prev := map[string]fund.DatedNAV{}
		for i, it := range items {
			r := it.Row.Record
			if it.Row.Reason != "" || !r.NAV.IsPositive() {
				continue
			}
			// nav = prev·(1+f), so prev = nav/(1+f), rounded to 8 places
			// (a stored NAV): the move lands within 10^-8 of the edge.
			f := factors[i%len(factors)]
			p := r.NAV.DivRound(decimal.NewFromInt(1).Add(f), 8)
			if !p.IsPositive() {
				p = r.NAV
			}
			gap := []int{1, 1, 1, DefaultThresholds.MaxGapDays, DefaultThresholds.MaxGapDays + 1, -1, 0}[i%7]
			prev[r.SchemeCode] = fund.DatedNAV{NAV: p, Date: r.Date.AddDays(-gap)}
		}
		for _, now := range []func() time.Time{clock, func() time.Time { return time.Date(2019, 6, 21, 20, 0, 0, 0, time.UTC) }} {
			odd := holderFunc(func(r fund.NAVRecord) bool { return r.SchemeCode != "" && r.SchemeCode[len(r.SchemeCode)-1]%2 == 1 })
			for _, stored := range [][]Holder{nil, {odd}} {
				for k, n := range both(t, items, prev, now, stored) {
					total[k] += n
				}
			}
		}
	}
	t.Logf("outcomes: %v", total)
	// the comparison saw every kind of verdict the fixtures allow
	for _, k := range []string{"pass", "stored", "reject " + ReasonNAVJump, "reject " + amfi.ReasonFutureDate, "reject " + amfi.ReasonNAVNotAvailable} {
		if total[k] == 0 {
			t.Errorf("no row had outcome %q: the comparison does not cover it", k)
		}
	}
}

// The integer form of the jump rule decides as the division does, at and
// around the edge, for NAVs of any scale and thresholds with any digits.
func TestJumpEdgeIsTheDivision(t *testing.T) {
	d := decimal.RequireFromString
	for _, c := range []struct{ nav, prev, limit string }{
		{"102", "100", "0.02"}, {"102.00000001", "100", "0.02"}, {"101.99999999", "100", "0.02"},
		{"98", "100", "0.02"}, {"97.99999999", "100", "0.02"},
		{"1.0000000000000001", "1", "0"}, {"1", "3", "0.6666666666666666"}, {"1", "3", "0.66666666666666667"},
		{"5", "3", "0.6666666666666666"}, {"5", "3", "0.66666666666666665"}, {"5", "3", "0.6666666666666667"},
		{"9999999999.99999999", "0.00000001", "0.25"}, {"0.00000001", "9999999999.99999999", "0.25"},
		{"12.5", "10", "0.25"}, {"7.5", "10", "0.25"}, {"12.50000001", "10", "0.25"},
		{"100", "100", "0"}, {"100.00000001", "100", "0"}, {"100", "100", "1000000000"},
		// exactly half a unit of the 16th place over the limit: the division
		// rounds the tie away from zero, a jump
		{"2.0000000000000001", "2", "0"}, {"2.0400000000000001", "2", "0.02"}, {"1.9599999999999999", "2", "0.02"},
		{"123456789012345678", "1", "0.25"}, {"1", "1234567890.12345678", "0.5"},
	} {
		nav, prev, limit := d(c.nav), d(c.prev), d(c.limit)
		want := jumpMove(nav, prev).GreaterThan(limit)
		if got := newJumpLimit(limit).exceeded(nav, prev); got != want {
			t.Errorf("NAV %s from %s, limit %s: exceeded %v, the division says %v (move %s)", nav, prev, limit, got, want, jumpMove(nav, prev))
		}
	}
}

func FuzzJumpIsTheDivision(f *testing.F) {
	f.Add(int64(10200000000), int32(-8), int64(100), int32(0), "0.02")
	f.Add(int64(5), int32(0), int64(3), int32(0), "0.66666666666666665")
	f.Add(int64(999999999999999999), int32(-8), int64(1), int32(-8), "0.25")
	f.Add(int64(1), int32(-8), int64(999999999999999999), int32(-8), "0.10")
	f.Fuzz(func(t *testing.T, nc int64, ne int32, pc int64, pe int32, limit string) {
		l, err := decimal.NewFromString(limit)
		if err != nil || ne < -20 || ne > 20 || pe < -20 || pe > 20 || l.Exponent() < -40 || l.Exponent() > 20 {
			return
		}
		nav, prev := decimal.New(nc, ne), decimal.New(pc, pe)
		if prev.Sign() == 0 {
			return // the division panics: the stage never has a zero NAV
		}
		want := jumpMove(nav, prev).GreaterThan(l)
		if got := newJumpLimit(l).exceeded(nav, prev); got != want {
			t.Fatalf("NAV %s from %s, limit %s: exceeded %v, the division says %v (move %s)", nav, prev, l, got, want, jumpMove(nav, prev))
		}
	})
}

// Whatever the bytes, the fast validator judges every row as the
// reference does (the file's own rows, one after another, feed the jump
// rule's previous NAVs).
func FuzzStageIsTheReference(f *testing.F) {
	const h = "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date\n"
	f.Add([]byte(h + "Open Ended Schemes(Debt Scheme - Liquid Fund)\nAMC\n100;-;-;A;10.5;01-Dec-2026\n100;-;-;A;10.71;02-Dec-2026\n100;-;-;A;10.7;03-Dec-2026\n"))
	f.Add([]byte(h + "M\xfcller AMC\n100;-;-;B\x00x;10;01-Dec-2026\n101;-;-;C;99999999999999999999.1234;01-Dec-2026\n101;-;-;C\xe9;9999999999.999999995;01-Dec-2026\n"))
	f.Add([]byte(h + "102;-;-;D;1;01-Dec-1899\n103;-;-;E;1;01-Jan-2150\n103;-;-;E;1;10-Dec-2026\n104;-;-;Caf\xc3\xa9 Growth Fund;1.25;01-Dec-2026\n104;-;-;Caf\xc3\xa9 Growth Fund;1.5625;02-Dec-2026\n"))
	for _, name := range []string{"NAVAll_2017-04-13_8col-repurchase-sale.txt", "NAVAll_2026-08-21_8col-plan-option.txt"} {
		data, err := os.ReadFile(testkit.Fixture(f, "amfi/navall/"+name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[:min(len(data), 4000)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		both(t, decodeBytes(t, data, "fuzz.txt"), nil, clock, nil)
	})
}
