package pool_test

import (
	"errors"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/internal/moneytest"
	jobpool "github.com/fundflow/fundflow/jobs/pool"
	"github.com/fundflow/fundflow/pool"
	"github.com/fundflow/fundflow/pool/pgstore"
	"github.com/fundflow/fundflow/wallet"
	walletpg "github.com/fundflow/fundflow/wallet/pgstore"
	"github.com/shopspring/decimal"
)

// investEnv: pool P3 with folio F-P (investor INV-P) investing in model
// "pool-mod", A 60 % (minimum 100.00, multiple 1.00) and B 40 % (minimum
// 100.00, multiple 10.00), two equity schemes; wallets W1 and W2 with
// ₹5,000.00 each. The NAVs are set by each test's days.
func investEnv(t *testing.T) *env {
	e := newEnv(t)
	e.pools.Ledger, e.pools.MaxSkew = e.ledger, time.Hour
	e.fund(500000, [2]string{"W1", "INV-1"}, [2]string{"W2", "INV-2"})
	e.db.Scheme("A", "Equity Scheme - Large Cap Fund")
	e.db.Scheme("B", "Equity Scheme - Large Cap Fund")
	m := managed.Model{ID: "pool-mod", Version: 1, Profile: managed.Moderate, Effective: fund.NewDate(2020, 1, 1),
		Schemes: []managed.Target{
			{Scheme: "A", Weight: decimal.NewFromInt(60), Min: fund.MustAmount("100.00"), Multiple: fund.MustAmount("1.00")},
			{Scheme: "B", Weight: decimal.NewFromInt(40), Min: fund.MustAmount("100.00"), Multiple: fund.MustAmount("10.00")},
		}}
	ai := &wallet.AutoInvest{Wallet: e.wallet, Store: walletpg.Store{Pool: e.db.Read}, Ledger: e.ledger}
	if err := ai.PutModel(e.ctx, m); err != nil {
		t.Fatal(err)
	}
	e.db.Exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F-P', 'INV-P')`)
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "P3", Name: "Managed pool", Launch: fund.MustNAV("10.0000"), Folio: "F-P", Model: "pool-mod"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// job runs the pools' NAV job for a day at the env's clock.
func (e *env) job(d string) jobpool.Stats {
	e.t.Helper()
	st, err := jobpool.Job{Pools: e.pools, Day: day(d)}.Run(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *env) allot() {
	e.t.Helper()
	if _, err := e.ledger.AllotPending(e.ctx, 100); err != nil {
		e.t.Fatal(err)
	}
}

// poolOrders lists the pool folio's orders: id amount status.
func (e *env) poolOrders() string {
	return e.db.Str(`SELECT coalesce(string_agg(request_id || ' ' || amount || ' ' || status, ', ' ORDER BY request_id), '') FROM orders WHERE folio_no = 'F-P'`)
}

// TestPoolInvestsItsCash: a pool's contributions are invested in its
// model's schemes through ordinary purchase orders, once per day's batch,
// and its NAV values the money on the way (at cost) and then the units.
func TestPoolInvestsItsCash(t *testing.T) {
	e := investEnv(t)

	// Thu 20 Aug: 1,000.00 and 1,500.55 before the cut-off, priced at the
	// launch NAV 10.0000 at 21:00: 100.000 and 150.055 units. The batch
	// 2,500.55 split 60/40 by the auto-invest rule: A 1,500.33 down to its
	// multiple of 1.00 = 1,500.00, B 1,000.22 down to 10.00 = 1,000.00;
	// 0.55 stays in the pool's cash.
	e.contribute("P3", "W1", "c1", "1000.00")
	e.contribute("P3", "W2", "c2", "1500.55")
	e.clock = moneytest.IST("2026-08-20T21:00:00+05:30")
	st := e.job("2026-08-20")
	if len(st.Failed) != 0 || len(st.Pools) != 1 || st.Pools[0].NAV.String() != "10.0000" || st.Pools[0].OrdersPaid != 2 {
		t.Fatalf("day 1: %+v", st)
	}
	if got := e.members("P3"); got != "W1=100.000,W2=150.055" {
		t.Errorf("members %s", got)
	}
	if got := e.db.Str(`SELECT cash::text FROM pools WHERE id = 'P3'`); got != "0.55" {
		t.Errorf("pool cash %s, want 0.55", got)
	}
	// Placed after the schemes' 15:00 cut-off: the next business day's NAV.
	want := "PI-P3-2026-08-20-A 1500.00 pending_nav, PI-P3-2026-08-20-B 1000.00 pending_nav"
	if got := e.poolOrders(); got != want {
		t.Errorf("orders %s, want %s", got, want)
	}
	if got := e.db.Str(`SELECT (payload->>'batch') || ' ' || (payload->>'invested') || ' ' || (payload->>'leftover') || ' ' ||
		jsonb_array_length(payload->'orders') FROM outbox WHERE topic = 'pool.invested'`); got != "2500.55 2500.00 0.55 2" {
		t.Errorf("pool.invested %s", got)
	}
	// The same day again: nothing twice.
	if st := e.job("2026-08-20"); st.Pools[0].Fresh || st.Pools[0].OrdersPaid != 0 {
		t.Errorf("again: %+v", st)
	}
	// The schemes' NAVs of the 21st arrive (after the orders were paid: an
	// order paid with its NAV already there is allotted at once).
	e.db.NAV("A", "2026-08-21", "10.0000")
	e.db.NAV("B", "2026-08-21", "20.0000")

	// Fri 21 Aug: 500.00 more from W1. The pool NAV at 21:00, before the
	// allotment: holdings none, money in purchases 2,500.00 at cost, cash
	// 0.55, over 250.055 units = 10.0000 (without the purchases it would
	// be 0.0022). The batch 500.00: A 300.00, B 200.00, nothing left.
	e.clock = moneytest.IST("2026-08-21T10:00:00+05:30")
	e.contribute("P3", "W1", "c3", "500.00")
	e.clock = moneytest.IST("2026-08-21T21:00:00+05:30")
	st = e.job("2026-08-21")
	if len(st.Failed) != 0 || st.Pools[0].NAV.String() != "10.0000" || st.Pools[0].OrdersPaid != 2 {
		t.Fatalf("day 2: %+v", st)
	}
	if got := e.db.Str(`SELECT holdings || ' ' || investing || ' ' || cash || ' ' || units FROM pool_navs WHERE pool_id = 'P3' AND nav_date = '2026-08-21'`); got != "0.00 2500.00 0.55 250.055" {
		t.Errorf("21 Aug NAV from %s", got)
	}
	// Analysts' nav fact carries the purchases too: (0.00 + 2,500.00 +
	// 0.55) / 250.055 = 10.0000.
	facts, err := pgstore.Store{Pool: e.db.Read}.Facts(e.ctx, day("2026-08-21"), day("2026-08-21"))
	if err != nil {
		t.Fatal(err)
	}
	// (The other row is c3, 500.00 at 10.0000.)
	if len(facts) != 2 || facts[1].Kind != "nav" || facts[1].Amount.String() != "2500.00" || facts[1].Holdings.String() != "0.00" || facts[1].Cash.String() != "0.55" {
		t.Errorf("21 Aug facts %+v, want a nav row with amount 2500.00", facts)
	}
	// The 20th's purchases allotted at the 21st's NAVs, with stamp duty.
	e.allot()
	for _, c := range []struct{ id, amount, nav string }{{"PI-P3-2026-08-20-A", "1500.00", "10.0000"}, {"PI-P3-2026-08-20-B", "1000.00", "20.0000"}} {
		duty, units := moneytest.ExpectPurchase(c.amount, c.nav, 3)
		got := e.db.Str(`SELECT o.status || ' ' || t.stamp_duty || ' ' || t.units::numeric(24,3) FROM orders o JOIN ledger_transactions t ON t.order_id = o.id WHERE o.request_id = $1`, c.id)
		if want := "allotted " + duty + " " + units; got != want {
			t.Errorf("%s: %s, want %s", c.id, got, want)
		}
	}

	// Mon 24 Aug: A 11.0000, B 19.0000; the 21st's purchases allotted.
	// A: 149.993 (1,499.93 after 0.07 duty, at 10) + 27.271 (299.99 at 11)
	// = 177.264 × 11 = 1,949.90; B: 49.997 (999.95 at 20) + 10.525 (199.99
	// at 19) = 60.522 × 19 = 1,149.918 → 1,149.92. (1,949.90 + 1,149.92 +
	// 0.55) / 300.055 = 10.33267… → 10.3327.
	e.db.NAV("A", "2026-08-24", "11.0000")
	e.db.NAV("B", "2026-08-24", "19.0000")
	e.clock = moneytest.IST("2026-08-24T21:00:00+05:30")
	e.allot()
	st = e.job("2026-08-24")
	if len(st.Failed) != 0 || st.Pools[0].NAV.String() != "10.3327" || st.Pools[0].OrdersPaid != 0 {
		t.Fatalf("day 3: %+v", st)
	}
	if got := e.db.Str(`SELECT holdings || ' ' || investing || ' ' || cash || ' ' || units FROM pool_navs WHERE pool_id = 'P3' AND nav_date = '2026-08-24'`); got != "3099.82 0.00 0.55 300.055" {
		t.Errorf("24 Aug NAV from %s", got)
	}
	// Money conserved: the wallets' cash held = the wallets' balances (3,500.00
	// and 3,499.45) + the pool's cash 0.55; 3,000.00 went to the schemes.
	if got := e.db.Str(`SELECT sum(amount)::numeric(18,2)::text FROM wallet_postings WHERE account = 'wallet_cash:razorpay'`); got != "7000.00" {
		t.Errorf("wallet cash held %s, want 7000.00", got)
	}
	if e.balance("W1") != "3500.00" || e.balance("W2") != "3499.45" {
		t.Errorf("balances %s %s", e.balance("W1"), e.balance("W2"))
	}
	if got := e.db.Str(`SELECT (-sum(amount))::numeric(18,2)::text FROM ledger_postings WHERE account = 'gateway:razorpay'`); got != "3000.00" {
		t.Errorf("gateway money put to work %s, want 3000.00", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM orders WHERE folio_no = 'F-P'`); n != 4 {
		t.Errorf("%d orders, want 4", n)
	}
}

var errStop = errors.New("stop")

// TestPoolInvestResumes: a NAV job stopped after the batch was debited
// (before any order), or after the orders were placed and paid (before
// the run is finished), is finished by the next run with the same orders,
// each once, and the cash debited once.
func TestPoolInvestResumes(t *testing.T) {
	for _, stage := range []string{"debited", "paid"} {
		t.Run(stage, func(t *testing.T) {
			e := investEnv(t)
			e.contribute("P3", "W1", "c1", "1000.00")
			e.contribute("P3", "W2", "c2", "1500.55")
			e.clock = moneytest.IST("2026-08-20T21:00:00+05:30")
			stops := 0
			e.pools.SetCrash(func(s, _ string) error {
				if s == stage {
					stops++
					return errStop
				}
				return nil
			})
			if st := e.job("2026-08-20"); st.Failed["P3"] == "" || stops != 1 {
				t.Fatalf("not stopped: %+v", st)
			}
			if got := e.db.Str(`SELECT cash::text FROM pools WHERE id = 'P3'`); got != "0.55" {
				t.Errorf("pool cash after the stop %s, want 0.55", got)
			}
			e.pools.SetCrash(nil)
			st := e.job("2026-08-20")
			if len(st.Failed) != 0 || st.Pools[0].Fresh {
				t.Fatalf("resumed: %+v", st)
			}
			want := "PI-P3-2026-08-20-A 1500.00 pending_nav, PI-P3-2026-08-20-B 1000.00 pending_nav"
			if got := e.poolOrders(); got != want {
				t.Errorf("orders %s, want %s", got, want)
			}
			if got := e.db.Str(`SELECT count(*) || ' ' || sum(amount) FROM wallet_transactions WHERE kind = 'pool_invest'`); got != "1 2500.00" {
				t.Errorf("debits %s", got)
			}
			if got := e.db.Str(`SELECT count(*)::text FROM payments WHERE id LIKE 'wpay_%'`); got != "2" {
				t.Errorf("%s payments, want 2", got)
			}
			if got := e.db.Str(`SELECT string_agg(status, ',') FROM pool_invest_runs`); got != "placed" {
				t.Errorf("run %s", got)
			}
			if n := e.db.Num(`SELECT count(*) FROM outbox WHERE topic = 'pool.invested'`); n != 1 {
				t.Errorf("%d pool.invested events", n)
			}
			if st := e.job("2026-08-20"); st.Pools[0].OrdersPaid != 0 {
				t.Errorf("third run paid %d", st.Pools[0].OrdersPaid)
			}
		})
	}
}

// TestPoolDistributionCountsItsPurchases: a distribution on the day a
// batch was invested values the pool with that batch's purchases (at
// cost), not with the cash alone. 20 Aug: 250.055 units, 2,500.00 in
// purchases, 0.55 cash; 0.50 distributed: ex-NAV (2,500.00 + 0.55 − 0.50)
// / 250.055 = 9.99800… → 9.9980 (the cash alone would give 0.0002).
// Shares by units: W1 100/250.055 × 0.50 = 0.19995…, W2 0.30004…: floors
// 0.19 and 0.30, the paisa left to W1's larger remainder: 0.20 and 0.30.
func TestPoolDistributionCountsItsPurchases(t *testing.T) {
	e := investEnv(t)
	e.contribute("P3", "W1", "c1", "1000.00")
	e.contribute("P3", "W2", "c2", "1500.55")
	e.clock = moneytest.IST("2026-08-20T21:00:00+05:30")
	if st := e.job("2026-08-20"); len(st.Failed) != 0 {
		t.Fatalf("%+v", st)
	}
	d, err := e.pools.Distribute(e.ctx, "P3", day("2026-08-20"), fund.MustAmount("0.50"))
	if err != nil {
		t.Fatal(err)
	}
	if d.NAV.String() != "9.9980" || len(d.Shares) != 2 || d.Shares[0].Amount.String() != "0.20" || d.Shares[1].Amount.String() != "0.30" {
		t.Errorf("distribution %+v", d)
	}
	if got := e.db.Str(`SELECT cash::text FROM pools WHERE id = 'P3'`); got != "0.05" {
		t.Errorf("pool cash %s, want 0.05", got)
	}
}

// TestPoolDistributionValuesItsMoment: a distribution values the pool as
// it is when it runs (holdings, money in purchases and cash read
// together), so a purchase leg refunded into the cash after the record
// date's NAV counts once, in the cash.
//
// By hand, both ways. Thu 20 Aug (as TestPoolInvestsItsCash): W1 1,000.00
// and W2 1,500.55 at 10.0000 (100.000 and 150.055 units); the batch is A
// 1,500.00 and B 1,000.00; 0.55 stays in the cash. Fri 21 Aug's NAV: no
// holdings, 2,500.00 in purchases, cash 0.55: 10.0000. Then B's 1,000.00
// comes back to the cash:
//   - refused: the 20th's job stopped after the debit; B left the scheme
//     master; the 21st's job prices the NAV first, then places the
//     20th's run: A paid, B refused and refunded;
//   - swept: both paid on the 20th; an operator cancels B after the 21st's
//     NAV; the job run again for the 21st sweeps it back.
//
// W2 reinvests. 0.50 distributed on the 21st: the pool holds A's 1,500.00
// in purchases (no NAV for A yet) and 1,000.55 cash: ex-NAV (1,500.00 +
// 1,000.55 − 0.50) / 250.055 = 2,500.05 / 250.055 = 9.99800… → 9.9980.
// Shares as in TestPoolDistributionCountsItsPurchases: W1 0.20 paid, W2
// 0.30 reinvested: 0.30 / 9.9980 = 0.030006… → 0.030 units. The old
// value added the NAV's 2,500.00 in purchases to the cash now: (2,500.00
// + 1,000.55 − 0.50) / 250.055 = 13.9971, and W2 got 0.021 units.
// Every rupee: the wallet journal's cash held 10,000.00 − 2,500.00 +
// 1,000.00 = 8,500.00 = W1 4,000.20 + W2 3,499.45 + the pool's 1,000.55 −
// 0.20 = 1,000.35; A's 1,500.00 is a captured payment waiting for its NAV.
func TestPoolDistributionValuesItsMoment(t *testing.T) {
	for _, how := range []string{"refused", "swept"} {
		t.Run(how, func(t *testing.T) {
			e := reinvestEnv(t)
			e.clock = moneytest.IST("2026-08-20T21:00:00+05:30")
			if how == "refused" {
				e.pools.SetCrash(func(s, _ string) error {
					if s == "debited" {
						return errStop
					}
					return nil
				})
			}
			st := e.job("2026-08-20")
			e.pools.SetCrash(nil)
			if len(st.Pools) != 1 || st.Pools[0].NAV.String() != "10.0000" {
				t.Fatalf("20 Aug: %+v", st)
			}
			e.clock = moneytest.IST("2026-08-21T21:00:00+05:30")
			if how == "refused" {
				e.db.Exec(`DELETE FROM schemes WHERE code = 'B'`)
			}
			if st := e.job("2026-08-21"); len(st.Failed) != 0 || st.Pools[0].NAV.String() != "10.0000" {
				t.Fatalf("21 Aug: %+v", st)
			}
			if how == "swept" {
				e.clock = moneytest.IST("2026-08-21T21:30:00+05:30")
				e.cancel("X-B", "PI-P3-2026-08-20-B")
				if st := e.job("2026-08-21"); len(st.Failed) != 0 || st.Pools[0].Swept != 1 {
					t.Fatalf("21 Aug again: %+v", st)
				}
			}
			// The NAV row kept what it was computed from.
			if got := e.db.Str(`SELECT holdings || ' ' || investing || ' ' || cash FROM pool_navs WHERE pool_id = 'P3' AND nav_date = '2026-08-21'`); got != "0.00 2500.00 0.55" {
				t.Errorf("21 Aug NAV from %s", got)
			}
			if got := e.db.Str(`SELECT cash::text FROM pools WHERE id = 'P3'`); got != "1000.55" {
				t.Fatalf("pool cash before the distribution %s, want 1000.55", got)
			}
			e.distributeHalfRupee("2026-08-21", "1000.35")
			if e.balance("W1") != "4000.20" || e.balance("W2") != "3499.45" {
				t.Errorf("balances %s %s, want 4000.20 3499.45", e.balance("W1"), e.balance("W2"))
			}
			if got := e.db.Str(`SELECT sum(amount)::numeric(18,2)::text FROM wallet_postings WHERE account = 'wallet_cash:razorpay'`); got != "8500.00" {
				t.Errorf("wallet cash held %s, want 8500.00", got)
			}
			if got := e.db.Str(`SELECT coalesce(string_agg(ref || ' ' || amount, ', '), '') FROM wallet_transactions WHERE kind = 'pool_invest_refund'`); got != "PI-P3-2026-08-20-B 1000.00" {
				t.Errorf("refunds %q", got)
			}
			if got := e.db.Str(`SELECT o.status || ' ' || p.amount || ' ' || p.status FROM orders o JOIN payments p ON p.order_id = o.request_id
				WHERE o.request_id = 'PI-P3-2026-08-20-A'`); got != "pending_nav 1500.00 captured" {
				t.Errorf("A %s, want pending_nav 1500.00 captured", got)
			}
		})
	}
}

// TestPoolDistributionValuesItsRecordDate: a distribution is priced at the
// pool's value on its record date, even when the record date's purchases
// are allotted before it runs (at the next day's scheme NAVs).
//
// By hand. Thu 20 Aug: W1 1,000.00 and W2 1,500.55 at 10.0000 (100.000
// and 150.055 units), the batch A 1,500.00 and B 1,000.00 placed after
// the cut-off, 0.55 cash. The record date's value after its requests:
// 0.00 + 0.00 + 2,500.55 cash = 2,500.55 over 250.055 units. A is 10.0000
// and B 20.0000 on the 20th; on the 21st A is 12.0000, B 20.0000, and the
// purchases are allotted at those: A (1,500.00 − 0.07 duty) / 12 =
// 124.994 units, B (1,000.00 − 0.05) / 20 = 49.997. W2 reinvests; 0.50
// distributed for the 20th: ex-NAV (2,500.55 − 0.50) / 250.055 =
// 9.99800… → 9.9980; W1 0.20 paid, W2 0.30 / 9.9980 = 0.030006… → 0.030
// units. Valuing the holdings now at the 20th's NAVs gave (124.994 × 10
// + 49.997 × 20 + 0.55 − 0.50) / 250.055 = 2,249.93 / 250.055 = 8.9977
// and 0.033 units; without NAVs on the 20th it refused. A NAV row from
// before migration 056 (no value after) is refused.
func TestPoolDistributionValuesItsRecordDate(t *testing.T) {
	for _, how := range []string{"navs on the 20th", "no navs on the 20th", "row before 056"} {
		t.Run(how, func(t *testing.T) {
			e := reinvestEnv(t)
			if how != "no navs on the 20th" {
				e.db.NAV("A", "2026-08-20", "10.0000")
				e.db.NAV("B", "2026-08-20", "20.0000")
			}
			e.clock = moneytest.IST("2026-08-20T21:00:00+05:30")
			if st := e.job("2026-08-20"); len(st.Failed) != 0 || st.Pools[0].NAV.String() != "10.0000" || st.Pools[0].OrdersPaid != 2 {
				t.Fatalf("20 Aug: %+v", st)
			}
			if got := e.db.Str(`SELECT coalesce(value_after || ' ' || units_after, 'none') FROM pool_navs WHERE pool_id = 'P3' AND nav_date = '2026-08-20'`); got != "2500.55 250.055" {
				t.Errorf("20 Aug value after %s, want 2500.55 250.055", got)
			}
			e.db.NAV("A", "2026-08-21", "12.0000")
			e.db.NAV("B", "2026-08-21", "20.0000")
			e.clock = moneytest.IST("2026-08-21T09:00:00+05:30")
			e.allot()
			if got := e.db.Str(`SELECT string_agg(scheme_code || '=' || units::numeric(24,3), ',' ORDER BY scheme_code) FROM holdings WHERE folio_no = 'F-P'`); got != "A=124.994,B=49.997" {
				t.Fatalf("holdings %s, want A=124.994,B=49.997", got)
			}
			if how == "row before 056" {
				e.db.Exec(`UPDATE pool_navs SET value_after = NULL, units_after = NULL WHERE pool_id = 'P3'`)
				if _, err := e.pools.Distribute(e.ctx, "P3", day("2026-08-20"), fund.MustAmount("0.50")); !errors.Is(err, pool.ErrNoValueAfter) {
					t.Fatalf("distribution on an old row: %v, want ErrNoValueAfter", err)
				}
				return
			}
			e.distributeHalfRupee("2026-08-20", "0.35")
		})
	}
}

// TestPoolFolioIsItsOwn: a pool's NAV values its whole folio, so a folio
// is refused to a second pool, to a pool when a wallet's auto-invest buys
// into it, and to a wallet's auto-invest when a pool holds it; the same
// pool created again with its folio is left as it is.
func TestPoolFolioIsItsOwn(t *testing.T) {
	e := investEnv(t) // P3 holds F-P; W1 and W2 are open
	e.db.Exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F-W', 'INV-1'), ('F-Q', 'INV-P')`)
	ai := &wallet.AutoInvest{Wallet: e.wallet, Store: walletpg.Store{Pool: e.db.Read}, Ledger: e.ledger}
	if err := ai.SetTerms(e.ctx, wallet.Terms{WalletID: "W1", ModelID: "pool-mod", Folio: "F-W", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, folio string }{{"P4", "F-P"}, {"P5", "F-W"}} {
		err := e.pools.Create(e.ctx, pool.Pool{ID: c.id, Name: "second", Launch: fund.MustNAV("10.0000"), Folio: c.folio})
		if !errors.Is(err, wallet.ErrFolioInUse) {
			t.Errorf("pool %s on %s: %v, want ErrFolioInUse", c.id, c.folio, err)
		}
	}
	if err := ai.SetTerms(e.ctx, wallet.Terms{WalletID: "W2", ModelID: "pool-mod", Folio: "F-P", Enabled: true}); !errors.Is(err, wallet.ErrFolioInUse) {
		t.Errorf("auto-invest on the pool's folio: %v, want ErrFolioInUse", err)
	}
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "P3", Name: "Managed pool", Launch: fund.MustNAV("10.0000"), Folio: "F-P", Model: "pool-mod"}); err != nil {
		t.Errorf("P3 again: %v", err)
	}
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "P6", Name: "own folio", Launch: fund.MustNAV("10.0000"), Folio: "F-Q"}); err != nil {
		t.Errorf("P6 on its own folio: %v", err)
	}
	if got := e.db.Str(`SELECT string_agg(id || '=' || coalesce(folio_no, ''), ',' ORDER BY id) FROM pools`); got != "P3=F-P,P6=F-Q" {
		t.Errorf("pools %s", got)
	}
	if got := e.db.Str(`SELECT string_agg(wallet_id || '=' || folio_no, ',' ORDER BY wallet_id) FROM autoinvest_terms`); got != "W1=F-W" {
		t.Errorf("terms %s", got)
	}
	// The index backs the service: a second pool row on F-P is refused.
	if _, err := e.db.Owner.Exec(e.ctx, `INSERT INTO pools (id, name, launch_nav, folio_no) VALUES ('P7', 'x', 10, 'F-P')`); err == nil {
		t.Error("a second pool on F-P was stored")
	}
}

