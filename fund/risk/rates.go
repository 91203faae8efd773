package risk

import (
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// Rate is an annual risk-free rate (a fraction: 0.065 for 6.5 %) in force
// from a date until the next Rate's.
type Rate struct {
	From   fund.Date
	Annual decimal.Decimal
}

// Rates is an effective-dated risk-free series, From strictly increasing.
// Sharpe and Sortino take, for each return, the rate in force on the
// return's date, a 252nd of it a day.
type Rates []Rate

// Constant is one rate in force on every day.
func Constant(annual decimal.Decimal) Rates {
	// from year 0, the first an ISO date can name (0000-01-01)
	return Rates{{From: fund.NewDate(0, 1, 1), Annual: annual}}
}

// ErrNoRate: a day before the series' first rate.
var ErrNoRate = errors.New("risk: no risk-free rate in force")

// At is the annual rate in force on d.
func (rs Rates) At(d fund.Date) (decimal.Decimal, error) {
	// a few dozen rates at most (a central bank's decisions): a scan
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].From.Order() <= d.Order() {
			return rs[i].Annual, nil
		}
	}
	if len(rs) == 0 {
		return decimal.Decimal{}, fmt.Errorf("%w on %s: the series is empty", ErrNoRate, d)
	}
	return decimal.Decimal{}, fmt.Errorf("%w on %s: the series starts on %s", ErrNoRate, d, rs[0].From)
}

// constant reports the rate when the series is one rate.
func (rs Rates) constant() (decimal.Decimal, bool) {
	if len(rs) == 1 {
		return rs[0].Annual, true
	}
	return decimal.Decimal{}, false
}

// daily is, for each return, the rate in force on its date / 252, exactly,
// and the mean of the annual rates over the returns (exact, then rounded).
func (rs Rates) daily(r []Return) ([]*big.Rat, decimal.Decimal, error) {
	out := make([]*big.Rat, len(r))
	sum := new(big.Rat)
	// one daily rate per annual one, shared by the returns it is in force
	// on (read only): computeMoments converts each once
	type conv struct{ annual, daily *big.Rat }
	seen := map[string]conv{}
	for i, x := range r {
		a, err := rs.At(x.Date)
		if err != nil {
			return nil, decimal.Decimal{}, err
		}
		c, ok := seen[a.String()]
		if !ok {
			ar := decRat(a)
			c = conv{ar, new(big.Rat).Quo(ar, big.NewRat(TradingDays, 1))}
			seen[a.String()] = c
		}
		sum.Add(sum, c.annual)
		out[i] = c.daily
	}
	if c, ok := rs.constant(); ok {
		return out, c, nil
	}
	return out, RoundRat(sum.Quo(sum, big.NewRat(int64(max(len(r), 1)), 1))), nil
}

// ParseRatesCSV reads a risk-free series:
//
//	# comments and blank lines are ignored
//	effective_from,annual_rate
//	2019-02-07,0.0625
//	2019-04-04,0.06
//
// The header line is required (it says the layout); then one rate per line:
// an ISO date, strictly increasing, and the annual rate as a plain decimal
// fraction from 0 to below 1 (0.0625 for 6.25 %: a "6.25" is refused as a
// percentage). Each rate is in force from its date until the next one's; a
// day before the first has none. The first bad line ends the read with a
// *LineError.
func ParseRatesCSV(r io.Reader) (Rates, error) {
	rows, line, header, err := readDated(r, datedLayout{header: "effective_from,annual_rate", required: true, comments: true, what: "rates", parse: parseRate})
	if err != nil {
		return nil, err
	}
	if !header || len(rows) == 0 {
		return nil, &LineError{max(line, 1), "no rates: want the header effective_from,annual_rate and at least one rate"}
	}
	out := make(Rates, len(rows))
	for i, d := range rows {
		out[i] = Rate{From: d.date, Annual: d.value}
	}
	return out, nil
}

// parseRate accepts a plain decimal in [0, 1): digits with at most one point.
func parseRate(s string) (decimal.Decimal, error) {
	d, err := parsePlain("annual_rate", "a plain decimal fraction like 0.065", 20, s)
	if err == nil && d.GreaterThanOrEqual(decimal.NewFromInt(1)) {
		err = fmt.Errorf("annual_rate %q: a fraction below 1 (0.065 for 6.5 %%), not a percentage", s)
	}
	return d, err
}
