// Package rules makes the pure decisions of the money path: whether a
// payment can realise an order, and what an allotment is (units, stamp duty,
// exit load per FIFO lot, and the balanced double-entry postings). It does
// no I/O: the ledger service reads the state under lock, asks these rules, and
// writes the result in the same transaction.
package rules

import (
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// Rules are the allotment and matching rules. The zero value is ready.
type Rules struct{}

// Reasons an order leg is rejected at allotment.
const (
	RejectInsufficientUnits = "insufficient_units"
	RejectNothingToRedeem   = "nothing_to_redeem"
	RejectUnitsScale        = "units_scale"
	RejectAmountTooSmall    = "amount_too_small"
	RejectAmountNotCovered  = "amount_not_coverable" // the exit load grows as fast as the units: no number of units pays the amount
)

// maxCoverRounds bounds the search for the units an amount-based redemption
// takes (see unitsForAmount); with any load rate below 50 % it settles in a
// few rounds.
const maxCoverRounds = 64

var hundred = decimal.New(100, 0)

// Match decides whether payment p (captured) can realise order leg leg in
// status st; paidBy is the payment that already realised it ("" if none).
// It returns "" when it can, else a fund.Break… reason and a detail.
func (Rules) Match(leg fund.OrderLeg, st fund.OrderStatus, paidBy string, p fund.PaymentEvent) (reason, detail string) {
	switch {
	case leg.Kind != fund.Purchase:
		return fund.BreakNotPurchase, fmt.Sprintf("payment %s names order %s, a %v: only purchases are paid for", p.PaymentID, leg.ID, leg.Kind)
	case st == fund.Cancelled:
		return fund.BreakOrderCancelled, fmt.Sprintf("order %s was cancelled before payment %s was captured: refund due", leg.ID, p.PaymentID)
	case st == fund.Rejected:
		return fund.BreakOrderRejected, fmt.Sprintf("order %s was rejected: payment %s must be refunded", leg.ID, p.PaymentID)
	case st != fund.AwaitingPayment && paidBy != p.PaymentID:
		return fund.BreakAlreadyPaid, fmt.Sprintf("order %s was already paid by %s: payment %s is a second payment", leg.ID, paidBy, p.PaymentID)
	case p.Currency != leg.Currency:
		return fund.BreakCurrencyMismatch, fmt.Sprintf("payment %s is in %s, order %s in %s", p.PaymentID, p.Currency, leg.ID, leg.Currency)
	case leg.Amount == nil || !p.Amount.Equal(*leg.Amount):
		want := "no amount"
		if leg.Amount != nil {
			want = leg.Amount.String()
		}
		return fund.BreakAmountMismatch, fmt.Sprintf("payment %s is for %s, order %s for %s", p.PaymentID, p.Amount, leg.ID, want)
	}
	return "", ""
}

// Allot decides the allotment of one leg at in.NAV. A leg that cannot be
// executed (not enough units, an amount too small for one unit step) comes
// back with Reject set; an error means the input breaks an invariant (lots
// that do not add up to the holding, a purchase without an amount) and
// nothing may be written.
func (Rules) Allot(in fund.AllotInput) (fund.Allocation, error) {
	l := in.Leg
	a := fund.Allocation{OrderID: l.ID, SwitchID: l.SwitchID, Kind: l.Kind, Folio: l.Folio, Scheme: l.SchemeCode,
		NAVDate: in.NAVDate, NAV: in.NAV, PaymentID: in.PaymentID}
	if in.NAV.IsZero() {
		return a, fmt.Errorf("allot %s: no NAV", l.ID)
	}
	if in.UnitsScale < 0 || in.UnitsScale > fund.MaxUnitsScale {
		return a, fmt.Errorf("allot %s: units scale %d", l.ID, in.UnitsScale)
	}
	var err error
	switch l.Kind {
	case fund.Purchase, fund.SwitchIn:
		err = purchase(&a, in)
	case fund.Redemption, fund.SwitchOut:
		err = redeem(&a, in)
	default:
		err = fmt.Errorf("cannot allot a %v", l.Kind)
	}
	if err != nil {
		return a, fmt.Errorf("allot %s: %w", l.ID, err)
	}
	if a.Reject != "" {
		return a, nil
	}
	if err := fund.CheckPostings(a.Postings); err != nil {
		return a, fmt.Errorf("allot %s: %w", l.ID, err)
	}
	return a, nil
}

func reject(a *fund.Allocation, reason, format string, args ...any) {
	a.Reject, a.RejectDetail = reason, fmt.Sprintf(format, args...)
}

// purchase: duty out of the gross amount, units rounded down (fund.Allot);
// money from the gateway (or the switch's clearing account) to the scheme
// and the stamp-duty account; units from the scheme to the folio; one lot.
func purchase(a *fund.Allocation, in fund.AllotInput) error {
	l := in.Leg
	if l.Amount == nil || l.Amount.Sign() <= 0 {
		return fmt.Errorf("a %v without a positive amount", l.Kind)
	}
	al := fund.Allot(*l.Amount, in.NAV, in.UnitsScale, in.NAVDate, l.Kind)
	a.Amount, a.StampDuty, a.Net, a.Units, a.ExitLoad = *l.Amount, al.Duty, al.Invested, al.Units, fund.Amount{}
	if al.Units.IsZero() {
		reject(a, RejectAmountTooSmall, "%s at NAV %s buys less than %s units", l.Amount, in.NAV, fund.MustUnits("0", in.UnitsScale).String())
		return nil
	}
	from := fund.AccountGateway(in.Gateway)
	if l.Kind == fund.SwitchIn {
		from = fund.AccountSwitch(l.SwitchID)
	} else if in.Gateway == "" {
		return fmt.Errorf("a purchase without the gateway its money came through")
	}
	cash := []fund.Posting{
		{Account: from, Asset: fund.AssetINR, Amount: a.Amount.Decimal().Neg()},
		{Account: fund.AccountSchemeCash(l.SchemeCode), Asset: fund.AssetINR, Amount: a.Net.Decimal()},
	}
	if !a.StampDuty.IsZero() {
		cash = append(cash, fund.Posting{Account: fund.AccountStampDuty, Asset: fund.AssetINR, Amount: a.StampDuty.Decimal()})
	}
	units := fund.AssetUnits(l.SchemeCode)
	a.Postings = append(cash,
		fund.Posting{Account: fund.AccountSchemeUnits(l.SchemeCode), Asset: units, Amount: a.Units.Decimal().Neg()},
		fund.Posting{Account: fund.AccountFolio(l.Folio), Asset: units, Amount: a.Units.Decimal()},
	)
	a.NewLot = &fund.Lot{NAVDate: in.NAVDate, Units: a.Units, Paid: a.Amount, Remaining: a.Units}
	return nil
}

// redeem: the units asked (or all of them, or the units that cover the
// amount asked), consumed from the lots first in, first out; exit load per
// lot by the structure in force on the lot's date; the load goes back to
// the scheme, the rest is paid out (or moved to the switch's clearing
// account).
//
// Only lots whose NAV date is on or before the redemption's own NAV date can
// be consumed: units bought later did not exist on the day the redemption is
// priced (and would give a negative holding period). The units available are
// those of such lots.
//
// By units or all units: gross = units × NAV half-up to the paisa, payout =
// gross − load. By amount (the RTAs' practice: the investor is paid the
// amount asked): units = the fewest units, rounded UP at the units scale,
// whose value covers the amount plus the exit load on those very units;
// payout = the amount asked exactly, gross = payout + load; the value of the
// units beyond that (less than one units step × NAV) stays in the scheme.
func redeem(a *fund.Allocation, in fund.AllotInput) error {
	l := in.Leg
	lotSum := fund.MustUnits("0", in.UnitsScale)
	avail := fund.MustUnits("0", in.UnitsScale)
	var lots []fund.Lot // the lots bought on or before the NAV date, FIFO
	for _, lot := range in.Lots {
		if lot.Remaining.Sign() <= 0 {
			return fmt.Errorf("lot %d has %s units left", lot.ID, lot.Remaining)
		}
		if lot.Units.Cmp(lot.Remaining) < 0 {
			return fmt.Errorf("lot %d has %s units left of %s bought", lot.ID, lot.Remaining, lot.Units)
		}
		lotSum = lotSum.Add(lot.Remaining)
		if !lot.NAVDate.After(in.NAVDate) {
			lots = append(lots, lot)
			avail = avail.Add(lot.Remaining)
		}
	}
	if !lotSum.Equal(in.Held) {
		return fmt.Errorf("folio %s holds %s units of %s but its lots add up to %s", l.Folio, in.Held, l.SchemeCode, lotSum)
	}
	var want fund.Units
	byAmount := false
	switch {
	case l.AllUnits:
		want = avail
	case l.Units != nil:
		u, err := fund.UnitsFromDecimal(*l.Units, in.UnitsScale, fund.NoRounding)
		if err != nil {
			reject(a, RejectUnitsScale, "%s units: scheme %s keeps units to %d decimals", l.Units, l.SchemeCode, in.UnitsScale)
			return nil
		}
		want = u
	case l.Amount != nil:
		if l.Amount.Sign() <= 0 {
			return fmt.Errorf("a %v of %s", l.Kind, l.Amount)
		}
		byAmount = true
		u, ok, err := unitsForAmount(*l.Amount, in, lots, avail)
		if err != nil {
			return err
		}
		if !ok {
			reject(a, RejectAmountNotCovered, "folio %s: the exit load on %s grows as fast as the units: %s cannot be paid out", l.Folio, l.SchemeCode, l.Amount)
			return nil
		}
		want = u
	default:
		return fmt.Errorf("a %v without amount, units or all_units", l.Kind)
	}
	if want.Sign() <= 0 {
		reject(a, RejectNothingToRedeem, "folio %s: nothing to redeem in %s on %s (holds %s units bought by then)", l.Folio, l.SchemeCode, in.NAVDate, avail)
		return nil
	}
	if want.Cmp(avail) > 0 {
		reject(a, RejectInsufficientUnits, "folio %s holds %s units of %s bought on or before %s, %s asked", l.Folio, avail, l.SchemeCode, in.NAVDate, want)
		return nil
	}
	uses, load, err := consume(lots, want, in)
	if err != nil {
		return err
	}
	a.Used, a.Units = uses, want
	value := want.Value(in.NAV)
	if byAmount {
		a.Net, a.ExitLoad, a.Amount = *l.Amount, load, l.Amount.Add(load)
		if a.Amount.Cmp(value) > 0 { // unreachable: unitsForAmount made value ≥ amount + load
			return fmt.Errorf("%s units worth %s do not cover %s + load %s", want, value, l.Amount, load)
		}
	} else {
		if load.Cmp(value) > 0 { // only possible with absurd load data; never pay out a negative amount
			load = value
		}
		a.Amount, a.ExitLoad, a.Net = value, load, value.Sub(load)
	}
	units := fund.AssetUnits(l.SchemeCode)
	a.Postings = []fund.Posting{
		{Account: fund.AccountFolio(l.Folio), Asset: units, Amount: want.Decimal().Neg()},
		{Account: fund.AccountSchemeUnits(l.SchemeCode), Asset: units, Amount: want.Decimal()},
	}
	to := fund.AccountPayout(l.Folio)
	if l.Kind == fund.SwitchOut {
		to = fund.AccountSwitch(l.SwitchID)
	}
	for _, p := range []fund.Posting{
		{Account: fund.AccountSchemeCash(l.SchemeCode), Asset: fund.AssetINR, Amount: a.Amount.Decimal().Neg()},
		{Account: fund.AccountExitLoad(l.SchemeCode), Asset: fund.AssetINR, Amount: a.ExitLoad.Decimal()},
		{Account: to, Asset: fund.AssetINR, Amount: a.Net.Decimal()},
	} {
		if !p.Amount.IsZero() {
			a.Postings = append(a.Postings, p)
		}
	}
	return nil
}

// unitsForAmount finds the fewest units (at the units scale) whose value at
// the NAV covers asked plus the exit load on those units: start from asked /
// NAV rounded up, and while the load on the units found needs more, take
// (asked + load) / NAV rounded up again. The load only grows with the
// units, so this climbs to the smallest fixed point. Units beyond avail are
// returned as they are (the caller rejects them); ok is false when no fixed
// point is reached in maxCoverRounds (a load rate near 100 %).
func unitsForAmount(asked fund.Amount, in fund.AllotInput, lots []fund.Lot, avail fund.Units) (fund.Units, bool, error) {
	u := asked.UnitsCovering(in.NAV, in.UnitsScale)
	for range maxCoverRounds {
		if u.Cmp(avail) > 0 {
			return u, true, nil
		}
		_, load, err := consume(lots, u, in)
		if err != nil {
			return u, false, err
		}
		need := asked.Add(load).UnitsCovering(in.NAV, in.UnitsScale)
		if need.Cmp(u) <= 0 {
			return u, true, nil
		}
		u = need
	}
	return u, false, nil
}

// consume takes want units from lots first in, first out: per lot the units,
// the cost they take off it (fund.LotCost before less after) and the exit
// load on their value (half-up to the paisa) by the structure in force on
// the lot's date.
func consume(lots []fund.Lot, want fund.Units, in fund.AllotInput) ([]fund.LotUse, fund.Amount, error) {
	var uses []fund.LotUse
	left := want
	load := fund.Amount{}
	for _, lot := range lots {
		if left.Sign() == 0 {
			break
		}
		take := lot.Remaining
		if take.Cmp(left) > 0 {
			take = left
		}
		rate, days := fund.ExitLoadRate(in.Slabs, lot.NAVDate, in.NAVDate)
		lv, err := fund.AmountFromRatio(take.Decimal().Mul(in.NAV.Decimal()).Mul(rate), hundred, fund.RoundHalfUp)
		if err != nil {
			return nil, load, err
		}
		costLeft := fund.LotCost(lot.Paid, lot.Units, lot.Remaining.Sub(take))
		uses = append(uses, fund.LotUse{LotID: lot.ID, Units: take, Cost: lot.Cost().Sub(costLeft), CostLeft: costLeft,
			DaysHeld: days, RatePct: rate, ExitLoad: lv})
		load = load.Add(lv)
		left = left.Sub(take)
	}
	if left.Sign() != 0 {
		return nil, load, fmt.Errorf("lots ran out with %s units still to redeem", left)
	}
	return uses, load, nil
}
