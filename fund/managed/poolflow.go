package managed

import (
	"fmt"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// Pool rounding, stated once (issue 22):
//   - pool NAV: (holdings at the day's NAVs + cash) ÷ units, HALF-UP to 4
//     decimals (PoolNAV);
//   - a holding's value: units × the scheme's NAV, HALF-UP to the paisa
//     (fund.Units.Value), each holding rounded, then summed;
//   - units a contribution buys: amount ÷ NAV, DOWN to 3 decimals (the
//     member never gets more units than the money paid for);
//   - money a withdrawal pays: units × NAV, DOWN to the paisa (the pool
//     never pays out more than the units are worth).
const (
	PoolNAVRounding      = fund.RoundHalfUp
	PoolUnitsRounding    = fund.RoundDown
	PoolWithdrawRounding = fund.RoundDown
)

// PoolNAVDate is the date whose pool NAV prices a request received at t:
// the same day when t is a business day strictly before the pool's cut-off
// (hh:mm IST), else the next business day, the rule of a scheme's purchase
// (the money is already in the wallet, so received is the time both the
// request and the funds arrive).
func PoolNAVDate(received time.Time, cutoff string, cal *fund.Calendar) (fund.Date, error) {
	c, err := time.Parse("15:04", cutoff)
	if err != nil {
		return fund.Date{}, fmt.Errorf("pool cut-off %q is not hh:mm: %w", cutoff, err)
	}
	t := received.In(fund.IST())
	d := fund.DateOf(t)
	ok, err := cal.IsBusinessDay(d)
	if err != nil {
		return fund.Date{}, fmt.Errorf("pool NAV date: %w", err)
	}
	y, m, dd := t.Date()
	if ok && t.Before(time.Date(y, m, dd, c.Hour(), c.Minute(), 0, 0, t.Location())) {
		return d, nil
	}
	next, err := cal.NextBusinessDay(d)
	if err != nil {
		return fund.Date{}, fmt.Errorf("pool NAV date: %w", err)
	}
	return next, nil
}

// PoolHolding is one scheme the pool holds and that day's NAV.
type PoolHolding struct {
	Scheme string
	Units  fund.Units
	NAV    fund.NAV
}

// PoolValue is the value of the pool's holdings: each holding's units ×
// NAV rounded half-up to the paisa, summed.
func PoolValue(hs []PoolHolding) fund.Amount {
	var v fund.Amount
	for _, h := range hs {
		v = v.Add(h.Units.Value(h.NAV))
	}
	return v
}

// PoolDayNAV is the NAV a day's requests are priced at: PoolNAV over the
// units outstanding, or the pool's launch NAV while it has none (its first
// contribution).
func PoolDayNAV(holdings, cash fund.Amount, units fund.Units, launch fund.NAV) (fund.NAV, error) {
	if units.Sign() == 0 {
		if launch.IsZero() {
			return fund.NAV{}, fmt.Errorf("pool NAV: no units and no launch NAV")
		}
		return launch, nil
	}
	return PoolNAV(holdings, cash, units)
}

// ContributionUnits are the pool units amount buys at nav, down to 3
// decimals; a contribution too small to buy 0.001 unit is refused.
func ContributionUnits(amount fund.Amount, nav fund.NAV) (fund.Units, error) {
	if amount.Sign() <= 0 || nav.IsZero() {
		return fund.Units{}, fmt.Errorf("contribution %s at NAV %s: not positive", amount, nav)
	}
	u := amount.UnitsAt(nav, PoolUnitsScale)
	if u.Sign() <= 0 {
		return fund.Units{}, fmt.Errorf("contribution %s buys no unit at NAV %s", amount, nav)
	}
	return u, nil
}

// WithdrawalAmount is what units fetch at nav, down to the paisa.
func WithdrawalAmount(units fund.Units, nav fund.NAV) (fund.Amount, error) {
	return fund.AmountFromDecimal(units.Decimal().Mul(nav.Decimal()), PoolWithdrawRounding)
}

// ExDistributionNAV is the NAV reinvested shares buy at: the record date's
// value less the amount distributed, over the same units, half-up to 4
// decimals (the distribution leaves the pool before the reinvestment comes
// back, so a reinvesting member is not paid twice for the same cash).
func ExDistributionNAV(value, amount fund.Amount, units fund.Units) (fund.NAV, error) {
	return PoolNAV(value.Sub(amount), fund.Amount{}, units)
}
