package managed

import (
	"errors"
	"fmt"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/tax"
	"github.com/shopspring/decimal"
)

// Holding is one scheme a managed portfolio holds, as the rebalance planner
// needs it: the units and the latest NAV (its value), the open lots oldest
// first (tax.Lot with the units and the cost still in each) for the tax
// estimate and the tax-aware choice, and the scheme's exit-load slabs.
type Holding struct {
	Scheme     string
	NAV        fund.NAV
	NAVDate    fund.Date // NAV's date (zero: unknown; the drift check refuses a stale one)
	Units      fund.Units
	UnitsScale int32
	Type       tax.SchemeType
	Lots       []tax.Lot
	Loads      []fund.LoadSlab
}

// Value is what the holding is worth at its NAV, rounded DOWN to the paisa:
// an amount-based redemption of the whole value then never needs more units
// than are held (UnitsCovering rounds up).
func (h Holding) Value() (fund.Amount, error) {
	return fund.AmountFromDecimal(h.Units.Decimal().Mul(h.NAV.Decimal()), fund.RoundDown)
}

// PlanOptions says how to plan a rebalance.
type PlanOptions struct {
	ThresholdPP decimal.Decimal // drift threshold in percentage points
	Force       bool            // a model change: rebalance even within the threshold
	// TaxAware brings weights only within half the threshold of their
	// targets instead of onto them, and takes what it must redeem beyond the
	// unavoidable from the lots with the least short-term gain (losses
	// first, then long-term lots, then the smallest short-term gain per
	// rupee). Redemptions themselves are FIFO (the ledger's rule).
	TaxAware bool
	On       fund.Date    // the sale date the tax estimate assumes
	Rules    []tax.CGRule // nil: tax.CGRules
}

// Estimate is what one redemption is expected to cost at the latest NAV:
// the units it takes (covering the amount and its exit load, as the
// ledger's amount-based redemption does), the exit load, the gains by term
// and the tax at the stated rates. Short-term gains taxed at the investor's
// slab are shown (SlabGain), not priced; 112A's yearly exemption is not
// applied. An estimate, not the allotment: the NAV applied may differ.
type Estimate struct {
	Scheme    string      `json:"scheme"`
	Amount    fund.Amount `json:"amount"`
	Units     fund.Units  `json:"units"`
	ExitLoad  fund.Amount `json:"exit_load"`
	ShortGain fund.Amount `json:"short_term_gain"`
	LongGain  fund.Amount `json:"long_term_gain"`
	SlabGain  fund.Amount `json:"slab_rate_gain"`
	Tax       fund.Amount `json:"estimated_tax"`
}

// Switch is one switch order a rebalance places: Amount out of From (net of
// its exit load) into To.
type Switch struct {
	From   string      `json:"from"`
	To     string      `json:"to"`
	Amount fund.Amount `json:"amount"`
}

// Plan is a rebalance proposal with its switches and estimates.
type Plan struct {
	Proposal
	TaxAware  bool        `json:"tax_aware"`
	Switches  []Switch    `json:"switches"`
	Estimates []Estimate  `json:"estimates"`
	ExitLoad  fund.Amount `json:"exit_load"`
	ShortGain fund.Amount `json:"short_term_gain"`
	LongGain  fund.Amount `json:"long_term_gain"`
	Tax       fund.Amount `json:"estimated_tax"`
}

var two = decimal.NewFromInt(2)

// PlanRebalance proposes the trades that bring hs back to m (ProposeRebalance,
// or the tax-aware band rebalance when o.TaxAware), pairs them into switches
// and estimates each redemption's exit load and tax.
func PlanRebalance(m Model, hs []Holding, o PlanOptions) (Plan, error) {
	if o.Rules == nil {
		o.Rules = tax.CGRules
	}
	byScheme, values, err := valueHoldings(hs)
	if err != nil {
		return Plan{}, err
	}
	var p Plan
	if o.TaxAware {
		p.Proposal, err = proposeBand(m, values, byScheme, o)
	} else {
		p.Proposal, err = ProposeRebalance(m, values, o.ThresholdPP, o.Force)
	}
	if err != nil {
		return Plan{}, err
	}
	p.TaxAware = o.TaxAware
	if p.Switches, err = PairSwitches(p.Trades); err != nil {
		return Plan{}, err
	}
	for _, t := range p.Trades {
		if t.Side != "redeem" {
			continue
		}
		h, ok := byScheme[t.Scheme]
		if !ok {
			return Plan{}, fmt.Errorf("plan: redemption of %s, which is not held", t.Scheme)
		}
		e, err := EstimateRedemption(h, t.Amount, o.On, o.Rules)
		if err != nil {
			return Plan{}, err
		}
		p.Estimates = append(p.Estimates, e)
		p.ExitLoad, p.ShortGain, p.LongGain, p.Tax = p.ExitLoad.Add(e.ExitLoad), p.ShortGain.Add(e.ShortGain), p.LongGain.Add(e.LongGain), p.Tax.Add(e.Tax)
	}
	return p, nil
}

