package wallet_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/ledger"
	lpg "github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
)

// clock is the tests' now: Thu 20 Aug 2026, 10:00 IST, a business day.
var clock = moneytest.IST("2026-08-20T10:00:00+05:30")

type env struct {
	t      testing.TB
	ctx    context.Context
	db     moneytest.DB
	ledger *ledger.Service
	wallet *wallet.Service
}

// newEnv: the test's own database, the ledger as cmd/fundflow wires it
// (application role, audit on) receiving the webhooks, the wallet service
// beside it; at the end the ledger's invariants and the wallet journal's.
func newEnv(t testing.TB) *env {
	owner, _, app, _ := testkit.PGApp(t)
	cal, err := holidays.Calendar(testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return clock }
	e := &env{t: t, ctx: testkit.Ctx(t), db: moneytest.DB{T: t, Ctx: testkit.Ctx(t), Owner: owner, Read: app},
		ledger: &ledger.Service{Store: lpg.New(app), Calendar: cal, Audit: true, Now: now},
		wallet: &wallet.Service{Store: pgstore.Store{Pool: app}, Audit: true, Now: now}}
	t.Cleanup(func() { e.checkJournal(app) })
	e.db.Exec(`INSERT INTO investors (id) VALUES ('INV-1'), ('INV-2')`)
	return e
}

// checkJournal: every wallet transaction balances (the trigger), each
// wallet's balance is minus its account's, and the ledger's invariants hold
// with the wallet payments in it.
func (e *env) checkJournal(pool *pgxpool.Pool) {
	ctx := context.WithoutCancel(e.ctx)
	if err := ledgergen.CheckService(ctx, pool); err != nil {
		e.t.Error(err)
	}
	if n := e.db.Num(`SELECT count(*) FROM wallets w WHERE w.balance <> -coalesce((SELECT sum(amount) FROM wallet_postings
		WHERE account = 'wallet:' || w.id AND asset = 'INR'), 0)`); n != 0 {
		e.t.Errorf("%d wallets whose balance is not their account's", n)
	}
	if n := e.db.Num(`SELECT count(*) FROM (SELECT tx_id FROM wallet_postings GROUP BY tx_id, asset HAVING sum(amount) <> 0) x`); n != 0 {
		e.t.Errorf("%d unbalanced wallet transactions", n)
	}
	e.db.CheckStoredFlows(false) // some tests write deposits by hand
}

