package managed

import (
	"errors"
	"fmt"
	"sort"

	"github.com/fundflow/fundflow/fund"
)

// FeeRedemption is one scheme's amount redeemed towards a fee. All: the
// scheme is redeemed whole (all its units), because the amount and the
// exit load on the units paying it need more units than it holds; its
// payout is then the value less the load, and the wallet's cash pays the
// rest of the fee.
type FeeRedemption struct {
	Scheme string      `json:"scheme"`
	Amount fund.Amount `json:"amount"`
	All    bool        `json:"all_units,omitempty"`
}

// PlanFeeRedemption plans redeeming total rupees of a folio FIFO: the
// oldest lot first across the folio's schemes (bought date, then scheme,
// then the lot's own order), each lot worth its units × the scheme's NAV
// rounded DOWN to the paisa, the last one taken in part; the rupees taken
// are summed per scheme, in the order first used. Within a scheme the
// ledger's redemption takes the same lots, FIFO, with their exit loads.
// When the folio is worth less, short is what the plan leaves uncovered.
// A scheme whose amount plus the exit load (by the lots' slabs on the
// redemption date on) needs more units than it holds is redeemed whole
// (All): redeemed by amount, the ledger would reject it.
func PlanFeeRedemption(total fund.Amount, hs []Holding, on fund.Date) (plan []FeeRedemption, short fund.Amount, err error) {
	if total.IsNegative() {
		return nil, total, fmt.Errorf("fee redemption: total %s is negative", total)
	}
	type lot struct {
		scheme string
		bought fund.Date
		seq    int
		value  fund.Amount
	}
	var lots []lot
	for _, h := range hs {
		for i, l := range h.Lots {
			v, err := fund.AmountFromDecimal(l.Units.Decimal().Mul(h.NAV.Decimal()), fund.RoundDown)
			if err != nil {
				return nil, total, fmt.Errorf("fee redemption: %s lot %s: %w", h.Scheme, l.ID, err)
			}
			lots = append(lots, lot{scheme: h.Scheme, bought: l.Bought, seq: i, value: v})
		}
	}
	sort.SliceStable(lots, func(i, j int) bool {
		a, b := lots[i], lots[j]
		if a.bought != b.bought {
			return a.bought.Before(b.bought)
		}
		if a.scheme != b.scheme {
			return a.scheme < b.scheme
		}
		return a.seq < b.seq
	})
	left := total
	at := map[string]int{}
	for _, l := range lots {
		if left.Sign() <= 0 {
			break
		}
		take := l.value
		if take.Cmp(left) > 0 {
			take = left
		}
		if take.Sign() <= 0 {
			continue
		}
		i, ok := at[l.scheme]
		if !ok {
			i = len(plan)
			at[l.scheme] = i
			plan = append(plan, FeeRedemption{Scheme: l.scheme})
		}
		plan[i].Amount = plan[i].Amount.Add(take)
		left = left.Sub(take)
	}
	byScheme := map[string]Holding{}
	for _, h := range hs {
		byScheme[h.Scheme] = h
	}
	for i, p := range plan {
		// redeemUnits is the ledger's climb: errShortUnits says the units
		// held cannot pay the amount and its load (redeemed whole, the
		// wallet pays the load); any other error is not a reason to sell
		switch _, _, err := redeemUnits(byScheme[p.Scheme], p.Amount, on); {
		case errors.Is(err, errShortUnits):
			plan[i].All = true
		case err != nil:
			return nil, left, err
		}
	}
	return plan, left, nil
}
