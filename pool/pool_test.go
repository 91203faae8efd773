package pool_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/ledger"
	lpg "github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/pool"
	"github.com/fundflow/fundflow/pool/pgstore"
	"github.com/fundflow/fundflow/wallet"
	walletpg "github.com/fundflow/fundflow/wallet/pgstore"
)

type env struct {
	t      testing.TB
	ctx    context.Context
	db     moneytest.DB
	clock  time.Time
	ledger *ledger.Service
	wallet *wallet.Service
	pools  *pool.Service
}

// newEnv: the test's own database; the ledger receiving the deposits'
// webhooks, the wallet crediting them, the pools beside it (application
// role, audit on); at the end the journal's invariants.
func newEnv(t testing.TB) *env {
	owner, _, app, _ := testkit.PGApp(t)
	cal, err := holidays.Calendar(testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: testkit.Ctx(t), db: moneytest.DB{T: t, Ctx: testkit.Ctx(t), Owner: owner, Read: app},
		clock: moneytest.IST("2026-08-20T10:00:00+05:30")} // Thu, a business day
	now := func() time.Time { return e.clock }
	e.ledger = &ledger.Service{Store: lpg.New(app), Calendar: cal, Audit: true, Now: now}
	e.wallet = &wallet.Service{Store: walletpg.Store{Pool: app}, Audit: true, Now: now}
	e.pools = &pool.Service{Store: pgstore.Store{Pool: app}, Calendar: cal, Audit: true, Now: now}
	t.Cleanup(e.checkJournal)
	e.db.Exec(`INSERT INTO investors (id) VALUES ('INV-1'), ('INV-2'), ('INV-3'), ('INV-P')`)
	return e
}

// checkJournal: every wallet transaction balances per asset; each
// wallet's balance, each pool's cash and units and each member's units
// are minus (or plus) their account's balance; the pending account holds
// exactly the pending contributions.
func (e *env) checkJournal() {
	checks := map[string]string{
		"unbalanced transactions": `SELECT count(*) FROM (SELECT tx_id FROM wallet_postings GROUP BY tx_id, asset HAVING sum(amount) <> 0) x`,
		"wallet balances": `SELECT count(*) FROM wallets w WHERE w.balance <> -coalesce((SELECT sum(amount) FROM wallet_postings
			WHERE account = 'wallet:' || w.id AND asset = 'INR'), 0)`,
		"pool cash": `SELECT count(*) FROM pools p WHERE p.cash <> -coalesce((SELECT sum(amount) FROM wallet_postings
			WHERE account = 'pool:' || p.id AND asset = 'INR'), 0)`,
		"pool units": `SELECT count(*) FROM pools p WHERE p.units <> coalesce((SELECT sum(amount) FROM wallet_postings
			WHERE account = 'pool_issued:' || p.id AND asset = 'POOL:' || p.id), 0)`,
		"member units": `SELECT count(*) FROM pool_members m WHERE m.units <> -coalesce((SELECT sum(amount) FROM wallet_postings
			WHERE account = 'pool_units:' || m.pool_id || ':' || m.wallet_id AND asset = 'POOL:' || m.pool_id), 0)`,
		"pending contributions": `SELECT count(*) FROM pools p WHERE coalesce((SELECT sum(amount) FROM pool_requests r
			WHERE r.pool_id = p.id AND r.kind = 'contribution' AND r.status = 'pending'), 0) <> -coalesce((SELECT sum(amount)
			FROM wallet_postings WHERE account = 'pool_pending:' || p.id), 0)`,
		"pool fee accrued": `SELECT count(*) FROM pools p WHERE p.fee_accrued <> coalesce((SELECT sum(amount) FROM wallet_postings
			WHERE account = 'pool_fee_accrued:' || p.id AND asset = 'INR'), 0)`,
		"accruals unpaid = accrued": `SELECT count(*) FROM pools p WHERE p.fee_accrued <> coalesce((SELECT sum(fee + gst) FROM pool_fee_accruals a
			WHERE a.pool_id = p.id AND (a.invoice_id IS NULL OR a.invoice_id IN (SELECT id FROM pool_fee_invoices WHERE status = 'due'))), 0)
			+ (SELECT coalesce(sum(i.total - i.aum_fee - (SELECT coalesce(sum(a.gst), 0) FROM pool_fee_accruals a WHERE a.invoice_id = i.id)), 0)
			FROM pool_fee_invoices i WHERE i.pool_id = p.id AND i.status = 'due')`,
		"units = members + redeeming": `SELECT count(*) FROM pools p WHERE p.units <> (SELECT coalesce(sum(units), 0) FROM pool_members
			WHERE pool_id = p.id) + (SELECT coalesce(sum(units), 0) FROM pool_requests WHERE pool_id = p.id AND kind = 'withdrawal' AND status = 'pending')`,
	}
	for what, q := range checks {
		if n := e.db.Num(q); n != 0 {
			e.t.Errorf("journal: %s: %d wrong", what, n)
		}
	}
	e.db.CheckStoredFlows(true)
}

