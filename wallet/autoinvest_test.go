package wallet_test

import (
	"errors"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
	"github.com/shopspring/decimal"
)

// moderate: 40/35/25 over A, B, C with minimums (fund/managed's hand case).
func moderate() managed.Model {
	return managed.Model{ID: "moderate", Version: 1, Profile: managed.Moderate, Effective: fund.NewDate(2020, 1, 1),
		Schemes: []managed.Target{
			{Scheme: "A", Weight: decimal.NewFromInt(40), Min: fund.MustAmount("1000.00"), Multiple: fund.MustAmount("1.00")},
			{Scheme: "B", Weight: decimal.NewFromInt(35), Min: fund.MustAmount("1000.00"), Multiple: fund.MustAmount("1000.00")},
			{Scheme: "C", Weight: decimal.NewFromInt(25), Min: fund.MustAmount("5000.00"), Multiple: fund.MustAmount("1.00")},
		}}
}

// autoEnv: a wallet W1 with auto-invest into the moderate model in folio
// F1; schemes A, B, C with a NAV of 10.0000 on every day around the
// clock's, so whatever NAV date the cut-off rules give, it is there.
func autoEnv(t testing.TB) (*env, *wallet.AutoInvest) {
	e := newEnv(t)
	for _, s := range []string{"A", "B", "C"} {
		e.db.Scheme(s, "Equity Scheme - Large Cap Fund")
		for d := -5; d <= 10; d++ {
			e.db.NAV(s, clock.AddDate(0, 0, d).Format("2006-01-02"), "10.0000")
		}
	}
	ai := &wallet.AutoInvest{Wallet: e.wallet, Store: pgstore.Store{Pool: e.db.Read}, Ledger: e.ledger, MaxSkew: time.Hour}
	if err := e.wallet.Open(e.ctx, "W1", "INV-1"); err != nil {
		t.Fatal(err)
	}
	if err := ai.PutModel(e.ctx, moderate()); err != nil {
		t.Fatal(err)
	}
	if err := ai.SetTerms(e.ctx, wallet.Terms{WalletID: "W1", ModelID: "moderate", Folio: "F1", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	return e, ai
}

func (e *env) credit() {
	e.t.Helper()
	if _, err := e.wallet.CreditDeposits(e.ctx, 100); err != nil {
		e.t.Fatal(err)
	}
}

func TestAutoInvestDepositOnce(t *testing.T) {
	e, ai := autoEnv(t)
	e.pay("e1", "pay_1", "wallet:W1", "captured", 1000001) // ₹10,000.01
	e.credit()
	res, err := ai.Invest(e.ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	// Split (fund/managed's hand case): A 4000.00, B 3000.00, C below its
	// minimum; 3000.01 stays in the wallet.
	if res.Runs != 1 || res.Orders != 2 || res.Invested.String() != "7000.00" {
		t.Fatalf("%+v", res)
	}
	if got := e.balance("W1"); got != "3000.01" {
		t.Errorf("W1 %s, want 3000.01 (10000.01 − 7000.00)", got)
	}
	// Ordinary purchases through the ledger: allotted with stamp duty and
	// lots, units computed independently (moneytest: duty = gross × 5/100005
	// half-up, units = (gross − duty)/NAV truncated to 3 decimals).
	for _, c := range []struct{ id, amount string }{{"AI-pay_1-A", "4000.00"}, {"AI-pay_1-B", "3000.00"}} {
		duty, units := moneytest.ExpectPurchase(c.amount, "10.0000", 3)
		got := e.db.Str(`SELECT o.status || ' ' || t.amount || ' ' || t.stamp_duty || ' ' || t.units::numeric(24,3) || ' ' || t.payment_id
			FROM orders o JOIN ledger_transactions t ON t.order_id = o.id WHERE o.id = $1`, c.id)
		if want := "allotted " + c.amount + " " + duty + " " + units + " wpay_" + c.id; got != want {
			t.Errorf("%s: %s, want %s", c.id, got, want)
		}
	}
	// What GET /v1/wallets/{id} shows.
	if v, ok, err := e.wallet.View(e.ctx, "W1"); err != nil || !ok || v.Balance.String() != "3000.01" || v.Model != "moderate" || v.Folio != "F1" || v.InvestorID != "INV-1" {
		t.Errorf("view %+v %v %v", v, ok, err)
	}
	if n := e.db.Num(`SELECT count(*) FROM orders`); n != 2 {
		t.Errorf("%d orders, want 2", n)
	}
	if got := e.db.Str(`SELECT (payload->>'invested') || ' ' || (payload->>'leftover') || ' ' || jsonb_array_length(payload->'orders') FROM outbox WHERE topic = 'autoinvest.orders.placed'`); got != "7000.00 3000.01 2" {
		t.Errorf("event %s", got)
	}
	// Again, and a second deposit's run alone: still two orders for pay_1.
	if res, err = ai.Invest(e.ctx, 10); err != nil || res.Runs != 0 {
		t.Fatalf("again: %+v %v", res, err)
	}
	// Money conserved: wallet cash held = what the wallets owe; the
	// gateway's money went to the schemes and stamp duty.
	if got := e.db.Str(`SELECT coalesce(sum(amount), 0)::numeric(18,2)::text FROM wallet_postings WHERE account LIKE 'wallet_cash:%'`); got != "3000.01" {
		t.Errorf("wallet cash held %s, want 3000.01", got)
	}
	if got := e.db.Str(`SELECT (-sum(amount))::numeric(18,2)::text FROM ledger_postings WHERE account = 'gateway:razorpay'`); got != "7000.00" {
		t.Errorf("gateway money put to work %s, want 7000.00", got)
	}
}

var errCrash = errors.New("crash")

// A run stopped after its debit, or after its orders were placed and paid,
// finishes on the next call with the same orders: nothing twice.
func TestAutoInvestResumesAfterAStop(t *testing.T) {
	for _, stage := range []string{"debited", "paid"} {
		t.Run(stage, func(t *testing.T) {
			e, ai := autoEnv(t)
			e.pay("e1", "pay_1", "wallet:W1", "captured", 2000000) // ₹20,000.00: A 8000, B 7000, C 5000
			e.credit()
			ai.SetCrash(func(s, _ string) error {
				if s == stage {
					return errCrash
				}
				return nil
			})
			if _, err := ai.Invest(e.ctx, 10); !errors.Is(err, errCrash) {
				t.Fatalf("first call: %v", err)
			}
			ai.SetCrash(nil)
			res, err := ai.Invest(e.ctx, 10)
			if err != nil || res.Runs != 1 {
				t.Fatalf("second call: %+v %v", res, err)
			}
			if got := e.db.Str(`SELECT string_agg(id || ' ' || status, ',' ORDER BY id) FROM orders`); got != "AI-pay_1-A allotted,AI-pay_1-B allotted,AI-pay_1-C allotted" {
				t.Errorf("orders %s", got)
			}
			if got := e.balance("W1"); got != "0.00" {
				t.Errorf("W1 %s, want 0.00", got)
			}
			if n := e.db.Num(`SELECT count(*) FROM outbox WHERE topic = 'autoinvest.orders.placed'`); n != 1 {
				t.Errorf("%d events", n)
			}
			if n := e.db.Num(`SELECT count(*) FROM payments WHERE gateway = 'wallet' AND match_status = 'matched'`); n != 3 {
				t.Errorf("%d wallet payments matched, want 3", n)
			}
		})
	}
}

// A request the ledger refuses (a scheme not in the master) is not paid:
// its amount goes back to the wallet.
func TestAutoInvestRefusedOrderRefunded(t *testing.T) {
	e, ai := autoEnv(t)
	m := moderate()
	m.Version = 2
	m.Schemes[2].Scheme = "NOPE"
	if err := ai.PutModel(e.ctx, m); err != nil {
		t.Fatal(err)
	}
	e.pay("e1", "pay_1", "wallet:W1", "captured", 2000000)
	e.credit()
	if _, err := ai.Invest(e.ctx, 10); err != nil {
		t.Fatal(err)
	}
	// A 8000 and B 7000 bought; NOPE's 5000 refused and refunded.
	if got := e.balance("W1"); got != "5000.00" {
		t.Errorf("W1 %s, want 5000.00", got)
	}
	if got := e.db.Str(`SELECT payload->'orders'->2->>'outcome' || ' ' || (payload->'orders'->2->>'reason') FROM outbox WHERE topic = 'autoinvest.orders.placed'`); got != "rejected unknown_scheme" {
		t.Errorf("event %s", got)
	}
	// A model whose weights do not sum to 100 is refused at load.
	m.Version, m.Schemes[0].Weight = 3, decimal.NewFromInt(41)
	if err := ai.PutModel(e.ctx, m); !errors.Is(err, managed.ErrWeights) {
		t.Errorf("101 %%: %v", err)
	}
}
