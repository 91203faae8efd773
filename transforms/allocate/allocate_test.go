package allocate

import (
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

func amountOf(paise int64) fund.Amount { return fund.AmountFromPaise(paise) }

func navOf(tenThousandths int64) fund.NAV {
	n, err := fund.NAVFromDecimal(decimal.New(tenThousandths, -4), fund.NoRounding)
	if err != nil {
		panic(err)
	}
	return n
}

// ratExact is d as an exact rational.
func ratExact(d decimal.Decimal) *big.Rat {
	r, ok := new(big.Rat).SetString(d.String())
	if !ok {
		panic(d.String())
	}
	return r
}

// sums returns the sum of postings per asset.
func sums(ps []fund.Posting) map[string]*big.Rat {
	out := map[string]*big.Rat{}
	for _, p := range ps {
		if out[p.Asset] == nil {
			out[p.Asset] = new(big.Rat)
		}
		out[p.Asset].Add(out[p.Asset], ratExact(p.Amount))
	}
	return out
}

func balanceOf(ps []fund.Posting, account, asset string) *big.Rat {
	r := new(big.Rat)
	for _, p := range ps {
		if p.Account == account && p.Asset == asset {
			r.Add(r, ratExact(p.Amount))
		}
	}
	return r
}

var d0 = fund.NewDate(2026, time.August, 20)

// Property: for any gross amount, NAV and units scale, a purchase's postings
// balance in every asset, and units × NAV + duty reconstructs the amount to
// within one units step × NAV, never more than the amount.
func TestPurchaseProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 2026))
	for i := 0; i < 20000; i++ {
		amt := amountOf(1 + rng.Int64N(10_000_000_00))
		nav := navOf(1 + rng.Int64N(99_999_9999))
		scale := int32(rng.IntN(5))
		leg := fund.OrderLeg{ID: "P", Kind: fund.Purchase, Folio: "F", SchemeCode: "S", Amount: &amt, Currency: "INR"}
		a, err := Rules{}.Allot(fund.AllotInput{Leg: leg, NAVDate: d0, NAV: nav, UnitsScale: scale, Gateway: "razorpay", PaymentID: "pay"})
		if err != nil {
			t.Fatal(err)
		}
		if a.Reject != "" {
			// Only when the amount buys less than one units step.
			step := new(big.Rat).Mul(big.NewRat(1, pow10(scale)), ratExact(nav.Decimal()))
			if ratExact(a.Net.Decimal()).Cmp(step) >= 0 {
				t.Fatalf("%s at %s scale %d rejected (%s) though it buys a step", amt, nav, scale, a.Reject)
			}
			continue
		}
		for asset, s := range sums(a.Postings) {
			if s.Sign() != 0 {
				t.Fatalf("%s at %s: %s does not balance (%s)", amt, nav, asset, s.FloatString(9))
			}
		}
		// units × NAV + duty ≤ amount < (units + step) × NAV + duty
		got := new(big.Rat).Add(new(big.Rat).Mul(ratExact(a.Units.Decimal()), ratExact(nav.Decimal())), ratExact(a.StampDuty.Decimal()))
		gap := new(big.Rat).Sub(ratExact(amt.Decimal()), got)
		step := new(big.Rat).Mul(big.NewRat(1, pow10(scale)), ratExact(nav.Decimal()))
		if gap.Sign() < 0 || gap.Cmp(step) >= 0 {
			t.Fatalf("%s at %s scale %d: units %s duty %s leave %s (step %s)", amt, nav, scale, a.Units, a.StampDuty, gap.FloatString(6), step.FloatString(6))
		}
		// The duty is the nearest paisa to N × 5 / 100005.
		exact := new(big.Rat).Mul(ratExact(amt.Decimal()), big.NewRat(5, 100005))
		diff := new(big.Rat).Sub(exact, ratExact(a.StampDuty.Decimal()))
		if diff.Abs(diff).Cmp(big.NewRat(1, 200)) > 0 {
			t.Fatalf("%s: duty %s is not the nearest paisa to %s", amt, a.StampDuty, exact.FloatString(6))
		}
		if u := balanceOf(a.Postings, fund.AccountFolio("F"), fund.AssetUnits("S")); u.Cmp(ratExact(a.Units.Decimal())) != 0 || a.NewLot == nil || !a.NewLot.Remaining.Equal(a.Units) {
			t.Fatalf("folio account %s / lot %+v, want %s units", u.FloatString(3), a.NewLot, a.Units)
		}
	}
}

