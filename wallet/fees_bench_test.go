package wallet_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
)

// BenchmarkFeeBilling: a quarter's fee billing (1-Apr..30-Jun-2026) over
// N wallets, each with ₹1,00,000.00 of cash (a deposit in the journal), a
// rate change mid-quarter (1 % to 1.25 % from 16 May) and one valuation
// carried over the quarter: BillAll (set-based: chunks of 5,000 wallets a
// transaction, inputs read in one round trip, the accrual by runs in Go,
// the invoices by COPY, the payments with their postings and balances in
// one statement, events and audit in bulk) against a bare COPY of the same
// N invoice rows in the same run.
// Reported: wallets/s of each and their ratio. N =
// FUNDFLOW_BENCH_FEE_WALLETS (default 200; the 1,000,000 behind it).
func BenchmarkFeeBilling(b *testing.B) {
	n := benchkit.EnvInt(b, "FUNDFLOW_BENCH_FEE_WALLETS", 200)
	for i := 0; i < b.N; i++ {
		e := newEnv(b)
		f := &wallet.Fees{Wallet: e.wallet, Store: pgstore.Store{Pool: e.db.Read}}
		// Set-based setup (not timed): investors, wallets, a balanced
		// deposit each, terms, one valuation each.
		e.db.Exec(`INSERT INTO investors (id) SELECT 'INV-B' || g FROM generate_series(1, $1) g`, n)
		e.db.Exec(`INSERT INTO wallets (id, investor_id, balance) SELECT 'B' || lpad(g::text, 7, '0'), 'INV-B' || g, 100000 FROM generate_series(1, $1) g`, n)
		e.db.Exec(`INSERT INTO wallet_transactions (wallet_id, kind, ref, amount) SELECT id, 'deposit', 'bench-' || id, 100000 FROM wallets WHERE id LIKE 'B%'`)
		e.db.Exec(`INSERT INTO wallet_postings (tx_id, seq, account, asset, amount)
			SELECT id, 0, 'wallet_cash:razorpay', 'INR', 100000 FROM wallet_transactions WHERE ref LIKE 'bench-%'
			UNION ALL SELECT id, 1, 'wallet:' || wallet_id, 'INR', -100000 FROM wallet_transactions WHERE ref LIKE 'bench-%'`)
		e.db.Exec(`INSERT INTO fee_terms (wallet_id, valid_from, aum_rate_pct) SELECT id, d::date, r FROM wallets
			CROSS JOIN (VALUES ('2026-04-01', 1.0), ('2026-05-16', 1.25)) v(d, r) WHERE id LIKE 'B%'`)
		e.db.Exec(`INSERT INTO fee_valuations (wallet_id, day, cash, holdings, aum) SELECT id, '2026-04-01', 100000, 0, 100000 FROM wallets WHERE id LIKE 'B%'`)
		b.ResetTimer()
		start := time.Now()
		res, err := f.BillAll(e.ctx, fund.NewDate(2026, 4, 1), fund.NewDate(2026, 6, 30), false, 5000)
		if err != nil {
			b.Fatal(err)
		}
		bill := time.Since(start)
		// The baseline: the same N invoice rows, COPYed bare.
		e.db.Exec(`CREATE TABLE bench_invoices (id text, wallet_id text, period_from date, period_to date, fee numeric(18,2), gst numeric(18,2), total numeric(18,2))`)
		rows := make([][]any, n)
		for k := range rows {
			w := fmt.Sprintf("B%07d", k+1)
			rows[k] = []any{"FEE-" + w, w, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC),
				decimal.RequireFromString("280.82"), decimal.RequireFromString("50.55"), decimal.RequireFromString("331.37")}
		}
		start = time.Now()
		if _, err := e.db.Owner.CopyFrom(e.ctx, pgx.Identifier{"bench_invoices"}, []string{"id", "wallet_id", "period_from", "period_to", "fee", "gst", "total"}, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
		cp := time.Since(start)
		b.StopTimer()
		// Each wallet: 100000 × (45 days × 1 + 46 days × 1.25) / 36500 =
		// 280.8219… → 280.82; GST 50.5476 → 50.55; 331.37 charged.
		if res.Billed != n || res.Charged != n || !res.Total.Equal(fund.AmountFromPaise(33137*int64(n))) {
			b.Fatalf("%+v", res)
		}
		if got := e.db.Str(`SELECT min(balance)::text || ' ' || max(balance)::text FROM wallets WHERE id LIKE 'B%'`); got != "99668.63 99668.63" {
			b.Fatalf("balances %s, want 100000.00 − 331.37 = 99668.63", got)
		}
		b.ReportMetric(float64(n)/bill.Seconds(), "billed_wallets/s")
		b.ReportMetric(float64(n)/cp.Seconds(), "copy_rows/s")
		b.ReportMetric(bill.Seconds()/cp.Seconds(), "x_copy_time")
		b.ReportMetric(loadAvg(), "load1")
	}
}