// valueHoldings values each holding at its latest NAV (Holding.Value), by
// scheme: what a rebalance plans from and its drift is measured on.
func valueHoldings(hs []Holding) (map[string]Holding, map[string]fund.Amount, error) {
	byScheme := map[string]Holding{}
	values := map[string]fund.Amount{}
	for _, h := range hs {
		if _, dup := byScheme[h.Scheme]; dup {
			return nil, nil, fmt.Errorf("plan: scheme %s is held twice", h.Scheme)
		}
		if h.NAV.IsZero() {
			return nil, nil, fmt.Errorf("plan: scheme %s has no NAV", h.Scheme)
		}
		v, err := h.Value()
		if err != nil {
			return nil, nil, fmt.Errorf("plan: %s: %w", h.Scheme, err)
		}
		byScheme[h.Scheme], values[h.Scheme] = h, v
	}
	return byScheme, values, nil
}

// MeasureHoldings is the drift PlanRebalance decides on: each holding at
// its latest NAV measured against m (MeasureDrift). ErrEmptyPortfolio when
// nothing is held yet.
func MeasureHoldings(m Model, hs []Holding, thresholdPP decimal.Decimal) (Drift, error) {
	_, values, err := valueHoldings(hs)
	if err != nil {
		return Drift{}, err
	}
	return MeasureDrift(m, values, thresholdPP)
}

// maxCoverRounds bounds the units-for-amount climb (as the ledger's rules).
const maxCoverRounds = 50

// redeemUnits is the ledger's amount-based redemption: the fewest units
// whose value covers the amount plus the exit load on those units (FIFO).
func redeemUnits(h Holding, amount fund.Amount, on fund.Date) (fund.Units, fund.Amount, error) {
	u := amount.UnitsCovering(h.NAV, h.UnitsScale)
	for range maxCoverRounds {
		if u.Cmp(h.Units) > 0 {
			return u, fund.Amount{}, fmt.Errorf("estimate %s: %s needs %s units, %s held: %w", h.Scheme, amount, u, h.Units, errShortUnits)
		}
		load, err := exitLoad(h, u, on)
		if err != nil {
			return u, load, err
		}
		need := amount.Add(load).UnitsCovering(h.NAV, h.UnitsScale)
		if need.Cmp(u) <= 0 {
			return u, load, nil
		}
		u = need
	}
	return u, fund.Amount{}, fmt.Errorf("estimate %s: the exit load grows as fast as the units: %w", h.Scheme, errShortUnits)
}

// errShortUnits: the units held cannot pay the amount and its exit load.
var errShortUnits = errors.New("not enough units for the amount and its load")

// exitLoad is the load on units taken FIFO from h's lots, per lot half-up
// to the paisa (the ledger's rule).
func exitLoad(h Holding, units fund.Units, on fund.Date) (fund.Amount, error) {
	left := units.Decimal()
	var load fund.Amount
	for _, l := range h.Lots {
		if left.Sign() <= 0 {
			break
		}
		take := decimal.Min(left, l.Units.Decimal())
		rate, _ := fund.ExitLoadRate(h.Loads, l.Bought, on)
		lv, err := fund.AmountFromRatio(take.Mul(h.NAV.Decimal()).Mul(rate), hundred, fund.RoundHalfUp)
		if err != nil {
			return load, err
		}
		load, left = load.Add(lv), left.Sub(take)
	}
	if left.Sign() > 0 {
		return load, fmt.Errorf("estimate %s: lots hold fewer than %s units: %w", h.Scheme, units, errShortUnits)
	}
	return load, nil
}