// pay delivers a Razorpay payment webhook through the ledger's own path.
func (e *env) pay(eventID, paymentID, notes, status string, paise int64) {
	e.t.Helper()
	body := moneytest.Payment{ID: paymentID, OrderID: notes, Status: status, Paise: paise, At: clock.Add(-time.Minute)}.Body()
	typ, p, err := webhook.ParseRazorpay(body, eventID)
	if err != nil {
		e.t.Fatal(err)
	}
	p.EventAt, p.TimeSource = fund.EffectiveTime(p.EventAt, clock, time.Hour)
	if _, err := e.ledger.Receive(e.ctx, ledger.InboxEvent{Source: "razorpay", EventID: eventID, EventType: typ, Body: body, Payment: p}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) balance(id string) string {
	e.t.Helper()
	b, err := e.wallet.Balance(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return b.String()
}

func TestDepositsCreditedOnceOrBroken(t *testing.T) {
	e := newEnv(t)
	for _, w := range [][2]string{{"W1", "INV-1"}, {"W2", "INV-2"}} {
		if err := e.wallet.Open(e.ctx, w[0], w[1]); err != nil {
			t.Fatal(err)
		}
	}
	e.db.Exec(`UPDATE wallets SET status = 'closed' WHERE id = 'W2'`)
	e.pay("e1", "pay_1", "wallet:W1", "captured", 1000001) // ₹10,000.01
	e.pay("e2", "pay_2", "wallet:W1", "captured", 50000)   // ₹500.00
	e.pay("e3", "pay_3", "wallet:NOPE", "captured", 10000) // unknown wallet
	e.pay("e4", "pay_4", "wallet:W2", "captured", 5000)    // closed wallet
	e.pay("e5", "pay_5", "wallet:W1", "authorized", 7000)  // not realised yet
	res, err := e.wallet.CreditDeposits(e.ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	// Credited 10,000.01 + 500.00 = 10,500.01; two breaks.
	if res.Credited != 2 || res.Broken != 2 || res.Amount.String() != "10500.01" {
		t.Fatalf("first run: %+v", res)
	}
	if got := e.balance("W1"); got != "10500.01" {
		t.Errorf("W1 %s, want 10500.01", got)
	}
	if got := e.db.Str(`SELECT string_agg(payment_id || '=' || reason, ',' ORDER BY payment_id) FROM payment_breaks`); got != "pay_3=wallet_unknown,pay_4=wallet_closed" {
		t.Errorf("breaks %s", got)
	}
	if got := e.db.Str(`SELECT string_agg(id || '=' || match_status, ',' ORDER BY id) FROM payments`); got != "pay_1=matched,pay_2=matched,pay_3=break,pay_4=break,pay_5=unmatched" {
		t.Errorf("payments %s", got)
	}
	// Double entry: the gateway's money held for wallets debited, the
	// wallet credited, per deposit.
	if got := e.db.Str(`SELECT string_agg(account || ' ' || amount::numeric(18,2), ',' ORDER BY tx_id, seq) FROM wallet_postings`); got != "wallet_cash:razorpay 10000.01,wallet:W1 -10000.01,wallet_cash:razorpay 500.00,wallet:W1 -500.00" {
		t.Errorf("postings %s", got)
	}
	if got := e.db.Str(`SELECT string_agg(event_id, ',' ORDER BY id) FROM outbox WHERE topic = 'wallet.deposited'`); got != "wallet.deposited:pay_1,wallet.deposited:pay_2" {
		t.Errorf("outbox %s", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM audit_log WHERE entity = 'wallet' AND action = 'deposited'`); n != 2 {
		t.Errorf("%d deposit audit rows, want 2", n)
	}

	// Again: nothing. A redelivered capture: nothing. A payment row put
	// back to unmatched (an operator's slip): the entry is unique on the
	// payment, so still nothing twice.
	e.pay("e1", "pay_1", "wallet:W1", "captured", 1000001)
	e.pay("e1b", "pay_1", "wallet:W1", "captured", 1000001)
	e.db.Exec(`UPDATE payments SET match_status = 'unmatched' WHERE id = 'pay_1'`)
	if res, err = e.wallet.CreditDeposits(e.ctx, 100); err != nil || res.Credited != 0 || res.Broken != 0 {
		t.Fatalf("second run: %+v %v", res, err)
	}
	if got := e.balance("W1"); got != "10500.01" {
		t.Errorf("W1 after the second run %s, want 10500.01", got)
	}
	// The authorized payment is captured: 10,500.01 + 70.00.
	e.pay("e5c", "pay_5", "wallet:W1", "captured", 7000)
	if res, err = e.wallet.CreditDeposits(e.ctx, 100); err != nil || res.Credited != 1 {
		t.Fatalf("third run: %+v %v", res, err)
	}
	if got := e.balance("W1"); got != "10570.01" {
		t.Errorf("W1 %s, want 10570.01", got)
	}
}

func TestWithdrawalsNeverBelowZero(t *testing.T) {
	e := newEnv(t)
	if err := e.wallet.Open(e.ctx, "W1", "INV-1"); err != nil {
		t.Fatal(err)
	}
	e.pay("e1", "pay_1", "wallet:W1", "captured", 100000) // ₹1,000.00
	if _, err := e.wallet.CreditDeposits(e.ctx, 10); err != nil {
		t.Fatal(err)
	}
	w, err := e.wallet.Withdraw(e.ctx, "W1", "r1", fund.MustAmount("900.00"))
	if err != nil || w.Balance.String() != "100.00" {
		t.Fatalf("r1: %+v %v", w, err)
	}
	// The same request again: its result, no second debit.
	if w, err = e.wallet.Withdraw(e.ctx, "W1", "r1", fund.MustAmount("900.00")); err != nil || e.balance("W1") != "100.00" {
		t.Fatalf("r1 again: %+v %v, balance %s", w, err, e.balance("W1"))
	}
	if _, err := e.wallet.Withdraw(e.ctx, "W1", "r1", fund.MustAmount("5.00")); err == nil {
		t.Error("request r1 reused for another amount")
	}
	if _, err := e.wallet.Withdraw(e.ctx, "W1", "r2", fund.MustAmount("100.01")); !errors.Is(err, wallet.ErrInsufficient) {
		t.Errorf("100.01 from 100.00: %v", err)
	}
	if _, err := e.wallet.Withdraw(e.ctx, "NOPE", "r3", fund.MustAmount("1.00")); !errors.Is(err, wallet.ErrNoWallet) {
		t.Errorf("unknown wallet: %v", err)
	}
	// Ten concurrent withdrawals of 30.00 from 100.00: three succeed (90.00),
	// 10.00 is left, the rest are refused; never below zero.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := e.wallet.Withdraw(e.ctx, "W1", "c"+string(rune('0'+i)), fund.MustAmount("30.00"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, wallet.ErrInsufficient):
				refused++
			default:
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if ok != 3 || refused != 7 || e.balance("W1") != "10.00" {
		t.Errorf("concurrent: %d ok, %d refused, balance %s; want 3, 7, 10.00", ok, refused, e.balance("W1"))
	}
	if got := e.db.Str(`SELECT sum(amount)::numeric(18,2)::text FROM wallet_postings WHERE account = 'payout:wallet:W1'`); got != "-990.00" {
		t.Errorf("payout account %s, want -990.00 (900 + 3 × 30)", got)
	}
	e.db.Exec(`UPDATE wallets SET status = 'closed' WHERE id = 'W1'`)
	if _, err := e.wallet.Withdraw(e.ctx, "W1", "r9", fund.MustAmount("1.00")); !errors.Is(err, wallet.ErrClosed) {
		t.Errorf("closed wallet: %v", err)
	}
}

// A deposit the gateway refunds after it was credited is taken back out
// of the wallet; when the wallet no longer holds it, a break for a person,
// never a negative balance.
func TestRefundedDepositReversedOrBroken(t *testing.T) {
	e := newEnv(t)
	if err := e.wallet.Open(e.ctx, "W1", "INV-1"); err != nil {
		t.Fatal(err)
	}
	e.pay("e1", "pay_1", "wallet:W1", "captured", 100000) // ₹1,000.00
	e.pay("e2", "pay_2", "wallet:W1", "captured", 50000)  // ₹500.00
	if _, err := e.wallet.CreditDeposits(e.ctx, 10); err != nil {
		t.Fatal(err)
	}
	// 1,500.00 − 1,200.00 withdrawn = 300.00.
	if _, err := e.wallet.Withdraw(e.ctx, "W1", "r1", fund.MustAmount("1200.00")); err != nil {
		t.Fatal(err)
	}
	e.pay("e3", "pay_2", "wallet:W1", "refunded", 50000) // 500.00 > 300.00: a break
	res, err := e.wallet.CreditDeposits(e.ctx, 10)
	if err != nil || res.Broken != 1 || res.Reversed != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if got := e.balance("W1"); got != "300.00" {
		t.Errorf("W1 %s, want 300.00", got)
	}
	e.pay("e4", "pay_3", "wallet:W1", "captured", 20000) // +200.00 = 500.00
	if _, err := e.wallet.CreditDeposits(e.ctx, 10); err != nil {
		t.Fatal(err)
	}
	e.pay("e5", "pay_3", "wallet:W1", "refunded", 20000) // 500.00 − 200.00
	if res, err = e.wallet.CreditDeposits(e.ctx, 10); err != nil || res.Reversed != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if got := e.balance("W1"); got != "300.00" {
		t.Errorf("W1 %s, want 300.00", got)
	}
	// Again: nothing.
	if res, err = e.wallet.CreditDeposits(e.ctx, 10); err != nil || res.Reversed+res.Broken+res.Credited != 0 {
		t.Fatalf("again: %+v %v", res, err)
	}
	if got := e.db.Str(`SELECT string_agg(payment_id || '=' || reason, ',' ORDER BY payment_id) FROM payment_breaks`); got != "pay_2=wallet_refund_after_spend" {
		t.Errorf("breaks %s", got)
	}
}

// TestJournalRefusesAnUnbalancedStatement: the balance check (migration
// 053, once per statement over its rows) refuses postings that do not sum
// to zero per transaction and asset, whether one transaction or one of
// many in the statement is off, and takes a balanced multi-transaction
// statement.
func TestJournalRefusesAnUnbalancedStatement(t *testing.T) {
	e := newEnv(t)
	if err := e.wallet.Open(e.ctx, "W1", "INV-1"); err != nil {
		t.Fatal(err)
	}
	e.db.Exec(`INSERT INTO wallet_transactions (wallet_id, kind, ref, amount) VALUES ('W1', 'deposit', 'd1', 10), ('W1', 'deposit', 'd2', 20)`)
	post := func(q string) error {
		_, err := e.db.Read.Exec(e.ctx, `INSERT INTO wallet_postings (tx_id, seq, account, asset, amount) SELECT t.id, p.seq, p.account, 'INR', p.amount
			FROM wallet_transactions t JOIN (VALUES `+q+`) AS p(ref, seq, account, amount) ON p.ref = t.ref`)
		return err
	}
	for _, bad := range []string{
		`('d1', 0, 'wallet_cash:razorpay', 10.00), ('d1', 1, 'wallet:W1', -9.99)`,
		`('d1', 0, 'wallet_cash:razorpay', 10.00), ('d1', 1, 'wallet:W1', -10.00), ('d2', 0, 'wallet_cash:razorpay', 20.00)`,
		// Balanced in sum across the two transactions, not in each.
		`('d1', 0, 'wallet_cash:razorpay', 10.00), ('d2', 0, 'wallet:W1', -10.00)`,
	} {
		if err := post(bad); err == nil || !strings.Contains(err.Error(), "does not balance") {
			t.Errorf("%s: %v, want refused", bad, err)
		}
	}
	if err := post(`('d1', 0, 'wallet_cash:razorpay', 10.00), ('d1', 1, 'wallet:W1', -10.00), ('d2', 0, 'wallet_cash:razorpay', 20.00), ('d2', 1, 'wallet:W1', -20.00)`); err != nil {
		t.Fatal(err)
	}
	if n := e.db.Num(`SELECT count(*) FROM wallet_postings`); n != 4 {
		t.Errorf("%d postings, want 4", n)
	}
	e.db.Exec(`UPDATE wallets SET balance = 30 WHERE id = 'W1'`) // the journal check at the end
}
