package pool_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/pool"
	"github.com/fundflow/fundflow/pool/pgstore"
	"github.com/fundflow/fundflow/wallet"
)

func pct(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// Fee terms per pool: effective-dated, the same date replaces, checked as
// a wallet's (a rate over 100 % or a negative hurdle refused), an unknown
// pool refused.
func TestPoolFeeTerms(t *testing.T) {
	e := newEnv(t)
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "PL-1", Name: "one", Launch: fund.MustNAV("10.0000")}); err != nil {
		t.Fatal(err)
	}
	set := func(from, aum, perf, hurdle string) error {
		return e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PL-1", From: day(from), AUMRatePct: pct(aum), PerfPct: pct(perf), HurdlePct: pct(hurdle)})
	}
	for _, c := range [][4]string{{"2026-07-01", "1.00", "10", "0"}, {"2026-08-16", "2.00", "10", "0"}, {"2026-07-01", "1.50", "20", "5"}} {
		if err := set(c[0], c[1], c[2], c[3]); err != nil {
			t.Fatal(err)
		}
	}
	if err := set("2026-09-01", "100.01", "0", "0"); err == nil {
		t.Error("a rate over 100 % was stored")
	}
	if err := set("2026-09-01", "1", "0", "-1"); err == nil {
		t.Error("a negative hurdle was stored")
	}
	err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PL-X", From: day("2026-07-01"), AUMRatePct: pct("1")})
	if !errors.Is(err, pool.ErrNoPool) {
		t.Errorf("unknown pool: %v", err)
	}
	ts, err := e.pools.FeeTermsOf(e.ctx, "PL-1")
	if err != nil {
		t.Fatal(err)
	}
	// The 1 July row replaced by 1.50/20/5, the 16 August row kept: two rows.
	var got []string
	for _, x := range ts {
		got = append(got, x.From.String()+" "+x.AUMRatePct.String()+" "+x.PerfPct.String()+" "+x.HurdlePct.String())
	}
	if want := "[2026-07-01 1.5 20 5 2026-08-16 2 10 0]"; fmtSlice(got) != want {
		t.Errorf("terms %v, want %s", got, want)
	}
}

func fmtSlice(s []string) string {
	out := "["
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out + "]"
}

// The daily accrual inside the pool NAV, by hand: the fee with its GST
// (18 % half-up per accrual) is the liability the NAV deducts (review
// H2). W1 and W2 contribute 328,500.00 and 36,500.00 on Thu 20 Aug at the
// launch NAV 10.0000: 32,850.000 and 3,650.000 units, cash 365,000.00.
// Terms: 1 % from 20 Aug, 2 % from 26 Aug. The NAV deducts the fee
// through its own day; the days after it to the next business day accrue
// on the value after the day's requests (review L1) and are deducted by
// the next NAV.
//   - 20 Aug: AUM 0 (nothing before the day's requests): fee 0.00.
//   - Fri 21 Aug: AUM 365,000.00: 21 Aug 10.00, GST 1.80: the NAV deducts
//     11.80: (365,000.00 − 11.80) / 36,500 = 9.99967… → 9.9997. The
//     weekend on the value after, 364,988.20: 2 × 9.99967… = 19.99935…;
//     the row 29.99935… → 29.99, GST 5.3982 → 5.40: owed 35.39, value
//     after 364,964.61.
//   - Mon 24 Aug has no NAV. Tue 25 Aug: AUM 365,000.00 − 35.39 =
//     364,964.61; 24 Aug carries 21 Aug's value after, 364,964.61: 2 ×
//     9.99903… = 19.99806… → 19.99, GST 3.5982 → 3.60. Owed 58.98; NAV
//     (365,000.00 − 58.98) / 36,500 = 9.99838… → 9.9984. W2 leaves with
//     all its 3,650.000 units at it: 36,494.16 (its share of the fee and
//     its GST went with the NAV). Cash 328,505.84.
//     (Cash only and no flows on Friday: every value Monday could be
//     accrued on is 364,964.61 here; TestPoolFeeSkippedDayAccruesOnTheValueAfter
//     tells them apart.)
//   - Wed 26 Aug at 2 %: AUM 328,505.84 − 58.98 = 328,446.86; × 2 /
//     36,500 = 17.99708… → 17.99, GST 3.2382 → 3.24. Owed 80.21; NAV
//     (328,505.84 − 80.21) / 32,850 = 9.99773… → 9.9977.
func TestPoolFeeAccruesInTheNAV(t *testing.T) {
	e := newEnv(t)
	e.fund(32850000, [2]string{"W1", "INV-1"})
	e.fund(3650000, [2]string{"W2", "INV-2"})
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "PL-1", Name: "one", Launch: fund.MustNAV("10.0000")}); err != nil {
		t.Fatal(err)
	}
	for _, x := range [][2]string{{"2026-08-20", "1"}, {"2026-08-26", "2"}} {
		if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PL-1", From: day(x[0]), AUMRatePct: pct(x[1])}); err != nil {
			t.Fatal(err)
		}
	}
	e.contribute("PL-1", "W1", "c-W1", "328500.00")
	e.contribute("PL-1", "W2", "c-W2", "36500.00")
	check := func(d, nav, fee, accrued, from, to string) {
		t.Helper()
		r := e.nav("PL-1", d)
		if r.NAV.String() != nav || r.FeeAccrued.String() != accrued || r.Accrual == nil || r.Accrual.Fee.String() != fee ||
			r.Accrual.From.String() != from || r.Accrual.To.String() != to {
			t.Errorf("%s: NAV %s accrued %s, accrual %+v; want NAV %s, fee %s for %s..%s, accrued %s", d, r.NAV, r.FeeAccrued, r.Accrual, nav, fee, from, to, accrued)
		}
	}
	check("2026-08-20", "10.0000", "0.00", "0.00", "2026-08-20", "2026-08-20")
	check("2026-08-21", "9.9997", "29.99", "11.80", "2026-08-21", "2026-08-23")
	e.clock = moneytest.IST("2026-08-25T10:00:00+05:30")
	if _, err := e.pools.Withdraw(e.ctx, "PL-1", "W2", "w-W2", fund.MustUnits("3650.000", 3)); err != nil {
		t.Fatal(err)
	}
	check("2026-08-25", "9.9984", "19.99", "58.98", "2026-08-24", "2026-08-25")
	if got := e.db.Str(`SELECT amount || ' ' || status FROM pool_requests WHERE id = 'w-W2'`); got != "36494.16 priced" {
		t.Errorf("W2's withdrawal %s, want 36494.16 priced", got)
	}
	check("2026-08-26", "9.9977", "17.99", "80.21", "2026-08-26", "2026-08-26")
	if got := e.db.Str(`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'PL-1'`); got != "328505.84 80.21" {
		t.Errorf("pool cash and accrued %s", got)
	}
	// The journal: 29.99 + 19.99 + 17.99 to fee income, 5.40 + 3.60 + 3.24
	// provisioned as GST, the 0.00 day not posted.
	if got := e.db.Str(`SELECT count(*) || ' ' || coalesce(sum(amount), 0) FROM wallet_transactions WHERE kind = 'pool_fee_accrual'`); got != "3 80.21" {
		t.Errorf("accrual entries %s", got)
	}
	if got := e.db.Str(`SELECT (-sum(amount))::numeric(18,2) || ' ' || (SELECT (-sum(amount))::numeric(18,2) FROM wallet_postings WHERE account = 'tax:gst_accrued')
		FROM wallet_postings WHERE account = 'fee_income:managed'`); got != "67.97 12.24" {
		t.Errorf("fee income and GST provisioned %s, want 67.97 12.24", got)
	}

	// Billing 20..26 Aug settles the 67.97 accrued: GST 18 % of 67.97 =
	// 12.2346 → 12.23 (the 12.24 provisioned, released: the pool keeps the
	// 0.01), total 80.20 from the pool's cash: 328,505.84 − 80.20 =
	// 328,425.64; nothing owed.
	inv, created, err := e.pools.BillFees(e.ctx, "PL-1", day("2026-08-20"), day("2026-08-26"), false)
	if err != nil || !created {
		t.Fatalf("bill: created %v, %v", created, err)
	}
	if got := inv.AUMFee.String() + " " + inv.GST.String() + " " + inv.Total.String() + " " + inv.Status; got != "67.97 12.23 80.20 charged" {
		t.Errorf("invoice %s", got)
	}
	if n := len(inv.Accrual.Days); n != 7 { // 20..26 Aug, each day on a line
		t.Errorf("invoice accrual %d days, want 7", n)
	}
	var csv strings.Builder
	if err := wallet.WriteInvoiceCSV(&csv, inv); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"invoice_id,pool_id,period_from,period_to,status\nPFEE-PL-1-2026-08-20-2026-08-26,PL-1,2026-08-20,2026-08-26,charged\n",
		"Management fee accrual at 1% a year, 2026-08-20 to 2026-08-25 (6 days)", "Management fee accrual at 2% a year, 2026-08-26 to 2026-08-26 (1 days)",
		"GST at 18%,12.23\n", "Total,80.20\n"} {
		if !strings.Contains(csv.String(), want) {
			t.Errorf("invoice CSV has no %q:\n%s", want, csv.String())
		}
	}
	again, created, err := e.pools.BillFees(e.ctx, "PL-1", day("2026-08-20"), day("2026-08-26"), false)
	if err != nil || created || again.Total.String() != "80.20" {
		t.Errorf("billed again: created %v total %s, %v", created, again.Total, err)
	}
	if _, _, err := e.pools.BillFees(e.ctx, "PL-1", day("2026-08-20"), day("2026-08-27"), false); !errors.Is(err, pool.ErrConflict) {
		t.Errorf("another period end from the same start: %v", err)
	}
	if got := e.db.Str(`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'PL-1'`); got != "328425.64 0.00" {
		t.Errorf("pool after the bill %s", got)
	}
	if got := e.db.Str(`SELECT count(*) || ' ' || sum(amount) FROM wallet_transactions WHERE kind = 'pool_fee'`); got != "1 80.20" {
		t.Errorf("fee payments %s", got)
	}
	if got := e.db.Str(`SELECT (-sum(amount))::numeric(18,2) || ' ' || (SELECT sum(amount)::numeric(18,2) FROM wallet_postings WHERE account = 'tax:gst_accrued')
		FROM wallet_postings WHERE account = 'tax:gst'`); got != "12.23 0.00" {
		t.Errorf("GST, provision left %s, want 12.23 0.00", got)
	}
	if got := e.db.Str(`SELECT count(*) || ' ' || min(payload->>'pool_id') || ' ' || min(payload->>'total') FROM outbox WHERE topic = 'fee.charged'`); got != "1 PL-1 80.20" {
		t.Errorf("fee.charged events %s", got)
	}

	// The last member out while fees are owed. Thu 27 Aug: AUM 328,425.64
	// × 2 / 36,500 = 17.99592… → 17.99, GST 3.24; owed 21.23; NAV
	// (328,425.64 − 21.23) / 32,850 = 9.99709… → 9.9971. W1 asks to leave
	// with all its units on Fri 28 Aug: AUM 328,404.41: 28 Aug 17.99476…,
	// GST on 17.99 3.24: the NAV deducts 21.23 + 21.23 = 42.46:
	// (328,425.64 − 42.46) / 32,850 = 9.99644… → 9.9964. The withdrawal
	// would leave no member to bear the 42.46: refused, the units back (on
	// the old code W1 left and the pool kept a bill it could not pay). The
	// weekend on the value after, 328,383.18: 2 × 17.99359… ; the row
	// 53.98196… → 53.98, GST 9.7164 → 9.72; owed 21.23 + 63.70 = 84.93.
	// The bill of 27..30 Aug: 71.97 + GST 12.9546 → 12.95 = 84.92 from the
	// cash (328,340.72 left); the provision was 12.96, so nothing is owed
	// and the pool keeps the 0.01.
	check("2026-08-27", "9.9971", "17.99", "21.23", "2026-08-27", "2026-08-27")
	e.clock = moneytest.IST("2026-08-28T10:00:00+05:30")
	if _, err := e.pools.Withdraw(e.ctx, "PL-1", "W1", "w-W1", fund.MustUnits("32850.000", 3)); err != nil {
		t.Fatal(err)
	}
	check("2026-08-28", "9.9964", "53.98", "42.46", "2026-08-28", "2026-08-30")
	if got := e.db.Str(`SELECT status || ' ' || (reason LIKE '%bill them first%42.46 owed%')::text FROM pool_requests WHERE id = 'w-W1'`); got != "refused true" {
		t.Errorf("W1's last withdrawal %s, want refused naming the 42.46 owed", got)
	}
	if got := e.db.Str(`SELECT units FROM pool_members WHERE pool_id = 'PL-1' AND wallet_id = 'W1'`); got != "32850.000" {
		t.Errorf("W1's units %s, want 32850.000 back", got)
	}
	// The investor's pool view (GET /v1/wallets/{id}/pools): the pool's
	// fee owed 84.93 (with the weekend's) and its invoices so far, 80.20.
	vs, err := e.pools.Members(e.ctx, "W1")
	if err != nil || len(vs) != 1 || vs[0].FeeAccrued == nil || vs[0].FeesCharged == nil {
		t.Fatalf("W1's pools %+v, %v", vs, err)
	}
	if got := vs[0].FeeAccrued.String() + " " + vs[0].FeesCharged.String(); got != "84.93 80.20" {
		t.Errorf("pool view fees %s, want 84.93 80.20", got)
	}
	inv, _, err = e.pools.BillFees(e.ctx, "PL-1", day("2026-08-27"), day("2026-08-30"), false)
	if err != nil || inv.Total.String() != "84.92" || inv.Status != "charged" {
		t.Fatalf("bill 27..30 Aug: %+v, %v", inv, err)
	}
	if got := e.db.Str(`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'PL-1'`); got != "328340.72 0.00" {
		t.Errorf("pool after the second bill %s, want 328340.72 0.00", got)
	}
}

