package wallet_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
	"github.com/shopspring/decimal"
)

func feesEnv(t *testing.T) (*env, *wallet.Fees) {
	e := newEnv(t)
	if err := e.wallet.Open(e.ctx, "W1", "INV-1"); err != nil {
		t.Fatal(err)
	}
	e.pay("e1", "pay_1", "wallet:W1", "captured", 10000000) // ₹1,00,000.00
	e.credit()
	return e, &wallet.Fees{Wallet: e.wallet, Store: pgstore.Store{Pool: e.db.Read}}
}

func pct(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// A month's AUM fee with a mid-month rate change, billed from the wallet
// with GST, once.
func TestFeeBillMidPeriodRateChange(t *testing.T) {
	e, f := feesEnv(t)
	for _, ft := range []wallet.FeeTerms{
		{WalletID: "W1", From: fund.NewDate(2026, 7, 1), AUMRatePct: pct("1")},
		{WalletID: "W1", From: fund.NewDate(2026, 8, 16), AUMRatePct: pct("1.5")},
	} {
		if err := f.SetTerms(e.ctx, ft); err != nil {
			t.Fatal(err)
		}
	}
	// Valued on the weekdays of August only: weekends carry Friday's.
	for d := fund.NewDate(2026, 8, 1); !d.After(fund.NewDate(2026, 8, 31)); d = d.AddDays(1) {
		if wd := d.Weekday(); wd == 0 || wd == 6 {
			continue
		}
		if _, err := f.Value(e.ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	// 1 Aug is a Saturday: no valuation on or before it, refused.
	if _, _, err := f.Bill(e.ctx, "W1", fund.NewDate(2026, 8, 1), fund.NewDate(2026, 8, 31), false); err == nil {
		t.Fatal("billed a period whose first day has no valuation")
	}
	// Value 1 Aug too, then bill: AUM 1,00,000.00 every day (cash, no
	// holdings); 1–15 Aug at 1 %, 16–31 Aug at 1.5 %:
	// 100000 × (15 × 1 + 16 × 1.5) / (100 × 365) = 3900000/36500 =
	// 106.849… → 106.84 (down). GST 18 % = 19.2312 → 19.23; total 126.07.
	if _, err := f.Value(e.ctx, fund.NewDate(2026, 8, 1)); err != nil {
		t.Fatal(err)
	}
	inv, created, err := f.Bill(e.ctx, "W1", fund.NewDate(2026, 8, 1), fund.NewDate(2026, 8, 31), false)
	if err != nil || !created {
		t.Fatal(err)
	}
	if inv.AUMFee.String() != "106.84" || inv.GST.String() != "19.23" || inv.Total.String() != "126.07" || inv.Status != "charged" || inv.Perf != nil {
		t.Errorf("invoice %+v", inv)
	}
	if got := e.balance("W1"); got != "99873.93" {
		t.Errorf("W1 %s, want 100000.00 − 126.07 = 99873.93", got)
	}
	// Again: the same invoice, nothing charged twice.
	again, created, err := f.Bill(e.ctx, "W1", fund.NewDate(2026, 8, 1), fund.NewDate(2026, 8, 31), false)
	if err != nil || created || again.ID != inv.ID || again.Total.String() != "126.07" || e.balance("W1") != "99873.93" {
		t.Errorf("again: %+v %v %v, balance %s", again, created, err, e.balance("W1"))
	}
	if got := e.db.Str(`SELECT string_agg(p.account || ' ' || p.amount::numeric(18,2), ',' ORDER BY p.seq) FROM wallet_postings p JOIN wallet_transactions t ON t.id = p.tx_id WHERE t.kind = 'fee'`); got != "wallet:W1 126.07,fee_income:managed -106.84,tax:gst -19.23" {
		t.Errorf("postings %s", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM outbox WHERE topic = 'fee.charged'`); n != 1 {
		t.Errorf("%d fee.charged events", n)
	}
	var csvb bytes.Buffer
	if err := wallet.WriteInvoiceCSV(&csvb, inv); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"at 1% a year, 2026-08-01 to 2026-08-15 (15 days)", "at 1.5% a year, 2026-08-16 to 2026-08-31 (16 days)", "GST at 18%,19.23", "Total,126.07"} {
		if !strings.Contains(csvb.String(), want) {
			t.Errorf("csv lacks %q:\n%s", want, csvb.String())
		}
	}
	// the PDF: the same lines, amounts as the test computed them above
	text, _ := invoicePDFText(t, inv)
	for _, want := range []string{"at 1% a year, 2026-08-01 to 2026-08-15 (15 days)", "at 1.5% a year, 2026-08-16 to 2026-08-31 (16 days)",
		"Management fee (AUM) 106.84", "GST at 18% 19.23", "Total 126.07"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF lacks %q:\n%s", want, text)
		}
	}
}

// The performance fee over two periods, the second below the high-water
// mark; the mark is net of deposits and never falls.
func TestFeePerformanceHighWaterMark(t *testing.T) {
	e, f := feesEnv(t)
	if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: fund.NewDate(2026, 1, 1), AUMRatePct: pct("0"), PerfPct: pct("20")}); err != nil {
		t.Fatal(err)
	}
	// Valuations as the daily run would have written them with holdings
	// (inputs: the wallet's AUM on the periods' last days).
	e.db.Exec(`INSERT INTO fee_valuations (wallet_id, day, cash, holdings, aum) VALUES
		('W1', '2026-08-31', 0, 112000, 112000), ('W1', '2026-09-30', 0, 110000, 110000), ('W1', '2026-10-31', 0, 115000, 115000)`)
	// Year 1: deposits 1,00,000 (the flows), HWM 0 + 1,00,000; end
	// 1,12,000: gain 12,000 × 20 % = 2,400.00; GST 432.00; total 2,832.00.
	inv, _, err := f.Bill(e.ctx, "W1", fund.NewDate(2026, 8, 31), fund.NewDate(2026, 8, 31), true)
	if err != nil {
		t.Fatal(err)
	}
	if inv.PerfFee.String() != "2400.00" || inv.GST.String() != "432.00" || inv.Total.String() != "2832.00" {
		t.Errorf("year 1 %+v", inv)
	}
	// HWM net of flows: 1,12,000 − 1,00,000 = 12,000.
	if got := e.db.Str(`SELECT hwm_gain::text FROM fee_hwm`); got != "12000.00" {
		t.Errorf("hwm %s", got)
	}
	// Year 2: 1,10,000 < HWM 12,000 + 1,00,000 = 1,12,000: no fee, the
	// mark stays.
	inv, _, err = f.Bill(e.ctx, "W1", fund.NewDate(2026, 9, 30), fund.NewDate(2026, 9, 30), true)
	if err != nil || !inv.PerfFee.IsZero() || !inv.Total.IsZero() {
		t.Errorf("year 2 %+v %v", inv, err)
	}
	if got := e.db.Str(`SELECT hwm_gain::text FROM fee_hwm`); got != "12000.00" {
		t.Errorf("hwm after year 2 %s", got)
	}
	// A withdrawal of 10,000 then 1,15,000: flows 90,000, HWM 1,02,000:
	// gain 13,000 × 20 % = 2,600.00.
	if _, err := e.wallet.Withdraw(e.ctx, "W1", "r1", fund.MustAmount("10000.00")); err != nil {
		t.Fatal(err)
	}
	if inv, _, err = f.Bill(e.ctx, "W1", fund.NewDate(2026, 10, 31), fund.NewDate(2026, 10, 31), true); err != nil || inv.PerfFee.String() != "2600.00" {
		t.Errorf("year 3 %+v %v", inv, err)
	}
	// The table refuses a falling mark whatever the code does.
	if _, err := e.db.Read.Exec(e.ctx, `UPDATE fee_hwm SET hwm_gain = 0`); err == nil {
		t.Error("the high-water mark fell")
	}
}

// BillAll in chunks of two: a wallet without a valuation to carry is
// skipped with its reason and the others are billed; run again, nothing
// is billed or charged twice; valued later, the skipped one is billed.
func TestFeeBillAllChunksSkipsAndResumes(t *testing.T) {
	e, f := feesEnv(t) // W1: ₹1,00,000.00
	for _, id := range []string{"W2", "W3"} {
		if err := e.wallet.Open(e.ctx, id, "INV-2"); err != nil {
			t.Fatal(err)
		}
	}
	e.pay("e2", "pay_2", "wallet:W2", "captured", 5000000) // ₹50,000.00
	e.pay("e3", "pay_3", "wallet:W3", "captured", 1000)    // ₹10.00
	e.credit()
	for _, ft := range []wallet.FeeTerms{
		{WalletID: "W1", From: fund.NewDate(2026, 7, 1), AUMRatePct: pct("1")},
		{WalletID: "W2", From: fund.NewDate(2026, 8, 5), AUMRatePct: pct("1")}, // not in effect on 3 Aug: no valuation
		{WalletID: "W3", From: fund.NewDate(2026, 7, 1), AUMRatePct: pct("1")},
	} {
		if err := f.SetTerms(e.ctx, ft); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Value(e.ctx, fund.NewDate(2026, 8, 3)); err != nil {
		t.Fatal(err)
	}
	from, to := fund.NewDate(2026, 8, 3), fund.NewDate(2026, 8, 9)
	res, err := f.BillAll(e.ctx, from, to, false, 2)
	if err != nil {
		t.Fatal(err)
	}
	// W1: 100000 × 7 days × 1 / 36500 = 19.178… → 19.17; GST 3.4506 →
	// 3.45; total 22.62. W3: 10 × 7 / 36500 = 0.0019… → 0.00: a zero
	// invoice, charged with no payment. W2 skipped.
	if res.Billed != 2 || res.Charged != 2 || res.Total.String() != "22.62" || len(res.Skipped) != 1 || res.Skipped[0].WalletID != "W2" ||
		!strings.Contains(res.Skipped[0].Reason, "no AUM valuation") {
		t.Fatalf("first run %+v", res)
	}
	if e.balance("W1") != "99977.38" || e.balance("W2") != "50000.00" || e.balance("W3") != "10.00" {
		t.Errorf("balances %s %s %s, want 100000.00 − 22.62 = 99977.38, 50000.00, 10.00", e.balance("W1"), e.balance("W2"), e.balance("W3"))
	}
	again, err := f.BillAll(e.ctx, from, to, false, 2)
	if err != nil || again.Billed != 0 || len(again.Skipped) != 1 || e.balance("W1") != "99977.38" {
		t.Errorf("again %+v %v, W1 %s", again, err, e.balance("W1"))
	}
	// W2 valued on 3 Aug (its terms' start is 5 Aug: the rate is not in
	// effect on 3-4 Aug, so it stays skipped with that reason).
	e.db.Exec(`INSERT INTO fee_valuations (wallet_id, day, cash, holdings, aum) VALUES ('W2', '2026-08-03', 50000, 0, 50000)`)
	res, err = f.BillAll(e.ctx, from, to, false, 2)
	if err != nil || res.Billed != 0 || len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Reason, "no rate in effect") {
		t.Fatalf("third run %+v %v", res, err)
	}
	// Billed from 5 Aug: 50000 × 5 days × 1 / 36500 = 6.849… → 6.84; GST
	// 1.2312 → 1.23; total 8.07.
	inv, created, err := f.Bill(e.ctx, "W2", fund.NewDate(2026, 8, 5), to, false)
	if err != nil || !created || inv.Total.String() != "8.07" || len(inv.Accrual.Days) != 5 || !inv.Accrual.Days[4].Carried {
		t.Fatalf("W2 %+v %v", inv, err)
	}
	if n := e.db.Num(`SELECT count(*) FROM outbox WHERE topic = 'fee.charged'`); n != 3 {
		t.Errorf("%d fee.charged events, want 3 (W1, W3's zero invoice, W2)", n)
	}
	if n := e.db.Num(`SELECT count(*) FROM wallet_transactions WHERE kind = 'fee'`); n != 2 {
		t.Errorf("%d fee payments, want 2 (W1, W2)", n)
	}
	got, ok, err := f.Invoice(e.ctx, wallet.InvoiceID("W1", from, to))
	if err != nil || !ok || len(got.Accrual.Days) != 7 || got.Accrual.Days[0].Carried || !got.Accrual.Days[6].Carried || got.Status != "charged" {
		t.Errorf("W1's invoice read back %+v %v", got, err)
	}
	e.checkJournal(e.db.Read)
}

// Fee terms from a day an invoice covers are refused, naming the first
// day allowed (review r35-wallet L1): August billed at 1 % (terms from
// 1 Jul), then terms from 20 Aug or 1 Jul would be ignored for the billed
// days; from 1 Sep they are taken.
func TestFeeTermsRefusedForABilledDay(t *testing.T) {
	e, f := feesEnv(t)
	if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: fund.NewDate(2026, 7, 1), AUMRatePct: pct("1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Value(e.ctx, fund.NewDate(2026, 8, 1)); err != nil {
		t.Fatal(err)
	}
	if _, created, err := f.Bill(e.ctx, "W1", fund.NewDate(2026, 8, 1), fund.NewDate(2026, 8, 31), false); err != nil || !created {
		t.Fatalf("August: %v", err)
	}
	for _, from := range []fund.Date{fund.NewDate(2026, 8, 20), fund.NewDate(2026, 8, 31), fund.NewDate(2026, 7, 1)} {
		err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: from, AUMRatePct: pct("2")})
		if !errors.Is(err, wallet.ErrBackdatedTerms) || !strings.Contains(err.Error(), "first date allowed is 2026-09-01") {
			t.Errorf("terms from %s: %v, want refused naming 2026-09-01", from, err)
		}
	}
	if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: fund.NewDate(2026, 9, 1), AUMRatePct: pct("2")}); err != nil {
		t.Errorf("terms from 1 Sep: %v", err)
	}
	if got := e.db.Str(`SELECT string_agg(valid_from || ' ' || aum_rate_pct, ',' ORDER BY valid_from) FROM fee_terms WHERE wallet_id = 'W1'`); got != "2026-07-01 1.0000,2026-09-01 2.0000" {
		t.Errorf("terms %s", got)
	}
}

// A change of the performance % or hurdle is refused until the gain at the
// old terms is crystallised through the day before it (review r36 M2, the
// pool's rule): the crystallisation charges the whole gain since the mark
// at the terms in effect at its end.
func TestFeePerfChangeRefusedUntilCrystallised(t *testing.T) {
	e, f := feesEnv(t)
	if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: fund.NewDate(2026, 7, 1), AUMRatePct: pct("0"), PerfPct: pct("10")}); err != nil {
		t.Fatal(err)
	}
	// Deposits 1,00,000.00 (the flows); the wallet gains 10,000.00 by 31 Oct.
	e.db.Exec(`INSERT INTO fee_valuations (wallet_id, day, cash, holdings, aum, net_flows) VALUES
		('W1', '2026-07-01', 100000, 0, 100000, 100000), ('W1', '2026-10-31', 0, 110000, 110000, 100000)`)
	// The old code took 30 % from 1 Nov, and a crystallisation after it
	// charged 30 % × 10,000.00 = 3,000.00 + 540.00 GST for a gain made at 10 %.
	for _, ft := range []wallet.FeeTerms{
		{WalletID: "W1", From: fund.NewDate(2026, 11, 1), AUMRatePct: pct("0"), PerfPct: pct("30")},
		{WalletID: "W1", From: fund.NewDate(2026, 11, 1), AUMRatePct: pct("0"), PerfPct: pct("10"), HurdlePct: pct("5")},
		{WalletID: "W1", From: fund.NewDate(2026, 11, 1), AUMRatePct: pct("0"), PerfPct: pct("0")},
	} {
		err := f.SetTerms(e.ctx, ft)
		if !errors.Is(err, wallet.ErrPerfChangeNotCrystallised) || !strings.Contains(err.Error(), "crystallised never") ||
			!strings.Contains(err.Error(), "managed fees bill --wallet W1 --from 2026-07-01 --to 2026-10-31 --crystallise") {
			t.Errorf("perf %s hurdle %s from 1 Nov: %v, want refused naming the bill through 31 Oct", ft.PerfPct, ft.HurdlePct, err)
		}
	}
	// The AUM rate alone may change.
	if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: fund.NewDate(2026, 10, 15), AUMRatePct: pct("0"), PerfPct: pct("10")}); err != nil {
		t.Errorf("same performance terms from 15 Oct: %v", err)
	}
	// Crystallised through 31 Oct at 10 %: 10 % × (1,10,000 − 1,00,000) =
	// 1,000.00, GST 180.00, total 1,180.00; then 30 % from 1 Nov is taken.
	inv, _, err := f.Bill(e.ctx, "W1", fund.NewDate(2026, 7, 1), fund.NewDate(2026, 10, 31), true)
	if err != nil {
		t.Fatal(err)
	}
	if inv.PerfFee.String() != "1000.00" || inv.GST.String() != "180.00" || inv.Total.String() != "1180.00" {
		t.Errorf("crystallisation %+v", inv)
	}
	if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: fund.NewDate(2026, 11, 1), AUMRatePct: pct("0"), PerfPct: pct("30")}); err != nil {
		t.Errorf("30 %% from 1 Nov after crystallising through 31 Oct: %v", err)
	}
	if got := e.db.Str(`SELECT string_agg(valid_from || ' ' || perf_pct, ',' ORDER BY valid_from) FROM fee_terms WHERE wallet_id = 'W1'`); got != "2026-07-01 10.0000,2026-10-15 10.0000,2026-11-01 30.0000" {
		t.Errorf("terms %s", got)
	}
}

// A change dated the day after a quarter the scheduled run billed without
// crystallising cannot be crystallised up to (its day before is
// invoiced): the refusal names the earliest change and the one-day bill
// that makes it possible, and both work (review r36-3 W1: it suggested a
// bill from 1 Oct to 30 Sep).
func TestFeePerfChangeAfterABilledQuarterNamesABillThatWorks(t *testing.T) {
	e, f := feesEnv(t)
	if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: fund.NewDate(2026, 7, 1), AUMRatePct: pct("1"), PerfPct: pct("10")}); err != nil {
		t.Fatal(err)
	}
	e.db.Exec(`INSERT INTO fee_valuations (wallet_id, day, cash, holdings, aum, net_flows) VALUES
		('W1', '2026-07-01', 100000, 0, 100000, 100000), ('W1', '2026-09-30', 0, 110000, 110000, 100000),
		('W1', '2026-10-01', 0, 110000, 110000, 100000)`)
	if _, _, err := f.Bill(e.ctx, "W1", fund.NewDate(2026, 7, 1), fund.NewDate(2026, 9, 30), false); err != nil {
		t.Fatal(err)
	}
	err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: fund.NewDate(2026, 10, 1), AUMRatePct: pct("1"), PerfPct: pct("30")})
	if !errors.Is(err, wallet.ErrPerfChangeNotCrystallised) || !strings.Contains(err.Error(), "the earliest change is from 2026-10-02") ||
		!strings.Contains(err.Error(), "managed fees bill --wallet W1 --from 2026-10-01 --to 2026-10-01 --crystallise, then the terms from 2026-10-02") {
		t.Fatalf("30 %% from 1 Oct: %v, want refused naming the one-day bill of 1 Oct", err)
	}
	if _, _, err := f.Bill(e.ctx, "W1", fund.NewDate(2026, 10, 1), fund.NewDate(2026, 10, 1), true); err != nil {
		t.Fatalf("the bill the refusal names: %v", err)
	}
	if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: fund.NewDate(2026, 10, 2), AUMRatePct: pct("1"), PerfPct: pct("30")}); err != nil {
		t.Errorf("30 %% from 2 Oct after the named bill: %v", err)
	}
}

// Terms billing could never apply are refused (review r36 L1): dated
// before the wallet's first valuation (every later bill of those days
// failed on "no AUM valuation", for ever), or on a closing or closed
// wallet. A wallet's first terms from today, set after the day's
// valuation ran, write today's valuation with them.
func TestFeeTermsRefusedBeforeTheFirstValuation(t *testing.T) {
	e, f := feesEnv(t) // today (the clock) 20 Aug 2026
	if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: fund.NewDate(2026, 8, 3), AUMRatePct: pct("1")}); err != nil {
		t.Fatal(err) // never valued yet: `fees value --day` backfills 3 Aug
	}
	if _, err := f.Value(e.ctx, fund.NewDate(2026, 8, 3)); err != nil {
		t.Fatal(err)
	}
	for _, from := range []fund.Date{fund.NewDate(2026, 7, 1), fund.NewDate(2026, 8, 2)} {
		err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: from, AUMRatePct: pct("2")})
		if !errors.Is(err, wallet.ErrBackdatedTerms) || !strings.Contains(err.Error(), "first date allowed is 2026-08-03") {
			t.Errorf("terms from %s: %v, want refused naming 2026-08-03", from, err)
		}
	}
	if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: fund.NewDate(2026, 8, 10), AUMRatePct: pct("2")}); err != nil {
		t.Errorf("terms from 10 Aug (valued on 3 Aug): %v", err)
	}
	// W2, funded with 5,000.00, gets its first terms today after the 10:00
	// valuation (which left it out: no terms then).
	if err := e.wallet.Open(e.ctx, "W2", "INV-1"); err != nil {
		t.Fatal(err)
	}
	e.pay("e2", "pay_2", "wallet:W2", "captured", 500000)
	e.credit()
	if _, err := f.Value(e.ctx, fund.NewDate(2026, 8, 20)); err != nil {
		t.Fatal(err)
	}
	if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W2", From: fund.NewDate(2026, 8, 20), AUMRatePct: pct("1")}); err != nil {
		t.Fatal(err)
	}
	// 20 Aug: 5,000.00 × 1 % / 365 = 0.1369… → 0.13; GST 0.0234 → 0.02.
	inv, _, err := f.Bill(e.ctx, "W2", fund.NewDate(2026, 8, 20), fund.NewDate(2026, 8, 20), false)
	if err != nil {
		t.Fatalf("billing W2's first day: %v", err)
	}
	if inv.AUMFee.String() != "0.13" || inv.GST.String() != "0.02" || inv.Total.String() != "0.15" {
		t.Errorf("W2 20 Aug %+v", inv)
	}
	if n := e.db.Num(`SELECT count(*) FROM audit_log WHERE entity = 'wallet' AND action = 'fee_terms'`); n != 3 {
		t.Errorf("%d fee_terms audit rows, want 3 (W1 3 Aug, 10 Aug; W2 20 Aug)", n)
	}
	for status, want := range map[string]error{"closing": wallet.ErrExitInProgress, "closed": wallet.ErrClosed} {
		e.db.Exec(`UPDATE wallets SET status = $1 WHERE id = 'W1'`, status)
		if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: fund.NewDate(2026, 9, 1), AUMRatePct: pct("2")}); !errors.Is(err, want) {
			t.Errorf("terms on a %s wallet: %v, want %v", status, err, want)
		}
	}
}

// A crystallising chunk reads the wallets' transactions only for a last
// valuation written before its net flows were kept (review r36 M1: the
// whole-history sum ran for every wallet and was then overwritten). With
// the table unreadable, the old read failed the chunk.
func TestFeeBillInputsReadFlowsOnlyForOldValuations(t *testing.T) {
	e, _ := feesEnv(t)
	// W1's last valuation keeps its flows (1,00,000.00 deposited); the
	// 2,500.00 the row says is what BillInputs must return, not the
	// history's sum.
	e.db.Exec(`INSERT INTO fee_valuations (wallet_id, day, cash, holdings, aum, net_flows) VALUES
		('W1', '2026-07-01', 100000, 0, 100000, 2500)`)
	e.db.Exec(`REVOKE SELECT ON wallet_transactions FROM ` + testkit.AppRole)
	st := pgstore.Store{Pool: e.db.Read}
	err := st.InFeeTx(e.ctx, func(tx wallet.FeeTx) error {
		if _, err := tx.LockWallets(e.ctx, []string{"W1"}); err != nil {
			return err
		}
		ins, err := tx.BillInputs(e.ctx, []string{"W1"}, fund.NewDate(2026, 7, 1), fund.NewDate(2026, 7, 1), true)
		if err != nil {
			return err
		}
		if got := ins["W1"].NetFlows.String(); got != "2500.00" {
			t.Errorf("net flows %s, want the valuation's 2500.00", got)
		}
		return nil
	})
	if err != nil {
		t.Errorf("billing inputs read wallet_transactions: %v", err)
	}
	// A valuation from before the flows were kept still falls back to the
	// history: the 1,00,000.00 deposit.
	e.db.Exec(`GRANT SELECT ON wallet_transactions TO ` + testkit.AppRole)
	e.db.Exec(`UPDATE fee_valuations SET net_flows = NULL`)
	err = st.InFeeTx(e.ctx, func(tx wallet.FeeTx) error {
		if _, err := tx.LockWallets(e.ctx, []string{"W1"}); err != nil {
			return err
		}
		ins, err := tx.BillInputs(e.ctx, []string{"W1"}, fund.NewDate(2026, 7, 1), fund.NewDate(2026, 7, 1), true)
		if err == nil && ins["W1"].NetFlows.String() != "100000.00" {
			t.Errorf("fallback net flows %s, want 100000.00", ins["W1"].NetFlows)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
