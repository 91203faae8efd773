package wallet_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
	"github.com/shopspring/decimal"
)

// nextDay: Fri 21 Aug 2026, 10:00 IST, the day after the deposit.
var nextDay = clock.Add(24 * time.Hour)

// rebalanceEnv: ₹20,000 auto-invested on 20 Aug (A 8000, B 7000, C 5000 at
// NAV 10: A 799.960, B 699.965, C 499.975 units after duty 0.40, 0.35,
// 0.25), allotted; then A's NAV rises 20 % to 12.0000 from 21 Aug. The
// rebalancer and its ledger run on 21 Aug.
func rebalanceEnv(t *testing.T) (*env, *wallet.Rebalancer, *ledger.Service) {
	e, ai := autoEnv(t)
	e.pay("e1", "pay_1", "wallet:W1", "captured", 2000000)
	e.credit()
	if _, err := ai.Invest(e.ctx, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ledger.AllotPending(e.ctx, 100); err != nil {
		t.Fatal(err)
	}
	if got := e.db.Str(`SELECT string_agg(scheme_code || '=' || units::numeric(24,3), ',' ORDER BY scheme_code) FROM holdings WHERE folio_no = 'F1'`); got != "A=799.960,B=699.965,C=499.975" {
		t.Fatalf("holdings %s", got)
	}
	e.db.Exec(`UPDATE navs SET nav = 12 WHERE scheme_code = 'A' AND nav_date >= '2026-08-21'`)
	e.db.Exec(`INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
		VALUES ('A', '2026-08-21', 12, 't', 't', 1), ('B', '2026-08-21', 10, 't', 't', 1), ('C', '2026-08-21', 10, 't', 't', 1)`)
	now := func() time.Time { return nextDay }
	l := *e.ledger
	l.Now = now
	w := *e.wallet
	w.Now = now
	return e, &wallet.Rebalancer{Wallet: &w, Store: pgstore.Store{Pool: e.db.Read}, Ledger: &l, MaxSkew: time.Hour}, &l
}

var three = wallet.RebalanceOptions{ThresholdPP: decimal.NewFromInt(3)}

func TestRebalanceAfterANAVMove(t *testing.T) {
	e, rb, l := rebalanceEnv(t)
	// Values (units × NAV, down to the paisa): A 799.960 × 12 = 9599.52,
	// B 6999.65, C 4999.75; total 21598.92. A is 44.44 % against 40.
	// Targets 40/35/25 of 21598.92: 8639.568, 7559.622, 5399.73 floored
	// to 8639.56, 7559.62, 5399.73 (sum 21598.91); the paisa left goes to
	// A (remainder .8 against .2 and 0): 8639.57. Trades: A −959.95, B
	// +559.97, C +399.98: switches A→B 559.97 and A→C 399.98.
	p, err := rb.Propose(e.ctx, "W1", three)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Plan.Switches) != 2 || p.Plan.Switches[0].To != "B" || p.Plan.Switches[0].Amount.String() != "559.97" ||
		p.Plan.Switches[1].To != "C" || p.Plan.Switches[1].Amount.String() != "399.98" {
		t.Fatalf("switches %+v", p.Plan.Switches)
	}
	// A dry run writes nothing.
	if n := e.db.Num(`SELECT count(*) FROM rebalance_runs`); n != 0 {
		t.Fatalf("%d runs after a dry run", n)
	}
	var req map[string]string
	if err := json.Unmarshal([]byte(p.Requests[0]), &req); err != nil || req["type"] != "switch" || req["order_id"] != "RB-W1-20260821-S1" ||
		req["scheme_code"] != "A" || req["to_scheme_code"] != "B" || req["amount"] != "559.97" || req["folio"] != "F1" {
		t.Fatalf("request %s %v", p.Requests[0], err)
	}

	ex, found, err := rb.Execute(e.ctx, "W1", "", three)
	if err != nil || !found || len(ex.Orders) != 2 || ex.Orders[0].Outcome != ledger.OutcomeAccepted {
		t.Fatalf("execute %+v %v %v", ex, found, err)
	}
	if _, err := l.AllotPending(e.ctx, 100); err != nil {
		t.Fatal(err)
	}
	// Switch-outs at NAV 12 (amount-based: units cover the amount, rounded
	// up): 559.97 / 12 = 46.6641… → 46.665; 399.98 / 12 = 33.3316… →
	// 33.332. A keeps 799.960 − 46.665 − 33.332 = 719.963. Each switch-in
	// buys with what its switch-out paid (the amount asked), duty and
	// units computed independently by moneytest.
	dB, uB := moneytest.ExpectPurchase("559.97", "10.0000", 3)
	dC, uC := moneytest.ExpectPurchase("399.98", "10.0000", 3)
	got := e.db.Str(`SELECT string_agg(kind || ' ' || scheme_code || ' ' || units::numeric(24,3) || ' ' || amount || ' ' || net_amount || ' ' || stamp_duty, ',' ORDER BY order_id)
		FROM ledger_transactions WHERE switch_id LIKE 'RB-%'`)
	// Switch-in: amount, net = amount − duty (559.97 − 0.03 = 559.94,
	// 399.98 − 0.02 = 399.96), duty; switch-out: amount = net (no load).
	want := "switch_in B " + uB + " 559.97 559.94 " + dB + ",switch_out A 46.665 559.97 559.97 0.00,switch_in C " + uC + " 399.98 399.96 " + dC + ",switch_out A 33.332 399.98 399.98 0.00"
	if got != want {
		t.Errorf("ledger\n got %s\nwant %s", got, want)
	}
	// 699.965 + 55.994 = 755.959 and 499.975 + 39.996 = 539.971 (the
	// moneytest units, checked here against the hand figures).
	if uB != "55.994" || uC != "39.996" {
		t.Errorf("switch-in units %s %s, by hand 55.994 and 39.996", uB, uC)
	}
	if got := e.db.Str(`SELECT string_agg(scheme_code || '=' || units::numeric(24,3), ',' ORDER BY scheme_code) FROM holdings WHERE folio_no = 'F1'`); got != "A=719.963,B=755.959,C=539.971" {
		t.Errorf("holdings after %s", got)
	}
	// Within tolerance now: nothing more to do.
	if p, err := rb.Propose(e.ctx, "W1", three); err != nil || len(p.Plan.Switches) != 0 || p.Plan.Drift.Over {
		t.Errorf("after: %+v %v", p.Plan, err)
	}
	// Again with the same run: nothing twice.
	if _, found, err := rb.Execute(e.ctx, "W1", "", three); err != nil || !found {
		t.Fatal(err)
	}
	if n := e.db.Num(`SELECT count(*) FROM orders WHERE switch_id LIKE 'RB-%'`); n != 4 {
		t.Errorf("%d switch legs, want 4", n)
	}
	if got := e.db.Str(`SELECT string_agg(event_id, ',' ORDER BY id) FROM outbox WHERE topic LIKE 'rebalance.%'`); got != "rebalance.proposed:RB-W1-20260821,rebalance.executed:RB-W1-20260821" {
		t.Errorf("events %s", got)
	}
	// Nothing left in the switches' clearing accounts, nothing paid out.
	if got := e.db.Str(`SELECT coalesce(sum(amount), 0)::numeric(18,2)::text FROM ledger_postings WHERE account LIKE 'switch:RB-%' OR account = 'payout:F1'`); got != "0.00" {
		t.Errorf("clearing and payout %s", got)
	}
}

