package main

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/internal/gatewaysim"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/plans"
	"github.com/fundflow/fundflow/wallet"
	walletpg "github.com/fundflow/fundflow/wallet/pgstore"
)

// A SIP into a wallet end to end, as serve wires it: INV-F1's monthly SIP
// of ₹10,000.00 on the 20th into wallet W1 (auto-investing into the
// moderate model, folio F1), registered on 18 Aug through the plans
// service. The instalment run generates its 20 Aug instalment; on the 20th
// it presents the mandate debit to the gateway with notes.order_id
// wallet:W1; the capture comes back through the webhook intake and is
// stored unmatched; the managed run credits it to W1 and auto-invests it:
// A 40 % = 4,000.00, B 35 % = 3,500.00 down to its multiple of 1,000 =
// 3,000.00, C 25 % = 2,500.00 below its minimum of 5,000.00: nothing; so
// 7,000.00 in two purchases allotted at 10.0000 (units and stamp duty by
// moneytest's Stamp Act arithmetic), 3,000.00 left in W1. The next
// instalment run settles the instalment paid then allotted and completes
// the plan. Every step run again changes nothing: one debit, one deposit,
// one auto-invest run, two orders.
func TestSIPIntoWallet(t *testing.T) {
	e, svc, req, p := newWalletSIP(t)
	// Refusals: another's wallet, a folio the wallet does not invest into,
	// a scheme named too, whole rupees only.
	e.exec(`INSERT INTO investors (id) VALUES ('INV-F2')`)
	e.exec(`INSERT INTO wallets (id, investor_id) VALUES ('W2', 'INV-F2')`)
	for _, c := range []struct {
		tweak func(r *plans.RegisterRequest)
		code  string
	}{
		{func(r *plans.RegisterRequest) { r.WalletID = "W2" }, plans.CodeWalletNotOwn},
		{func(r *plans.RegisterRequest) { r.WalletID = "NOPE" }, plans.CodeUnknownWallet},
		{func(r *plans.RegisterRequest) { r.SchemeCode = "A" }, plans.CodeBadField},
		{func(r *plans.RegisterRequest) { a := fund.MustAmount("150.50"); r.Amount = &a }, plans.CodeNotMultiple},
	} {
		r := req
		r.ClientID = "wsip-bad"
		c.tweak(&r)
		var pe *plans.Error
		if _, _, err := svc.Register(e.ctx, r); !errors.As(err, &pe) || pe.Code != c.code {
			t.Errorf("want %s: %v", c.code, err)
		}
	}

	if st := e.run(); st.Generate.Due != 1 || st.Present.Presented != 0 {
		t.Fatalf("run on the 18th: %+v, want 1 due, nothing presented", st)
	}
	e.setNow("2026-08-20T10:00:00+05:30")
	if st := e.run(); st.Present.Presented != 1 {
		t.Fatalf("run on the 20th: %+v, want 1 presented", st)
	}
	e.deliver()
	e.manage()
	if st := e.run(); st.Settle.Paid != 1 || st.Settle.Allotted != 1 || st.Settle.PlansCompleted != 1 {
		t.Fatalf("run after the capture: %+v, want 1 paid, 1 allotted, the plan completed", st)
	}
	// Again, everything: nothing twice.
	e.deliver()
	e.manage()
	if st := e.run(); st.Present.Presented != 0 || st.Settle.Paid != 0 || st.Settle.Allotted != 0 {
		t.Errorf("re-run: %+v, want nothing", st)
	}
	if n := e.sim.Calls(gatewaysim.CreateRecurring); n != 1 {
		t.Errorf("the gateway saw %d debits, want 1", n)
	}
	key := plans.InstalmentKey("sip", p.ID, "2026-08-20")
	pay := e.str(`SELECT gateway_payment_id FROM plan_instalments WHERE plan_id = $1`, p.ID)
	if got := e.str(`SELECT status || ' ' || idempotency_key || ' ' || coalesce(order_id, '-') FROM plan_instalments WHERE plan_id = $1`, p.ID); got != "allotted "+key+" -" {
		t.Errorf("instalment %s", got)
	}
	if got := e.str(`SELECT string_agg(kind || ' ' || ref || ' ' || amount, ',' ORDER BY id) FROM wallet_transactions WHERE kind = 'deposit'`); got != "deposit "+pay+" 10000.00" {
		t.Errorf("deposits %s, want one of 10000.00 by %s", got, pay)
	}
	if got := e.str(`SELECT count(*)::text || ' ' || sum(invested) || ' ' || sum(leftover) FROM autoinvest_runs WHERE payment_id = $1`, pay); got != "1 7000.00 3000.00" {
		t.Errorf("auto-invest runs %s", got)
	}
	for _, c := range []struct{ scheme, amount string }{{"A", "4000.00"}, {"B", "3000.00"}} {
		duty, units := moneytest.ExpectPurchase(c.amount, "10.0000", 3)
		id := "AI-" + pay + "-" + c.scheme
		if got := e.str(`SELECT o.status || ' ' || t.amount || ' ' || t.stamp_duty || ' ' || t.units::numeric(24,3) FROM orders o
			JOIN ledger_transactions t ON t.order_id = o.id WHERE o.id = $1`, id); got != "allotted "+c.amount+" "+duty+" "+units {
			t.Errorf("%s: %s, want allotted %s %s %s", id, got, c.amount, duty, units)
		}
	}
	if n := e.num(`SELECT count(*) FROM orders WHERE folio_no = 'F1'`); n != 2 {
		t.Errorf("%d orders in F1, want 2", n)
	}
	if got := e.str(`SELECT balance::text FROM wallets WHERE id = 'W1'`); got != "3000.00" {
		t.Errorf("W1 %s, want 3000.00 (10,000.00 − 7,000.00)", got)
	}
	if got := e.str(`SELECT status FROM plans WHERE id = $1`, p.ID); got != "completed" {
		t.Errorf("plan %s", got)
	}
	for _, topic := range []string{"sip.instalment.presented", "sip.instalment.paid", "sip.instalment.allotted", "wallet.deposited", "autoinvest.orders.placed"} {
		if n := e.events(topic); n != 1 {
			t.Errorf("%d %s events, want 1", n, topic)
		}
	}
	e.checkLedger()
}

