package managed

import (
	"errors"
	"fmt"
	"sort"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

// DaysInYear is the AUM fee's day count: rate/365 a day, leap years too.
const DaysInYear = 365

// GSTPercent is GST on fees (18 %).
var GSTPercent = decimal.NewFromInt(18)

// Rate is an annual fee rate in percent, effective from a date (inclusive)
// until the next rate's date.
type Rate struct {
	From    fund.Date       `json:"from"`
	Percent decimal.Decimal `json:"percent"`
}

// RateTable is an account's effective-dated rates, sorted by From.
type RateTable []Rate

// NewRateTable sorts rates and refuses two from one date or a rate outside
// [0, 100].
func NewRateTable(rates ...Rate) (RateTable, error) {
	t := append(RateTable(nil), rates...)
	sort.SliceStable(t, func(i, j int) bool { return t[i].From.Before(t[j].From) })
	for i, r := range t {
		if r.From.IsZero() {
			return nil, fmt.Errorf("rate %d: no effective date", i+1)
		}
		if r.Percent.IsNegative() || r.Percent.GreaterThan(hundred) {
			return nil, fmt.Errorf("rate from %s: %s%% is not in [0, 100]", r.From, r.Percent)
		}
		if i > 0 && t[i-1].From == r.From {
			return nil, fmt.Errorf("two rates from %s", r.From)
		}
	}
	return t, nil
}

// At is the rate in effect on d; false before the first rate.
func (t RateTable) At(d fund.Date) (decimal.Decimal, bool) {
	i := sort.Search(len(t), func(i int) bool { return d.Before(t[i].From) })
	if i == 0 {
		return decimal.Zero, false
	}
	return t[i-1].Percent, true
}

// AUM is an account's assets under management valued on a date (a
// business day: holidays have no valuation and carry the last one).
type AUM struct {
	Date  fund.Date   `json:"date"`
	Value fund.Amount `json:"value"`
}

// DayAccrual is one calendar day's accrual.
type DayAccrual struct {
	Date    fund.Date       `json:"date"`
	AUM     fund.Amount     `json:"aum"`
	Percent decimal.Decimal `json:"rate_pct"`
	Carried bool            `json:"carried,omitempty"` // no valuation that day: the last one's AUM
	// Accrued is AUM × rate/100/365 rounded DOWN to 1/10,000 paisa, for
	// display; the fee is computed from the exact sum, not from these.
	Accrued decimal.Decimal `json:"accrued"`
}

// Accrual is the AUM fee for a period.
type Accrual struct {
	From fund.Date    `json:"from"`
	To   fund.Date    `json:"to"`
	Days []DayAccrual `json:"days,omitempty"`
	// Runs are the days in stretches of one valuation and one rate
	// (AccrueAUMFeeRuns: what a billing run stores; Expanded gives Days).
	Runs []Run `json:"runs,omitempty"`
	// Fee is Σ AUM_d × rate_d / (100 × 365) over the days, computed exactly
	// and rounded DOWN to the paisa once, so it never exceeds the stated
	// rates (and loses under a paisa to the investor's benefit).
	Fee fund.Amount `json:"fee"`
}

// ErrNoAUM is returned (wrapped) when a period's first day has no
// valuation on or before it to carry.
var ErrNoAUM = errors.New("no AUM valuation on or before the day")

// AccrueAUMFee accrues the management fee for each calendar day from..to
// (inclusive): that day's AUM (a day without a valuation, a weekend or
// holiday, carries the last one before it) at the rate in effect that day,
// rate/365 a day. A rate change mid-period accrues each rate for its own
// days. aum need not be sorted; two valuations of one date are refused.
func AccrueAUMFee(from, to fund.Date, aum []AUM, rates RateTable) (Accrual, error) {
	vals, err := sortedAUM(from, to, aum)
	if err != nil {
		return Accrual{}, err
	}
	acc := Accrual{From: from, To: to}
	num := decimal.Zero // Σ AUM × percent
	den := decimal.NewFromInt(100 * DaysInYear)
	j := -1 // index of the last valuation on or before d
	for d := from; !d.After(to); d = d.AddDays(1) {
		for j+1 < len(vals) && !vals[j+1].Date.After(d) {
			j++
		}
		if j < 0 {
			return Accrual{}, fmt.Errorf("fee: %s: %w", d, ErrNoAUM)
		}
		pct, ok := rates.At(d)
		if !ok {
			return Accrual{}, fmt.Errorf("fee: %s: no rate in effect", d)
		}
		v := vals[j].Value.Decimal()
		num = num.Add(v.Mul(pct))
		acc.Days = append(acc.Days, DayAccrual{
			Date: d, AUM: vals[j].Value, Percent: pct, Carried: vals[j].Date != d,
			Accrued: truncDiv(v.Mul(pct), den, fund.AmountScale+4),
		})
	}
	fee, err := fund.AmountFromRatio(num, den, fund.RoundDown)
	if err != nil {
		return Accrual{}, fmt.Errorf("fee: %w", err)
	}
	acc.Fee = fee
	return acc, nil
}

// sortedAUM checks a period and sorts its valuations by date, refusing a
// negative one or two of one date.
func sortedAUM(from, to fund.Date, aum []AUM) ([]AUM, error) {
	if to.Before(from) {
		return nil, fmt.Errorf("fee: period %s..%s ends before it starts", from, to)
	}
	vals := append([]AUM(nil), aum...)
	sort.SliceStable(vals, func(i, j int) bool { return vals[i].Date.Before(vals[j].Date) })
	for i, v := range vals {
		if v.Value.IsNegative() {
			return nil, fmt.Errorf("fee: AUM on %s is negative", v.Date)
		}
		if i > 0 && vals[i-1].Date == v.Date {
			return nil, fmt.Errorf("fee: two AUM valuations on %s", v.Date)
		}
	}
	return vals, nil
}

// Run is a stretch of calendar days From..To (inclusive) accrued on one
// valuation (of date Valued, carried on the days after it) at one rate.
type Run struct {
	From    fund.Date       `json:"from"`
	To      fund.Date       `json:"to"`
	Valued  fund.Date       `json:"valued"`
	AUM     fund.Amount     `json:"aum"`
	Percent decimal.Decimal `json:"rate_pct"`
}

// AccrueAUMFeeRuns is AccrueAUMFee by stretches instead of days: the same
// fee, refusals and days (Expanded), in work proportional to the
// valuations and rate changes, not the days: a billing run over a million
// wallets stores a few runs per invoice, not 92 days.
func AccrueAUMFeeRuns(from, to fund.Date, aum []AUM, rates RateTable) (Accrual, error) {
	vals, err := sortedAUM(from, to, aum)
	if err != nil {
		return Accrual{}, err
	}
	acc := Accrual{From: from, To: to}
	num := decimal.Zero // Σ AUM × percent × days
	j := -1             // index of the last valuation on or before d
	for d := from; !d.After(to); {
		for j+1 < len(vals) && !vals[j+1].Date.After(d) {
			j++
		}
		if j < 0 {
			return Accrual{}, fmt.Errorf("fee: %s: %w", d, ErrNoAUM)
		}
		pct, ok := rates.At(d)
		if !ok {
			return Accrual{}, fmt.Errorf("fee: %s: no rate in effect", d)
		}
		end := to // the day before the next valuation or rate, or to
		if j+1 < len(vals) && !vals[j+1].Date.After(end) {
			end = vals[j+1].Date.AddDays(-1)
		}
		if k := sort.Search(len(rates), func(i int) bool { return d.Before(rates[i].From) }); k < len(rates) && !rates[k].From.After(end) {
			end = rates[k].From.AddDays(-1)
		}
		days := decimal.NewFromInt(int64(end.DaysSince(d)) + 1)
		num = num.Add(vals[j].Value.Decimal().Mul(pct).Mul(days))
		acc.Runs = append(acc.Runs, Run{From: d, To: end, Valued: vals[j].Date, AUM: vals[j].Value, Percent: pct})
		d = end.AddDays(1)
	}
	fee, err := fund.AmountFromRatio(num, decimal.NewFromInt(100*DaysInYear), fund.RoundDown)
	if err != nil {
		return Accrual{}, fmt.Errorf("fee: %w", err)
	}
	acc.Fee = fee
	return acc, nil
}

// Expanded fills Days from Runs (an accrual stored by runs), as
// AccrueAUMFee would have.
func (a Accrual) Expanded() Accrual {
	if len(a.Days) > 0 || len(a.Runs) == 0 {
		return a
	}
	den := decimal.NewFromInt(100 * DaysInYear)
	for _, r := range a.Runs {
		accrued := truncDiv(r.AUM.Decimal().Mul(r.Percent), den, fund.AmountScale+4)
		for d := r.From; !d.After(r.To); d = d.AddDays(1) {
			a.Days = append(a.Days, DayAccrual{Date: d, AUM: r.AUM, Percent: r.Percent, Carried: r.Valued != d, Accrued: accrued})
		}
	}
	return a
}

// GST is the GST on a fee: 18 % rounded HALF-UP to the paisa, as on a tax
// invoice.
func GST(fee fund.Amount) fund.Amount {
	g, err := fund.AmountFromRatio(fee.Decimal().Mul(GSTPercent), hundred, fund.RoundHalfUp)
	if err != nil {
		panic(err) // unreachable: the divisor is 100
	}
	return g
}

// Invoice is a fee with its GST.
type Invoice struct {
	Fee   fund.Amount `json:"fee"`
	GST   fund.Amount `json:"gst"`
	Total fund.Amount `json:"total"`
}

// NewInvoice puts GST on a fee.
func NewInvoice(fee fund.Amount) Invoice {
	g := GST(fee)
	return Invoice{Fee: fee, GST: g, Total: fee.Add(g)}
}

// truncDiv is a/b truncated to scale decimals, exactly.
func truncDiv(a, b decimal.Decimal, scale int32) decimal.Decimal {
	q, _ := a.QuoRem(b, scale)
	return q
}
