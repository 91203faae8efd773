package tax_test

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/internal/moneytest"
)

// TestGainsProperty: for random lots and sales, (1) Σ gains over lots =
// Σ sale value − Σ cost used, (2) every lot's numbers equal an independent
// big.Rat route (FIFO units, pro-rata cost and load, half-up per lot,
// grandfathering by its formula), (3) the load shares add up to the sale's
// load within half a paisa per lot, and the units to the sale's units.
func TestGainsProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 28))
	rat := moneytest.Rat
	half := func(r *big.Rat) string { return moneytest.RoundRat(r, 2, true) }
	for iter := range 3000 {
		n := 1 + rng.IntN(5)
		var lots []tax.Lot
		total := new(big.Rat)
		day := fund.NewDate(2016+rng.IntN(3), 1, 1).AddDays(rng.IntN(365))
		ty := []tax.SchemeType{tax.Equity, tax.Debt, tax.Other}[rng.IntN(3)]
		for i := range n {
			units := fmt.Sprintf("%d.%03d", rng.IntN(5000), rng.IntN(1000))
			if rat(units).Sign() == 0 {
				units = "0.001"
			}
			cost := fmt.Sprintf("%d.%02d", rng.IntN(500000), rng.IntN(100))
			l := tax.Lot{ID: fmt.Sprint(i), Type: ty, Bought: day, Units: u3(units), Cost: am(cost)}
			if ty == tax.Equity && day.Before(tax.GrandfatherBefore) {
				l.FMVPerUnit = navp(fmt.Sprintf("%d.%04d", 1+rng.IntN(300), rng.IntN(10000)))
			}
			lots = append(lots, l)
			total.Add(total, rat(units))
			day = day.AddDays(rng.IntN(400))
		}
		// sell part or all of the units, on a day after the last lot
		sold := new(big.Rat).Mul(total, big.NewRat(int64(1+rng.IntN(100)), 100))
		soldS := moneytest.RoundRat(sold, 3, false)
		if rat(soldS).Sign() == 0 {
			soldS = "0.001"
		}
		nav := fmt.Sprintf("%d.%04d", 1+rng.IntN(400), rng.IntN(10000))
		load := "0.00"
		if rng.IntN(2) == 0 {
			load = fmt.Sprintf("%d.%02d", rng.IntN(5000), rng.IntN(100))
		}
		s := tax.Sale{Date: day.AddDays(rng.IntN(900)), Units: u3(soldS), NAV: fund.MustNAV(nav), ExitLoad: am(load)}
		if s.Date.Before(tax.RulesStart) {
			s.Date = tax.RulesStart.AddDays(rng.IntN(3000))
		}
		gs, err := tax.Realise(tax.CGRules, lots, s)
		if err != nil {
			t.Fatalf("iter %d: %v", iter, err)
		}

		// the independent route
		left := rat(soldS)
		sumSale, sumCost, sumGain, sumLoad, sumUnits := new(big.Rat), new(big.Rat), new(big.Rat), new(big.Rat), new(big.Rat)
		k := 0
		for _, l := range lots {
			if left.Sign() == 0 {
				break
			}
			lu := rat(l.Units.String())
			use := new(big.Rat).Set(lu)
			if left.Cmp(lu) < 0 {
				use.Set(left)
			}
			left.Sub(left, use)
			g := gs[k]
			k++
			costActual := half(new(big.Rat).Quo(new(big.Rat).Mul(rat(l.Cost.String()), use), lu))
			gross := half(new(big.Rat).Mul(use, rat(nav)))
			share := half(new(big.Rat).Quo(new(big.Rat).Mul(rat(load), use), rat(soldS)))
			sale := new(big.Rat).Sub(rat(gross), rat(share))
			costUsed := rat(costActual)
			if g.Grandfathered != "" {
				fmv := rat(half(new(big.Rat).Mul(use, rat(l.FMVPerUnit.String()))))
				lower := fmv
				if rat(gross).Cmp(fmv) < 0 { // the full value of consideration, before the load
					lower = rat(gross)
				}
				if lower.Cmp(costUsed) > 0 {
					costUsed = lower
				}
			}
			gain := new(big.Rat).Sub(sale, costUsed)
			if g.Units.String() != use.FloatString(3) || g.CostActual.String() != costActual ||
				g.SaleValue.String() != sale.FloatString(2) || g.CostUsed.String() != costUsed.FloatString(2) ||
				g.Gain.String() != gain.FloatString(2) || g.ExitLoad.String() != share {
				t.Fatalf("iter %d lot %s: got %+v\nwant units %s cost %s/%s sale %s gain %s load %s",
					iter, l.ID, g, use.FloatString(3), costActual, costUsed.FloatString(2), sale.FloatString(2), gain.FloatString(2), share)
			}
			sumSale.Add(sumSale, rat(g.SaleValue.String()))
			sumCost.Add(sumCost, rat(g.CostUsed.String()))
			sumGain.Add(sumGain, rat(g.Gain.String()))
			sumLoad.Add(sumLoad, rat(g.ExitLoad.String()))
			sumUnits.Add(sumUnits, rat(g.Units.String()))
		}
		if k != len(gs) {
			t.Fatalf("iter %d: %d lots consumed, the route consumed %d", iter, len(gs), k)
		}
		if new(big.Rat).Sub(sumSale, sumCost).Cmp(sumGain) != 0 {
			t.Fatalf("iter %d: Σ gain %s ≠ Σ sale %s − Σ cost %s", iter, sumGain.FloatString(2), sumSale.FloatString(2), sumCost.FloatString(2))
		}
		tot := tax.Sum(gs)
		if tot.Gain.String() != sumGain.FloatString(2) || tot.SaleValue.Sub(tot.CostUsed).String() != tot.Gain.String() {
			t.Fatalf("iter %d: Sum %+v", iter, tot)
		}
		if sumUnits.Cmp(rat(soldS)) != 0 {
			t.Fatalf("iter %d: Σ units %s ≠ sold %s", iter, sumUnits.FloatString(3), soldS)
		}
		// per-lot half-up: each share is within half a paisa of its exact value
		diff := new(big.Rat).Sub(sumLoad, rat(load))
		if diff.Abs(diff).Cmp(new(big.Rat).Mul(big.NewRat(int64(len(gs)), 1), big.NewRat(1, 200))) > 0 {
			t.Fatalf("iter %d: Σ load %s vs %s", iter, sumLoad.FloatString(2), load)
		}
	}
}
