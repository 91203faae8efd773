package rules

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

func (b *book) apply(t *testing.T, a fund.Allocation, date fund.Date) { // date: the leg's NAV date
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
// first out, never more than held, and never a lot dated after their own
// NAV date; each lot's cost is fund.LotCost of what is left of it; an
// amount-based redemption pays exactly the amount asked.
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
			if !leg.Kind.IssuesUnits() && rng.IntN(3) == 0 {
				// A redemption priced before the latest purchases (placed
				// earlier, allotted later): it may only use older lots.
				in.NAVDate = date.AddDays(-rng.IntN(15))
			}
			in.Leg = leg
			a, err := Rules{}.Allot(in)
			if err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			avail := fund.MustUnits("0", scale)
			for _, l := range b.lots {
				if !l.NAVDate.After(in.NAVDate) {
					avail = avail.Add(l.Remaining)
				}
			}
			if a.Reject != "" {
				if a.Reject == RejectInsufficientUnits && leg.Units != nil && leg.Units.Cmp(avail.Decimal()) <= 0 {
					t.Fatalf("seed %d step %d: %s units refused with %s available", seed, step, leg.Units, avail)
				}
				continue
			}
			if !leg.Kind.IssuesUnits() && a.Units.Cmp(avail) > 0 {
				t.Fatalf("seed %d step %d: redeemed %s with %s bought by %s", seed, step, a.Units, avail, in.NAVDate)
			}
			if leg.Kind == fund.Redemption && leg.Amount != nil {
				// The amount asked is paid, and the units' value covers it
				// and the load.
				val := new(big.Rat).Mul(ratExact(a.Units.Decimal()), ratExact(nav.Decimal()))
				if !a.Net.Equal(*leg.Amount) || !a.Amount.Equal(a.Net.Add(a.ExitLoad)) || val.Cmp(ratExact(a.Amount.Decimal())) < 0 {
					t.Fatalf("seed %d step %d: asked %s: units %s (worth %s) gross %s load %s payout %s",
						seed, step, leg.Amount, a.Units, val.FloatString(4), a.Amount, a.ExitLoad, a.Net)
				}
			}
			b.apply(t, a, in.NAVDate)
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

// lotsOf builds open lots as bought: (date, units, paid).
func lotsOf(scale int32, ls ...struct {
	d           fund.Date
	units, paid string
}) ([]fund.Lot, fund.Units) {
	held := fund.MustUnits("0", scale)
	var out []fund.Lot
	for i, l := range ls {
		u := fund.MustUnits(l.units, scale)
		out = append(out, fund.Lot{ID: int64(i + 1), NAVDate: l.d, Units: u, Paid: fund.MustAmount(l.paid), Remaining: u})
		held = held.Add(u)
	}
	return out, held
}

type lotSpec = struct {
	d           fund.Date
	units, paid string
}

// A redemption may only consume lots whose NAV date is on or before its
// own: the issue's AF-18 bought on 24-Aug, then allotted a redemption priced
// on 21-Aug against that lot (days held −3).
func TestRedemptionUsesOnlyLotsBoughtByItsNAVDate(t *testing.T) {
	aug := func(d int) fund.Date { return fund.NewDate(2026, time.August, d) }
	lots, held := lotsOf(3, lotSpec{aug(3), "10.000", "100.00"}, lotSpec{aug(24), "5.000", "60.00"})
	units := func(s string) *decimal.Decimal { d := decimal.RequireFromString(s); return &d }
	cases := []struct {
		name    string
		navDate fund.Date
		units   *decimal.Decimal
		all     bool
		reject  string
		want    string  // units redeemed
		fromLot []int64 // lots used, in order
		days    []int
	}{
		{"21-Aug, more than the 3-Aug lot", aug(21), units("12"), false, RejectInsufficientUnits, "", nil, nil},
		{"21-Aug, the 3-Aug lot exactly", aug(21), units("10"), false, "", "10.000", []int64{1}, []int{18}},
		{"21-Aug, all units: only those bought by then", aug(21), nil, true, "", "10.000", []int64{1}, []int{18}},
		{"24-Aug: both lots", aug(24), units("12"), false, "", "12.000", []int64{1, 2}, []int{21, 0}},
		{"2-Aug: nothing bought yet", aug(2), nil, true, RejectNothingToRedeem, "", nil, nil},
	}
	for _, c := range cases {
		leg := fund.OrderLeg{ID: "R", Kind: fund.Redemption, Folio: "F", SchemeCode: "S", Units: c.units, AllUnits: c.all, Currency: "INR"}
		a, err := Rules{}.Allot(fund.AllotInput{Leg: leg, NAVDate: c.navDate, NAV: navOf(100000), UnitsScale: 3, Held: held, Lots: lots})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if a.Reject != c.reject {
			t.Errorf("%s: reject %q (%s), want %q", c.name, a.Reject, a.RejectDetail, c.reject)
			continue
		}
		if c.reject != "" {
			continue
		}
		if a.Units.String() != c.want || len(a.Used) != len(c.fromLot) {
			t.Errorf("%s: %s units from %+v, want %s from lots %v", c.name, a.Units, a.Used, c.want, c.fromLot)
			continue
		}
		for i, u := range a.Used {
			if u.LotID != c.fromLot[i] || u.DaysHeld != c.days[i] || u.DaysHeld < 0 {
				t.Errorf("%s: use %d: lot %d held %d days, want lot %d %d days", c.name, i, u.LotID, u.DaysHeld, c.fromLot[i], c.days[i])
			}
		}
	}
}

// An amount-based redemption pays the amount asked (the RTAs' practice):
// units rounded UP so that their value covers the amount plus the exit
// load on those units. Expected values by hand (see each case).
func TestAmountRedemptionPaysTheAmountAsked(t *testing.T) {
	old := fund.NewDate(2024, time.January, 2) // held over a year: no load
	recent := fund.NewDate(2026, time.August, 1)
	on := fund.NewDate(2026, time.August, 20)
	slabs := []fund.LoadSlab{{ValidFrom: fund.NewDate(2020, 1, 1), DaysBelow: 365, RatePct: decimal.RequireFromString("1")}}
	all := []fund.LoadSlab{{ValidFrom: fund.NewDate(2020, 1, 1), DaysBelow: 365, RatePct: decimal.RequireFromString("100")}}
	cases := []struct {
		name                    string
		lots                    []lotSpec
		slabs                   []fund.LoadSlab
		asked, nav              string
		reject                  string
		units, gross, load, net string
	}{
		// 4531.7307 × 2.206 = 9996.9979242 < 10000 ≤ 4531.7307 × 2.207 = 10001.5296549:
		// 2.207 units, ₹10,000.00 paid (rounding down paid ₹9,997.00).
		{"no load", []lotSpec{{old, "100.000", "100000.00"}}, slabs, "10000.00", "4531.7307", "", "2.207", "10000.00", "0.00", "10000.00"},
		// 1 % load at NAV 10: 101.009 units are worth 1010.09, load 10.10
		// (10.1009), 999.99 left: short; 101.010 are worth 1010.10, load
		// 10.10, 1000.00 left.
		{"1 % load", []lotSpec{{recent, "1000.000", "10000.00"}}, slabs, "1000.00", "10.0000", "", "101.010", "1010.10", "10.10", "1000.00"},
		// 50 load-free units then a 1 % lot: 100.505 units = 50 + 50.505,
		// load 50.505 × 10 × 1 % = 5.0505 → 5.05, worth 1005.05; 100.504
		// would leave 1005.04 − 5.05 = 999.99.
		{"load on the second lot only", []lotSpec{{old, "50.000", "400.00"}, {recent, "500.000", "5000.00"}}, slabs, "1000.00", "10.0000", "", "100.505", "1005.05", "5.05", "1000.00"},
		{"more than held", []lotSpec{{old, "1.000", "10.00"}}, slabs, "1000.00", "10.0000", RejectInsufficientUnits, "", "", "", ""},
		{"a 100 % load never pays", []lotSpec{{recent, "1000.000", "10000.00"}}, all, "10.00", "10.0000", RejectAmountNotCovered, "", "", "", ""},
	}
	for _, c := range cases {
		lots, held := lotsOf(3, c.lots...)
		amt := fund.MustAmount(c.asked)
		leg := fund.OrderLeg{ID: "R", Kind: fund.Redemption, Folio: "F", SchemeCode: "S", Amount: &amt, Currency: "INR"}
		a, err := Rules{}.Allot(fund.AllotInput{Leg: leg, NAVDate: on, NAV: fund.MustNAV(c.nav), UnitsScale: 3, Held: held, Lots: lots, Slabs: c.slabs})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if a.Reject != c.reject {
			t.Errorf("%s: reject %q (%s), want %q", c.name, a.Reject, a.RejectDetail, c.reject)
			continue
		}
		if c.reject != "" {
			continue
		}
		if a.Units.String() != c.units || a.Amount.String() != c.gross || a.ExitLoad.String() != c.load || a.Net.String() != c.net {
			t.Errorf("%s: units %s gross %s load %s payout %s; want %s %s %s %s", c.name, a.Units, a.Amount, a.ExitLoad, a.Net, c.units, c.gross, c.load, c.net)
		}
		if got := balanceOf(a.Postings, fund.AccountPayout("F"), fund.AssetINR); got.Cmp(ratExact(amt.Decimal())) != 0 {
			t.Errorf("%s: payout account gets %s, want %s", c.name, got.FloatString(2), amt)
		}
	}
}
