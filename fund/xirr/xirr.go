// Package xirr computes an investor's XIRR (the annualised internal rate
// of return over dated cash flows) exactly, in big.Float, as Excel's XIRR.
package xirr

import (
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// CashFlow is one dated cash flow of an investor: negative is money paid in
// (a purchase, a SIP instalment), positive is money received (a redemption,
// an IDCW payout) or the valuation of the holding at the latest NAV, which is
// the last cash flow of a portfolio's XIRR.
type CashFlow struct {
	Date   fund.Date
	Amount decimal.Decimal
}

// ErrNotEnoughCashFlows is returned by Rate for fewer than two cash flows or
// when the flows are not of both signs (all invested or all received): no
// rate of return exists.
var ErrNotEnoughCashFlows = errors.New("xirr: need at least two cash flows, some negative and some positive")

// ErrNoRate is returned (wrapped) by Rate when the flows have both signs but
// no rate between about −99.998 % and +2.9 million % a year makes their net
// present value zero, e.g. all flows on one date, or flows whose sign
// pattern admits no root.
var ErrNoRate = errors.New("xirr: no rate of return found")

// Rate returns the XIRR: the annual rate r that makes the net present value of the
// flows zero:
//
//	Σ Pᵢ / (1 + r)^((dᵢ − d₀)/365) = 0
//
// where d₀ is the earliest date (the flows need not be sorted; flows on the
// same date are added together). The rate is a fraction (0.1 = 10 %),
// rounded HALF-EVEN to 6 decimals: it is a statistic nobody is paid on, and
// banker's rounding carries no systematic bias when rates are compared or
// averaged.
//
// Method: the equation is solved for the daily discount factor
// w = (1 + r)^(−1/365), which turns every term into Pᵢ·w^(dᵢ−d₀), an integer
// power: no logarithm or exponential is needed and the arithmetic is
// math/big floating point at 128 bits (no binary64 anywhere). Newton's method
// starts from r = 10 %; if it leaves the bracket w ∈ [0.96, 1.03]
// (r from about −0.99998 to about 2.9e6), stalls or does not converge, a
// safeguarded Newton–bisection on that bracket takes over. When several
// rates solve the equation, the one Newton reaches from 10 % is returned.
//
// Errors: ErrNotEnoughCashFlows (fewer than two flows, or not both signs);
// ErrNoRate (no root in the bracket). The result is never NaN or infinite.
func Rate(flows []CashFlow) (decimal.Decimal, error) {
	if len(flows) < 2 {
		return decimal.Decimal{}, ErrNotEnoughCashFlows
	}
	var pos, neg bool
	d0 := flows[0].Date
	for _, f := range flows {
		switch f.Amount.Sign() {
		case 1:
			pos = true
		case -1:
			neg = true
		}
		if f.Date.Before(d0) {
			d0 = f.Date
		}
	}
	if !pos || !neg {
		return decimal.Decimal{}, ErrNotEnoughCashFlows
	}
	terms := xirrTerms(flows, d0)
	if len(terms) < 2 {
		return decimal.Decimal{}, fmt.Errorf("%w: the flows net to a single date", ErrNoRate)
	}

	w, ok := xirrNewton(terms, rootN(xirrFloat(10).Quo(xirrFloat(10), xirrFloat(11)), 365))
	if !ok {
		var err error
		if w, err = xirrBracketed(terms); err != nil {
			return decimal.Decimal{}, err
		}
	}

	// r = w^(−365) − 1
	r := xirrFloat(1)
	r.Quo(r, w)
	r = powInt(xirrFloat(0), r, 365)
	r.Sub(r, xirrFloat(1))
	d, err := decimal.NewFromString(r.Text('f', 24))
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("%w: %v", ErrNoRate, err)
	}
	return fund.Round(d, 6, fund.RoundHalfEven)
}

const xirrPrec = 128 // bits of mantissa: about 38 significant digits

// xirrFloat returns v as a big.Float at xirrPrec.
func xirrFloat(v int64) *big.Float { return new(big.Float).SetPrec(xirrPrec).SetInt64(v) }

