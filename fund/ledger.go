package fund

import (
	"fmt"
	"sort"

	"github.com/shopspring/decimal"
)

// AssetINR is the cash asset of the ledger.
const AssetINR = "INR"

// AssetUnits is the asset of a scheme's units: "UNITS:<scheme code>".
func AssetUnits(scheme string) string { return "UNITS:" + scheme }

// Ledger account names (see sql/postgres/003_orders_ledger.sql).
func AccountFolio(folio string) string        { return "folio:" + folio }
func AccountSchemeUnits(scheme string) string { return "scheme:" + scheme + ":units" }
func AccountSchemeCash(scheme string) string  { return "scheme:" + scheme + ":cash" }
func AccountExitLoad(scheme string) string    { return "scheme:" + scheme + ":exit_load" }
func AccountGateway(gateway string) string    { return "gateway:" + gateway }
func AccountPayout(folio string) string       { return "payout:" + folio }
func AccountSwitch(switchID string) string    { return "switch:" + switchID }

// KindSwitchPayout is the ledger transaction (not an order leg kind) that pays
// a switch's clearing account out to the investor when its switch-in leg
// ends without an allotment: the switch-out's money has a home either way.
const KindSwitchPayout = "switch_payout"

// KindIDCWPayout is the ledger transaction that pays a folio's IDCW out (net
// of TDS) to the investor: money out of the platform, no units moved. (An
// IDCW reinvested is an order leg kind, idcw_reinvest, that issues units.)
const KindIDCWPayout = "idcw_payout"

// KindMergerOut and KindMergerIn are the legs of a scheme merger (issue 17):
// the out leg takes every open lot of the merged scheme, an in leg issues
// one carried lot of the surviving scheme at the lot's cost. Neither is a
// cash flow; together they move units, as a switch's legs do.
const (
	KindMergerOut = "merger_out"
	KindMergerIn  = "merger_in"
)

// AccountMergerResidue holds the value of the fraction of a unit a merger's
// truncation at the surviving scheme's scale left of a folio's units.
func AccountMergerResidue(merger string) string { return "merger:" + merger + ":residue" }

// AccountStampDuty collects the stamp duty of every purchase.
const AccountStampDuty = "tax:stamp_duty"

// Posting is one line of a double-entry transaction: a signed amount of an
// asset added to an account's balance.
type Posting struct {
	Account string
	Asset   string
	Amount  decimal.Decimal // never zero
}

// UnbalancedError names the first asset whose postings do not sum to zero.
type UnbalancedError struct {
	Asset string
	Sum   decimal.Decimal
	Index int // index of the last posting of that asset
}

func (e *UnbalancedError) Error() string {
	return fmt.Sprintf("postings do not balance in %s: sum %s (last posting #%d)", e.Asset, e.Sum, e.Index)
}

// CheckPostings verifies a transaction's postings: at least two, none zero,
// none without account or asset, and every asset summing to zero.
func CheckPostings(ps []Posting) error {
	if len(ps) < 2 {
		return fmt.Errorf("a ledger transaction needs at least 2 postings, got %d", len(ps))
	}
	sums := map[string]decimal.Decimal{}
	last := map[string]int{}
	for i, p := range ps {
		if p.Account == "" || p.Asset == "" {
			return fmt.Errorf("posting #%d has no account or asset", i)
		}
		if p.Amount.IsZero() {
			return fmt.Errorf("posting #%d (%s %s) is zero", i, p.Account, p.Asset)
		}
		sums[p.Asset] = sums[p.Asset].Add(p.Amount)
		last[p.Asset] = i
	}
	assets := make([]string, 0, len(sums))
	for a := range sums {
		assets = append(assets, a)
	}
	sort.Strings(assets)
	for _, a := range assets {
		if !sums[a].IsZero() {
			return &UnbalancedError{Asset: a, Sum: sums[a], Index: last[a]}
		}
	}
	return nil
}

// Lot is an open purchase lot of one folio in one scheme, consumed first in,
// first out by redemptions.
type Lot struct {
	ID        int64
	NAVDate   Date   // acquisition (allotment NAV) date
	Units     Units  // units allotted
	Paid      Amount // what was paid for them, stamp duty included
	Remaining Units  // units not yet redeemed
}

// Cost is the cost of the lot's remaining units (LotCost).
func (l Lot) Cost() Amount { return LotCost(l.Paid, l.Units, l.Remaining) }