// The performance fee over three crystallisation periods, the second
// below the high-water mark, by hand. Terms: no AUM fee, 20 % of the gain
// above the mark. W1 puts 1,000.00 in at the launch NAV 10.0000: 100.000
// units; the pool's folio then holds 10.000 units of S1 (the market's
// move, seeded).
//   - Period 1 (20..31 Aug): S1 30.0000: NAV (300.00 + 1,000.00) / 100 =
//     13.0000. Gain over the launch mark 3.0000 × 100 = 300.00; 20 % =
//     60.00, GST 10.80, total 70.80; cash 929.20; mark 13.0000.
//   - Period 2 (1..30 Sep): S1 35.0000: NAV (350.00 + 929.20) / 100 =
//     12.7920, below the mark: no fee; the mark stays 13.0000.
//   - Period 3 (1..30 Oct): S1 60.0000: NAV (600.00 + 929.20) / 100 =
//     15.2920. Gain above 13.0000 (not above period 2's 12.7920): 2.2920 ×
//     100 = 229.20; 20 % = 45.84, GST 8.2512 → 8.25, total 54.09; cash
//     875.11; mark 15.2920.
func TestPoolPerformanceFeeHighWaterMark(t *testing.T) {
	e := newEnv(t)
	e.fund(100000, [2]string{"W1", "INV-1"})
	e.db.Exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F-P5', 'INV-P')`)
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "P5", Name: "perf", Launch: fund.MustNAV("10.0000"), Folio: "F-P5"}); err != nil {
		t.Fatal(err)
	}
	if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "P5", From: day("2026-08-20"), AUMRatePct: pct("0"), PerfPct: pct("20")}); err != nil {
		t.Fatal(err)
	}
	e.contribute("P5", "W1", "c1", "1000.00")
	e.nav("P5", "2026-08-20")
	e.db.Exec(`INSERT INTO holdings (folio_no, scheme_code, units) VALUES ('F-P5', 'S1', 10.000)`)
	for _, c := range []struct{ from, to, s1, nav, perf, gst, total, cash, mark string }{
		{"2026-08-20", "2026-08-31", "30.0000", "13.0000", "60.00", "10.80", "70.80", "929.20", "13.0000"},
		{"2026-09-01", "2026-09-30", "35.0000", "12.7920", "0.00", "0.00", "0.00", "929.20", "13.0000"},
		{"2026-10-01", "2026-10-30", "60.0000", "15.2920", "45.84", "8.25", "54.09", "875.11", "15.2920"},
	} {
		e.db.NAV("S1", c.to, c.s1)
		if r := e.nav("P5", c.to); r.NAV.String() != c.nav {
			t.Fatalf("%s NAV %s, want %s", c.to, r.NAV, c.nav)
		}
		inv, _, err := e.pools.BillFees(e.ctx, "P5", day(c.from), day(c.to), true)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := inv.PerfFee.String()+" "+inv.GST.String()+" "+inv.Total.String(), c.perf+" "+c.gst+" "+c.total; got != want {
			t.Errorf("%s..%s: fee, GST, total %s, want %s", c.from, c.to, got, want)
		}
		if got := e.db.Str(`SELECT p.cash || ' ' || h.hwm_nav FROM pools p JOIN pool_fee_hwm h ON h.pool_id = p.id WHERE p.id = 'P5'`); got != c.cash+" "+c.mark {
			t.Errorf("%s: cash and mark %s, want %s %s", c.to, got, c.cash, c.mark)
		}
	}
	// The table refuses a falling mark whatever the code does.
	if _, err := e.db.Owner.Exec(e.ctx, `UPDATE pool_fee_hwm SET hwm_nav = 14 WHERE pool_id = 'P5'`); err == nil {
		t.Error("the high-water mark fell")
	}
}