// xirrTerm is the sum of the flows dated days after d₀.
type xirrTerm struct {
	days int64
	amt  *big.Float // Pᵢ
	damt *big.Float // days × Pᵢ (for the derivative)
}

// xirrTerms nets the flows by date, drops dates that net to zero, and sorts
// by date.
func xirrTerms(flows []CashFlow, d0 fund.Date) []xirrTerm {
	sums := make(map[int64]decimal.Decimal, len(flows))
	for _, f := range flows {
		k := int64(f.Date.DaysSince(d0))
		sums[k] = sums[k].Add(f.Amount)
	}
	terms := make([]xirrTerm, 0, len(sums))
	for k, s := range sums {
		if s.IsZero() {
			continue
		}
		a := new(big.Float).SetPrec(xirrPrec).SetRat(s.Rat())
		terms = append(terms, xirrTerm{days: k, amt: a, damt: new(big.Float).SetPrec(xirrPrec).Mul(a, xirrFloat(k))})
	}
	slices.SortFunc(terms, func(a, b xirrTerm) int {
		switch {
		case a.days < b.days:
			return -1
		case a.days > b.days:
			return 1
		}
		return 0
	})
	return terms
}

// powInt sets z = x^n (n ≥ 0) by binary exponentiation and returns z.
// z must not alias x.
func powInt(z, x *big.Float, n int64) *big.Float {
	return powIntScratch(z, x, n, new(big.Float))
}

// powIntScratch is powInt with a caller-supplied scratch value (no
// allocation in the loop). z, x and scratch must be distinct.
func powIntScratch(z, x *big.Float, n int64, scratch *big.Float) *big.Float {
	z.SetPrec(xirrPrec).SetInt64(1)
	base := scratch.SetPrec(xirrPrec).Set(x)
	for n > 0 {
		if n&1 == 1 {
			z.Mul(z, base)
		}
		n >>= 1
		if n > 0 {
			base.Mul(base, base)
		}
	}
	return z
}

// rootN returns the positive n-th root of a (a in (0, 1]) by Newton's
// method from 1, which approaches the root monotonically from above.
func rootN(a *big.Float, n int64) *big.Float {
	x := xirrFloat(1)
	pw, step := xirrFloat(0), xirrFloat(0)
	nf := xirrFloat(n)
	tol := new(big.Float).SetPrec(xirrPrec).SetMantExp(xirrFloat(1), -120)
	for range 200 {
		// x ← x − (x^n − a) / (n x^(n−1))
		powInt(pw, x, n-1)
		step.Mul(pw, x)
		step.Sub(step, a)
		pw.Mul(pw, nf)
		step.Quo(step, pw)
		x.Sub(x, step)
		if step.Abs(step).Cmp(tol) <= 0 {
			break
		}
	}
	return x
}

// xirrEval holds the scratch values of one XIRR solve, so that evaluating
// the net present value allocates nothing after the first call.
type xirrEval struct {
	terms   []xirrTerm
	pw, tmp *big.Float
	scratch *big.Float
	// A tiny cache of w^Δ for the gaps between dates: SIP flows repeat gaps
	// of 28 to 31 days. Valid for one w only (reset by eval).
	gaps [4]int64
	pows [4]*big.Float
}

func newXIRREval(terms []xirrTerm) *xirrEval {
	e := &xirrEval{terms: terms, pw: xirrFloat(1), tmp: xirrFloat(0), scratch: xirrFloat(0)}
	for i := range e.pows {
		e.pows[i] = xirrFloat(0)
	}
	return e
}

// eval sets f = Σ Pᵢ w^tᵢ and g = Σ tᵢ Pᵢ w^tᵢ (so f'(w) = g / w).
func (e *xirrEval) eval(w, f, g *big.Float) {
	f.SetPrec(xirrPrec).SetInt64(0)
	g.SetPrec(xirrPrec).SetInt64(0)
	e.pw.SetInt64(1) // w^t of the current term
	e.gaps = [4]int64{}
	var prev int64
	for _, tm := range e.terms {
		if gap := tm.days - prev; gap > 0 {
			i := int(gap % int64(len(e.gaps)))
			if e.gaps[i] != gap {
				powIntScratch(e.pows[i], w, gap, e.scratch)
				e.gaps[i] = gap
			}
			e.pw.Mul(e.pw, e.pows[i])
			prev = tm.days
		}
		e.tmp.Mul(tm.amt, e.pw)
		f.Add(f, e.tmp)
		e.tmp.Mul(tm.damt, e.pw)
		g.Add(g, e.tmp)
	}
}

