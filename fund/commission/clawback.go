package commission

import (
	"errors"
	"fmt"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

// UpfrontEligible reports whether a SIP instalment earns the upfronted trail
// under s: a new investor's (first investment in mutual funds) SIP of at most
// UpfrontMaxSIP in a regular plan with an upfront rate.
func UpfrontEligible(s Structure, newInvestor bool, instalment fund.Amount) bool {
	return s.Plan == Regular && newInvestor && s.UpfrontPct.Sign() > 0 &&
		!instalment.IsNegative() && instalment.Cmp(s.UpfrontMaxSIP) <= 0
}

// Upfront returns the upfront on an eligible instalment: amount × UpfrontPct,
// half-up to the paisa (a payout line: rounded once).
func Upfront(s Structure, instalment fund.Amount) fund.Amount {
	return pctOf(instalment, s.UpfrontPct)
}

// Lot is a purchase lot of a folio in a scheme, in FIFO order, with what is
// left of it and the upfront paid on it (zero for a lot without one).
type Lot struct {
	ID           string
	Date         fund.Date
	Units        fund.Units // allotted
	Remaining    fund.Units
	Upfront      fund.Amount
	ClawbackDays int
}

// ClawLine is the clawback of one lot's upfront.
type ClawLine struct {
	LotID         string
	Units         fund.Units // taken from the lot by the redemption
	UnexpiredDays int
	Amount        fund.Amount
}

// ErrNotEnoughUnits is returned when a redemption takes more than the lots hold.
var ErrNotEnoughUnits = errors.New("redemption exceeds the lots' units")

// Clawback applies a redemption of units on day to lots FIFO (oldest first)
// and returns the lots left and the clawback lines. A lot whose units are
// taken within its clawback period gives back its upfront pro rata twice
// over: by the share of its units taken and by the unexpired part of the
// period:
//
//	upfront × taken / allotted × (lot date + period − day) / period
//
// kept exact and rounded half-up once per line. Lots outside their period (or
// without an upfront) are consumed all the same, with no line.
func Clawback(lots []Lot, day fund.Date, units fund.Units) ([]Lot, []ClawLine, error) {
	out := append([]Lot(nil), lots...)
	left := units.Decimal()
	var lines []ClawLine
	for i := range out {
		if left.Sign() <= 0 {
			break
		}
		l := &out[i]
		if l.Remaining.Sign() <= 0 {
			continue
		}
		take := decimal.Min(left, l.Remaining.Decimal())
		left = left.Sub(take)
		takeU, err := fund.UnitsFromDecimal(take, l.Remaining.Scale(), fund.NoRounding)
		if err != nil {
			return nil, nil, fmt.Errorf("lot %s: %w", l.ID, err)
		}
		l.Remaining = l.Remaining.Sub(takeU)
		line, ok, err := ClawLot(*l, day, takeU)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			lines = append(lines, line)
		}
	}
	if left.Sign() > 0 {
		return nil, nil, fmt.Errorf("%w: %s units short", ErrNotEnoughUnits, left)
	}
	return out, lines, nil
}

// ClawLot is the clawback of taking units from lot l on day (Clawback's rule
// for one lot, also applied to the ledger's own FIFO consumptions):
//
//	upfront × taken / allotted × (lot date + period − day) / period
//
// half-up to the paisa; ok is false when nothing is clawed back (no upfront,
// or the period is over on day).
func ClawLot(l Lot, day fund.Date, taken fund.Units) (ClawLine, bool, error) {
	unexpired := l.Date.AddDays(l.ClawbackDays).DaysSince(day)
	if l.Upfront.Sign() <= 0 || l.ClawbackDays <= 0 || unexpired <= 0 || l.Units.Sign() <= 0 || taken.Sign() <= 0 {
		return ClawLine{}, false, nil
	}
	num := l.Upfront.Decimal().Mul(taken.Decimal()).Mul(decimal.New(int64(unexpired), 0))
	den := l.Units.Decimal().Mul(decimal.New(int64(l.ClawbackDays), 0))
	amt, err := fund.AmountFromRatio(num, den, fund.RoundHalfUp)
	if err != nil {
		return ClawLine{}, false, fmt.Errorf("lot %s: %w", l.ID, err)
	}
	if amt.Sign() <= 0 {
		return ClawLine{}, false, nil
	}
	return ClawLine{LotID: l.ID, Units: taken, UnexpiredDays: unexpired, Amount: amt}, true, nil
}