// Property: over random NAV paths, units, rates and hurdles, the mark
// never falls and the fee never exceeds perf % of the exact gain per unit
// above max(mark, start × (1 + hurdle)) times the units.
func TestPoolPerfFeeProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(22, 58))
	hundred := decimal.NewFromInt(100)
	for i := 0; i < 2000; i++ {
		terms := pool.FeeTerms{PerfPct: decimal.New(r.Int64N(10001), -2), HurdlePct: decimal.New(r.Int64N(2001), -2)}
		if r.IntN(3) == 0 {
			terms.HurdlePct = decimal.Zero
		}
		launch := fund.MustNAV(decimal.New(1000+r.Int64N(100000), -4).StringFixed(4))
		h := pool.HWM{NAV: launch, StartNAV: launch}
		nav := launch
		for step := 0; step < 8; step++ {
			// A move of −30 % .. +30 %.
			d := nav.Decimal().Mul(decimal.New(700+r.Int64N(601), -3)).Round(4)
			if d.LessThan(decimal.New(1, -2)) {
				d = decimal.New(1, -2)
			}
			nav = fund.MustNAV(d.StringFixed(4))
			units := fund.MustUnits(decimal.New(r.Int64N(100_000_000), -3).StringFixed(3), 3)
			c, next, err := pool.PerfFee(terms, h, nav, units)
			if err != nil {
				t.Fatal(err)
			}
			if next.NAV.Cmp(h.NAV) < 0 {
				t.Fatalf("mark fell from %s to %s at NAV %s", h.NAV, next.NAV, nav)
			}
			threshold := h.NAV.Decimal()
			if hs := h.StartNAV.Decimal().Mul(hundred.Add(terms.HurdlePct)).Div(hundred); terms.HurdlePct.Sign() > 0 && hs.GreaterThan(threshold) {
				threshold = hs
			}
			limit := decimal.Max(decimal.Zero, nav.Decimal().Sub(threshold)).Mul(units.Decimal()).Mul(terms.PerfPct).Div(hundred)
			if c.Invoice.Fee.Decimal().GreaterThan(limit) {
				t.Fatalf("fee %s above %s%% of the gain (%s) at NAV %s over %s (mark %s, start %s, hurdle %s)",
					c.Invoice.Fee, terms.PerfPct, limit, nav, threshold, h.NAV, h.StartNAV, terms.HurdlePct)
			}
			h = next
		}
	}
}

// A bill between the record date's NAV and the distribution: the NAV
// row's value_after still counts the GST the bill paid from the cash, so
// the ex-NAV takes it off. By hand: W1 and W2 put in 500.00 each on 20 Aug
// (50.000 units each); 36.5 % a year is 1.00 a day on 1,000.00, so 21
// Aug's NAV accrues 21 Aug: 1.00 + GST 0.18, NAV (1,000.00 − 1.18) / 100
// = 9.9882; the weekend on the value after, 998.82: 2 × 0.99882 →
// the row 2.99764 → 2.99, GST 0.5382 → 0.54, owed 3.53, value_after
// 996.47. The bill of 20..21 Aug pays 2.99 + GST 0.54 = 3.53 (all
// provisioned, the row already net of it): cash 996.47. ₹100.00
// distributed on 21 Aug: 50.00 each; W2 reinvests at (996.47 − 100.00) /
// 100 = 8.9647: 50.00 / 8.9647 = 5.5774… → 5.577 units (at the old row's
// 997.00, GST not provisioned, 8.9700 and 5.574).
func TestPoolDistributionAfterAFeeBill(t *testing.T) {
	e := newEnv(t)
	e.fund(100000, [2]string{"W1", "INV-1"}, [2]string{"W2", "INV-2"})
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "PD", Name: "dist", Launch: fund.MustNAV("10.0000")}); err != nil {
		t.Fatal(err)
	}
	if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PD", From: day("2026-08-20"), AUMRatePct: pct("36.5")}); err != nil {
		t.Fatal(err)
	}
	e.contribute("PD", "W1", "c1", "500.00")
	e.contribute("PD", "W2", "c2", "500.00")
	e.nav("PD", "2026-08-20")
	if r := e.nav("PD", "2026-08-21"); r.NAV.String() != "9.9882" || r.ValueAfter == nil || r.ValueAfter.String() != "996.47" {
		t.Fatalf("21 Aug %+v", r)
	}
	if inv, _, err := e.pools.BillFees(e.ctx, "PD", day("2026-08-20"), day("2026-08-21"), false); err != nil || inv.Total.String() != "3.53" {
		t.Fatalf("bill %s, %v", inv.Total, err)
	}
	if err := e.pools.SetReinvest(e.ctx, "PD", "W2", true); err != nil {
		t.Fatal(err)
	}
	d, err := e.pools.Distribute(e.ctx, "PD", day("2026-08-21"), fund.MustAmount("100.00"))
	if err != nil {
		t.Fatal(err)
	}
	if d.NAV.String() != "8.9647" || len(d.Shares) != 2 || d.Shares[1].Reinvested == nil || d.Shares[1].Reinvested.String() != "5.577" {
		t.Errorf("distribution ex-NAV %s, shares %+v; want 8.9647 and W2 reinvesting 5.577 units", d.NAV, d.Shares)
	}
}