// fund opens wallets and credits each a deposit through the webhook path.
func (e *env) fund(paise int64, wallets ...[2]string) {
	e.t.Helper()
	for i, w := range wallets {
		if err := e.wallet.Open(e.ctx, w[0], w[1]); err != nil {
			e.t.Fatal(err)
		}
		id := "pay_" + w[0]
		body := moneytest.Payment{ID: id, OrderID: "wallet:" + w[0], Status: "captured", Paise: paise, At: e.clock.Add(-time.Minute)}.Body()
		typ, p, err := webhook.ParseRazorpay(body, "ev"+w[0])
		if err != nil {
			e.t.Fatal(err)
		}
		p.EventAt, p.TimeSource = fund.EffectiveTime(p.EventAt, e.clock, time.Hour)
		if _, err := e.ledger.Receive(e.ctx, ledger.InboxEvent{Source: "razorpay", EventID: "ev" + w[0], EventType: typ, Body: body, Payment: p}); err != nil {
			e.t.Fatal(i, err)
		}
	}
	if _, err := e.wallet.CreditDeposits(e.ctx, 100); err != nil {
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

func day(s string) fund.Date {
	d, err := fund.ParseISODate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func (e *env) contribute(poolID, walletID, req, amt string) pool.Request {
	e.t.Helper()
	r, err := e.pools.Contribute(e.ctx, poolID, walletID, req, fund.MustAmount(amt))
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) nav(poolID, d string) pool.NAVResult {
	e.t.Helper()
	r, err := e.pools.ComputeNAV(e.ctx, poolID, day(d))
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) members(poolID string) string {
	return e.db.Str(`SELECT string_agg(wallet_id || '=' || units, ',' ORDER BY wallet_id) FROM pool_members WHERE pool_id = $1`, poolID)
}

// TestPoolLifecycle: three members contribute at the launch NAV, the pool
// distributes ₹1,000.00 over their thirds (one reinvests), then a late
// contribution and a withdrawal are priced at the next day's NAV. Every
// figure below is worked by hand.
func TestPoolLifecycle(t *testing.T) {
	e := newEnv(t)
	e.fund(1000000, [2]string{"W1", "INV-1"}, [2]string{"W2", "INV-2"}, [2]string{"W3", "INV-3"}) // ₹10,000.00 each
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "P1", Name: "Income pool", Launch: fund.MustNAV("10.0000"), Cutoff: "15:00"}); err != nil {
		t.Fatal(err)
	}
	// Thu 20 Aug 10:00 IST, before the 15:00 cut-off: priced on 20 Aug.
	for _, w := range []string{"W1", "W2", "W3"} {
		if r := e.contribute("P1", w, "c1-"+w, "1000.00"); r.NAVDate != day("2026-08-20") {
			t.Fatalf("%s NAV date %s, want 2026-08-20", w, r.NAVDate)
		}
	}
	// The same request again: the first, not a second debit.
	e.contribute("P1", "W1", "c1-W1", "1000.00")
	if _, err := e.pools.Contribute(e.ctx, "P1", "W1", "c1-W1", fund.MustAmount("999.00")); !errors.Is(err, pool.ErrConflict) {
		t.Errorf("the id reused for another amount: %v", err)
	}
	if got := e.balance("W1"); got != "9000.00" { // 10,000.00 − 1,000.00
		t.Errorf("W1 after contributing %s, want 9000.00", got)
	}
	// A withdrawal before any units: refused.
	if _, err := e.pools.Withdraw(e.ctx, "P1", "W1", "x0", fund.MustUnits("1.000", 3)); !errors.Is(err, pool.ErrInsufficientUnit) {
		t.Errorf("withdrawing units not yet priced: %v", err)
	}

	// Day 1: no units yet, so the launch NAV 10.0000; 1,000.00 / 10 = 100.000 units each.
	r := e.nav("P1", "2026-08-20")
	if !r.Fresh || !r.Launch || r.NAV.String() != "10.0000" || r.Contributions != 3 {
		t.Fatalf("day 1: %+v", r)
	}
	if again := e.nav("P1", "2026-08-20"); again.Fresh || again.NAV.String() != "10.0000" {
		t.Errorf("day 1 again: %+v", again)
	}
	if got := e.members("P1"); got != "W1=100.000,W2=100.000,W3=100.000" {
		t.Errorf("members %s", got)
	}
	if got := e.db.Str(`SELECT cash || ' ' || units FROM pools WHERE id = 'P1'`); got != "3000.00 300.000" {
		t.Errorf("pool %s", got)
	}

	// Distribution of ₹1,000.00 on 20 Aug over three thirds: 333.333… each
	// floors to 333.33; the one paisa left goes to the first (W1).
	// W2 reinvests at the ex-distribution NAV (0 + 3,000.00 − 1,000.00) /
	// 300.000 = 6.66666… → 6.6667 (half-up); 333.33 / 6.6667 = 49.99925…
	// → 49.999 units (down: 6.6667 × 49.999 = 333.3283 ≤ 333.33 < 6.6667 × 50).
	if err := e.pools.SetReinvest(e.ctx, "P1", "W2", true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pools.Distribute(e.ctx, "P1", day("2026-08-19"), fund.MustAmount("1000.00")); !errors.Is(err, pool.ErrRecordDate) {
		t.Errorf("a record date before the latest NAV: %v", err)
	}
	if _, err := e.pools.Distribute(e.ctx, "P1", day("2026-08-20"), fund.MustAmount("3000.01")); !errors.Is(err, pool.ErrCashShort) {
		t.Errorf("more than the pool's cash: %v", err)
	}
	d, err := e.pools.Distribute(e.ctx, "P1", day("2026-08-20"), fund.MustAmount("1000.00"))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ w, amt, re string }{{"W1", "333.34", ""}, {"W2", "333.33", "49.999"}, {"W3", "333.33", ""}}
	sum := fund.Amount{}
	for i, s := range d.Shares {
		re := ""
		if s.Reinvested != nil {
			re = s.Reinvested.String()
		}
		if s.Wallet != want[i].w || s.Amount.String() != want[i].amt || re != want[i].re || s.Units.String() != "100.000" {
			t.Errorf("share %d: %+v %q, want %+v", i, s, re, want[i])
		}
		sum = sum.Add(s.Amount)
	}
	if sum.String() != "1000.00" || d.NAV.String() != "6.6667" {
		t.Errorf("shares sum %s, ex NAV %s", sum, d.NAV)
	}
	// Exactly once per (pool, record date).
	if again, err := e.pools.Distribute(e.ctx, "P1", day("2026-08-20"), fund.MustAmount("1000.00")); err != nil || len(again.Shares) != 3 || again.Shares[0].Amount.String() != "333.34" {
		t.Errorf("again: %+v %v", again, err)
	}
	if _, err := e.pools.Distribute(e.ctx, "P1", day("2026-08-20"), fund.MustAmount("5.00")); !errors.Is(err, pool.ErrConflict) {
		t.Errorf("a second amount on the same record date: %v", err)
	}
	// W1 9,000.00 + 333.34; W3 9,000.00 + 333.33; W2 reinvested: 9,000.00.
	for w, b := range map[string]string{"W1": "9333.34", "W2": "9000.00", "W3": "9333.33"} {
		if got := e.balance(w); got != b {
			t.Errorf("%s %s, want %s", w, got, b)
		}
	}
	// Cash 3,000.00 − 333.34 − 333.33 = 2,333.33; units 300 + 49.999.
	if got := e.db.Str(`SELECT cash || ' ' || units FROM pools WHERE id = 'P1'`); got != "2333.33 349.999" {
		t.Errorf("pool after distribution %s", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM outbox WHERE topic = 'pool.distributed'`); n != 1 {
		t.Errorf("%d pool.distributed events", n)
	}

	// 16:00 IST, after the cut-off: the next pool NAV is Fri 21 Aug's.
	e.clock = moneytest.IST("2026-08-20T16:00:00+05:30")
	if r := e.contribute("P1", "W1", "c2-W1", "500.00"); r.NAVDate != day("2026-08-21") {
		t.Errorf("late contribution's NAV date %s", r.NAVDate)
	}
	w, err := e.pools.Withdraw(e.ctx, "P1", "W3", "x1", fund.MustUnits("50.000", 3))
	if err != nil || w.NAVDate != day("2026-08-21") {
		t.Fatalf("withdrawal %+v %v", w, err)
	}
	// Units given up are still in the pool until priced.
	if got := e.members("P1"); got != "W1=100.000,W2=149.999,W3=50.000" {
		t.Errorf("members after the withdrawal request %s", got)
	}
	// Day 2: (0 + 2,333.33) / 349.999 = 6.66666… → 6.6667.
	// W1: 500.00 / 6.6667 = 74.99962… → 74.999 units.
	// W3: 50.000 × 6.6667 = 333.335 → 333.33 (down).
	// Cash 2,333.33 + 500.00 − 333.33 = 2,500.00; units 349.999 + 74.999 − 50 = 374.998.
	r = e.nav("P1", "2026-08-21")
	if r.NAV.String() != "6.6667" || r.Launch || r.Contributions != 1 || r.Withdrawals != 1 || r.Refused != 0 {
		t.Fatalf("day 2: %+v", r)
	}
	if got := e.members("P1"); got != "W1=174.999,W2=149.999,W3=50.000" {
		t.Errorf("members day 2 %s", got)
	}
	if got := e.db.Str(`SELECT cash || ' ' || units FROM pools WHERE id = 'P1'`); got != "2500.00 374.998" {
		t.Errorf("pool day 2 %s", got)
	}
	if got := e.balance("W3"); got != "9666.66" { // 9,333.33 + 333.33
		t.Errorf("W3 %s, want 9666.66", got)
	}
	if got := e.balance("W1"); got != "8833.34" { // 9,333.34 − 500.00
		t.Errorf("W1 %s, want 8833.34", got)
	}
	// The investor's view: W1's 174.999 units × 6.6667 = 1,166.6658333 → 1,166.67.
	vs, err := e.pools.Members(e.ctx, "W1")
	if err != nil || len(vs) != 1 || vs[0].Units.String() != "174.999" || vs[0].Value == nil || vs[0].Value.String() != "1166.67" || vs[0].NAVDate != "2026-08-21" {
		t.Errorf("view %+v %v", vs, err)
	}
	if n := e.db.Num(`SELECT count(*) FROM outbox WHERE topic = 'pool.priced'`); n != 5 {
		t.Errorf("%d pool.priced events, want 5", n)
	}
}

// TestPoolNAVFromHoldings: the pool's folio holdings valued at the day's
// scheme NAVs plus its cash; a scheme without that day's NAV refuses the
// day and writes nothing.
func TestPoolNAVFromHoldings(t *testing.T) {
	e := newEnv(t)
	e.fund(200000, [2]string{"W1", "INV-1"}) // ₹2,000.00
	e.db.Exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F-P2', 'INV-P')`)
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "P2", Name: "Equity pool", Launch: fund.MustNAV("10.0000"), Folio: "F-P2"}); err != nil {
		t.Fatal(err)
	}
	e.contribute("P2", "W1", "c1", "1000.00")
	if r := e.nav("P2", "2026-08-20"); !r.Launch || r.NAV.String() != "10.0000" { // no holdings, no units: launch
		t.Fatalf("day 1 %+v", r)
	}
	e.db.Exec(`INSERT INTO holdings (folio_no, scheme_code, units) VALUES ('F-P2', 'S1', 100.000), ('F-P2', 'S2', 33.333)`)
	e.db.NAV("S1", "2026-08-21", "12.34565")
	// S2 has no NAV on 21 Aug: refused, nothing written.
	if _, err := e.pools.ComputeNAV(e.ctx, "P2", day("2026-08-21")); !errors.Is(err, pool.ErrNAVMissing) {
		t.Fatalf("missing NAV: %v", err)
	}
	if n := e.db.Num(`SELECT count(*) FROM pool_navs WHERE pool_id = 'P2'`); n != 1 {
		t.Errorf("%d NAV rows, want 1", n)
	}
	e.db.NAV("S2", "2026-08-21", "20.00005")
	// S1: 12.34565 applied half-up 12.3457 × 100.000 = 1,234.57.
	// S2: 20.00005 → 20.0001 × 33.333 = 666.6633333 → 666.66.
	// (1,234.57 + 666.66 + cash 1,000.00) / 100.000 = 29.0123.
	r := e.nav("P2", "2026-08-21")
	if r.NAV.String() != "29.0123" || r.Holdings.String() != "1901.23" || r.Cash.String() != "1000.00" {
		t.Errorf("day 2 %+v", r)
	}
	// A Saturday is not a pool NAV date.
	if _, err := e.pools.ComputeNAV(e.ctx, "P2", day("2026-08-22")); err == nil {
		t.Error("a Saturday's NAV computed")
	}
}