// LotCost is the platform's one rule for the cost basis of what is left of a
// lot: paid × remaining / units, to the paisa, HALF-UP, always from the lot as
// bought (never cut step by step, so it does not drift with the number of
// redemptions); the whole amount paid while nothing was redeemed, zero once
// everything was. The ledger stores it (holding_lots.cost, holdings.invested
// = the sum over open lots) and the API, statements and exports show it.
func LotCost(paid Amount, units, remaining Units) Amount {
	switch {
	case remaining.Equal(units):
		return paid
	case remaining.IsZero() || units.IsZero():
		return Amount{}
	}
	c, err := AmountFromRatio(paid.d.Mul(remaining.d), units.d, RoundHalfUp)
	if err != nil {
		panic(err) // unreachable: units is not zero and RoundHalfUp never fails
	}
	return c
}

// LoadSlab is one row of an exit-load structure: a lot held fewer than
// DaysBelow days pays RatePct % of the value redeemed from it. The structure
// in force for a lot is the set of slabs with the latest ValidFrom on or
// before the lot's NAV date.
type LoadSlab struct {
	ValidFrom Date
	DaysBelow int
	RatePct   decimal.Decimal // 1.0000 = 1 %
}

// ExitLoadRate returns the load rate (in %) a lot bought on lotDate pays
// when redeemed on redeemDate, and the days it was held. The structure in
// force on lotDate applies; within it the slab with the smallest DaysBelow
// greater than the days held wins; none: no load.
func ExitLoadRate(slabs []LoadSlab, lotDate, redeemDate Date) (ratePct decimal.Decimal, daysHeld int) {
	daysHeld = redeemDate.DaysSince(lotDate)
	var from Date
	found := false
	for _, s := range slabs {
		if !s.ValidFrom.After(lotDate) && (!found || s.ValidFrom.After(from)) {
			from, found = s.ValidFrom, true
		}
	}
	if !found {
		return decimal.Zero, daysHeld
	}
	best := -1
	for i, s := range slabs {
		if s.ValidFrom == from && daysHeld < s.DaysBelow && (best < 0 || s.DaysBelow < slabs[best].DaysBelow) {
			best = i
		}
	}
	if best < 0 {
		return decimal.Zero, daysHeld
	}
	return slabs[best].RatePct, daysHeld
}

// LotUse is the part of one lot a redemption consumed.
type LotUse struct {
	LotID    int64
	Units    Units
	Cost     Amount // the cost of those units, taken off the lot: LotCost before − LotCost after
	CostLeft Amount // the cost of the lot's units left after it (LotCost)
	DaysHeld int
	RatePct  decimal.Decimal
	ExitLoad Amount
}

// Allocation is the decision for one order leg: either an allotment (the
// facts of the ledger transaction, its postings and the lot changes) or a
// rejection with a reason.
type Allocation struct {
	OrderID   string
	SwitchID  string
	Kind      TxKind
	Folio     string
	Scheme    string
	NAVDate   Date
	NAV       NAV
	Units     Units  // allotted (purchase kinds) or redeemed (redemption kinds)
	Amount    Amount // purchase: gross paid; redemption: Net + ExitLoad (by units: Units × NAV; by amount: see allocate)
	StampDuty Amount
	ExitLoad  Amount
	Net       Amount // purchase: invested (Amount − duty); redemption: payout (Amount − load)
	PaymentID string

	Postings []Posting
	NewLot   *Lot     // purchases: the lot created (ID unset)
	Used     []LotUse // redemptions: the lots consumed, FIFO

	// Reject is set (and everything else but the identity is empty) when
	// the leg cannot be executed: a stable reason and a detail.
	Reject, RejectDetail string
}

// AllotInput is everything the allotment decision for one order leg needs,
// read under the folio's lock.
type AllotInput struct {
	Leg        OrderLeg // for a switch-in, Amount is the switch-out's payout
	NAVDate    Date
	NAV        NAV
	UnitsScale int32
	PaymentID  string // purchases: the payment that realised the funds
	Gateway    string // purchases: the gateway the money came through
	Held       Units  // units the folio holds in the leg's scheme now
	Lots       []Lot  // the open lots of that holding, oldest first (by NAV date, then id)
	Slabs      []LoadSlab
}