// A bill the pool's cash cannot pay: the pool sells holdings FIFO through
// an ordinary redemption order and the bill is paid from its proceeds. By
// hand: W1's 1,000.00 on 20 Aug buys 100.000 units and is invested 60/40:
// A 600.00 − 0.03 stamp duty = 599.97 at 10.0000 = 59.997 units, B 400.00
// − 0.02 = 399.98 at 20.0000 = 19.999 units; cash 0.00. Terms 36.5 % from
// 24 Aug. Mon 24 Aug (A 11, B 19): A 659.967 → 659.97, B 379.981 →
// 379.98, AUM 1,039.95; the day's fee 1,039.95 / 1,000 = 1.03995 → 1.03,
// GST 0.1854 → 0.19, owed 1.22; NAV (1,039.95 − 1.22) / 100 = 10.3873.
// The bill of 24 Aug: 1.03 + GST 0.19 = 1.22, cash 0.00: sell 1.22 of A (the oldest lots, 21
// Aug, A before B), redeemed on 25 Aug at 11.0000: 1.22 / 11 = 0.1109… →
// 0.111 units (up: the amount is paid), 1.22 paid out. Before the payout
// is swept, the 25th's NAV counts it: A 59.886 × 11 = 658.746 → 658.75, B
// 379.98, payout 1.22: 1,039.95 as before; fee 1,038.73 / 1,000 = 1.03873
// → 1.03 + GST 0.19, owed 2.44, NAV (1,039.95 − 2.44) / 100 = 10.3751.
// Billed again, the payout comes into the cash and pays the invoice: cash
// 0.00, owed 2.44 − 1.22 = 1.22 (the 25th's, not billed).
func TestPoolFeeBillSellsHoldings(t *testing.T) {
	e := investEnv(t)
	e.contribute("P3", "W1", "c1", "1000.00")
	e.clock = moneytest.IST("2026-08-20T21:00:00+05:30")
	e.job("2026-08-20")
	e.db.NAV("A", "2026-08-21", "10.0000")
	e.db.NAV("B", "2026-08-21", "20.0000")
	e.allot()
	if got := e.db.Str(`SELECT string_agg(scheme_code || '=' || units::numeric(24,3), ',' ORDER BY scheme_code) || ' ' || (SELECT cash FROM pools WHERE id = 'P3') FROM holdings WHERE folio_no = 'F-P'`); got != "A=59.997,B=19.999 0.00" {
		t.Fatalf("holdings and cash %s", got)
	}
	if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "P3", From: day("2026-08-24"), AUMRatePct: pct("36.5")}); err != nil {
		t.Fatal(err)
	}
	e.db.NAV("A", "2026-08-24", "11.0000")
	e.db.NAV("B", "2026-08-24", "19.0000")
	// The latest NAVs the sale's plan values the lots at (nav-ingest keeps
	// them; wallet fees from units read the same).
	e.db.Exec(`INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
		VALUES ('A', '2026-08-24', 11, 't', 't', 1), ('B', '2026-08-24', 19, 't', 't', 1)`)
	e.clock = moneytest.IST("2026-08-24T21:00:00+05:30")
	if r := e.nav("P3", "2026-08-24"); r.NAV.String() != "10.3873" || r.FeeAccrued.String() != "1.22" {
		t.Fatalf("24 Aug: NAV %s accrued %s", r.NAV, r.FeeAccrued)
	}
	inv, created, err := e.pools.BillFees(e.ctx, "P3", day("2026-08-24"), day("2026-08-24"), false)
	if err != nil || !created || inv.Status != "due" || inv.Total.String() != "1.22" {
		t.Fatalf("bill: %s %s created %v, %v", inv.Status, inv.Total, created, err)
	}
	if got := e.db.Str(`SELECT string_agg(o.id || ' ' || o.kind || ' ' || o.scheme_code || ' ' || o.amount || ' ' || o.status, ', ') FROM orders o WHERE o.kind = 'redemption'`); got != "PFEE-P3-2026-08-24-2026-08-24-R1 redemption A 1.22 pending_nav" {
		t.Errorf("sale orders %s", got)
	}
	e.db.NAV("A", "2026-08-25", "11.0000")
	e.db.NAV("B", "2026-08-25", "19.0000")
	e.clock = moneytest.IST("2026-08-25T21:00:00+05:30")
	e.allot()
	if got := e.db.Str(`SELECT units::numeric(24,3) || ' ' || net_amount FROM ledger_transactions WHERE order_id = 'PFEE-P3-2026-08-24-2026-08-24-R1'`); got != "0.111 1.22" {
		t.Errorf("the sale's redemption %s, want 0.111 units paying 1.22", got)
	}
	if r := e.nav("P3", "2026-08-25"); r.NAV.String() != "10.3751" || r.FeeAccrued.String() != "2.44" {
		t.Errorf("25 Aug, the payout not swept: NAV %s accrued %s, want 10.3751 2.44", r.NAV, r.FeeAccrued)
	}
	// The next period while 24 Aug's invoice is due: refused (its sale is
	// planned on the same lots, review M3). A run over all pools for 25
	// Aug skips P3 with that reason and its pass over the due invoices
	// sweeps the payout and pays 24 Aug's.
	if _, _, err := e.pools.BillFees(e.ctx, "P3", day("2026-08-25"), day("2026-08-25"), false); !errors.Is(err, pool.ErrConflict) || !strings.Contains(err.Error(), "is due") {
		t.Errorf("the next period while one is due: %v", err)
	}
	res, err := e.pools.BillAllFees(e.ctx, day("2026-08-25"), day("2026-08-25"), false)
	if err != nil || res.Paid != 1 || res.Billed != 0 || len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Reason, "is due") {
		t.Fatalf("run for 25 Aug: %+v, %v", res, err)
	}
	inv, created, err = e.pools.BillFees(e.ctx, "P3", day("2026-08-24"), day("2026-08-24"), false)
	if err != nil || created || inv.Status != "charged" {
		t.Fatalf("billed again: %s created %v, %v", inv.Status, created, err)
	}
	if got := e.db.Str(`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'P3'`); got != "0.00 1.22" {
		t.Errorf("pool after the sale %s, want 0.00 1.22", got)
	}
	if got := e.db.Str(`SELECT (SELECT count(*) FROM wallet_transactions WHERE kind = 'pool_fee_sale') || ' ' || (SELECT count(*) FROM wallet_transactions WHERE kind = 'pool_fee')
		|| ' ' || (SELECT count(*) FROM outbox WHERE topic = 'fee.charged')`); got != "1 1 1" {
		t.Errorf("sale, payment, event counts %s", got)
	}
	// Once more: nothing moves.
	if _, _, err := e.pools.BillFees(e.ctx, "P3", day("2026-08-24"), day("2026-08-24"), false); err != nil {
		t.Fatal(err)
	}
	if got := e.db.Str(`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'P3'`); got != "0.00 1.22" {
		t.Errorf("after billing once more %s", got)
	}
}

// The high-water mark starts where the performance terms took effect, by
// hand (review H1). W1 puts 1,000.00 in at the launch NAV 10.0000: 100.000
// units; the folio then holds 10.000 units of S1.
//   - Fri 21 Aug, S1 50.0000: NAV (500.00 + 1,000.00) / 100 = 15.0000.
//     Terms 20 % of the gain from Mon 24 Aug: the mark starts at 15.0000.
//   - 31 Aug, S1 55.0000: NAV 15.5000; gain 0.5000 × 100 = 50.00, 20 % =
//     10.00, GST 1.80, total 11.80 (from the launch 10.0000 it would be
//     110.00); cash 988.20, mark 15.5000.
//   - 0 % from 1 Sep; 30 Sep, S1 70.0000: NAV (700.00 + 988.20) / 100 =
//     16.8820; September billed at 0 %: nothing. 20 % again from 1 Oct:
//     the mark re-bases to 16.8820.
//   - 30 Oct, S1 72.0000: NAV 17.0820; gain 0.2000 × 100 = 20.00, 20 % =
//     4.00, GST 0.72, total 4.72 (over the old 15.5000 mark: 31.64).
func TestPoolPerformanceMarkStartsWithTheTerms(t *testing.T) {
	e := newEnv(t)
	e.fund(100000, [2]string{"W1", "INV-1"})
	e.db.Exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F-P6', 'INV-P')`)
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "P6", Name: "perf", Launch: fund.MustNAV("10.0000"), Folio: "F-P6"}); err != nil {
		t.Fatal(err)
	}
	e.contribute("P6", "W1", "c1", "1000.00")
	e.nav("P6", "2026-08-20")
	e.db.Exec(`INSERT INTO holdings (folio_no, scheme_code, units) VALUES ('F-P6', 'S1', 10.000)`)
	e.db.NAV("S1", "2026-08-21", "50.0000")
	if r := e.nav("P6", "2026-08-21"); r.NAV.String() != "15.0000" {
		t.Fatalf("21 Aug NAV %s, want 15.0000", r.NAV)
	}
	for _, x := range [][2]string{{"2026-08-24", "20"}, {"2026-09-01", "0"}, {"2026-10-01", "20"}} {
		if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "P6", From: day(x[0]), AUMRatePct: pct("0"), PerfPct: pct(x[1])}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ from, to, s1, nav, perf, total, mark string }{
		{"2026-08-24", "2026-08-31", "55.0000", "15.5000", "10.00", "11.80", "15.5000"},
		{"2026-10-01", "2026-10-30", "72.0000", "17.0820", "4.00", "4.72", "17.0820"},
	} {
		if c.from == "2026-10-01" {
			e.db.NAV("S1", "2026-09-30", "70.0000")
			if r := e.nav("P6", "2026-09-30"); r.NAV.String() != "16.8820" {
				t.Fatalf("30 Sep NAV %s, want 16.8820", r.NAV)
			}
			// September at 0 %: billed (periods are contiguous), nothing.
			if inv, _, err := e.pools.BillFees(e.ctx, "P6", day("2026-09-01"), day("2026-09-30"), true); err != nil || inv.Total.String() != "0.00" {
				t.Fatalf("September: %s, %v", inv.Total, err)
			}
		}
		e.db.NAV("S1", c.to, c.s1)
		if r := e.nav("P6", c.to); r.NAV.String() != c.nav {
			t.Fatalf("%s NAV %s, want %s", c.to, r.NAV, c.nav)
		}
		inv, _, err := e.pools.BillFees(e.ctx, "P6", day(c.from), day(c.to), true)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := inv.PerfFee.String()+" "+inv.Total.String(), c.perf+" "+c.total; got != want {
			t.Errorf("%s..%s: fee, total %s, want %s", c.from, c.to, got, want)
		}
		if got := e.db.Str(`SELECT hwm_nav::text FROM pool_fee_hwm WHERE pool_id = 'P6'`); got != c.mark {
			t.Errorf("%s: mark %s, want %s", c.to, got, c.mark)
		}
	}
	// Crystallising 31 Oct..1 Nov after the NAV of Mon 2 Nov is priced:
	// billed (review r35 H2; it was refused, and the period unbillable),
	// at the NAV on or before 1 Nov, 30 Oct's 17.0820, the mark: no
	// performance fee (2 Nov's higher NAV is not counted).
	e.db.NAV("S1", "2026-11-02", "72.0000")
	e.nav("P6", "2026-11-02")
	inv, _, err := e.pools.BillFees(e.ctx, "P6", day("2026-10-31"), day("2026-11-01"), true)
	if err != nil || inv.PerfFee.String() != "0.00" || inv.Total.String() != "0.00" {
		t.Errorf("crystallised after a later NAV: %s %s, %v", inv.PerfFee, inv.Total, err)
	}
	if n := e.db.Num(`SELECT count(*) FROM pool_fee_invoices WHERE pool_id = 'P6'`); n != 4 {
		t.Errorf("%d invoices, want 4", n)
	}
}

