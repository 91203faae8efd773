package fraud

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// hand-built events: h is hours after t0.
func red(id string, h float64, amount, holdings string) Event {
	return Event{ID: id, Lineage: "lin-" + id, Kind: EventOrder, OrderKind: "redemption", InvestorID: "I1", FolioNo: "F1",
		OrderID: "O-" + id, At: t0.Add(time.Duration(h * float64(time.Hour))), Amount: fund.MustAmount(amount), Holdings: fund.MustAmount(holdings)}
}

func buy(id string, h float64, amount string) Event {
	return Event{ID: id, Lineage: "lin-" + id, Kind: EventOrder, OrderKind: "purchase", InvestorID: "I1", FolioNo: "F1",
		OrderID: "O-" + id, At: t0.Add(time.Duration(h * float64(time.Hour))), Amount: fund.MustAmount(amount)}
}

func failed(id string, h float64) Event {
	return Event{ID: id, Lineage: "lin-" + id, Kind: EventPayment, InvestorID: "I1", FolioNo: "F1", OrderID: "O-" + id,
		At: t0.Add(time.Duration(h * float64(time.Hour))), Amount: fund.MustAmount("100"), PaymentFailed: true}
}

func change(id, inv string, h float64, fps map[string]string) Event {
	var fields []string
	for f := range fps {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	return Event{ID: id, Lineage: "lin-" + id, Kind: EventProfile, InvestorID: inv, At: t0.Add(time.Duration(h * float64(time.Hour))),
		Fields: fields, Fingerprints: fps}
}

func with(e Event, f func(*Event)) Event { f(&e); return e }

// run feeds events through one rule with an in-memory store, as the
// streaming job does with Postgres; it returns the triggering event ids.
func run(r Rule, evs []Event) ([]string, []Firing) {
	states := map[string]State{}
	var ids []string
	var fs []Firing
	for _, ev := range evs {
		k := r.Key(ev)
		if k == "" {
			continue
		}
		st, got := r.Eval(states[k], ev)
		states[k] = st
		for _, f := range got {
			ids = append(ids, f.Event.EventID)
			fs = append(fs, f)
		}
	}
	return ids, fs
}

func TestEvalRules(t *testing.T) {
	pct := decimal.NewFromInt
	velocity := Rule{ID: "v", Kind: KindRedemptionVelocity, Scope: ScopeInvestor, Window: 24 * time.Hour, Action: ActionAlert, MaxCount: 3}
	ato := Rule{ID: "ato", Kind: KindAccountTakeover, Scope: ScopeInvestor, Window: 168 * time.Hour, Action: ActionHold,
		MinPct: pct(50), Fields: []string{"bank_account", "mobile", "email"}}
	mule := Rule{ID: "mule", Kind: KindSharedContact, Scope: ScopeBank, Window: 2160 * time.Hour, Action: ActionAlert, MaxInvestors: 2}
	rt := Rule{ID: "rt", Kind: KindRoundTrip, Scope: ScopeInvestor, Window: 72 * time.Hour, Action: ActionHold, MinPct: pct(80)}
	card := Rule{ID: "card", Kind: KindFailedPayments, Scope: ScopeInvestor, Window: time.Hour, Action: ActionAlert, MaxCount: 5}
	structuring := Rule{ID: "s", Kind: KindStructuring, Scope: ScopeInvestor, Window: 720 * time.Hour, Action: ActionAlert,
		MinCount: 3, Amount: fund.MustAmount("50000"), Band: fund.MustAmount("5000")}
	bank := func(fp string) map[string]string { return map[string]string{"bank_account": fp} }

	tests := []struct {
		name string
		rule Rule
		evs  []Event
		want []string // triggering event ids, in order
	}{
		{"velocity: 4th redemption within 24h fires (4 > 3)", velocity,
			[]Event{red("r1", 0, "10", "0"), red("r2", 1, "10", "0"), red("r3", 2, "10", "0"), red("r4", 23.9, "10", "0")}, []string{"r4"}},
		{"velocity: r1 at 0h left the window when r4 came at 24h01 (r2,r3,r4 = 3)", velocity,
			[]Event{red("r1", 0, "10", "0"), red("r2", 1, "10", "0"), red("r3", 2, "10", "0"), red("r4", 24.02, "10", "0")}, nil},
		{"velocity: at exactly 24h r1 is still in (window is [at-24h, at])", velocity,
			[]Event{red("r1", 0, "10", "0"), red("r2", 1, "10", "0"), red("r3", 2, "10", "0"), red("r4", 24, "10", "0")}, []string{"r4"}},
		{"velocity: window empties on firing; 4 more needed for the next", velocity,
			[]Event{red("r1", 0, "1", "0"), red("r2", 0, "1", "0"), red("r3", 0, "1", "0"), red("r4", 0, "1", "0"),
				red("r5", 1, "1", "0"), red("r6", 1, "1", "0"), red("r7", 1, "1", "0"), red("r8", 1, "1", "0")}, []string{"r4", "r8"}},
		{"velocity: purchases do not count", velocity,
			[]Event{buy("b1", 0, "10"), buy("b2", 0, "10"), red("r1", 0, "10", "0"), buy("b3", 0, "10"), red("r2", 0, "1", "0")}, nil},

		// ATO: 50% of holdings 100000 is 50000
		{"ato: bank change then 50000 of 100000 (=50%) within 7 days", ato,
			[]Event{change("c1", "I1", 0, bank("fpA")), red("r1", 100, "50000.00", "100000")}, []string{"r1"}},
		{"ato: 49999.99 of 100000 is under 50%", ato,
			[]Event{change("c1", "I1", 0, bank("fpA")), red("r1", 100, "49999.99", "100000")}, nil},
		{"ato: change 7 days + 1s before is out of the window", ato,
			[]Event{change("c1", "I1", 0, bank("fpA")), with(red("r1", 168, "90000", "100000"), func(e *Event) { e.At = e.At.Add(time.Second) })}, nil},
		{"ato: redemption before the change does not fire", ato,
			[]Event{red("r0", 0, "90000", "100000"), change("c1", "I1", 1, bank("fpA"))}, nil},
		// the change and the redemption come on two topics: a change that
		// arrives late still fires on the redemption it precedes, once
		{"ato: the change arrives after the redemption it precedes", ato,
			[]Event{red("r1", 5, "90000", "100000"), change("c1", "I1", 1, bank("fpA")), change("c2", "I1", 2, bank("fpB"))}, []string{"r1"}},
		{"ato: a late change more than 7 days before the redemption", ato,
			[]Event{red("r1", 200, "90000", "100000"), change("c1", "I1", 1, bank("fpA"))}, nil},
		{"ato: a late change does not fire a redemption that fired already", ato,
			[]Event{change("c0", "I1", 0, bank("fpZ")), red("r1", 5, "90000", "100000"), change("c1", "I1", 1, bank("fpA"))}, []string{"r1"}},
		{"ato: a nominee change is not watched", ato,
			[]Event{change("c1", "I1", 0, map[string]string{"nominee": "x"}), red("r1", 1, "90000", "100000")}, nil},
		{"ato: every big redemption in the window fires (each is held)", ato,
			[]Event{change("c1", "I1", 0, map[string]string{"mobile": "m"}), red("r1", 1, "60000", "100000"), red("r2", 2, "40000", "40000")}, []string{"r1", "r2"}},

		// mules: more than 2 investors on one bank fingerprint
		{"mule: third investor on fpA fires; fourth fires again", mule,
			[]Event{change("c1", "I1", 0, bank("fpA")), change("c2", "I2", 1, bank("fpA")), change("c3", "I3", 2, bank("fpA")),
				change("c4", "I4", 3, bank("fpA"))}, []string{"c3", "c4"}},
		// investors on different partitions arrive in no set order: the
		// alerts are those of time order, each once
		{"mule: arrival 4th, 3rd, 1st, 2nd by time still fires on the 3rd and 4th", mule,
			[]Event{change("c4", "I4", 3, bank("fpA")), change("c3", "I3", 2, bank("fpA")), change("c1", "I1", 0, bank("fpA")),
				change("c2", "I2", 1, bank("fpA"))}, []string{"c4", "c3"}},
		{"mule: the same investor twice is one sharer", mule,
			[]Event{change("c1", "I1", 0, bank("fpA")), change("c2", "I1", 1, bank("fpA")), change("c3", "I2", 2, bank("fpA"))}, nil},
		{"mule: different accounts are different windows", mule,
			[]Event{change("c1", "I1", 0, bank("fpA")), change("c2", "I2", 1, bank("fpB")), change("c3", "I3", 2, bank("fpC"))}, nil},
		{"mule: a mobile change does not count for the bank scope", mule,
			[]Event{change("c1", "I1", 0, bank("fpA")), change("c2", "I2", 1, bank("fpA")), change("c3", "I3", 2, map[string]string{"mobile": "fpA"})}, nil},
		{"mule: 90 days later the first investor has left the window", mule,
			[]Event{change("c1", "I1", 0, bank("fpA")), change("c2", "I2", 1, bank("fpA")), change("c3", "I3", 2161, bank("fpA"))}, nil},

		// round trip: 100000 bought; 80% of it is 80000
		{"round trip: buy 100000, redeem 80000 of holdings 100000 within 3 days", rt,
			[]Event{buy("b1", 0, "100000"), red("r1", 48, "80000", "100000")}, []string{"r1"}},
		{"round trip: redeem 79999.99 is under 80%", rt,
			[]Event{buy("b1", 0, "100000"), red("r1", 48, "79999.99", "100000")}, nil},
		{"round trip: old holdings 400000 + 100000 bought: purchases are 20% of the holdings", rt,
			[]Event{buy("b1", 0, "100000"), red("r1", 48, "100000", "500000")}, nil},
		{"round trip: two purchases 60000+40000, redemption 85000 (85% of 100000)", rt,
			[]Event{buy("b1", 0, "60000"), buy("b2", 10, "40000"), red("r1", 70, "85000", "105000")}, []string{"r1"}},
		{"round trip: purchase 72h+ before is out", rt,
			[]Event{buy("b1", 0, "100000"), red("r1", 72.01, "100000", "100000")}, nil},
		{"round trip: the purchase is spent by the first firing", rt,
			[]Event{buy("b1", 0, "100000"), red("r1", 1, "90000", "100000"), red("r2", 2, "10000", "10000")}, []string{"r1"}},

		{"card testing: 6 failures in an hour (6 > 5)", card,
			[]Event{failed("p1", 0), failed("p2", 0.1), failed("p3", 0.2), failed("p4", 0.3), failed("p5", 0.4), failed("p6", 0.99)}, []string{"p6"}},
		{"card testing: 6 failures over 61 minutes", card,
			[]Event{failed("p1", 0), failed("p2", 0.1), failed("p3", 0.2), failed("p4", 0.3), failed("p5", 0.4), failed("p6", 1.02)}, nil},
		{"card testing: captured payments do not count", card,
			[]Event{failed("p1", 0), failed("p2", 0), failed("p3", 0), failed("p4", 0), failed("p5", 0),
				with(failed("p6", 0), func(e *Event) { e.PaymentFailed = false })}, nil},

		// structuring: [45000, 50000)
		{"structuring: 45000, 49999.99, 47000 are all in the band", structuring,
			[]Event{buy("b1", 0, "45000"), buy("b2", 100, "49999.99"), buy("b3", 200, "47000")}, []string{"b3"}},
		{"structuring: 50000 is at the threshold (PAN given), 44999.99 under the band", structuring,
			[]Event{buy("b1", 0, "49000"), buy("b2", 1, "50000"), buy("b3", 2, "44999.99"), buy("b4", 3, "49000")}, nil},
		{"structuring: 30 days + 1h between first and third", structuring,
			[]Event{buy("b1", 0, "49000"), buy("b2", 1, "49000"), buy("b3", 721, "49000")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := run(tt.rule, tt.evs)
			if !slices.Equal(got, tt.want) {
				t.Errorf("fired on %v, want %v", got, tt.want)
			}
		})
	}
}

// A firing carries the alert id, the leg to hold and the evidence, oldest
// first, each with its lineage.
func TestFiringEvidence(t *testing.T) {
	ato := Rule{ID: "ato", Kind: KindAccountTakeover, Scope: ScopeInvestor, Window: 168 * time.Hour, Action: ActionHold,
		MinPct: decimal.NewFromInt(50), Fields: []string{"bank_account"}}
	_, fs := run(ato, []Event{change("c1", "I1", 0, map[string]string{"bank_account": "x"}), buy("b1", 1, "10"), red("r1", 2, "100", "100")})
	if len(fs) != 1 {
		t.Fatalf("%d firings", len(fs))
	}
	f := fs[0]
	if f.AlertID() != "ato:r1" || f.OrderID != "O-r1" || f.Investor != "I1" || f.Key != "I1" {
		t.Errorf("firing %+v", f)
	}
	want := []Ref{{"c1", "lin-c1"}, {"r1", "lin-r1"}}
	if !slices.Equal(f.Evidence, want) {
		t.Errorf("evidence %v, want %v", f.Evidence, want)
	}
	// an alert rule holds nothing
	ato.Action = ActionAlert
	if _, fs := run(ato, []Event{change("c1", "I1", 0, map[string]string{"bank_account": "x"}), red("r1", 2, "100", "100")}); fs[0].OrderID != "" {
		t.Errorf("alert rule names a leg to hold: %q", fs[0].OrderID)
	}
}

// Eval does not change the state it is given (the caller may keep it on
// a failed write and retry).
func TestEvalIsPure(t *testing.T) {
	r := Rule{ID: "v", Kind: KindRedemptionVelocity, Scope: ScopeInvestor, Window: time.Hour, MaxCount: 5, Action: ActionAlert}
	st := NewState([]Entry{{Ref: Ref{EventID: "a"}, At: t0}})
	st2, _ := r.Eval(st, red("b", 0.5, "1", "0"))
	if st.Len() != 1 || st2.Len() != 2 {
		t.Errorf("before %d after %d entries", st.Len(), st2.Len())
	}
}

// EvalAll over the shipped rules: a folio's events go to each rule's own
// window; rule order is kept.
func TestEvalAllShipped(t *testing.T) {
	rs := Shipped()
	states := map[string]State{}
	var fired []string
	evs := []Event{
		change("c1", "I1", 0, map[string]string{"bank_account": "fpX"}),
		buy("b1", 1, "200000"),
		red("r1", 2, "190000", "200000"), // ato (95% of holdings after a bank change) and round trip (95% of 200000 bought)
	}
	for _, ev := range evs {
		changed, fs := rs.EvalAll(states, ev)
		for k, v := range changed {
			states[k] = v
		}
		for _, f := range fs {
			fired = append(fired, f.AlertID())
		}
	}
	want := []string{"ato-redemption:r1", "round-trip:r1"}
	if !slices.Equal(fired, want) {
		t.Errorf("fired %v, want %v", fired, want)
	}
	if _, ok := states[StateKey("mule-bank", "bank:fpX")]; !ok {
		t.Errorf("no mule-bank window for fpX: %v", fmt.Sprint(states))
	}
}

// The rules that pair events across topics or partitions decide the same
// whatever order those events are read in, as long as each is within
// MaxSkew of the newest: every order of these events (a consumer far
// ahead of another reads them so) raises what time order raises, counted
// by hand: the day-2 redemption (a bank change on day 0, within 7 days)
// and M3's change (the third investor on the account within 90 days);
// not the day-20 redemption (no change in the 7 days before it) nor M4's
// change on day 100 (no one else on the account in the 90 days before).
func TestCrossPartitionRulesAnyOrder(t *testing.T) {
	rs := Shipped()
	day := func(d float64) float64 { return d * 24 }
	evs := []Event{
		change("c0", "I1", day(0), map[string]string{"bank_account": "ato-acct"}),
		red("r2", day(2), "600000", "1000000"),
		red("r20", day(20), "300000", "400000"),
		change("m1", "M1", day(0), map[string]string{"bank_account": "mule"}),
		change("m2", "M2", day(1), map[string]string{"bank_account": "mule"}),
		change("m3", "M3", day(2), map[string]string{"bank_account": "mule"}),
		change("m4", "M4", day(100), map[string]string{"bank_account": "mule"}),
	}
	want := []string{"ato-redemption:r2", "mule-bank:m3"}
	n := 0
	var perm func(k int)
	perm = func(k int) {
		if k == len(evs) {
			n++
			b := NewBacktest(rs, time.Time{}, time.Time{})
			for _, ev := range evs {
				b.Add(ev)
			}
			if got := b.AlertIDs(); !slices.Equal(got, want) {
				var order []string
				for _, ev := range evs {
					order = append(order, ev.ID)
				}
				t.Fatalf("read as %v: %v, want %v", order, got, want)
			}
			return
		}
		for i := k; i < len(evs); i++ {
			evs[k], evs[i] = evs[i], evs[k]
			perm(k + 1)
			evs[k], evs[i] = evs[i], evs[k]
		}
	}
	perm(0)
	if n != 5040 {
		t.Fatalf("%d orders tried", n)
	}
}