// EstimateRedemption estimates an amount-based redemption of h on on.
func EstimateRedemption(h Holding, amount fund.Amount, on fund.Date, rules []tax.CGRule) (Estimate, error) {
	e := Estimate{Scheme: h.Scheme, Amount: amount}
	u, load, err := redeemUnits(h, amount, on)
	if err != nil {
		return e, err
	}
	e.Units, e.ExitLoad = u, load
	gains, err := tax.Realise(rules, h.Lots, tax.Sale{Date: on, Units: u, NAV: h.NAV, ExitLoad: load})
	if err != nil {
		return e, fmt.Errorf("estimate %s: %w", h.Scheme, err)
	}
	for _, g := range gains {
		if g.Term == tax.Short {
			e.ShortGain = e.ShortGain.Add(g.Gain)
		} else {
			e.LongGain = e.LongGain.Add(g.Gain)
		}
		if g.Gain.Sign() <= 0 {
			continue
		}
		if g.RatePct == "" {
			e.SlabGain = e.SlabGain.Add(g.Gain)
			continue
		}
		t, err := fund.AmountFromRatio(g.Gain.Decimal().Mul(decimal.RequireFromString(g.RatePct)), hundred, fund.RoundHalfUp)
		if err != nil {
			return e, err
		}
		e.Tax = e.Tax.Add(t)
	}
	return e, nil
}

// PairSwitches pairs redemptions with purchases in the order given (the
// north-west corner rule): each switch moves the smaller of what is left to
// redeem and to buy, so Σ switches out of a scheme = its redemption, Σ into
// one = its purchase, and there are at most redemptions + purchases − 1.
// The redemptions and purchases must sum to the same amount.
func PairSwitches(trades []Trade) ([]Switch, error) {
	var outs, ins []Trade
	var ro, pi fund.Amount
	for _, t := range trades {
		switch t.Side {
		case "redeem":
			outs, ro = append(outs, t), ro.Add(t.Amount)
		case "purchase":
			ins, pi = append(ins, t), pi.Add(t.Amount)
		default:
			return nil, fmt.Errorf("pair: trade side %q", t.Side)
		}
	}
	if !ro.Equal(pi) {
		return nil, fmt.Errorf("pair: redemptions %s and purchases %s differ", ro, pi)
	}
	sw := []Switch{}
	i, j := 0, 0
	for i < len(outs) && j < len(ins) {
		amt := outs[i].Amount
		if ins[j].Amount.Cmp(amt) < 0 {
			amt = ins[j].Amount
		}
		if amt.Sign() > 0 {
			sw = append(sw, Switch{From: outs[i].Scheme, To: ins[j].Scheme, Amount: amt})
		}
		outs[i].Amount, ins[j].Amount = outs[i].Amount.Sub(amt), ins[j].Amount.Sub(amt)
		if outs[i].Amount.Sign() == 0 {
			i++
		}
		if ins[j].Amount.Sign() == 0 {
			j++
		}
	}
	return sw, nil
}

// slice is a part of one lot a tax-aware redemption may take: its value at
// the NAV and the short-term gain per rupee it realises (key).
type slice struct {
	value fund.Amount
	key   decimal.Decimal
}