// Billing periods follow each other and cover every accrued day; terms
// cannot be dated into days already accrued; the first accrual starts at
// max(terms' from, last NAV + 1) (review M4, M6). By hand: W1's 1,000.00
// on 20 Aug at 10.0000: 100.000 units. NAVs of 20 and 21 Aug run with no
// terms. Terms from 20 Aug are refused (priced through 21 Aug, review
// r35 L3); 36.5 % a year (1.00 a day on 1,000.00) from 22 Aug: Mon 24
// Aug's NAV accrues 22..24 Aug (not only 24 Aug): 3 × 1.00 = 3.00, GST 0.54, owed 3.54; NAV 996.46 / 100 = 9.9646.
// Terms from 24 Aug are refused (accrued through 24 Aug), from 25 Aug
// taken. A bill to 25 Aug is refused (accrued through 24 Aug only: on the
// old code it billed and 25 Aug's accrual fell between periods); 20..24
// Aug bills 3.00 + 0.54 = 3.54; 26..28 Aug is refused (the next period
// starts 25 Aug).
func TestPoolFeePeriodsAreContiguous(t *testing.T) {
	e := newEnv(t)
	e.fund(100000, [2]string{"W1", "INV-1"})
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "PC", Name: "periods", Launch: fund.MustNAV("10.0000")}); err != nil {
		t.Fatal(err)
	}
	e.contribute("PC", "W1", "c1", "1000.00")
	e.nav("PC", "2026-08-20")
	e.nav("PC", "2026-08-21")
	terms := func(from string) error {
		return e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PC", From: day(from), AUMRatePct: pct("36.5")})
	}
	// Dated on or before the last NAV: refused though nothing is accrued
	// (review r35 L3; the old code took it and dropped 20..21 Aug).
	if err := terms("2026-08-20"); !errors.Is(err, pool.ErrBackdatedTerms) || !strings.Contains(err.Error(), "priced through 2026-08-21") {
		t.Errorf("terms from a priced day: %v", err)
	}
	if err := terms("2026-08-22"); err != nil {
		t.Fatal(err)
	}
	r := e.nav("PC", "2026-08-24")
	if r.Accrual == nil || r.Accrual.From.String() != "2026-08-22" || r.Accrual.Fee.String() != "3.00" || r.FeeAccrued.String() != "3.54" || r.NAV.String() != "9.9646" {
		t.Fatalf("24 Aug: NAV %s owed %s accrual %+v; want 22..24 Aug 3.00, owed 3.54, NAV 9.9646", r.NAV, r.FeeAccrued, r.Accrual)
	}
	if err := terms("2026-08-24"); !errors.Is(err, pool.ErrBackdatedTerms) || !strings.Contains(err.Error(), "from 2026-08-25 or later") {
		t.Errorf("terms from an accrued day: %v", err)
	}
	if err := terms("2026-08-25"); err != nil {
		t.Errorf("terms from the next day: %v", err)
	}
	if _, _, err := e.pools.BillFees(e.ctx, "PC", day("2026-08-20"), day("2026-08-25"), false); !errors.Is(err, pool.ErrNotAccrued) || !strings.Contains(err.Error(), "through 2026-08-24") {
		t.Errorf("a bill past the accruals: %v", err)
	}
	inv, _, err := e.pools.BillFees(e.ctx, "PC", day("2026-08-20"), day("2026-08-24"), false)
	if err != nil || inv.Total.String() != "3.54" {
		t.Fatalf("bill 20..24 Aug: %s, %v", inv.Total, err)
	}
	if _, _, err := e.pools.BillFees(e.ctx, "PC", day("2026-08-26"), day("2026-08-28"), false); !errors.Is(err, pool.ErrConflict) || !strings.Contains(err.Error(), "starts 2026-08-25") {
		t.Errorf("a gap between periods: %v", err)
	}
	if got := e.db.Str(`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'PC'`); got != "996.46 0.00" {
		t.Errorf("pool %s, want 996.46 0.00", got)
	}
}

// A due invoice's performance fee and GST are in the NAV until paid
// (review r35 M2), by hand. investEnv: W1's 1,000.00 at 10.0000 on 20
// Aug, 100 units, invested on 21 Aug in A 59.997 and B 19.999 units, cash
// 0.00. Terms from 21 Aug: 20 % performance, no AUM fee; the mark starts
// at 20 Aug's 10.0000.
//   - Mon 24 Aug, A 11.0000, B 19.0000: 659.967 → 659.97 + 379.981 →
//     379.98 = 1,039.95; NAV 10.3995. Crystallised 21..24 Aug: gain
//     1,039.95 − 1,000.00 = 39.95, 20 % = 7.99, GST 1.4382 → 1.44, total
//     9.43; no cash, so the invoice is due and A is sold for 9.43.
//   - Provisioned: the pool owes 9.43 (fee_accrued). W1's withdrawal of
//     all 100 units on 25 Aug is refused (fees unpaid), not only for the
//     cash. 25 Aug, same NAVs: NAV (1,039.95 − 9.43) / 100 = 10.3052 (the
//     old code: 10.3995). 26 Aug, the sale not allotted: W2's 1,040.00
//     buys 1,040.00 / 10.3052 = 100.9199… → 100.919 units (the old code:
//     100.004, so W2 paid part of W1's fee).
//   - The sale is allotted (9.43) and the invoice paid: fee_accrued 0.00,
//     cash 6.00 (W2's money less its purchases); the journal balances.
func TestPoolDueInvoiceIsInTheNAV(t *testing.T) { testDueInvoice(t, false) }

// The provision of a due invoice is released when it is cancelled
// (releaseDue, in pool fees cancel): 9.43 back to 0.00, once.
func TestPoolDueInvoiceProvisionReleased(t *testing.T) { testDueInvoice(t, true) }