// xirrBounds returns the bracket of the daily discount factor w.
func xirrBounds() (lo, hi *big.Float) {
	lo, hi = xirrFloat(96), xirrFloat(103)
	lo.Quo(lo, xirrFloat(100)) // w = 0.96: r = 0.96^−365 − 1 ≈ 2.9e6
	hi.Quo(hi, xirrFloat(100)) // w = 1.03: r = 1.03^−365 − 1 ≈ −0.99998
	return lo, hi
}

// xirrTol is the convergence tolerance on w: 2^−90 ≈ 8e−28.
func xirrTol() *big.Float { return new(big.Float).SetPrec(xirrPrec).SetMantExp(xirrFloat(1), -90) }

// xirrNewton runs plain Newton from w0 and reports whether it converged
// inside the bracket.
func xirrNewton(terms []xirrTerm, w0 *big.Float) (*big.Float, bool) {
	ev := newXIRREval(terms)
	lo, hi := xirrBounds()
	tol := xirrTol()
	w := new(big.Float).SetPrec(xirrPrec).Set(w0)
	f, g, step := xirrFloat(0), xirrFloat(0), xirrFloat(0)
	for range 60 {
		ev.eval(w, f, g)
		if f.Sign() == 0 {
			return w, true
		}
		if g.Sign() == 0 {
			return nil, false
		}
		// w ← w − f / f'(w) = w − f·w / g
		step.Mul(f, w)
		step.Quo(step, g)
		w.Sub(w, step)
		if w.Cmp(lo) <= 0 || w.Cmp(hi) >= 0 {
			return nil, false
		}
		if step.Abs(step).Cmp(tol) <= 0 {
			return w, true
		}
	}
	return nil, false
}

// xirrBracketed finds a root in [lo, hi] where f changes sign, taking a
// Newton step when it stays inside the shrinking bracket and halves it
// otherwise (the "rtsafe" scheme).
func xirrBracketed(terms []xirrTerm) (*big.Float, error) {
	ev := newXIRREval(terms)
	lo, hi := xirrBounds()
	tol := xirrTol()
	f, g := xirrFloat(0), xirrFloat(0)
	ev.eval(lo, f, g)
	flo := f.Sign()
	ev.eval(hi, f, g)
	fhi := f.Sign()
	switch {
	case flo == 0:
		return lo, nil
	case fhi == 0:
		return hi, nil
	case flo == fhi:
		return nil, fmt.Errorf("%w: the net present value does not change sign between r ≈ −0.99998 and r ≈ 2.9e6", ErrNoRate)
	}
	w := xirrFloat(0).Add(lo, hi)
	w.Quo(w, xirrFloat(2))
	next, step := xirrFloat(0), xirrFloat(0)
	for range 400 {
		ev.eval(w, f, g)
		s := f.Sign()
		if s == 0 {
			return w, nil
		}
		if s == flo {
			lo.Set(w)
		} else {
			hi.Set(w)
		}
		ok := false
		if g.Sign() != 0 {
			step.Mul(f, w)
			step.Quo(step, g)
			next.Sub(w, step)
			ok = next.Cmp(lo) > 0 && next.Cmp(hi) < 0
		}
		if !ok { // bisect
			next.Add(lo, hi)
			next.Quo(next, xirrFloat(2))
		}
		step.Sub(next, w)
		w.Set(next)
		if step.Abs(step).Cmp(tol) <= 0 || xirrFloat(0).Sub(hi, lo).Cmp(tol) <= 0 {
			return w, nil
		}
	}
	return nil, fmt.Errorf("%w: no convergence", ErrNoRate)
}