func pow10(n int32) int64 {
	p := int64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

// book is an in-memory folio: lots and units, updated only from the
// allocations the rules return.
type book struct {
	lots  []fund.Lot
	held  fund.Units
	acct  *big.Rat // balance of the folio account from the postings
	seq   int64
	scale int32
}

func (b *book) apply(t *testing.T, a fund.Allocation, date fund.Date) {
	t.Helper()
	for asset, s := range sums(a.Postings) {
		if s.Sign() != 0 {
			t.Fatalf("%s does not balance in %s", a.OrderID, asset)
		}
	}
	b.acct.Add(b.acct, balanceOf(a.Postings, fund.AccountFolio("F"), fund.AssetUnits("S")))
	if a.NewLot != nil {
		b.seq++
		l := *a.NewLot
		l.ID = b.seq
		b.lots = append(b.lots, l)
		b.held = b.held.Add(a.Units)
		return
	}
	used := fund.MustUnits("0", b.scale)
	for _, u := range a.Used {
		for i := range b.lots {
			if b.lots[i].ID == u.LotID {
				if u.Units.Cmp(b.lots[i].Remaining) > 0 || u.Units.Sign() <= 0 {
					t.Fatalf("%s takes %s of lot %d holding %s", a.OrderID, u.Units, u.LotID, b.lots[i].Remaining)
				}
				before := b.lots[i].Cost()
				b.lots[i].Remaining = b.lots[i].Remaining.Sub(u.Units)
				if after := b.lots[i].Cost(); after.IsNegative() || !u.CostLeft.Equal(after) || !before.Sub(u.Cost).Equal(after) {
					t.Fatalf("lot %d: cost %s, %s taken, %s left; recomputed %s", u.LotID, before, u.Cost, u.CostLeft, after)
				}
				if b.lots[i].NAVDate.After(date) {
					t.Fatalf("%s (NAV date %s) consumed lot %d of %s", a.OrderID, date, u.LotID, b.lots[i].NAVDate)
				}
			}
		}
		used = used.Add(u.Units)
		if u.ExitLoad.IsNegative() {
			t.Fatalf("negative exit load")
		}
	}
	if !used.Equal(a.Units) {
		t.Fatalf("%s redeems %s but takes %s from lots", a.OrderID, a.Units, used)
	}
	// FIFO: every lot before the last one touched is empty now.
	last := -1
	for i, l := range b.lots {
		for _, u := range a.Used {
			if u.LotID == l.ID {
				last = i
			}
		}
	}
	for i := 0; i < last; i++ {
		if b.lots[i].Remaining.Sign() != 0 {
			t.Fatalf("%s skipped lot %d (FIFO)", a.OrderID, b.lots[i].ID)
		}
	}
	if a.Net.IsNegative() || a.ExitLoad.Cmp(a.Amount) > 0 {
		t.Fatalf("%s: payout %s load %s of %s", a.OrderID, a.Net, a.ExitLoad, a.Amount)
	}
	b.held = b.held.Sub(a.Units)
	var open []fund.Lot
	for _, l := range b.lots {
		if l.Remaining.Sign() > 0 {
			open = append(open, l)
		}
	}
	b.lots = open
}

// Property over random sequences of purchases and redemptions (by units,
// amount and all units) of one folio: every allocation balances; the units
// held always equal the sum of the open lots and the balance of the folio
// account, and are never negative; redemptions consume lots first in,
// first out and never more than held.
func TestLedgerSequenceProperties(t *testing.T) {
	slabs := []fund.LoadSlab{
		{ValidFrom: fund.NewDate(2020, 1, 1), DaysBelow: 365, RatePct: decimal.RequireFromString("1")},
		{ValidFrom: fund.NewDate(2026, 1, 1), DaysBelow: 30, RatePct: decimal.RequireFromString("0.5")},
		{ValidFrom: fund.NewDate(2026, 1, 1), DaysBelow: 90, RatePct: decimal.RequireFromString("0.25")},
	}
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 77))
		scale := int32(rng.IntN(4) + 1)
		b := &book{held: fund.MustUnits("0", scale), acct: new(big.Rat), scale: scale}
		date := fund.NewDate(2025, time.June, 1)
		for step := 0; step < 60; step++ {
			date = date.AddDays(rng.IntN(20))
			nav := navOf(50000 + rng.Int64N(200000))
			leg := fund.OrderLeg{ID: "o", Folio: "F", SchemeCode: "S", Currency: "INR"}
			in := fund.AllotInput{NAVDate: date, NAV: nav, UnitsScale: scale, Gateway: "razorpay", Held: b.held, Lots: b.lots, Slabs: slabs}
			switch k := rng.IntN(10); {
			case k < 5 || b.held.IsZero():
				amt := amountOf(100 + rng.Int64N(5_000_000))
				leg.Kind, leg.Amount = fund.Purchase, &amt
			case k < 7:
				leg.Kind = fund.Redemption
				u := b.held.Decimal().Mul(decimal.New(int64(rng.IntN(120)), -2)).Truncate(scale) // 0..119 % of the holding
				if u.IsZero() {
					u = decimal.New(1, -scale)
				}
				leg.Units = &u
			case k < 9:
				amt := amountOf(100 + rng.Int64N(2_000_000))
				leg.Kind, leg.Amount = fund.Redemption, &amt
			default:
				leg.Kind, leg.AllUnits = fund.SwitchOut, true
				leg.SwitchID = "sw"
			}
			in.Leg = leg
			a, err := Rules{}.Allot(in)
			if err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			if a.Reject != "" {
				if a.Reject == RejectInsufficientUnits && leg.Units != nil && leg.Units.Cmp(b.held.Decimal()) <= 0 {
					t.Fatalf("seed %d step %d: %s units refused with %s held", seed, step, leg.Units, b.held)
				}
				continue
			}
			b.apply(t, a, date)
			if b.held.Sign() < 0 {
				t.Fatalf("seed %d step %d: negative holding %s", seed, step, b.held)
			}
			sum := fund.MustUnits("0", scale)
			for _, l := range b.lots {
				sum = sum.Add(l.Remaining)
			}
			if !sum.Equal(b.held) || ratExact(b.held.Decimal()).Cmp(b.acct) != 0 {
				t.Fatalf("seed %d step %d: held %s, lots %s, folio account %s", seed, step, b.held, sum, b.acct.FloatString(int(scale)))
			}
		}
	}
}