func testDueInvoice(t *testing.T, release bool) {
	e := investEnv(t)
	e.contribute("P3", "W1", "c1", "1000.00")
	e.clock = moneytest.IST("2026-08-20T21:00:00+05:30")
	e.job("2026-08-20")
	e.db.NAV("A", "2026-08-21", "10.0000")
	e.db.NAV("B", "2026-08-21", "20.0000")
	e.allot()
	if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "P3", From: day("2026-08-21"), AUMRatePct: pct("0"), PerfPct: pct("20")}); err != nil {
		t.Fatal(err)
	}
	e.db.NAV("A", "2026-08-24", "11.0000")
	e.db.NAV("B", "2026-08-24", "19.0000")
	e.db.Exec(`INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
		VALUES ('A', '2026-08-24', 11, 't', 't', 1), ('B', '2026-08-24', 19, 't', 't', 1)`)
	e.clock = moneytest.IST("2026-08-24T21:00:00+05:30")
	if r := e.nav("P3", "2026-08-24"); r.NAV.String() != "10.3995" {
		t.Fatalf("24 Aug: NAV %s, want 10.3995", r.NAV)
	}
	inv, _, err := e.pools.BillFees(e.ctx, "P3", day("2026-08-21"), day("2026-08-24"), true)
	if err != nil || inv.Status != "due" || inv.PerfFee.String()+" "+inv.GST.String()+" "+inv.Total.String() != "7.99 1.44 9.43" {
		t.Fatalf("bill: %s %s %s %s, %v; want due 7.99 1.44 9.43", inv.Status, inv.PerfFee, inv.GST, inv.Total, err)
	}
	if got := e.db.Str(`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'P3'`); got != "0.00 9.43" {
		t.Errorf("pool with the invoice due: %s, want 0.00 9.43", got)
	}
	e.checkJournal()
	if release {
		// Cancelling the due invoice (pool fees cancel) reverses the
		// provision, once: the pool owes nothing (no AUM fee), the
		// performance fee and its GST are back out of income and the GST
		// provision. releaseDue again (by the invoice's ref) posts nothing.
		ev, err := e.pools.CancelFeeInvoice(e.ctx, inv.ID, "waived")
		if err != nil || ev.PerfFeeWaived.String() != "7.99" || ev.Released.String() != "0.00" {
			t.Fatalf("cancel: %+v, %v; want 7.99 waived, 0.00 released", ev, err)
		}
		if got := e.db.Str(`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'P3'`); got != "0.00 0.00" {
			t.Errorf("cancelled: %s, want 0.00 0.00 (the provision released)", got)
		}
		for range 2 {
			if err := e.pools.ReleaseDue(e.ctx, "P3", inv.ID); err != nil {
				t.Fatal(err)
			}
		}
		for q, want := range map[string]string{
			`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'P3'`: "0.00 0.00",
			`SELECT coalesce(sum(amount), 0)::numeric(18,2)::text FROM wallet_postings WHERE account IN ('pool_fee_accrued:P3', 'fee_income:managed', 'tax:gst_accrued')`: "0.00",
			`SELECT count(*)::text FROM wallet_postings WHERE account = 'pool_fee_accrued:P3'`:                                                                            "2",
			`SELECT status FROM pool_fee_invoices WHERE pool_id = 'P3'`:                                                                                                   "cancelled",
		} {
			if got := e.db.Str(q); got != want {
				t.Errorf("released: %s: %s, want %s", q, got, want)
			}
		}
		e.checkJournal()
		return
	}
	for _, d := range []string{"2026-08-25", "2026-08-26"} {
		e.db.NAV("A", d, "11.0000")
		e.db.NAV("B", d, "19.0000")
	}
	e.clock = moneytest.IST("2026-08-25T10:00:00+05:30")
	if _, err := e.pools.Withdraw(e.ctx, "P3", "W1", "w1", fund.MustUnits("100.000", 3)); err != nil {
		t.Fatal(err)
	}
	if r := e.nav("P3", "2026-08-25"); r.NAV.String() != "10.3052" || r.FeeAccrued.String() != "9.43" || r.Refused != 1 {
		t.Errorf("25 Aug: NAV %s accrued %s refused %d, want 10.3052 9.43 1", r.NAV, r.FeeAccrued, r.Refused)
	}
	if got := e.db.Str(`SELECT status || ' ' || reason FROM pool_requests WHERE id = 'w1'`); !strings.Contains(got, "refused") || !strings.Contains(got, "fees unpaid") {
		t.Errorf("W1's withdrawal: %q, want refused with the fees unpaid", got)
	}
	e.clock = moneytest.IST("2026-08-26T10:00:00+05:30")
	e.contribute("P3", "W2", "c2", "1040.00")
	if r := e.nav("P3", "2026-08-26"); r.NAV.String() != "10.3052" {
		t.Errorf("26 Aug: NAV %s, want 10.3052", r.NAV)
	}
	if got := e.db.Str(`SELECT units::text FROM pool_requests WHERE id = 'c2'`); got != "100.919" {
		t.Errorf("W2's 1,040.00 bought %s units, want 100.919", got)
	}
	e.clock = moneytest.IST("2026-08-26T21:00:00+05:30")
	e.allot()
	payout := e.db.Str(`SELECT net_amount::text FROM ledger_transactions WHERE order_id = 'PFEE-P3-2026-08-21-2026-08-24-R1'`)
	if inv, _, err = e.pools.BillFees(e.ctx, "P3", day("2026-08-21"), day("2026-08-24"), true); err != nil || inv.Status != "charged" {
		t.Fatalf("paid: %s, %v", inv.Status, err)
	}
	// W2's 1,040.00 went into purchases at 26 Aug's batch: A 60 % = 624.00,
	// B 40 % = 416.00 → 410.00 (multiple 10.00): 6.00 stays; the sale pays
	// 9.43 in and the invoice 9.43 out.
	if got := payout + " " + e.db.Str(`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'P3'`); got != "9.43 6.00 0.00" {
		t.Errorf("payout, pool cash and fee accrued once paid: %s, want 9.43 6.00 0.00", got)
	}
	e.checkJournal()
}

// The performance fee counts distributions (review r35 M4), by hand. Pool
// PR: 20 % of the gain, no AUM fee, from 20 Aug (the mark starts at the
// launch NAV 10.0000). W1's 1,000.00 at 10.0000 on 20 Aug: 100 units; the
// folio then holds 10 units of S1.
//   - Fri 21 Aug, S1 20.0000: NAV (200.00 + 1,000.00) / 100 = 12.0000;
//     200.00 distributed on it, 2.00 a unit: cash 800.00.
//   - Mon 24 Aug, S1 20.0000: NAV (200.00 + 800.00) / 100 = 10.0000. The
//     bill 20..24 Aug crystallises on the total return 10.0000 + 2.0000 =
//     12.0000: (12.0000 − 10.0000) × 100 = 200.00, 20 % = 40.00, GST 7.20,
//     47.20 (the old code: 0.00, the gain paid out never charged); cash
//     752.80; mark 12.0000 (on the total-return scale).
//   - Tue 25 Aug, S1 44.7200: NAV (447.20 + 752.80) / 100 = 12.0000, a
//     real gain of 2.0000 a unit since the bill: total return 14.0000,
//     (14.0000 − 12.0000) × 100 = 200.00 → 40.00 + 7.20 = 47.20; mark
//     14.0000. (Had the mark been 12.0000 on the NAV scale, this gain
//     would never be charged.)
func TestPoolPerformanceFeeCountsDistributions(t *testing.T) {
	e := newEnv(t)
	e.fund(100000, [2]string{"W1", "INV-1"})
	e.db.Exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F-PR', 'INV-P')`)
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "PR", Name: "dist", Launch: fund.MustNAV("10.0000"), Folio: "F-PR"}); err != nil {
		t.Fatal(err)
	}
	if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PR", From: day("2026-08-20"), AUMRatePct: pct("0"), PerfPct: pct("20")}); err != nil {
		t.Fatal(err)
	}
	e.contribute("PR", "W1", "c1", "1000.00")
	e.nav("PR", "2026-08-20")
	e.db.Exec(`INSERT INTO holdings (folio_no, scheme_code, units) VALUES ('F-PR', 'S1', 10.000)`)
	e.db.NAV("S1", "2026-08-21", "20.0000")
	e.db.NAV("S1", "2026-08-24", "20.0000")
	e.db.NAV("S1", "2026-08-25", "44.7200")
	if r := e.nav("PR", "2026-08-21"); r.NAV.String() != "12.0000" {
		t.Fatalf("21 Aug: NAV %s, want 12.0000", r.NAV)
	}
	if _, err := e.pools.Distribute(e.ctx, "PR", day("2026-08-21"), fund.MustAmount("200.00")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ from, to, nav, total, cash, mark string }{
		{"2026-08-20", "2026-08-24", "10.0000", "47.20", "752.80", "12.0000"},
		{"2026-08-25", "2026-08-25", "12.0000", "47.20", "705.60", "14.0000"},
	} {
		if r := e.nav("PR", c.to); r.NAV.String() != c.nav {
			t.Fatalf("%s: NAV %s, want %s", c.to, r.NAV, c.nav)
		}
		inv, _, err := e.pools.BillFees(e.ctx, "PR", day(c.from), day(c.to), true)
		if err != nil {
			t.Fatal(err)
		}
		if got := inv.PerfFee.String() + " " + inv.GST.String() + " " + inv.Total.String(); got != "40.00 7.20 "+c.total {
			t.Errorf("%s..%s: %s, want 40.00 7.20 %s", c.from, c.to, got, c.total)
		}
		if got := e.db.Str(`SELECT p.cash || ' ' || h.hwm_nav FROM pools p JOIN pool_fee_hwm h ON h.pool_id = p.id`); got != c.cash+" "+c.mark {
			t.Errorf("after %s: cash and mark %s, want %s %s", c.to, got, c.cash, c.mark)
		}
	}
	e.checkJournal()
}