// manage runs the managed job as serve does (credit the deposits,
// auto-invest them, sweep back purchases the ledger ended), then the
// ledger's allotment pass.
func (e *sipEnv) manage() {
	e.t.Helper()
	if _, err := managedJob(e.d, e.l, 100).Run(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.l.AllotPending(e.ctx, 100); err != nil {
		e.t.Fatal(err)
	}
}

// newWalletSIP: schemes A, B, C at 10.0000 on 20 Aug; INV-F1's confirmed
// mandate, folio F1 and wallet W1 auto-investing into the moderate model
// in F1; a monthly SIP of ₹10,000.00 on the 20th into W1, one instalment,
// registered on 18 Aug through the plans service.
func newWalletSIP(t *testing.T) (*sipEnv, *plans.Service, plans.RegisterRequest, plans.Plan) {
	e := newSIPEnv(t, "2026-08-18T10:00:00+05:30")
	for _, s := range []string{"A", "B", "C"} {
		e.scheme(s, "Equity Scheme - Large Cap Fund")
		e.nav(s, "2026-08-20", "10.0000")
	}
	e.mandate("F1")
	ws := &wallet.Service{Store: walletpg.Store{Pool: e.d.pg.Pool}, Audit: true, Now: e.d.now}
	ai := &wallet.AutoInvest{Wallet: ws, Store: walletpg.Store{Pool: e.d.pg.Pool}, Ledger: e.l}
	if err := ws.Open(e.ctx, "W1", "INV-F1"); err != nil {
		t.Fatal(err)
	}
	model := managed.Model{ID: "moderate", Version: 1, Profile: managed.Moderate, Effective: fund.NewDate(2020, 1, 1),
		Schemes: []managed.Target{
			{Scheme: "A", Weight: decimal.NewFromInt(40), Min: fund.MustAmount("1000.00"), Multiple: fund.MustAmount("1.00")},
			{Scheme: "B", Weight: decimal.NewFromInt(35), Min: fund.MustAmount("1000.00"), Multiple: fund.MustAmount("1000.00")},
			{Scheme: "C", Weight: decimal.NewFromInt(25), Min: fund.MustAmount("5000.00"), Multiple: fund.MustAmount("1.00")},
		}}
	if err := ai.PutModel(e.ctx, model); err != nil {
		t.Fatal(err)
	}
	if err := ai.SetTerms(e.ctx, wallet.Terms{WalletID: "W1", ModelID: "moderate", Folio: "F1", Enabled: true}); err != nil {
		t.Fatal(err)
	}

	// Registered through the plans service's own checks.
	svc := plansService(e.d, e.l)
	amount, start, day, one := fund.MustAmount("10000.00"), fund.NewDate(2026, 8, 20), 20, 1
	req := plans.RegisterRequest{ClientID: "wsip-1", Kind: plans.SIP, InvestorID: "INV-F1", Folio: "F1", MandateID: "token_F1", WalletID: "W1",
		Amount: &amount, Frequency: plans.Monthly, DayOfMonth: &day, StartDate: &start, Instalments: &one}
	p, outcome, err := svc.Register(e.ctx, req)
	if err != nil || outcome != plans.Created || p.WalletID != "W1" || p.SchemeCode != "" {
		t.Fatalf("register: %+v %v %v", p, outcome, err)
	}
	return e, svc, req, p
}

// A wallet closed between the debit and its capture: the wallet breaks the
// payment (wallet_closed, never lost money) and settlement fails the
// instalment with that reason, so the plan does not wait for ever; nothing
// is credited or invested.
func TestSIPIntoClosedWallet(t *testing.T) {
	e, _, _, p := newWalletSIP(t)
	mj := managedJob(e.d, e.l, 100)
	e.run()
	e.setNow("2026-08-20T10:00:00+05:30")
	if st := e.run(); st.Present.Presented != 1 {
		t.Fatalf("run on the 20th: %+v, want 1 presented", st)
	}
	e.exec(`UPDATE wallets SET status = 'closed' WHERE id = 'W1'`)
	e.deliver()
	for range 2 {
		if _, err := mj.Run(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if st := e.run(); st.Settle.Failed != 1 || st.Settle.Paid != 0 {
		t.Fatalf("run after the capture: %+v, want 1 failed", st)
	}
	if st, reason, _ := e.instalment(p.ID, "2026-08-20"); st != "failed" || reason != wallet.BreakWalletClosed {
		t.Errorf("instalment %s %s, want failed %s", st, reason, wallet.BreakWalletClosed)
	}
	if n := e.num(`SELECT count(*) FROM wallet_transactions`) + e.num(`SELECT count(*) FROM orders`); n != 0 {
		t.Errorf("%d wallet entries and orders, want none", n)
	}
	if st := e.run(); st.Settle.Failed != 0 {
		t.Errorf("again: %+v", st)
	}
	e.checkLedger()
}

// A SIP instalment into a wallet ends once its auto-invest run has
// finished: each purchase allotted, or its amount back in the wallet
// (refused at placement, or cancelled by the ledger after payment and
// swept back). allotted only when something was bought; in_wallet, with
// the reason, when nothing was. By hand, as TestSIPIntoWallet: 10,000.00
// splits A 4,000.00, B 3,000.00, C nothing (below its minimum), 3,000.00
// left.
//   - refused: B left the scheme master: its order is refused, 3,000.00
//     back; A allotted. W1 10,000.00 − 4,000.00 = 6,000.00. allotted.
//   - swept: B has no NAV yet; an operator cancels it after it was paid;
//     the next managed run sweeps 3,000.00 back. W1 6,000.00. allotted.
//   - all refused: A and B left the master: 7,000.00 back. W1 10,000.00.
//     in_wallet, orders_refunded.
//   - below minimum: model version 2 (from 1 Aug) asks 20,000.00 of each
//     scheme: nothing placed, nothing debited. W1 10,000.00. in_wallet,
//     below_minimum.
//   - elsewhere: as swept, but operations close B's refund-due break
//     themselves (refunded to the bank) before the managed run sweeps it:
//     B's 3,000.00 is the bank's, not the wallet's. W1 10,000.00 −
//     7,000.00 = 3,000.00. allotted (A bought).
//   - all elsewhere: A and B have no NAV; both cancelled after payment and
//     both breaks closed by operations: 7,000.00 went to the bank. W1
//     3,000.00. failed, refunded_elsewhere (not in_wallet: the money is
//     not in the wallet), counted as a failure as a scheme SIP's ended
//     order is: 2 with the 20 Jul one.
//
// A failed debit on 20 Jul before it: but for all elsewhere the
// consecutive failures go back to 0 (the debit of the 20th worked).
//
// Every rupee: the journal's wallet_cash:razorpay holds W1's balance; the
// rest (A's 4,000.00) is the ledger's purchase of A. On the old code the
// first three stay paid for ever and the fourth is marked allotted; the
// two elsewhere stay paid for ever.
func TestSIPIntoWalletNothingLostInStatus(t *testing.T) {
	for _, c := range []struct {
		name, status, reason, w1, refunds, allotted, plan string
	}{
		{"refused", "allotted", "", "6000.00", "B 3000.00", "A 4000.00", "completed 0"},
		{"swept", "allotted", "", "6000.00", "B 3000.00", "A 4000.00", "completed 0"},
		{"all_refused", "in_wallet", plans.ReasonOrdersRefunded, "10000.00", "A 4000.00, B 3000.00", "", "completed 0"},
		{"below_minimum", "in_wallet", managed.ReasonBelowMin, "10000.00", "", "", "completed 0"},
		{"elsewhere", "allotted", "", "3000.00", "", "A 4000.00", "completed 0"},
		{"all_elsewhere", "failed", plans.ReasonRefundedElsewhere, "3000.00", "", "", "completed 2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, _, _, p := newWalletSIP(t)
			// An earlier debit failed (history for the count only): money
			// in the wallet is a debit that worked, so the count goes to 0.
			e.exec(`INSERT INTO plan_instalments (plan_id, due_date, seq, nominal_date, amount, status, reason)
				VALUES ($1, '2026-07-20', 99, '2026-07-20', 10000.00, 'failed', 'insufficient_funds')`, p.ID)
			e.exec(`UPDATE plans SET consecutive_failures = 1 WHERE id = $1`, p.ID)
			switch c.name {
			case "refused":
				e.exec(`DELETE FROM schemes WHERE code = 'B'`)
			case "swept", "elsewhere":
				e.exec(`DELETE FROM navs WHERE scheme_code = 'B'`)
			case "all_elsewhere":
				e.exec(`DELETE FROM navs WHERE scheme_code IN ('A', 'B')`)
			case "all_refused":
				e.exec(`DELETE FROM schemes WHERE code IN ('A', 'B')`)
			case "below_minimum":
				ai := &wallet.AutoInvest{Store: walletpg.Store{Pool: e.d.pg.Pool}}
				min := fund.MustAmount("20000.00")
				m := managed.Model{ID: "moderate", Version: 2, Profile: managed.Moderate, Effective: fund.NewDate(2026, 8, 1),
					Schemes: []managed.Target{
						{Scheme: "A", Weight: decimal.NewFromInt(40), Min: min, Multiple: fund.MustAmount("1.00")},
						{Scheme: "B", Weight: decimal.NewFromInt(35), Min: min, Multiple: fund.MustAmount("1.00")},
						{Scheme: "C", Weight: decimal.NewFromInt(25), Min: min, Multiple: fund.MustAmount("1.00")},
					}}
				if err := ai.PutModel(e.ctx, m); err != nil {
					t.Fatal(err)
				}
			}
			e.run()
			e.setNow("2026-08-20T10:00:00+05:30")
			if st := e.run(); st.Present.Presented != 1 {
				t.Fatalf("run on the 20th: %+v, want 1 presented", st)
			}
			e.deliver()
			e.manage()
			pay := e.str(`SELECT gateway_payment_id FROM plan_instalments WHERE plan_id = $1`, p.ID)
			if cancel := map[string][]string{"swept": {"B"}, "elsewhere": {"B"}, "all_elsewhere": {"A", "B"}}[c.name]; cancel != nil {
				// Paid, waiting for the NAVs: the run cannot end it yet.
				if st := e.run(); st.Settle.Paid != 1 || st.Settle.Allotted != 0 || st.Settle.InWallet != 0 {
					t.Fatalf("before the cancel: %+v, want 1 paid", st)
				}
				for _, sc := range cancel {
					body := `{"order_id":"X-` + sc + `","type":"cancel","target_order_id":"AI-` + pay + `-` + sc + `","placed_at":"2026-08-20T05:00:00Z"}`
					in, ok, err := fund.IntakeOf([]byte(body), fund.Receipt{Source: "test", At: ist("2026-08-20T10:30:00+05:30"), MaxSkew: time.Hour})
					if !ok {
						t.Fatal(err)
					}
					if pl, err := e.l.PlaceOrders(e.ctx, []fund.OrderIntake{in}); err != nil || pl[0].Outcome != "accepted" {
						t.Fatalf("cancel: %+v %v", pl, err)
					}
				}
				if st := e.run(); st.Settle.Allotted != 0 || st.Settle.InWallet != 0 || st.Settle.Failed != 0 {
					t.Fatalf("cancelled, not swept: %+v, want it still paid", st)
				}
				if c.name != "swept" {
					// Operations refund the money to the bank and close the
					// break and its alert themselves: the sweep leaves it.
					if n := e.num(`WITH b AS (UPDATE payment_breaks SET resolved_at = now() WHERE resolved_at IS NULL RETURNING payment_id)
						SELECT count(*) FROM b`); n != len(cancel) {
						t.Fatalf("%d breaks closed, want %d", n, len(cancel))
					}
					e.exec(`UPDATE alerts SET resolved_at = now() WHERE kind = 'refund_due' AND resolved_at IS NULL`)
				}
				e.manage()
			}
			st := e.run()
			if got := st.Settle.Allotted + st.Settle.InWallet + st.Settle.Failed; got != 1 || st.Settle.PlansCompleted != 1 {
				t.Errorf("settle: %+v, want the instalment ended and the plan completed", st.Settle)
			}
			status, reason, detail := e.instalment(p.ID, "2026-08-20")
			if status != c.status || reason != c.reason {
				t.Errorf("instalment %s %q (%s), want %s %q", status, reason, detail, c.status, c.reason)
			}
			if c.status == "in_wallet" {
				if want := "auto-invest of " + pay + " bought nothing: 10000.00 stays in wallet W1"; detail != want {
					t.Errorf("detail %q, want %q", detail, want)
				}
			}
			if c.status == "failed" {
				if want := "auto-invest of " + pay + " bought nothing: 7000.00 refunded outside the wallet (refund-due break resolved by operations), 3000.00 stays in wallet W1"; detail != want {
					t.Errorf("detail %q, want %q", detail, want)
				}
			}
			if n := e.events("sip.instalment." + c.status); n != 1 {
				t.Errorf("%d sip.instalment.%s events, want 1", n, c.status)
			}
			if got := e.str(`SELECT status || ' ' || consecutive_failures FROM plans WHERE id = $1`, p.ID); got != c.plan {
				t.Errorf("plan %s, want %s", got, c.plan)
			}
			// The money trail.
			if got := e.str(`SELECT balance::text FROM wallets WHERE id = 'W1'`); got != c.w1 {
				t.Errorf("W1 %s, want %s", got, c.w1)
			}
			if got := e.str(`SELECT coalesce(sum(amount), 0)::numeric(18,2)::text FROM wallet_postings WHERE account = 'wallet_cash:razorpay'`); got != c.w1 {
				t.Errorf("wallet cash held %s, want W1's %s", got, c.w1)
			}
			if got := e.str(`SELECT coalesce(string_agg(substr(ref, length(ref)) || ' ' || amount, ', ' ORDER BY ref), '') FROM wallet_transactions WHERE kind = 'refund'`); got != c.refunds {
				t.Errorf("refunds %q, want %q", got, c.refunds)
			}
			if got := e.str(`SELECT coalesce(string_agg(o.scheme_code || ' ' || t.amount, ', ' ORDER BY o.scheme_code), '') FROM orders o
				JOIN ledger_transactions t ON t.order_id = o.id WHERE o.status = 'allotted'`); got != c.allotted {
				t.Errorf("allotted %q, want %q", got, c.allotted)
			}
			if n := e.num(`SELECT (SELECT count(*) FROM payment_breaks WHERE resolved_at IS NULL) + (SELECT count(*) FROM alerts WHERE kind = 'refund_due' AND resolved_at IS NULL)`); n != 0 {
				t.Errorf("%d refund-due breaks and alerts open", n)
			}
			if st := e.run(); st.Settle.Allotted+st.Settle.InWallet+st.Settle.Paid+st.Settle.Failed != 0 {
				t.Errorf("again: %+v", st.Settle)
			}
			e.checkLedger()
		})
	}
}