// Exit load per lot: the structure in force on the lot's date, the
// smallest slab above the days held.
func TestExitLoadRate(t *testing.T) {
	slabs := []fund.LoadSlab{
		{ValidFrom: fund.NewDate(2020, 1, 1), DaysBelow: 365, RatePct: decimal.RequireFromString("1")},
		{ValidFrom: fund.NewDate(2026, 1, 1), DaysBelow: 30, RatePct: decimal.RequireFromString("0.5")},
		{ValidFrom: fund.NewDate(2026, 1, 1), DaysBelow: 90, RatePct: decimal.RequireFromString("0.25")},
		{ValidFrom: fund.NewDate(2026, 6, 1), DaysBelow: 0, RatePct: decimal.Zero},
	}
	cases := []struct {
		lot, red fund.Date
		rate     string
		days     int
	}{
		{fund.NewDate(2019, 12, 31), fund.NewDate(2020, 1, 5), "0", 5},    // before any structure
		{fund.NewDate(2025, 1, 1), fund.NewDate(2025, 12, 31), "1", 364},  // 2020 structure, 364 days
		{fund.NewDate(2025, 1, 1), fund.NewDate(2026, 1, 1), "0", 365},    // exactly 365: no load
		{fund.NewDate(2026, 1, 1), fund.NewDate(2026, 1, 30), "0.5", 29},  // 2026 structure, first slab
		{fund.NewDate(2026, 1, 1), fund.NewDate(2026, 1, 31), "0.25", 30}, // second slab
		{fund.NewDate(2026, 1, 1), fund.NewDate(2026, 4, 1), "0", 90},     // past both
		{fund.NewDate(2026, 5, 31), fund.NewDate(2026, 6, 2), "0.5", 2},   // bought under the 2026 structure
		{fund.NewDate(2026, 6, 1), fund.NewDate(2026, 6, 2), "0", 1},      // bought after the load was removed
	}
	for _, c := range cases {
		r, d := fund.ExitLoadRate(slabs, c.lot, c.red)
		if !r.Equal(decimal.RequireFromString(c.rate)) || d != c.days {
			t.Errorf("lot %s redeemed %s: %s%% after %d days, want %s%% after %d", c.lot, c.red, r, d, c.rate, c.days)
		}
	}
}

// Matching a captured payment to its order.
func TestMatch(t *testing.T) {
	amt := fund.MustAmount("1000.00")
	leg := fund.OrderLeg{ID: "O", Kind: fund.Purchase, Amount: &amt, Currency: "INR"}
	pay := fund.PaymentEvent{PaymentID: "pay_1", Amount: amt, Currency: "INR"}
	red := leg
	red.Kind = fund.Redemption
	cases := []struct {
		name   string
		leg    fund.OrderLeg
		st     fund.OrderStatus
		paidBy string
		p      func(fund.PaymentEvent) fund.PaymentEvent
		want   string
	}{
		{"fits", leg, fund.AwaitingPayment, "", nil, ""},
		{"same payment again", leg, fund.PendingNAV, "pay_1", nil, ""},
		{"second payment", leg, fund.PendingNAV, "pay_0", nil, fund.BreakAlreadyPaid},
		{"cancelled", leg, fund.Cancelled, "", nil, fund.BreakOrderCancelled},
		{"rejected", leg, fund.Rejected, "", nil, fund.BreakOrderRejected},
		{"redemption", red, fund.PendingNAV, "", nil, fund.BreakNotPurchase},
		{"a paisa short", leg, fund.AwaitingPayment, "", func(p fund.PaymentEvent) fund.PaymentEvent { p.Amount = fund.MustAmount("999.99"); return p }, fund.BreakAmountMismatch},
		{"currency", leg, fund.AwaitingPayment, "", func(p fund.PaymentEvent) fund.PaymentEvent { p.Currency = "USD"; return p }, fund.BreakCurrencyMismatch},
	}
	for _, c := range cases {
		p := pay
		if c.p != nil {
			p = c.p(p)
		}
		if got, _ := (Rules{}).Match(c.leg, c.st, c.paidBy, p); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