func TestRebalanceTaxAwareDryRun(t *testing.T) {
	e, rb, _ := rebalanceEnv(t)
	o := three
	o.TaxAware = true
	p, err := rb.Propose(e.ctx, "W1", o)
	if err != nil {
		t.Fatal(err)
	}
	// Band 21598.92 × 3 / 200 = 323.9838 → 323.98. A must give 959.95 −
	// 323.98 = 635.97; B must get 559.97 − 323.98 = 235.99, C 399.98 −
	// 323.98 = 76.00 (311.99). The other 323.98 goes to B and C by what
	// they still lack (323.98 each): 161.99 each. B 397.98, C 237.99.
	if len(p.Plan.Switches) != 2 || p.Plan.Switches[0].Amount.String() != "397.98" || p.Plan.Switches[1].Amount.String() != "237.99" {
		t.Fatalf("switches %+v", p.Plan.Switches)
	}
	// A's redemption: 635.97 / 12 → 52.998 units of the one lot (799.960
	// units, ₹8000.00): cost 8000 × 52.998 / 799.960 = 530.0065 → 530.01;
	// sale 52.998 × 12 = 635.976 → 635.98; short-term (a day old) equity
	// gain 105.97, 111A at 20 % = 21.194 → 21.19.
	es := p.Plan.Estimates
	if len(es) != 1 || es[0].Units.String() != "52.998" || es[0].ShortGain.String() != "105.97" || es[0].Tax.String() != "21.19" || !es[0].LongGain.IsZero() {
		t.Errorf("estimates %+v", es)
	}
}

