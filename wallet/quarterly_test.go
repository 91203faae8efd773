package wallet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
)

func TestQuarterOf(t *testing.T) {
	for _, c := range []struct{ d, from, to fund.Date }{
		{fund.NewDate(2026, 1, 1), fund.NewDate(2026, 1, 1), fund.NewDate(2026, 3, 31)},
		{fund.NewDate(2026, 5, 31), fund.NewDate(2026, 4, 1), fund.NewDate(2026, 6, 30)},
		{fund.NewDate(2026, 9, 30), fund.NewDate(2026, 7, 1), fund.NewDate(2026, 9, 30)},
		{fund.NewDate(2026, 12, 31), fund.NewDate(2026, 10, 1), fund.NewDate(2026, 12, 31)},
	} {
		if from, to := wallet.QuarterOf(c.d); from != c.from || to != c.to {
			t.Errorf("%s: %s..%s", c.d, from, to)
		}
	}
}

// The scheduled quarterly billing with an injected clock. W1 holds
// ₹1,00,000.00 cash, valued every day of Jul–Sep 2026; terms 1 % from
// 1 Jul, 1.5 % from 16 Aug. By hand: 1 Jul–15 Aug is 31 + 15 = 46 days at
// 1 %, 16 Aug–30 Sep is 16 + 30 = 46 days at 1.5 %: 100000 × (46 × 1 +
// 46 × 1.5) / (100 × 365) = 11500000 / 36500 = 315.068… → 315.06 (down);
// GST 18 % = 56.7108 → 56.71; total 371.77, paid from the cash. W2's
// terms begin inside the quarter (below).
func TestQuarterBillingOnSchedule(t *testing.T) {
	e, f := feesEnv(t)
	// W2 (₹50,000.00) has terms from 16 Aug only: no rate on 1 Jul, so its
	// quarter is billed from 16 Aug: 46 days at 1.5 %: 50000 × 1.5 × 46 /
	// 36500 = 94.520… → 94.52; GST 17.0136 → 17.01; total 111.53.
	if err := e.wallet.Open(e.ctx, "W2", "INV-2"); err != nil {
		t.Fatal(err)
	}
	e.pay("e2", "pay_2", "wallet:W2", "captured", 5000000)
	e.credit()
	for _, ft := range []wallet.FeeTerms{
		{WalletID: "W1", From: fund.NewDate(2026, 7, 1), AUMRatePct: pct("1")},
		{WalletID: "W1", From: fund.NewDate(2026, 8, 16), AUMRatePct: pct("1.5")},
		{WalletID: "W2", From: fund.NewDate(2026, 8, 16), AUMRatePct: pct("1.5")},
	} {
		if err := f.SetTerms(e.ctx, ft); err != nil {
			t.Fatal(err)
		}
	}
	for d := fund.NewDate(2026, 7, 1); !d.After(fund.NewDate(2026, 9, 30)); d = d.AddDays(1) {
		if _, err := f.Value(e.ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	qb := quarterBilling(e, f)
	run := func(at string) wallet.QuarterRun {
		t.Helper()
		r, err := qb.Run(e.ctx, moneytest.IST(at))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	invoices := func() string {
		return e.db.Str(`SELECT coalesce(string_agg(id || ' ' || total || ' ' || status, ',' ORDER BY id), '') FROM fee_invoices`)
	}
	// On the quarter's last day the quarter just finished is Apr–Jun: W1
	// had no terms then, nothing billed; Q2 marked.
	if r := run("2026-09-30T10:00:00+05:30"); r.From != fund.NewDate(2026, 4, 1) || r.Status != "billed" || r.Billed != 0 || invoices() != "" {
		t.Fatalf("30 Sep: %+v %s", r, invoices())
	}
	// With 1 and 2 Oct holidays, the first business day after 30 Sep is
	// Mon 5 Oct: on 1 Oct nothing yet.
	qb.Calendar = fund.NewCalendar(fund.NewDate(2026, 10, 1), fund.NewDate(2026, 10, 2))
	if r := run("2026-10-01T06:00:00+05:30"); r.Status != "not_yet" || r.BillOn != fund.NewDate(2026, 10, 5) || invoices() != "" {
		t.Fatalf("1 Oct, holidays: %+v %s", r, invoices())
	}
	// The exchange's calendar: 1 Oct is the first business day after.
	qb.Calendar = e.ledger.Calendar
	r := run("2026-10-01T06:00:00+05:30")
	if r.From != fund.NewDate(2026, 7, 1) || r.To != fund.NewDate(2026, 9, 30) || r.BillOn != fund.NewDate(2026, 10, 1) || r.Status != "billed" ||
		r.Crystallised || r.Billed != 2 || r.Charged != 2 || len(r.Skipped) != 0 || r.Total.String() != "483.30" { // 371.77 + 111.53
		t.Fatalf("1 Oct: %+v", r)
	}
	const both = "FEE-W1-2026-07-01-2026-09-30 371.77 charged,FEE-W2-2026-08-16-2026-09-30 111.53 charged"
	if got := invoices(); got != both {
		t.Fatalf("invoices %s", got)
	}
	if got := e.db.Str(`SELECT string_agg(aum_fee || ' ' || gst, ',' ORDER BY id) FROM fee_invoices`); got != "315.06 56.71,94.52 17.01" {
		t.Errorf("AUM fee and GST %s", got)
	}
	if got := e.balance("W1"); got != "99628.23" {
		t.Errorf("W1 %s, want 100000.00 − 371.77 = 99628.23", got)
	}
	// Again (the 10:00 run, the next day): nothing read, nothing billed.
	for _, at := range []string{"2026-10-01T10:00:00+05:30", "2026-10-05T06:00:00+05:30"} {
		if r := run(at); r.Status != "already_billed" || r.Billed != 0 {
			t.Fatalf("%s: %+v", at, r)
		}
	}
	if got := e.balance("W1"); got != "99628.23" || invoices() != both {
		t.Errorf("after the reruns: W1 %s, %s", got, invoices())
	}
	if got := e.balance("W2"); got != "49888.47" {
		t.Errorf("W2 %s, want 50000.00 − 111.53 = 49888.47", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM outbox WHERE topic = 'fee.charged'`); n != 2 {
		t.Errorf("%d fee.charged events", n)
	}
	if got := e.db.Str(`SELECT string_agg(period_from || ' ' || wallets_billed || ' ' || total, ',' ORDER BY period_from) FROM fee_quarter_runs`); got != "2026-04-01 0 0.00,2026-07-01 2 483.30" {
		t.Errorf("quarter runs %s", got)
	}
}

// A wallet the quarterly billing skips is kept with its reason and billed
// by a later run (r34 M3); a run killed before its mark and run again
// counts the wallets already billed as billed, none as skipped (L1). W1:
// ₹1,00,000.00 at 1 % for Jul–Sep: 100000 × 92 / 36500 = 252.054… →
// 252.05, GST 45.369 → 45.37, total 297.42. W2: ₹50,000.00, terms 1.5 %
// from 16 Aug, its valuations missing on 1 Oct: skipped; valued again, the
// 2 Oct run bills 16 Aug–30 Sep: 50000 × 1.5 × 46 / 36500 = 94.520… →
// 94.52, GST 17.0136 → 17.01, total 111.53. The old code marked the
// quarter and never billed W2.
func TestQuarterBillingRetriesSkippedWallets(t *testing.T) {
	e, f := feesEnv(t)
	if err := e.wallet.Open(e.ctx, "W2", "INV-2"); err != nil {
		t.Fatal(err)
	}
	e.pay("e2", "pay_2", "wallet:W2", "captured", 5000000)
	e.credit()
	for _, ft := range []wallet.FeeTerms{
		{WalletID: "W1", From: fund.NewDate(2026, 7, 1), AUMRatePct: pct("1")},
		{WalletID: "W2", From: fund.NewDate(2026, 8, 16), AUMRatePct: pct("1.5")},
	} {
		if err := f.SetTerms(e.ctx, ft); err != nil {
			t.Fatal(err)
		}
	}
	value := func() {
		t.Helper()
		for d := fund.NewDate(2026, 7, 1); !d.After(fund.NewDate(2026, 9, 30)); d = d.AddDays(1) {
			if _, err := f.Value(e.ctx, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	value()
	e.db.Exec(`DELETE FROM fee_valuations WHERE wallet_id = 'W2'`)
	qb := quarterBilling(e, f)
	invoices := func() string {
		return e.db.Str(`SELECT coalesce(string_agg(id || ' ' || total || ' ' || status, ',' ORDER BY id), '') FROM fee_invoices`)
	}
	r, err := qb.Run(e.ctx, moneytest.IST("2026-10-01T06:00:00+05:30"))
	if err != nil || r.Status != "billed" || r.Billed != 1 || len(r.Skipped) != 1 || r.Skipped[0].WalletID != "W2" || r.StillSkipped != 1 {
		t.Fatalf("1 Oct: %+v %v", r, err)
	}
	if got := e.db.Str(`SELECT wallet_id || ' ' || period_from || ' ' || (resolved_at IS NULL) FROM fee_quarter_skips`); got != "W2 2026-07-01 true" {
		t.Fatalf("kept skips %s", got)
	}
	value() // W2's valuations written again
	r, err = qb.Run(e.ctx, moneytest.IST("2026-10-02T06:00:00+05:30"))
	if err != nil || r.Status != "already_billed" || r.Retried != 1 || r.StillSkipped != 0 {
		t.Fatalf("2 Oct: %+v %v", r, err)
	}
	const both = "FEE-W1-2026-07-01-2026-09-30 297.42 charged,FEE-W2-2026-08-16-2026-09-30 111.53 charged"
	if got := invoices(); got != both {
		t.Fatalf("invoices %s", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM fee_quarter_skips WHERE resolved_at IS NULL`); n != 0 {
		t.Errorf("%d skips open", n)
	}
	// A run killed before its mark: run again, both wallets already billed.
	e.db.Exec(`DELETE FROM fee_quarter_runs WHERE period_from = '2026-07-01'`)
	r, err = qb.Run(e.ctx, moneytest.IST("2026-10-05T06:00:00+05:30"))
	if err != nil || r.Status != "billed" || r.Billed != 0 || r.AlreadyBilled != 2 || len(r.Skipped) != 0 || r.Retried != 0 {
		t.Fatalf("re-run: %+v %v", r, err)
	}
	if got := invoices(); got != both {
		t.Errorf("after the re-run %s", got)
	}
}

// A quarter no run finished is billed by the next run, oldest first (r34
// M4): W1 (₹1,00,000.00, 1 % from 1 Jan, valued every day) and no run
// until 1 Jul. By hand: Jan–Mar 90 days: 100000 × 90 / 36500 = 246.575…
// → 246.57, GST 44.3826 → 44.38, total 290.95; Apr–Jun 91 days (valued
// at 1,00,000.00 before either bill): 249.315… → 249.31, GST 44.8758 →
// 44.88, total 294.19. The old code billed only Apr–Jun.
func TestQuarterBillingCatchesUpMissedQuarters(t *testing.T) {
	e, f := termsEnv(t, fund.NewDate(2026, 1, 1), fund.NewDate(2026, 6, 30))
	qb := quarterBilling(e, f)
	r, err := qb.Run(e.ctx, moneytest.IST("2026-07-01T06:00:00+05:30"))
	if err != nil || r.From != fund.NewDate(2026, 4, 1) || r.Status != "billed" || r.Billed != 1 || len(r.Earlier) != 1 ||
		r.Earlier[0].From != fund.NewDate(2026, 1, 1) || !r.Earlier[0].Crystallised || r.Earlier[0].Billed != 1 {
		t.Fatalf("1 Jul: %+v %v", r, err)
	}
	if got := e.db.Str(`SELECT string_agg(id || ' ' || aum_fee || ' ' || gst || ' ' || total, ',' ORDER BY id) FROM fee_invoices`); got !=
		"FEE-W1-2026-01-01-2026-03-31 246.57 44.38 290.95,FEE-W1-2026-04-01-2026-06-30 249.31 44.88 294.19" {
		t.Errorf("invoices %s", got)
	}
	if got := e.db.Str(`SELECT string_agg(period_from::text, ',' ORDER BY period_from) FROM fee_quarter_runs`); got != "2026-01-01,2026-04-01" {
		t.Errorf("quarter runs %s", got)
	}
	if r, err := qb.Run(e.ctx, moneytest.IST("2026-07-02T06:00:00+05:30")); err != nil || r.Status != "already_billed" || len(r.Earlier) != 0 {
		t.Errorf("2 Jul: %+v %v", r, err)
	}
}

// Every day since the terms' start that no invoice covers is billed, a
// day once (r34 review: "last billed" was the latest invoice's end, so a
// gap before it was never billed). W1 (₹1,00,000.00, 1 % from 1 Apr,
// valued every day of Apr–Sep before any bill): its Apr–Jun valuations are
// missing at the 1 Jul and 1 Oct runs, so Q2 is skipped and Q3 billed
// first; valued again, the 2 Oct run bills Q2. By hand: Q3 92 days:
// 100000 × 92 / 36500 = 252.054… → 252.05, GST 45.369 → 45.37, total
// 297.42; Q2 91 days: 249.315… → 249.31, GST 44.8758 → 44.88, total
// 294.19. The old code resolved the skip with Q2 unbilled (its "last
// billed" was 30 Sep).
func TestQuarterBillingBillsAGapAfterALaterQuarter(t *testing.T) {
	e, f := termsEnv(t, fund.NewDate(2026, 4, 1), fund.NewDate(2026, 9, 30))
	e.db.Exec(`CREATE TABLE q2_valuations AS SELECT * FROM fee_valuations WHERE day < '2026-07-01'`)
	e.db.Exec(`DELETE FROM fee_valuations WHERE day < '2026-07-01'`)
	qb := quarterBilling(e, f)
	invoices := func() string {
		return e.db.Str(`SELECT coalesce(string_agg(id || ' ' || total || ' ' || status, ',' ORDER BY period_from), '') FROM fee_invoices`)
	}
	for _, at := range []string{"2026-07-01T06:00:00+05:30", "2026-10-01T06:00:00+05:30"} {
		if _, err := qb.Run(e.ctx, moneytest.IST(at)); err != nil {
			t.Fatal(err)
		}
	}
	if got := invoices(); got != "FEE-W1-2026-07-01-2026-09-30 297.42 charged" {
		t.Fatalf("after 1 Oct: %s", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM fee_quarter_skips WHERE resolved_at IS NULL AND period_from = '2026-04-01'`); n != 1 {
		t.Fatalf("%d open Q2 skips", n)
	}
	e.db.Exec(`INSERT INTO fee_valuations SELECT * FROM q2_valuations`)
	r, err := qb.Run(e.ctx, moneytest.IST("2026-10-02T06:00:00+05:30"))
	if err != nil || r.Retried != 1 || r.StillSkipped != 0 {
		t.Fatalf("2 Oct: %+v %v", r, err)
	}
	const both = "FEE-W1-2026-04-01-2026-06-30 294.19 charged,FEE-W1-2026-07-01-2026-09-30 297.42 charged"
	if got := invoices(); got != both {
		t.Fatalf("after 2 Oct: %s", got)
	}
	if got := e.balance("W1"); got != "99408.39" {
		t.Errorf("W1 %s, want 100000.00 − 297.42 − 294.19 = 99408.39", got)
	}
	// Once: a run again bills nothing, a period overlapping a billed one
	// is refused, and every day Apr–Sep is on exactly one invoice.
	if _, err := qb.Run(e.ctx, moneytest.IST("2026-10-05T06:00:00+05:30")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Bill(e.ctx, "W1", fund.NewDate(2026, 6, 1), fund.NewDate(2026, 7, 31), false); err == nil || !strings.Contains(err.Error(), "overlaps") {
		t.Errorf("an overlapping period: %v", err)
	}
	if got := invoices(); got != both || e.balance("W1") != "99408.39" {
		t.Errorf("after the overlap: %s, W1 %s", got, e.balance("W1"))
	}
	if n := e.db.Num(`SELECT count(*) FROM generate_series('2026-04-01'::date, '2026-09-30', '1 day') d
		WHERE (SELECT count(*) FROM fee_invoices i WHERE d BETWEEN i.period_from AND i.period_to) <> 1`); n != 0 {
		t.Errorf("%d days of Apr–Sep not on exactly one invoice", n)
	}
}

// A kept wallet is billed through the last quarter due, not only its own
// quarter (review r35 L2). W1 (₹1,00,000.00, 1 % from 1 Jan, valued every
// day of Jan–Jun before any bill) has no valuations at the 1 Jul run: Q1
// (caught up) and Q2 both skip it, kept under Q1 (the first days it could
// not bill), and Q2 is marked. Valued again, the 2 Jul run bills both. By
// hand (as TestQuarterBillingCatchesUpMissedQuarters): Q1 90 days:
// 100000 × 90 / 36500 = 246.575… → 246.57, GST 44.3826 → 44.38, total
// 290.95; Q2 91 days: 249.315… → 249.31, GST 44.8758 → 44.88, total
// 294.19; W1 100,000.00 − 290.95 − 294.19 = 99,414.86. The old code billed
// Q1 only on 2 Jul: Q2's days waited for the October run.
func TestQuarterRetryBillsThroughTheLastQuarterDue(t *testing.T) {
	e, f := termsEnv(t, fund.NewDate(2026, 1, 1), fund.NewDate(2026, 6, 30))
	e.db.Exec(`CREATE TABLE h1_valuations AS SELECT * FROM fee_valuations`)
	e.db.Exec(`DELETE FROM fee_valuations`)
	qb := quarterBilling(e, f)
	r, err := qb.Run(e.ctx, moneytest.IST("2026-07-01T06:00:00+05:30"))
	if err != nil || r.Status != "billed" || r.Billed != 0 || r.StillSkipped != 1 {
		t.Fatalf("1 Jul: %+v %v", r, err)
	}
	if got := e.db.Str(`SELECT string_agg(wallet_id || ' ' || period_from || ' ' || (resolved_at IS NULL), ',') FROM fee_quarter_skips`); got != "W1 2026-01-01 true" {
		t.Fatalf("kept skips %s, want W1's under Q1", got)
	}
	e.db.Exec(`INSERT INTO fee_valuations SELECT * FROM h1_valuations`)
	r, err = qb.Run(e.ctx, moneytest.IST("2026-07-02T06:00:00+05:30"))
	if err != nil || r.Status != "already_billed" || r.Retried != 1 || r.StillSkipped != 0 {
		t.Fatalf("2 Jul: %+v %v", r, err)
	}
	if got := e.db.Str(`SELECT coalesce(string_agg(id || ' ' || total || ' ' || status, ',' ORDER BY period_from), '') FROM fee_invoices`); got !=
		"FEE-W1-2026-01-01-2026-03-31 290.95 charged,FEE-W1-2026-04-01-2026-06-30 294.19 charged" {
		t.Errorf("invoices after 2 Jul: %s", got)
	}
	if got := e.balance("W1"); got != "99414.86" {
		t.Errorf("W1 %s, want 100000.00 − 290.95 − 294.19 = 99414.86", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM fee_quarter_skips WHERE resolved_at IS NULL`); n != 0 {
		t.Errorf("%d skips open", n)
	}
}

// A kept wallet the retry bills for the quarter the same run then closes
// is counted as billed by that quarter, with its total, in the run and in
// fee_quarter_runs (review r36-2 Q1: "billed 0, already 1, total 0.00").
// W1, 1 % from 1 Jan, unvalued at the 1 Apr run (kept under Q1), valued
// again before 1 Jul: the 1 Jul run's retry bills Q1 290.95 and Q2 294.19
// (the figures of TestQuarterRetryBillsThroughTheLastQuarterDue), and Q2's
// own billing finds Q2 billed.
func TestQuarterRetryCountsItsInvoiceInTheQuarter(t *testing.T) {
	e, f := termsEnv(t, fund.NewDate(2026, 1, 1), fund.NewDate(2026, 6, 30))
	e.db.Exec(`CREATE TABLE h1_valuations AS SELECT * FROM fee_valuations`)
	e.db.Exec(`DELETE FROM fee_valuations`)
	qb := quarterBilling(e, f)
	if r, err := qb.Run(e.ctx, moneytest.IST("2026-04-01T06:00:00+05:30")); err != nil || r.StillSkipped != 1 {
		t.Fatalf("1 Apr: %+v %v", r, err)
	}
	e.db.Exec(`INSERT INTO fee_valuations SELECT * FROM h1_valuations`)
	r, err := qb.Run(e.ctx, moneytest.IST("2026-07-01T06:00:00+05:30"))
	if err != nil || r.Status != "billed" || r.Retried != 1 || r.Billed != 1 || r.AlreadyBilled != 0 || r.Charged != 1 || r.Total.String() != "294.19" {
		t.Fatalf("1 Jul: %+v %v, want Q2 billed 1 (294.19), already 0", r, err)
	}
	if got := e.db.Str(`SELECT wallets_billed || ' ' || total FROM fee_quarter_runs WHERE period_from = '2026-04-01'`); got != "1 294.19" {
		t.Errorf("Q2's run row %q, want 1 294.19", got)
	}
}

// The days a wallet was closing over a quarter end (an exit under way,
// then refused) are billed once it is open again. W1 (₹1,00,000.00, 1 %
// from 1 Jul, valued every day of Q3 first) was billed 1 Jul–20 Sep (as an
// exit bills) and was closing at the 1 Oct run; reopened, the 2 Oct run
// bills 21–30 Sep: 100000 × 10 / 36500 = 27.397… → 27.39, GST 4.9302 →
// 4.93, total 32.32. The old code left it out of the quarter (not open) and
// never billed those days.
func TestQuarterBillingBillsTheDaysAWalletWasClosing(t *testing.T) {
	e, f := termsEnv(t, fund.NewDate(2026, 7, 1), fund.NewDate(2026, 9, 30))
	// 1 Jul–20 Sep, 82 days: 100000 × 82 / 36500 = 224.657… → 224.65, GST
	// 40.437 → 40.44, total 265.09.
	if inv, _, err := f.Bill(e.ctx, "W1", fund.NewDate(2026, 7, 1), fund.NewDate(2026, 9, 20), false); err != nil || inv.Total.String() != "265.09" {
		t.Fatalf("1 Jul–20 Sep: %+v %v", inv, err)
	}
	e.db.Exec(`UPDATE wallets SET status = 'closing' WHERE id = 'W1'`)
	qb := quarterBilling(e, f)
	r, err := qb.Run(e.ctx, moneytest.IST("2026-10-01T06:00:00+05:30"))
	if err != nil || r.Billed != 0 || r.StillSkipped != 1 || len(r.Skipped) != 1 || !strings.Contains(r.Skipped[0].Reason, "closing") {
		t.Fatalf("1 Oct: %+v %v", r, err)
	}
	e.db.Exec(`UPDATE wallets SET status = 'open' WHERE id = 'W1'`)
	if r, err = qb.Run(e.ctx, moneytest.IST("2026-10-02T06:00:00+05:30")); err != nil || r.Retried != 1 {
		t.Fatalf("2 Oct: %+v %v", r, err)
	}
	if got := e.db.Str(`SELECT string_agg(id || ' ' || aum_fee || ' ' || gst || ' ' || total, ',' ORDER BY period_from) FROM fee_invoices`); got !=
		"FEE-W1-2026-07-01-2026-09-20 224.65 40.44 265.09,FEE-W1-2026-09-21-2026-09-30 27.39 4.93 32.32" {
		t.Errorf("invoices %s", got)
	}
	if got := e.balance("W1"); got != "99702.59" {
		t.Errorf("W1 %s, want 100000.00 − 265.09 − 32.32 = 99702.59", got)
	}
}

// The year-end crystallisation counts only the flows its valuation includes
// (r34 H4): a ₹500 withdrawal after the 31 Mar valuation (10:00) and before
// the 1 Apr billing run does not change the performance fee. W1: deposits
// ₹1,00,000.00, terms from 1 Jan: no AUM fee, 20 % performance; valued 1
// Jan (cash only) and 31 Mar with holdings worth 12,000.00 (set on the
// row, as TestFeePerformanceHighWaterMark does): AUM 1,12,000.00, flows
// 1,00,000.00, gain 12,000.00 × 20 % = 2,400.00, GST 432.00, total
// 2,832.00; the mark 12,000.00. The old code counted the withdrawal: flows
// 99,500.00, gain 12,500.00, fee 2,500.00.
func TestQuarterCrystallisationCountsFlowsUpToItsValuation(t *testing.T) {
	e, f := feesEnv(t)
	if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: fund.NewDate(2026, 1, 1), AUMRatePct: pct("0"), PerfPct: pct("20")}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []fund.Date{fund.NewDate(2026, 1, 1), fund.NewDate(2026, 3, 31)} {
		if _, err := f.Value(e.ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	e.db.Exec(`UPDATE fee_valuations SET holdings = 12000, aum = aum + 12000 WHERE day = '2026-03-31'`)
	if _, err := e.wallet.Withdraw(e.ctx, "W1", "after-the-valuation", fund.MustAmount("500.00")); err != nil {
		t.Fatal(err)
	}
	qb := quarterBilling(e, f)
	r, err := qb.Run(e.ctx, moneytest.IST("2026-04-06T06:00:00+05:30"))
	if err != nil || r.From != fund.NewDate(2026, 1, 1) || !r.Crystallised || r.Billed != 1 {
		t.Fatalf("6 Apr: %+v %v", r, err)
	}
	if got := e.db.Str(`SELECT perf_fee || ' ' || gst || ' ' || total || ' ' || status FROM fee_invoices`); got != "2400.00 432.00 2832.00 charged" {
		t.Errorf("invoice %s, want 2400.00 432.00 2832.00 charged", got)
	}
	if got := e.db.Str(`SELECT hwm_gain::text FROM fee_hwm`); got != "12000.00" {
		t.Errorf("hwm %s, want 1,12,000.00 − 1,00,000.00 = 12000.00", got)
	}
	if got := e.balance("W1"); got != "96668.00" {
		t.Errorf("W1 %s, want 100000.00 − 500.00 − 2832.00 = 96668.00", got)
	}
}

// An exit bills every day no invoice covers, not only those after the last
// invoice: W1 (₹1,00,000.00 cash, 1 % from 1 Jul, valued every day to 10
// Oct before any bill) was billed August only (July skipped); the exit on
// 10 Oct bills July, September and 1–10 Oct. By hand: August 31 days:
// 100000 × 31 / 36500 = 84.931… → 84.93, GST 15.2874 → 15.29, total
// 100.22 (cash 99,899.78); July the same, 100.22; September 30 days:
// 82.191… → 82.19, GST 14.7942 → 14.79, total 96.98; 1–10 Oct: 9 days at
// 1,00,000.00 and 10 Oct re-valued by the exit at 99,899.78: 999,899.78 /
// 36500 = 27.394… → 27.39, GST 4.9302 → 4.93, total 32.32. Paid out
// 99,899.78 − 100.22 − 96.98 − 32.32 = 99,670.26. The old code billed from
// 1 Sep and paid out 99,770.48.
func TestExitBillsTheDaysNoInvoiceCovers(t *testing.T) {
	e, f := termsEnv(t, fund.NewDate(2026, 7, 1), fund.NewDate(2026, 10, 10))
	if inv, _, err := f.Bill(e.ctx, "W1", fund.NewDate(2026, 8, 1), fund.NewDate(2026, 8, 31), false); err != nil || inv.Total.String() != "100.22" {
		t.Fatalf("August: %+v %v", inv, err)
	}
	x := &wallet.Exits{Fees: f, Store: pgstore.Store{Pool: e.db.Read}, CrystalliseMonth: time.March}
	out, err := x.Exit(e.ctx, "W1", "EXIT-1", moneytest.IST("2026-10-10T12:00:00+05:30"))
	if err != nil || out.Withdrawn == nil || out.Withdrawn.Amount.String() != "99670.26" {
		t.Errorf("exit: %+v %v, want 99670.26 paid out", out.Withdrawn, err)
	}
	if got := e.db.Str(`SELECT string_agg(period_from || '..' || period_to || ' ' || total || ' ' || status, ',' ORDER BY period_from) FROM fee_invoices`); got !=
		"2026-07-01..2026-07-31 100.22 charged,2026-08-01..2026-08-31 100.22 charged,2026-09-01..2026-09-30 96.98 charged,2026-10-01..2026-10-10 32.32 charged" {
		t.Errorf("invoices %s", got)
	}
}

// Unbilled: the days no period covers, cut at quarter ends, by hand.
func TestUnbilled(t *testing.T) {
	d := fund.NewDate
	p := func(a, b fund.Date) wallet.Period { return wallet.Period{From: a, To: b} }
	for _, c := range []struct {
		name     string
		from, to fund.Date
		billed   []wallet.Period
		want     []wallet.Period
	}{
		{"none billed, across a quarter end", d(2026, 3, 20), d(2026, 4, 10), nil,
			[]wallet.Period{p(d(2026, 3, 20), d(2026, 3, 31)), p(d(2026, 4, 1), d(2026, 4, 10))}},
		{"a gap before the last invoice", d(2026, 4, 1), d(2026, 9, 30), []wallet.Period{p(d(2026, 7, 1), d(2026, 9, 30))},
			[]wallet.Period{p(d(2026, 4, 1), d(2026, 6, 30))}},
		{"gaps between and after", d(2026, 7, 1), d(2026, 10, 10),
			[]wallet.Period{p(d(2026, 7, 1), d(2026, 7, 31)), p(d(2026, 8, 16), d(2026, 9, 20))},
			[]wallet.Period{p(d(2026, 8, 1), d(2026, 8, 15)), p(d(2026, 9, 21), d(2026, 9, 30)), p(d(2026, 10, 1), d(2026, 10, 10))}},
		{"all billed, one past to", d(2026, 7, 1), d(2026, 9, 30), []wallet.Period{p(d(2026, 7, 1), d(2026, 8, 31)), p(d(2026, 9, 1), d(2026, 10, 5))}, nil},
		{"an invoice starting after to", d(2026, 7, 1), d(2026, 7, 10), []wallet.Period{p(d(2026, 7, 20), d(2026, 7, 31))},
			[]wallet.Period{p(d(2026, 7, 1), d(2026, 7, 10))}},
	} {
		got := wallet.Unbilled(c.from, c.to, c.billed)
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
				break
			}
		}
	}
}

// termsEnv is feesEnv with W1's fee terms, 1 % a year from from, and W1
// (₹1,00,000.00 cash) valued every day from..through.
func termsEnv(t *testing.T, from, through fund.Date) (*env, *wallet.Fees) {
	t.Helper()
	e, f := feesEnv(t)
	if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: from, AUMRatePct: pct("1")}); err != nil {
		t.Fatal(err)
	}
	for d := from; !d.After(through); d = d.AddDays(1) {
		if _, err := f.Value(e.ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	return e, f
}

// quarterBilling is the scheduled quarterly billing of f on the 2026
// calendar, the performance fee's year ending in March.
func quarterBilling(e *env, f *wallet.Fees) *wallet.QuarterBilling {
	return &wallet.QuarterBilling{Fees: f, Store: pgstore.Store{Pool: e.db.Read}, Calendar: e.ledger.Calendar, CrystalliseMonth: time.March}
}