// TestPoolRefusals: a distribution on a pool with zero units; a
// withdrawal the pool's cash cannot pay goes back to the member.
func TestPoolRefusals(t *testing.T) {
	e := newEnv(t)
	e.fund(100000, [2]string{"W1", "INV-1"}) // ₹1,000.00
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "P3", Name: "Empty", Launch: fund.MustNAV("10.0000")}); err != nil {
		t.Fatal(err)
	}
	e.nav("P3", "2026-08-20")
	if _, err := e.pools.Distribute(e.ctx, "P3", day("2026-08-20"), fund.MustAmount("1.00")); !errors.Is(err, managed.ErrZeroUnits) {
		t.Errorf("a distribution over zero units: %v", err)
	}
	if n := e.db.Num(`SELECT count(*) FROM pool_distributions`); n != 0 {
		t.Errorf("%d distributions written", n)
	}
	// A restriction that blocks redemptions holds a pool withdrawal as it
	// holds a wallet's: nothing moves.
	e.db.Exec(`INSERT INTO investor_restrictions (investor_id, source, reason, blocks_purchase, blocks_redemption, updated_by)
		VALUES ('INV-1', 'aml', 'screening hit', false, true, 'test')`)
	if _, err := e.pools.Withdraw(e.ctx, "P3", "W1", "x-held", fund.MustUnits("1.000", 3)); !errors.Is(err, pool.ErrHeld) {
		t.Errorf("a withdrawal under an AML restriction: %v", err)
	}
	if n := e.db.Num(`SELECT count(*) FROM pool_requests WHERE id = 'x-held'`); n != 0 {
		t.Errorf("the held withdrawal was stored")
	}
	e.db.Exec(`DELETE FROM investor_restrictions`)
	// A pool whose value is mostly holdings: ₹100.00 buys 10.000 units at
	// the launch NAV on Fri 21 Aug; then the folio holds 90.000 units of S1
	// at 10.0000 on Mon 24 Aug: NAV (900.00 + 100.00) / 10.000 = 100.0000.
	e.db.Exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F-P4', 'INV-P')`)
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "P4", Name: "Mostly invested", Launch: fund.MustNAV("10.0000"), Folio: "F-P4"}); err != nil {
		t.Fatal(err)
	}
	e.clock = moneytest.IST("2026-08-21T10:00:00+05:30")
	e.contribute("P4", "W1", "c1", "100.00")
	e.nav("P4", "2026-08-21")
	e.db.Exec(`INSERT INTO holdings (folio_no, scheme_code, units) VALUES ('F-P4', 'S1', 90.000)`)
	e.db.NAV("S1", "2026-08-24", "10.0000")
	for _, x := range []struct{ id, units string }{{"x1", "2.000"}, {"x2", "0.500"}} {
		if _, err := e.pools.Withdraw(e.ctx, "P4", "W1", x.id, fund.MustUnits(x.units, 3)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.pools.Withdraw(e.ctx, "P4", "W1", "x3", fund.MustUnits("7.501", 3)); !errors.Is(err, pool.ErrInsufficientUnit) {
		t.Errorf("more units than left (10 − 2.5 = 7.5): %v", err)
	}
	// x1: 2.000 × 100 = 200.00 > cash 100.00: refused, the units go back.
	// x2: 0.500 × 100 = 50.00, paid. W1: 1,000.00 − 100.00 + 50.00 = 950.00;
	// units 10.000 − 0.500 = 9.500; cash 100.00 − 50.00 = 50.00.
	r := e.nav("P4", "2026-08-24")
	if r.NAV.String() != "100.0000" || r.Withdrawals != 1 || r.Refused != 1 {
		t.Errorf("day %+v", r)
	}
	if got := e.balance("W1"); got != "950.00" {
		t.Errorf("W1 %s, want 950.00", got)
	}
	if got := e.members("P4") + " " + e.db.Str(`SELECT cash || ' ' || units FROM pools WHERE id = 'P4'`); got != "W1=9.500 50.00 9.500" {
		t.Errorf("after %s", got)
	}
	if got := e.db.Str(`SELECT string_agg(id || ' ' || status || ' ' || coalesce(amount::text, '-'), ',' ORDER BY id) FROM pool_requests WHERE pool_id = 'P4' AND kind = 'withdrawal'`); got != "x1 refused -,x2 priced 50.00" {
		t.Errorf("requests %s", got)
	}
}