// A change of the performance % is refused until the gain at the old
// rate is crystallised (review r35 M3), by hand. Pool PT: 10 % from 20
// Aug (the mark starts at the launch NAV 10.0000). W1's 1,000.00 at
// 10.0000: 100 units; the folio then holds 10 units of S1.
//   - Fri 21 Aug, S1 20.0000: NAV (200.00 + 1,000.00) / 100 = 12.0000.
//   - 20 % from 24 Aug: refused (the old code took it, and billed the
//     whole gain at 20 %: 40.00 + 7.20), and so is 0 % (it billed
//     nothing).
//   - Crystallised 20..23 Aug at 10 %: (12.0000 − 10.0000) × 100 = 200.00
//     → 20.00 + GST 3.60 = 23.60; cash 976.40; mark 12.0000. Now 20 %
//     from 24 Aug is taken.
//   - Mon 24 Aug, S1 20.0000: NAV (200.00 + 976.40) / 100 = 11.7640,
//     below the mark: 24 Aug crystallised at 20 % bills 0.00.
func TestPoolPerformanceRateChangeNeedsACrystallisation(t *testing.T) {
	e := newEnv(t)
	e.fund(100000, [2]string{"W1", "INV-1"})
	e.db.Exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F-PT', 'INV-P')`)
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "PT", Name: "rate", Launch: fund.MustNAV("10.0000"), Folio: "F-PT"}); err != nil {
		t.Fatal(err)
	}
	if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PT", From: day("2026-08-20"), AUMRatePct: pct("0"), PerfPct: pct("10")}); err != nil {
		t.Fatal(err)
	}
	e.contribute("PT", "W1", "c1", "1000.00")
	e.nav("PT", "2026-08-20")
	e.db.Exec(`INSERT INTO holdings (folio_no, scheme_code, units) VALUES ('F-PT', 'S1', 10.000)`)
	e.db.NAV("S1", "2026-08-21", "20.0000")
	e.db.NAV("S1", "2026-08-24", "20.0000")
	if r := e.nav("PT", "2026-08-21"); r.NAV.String() != "12.0000" {
		t.Fatalf("21 Aug: NAV %s, want 12.0000", r.NAV)
	}
	for _, rate := range []string{"20", "0"} {
		err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PT", From: day("2026-08-24"), AUMRatePct: pct("0"), PerfPct: pct(rate)})
		if !errors.Is(err, pool.ErrPerfChangeNotCrystallised) || !strings.Contains(err.Error(), "crystallised through 2026-08-23 first") {
			t.Errorf("%s %% from 24 Aug before a crystallisation: %v", rate, err)
		}
	}
	inv, _, err := e.pools.BillFees(e.ctx, "PT", day("2026-08-20"), day("2026-08-23"), true)
	if err != nil || inv.PerfFee.String()+" "+inv.GST.String()+" "+inv.Total.String() != "20.00 3.60 23.60" {
		t.Fatalf("crystallised at 10 %%: %s %s %s, %v", inv.PerfFee, inv.GST, inv.Total, err)
	}
	if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PT", From: day("2026-08-24"), AUMRatePct: pct("0"), PerfPct: pct("20")}); err != nil {
		t.Fatalf("20 %% after the crystallisation: %v", err)
	}
	if r := e.nav("PT", "2026-08-24"); r.NAV.String() != "11.7640" {
		t.Fatalf("24 Aug: NAV %s, want 11.7640", r.NAV)
	}
	if inv, _, err = e.pools.BillFees(e.ctx, "PT", day("2026-08-24"), day("2026-08-24"), true); err != nil || inv.Total.String() != "0.00" {
		t.Errorf("24 Aug at 20 %%: %s, %v", inv.Total, err)
	}
	if got := e.db.Str(`SELECT p.cash || ' ' || h.hwm_nav FROM pools p JOIN pool_fee_hwm h ON h.pool_id = p.id`); got != "976.40 12.0000" {
		t.Errorf("cash and mark %s, want 976.40 12.0000", got)
	}
}

// Accruals end at the quarter's end, and the last business day of the
// calendar's year needs no next year's calendar (review r35 L1); terms
// dated on or before the pool's last NAV are refused even with no accrual
// yet (review r35 L3); a billing conflict says what it is. By hand: pool
// PY, W1's 1,000.00 at 10.0000 on Mon 28 Dec 2026: 100 units.
//   - Terms from 28 Dec (priced already): refused, naming 29 Dec. From 29
//     Dec: 36.5 % (1.00 a day on 1,000.00).
//   - Thu 31 Dec's NAV (the calendar ends with 2026): 29..31 Dec, not to
//     Sun 3 Jan 2027: 29 and 30 Dec carry 28 Dec's value after its
//     request, 1,000.00; 31 Dec 1,000.00: 3 × 1.00 = 3.00, GST 0.54,
//     owed 3.54; NAV (1,000.00 − 3.54) / 100 = 9.9646. (The old code
//     failed: no 2027 calendar for the next business day.)
//   - The bill 29..31 Dec: 3.00 + 0.54 = 3.54. Billing 29..30 Dec after
//     it: a conflict (exit 2) naming the invoice, not "request id already
//     used differently".
func TestPoolFeeAccrualEndsAtTheQuarter(t *testing.T) {
	e := newEnv(t)
	e.fund(100000, [2]string{"W1", "INV-1"})
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "PY", Name: "year end", Launch: fund.MustNAV("10.0000")}); err != nil {
		t.Fatal(err)
	}
	e.clock = moneytest.IST("2026-12-28T10:00:00+05:30")
	e.contribute("PY", "W1", "c1", "1000.00")
	e.nav("PY", "2026-12-28")
	err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PY", From: day("2026-12-28"), AUMRatePct: pct("36.5")})
	if !errors.Is(err, pool.ErrBackdatedTerms) || !strings.Contains(err.Error(), "date them from 2026-12-29") {
		t.Errorf("terms from the last NAV's day: %v", err)
	}
	if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PY", From: day("2026-12-29"), AUMRatePct: pct("36.5")}); err != nil {
		t.Fatal(err)
	}
	r := e.nav("PY", "2026-12-31")
	if r.NAV.String() != "9.9646" || r.FeeAccrued.String() != "3.54" || r.Accrual == nil || r.Accrual.From.String()+".."+r.Accrual.To.String() != "2026-12-29..2026-12-31" {
		t.Fatalf("31 Dec: NAV %s accrued %s accrual %+v; want 9.9646 3.54 29..31 Dec", r.NAV, r.FeeAccrued, r.Accrual)
	}
	inv, _, err := e.pools.BillFees(e.ctx, "PY", day("2026-12-29"), day("2026-12-31"), false)
	if err != nil || inv.AUMFee.String()+" "+inv.GST.String()+" "+inv.Total.String() != "3.00 0.54 3.54" {
		t.Fatalf("Q4's bill: %s %s %s, %v", inv.AUMFee, inv.GST, inv.Total, err)
	}
	_, _, err = e.pools.BillFees(e.ctx, "PY", day("2026-12-29"), day("2026-12-30"), false)
	if !errors.Is(err, pool.ErrConflict) || strings.Contains(err.Error(), "request id") || !strings.Contains(err.Error(), "was billed 2026-12-29..2026-12-31") {
		t.Errorf("another end from the same start: %v", err)
	}
}

