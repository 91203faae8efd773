package wallet_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
)

// One group of six deposits (credited in one transaction, invested in
// one group): a closed and an unknown wallet end as their break rows; a
// deposit whose model has no version for its day fails on its own and
// ends as an autoinvest_failed break with its money in the wallet; the
// three others are invested, two of them into the same wallet one after
// the other. The broken one is left alone until a person resolves the
// break, then invested once. On the code before groups, Invest stopped
// at the bad deposit with an error and invested nothing after it.
func TestAutoInvestGroupIsolatesABadDeposit(t *testing.T) {
	e, ai := autoEnv(t)
	late := moderate()
	late.ID, late.Effective = "late", fund.NewDate(2026, 12, 1) // nothing effective on 20 Aug 2026
	if err := ai.PutModel(e.ctx, late); err != nil {
		t.Fatal(err)
	}
	e.db.Exec(`INSERT INTO investors (id) VALUES ('INV-3'), ('INV-4')`)
	for _, w := range []struct{ id, inv, model string }{{"W2", "INV-2", "late"}, {"W3", "INV-3", "moderate"}, {"W4", "INV-4", "moderate"}} {
		if err := e.wallet.Open(e.ctx, w.id, w.inv); err != nil {
			t.Fatal(err)
		}
		if err := ai.SetTerms(e.ctx, wallet.Terms{WalletID: w.id, ModelID: w.model, Folio: "F-" + w.id, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	e.db.Exec(`UPDATE wallets SET status = 'closed' WHERE id = 'W3'`)
	e.pay("e1", "pay_1", "wallet:W1", "captured", 2000000) // A 8000, B 7000, C 5000
	e.pay("e2", "pay_2", "wallet:W2", "captured", 2000000) // model "late": no version on its day
	e.pay("e3", "pay_3", "wallet:W3", "captured", 2000000) // closed
	e.pay("e4", "pay_4", "wallet:W9", "captured", 2000000) // unknown
	e.pay("e5", "pay_5", "wallet:W4", "captured", 1000001) // A 4000.00, B 3000.00; 3000.01 stays
	e.pay("e6", "pay_6", "wallet:W1", "captured", 2000000) // W1 again, in the same group

	cr, err := e.wallet.CreditDeposits(e.ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if cr.Credited != 4 || cr.Broken != 2 || cr.Amount.String() != "70000.01" {
		t.Errorf("credit %+v, want 4 credited (70,000.01), 2 broken", cr)
	}
	if got := e.db.Str(`SELECT string_agg(payment_id || ' ' || reason, ',' ORDER BY payment_id) FROM payment_breaks`); got != "pay_3 wallet_closed,pay_4 wallet_unknown" {
		t.Errorf("breaks after credit: %s", got)
	}
	// W1's second deposit is credited on top of the first, in one transaction.
	if got := e.db.Str(`SELECT string_agg(payload->>'balance', ',' ORDER BY payload->>'payment_id') FROM outbox WHERE topic = 'wallet.deposited' AND key = 'W1'`); got != "20000.00,40000.00" {
		t.Errorf("W1's deposited balances %s, want 20000.00,40000.00", got)
	}

	res, err := ai.Invest(e.ctx, 100)
	if err != nil {
		t.Fatalf("a bad deposit failed the group: %v", err)
	}
	// pay_1 3 orders, pay_5 2, pay_6 3; 20,000 + 7,000 + 20,000 invested.
	if res.Runs != 3 || res.Orders != 8 || res.Broken != 1 || res.Invested.String() != "47000.00" {
		t.Errorf("invest %+v, want 3 runs, 8 orders, 47000.00, 1 broken", res)
	}
	detail := e.db.Str(`SELECT detail FROM payment_breaks WHERE payment_id = 'pay_2' AND reason = 'autoinvest_failed' AND resolved_at IS NULL`)
	if !strings.Contains(detail, "no version effective on 2026-08-20") {
		t.Errorf("pay_2's break detail %q", detail)
	}
	for w, want := range map[string]string{"W1": "0.00", "W2": "20000.00", "W3": "0.00", "W4": "3000.01"} {
		if got := e.balance(w); got != want {
			t.Errorf("%s %s, want %s", w, got, want)
		}
	}
	if got := e.db.Str(`SELECT count(*) || ' ' || count(*) FILTER (WHERE status = 'allotted') FROM orders`); got != "8 8" {
		t.Errorf("orders (all, allotted) %s, want 8 8", got)
	}
	if got := e.db.Str(`SELECT string_agg(payment_id, ',' ORDER BY payment_id) FROM autoinvest_runs WHERE status = 'placed'`); got != "pay_1,pay_5,pay_6" {
		t.Errorf("runs placed %s", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM outbox WHERE topic = 'autoinvest.orders.placed'`); n != 3 {
		t.Errorf("%d autoinvest.orders.placed events, want 3", n)
	}

	// Again: the broken deposit is not tried while its break is open.
	if res, err := ai.Invest(e.ctx, 100); err != nil || res.Runs != 0 || res.Broken != 0 {
		t.Fatalf("again: %+v %v", res, err)
	}
	// A version for its day, the break resolved: invested once.
	late.Version, late.Effective = 2, fund.NewDate(2020, 1, 1)
	if err := ai.PutModel(e.ctx, late); err != nil {
		t.Fatal(err)
	}
	e.db.Exec(`UPDATE payment_breaks SET resolved_at = now() WHERE payment_id = 'pay_2' AND reason = 'autoinvest_failed'`)
	if res, err := ai.Invest(e.ctx, 100); err != nil || res.Runs != 1 || res.Orders != 3 {
		t.Fatalf("after the fix: %+v %v", res, err)
	}
	if got := e.balance("W2"); got != "0.00" {
		t.Errorf("W2 %s after the fix, want 0.00", got)
	}
	if got := e.db.Str(`SELECT count(*) || ' ' || count(*) FILTER (WHERE status = 'allotted') FROM orders`); got != "11 11" {
		t.Errorf("orders (all, allotted) %s, want 11 11", got)
	}
}

// A credit group in which one deposit cannot be credited (₹2,000,000,000,
// 000,000.00 fits the payment's numeric(18,2) but not the wallet
// posting's numeric(24,9)): the group is credited again one deposit at a
// time, the one that fails alone is a wallet_credit_failed break, and the
// others, before and after it, are credited. On the code before groups
// CreditDeposits stopped there with the error.
func TestCreditGroupIsolatesADepositThatFails(t *testing.T) {
	e := newEnv(t)
	for _, w := range []struct{ id, inv string }{{"W1", "INV-1"}, {"W2", "INV-2"}} {
		if err := e.wallet.Open(e.ctx, w.id, w.inv); err != nil {
			t.Fatal(err)
		}
	}
	e.pay("e1", "pay_1", "wallet:W1", "captured", 2000000)
	e.pay("e2", "pay_2", "wallet:W1", "captured", 200000000000000000) // ₹2e15
	e.pay("e3", "pay_3", "wallet:W2", "captured", 2000000)
	res, err := e.wallet.CreditDeposits(e.ctx, 100)
	if err != nil {
		t.Fatalf("a bad deposit failed the group: %v", err)
	}
	if res.Credited != 2 || res.Broken != 1 || res.Amount.String() != "40000.00" {
		t.Errorf("credit %+v, want 2 credited (40,000.00), 1 broken", res)
	}
	if got := e.db.Str(`SELECT string_agg(payment_id || ' ' || reason, ',' ORDER BY payment_id) FROM payment_breaks`); got != "pay_2 wallet_credit_failed" {
		t.Errorf("breaks %s, want pay_2 wallet_credit_failed", got)
	}
	if got := e.db.Str(`SELECT string_agg(id || ' ' || match_status, ',' ORDER BY id) FROM payments`); got != "pay_1 matched,pay_2 break,pay_3 matched" {
		t.Errorf("payments %s", got)
	}
	for w, want := range map[string]string{"W1": "20000.00", "W2": "20000.00"} {
		if got := e.balance(w); got != want {
			t.Errorf("%s %s, want %s", w, got, want)
		}
	}
	// Again: nothing more (the broken one is not pending).
	if res, err := e.wallet.CreditDeposits(e.ctx, 100); err != nil || res.Credited+res.Broken != 0 {
		t.Errorf("again: %+v %v", res, err)
	}
}

// deposit is a captured payment of ₹20,000.00 (its event, payment and
// wallet ids).
type deposit struct{ event, payment, wallet string }

// investWithW2Late is autoEnv plus W2 (folio F-W2) on the model "late",
// which has no version in effect on the deposits' day (20 Aug 2026), with
// the deposits credited and invested once: each of W2's becomes an
// autoinvest_failed break. It returns the model (a test adds a version)
// and the invest run's result.
func investWithW2Late(t *testing.T, deps ...deposit) (*env, *wallet.AutoInvest, managed.Model, wallet.InvestResult) {
	t.Helper()
	e, ai := autoEnv(t)
	late := moderate()
	late.ID, late.Effective = "late", fund.NewDate(2026, 12, 1)
	if err := ai.PutModel(e.ctx, late); err != nil {
		t.Fatal(err)
	}
	if err := e.wallet.Open(e.ctx, "W2", "INV-2"); err != nil {
		t.Fatal(err)
	}
	if err := ai.SetTerms(e.ctx, wallet.Terms{WalletID: "W2", ModelID: "late", Folio: "F-W2", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	for _, d := range deps {
		e.pay(d.event, d.payment, "wallet:"+d.wallet, "captured", 2000000)
	}
	if _, err := e.wallet.CreditDeposits(e.ctx, 100); err != nil {
		t.Fatal(err)
	}
	res, err := ai.Invest(e.ctx, 100)
	if err != nil {
		t.Fatalf("invest: %v", err)
	}
	return e, ai, late, res
}

// W2's two deposits of ₹20,000 fail (its model has no version for their
// day) and stay as autoinvest_failed breaks; the gateway refunds pay_a
// (reversed: 40,000 -> 20,000). Ops add the model and resolve both
// breaks: pay_b is invested (20,000), pay_a, whose money went back to the
// payer, is not tried at all. On the old code pay_a was invested with
// pay_b's money and pay_b ended as an "insufficient balance" leftover.
func TestAutoInvestSkipsADepositRefundedWhileBroken(t *testing.T) {
	e, ai, late, res := investWithW2Late(t, deposit{"e1", "pay_a", "W2"}, deposit{"e2", "pay_b", "W2"})
	if res.Broken != 2 || res.Runs != 0 {
		t.Fatalf("invest: %+v", res)
	}
	e.pay("e3", "pay_a", "wallet:W2", "refunded", 2000000)
	if res, err := e.wallet.CreditDeposits(e.ctx, 100); err != nil || res.Reversed != 1 {
		t.Fatalf("refund: %+v %v", res, err)
	}
	if got := e.balance("W2"); got != "20000.00" {
		t.Fatalf("W2 %s after the refund, want 20000.00", got)
	}
	late.Version, late.Effective = 2, fund.NewDate(2020, 1, 1)
	if err := ai.PutModel(e.ctx, late); err != nil {
		t.Fatal(err)
	}
	e.db.Exec(`UPDATE payment_breaks SET resolved_at = now() WHERE reason = 'autoinvest_failed'`)
	res, err := ai.Invest(e.ctx, 100)
	if err != nil || res.Runs != 1 || res.Invested.String() != "20000.00" {
		t.Fatalf("after the fix: %+v %v, want pay_b's 20000.00 invested", res, err)
	}
	if got := e.db.Str(`SELECT string_agg(payment_id || ' ' || invested, ',' ORDER BY payment_id) FROM autoinvest_runs`); got != "pay_b 20000.00" {
		t.Errorf("runs %q, want pay_b 20000.00 only", got)
	}
	if got := e.balance("W2"); got != "0.00" {
		t.Errorf("W2 %s, want 0.00", got)
	}
}

// An exit is refused while a deposit's auto-invest is still to land: W2's
// deposit whose auto-invest broke (open autoinvest_failed break), then W1's
// run parked by a break (status debited: its money off the wallet, its
// purchases not placed). On the old code InFlight saw neither and the exit
// closed the wallet with those purchases still to come.
func TestExitRefusedWhileAnAutoInvestIsBrokenOrParked(t *testing.T) {
	e, _, _, res := investWithW2Late(t, deposit{"e1", "pay_1", "W1"}, deposit{"e2", "pay_2", "W2"})
	if res.Broken != 1 || res.Runs != 1 {
		t.Fatalf("invest: %+v", res)
	}
	st := pgstore.Store{Pool: e.db.Read}
	x := &wallet.Exits{Fees: &wallet.Fees{Wallet: e.wallet, Store: st}, Store: st, CrystalliseMonth: time.March}
	if _, err := x.Exit(e.ctx, "W2", "EXIT-2", clock); !errors.Is(err, wallet.ErrExitInFlight) {
		t.Fatalf("exit of W2 with its auto-invest broken: %v, want ErrExitInFlight", err)
	}
	if got := e.db.Str(`SELECT status || ' ' || balance FROM wallets WHERE id = 'W2'`); got != "open 20000.00" {
		t.Errorf("W2 after the refusal %s", got)
	}
	// W1's run as a break leaves it: debited, its orders not yet placed.
	e.db.Exec(`UPDATE autoinvest_runs SET status = 'debited' WHERE payment_id = 'pay_1'`)
	if _, err := x.Exit(e.ctx, "W1", "EXIT-1", clock); !errors.Is(err, wallet.ErrExitInFlight) {
		t.Fatalf("exit of W1 with its run parked: %v, want ErrExitInFlight", err)
	}
	if got := e.db.Str(`SELECT status FROM wallets WHERE id = 'W1'`); got != "open" {
		t.Errorf("W1 after the refusal %s", got)
	}
	if ids, err := st.CheckWallets(e.ctx, "", 10); err != nil || len(ids) != 0 {
		t.Errorf("CheckWallets %v %v, want none (W1 parked, W2 broken)", ids, err)
	}
}

// A wallet_credit_failed break has a way back: pay_1 cannot be credited
// (a trigger stands for whatever was wrong), so it is broken; while the
// break is open it is not tried; once the cause is fixed and the break
// resolved, the next run credits it (₹20,000.00), and a failure after a
// resolve opens the same break again. On the old code the payment stayed
// match_status 'break' and was never credited.
func TestCreditFailedBreakResolvedCreditsAgain(t *testing.T) {
	e := newEnv(t)
	if err := e.wallet.Open(e.ctx, "W1", "INV-1"); err != nil {
		t.Fatal(err)
	}
	e.db.Exec(`CREATE FUNCTION fail_deposit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.ref = 'pay_1' THEN RAISE EXCEPTION 'pay_1 refused'; END IF; RETURN NEW; END $$`)
	e.db.Exec(`CREATE TRIGGER fail_deposit BEFORE INSERT ON wallet_transactions FOR EACH ROW EXECUTE FUNCTION fail_deposit()`)
	e.pay("e1", "pay_1", "wallet:W1", "captured", 2000000)
	if res, err := e.wallet.CreditDeposits(e.ctx, 100); err != nil || res.Broken != 1 {
		t.Fatalf("credit: %+v %v", res, err)
	}
	// Resolved with the cause still there: broken again, the break open.
	e.db.Exec(`UPDATE payment_breaks SET resolved_at = now() WHERE payment_id = 'pay_1'`)
	if res, err := e.wallet.CreditDeposits(e.ctx, 100); err != nil || res.Broken != 1 {
		t.Fatalf("resolved too early: %+v %v", res, err)
	}
	if got := e.db.Str(`SELECT count(*) || ' ' || count(*) FILTER (WHERE resolved_at IS NULL) FROM payment_breaks WHERE payment_id = 'pay_1'`); got != "1 1" {
		t.Fatalf("breaks (all, open) %s, want 1 1", got)
	}
	if res, err := e.wallet.CreditDeposits(e.ctx, 100); err != nil || res.Credited+res.Broken != 0 {
		t.Fatalf("open break: %+v %v, want nothing tried", res, err)
	}
	e.db.Exec(`DROP TRIGGER fail_deposit ON wallet_transactions`)
	e.db.Exec(`UPDATE payment_breaks SET resolved_at = now() WHERE payment_id = 'pay_1'`)
	res, err := e.wallet.CreditDeposits(e.ctx, 100)
	if err != nil || res.Credited != 1 || res.Amount.String() != "20000.00" {
		t.Fatalf("after the fix: %+v %v, want 1 credited, 20000.00", res, err)
	}
	if got := e.db.Str(`SELECT match_status FROM payments WHERE id = 'pay_1'`); got != "matched" {
		t.Errorf("pay_1 %s, want matched", got)
	}
	if got := e.balance("W1"); got != "20000.00" {
		t.Errorf("W1 %s, want 20000.00", got)
	}
}
