package main

import (
	"errors"
	"testing"

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

	mj := managedJob(e.d, e.l, 100)
	settle := func() {
		t.Helper()
		if _, err := mj.Run(e.ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := e.l.AllotPending(e.ctx, 100); err != nil {
			t.Fatal(err)
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
	settle()
	if st := e.run(); st.Settle.Paid != 1 || st.Settle.Allotted != 1 || st.Settle.PlansCompleted != 1 {
		t.Fatalf("run after the capture: %+v, want 1 paid, 1 allotted, the plan completed", st)
	}
	// Again, everything: nothing twice.
	e.deliver()
	settle()
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
