package pool_test

import (
	"os"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/pool"
	"github.com/fundflow/fundflow/wallet"
	walletpg "github.com/fundflow/fundflow/wallet/pgstore"
)

// A member wallet's own performance fee leaves the pool's gain to the
// pool (review r35 L3): pool units are not in the wallet's valuation, so
// money to and from a pool is a flow. By hand, pool PN (no fee terms),
// launch 10.0000; W1 and W2 have 1,000.00 each.
//   - 20 Aug: W1 puts 500.00 in (50 units), W2 1,000.00 (100 units); cash
//     1,500.00. The folio then holds 10 units of S1.
//   - 30 Sep, S1 15.0000: NAV (1,500.00 + 150.00) / 150 = 11.0000. 150.00
//     distributed, paid: W1 50 / 150 → 50.00, W2 100.00; cash 1,350.00.
//   - 1 Oct, S1 15.0000: NAV (1,350.00 + 150.00) / 150 = 10.0000; W1's 50
//     units leave with 500.00.
//
// W1's wallet: 1,000.00 − 500.00 + 50.00 + 500.00 = 1,050.00, its net
// flows the same (the deposit, out to the pool, back from it): gain 0, no
// fee at 20 %. Counting only the deposit (the old flows) it would be a
// gain of 50.00 the pool earned: 10.00 + GST 1.80.
func TestMemberWalletPerfFeeLeavesPoolGainToThePool(t *testing.T) {
	e := newEnv(t)
	e.fund(100000, [2]string{"W1", "INV-1"}, [2]string{"W2", "INV-2"})
	e.db.Exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F-PN', 'INV-P')`)
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "PN", Name: "flows", Launch: fund.MustNAV("10.0000"), Folio: "F-PN"}); err != nil {
		t.Fatal(err)
	}
	f := &wallet.Fees{Wallet: e.wallet, Store: walletpg.Store{Pool: e.db.Read}}
	if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: day("2026-08-01"), AUMRatePct: pct("0"), PerfPct: pct("20")}); err != nil {
		t.Fatal(err)
	}
	e.contribute("PN", "W1", "c-W1", "500.00")
	e.contribute("PN", "W2", "c-W2", "1000.00")
	e.nav("PN", "2026-08-20")
	e.db.Exec(`INSERT INTO holdings (folio_no, scheme_code, units) VALUES ('F-PN', 'S1', 10.000)`)
	e.db.NAV("S1", "2026-09-30", "15.0000")
	e.db.NAV("S1", "2026-10-01", "15.0000")
	if r := e.nav("PN", "2026-09-30"); r.NAV.String() != "11.0000" {
		t.Fatalf("30 Sep NAV %s, want 11.0000", r.NAV)
	}
	d, err := e.pools.Distribute(e.ctx, "PN", day("2026-09-30"), fund.MustAmount("150.00"))
	if err != nil {
		t.Fatal(err)
	}
	if d.NAV.String() != "10.0000" || len(d.Shares) != 2 || d.Shares[0].Wallet != "W1" || d.Shares[0].Amount.String() != "50.00" {
		t.Fatalf("distribution ex-NAV %s, shares %+v; want 10.0000, W1 50.00", d.NAV, d.Shares)
	}
	e.clock = moneytest.IST("2026-10-01T10:00:00+05:30")
	if _, err := e.pools.Withdraw(e.ctx, "PN", "W1", "w-W1", fund.MustUnits("50.000", 3)); err != nil {
		t.Fatal(err)
	}
	if r := e.nav("PN", "2026-10-01"); r.NAV.String() != "10.0000" || r.Withdrawals != 1 {
		t.Fatalf("1 Oct: NAV %s, %d withdrawals", r.NAV, r.Withdrawals)
	}
	if got := e.balance("W1"); got != "1050.00" {
		t.Fatalf("W1 %s, want 1,050.00", got)
	}

	// The valuation's stored flows (W1 only: W2 has no fee terms).
	if _, err := f.Value(e.ctx, day("2026-10-01")); err != nil {
		t.Fatal(err)
	}
	if got := e.db.Str(`SELECT string_agg(wallet_id || ' ' || aum || ' ' || net_flows, ',' ORDER BY wallet_id) FROM fee_valuations WHERE day = '2026-10-01'`); got != "W1 1050.00 1050.00" {
		t.Errorf("valuations %s, want W1 1050.00 1050.00", got)
	}
	inv, _, err := f.Bill(e.ctx, "W1", day("2026-10-01"), day("2026-10-01"), true)
	if err != nil {
		t.Fatal(err)
	}
	if !inv.PerfFee.IsZero() || !inv.Total.IsZero() {
		t.Errorf("1 Oct: performance fee %s, total %s; want 0: the 50.00 is the pool's gain", inv.PerfFee, inv.Total)
	}
	// A valuation written without its flows (before they were kept): the
	// flows are summed from the journal the same way.
	e.db.Exec(`INSERT INTO fee_valuations (wallet_id, day, cash, holdings, aum) VALUES ('W1', '2026-10-02', 1050.00, 0, 1050.00)`)
	inv, _, err = f.Bill(e.ctx, "W1", day("2026-10-02"), day("2026-10-02"), true)
	if err != nil {
		t.Fatal(err)
	}
	if !inv.PerfFee.IsZero() || !inv.Total.IsZero() {
		t.Errorf("2 Oct (summed flows): performance fee %s, total %s; want 0", inv.PerfFee, inv.Total)
	}
	// Migration 067's backfill writes what Post wrote (and W1's flows are
	// the hand-computed 1,050.00: deposit, out to the pool, back from it).
	posted := e.db.Str(`SELECT string_agg(id || ' ' || coalesce(flow::text, '-'), ',' ORDER BY id) FROM wallet_transactions`)
	if got := e.db.Str(`SELECT sum(flow)::numeric(18,2)::text FROM wallet_transactions WHERE wallet_id = 'W1'`); got != "1050.00" {
		t.Errorf("W1 stored flows %s, want 1050.00", got)
	}
	mig, err := os.ReadFile("../sql/postgres/067_wallet_flow_delta.sql")
	if err != nil {
		t.Fatal(err)
	}
	e.db.Exec(`UPDATE wallet_transactions SET flow = NULL`)
	e.db.Exec(string(mig)[strings.Index(string(mig), "UPDATE"):])
	if got := e.db.Str(`SELECT string_agg(id || ' ' || coalesce(flow::text, '-'), ',' ORDER BY id) FROM wallet_transactions`); got != posted {
		t.Errorf("backfilled flows %s, posted %s", got, posted)
	}
}
