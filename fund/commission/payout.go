package commission

import (
	"fmt"
	"sort"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

// Part is one payee's exact part of a line to be split.
type Part struct {
	Payee string
	Exact Accrual
}

// LargestRemainder is the name of Allocate's rounding, shown on statements.
const LargestRemainder = "total half-up to the paisa, split by largest remainder (ties by payee id)"

// Allocate rounds the sum of parts ONCE (half-up to the paisa) and splits it
// across the parts by the largest-remainder method: each part gets its exact
// value truncated to the paisa, and the paise left over go one each to the
// parts with the largest dropped fractions (ties: smaller payee id first).
// So the parts add up to the rounded total exactly and each is within a
// paisa of its exact value. Parts must not be negative (trail never is).
// The split is fund.SplitLargestRemainder's, over the parts ordered by payee.
func Allocate(parts []Part) (fund.Amount, []fund.Amount, error) {
	var total Accrual
	order := make([]int, len(parts))
	for i, p := range parts {
		if p.Exact.basis.IsNegative() {
			return fund.Amount{}, nil, fmt.Errorf("allocate: %s's part is negative", p.Payee)
		}
		total = total.Add(p.Exact)
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return parts[order[a]].Payee < parts[order[b]].Payee })
	nums := make([]decimal.Decimal, len(parts))
	for k, i := range order {
		nums[k] = parts[i].Exact.basis
	}
	t := total.Amount()
	shares, err := fund.SplitLargestRemainder(t, nums, basisDivisor)
	if err != nil {
		return fund.Amount{}, nil, fmt.Errorf("allocate: %w", err)
	}
	out := make([]fund.Amount, len(parts))
	for k, i := range order {
		out[i] = shares[k]
	}
	return t, out, nil
}

// GSTPct is the GST on a registered distributor's commission (services,
// 18 %): CGST 9 % + SGST 9 % within a state, IGST 18 % across states.
var GSTPct = decimal.New(18, 0)

// TDSRate is the section 194H rate in force from From.
type TDSRate struct {
	From fund.Date
	Pct  decimal.Decimal
}

// TDS194H is the rate table of section 194H (commission or brokerage): 5 %,
// and 2 % from 1 October 2024 (Finance (No. 2) Act 2024).
var TDS194H = []TDSRate{
	{fund.Date{Year: 1, Month: 1, Day: 1}, decimal.New(5, 0)},
	{fund.NewDate(2024, 10, 1), decimal.New(2, 0)},
}

// TDSPctOn returns the 194H rate in force on the payout date.
func TDSPctOn(day fund.Date) decimal.Decimal {
	r := TDS194H[0].Pct
	for _, t := range TDS194H[1:] {
		if day.Before(t.From) {
			break
		}
		r = t.Pct
	}
	return r
}

// Payee describes who a statement is for.
type Payee struct {
	ID            string
	GSTRegistered bool
	IntraState    bool // CGST + SGST instead of IGST
}

// Statement is a payee's monthly payout. Every amount is rounded half-up to
// the paisa once (lines by Allocate, GST and TDS on the gross):
// Net = Gross + GST − TDS.
type Statement struct {
	Payee      string          `json:"payee"`
	PayoutDate fund.Date       `json:"payout_date"`
	Trail      fund.Amount     `json:"trail"` // the payee's trail lines
	Upfront    fund.Amount     `json:"upfront"`
	Events     fund.Amount     `json:"events"`
	Clawback   fund.Amount     `json:"clawback"` // positive: what is taken back
	Gross      fund.Amount     `json:"gross"`    // Trail + Upfront + Events − Clawback
	CGST       fund.Amount     `json:"cgst"`     // 9 %, intra-state
	SGST       fund.Amount     `json:"sgst"`     // 9 %, intra-state
	IGST       fund.Amount     `json:"igst"`     // 18 %, inter-state
	GST        fund.Amount     `json:"gst"`      // CGST + SGST + IGST
	TDSPct     decimal.Decimal `json:"tds_pct"`
	TDS        fund.Amount     `json:"tds"`
	Net        fund.Amount     `json:"net"`
	// BroughtForward is the previous month's Carried (zero or negative):
	// set off against this month's earnings, inside Gross.
	BroughtForward fund.Amount `json:"brought_forward"`
	// Carried is a negative gross (clawbacks beyond the month's earnings,
	// with what was brought forward): nothing is paid, no tax is computed,
	// and it is brought forward into next month's statement.
	Carried fund.Amount `json:"carried"`
}

// Settle computes GST, TDS and net on a payee's month. GST: 18 % of the gross
// for a registered payee (two 9 % lines within the state, each rounded
// half-up, or one 18 % IGST line). TDS: the 194H rate on the payout date, on
// the gross without GST (CBDT circular 23/2017), half-up to the paisa.
func Settle(p Payee, payoutDate fund.Date, trail, upfront, events, clawback fund.Amount) Statement {
	s, _ := SettleCarried(p, payoutDate, trail, upfront, events, clawback, fund.Amount{}) // nothing brought forward: no error
	return s
}

// SettleCarried is Settle with the previous month's Carried (broughtForward,
// zero or negative) set off first: Gross = Trail + Upfront + Events −
// Clawback + BroughtForward, so GST and TDS are on what is payable after the
// set-off, and a gross still negative is carried again. A positive
// broughtForward is refused: only a shortfall is carried.
func SettleCarried(p Payee, payoutDate fund.Date, trail, upfront, events, clawback, broughtForward fund.Amount) (Statement, error) {
	if broughtForward.Sign() > 0 {
		return Statement{}, fmt.Errorf("settle %s: brought forward %s is positive", p.ID, broughtForward)
	}
	s := Statement{Payee: p.ID, PayoutDate: payoutDate, Trail: trail, Upfront: upfront, Events: events, Clawback: clawback,
		BroughtForward: broughtForward}
	s.Gross = trail.Add(upfront).Add(events).Sub(clawback).Add(broughtForward)
	s.TDSPct = TDSPctOn(payoutDate)
	if s.Gross.Sign() <= 0 {
		s.Carried = s.Gross
		return s, nil
	}
	if p.GSTRegistered {
		if p.IntraState {
			s.CGST = pctOf(s.Gross, decimal.New(9, 0))
			s.SGST = pctOf(s.Gross, decimal.New(9, 0))
		} else {
			s.IGST = pctOf(s.Gross, GSTPct)
		}
		s.GST = s.CGST.Add(s.SGST).Add(s.IGST)
	}
	s.TDS = pctOf(s.Gross, s.TDSPct)
	s.Net = s.Gross.Add(s.GST).Sub(s.TDS)
	return s, nil
}

// pctOf returns pct % of a, half-up to the paisa, divided exactly.
func pctOf(a fund.Amount, pct decimal.Decimal) fund.Amount {
	m, err := fund.AmountFromRatio(a.Decimal().Mul(pct), hundred, fund.RoundHalfUp)
	if err != nil {
		panic(err) // unreachable
	}
	return m
}