// distributeHalfRupee distributes 0.50 from P3 on record (250.055 units,
// W2 reinvesting) and checks the result both distribution tests work out
// by hand: ex-NAV 9.9980, W1 0.20 paid, W2 0.30 reinvested as 0.030
// units, P3 then holding cash and 250.085 units.
func (e *env) distributeHalfRupee(record, cash string) {
	e.t.Helper()
	d, err := e.pools.Distribute(e.ctx, "P3", day(record), fund.MustAmount("0.50"))
	if err != nil {
		e.t.Fatal(err)
	}
	if d.NAV.String() != "9.9980" {
		e.t.Errorf("ex-NAV %s, want 9.9980", d.NAV)
	}
	if len(d.Shares) != 2 || d.Shares[0].Amount.String() != "0.20" || d.Shares[0].Reinvested != nil ||
		d.Shares[1].Amount.String() != "0.30" || d.Shares[1].Reinvested == nil || d.Shares[1].Reinvested.String() != "0.030" {
		e.t.Errorf("shares %+v", d.Shares)
	}
	if got := e.members("P3"); got != "W1=100.000,W2=150.085" {
		e.t.Errorf("members %s", got)
	}
	if got := e.db.Str(`SELECT cash || ' ' || units FROM pools WHERE id = 'P3'`); got != cash+" 250.085" {
		e.t.Errorf("pool cash and units %s, want %s 250.085", got, cash)
	}
}

// reinvestEnv is investEnv with W1's 1,000.00 and W2's 1,500.55
// contributed on 20 Aug before the cut-off, W2 reinvesting.
func reinvestEnv(t *testing.T) *env {
	e := investEnv(t)
	e.contribute("P3", "W1", "c1", "1000.00")
	e.contribute("P3", "W2", "c2", "1500.55")
	if err := e.pools.SetReinvest(e.ctx, "P3", "W2", true); err != nil {
		t.Fatal(err)
	}
	return e
}