// A big contribution on a Friday (review L1): the weekend's fee accrues
// on the pool's value after the day's requests, not before them. By hand,
// 36.5 % a year (0.1 % a day): W1 puts 100,000.00 in on Thu 20 Aug at
// 10.0000 (10,000 units; 20 Aug's AUM is 0, fee 0). Fri 21 Aug W2 puts
// 900,000.00 in:
//   - 21 Aug on the value before, 100,000.00: 100.00, GST 18.00; the NAV
//     deducts 118.00: (100,000.00 − 118.00) / 10,000 = 9.9882.
//   - 22..23 Aug on the value after W2's money, 1,000,000.00 − 118.00 =
//     999,882.00: 2 × 999.882 = 1,999.764; the row 2,099.764 → 2,099.76,
//     GST 377.9568 → 377.96: owed 2,477.72; value after 997,522.28. (The
//     old code accrued the weekend on 100,000.00: 300.00 + GST 54.00.)
//   - The bill of 20..21 Aug: 2,099.76 + GST 377.96 = 2,477.72.
func TestPoolFeeWeekendAccruesOnTheValueAfter(t *testing.T) {
	e := newEnv(t)
	e.fund(10000000, [2]string{"W1", "INV-1"})
	e.fund(90000000, [2]string{"W2", "INV-2"})
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "PW", Name: "weekend", Launch: fund.MustNAV("10.0000")}); err != nil {
		t.Fatal(err)
	}
	if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PW", From: day("2026-08-20"), AUMRatePct: pct("36.5")}); err != nil {
		t.Fatal(err)
	}
	e.contribute("PW", "W1", "c-W1", "100000.00")
	e.nav("PW", "2026-08-20")
	e.clock = moneytest.IST("2026-08-21T10:00:00+05:30")
	e.contribute("PW", "W2", "c-W2", "900000.00")
	r := e.nav("PW", "2026-08-21")
	if r.NAV.String() != "9.9882" || r.FeeAccrued.String() != "118.00" || r.Accrual == nil || r.Accrual.Fee.String() != "2099.76" ||
		r.Accrual.GST.String() != "377.96" || r.ValueAfter == nil || r.ValueAfter.String() != "997522.28" {
		t.Fatalf("21 Aug: NAV %s, deducted %s, accrual %+v, value after %v; want 9.9882, 118.00, 2099.76 + 377.96, 997522.28",
			r.NAV, r.FeeAccrued, r.Accrual, r.ValueAfter)
	}
	if got := e.db.Str(`SELECT fee_accrued::text FROM pools WHERE id = 'PW'`); got != "2477.72" {
		t.Errorf("pool owes %s, want 2477.72", got)
	}
	// Both runs were valued on 21 Aug, the weekend's on its value after
	// (review r35-poolfix L2: the old code said 22 Aug); the weekend's
	// days are carried.
	var runs []string
	for _, x := range r.Accrual.Runs {
		runs = append(runs, x.From.String()+".."+x.To.String()+" valued "+x.Valued.String()+" "+x.AUM.String())
	}
	if got, want := strings.Join(runs, "; "), "2026-08-21..2026-08-21 valued 2026-08-21 100000.00; 2026-08-22..2026-08-23 valued 2026-08-21 999882.00"; got != want {
		t.Errorf("runs %s, want %s", got, want)
	}
	if days := r.Accrual.Runs; len(days) == 2 {
		ex := managed.Accrual{Runs: days}.Expanded().Days
		if len(ex) != 3 || ex[0].Carried || !ex[1].Carried || !ex[2].Carried {
			t.Errorf("days %+v, want 21 Aug valued, 22 and 23 Aug carried", ex)
		}
	}
	// Analysts' facts of 21 Aug (review L2): the nav row (holdings 0.00,
	// purchases 0.00, cash 100,000.00 before W2's money, 10,000 units)
	// and the fee_accrued row the NAV deducted, 118.00: (0.00 + 0.00 +
	// 100,000.00 − 118.00) / 10,000 = 9.9882.
	facts, err := pgstore.Store{Pool: e.db.Read}.Facts(e.ctx, day("2026-08-21"), day("2026-08-21"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, f := range facts {
		rows = append(rows, f.Kind+" "+f.NAV.String()+" "+f.Units.String()+" "+f.Amount.String()+" "+f.Holdings.String()+" "+f.Cash.String())
	}
	if got, want := strings.Join(rows, "; "), "contribution 9.9882 90106.325 900000.00 0.00 0.00; fee_accrued 9.9882 10000.000 118.00 0.00 0.00; nav 9.9882 10000.000 0.00 0.00 100000.00"; got != want {
		t.Errorf("facts:\n%s\nwant\n%s", got, want)
	}
	inv, _, err := e.pools.BillFees(e.ctx, "PW", day("2026-08-20"), day("2026-08-21"), false)
	if err != nil || inv.AUMFee.String()+" "+inv.GST.String()+" "+inv.Total.String() != "2099.76 377.96 2477.72" {
		t.Fatalf("bill: %s + %s = %s, %v; want 2099.76 + 377.96 = 2477.72", inv.AUMFee, inv.GST, inv.Total, err)
	}
}

// A business day the NAV job skipped (review r35-poolfix L1: the case in
// TestPoolFeeAccruesInTheNAV holds only cash and no flows, so it cannot
// tell the values apart). A skipped day accrues on the last NAV's value
// after its requests, carried like a weekend: not on that NAV's AUM
// before its requests, nor on the next NAV's AUM. Two pools, 36.5 % a
// year (0.1 % a day), each as TestPoolFeeWeekendAccruesOnTheValueAfter:
// 100,000.00 in on Thu 20 Aug at 10.0000 (10,000 units), 900,000.00 in on
// Fri 21 Aug at 9.9882 (900,000.00 / 9.9882 = 90,106.3254… → 90,106.325
// units; 100,106.325 in all). Friday's NAV deducts 21 Aug's 100.00 + GST
// 18.00 on 100,000.00 (its AUM before W2's money); its weekend accrues on
// the value after, 999,882.00: owed 2,477.72, value after 1,000,000.00 −
// 2,477.72 = 997,522.28. Mon 24 Aug has no NAV; Tue 25 Aug's accrues 24
// and 25 Aug:
//   - PW holds only cash (the reviewer's case): Tuesday's AUM is
//     1,000,000.00 − 2,477.72 = 997,522.28. Mon on Friday's value after,
//     997,522.28 × 0.001 = 997.52228, and Tue 997.52228: 1,995.04456 →
//     1,995.04 (down), GST 359.1072 → 359.11 (half-up). Owed 2,477.72 +
//     2,354.15 = 4,831.87; NAV (1,000,000.00 − 4,831.87) / 100,106.325 =
//     9.94111… → 9.9411. Monday on Friday's AUM before its requests
//     (last.AUM, 100,000.00) would give 100.00 + 997.52228 → 1,097.52.
//   - PH's folio is handed 100.000 units of S1 after Friday's NAV (the
//     market's move, seeded), S1 100.0000 on Tuesday: Tuesday's AUM is
//     10,000.00 + 1,000,000.00 − 2,477.72 = 1,007,522.28, Monday still
//     997,522.28: 997.52228 + 1,007.52228 = 2,005.04456 → 2,005.04, GST
//     360.9072 → 360.91. Owed 2,477.72 + 2,365.95 = 4,843.67; NAV
//     (10,000.00 + 1,000,000.00 − 4,843.67) / 100,106.325 = 10.04088… →
//     10.0409. Monday on Tuesday's AUM would give 2 × 1,007.52228 →
//     2,015.04 (NAV 10.0408); on last.AUM 1,107.52.
func TestPoolFeeSkippedDayAccruesOnTheValueAfter(t *testing.T) {
	e := newEnv(t)
	e.db.Exec(`INSERT INTO investors (id) VALUES ('INV-4')`)
	e.fund(10000000, [2]string{"W1", "INV-1"}, [2]string{"W3", "INV-3"})
	e.fund(90000000, [2]string{"W2", "INV-2"}, [2]string{"W4", "INV-4"})
	e.db.Exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F-PH', 'INV-P')`)
	for _, p := range []pool.Pool{{ID: "PW", Name: "cash", Launch: fund.MustNAV("10.0000")}, {ID: "PH", Name: "held", Launch: fund.MustNAV("10.0000"), Folio: "F-PH"}} {
		if err := e.pools.Create(e.ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: p.ID, From: day("2026-08-20"), AUMRatePct: pct("36.5")}); err != nil {
			t.Fatal(err)
		}
	}
	e.contribute("PW", "W1", "c-W1", "100000.00")
	e.contribute("PH", "W3", "c-W3", "100000.00")
	e.nav("PW", "2026-08-20")
	e.nav("PH", "2026-08-20")
	e.clock = moneytest.IST("2026-08-21T10:00:00+05:30")
	e.contribute("PW", "W2", "c-W2", "900000.00")
	e.contribute("PH", "W4", "c-W4", "900000.00")
	for _, id := range []string{"PW", "PH"} {
		if r := e.nav(id, "2026-08-21"); r.NAV.String() != "9.9882" || r.ValueAfter == nil || r.ValueAfter.String() != "997522.28" {
			t.Fatalf("%s 21 Aug: NAV %s, value after %v; want 9.9882, 997522.28", id, r.NAV, r.ValueAfter)
		}
	}
	e.db.Exec(`INSERT INTO holdings (folio_no, scheme_code, units) VALUES ('F-PH', 'S1', 100.000)`)
	e.db.NAV("S1", "2026-08-25", "100.0000")
	e.clock = moneytest.IST("2026-08-25T10:00:00+05:30")
	for _, c := range []struct{ pool, fee, gst, owed, nav string }{
		{"PW", "1995.04", "359.11", "4831.87", "9.9411"},
		{"PH", "2005.04", "360.91", "4843.67", "10.0409"},
	} {
		r := e.nav(c.pool, "2026-08-25")
		if r.Accrual == nil || r.Accrual.From.String()+".."+r.Accrual.To.String() != "2026-08-24..2026-08-25" ||
			r.Accrual.Fee.String() != c.fee || r.Accrual.GST.String() != c.gst || r.FeeAccrued.String() != c.owed || r.NAV.String() != c.nav {
			t.Errorf("%s 25 Aug: accrual %+v, owed %s, NAV %s; want 24..25 Aug %s + GST %s, owed %s, NAV %s",
				c.pool, r.Accrual, r.FeeAccrued, r.NAV, c.fee, c.gst, c.owed, c.nav)
		}
	}
}
