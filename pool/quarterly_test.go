package pool_test

import (
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/pool"
)

// quarterPools sets up Q3 2026 (1 Jul..30 Sep) for the scheduled billing,
// every figure by hand (NAVs half-up to 4 places, each accrual's fee
// rounded down to the paisa, its GST 18 % half-up, the pool's fee_accrued
// = fee + GST, migration 062):
//   - PA: 1 % AUM from Thu 20 Aug. W1 puts 365,000.00 in at the launch
//     NAV 10.0000 (36,500 units). 20 Aug: AUM 0 (before the day's
//     requests), fee 0. Fri 21 Aug: 365,000.00 × 1 % / 365 = 10.00, GST
//     1.80: the NAV deducts 11.80: (365,000.00 − 11.80) / 36,500 =
//     9.99967… → 9.9997; the weekend accrues on the value after, 364,988.20
//     (review L1): 2 × 9.99967… ; the row 29.99935… → 29.99, GST 5.3982 →
//     5.40: owed 35.39, value after 364,964.61. 30 Sep (if navPA): 24
//     Aug..29 Sep, 37 days carrying 21 Aug's value after, and 30 Sep on
//     365,000.00 − 35.39: 38 × 364,964.61 / 36,500 = 379.96315… → 379.96,
//     GST 68.3928 → 68.39: 448.35. Accrued 35.39 + 448.35 = 483.74; NAV
//     (365,000.00 − 483.74) / 36,500 = 364,516.26 / 36,500 = 9.98674… →
//     9.9867.
//   - PB: 20 % performance fee, no AUM fee, folio F-PB. W2 puts 1,000.00
//     in at 10.0000 (100 units); the folio then holds 10 units of S1,
//     30.0000 on 30 Sep: NAV (300.00 + 1,000.00) / 100 = 13.0000.
//   - PC (if short): 1 % AUM, no folio. W3 puts 36,500.00 in (3,650
//     units). 21 Aug: 1.00 + GST 0.18 in the NAV; the weekend on 36,498.82:
//     the row 2.99993… → 2.99, GST 0.54: owed 3.53, value after 36,496.47.
//     W3 takes 3,649.500 units out on 30 Sep: 38 × 36,496.47 × 1 % / 365
//     = 37.99632… → 37.99, GST 6.8382 → 6.84: 44.83; accrued 48.36; NAV
//     36,451.64 / 3,650 = 9.98675068… → 9.9868; W3 is paid 3,649.5 ×
//     9.9868 = 36,446.8266 → 36,446.82 (down), leaving 53.18 in cash.
//     Under the old accrual (no GST in the NAV) PC was short at billing;
//     now the NAV already kept the GST back, so the cash covers the bill:
//     53.18 − 48.36 = 4.82.
func quarterPools(t *testing.T, navPA, short bool) *env {
	e := newEnv(t)
	e.fund(36500000, [2]string{"W1", "INV-1"})
	e.fund(100000, [2]string{"W2", "INV-2"})
	e.db.Exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F-PB', 'INV-P')`)
	ids := []string{"PA", "PB"}
	if short {
		e.fund(3650000, [2]string{"W3", "INV-3"})
		ids = append(ids, "PC")
	}
	for _, id := range ids {
		p := pool.Pool{ID: id, Name: id, Launch: fund.MustNAV("10.0000")}
		ft := pool.FeeTerms{Pool: id, From: day("2026-08-20"), AUMRatePct: pct("1")}
		if id == "PB" {
			p.Folio, ft.AUMRatePct, ft.PerfPct = "F-PB", pct("0"), pct("20")
		}
		if err := e.pools.Create(e.ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := e.pools.SetFeeTerms(e.ctx, ft); err != nil {
			t.Fatal(err)
		}
	}
	e.contribute("PA", "W1", "c-W1", "365000.00")
	e.contribute("PB", "W2", "c-W2", "1000.00")
	if short {
		e.contribute("PC", "W3", "c-W3", "36500.00")
	}
	for _, id := range ids {
		e.nav(id, "2026-08-20")
	}
	e.db.Exec(`INSERT INTO holdings (folio_no, scheme_code, units) VALUES ('F-PB', 'S1', 10.000)`)
	e.db.NAV("S1", "2026-09-30", "30.0000")
	if r := e.nav("PA", "2026-08-21"); r.NAV.String() != "9.9997" || r.FeeAccrued.String() != "11.80" {
		t.Fatalf("PA 21 Aug: NAV %s accrued %s, want 9.9997 11.80 (the weekend not yet)", r.NAV, r.FeeAccrued)
	}
	if short {
		if r := e.nav("PC", "2026-08-21"); r.FeeAccrued.String() != "1.18" {
			t.Fatalf("PC 21 Aug: accrued %s, want 1.18", r.FeeAccrued)
		}
		e.clock = moneytest.IST("2026-09-30T10:00:00+05:30")
		if _, err := e.pools.Withdraw(e.ctx, "PC", "W3", "w-W3", fund.MustUnits("3649.500", 3)); err != nil {
			t.Fatal(err)
		}
		if r := e.nav("PC", "2026-09-30"); r.NAV.String() != "9.9868" || r.FeeAccrued.String() != "48.36" {
			t.Fatalf("PC 30 Sep: NAV %s accrued %s, want 9.9868 48.36", r.NAV, r.FeeAccrued)
		}
	}
	if r := e.nav("PB", "2026-09-30"); r.NAV.String() != "13.0000" {
		t.Fatalf("PB 30 Sep: NAV %s, want 13.0000", r.NAV)
	}
	if navPA {
		e.navPA()
	}
	return e
}

func (e *env) navPA() {
	e.t.Helper()
	if r := e.nav("PA", "2026-09-30"); r.NAV.String() != "9.9867" || r.FeeAccrued.String() != "483.74" {
		e.t.Fatalf("PA 30 Sep: NAV %s accrued %s, want 9.9867 483.74", r.NAV, r.FeeAccrued)
	}
}

func (e *env) quarterRun(q *pool.QuarterBilling, at string) pool.QuarterRun {
	e.t.Helper()
	now := moneytest.IST(at)
	e.clock = now
	r, err := q.Run(e.ctx, now)
	if err != nil {
		e.t.Fatalf("run at %s: %v", at, err)
	}
	return r
}

func skipped(r pool.QuarterRun) string {
	var s []string
	for _, x := range r.Skipped {
		s = append(s, x.Pool+": "+x.Reason)
	}
	return strings.Join(s, "\n")
}

// The scheduled quarterly billing of pools, Q3 2026 crystallising the
// performance fee (CrystalliseMonth September), figures in quarterPools:
//   - 30 Sep 23:30 IST the quarter just finished is Q2: no pool has terms
//     by 30 Jun, nothing billed; Q3 is not touched.
//   - Thu 1 Oct (the first business day after 30 Sep) 06:00: PA's NAV of
//     30 Sep is not computed yet, so its last days are not accrued: PA is
//     reported and left for the next run. PB crystallises: gain (13.0000
//     − 10.0000) × 100 = 300.00, 20 % = 60.00, GST 10.80, total 70.80
//     from its cash: 929.20; mark 13.0000. PC's bill is 40.98 (2.99 +
//     37.99) + GST 18 % of 40.98 = 7.3764 → 7.38 = 48.36
//     (the provisioned 0.54 + 6.84 = 7.38 released) against 53.18 of
//     cash: charged, cash 4.82. Run total 70.80 + 48.36 = 119.16.
//   - PA's NAV of 30 Sep computed; 07:00: only PA is billed (PB, PC not
//     read again): 409.95 (29.99 + 379.96) + GST 73.791 → 73.79 =
//     483.74 (= its accrued 483.74: provisioned 5.40 + 68.39 = 73.79),
//     cash 365,000.00 − 483.74 = 364,516.26, fee_accrued 0.00.
//   - pool_fee transactions 70.80 + 48.36 + 483.74 = 602.90; tax:gst
//     10.80 + 7.38 + 73.79 = 91.97; 3 fee.charged events.
func TestPoolQuarterBillingOnSchedule(t *testing.T) {
	e := quarterPools(t, false, true)
	q := &pool.QuarterBilling{Pools: e.pools, Store: e.pools.Store.(pool.QuarterStore), CrystalliseMonth: time.September}

	r := e.quarterRun(q, "2026-09-30T23:30:00+05:30")
	if got := r.From.String() + " " + r.To.String() + " " + r.Status; got != "2026-04-01 2026-06-30 already_billed" {
		t.Errorf("30 Sep: %s", got)
	}

	r = e.quarterRun(q, "2026-10-01T06:00:00+05:30")
	if got := r.From.String() + " " + r.To.String() + " " + r.BillOn.String() + " " + r.Status; got != "2026-07-01 2026-09-30 2026-10-01 billed" || !r.Crystallised {
		t.Errorf("1 Oct: %s crystallised %v", got, r.Crystallised)
	}
	if r.Billed != 2 || r.Charged != 2 || r.Due != 0 || r.Total.String() != "119.16" || strings.Join(r.Invoices, ",") != "PFEE-PB-2026-07-01-2026-09-30,PFEE-PC-2026-07-01-2026-09-30" {
		t.Errorf("1 Oct 06:00: billed %d charged %d due %d total %s invoices %v; want 2 2 0 119.16 [PFEE-PB-…,PFEE-PC-…]", r.Billed, r.Charged, r.Due, r.Total, r.Invoices)
	}
	sk := skipped(r)
	if len(r.Skipped) != 1 || r.Skipped[0].Pool != "PA" ||
		!strings.Contains(sk, "not computed yet: 2026-09-30 (its latest is 2026-08-21)") {
		t.Errorf("1 Oct 06:00 skipped:\n%s", sk)
	}
	if got := e.db.Str(`SELECT p.cash || ' ' || h.hwm_nav || ' ' || i.perf_fee || ' ' || i.gst FROM pools p JOIN pool_fee_hwm h ON h.pool_id = p.id
		JOIN pool_fee_invoices i ON i.pool_id = p.id WHERE p.id = 'PB'`); got != "929.20 13.0000 60.00 10.80" {
		t.Errorf("PB after its bill: %s, want 929.20 13.0000 60.00 10.80", got)
	}

	e.navPA()
	r = e.quarterRun(q, "2026-10-01T07:00:00+05:30")
	if r.Status != "billed" || r.Billed != 1 || r.Charged != 1 || r.Total.String() != "483.74" || strings.Join(r.Invoices, ",") != "PFEE-PA-2026-07-01-2026-09-30" ||
		len(r.Skipped) != 0 {
		t.Errorf("1 Oct 07:00: %+v", r)
	}
	for q, want := range map[string]string{
		`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'PA'`:                                                                    "364516.26 0.00",
		`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'PC'`:                                                                    "4.82 0.00",
		`SELECT string_agg(id || ' ' || aum_fee || ' ' || gst || ' ' || total || ' ' || status, '; ' ORDER BY id) FROM pool_fee_invoices`: "PFEE-PA-2026-07-01-2026-09-30 409.95 73.79 483.74 charged; PFEE-PB-2026-07-01-2026-09-30 0.00 10.80 70.80 charged; PFEE-PC-2026-07-01-2026-09-30 40.98 7.38 48.36 charged",
		`SELECT count(*) || ' ' || sum(amount) FROM wallet_transactions WHERE kind = 'pool_fee'`:                                          "3 602.90",
		`SELECT (-sum(amount))::numeric(18,2) FROM wallet_postings WHERE account = 'tax:gst'`:                                             "91.97",
		`SELECT count(*)::text FROM outbox WHERE topic = 'fee.charged'`:                                                                   "3",
	} {
		if got := e.db.Str(q); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
}

// A run killed after billing some pools bills again only the others, and
// once every pool's quarter is charged a run reads nothing. Q3 2026 with
// the year ending in March: no crystallisation. PA was billed (as a run
// killed after its first pool leaves it): 483.74 (quarterPools). The run
// bills PB only: no AUM fee, no performance fee outside the year's end,
// an invoice of 0.00 and no mark. The next run: already_billed.
func TestPoolQuarterBillingResumes(t *testing.T) {
	e := quarterPools(t, true, false)
	q := &pool.QuarterBilling{Pools: e.pools, Store: e.pools.Store.(pool.QuarterStore), CrystalliseMonth: time.March}
	e.clock = moneytest.IST("2026-10-01T06:00:00+05:30")
	if inv, created, err := e.pools.BillFees(e.ctx, "PA", day("2026-07-01"), day("2026-09-30"), false); err != nil || !created || inv.Total.String() != "483.74" {
		t.Fatalf("PA by hand: %s created %v, %v", inv.Total, created, err)
	}
	r := e.quarterRun(q, "2026-10-02T09:00:00+05:30") // a holiday: the run is late, not early
	if r.Status != "billed" || r.Crystallised || r.Billed != 1 || r.Charged != 1 || r.Total.String() != "0.00" ||
		strings.Join(r.Invoices, ",") != "PFEE-PB-2026-07-01-2026-09-30" || len(r.Skipped) != 0 {
		t.Errorf("resumed run: %+v", r)
	}
	if r := e.quarterRun(q, "2026-10-05T06:00:00+05:30"); r.Status != "already_billed" || r.Billed != 0 {
		t.Errorf("the run after: %+v", r)
	}
	for q, want := range map[string]string{
		`SELECT string_agg(id || ' ' || perf_fee || ' ' || total || ' ' || status, '; ' ORDER BY id) FROM pool_fee_invoices`: "PFEE-PA-2026-07-01-2026-09-30 0.00 483.74 charged; PFEE-PB-2026-07-01-2026-09-30 0.00 0.00 charged",
		`SELECT count(*) || ' ' || sum(amount) FROM wallet_transactions WHERE kind = 'pool_fee'`:                             "1 483.74",
		`SELECT count(*)::text FROM pool_fee_hwm`:                                                                            "0",
	} {
		if got := e.db.Str(q); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
}

// A crystallising quarter whose next NAV was priced before the first run
// that could bill it is billed all the same (review r35 H2: it was
// refused by every run for ever, by an error since removed). quarterPools
// without PC: PB holds 100 units at 13.0000 on 30 Sep, mark 10.0000 (the
// launch NAV: no NAV before its terms).
//   - Thu 1 Oct, S1 30.0000: PB's NAV (300.00 + 1,000.00) / 100 =
//     13.0000; W2 takes 20 units out: gross 260.00, exit fee (13.0000 −
//     10.0000) × 20 = 60.00 → 12.00 + GST 2.16 = 14.16; W2 gets 245.84;
//     cash 740.00.
//   - Mon 5 Oct 06:00 (the run of 1 Oct failed): PB crystallises at 30
//     Sep's NAV over its 100 units less the 20 withdrawn since (they paid
//     their own fee): (13.0000 − 10.0000) × 80 = 240.00 → 48.00 + GST
//     8.64 = 56.64; cash 683.36; mark 13.0000. With the exit 60.00 = 20 %
//     of 3.0000 × 100: no unit pays twice. PA waits for its 30 Sep NAV.
func TestPoolQuarterBillingCrystallisesAfterALaterNAV(t *testing.T) {
	e := quarterPools(t, false, false)
	q := &pool.QuarterBilling{Pools: e.pools, Store: e.pools.Store.(pool.QuarterStore), CrystalliseMonth: time.September}
	e.db.NAV("S1", "2026-10-01", "30.0000")
	e.clock = moneytest.IST("2026-10-01T10:00:00+05:30")
	if _, err := e.pools.Withdraw(e.ctx, "PB", "W2", "w-W2", fund.MustUnits("20.000", 3)); err != nil {
		t.Fatal(err)
	}
	if r := e.nav("PB", "2026-10-01"); r.NAV.String() != "13.0000" || r.Withdrawals != 1 {
		t.Fatalf("PB 1 Oct: NAV %s, %d withdrawals", r.NAV, r.Withdrawals)
	}
	if got := e.balance("W2"); got != "245.84" {
		t.Errorf("W2's wallet %s, want 245.84", got)
	}
	r := e.quarterRun(q, "2026-10-05T06:00:00+05:30")
	if r.Billed != 1 || r.Charged != 1 || r.Total.String() != "56.64" || strings.Join(r.Invoices, ",") != "PFEE-PB-2026-07-01-2026-09-30" ||
		len(r.Skipped) != 1 || r.Skipped[0].Pool != "PA" {
		t.Errorf("5 Oct: %+v", r)
	}
	if got := e.db.Str(`SELECT p.cash || ' ' || h.hwm_nav || ' ' || i.perf_fee || ' ' || i.gst || ' ' || i.total FROM pools p JOIN pool_fee_hwm h ON h.pool_id = p.id
		JOIN pool_fee_invoices i ON i.pool_id = p.id WHERE p.id = 'PB'`); got != "683.36 13.0000 48.00 8.64 56.64" {
		t.Errorf("PB after its bill: %s, want 683.36 13.0000 48.00 8.64 56.64", got)
	}
}

// The schedule bills from the day after a pool's last invoice through the
// quarter's end (review r35 M1), and a pool with terms that was never
// priced owes nothing and does not fail the run. quarterPools with PA's
// 30 Sep NAV, the year ending in March:
//   - PA billed by hand 1 Jul..23 Aug (the "close a pool" recipe's kind
//     of bill): 21 Aug's accrual (21 Aug on 365,000.00, 22..23 Aug on
//     its value after, s35-poolfix), 29.99 + GST 5.40 = 35.39. The old
//     schedule saw a charged invoice from 1 Jul and never billed the rest.
//   - PD: terms from 20 Aug, no member, no NAV: nothing accrued (the old
//     run failed on it, ErrNotAccrued, every day).
//   - Thu 1 Oct 06:00: PA 24 Aug..30 Sep: 30 Sep's accrual 38 ×
//     364,964.61 / 36,500 = 379.96315… → 379.96, GST 18 % = 68.3928 →
//     68.39: 448.35 (= its provision 448.35); cash 365,000.00 − 35.39 −
//     448.35 = 364,516.26, fee_accrued 0.00. PB 1 Jul..30 Sep: 0.00. PD
//     counted not priced. Run total 448.35; tax:gst 5.40 + 68.39 = 73.79.
func TestPoolQuarterBillingCatchesUpFromTheLastInvoice(t *testing.T) {
	e := quarterPools(t, true, false)
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "PD", Name: "PD", Launch: fund.MustNAV("10.0000")}); err != nil {
		t.Fatal(err)
	}
	if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PD", From: day("2026-08-20"), AUMRatePct: pct("1")}); err != nil {
		t.Fatal(err)
	}
	q := &pool.QuarterBilling{Pools: e.pools, Store: e.pools.Store.(pool.QuarterStore), CrystalliseMonth: time.March}
	if inv, _, err := e.pools.BillFees(e.ctx, "PA", day("2026-07-01"), day("2026-08-23"), false); err != nil || inv.Total.String() != "35.39" {
		t.Fatalf("PA by hand to 23 Aug: %s, %v", inv.Total, err)
	}
	r := e.quarterRun(q, "2026-10-01T06:00:00+05:30")
	if r.Billed != 2 || r.Charged != 2 || r.Due != 0 || r.Total.String() != "448.35" || r.NotPriced != 1 || len(r.Skipped) != 0 ||
		strings.Join(r.Invoices, ",") != "PFEE-PA-2026-08-24-2026-09-30,PFEE-PB-2026-07-01-2026-09-30" {
		t.Errorf("1 Oct: %+v\n%s", r, skipped(r))
	}
	for q, want := range map[string]string{
		`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'PA'`:                              "364516.26 0.00",
		`SELECT (-sum(amount))::numeric(18,2)::text FROM wallet_postings WHERE account = 'tax:gst'`: "73.79",
		`SELECT count(*)::text FROM pool_fee_invoices WHERE pool_id = 'PD'`:                         "0",
	} {
		if got := e.db.Str(q); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
	if r := e.quarterRun(q, "2026-10-05T06:00:00+05:30"); r.Billed != 0 || r.NotPriced != 1 || len(r.Skipped) != 0 {
		t.Errorf("5 Oct: %+v", r)
	}
	e.checkJournal()
}

// A quarter no run billed is billed by the next run, oldest first, on its
// own invoice (review r35 M1). Pool PQ: 36.5 % a year from Tue 2 Jun
// (1.00 a day on 1,000.00); W1's 1,000.00 at 10.0000 on Mon 1 Jun: 100
// units. No run billed Q2 (the job was down).
//   - Tue 30 Jun's NAV accrues 2..30 Jun: 28 days carried on 1 Jun's value
//     after its request, 1,000.00, and 30 Jun on 1,000.00: 29.00, GST
//     5.22, owed 34.22.
//   - 30 Sep's NAV accrues Q3 (1 Jul..30 Sep).
//   - Thu 1 Oct 06:00: Q2 on its own invoice, 1 Apr..30 Jun: 29.00 + 5.22
//     = 34.22; then Q3 1 Jul..30 Sep, the rest of what the pool owed; the
//     pool owes 0.00 after. (The old run billed Q2's days on Q3's invoice.)
func TestPoolQuarterBillingCatchesUpAMissedQuarter(t *testing.T) {
	e := newEnv(t)
	e.fund(100000, [2]string{"W1", "INV-1"})
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "PQ", Name: "PQ", Launch: fund.MustNAV("10.0000")}); err != nil {
		t.Fatal(err)
	}
	if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PQ", From: day("2026-06-02"), AUMRatePct: pct("36.5")}); err != nil {
		t.Fatal(err)
	}
	e.clock = moneytest.IST("2026-06-01T10:00:00+05:30")
	e.contribute("PQ", "W1", "c1", "1000.00")
	e.nav("PQ", "2026-06-01")
	if r := e.nav("PQ", "2026-06-30"); r.FeeAccrued.String() != "34.22" {
		t.Fatalf("30 Jun: accrued %s, want 34.22", r.FeeAccrued)
	}
	owed := e.nav("PQ", "2026-09-30").FeeAccrued
	q := &pool.QuarterBilling{Pools: e.pools, Store: e.pools.Store.(pool.QuarterStore), CrystalliseMonth: time.March}
	r := e.quarterRun(q, "2026-10-01T06:00:00+05:30")
	if r.Billed != 2 || r.Charged != 2 || len(r.Skipped) != 0 || r.Total.String() != owed.String() ||
		strings.Join(r.Invoices, ",") != "PFEE-PQ-2026-04-01-2026-06-30,PFEE-PQ-2026-07-01-2026-09-30" {
		t.Errorf("1 Oct: %+v (owed %s)\n%s", r, owed, skipped(r))
	}
	if got := e.db.Str(`SELECT total::text FROM pool_fee_invoices WHERE id = 'PFEE-PQ-2026-04-01-2026-06-30'`); got != "34.22" {
		t.Errorf("Q2's invoice %s, want 34.22", got)
	}
	if got := e.db.Str(`SELECT fee_accrued::text FROM pools WHERE id = 'PQ'`); got != "0.00" {
		t.Errorf("owed after the run %s, want 0.00", got)
	}
}
