package fund

import "fmt"

// Allotment is the result of turning a net amount into units.
type Allotment struct {
	Duty     Amount // stamp duty deducted (zero when none applies)
	Invested Amount // net − duty: what buys units
	Units    Units  // Invested / NAV, rounded down to the units scale
}

// Allot turns the net amount received for a transaction into units at nav:
// the stamp duty included in net is taken out (see StampDuty for the rate,
// dates and its rounding), and units = (net − duty) / nav rounded DOWN
// (truncated) to unitsScale decimals, so the investor never receives more
// units than were paid for; the sub-unit remainder stays in the scheme.
//
// For Redemption and SwitchOut no duty applies and Units is the number of
// units worth net at nav, also rounded down. (The money path does not price
// an amount-based redemption this way: it pays the amount asked, with units
// rounded UP to cover it and its exit load; see Amount.UnitsCovering and
// ledger/rules.)
//
// txDate is the allotment (NAV) date. Allot panics on programming errors:
// a kind that is not valid, a zero NAV, a negative net amount or a scale
// outside 0..MaxUnitsScale; validate input before calling.
func Allot(net Amount, nav NAV, unitsScale int32, txDate Date, kind TxKind) Allotment {
	if !kind.Valid() {
		panic(fmt.Sprintf("fund: Allot with %v", kind))
	}
	if net.IsNegative() {
		panic(fmt.Sprintf("fund: Allot with a negative amount %s", net))
	}
	duty := StampDuty(net, txDate, kind)
	invested := net.Sub(duty)
	return Allotment{Duty: duty, Invested: invested, Units: invested.UnitsAt(nav, unitsScale)}
}