// A switch-in that ends without an allotment: the ledger pays its
// switch-out's money out, and Sweep brings it back to the wallet, once.
func TestRebalanceFailedSwitchInComesHome(t *testing.T) {
	e, rb, l := rebalanceEnv(t)
	e.db.Exec(`DELETE FROM navs WHERE scheme_code = 'C' AND nav_date >= '2026-08-21'`)
	if _, _, err := rb.Execute(e.ctx, "W1", "", three); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AllotPending(e.ctx, 100); err != nil {
		t.Fatal(err)
	}
	// S2's switch-out is allotted, its switch-in waits for C's NAV; a KYC
	// hold on it is rejected: the ledger pays 399.98 out to the folio.
	h, _, err := l.PlaceHold(e.ctx, ledger.HoldRequest{OrderID: "RB-W1-20260821-S2#in", Source: ledger.HoldKYC, Reason: "kyc_expired", By: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.RejectHold(e.ctx, h.ID, "ops", "test"); err != nil {
		t.Fatal(err)
	}
	if got := e.db.Str(`SELECT amount::text FROM ledger_transactions WHERE kind = 'switch_payout'`); got != "399.98" {
		t.Fatalf("switch payout %s", got)
	}
	// The wallet held 0.00 after the deposit was invested whole.
	before := e.balance("W1")
	for range 2 {
		if _, err := rb.Sweep(e.ctx, 10); err != nil {
			t.Fatal(err)
		}
	}
	if before != "0.00" || e.balance("W1") != "399.98" {
		t.Errorf("wallet %s → %s, want 0.00 → 399.98", before, e.balance("W1"))
	}
	if got := e.db.Str(`SELECT string_agg(p.account || ' ' || p.amount::numeric(18,2), ',' ORDER BY p.seq) FROM wallet_postings p JOIN wallet_transactions t ON t.id = p.tx_id WHERE t.kind = 'switch_payout'`); got != "ledger_payout:F1 399.98,wallet:W1 -399.98" {
		t.Errorf("postings %s", got)
	}
}

// A run stopped after it was fixed, or after its switches were placed,
// finishes (Resume, or Execute again) with the same switches: nothing twice.
func TestRebalanceResumesAfterAStop(t *testing.T) {
	for _, stage := range []string{"proposed", "placed"} {
		t.Run(stage, func(t *testing.T) {
			e, rb, _ := rebalanceEnv(t)
			rb.SetCrash(func(s, _ string) error {
				if s == stage {
					return errCrash
				}
				return nil
			})
			if _, _, err := rb.Execute(e.ctx, "W1", "", three); err != errCrash {
				t.Fatalf("want the crash, got %v", err)
			}
			rb.SetCrash(nil)
			// A NAV moves again before the restart: the fixed run is
			// finished as fixed (the same two switches, placed once and
			// allotted at once: the NAV of 21 Aug is there), not re-planned.
			e.db.Exec(`UPDATE nav_latest SET nav = 15 WHERE scheme_code = 'A'`)
			if n, err := rb.Resume(e.ctx, 10); err != nil || n != 1 {
				t.Fatalf("resume %d %v", n, err)
			}
			if _, found, err := rb.Execute(e.ctx, "W1", "", three); err != nil || !found {
				t.Fatalf("again: %v %v", found, err)
			}
			if got := e.db.Str(`SELECT string_agg(id || ' ' || coalesce(amount::text, '-') || ' ' || status, ',' ORDER BY id) FROM orders WHERE switch_id LIKE 'RB-%'`); got != "RB-W1-20260821-S1#in 559.97 allotted,RB-W1-20260821-S1#out 559.97 allotted,RB-W1-20260821-S2#in 399.98 allotted,RB-W1-20260821-S2#out 399.98 allotted" {
				t.Errorf("orders %s", got)
			}
			if got := e.db.Str(`SELECT string_agg(topic, ',' ORDER BY id) FROM outbox WHERE topic LIKE 'rebalance.%'`); got != "rebalance.proposed,rebalance.executed" {
				t.Errorf("events %s", got)
			}
		})
	}
}

// A manual rebalance applies the scheduled check's stale-NAV rule (r34
// L2), by the same helper: on Fri 21 Aug with B's latest NAV of 19 Aug
// (older than Thu 20 Aug, the previous business day) the dry run and the
// run are refused naming B, and nothing is written; with 20 Aug's NAV the
// run places its two switches (A→B 559.97, A→C 399.98:
// TestRebalanceAfterANAVMove). The old code planned on the stale NAV.
func TestManualRebalanceRefusesAStaleNAV(t *testing.T) {
	e, rb, _ := rebalanceEnv(t)
	e.db.Exec(`UPDATE nav_latest SET nav_date = '2026-08-19' WHERE scheme_code = 'B'`)
	const want = "B's latest NAV is of 2026-08-19, older than 2026-08-20 (the previous business day)"
	if _, err := rb.Propose(e.ctx, "W1", three); !errors.Is(err, wallet.ErrStaleNAV) || !strings.Contains(err.Error(), want) {
		t.Errorf("dry run: %v", err)
	}
	if _, _, err := rb.Execute(e.ctx, "W1", "", three); !errors.Is(err, wallet.ErrStaleNAV) || !strings.Contains(err.Error(), want) {
		t.Errorf("run: %v", err)
	}
	if n := e.db.Num(`SELECT count(*) FROM rebalance_runs`) + e.db.Num(`SELECT count(*) FROM orders WHERE switch_id LIKE 'RB-%'`); n != 0 {
		t.Fatalf("%d runs and switch legs written on a stale NAV", n)
	}
	e.db.Exec(`UPDATE nav_latest SET nav_date = '2026-08-20' WHERE scheme_code = 'B'`)
	ex, found, err := rb.Execute(e.ctx, "W1", "", three)
	if err != nil || !found || len(ex.Orders) != 2 || ex.Orders[0].Amount.String() != "559.97" || ex.Orders[1].Amount.String() != "399.98" {
		t.Fatalf("with 20 Aug's NAV: %+v %v %v", ex, found, err)
	}
}

// A forced run with nothing to do under the default id does not take the
// day's id (r34 L3): a later run that day with the drift over the
// threshold still rebalances. Forced, tax-aware, threshold 10 pp: A's
// drift 44.44 − 40 = 4.44 pp is within half of 10, nothing to switch,
// recorded as the model version's run RB-W1-moderate-v1. Then not forced
// at 3 pp: A→B 559.97 and A→C 399.98 (TestRebalanceAfterANAVMove) under
// RB-W1-20260821. The old code recorded nothing_to_do as RB-W1-20260821
// and the second run returned it, placing nothing.
func TestForcedNothingToDoLeavesTheDaysRun(t *testing.T) {
	e, rb, _ := rebalanceEnv(t)
	ex, found, err := rb.Execute(e.ctx, "W1", "", wallet.RebalanceOptions{ThresholdPP: decimal.NewFromInt(10), Force: true, TaxAware: true})
	if err != nil || !found || len(ex.Orders) != 0 || ex.RunID != "RB-W1-moderate-v1" {
		t.Fatalf("forced: %+v %v %v", ex, found, err)
	}
	// Forced again: the same run, nothing written twice.
	if ex, _, err := rb.Execute(e.ctx, "W1", "", wallet.RebalanceOptions{ThresholdPP: decimal.NewFromInt(10), Force: true, TaxAware: true}); err != nil || ex.RunID != "RB-W1-moderate-v1" {
		t.Fatalf("forced again: %+v %v", ex, err)
	}
	ex, found, err = rb.Execute(e.ctx, "W1", "", three)
	if err != nil || !found || ex.RunID != "RB-W1-20260821" || len(ex.Orders) != 2 || ex.Orders[0].Amount.String() != "559.97" || ex.Orders[1].Amount.String() != "399.98" {
		t.Fatalf("not forced, 3 pp: %+v %v %v", ex, found, err)
	}
	if got := e.db.Str(`SELECT string_agg(id || ' ' || status, ',' ORDER BY id) FROM rebalance_runs`); got != "RB-W1-20260821 placed,RB-W1-moderate-v1 nothing_to_do" {
		t.Errorf("runs %s", got)
	}
}
