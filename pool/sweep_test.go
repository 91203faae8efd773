package pool_test

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/moneytest"
)

// cancel cancels an order request through the ledger, as an operator's
// cancel does.
func (e *env) cancel(id, target string) {
	e.t.Helper()
	in, ok, err := fund.IntakeOf([]byte(`{"order_id":"`+id+`","type":"cancel","target_order_id":"`+target+`","placed_at":"`+
		e.clock.UTC().Format("2006-01-02T15:04:05Z")+`"}`), fund.Receipt{Source: "test", At: e.clock, MaxSkew: 3600e9})
	if !ok {
		e.t.Fatal(err)
	}
	p, err := e.ledger.PlaceOrders(e.ctx, []fund.OrderIntake{in})
	if err != nil || len(p) != 1 || p[0].Outcome != "accepted" {
		e.t.Fatalf("cancel %s: %+v %v", target, p, err)
	}
}

// TestPoolSweepsPurchaseCancelledAfterPayment: a pool's purchase the
// ledger cancels after the pool paid it comes back into the pool's cash
// once, so the cash pays a withdrawal it could not pay before; the NAV
// counts that money once (in the cash, no longer in purchases).
//
// By hand. Thu 20 Aug (as TestPoolInvestsItsCash): W1 1,000.00 and W2
// 1,500.55 priced at 10.0000 (100.000 and 150.055 units); the batch buys
// A 1,500.00 and B 1,000.00, both paid; 0.55 stays in the cash. Fri 21
// Aug 10:00 an operator cancels B (paid, pending NAV): the ledger marks a
// refund due and posts nothing. W1 asks to withdraw its 100.000 units.
// The schemes' NAVs of the 21st: A 10.0000, so A is allotted 149.993
// units (1,499.93 after 0.07 stamp duty). The 21st's NAV: holdings
// 149.993 × 10 = 1,499.93, purchases 0.00, cash 0.55 + 1,000.00 =
// 1,000.55, over 250.055 units: 2,500.48 / 250.055 = 9.99972… → 9.9997.
// W1's withdrawal: 100.000 × 9.9997 = 999.97, paid from the cash, which
// ends at 1,000.55 − 999.97 = 0.58; W1's balance 4,000.00 + 999.97 =
// 4,999.97. Every rupee: the wallets' cash held 10,000.00 − 2,500.00 +
// 1,000.00 = 8,500.00 = W1 4,999.97 + W2 3,499.45 + the pool's 0.58;
// 1,500.00 is in the ledger's gateway account (A).
//
// On the old code the 21st's NAV is the same 9.9997 but from purchases
// 1,000.00 and cash 0.55, and the withdrawal is refused (the cash cannot
// pay it): the money is counted for ever and can never be paid out.
func TestPoolSweepsPurchaseCancelledAfterPayment(t *testing.T) {
	e := investEnv(t)
	e.contribute("P3", "W1", "c1", "1000.00")
	e.contribute("P3", "W2", "c2", "1500.55")
	e.clock = moneytest.IST("2026-08-20T21:00:00+05:30")
	if st := e.job("2026-08-20"); len(st.Failed) != 0 || st.Pools[0].OrdersPaid != 2 {
		t.Fatalf("day 1: %+v", st)
	}

	e.clock = moneytest.IST("2026-08-21T10:00:00+05:30")
	e.cancel("X-B", "PI-P3-2026-08-20-B")
	if _, err := e.pools.Withdraw(e.ctx, "P3", "W1", "x1", fund.MustUnits("100.000", 3)); err != nil {
		t.Fatal(err)
	}
	if got := e.db.Str(`SELECT reason FROM payment_breaks WHERE order_id = 'PI-P3-2026-08-20-B' AND resolved_at IS NULL`); got != fund.BreakCancelledPaid {
		t.Fatalf("ledger break %q", got)
	}

	// A crash inside the sweep's transaction leaves nothing half done.
	e.pools.SetCrash(func(stage, _ string) error {
		if stage == "sweep" {
			return errStop
		}
		return nil
	})
	if n, err := e.pools.SweepEnded(e.ctx, "P3"); err == nil || n != 0 {
		t.Errorf("sweep not stopped: %d %v", n, err)
	}
	if got := e.db.Str(`SELECT cash::text FROM pools WHERE id = 'P3'`); got != "0.55" {
		t.Errorf("pool cash after the stopped sweep %s, want 0.55", got)
	}
	e.pools.SetCrash(nil)

	e.db.NAV("A", "2026-08-21", "10.0000")
	e.db.NAV("B", "2026-08-21", "20.0000")
	e.clock = moneytest.IST("2026-08-21T21:00:00+05:30")
	e.allot()
	st := e.job("2026-08-21")
	if len(st.Failed) != 0 || st.Pools[0].NAV.String() != "9.9997" || st.Pools[0].Withdrawals != 1 || st.Pools[0].Refused != 0 {
		t.Errorf("day 2: %+v", st)
	}
	if st.Pools[0].Swept != 1 {
		t.Errorf("swept %d, want 1", st.Pools[0].Swept)
	}
	if got := e.db.Str(`SELECT holdings || ' ' || investing || ' ' || cash || ' ' || units FROM pool_navs WHERE pool_id = 'P3' AND nav_date = '2026-08-21'`); got != "1499.93 0.00 1000.55 250.055" {
		t.Errorf("21 Aug NAV from %s, want 1499.93 0.00 1000.55 250.055", got)
	}
	check := func(when string) {
		t.Helper()
		if got := e.db.Str(`SELECT cash::text FROM pools WHERE id = 'P3'`); got != "0.58" {
			t.Errorf("%s: pool cash %s, want 0.58", when, got)
		}
		if e.balance("W1") != "4999.97" || e.balance("W2") != "3499.45" {
			t.Errorf("%s: balances %s %s, want 4999.97 3499.45", when, e.balance("W1"), e.balance("W2"))
		}
		if got := e.members("P3"); got != "W1=0.000,W2=150.055" {
			t.Errorf("%s: members %s", when, got)
		}
		if got := e.db.Str(`SELECT sum(amount)::numeric(18,2)::text FROM wallet_postings WHERE account = 'wallet_cash:razorpay'`); got != "8500.00" {
			t.Errorf("%s: wallet cash held %s, want 8500.00", when, got)
		}
		if got := e.db.Str(`SELECT (-sum(amount))::numeric(18,2)::text FROM ledger_postings WHERE account = 'gateway:razorpay'`); got != "1500.00" {
			t.Errorf("%s: gateway money put to work %s, want 1500.00", when, got)
		}
		if got := e.db.Str(`SELECT coalesce(string_agg(ref || ' ' || amount, ', '), '') FROM wallet_transactions WHERE kind = 'pool_invest_refund'`); got != "PI-P3-2026-08-20-B 1000.00" {
			t.Errorf("%s: refunds %q", when, got)
		}
		if got := e.db.Str(`SELECT string_agg(order_id || ' ' || refunded, ', ' ORDER BY order_id) FROM pool_invest_legs`); got != "PI-P3-2026-08-20-A false, PI-P3-2026-08-20-B true" {
			t.Errorf("%s: legs %s", when, got)
		}
		if got := e.db.Str(`SELECT count(*) || ' ' || min(payload->>'amount') || ' ' || min(payload->>'order_status') FROM outbox WHERE topic = 'pool.invest.swept'`); got != "1 1000.00 cancelled" {
			t.Errorf("%s: pool.invest.swept %s", when, got)
		}
		if n := e.db.Num(`SELECT count(*) FROM audit_log WHERE entity = 'pool' AND action = 'invest_swept'`); n != 1 {
			t.Errorf("%s: %d invest_swept audit rows", when, n)
		}
		if n := e.db.Num(`SELECT (SELECT count(*) FROM payment_breaks WHERE resolved_at IS NULL) + (SELECT count(*) FROM alerts WHERE kind = 'refund_due' AND resolved_at IS NULL)`); n != 0 {
			t.Errorf("%s: %d refund-due breaks and alerts open", when, n)
		}
	}
	check("swept")

	// Again, by the job and by hand: nothing moves twice.
	if st := e.job("2026-08-21"); len(st.Failed) != 0 || st.Pools[0].Swept != 0 || st.Pools[0].Fresh {
		t.Errorf("again: %+v", st)
	}
	if n, err := e.pools.SweepEnded(e.ctx, "P3"); err != nil || n != 0 {
		t.Errorf("sweep again: %d %v", n, err)
	}
	check("again")
}