// proposeBand is the tax-aware proposal. With T the total and b = T ×
// threshold / 2 / 100 (rounded down to the paisa), a scheme over its target
// by E must redeem at least E − b (all of it when its target is 0: it left
// the model), one under by D must buy at least D − b. The larger of the two
// sums is traded: extra redemptions come lot by lot (FIFO within a scheme,
// never below target) from the scheme whose next lot has the least
// short-term gain per rupee; extra purchases go to the schemes under
// target in proportion to what they still lack (Distribute). Every weight
// ends within b of its target, so within the threshold.
func proposeBand(m Model, values map[string]fund.Amount, hs map[string]Holding, o PlanOptions) (Proposal, error) {
	d, err := MeasureDrift(m, values, o.ThresholdPP)
	if err != nil {
		return Proposal{}, err
	}
	p := Proposal{Drift: d}
	if !d.Over && !o.Force {
		return p, nil
	}
	w := make([]decimal.Decimal, len(d.Schemes))
	for i, s := range d.Schemes {
		w[i] = s.Target
	}
	targets, err := Distribute(d.Total, w)
	if err != nil {
		return Proposal{}, fmt.Errorf("rebalance: %w", err)
	}
	band, err := fund.AmountFromRatio(d.Total.Decimal().Mul(o.ThresholdPP), two.Mul(hundred), fund.RoundDown)
	if err != nil {
		return Proposal{}, err
	}
	n := len(d.Schemes)
	redeem, room, buy := make([]fund.Amount, n), make([]fund.Amount, n), make([]fund.Amount, n)
	var mandR, mandB fund.Amount
	for i, s := range d.Schemes {
		delta := s.Value.Sub(targets[i]) // over (+) or under (−) its target
		switch {
		case delta.Sign() > 0 && s.Target.IsZero():
			redeem[i] = delta
		case delta.Sign() > 0:
			redeem[i] = posPart(delta.Sub(band))
			room[i] = delta.Sub(redeem[i])
		case delta.Sign() < 0:
			buy[i] = posPart(delta.Neg().Sub(band))
			room[i] = delta.Neg().Sub(buy[i])
		}
		if delta.Sign() > 0 {
			mandR = mandR.Add(redeem[i])
		} else {
			mandB = mandB.Add(buy[i])
		}
	}
	// Extra redemptions, lot by lot, cheapest short-term gain first.
	if extra := mandB.Sub(mandR); extra.Sign() > 0 {
		queues := make([][]slice, n)
		for i, s := range d.Schemes {
			if room[i].Sign() > 0 && s.Value.Cmp(targets[i]) > 0 {
				if queues[i], err = slices(hs[s.Scheme], redeem[i], o); err != nil {
					return Proposal{}, err
				}
			}
		}
		for extra.Sign() > 0 {
			best := -1
			for i, q := range queues {
				if len(q) > 0 && room[i].Sign() > 0 && (best < 0 || q[0].key.LessThan(queues[best][0].key)) {
					best = i
				}
			}
			if best < 0 {
				return Proposal{}, fmt.Errorf("rebalance: %s more to redeem than the schemes over target hold", extra)
			}
			take := minAmount(queues[best][0].value, room[best], extra)
			redeem[best], room[best], extra = redeem[best].Add(take), room[best].Sub(take), extra.Sub(take)
			queues[best][0].value = queues[best][0].value.Sub(take)
			if queues[best][0].value.Sign() == 0 {
				queues[best] = queues[best][1:]
			}
		}
	}
	var total fund.Amount
	for i := range redeem {
		total = total.Add(redeem[i])
	}
	// Extra purchases over what the schemes under target still lack.
	if rest := total.Sub(mandB); rest.Sign() > 0 {
		rw := make([]decimal.Decimal, n)
		for i, s := range d.Schemes {
			if s.Value.Cmp(targets[i]) < 0 {
				rw[i] = room[i].Decimal()
			}
		}
		shares, err := Distribute(rest, rw)
		if err != nil {
			return Proposal{}, fmt.Errorf("rebalance: extra purchases: %w", err)
		}
		for i := range buy {
			buy[i] = buy[i].Add(shares[i])
		}
	}
	var buys []Trade
	for i, s := range d.Schemes {
		if redeem[i].Sign() > 0 {
			p.Trades = append(p.Trades, Trade{s.Scheme, "redeem", redeem[i]})
		}
		if buy[i].Sign() > 0 {
			buys = append(buys, Trade{s.Scheme, "purchase", buy[i]})
		}
	}
	p.Trades = append(p.Trades, buys...)
	return p, nil
}

// slices cuts a holding's lots (FIFO) into the parts a redemption beyond
// skip would take, each with its short-term gain per rupee: (NAV − cost per
// unit) / NAV for a short-term lot (negative for a loss: taken first), 0 for
// a long-term one. Lot values are rounded down to the paisa.
func slices(h Holding, skip fund.Amount, o PlanOptions) ([]slice, error) {
	var out []slice
	for _, l := range h.Lots {
		if l.Units.Sign() <= 0 {
			continue
		}
		v, err := fund.AmountFromDecimal(l.Units.Decimal().Mul(h.NAV.Decimal()), fund.RoundDown)
		if err != nil {
			return nil, err
		}
		if skip.Sign() > 0 {
			s := minAmount(skip, v)
			v, skip = v.Sub(s), skip.Sub(s)
		}
		if v.Sign() == 0 {
			continue
		}
		r, err := tax.Rule(o.Rules, l.Type, l.Bought, o.On)
		if err != nil {
			return nil, fmt.Errorf("rebalance: %s: %w", h.Scheme, err)
		}
		key := decimal.Zero
		if !tax.IsLongTerm(l.Bought, o.On, r.LongAfterMonths) {
			cpu := l.Cost.Decimal().Div(l.Units.Decimal())
			key = h.NAV.Decimal().Sub(cpu).Div(h.NAV.Decimal())
		}
		out = append(out, slice{value: v, key: key})
	}
	return out, nil
}

func posPart(a fund.Amount) fund.Amount {
	if a.Sign() < 0 {
		return fund.Amount{}
	}
	return a
}

func minAmount(a fund.Amount, bs ...fund.Amount) fund.Amount {
	for _, b := range bs {
		if b.Cmp(a) < 0 {
			a = b
		}
	}
	return a
}
