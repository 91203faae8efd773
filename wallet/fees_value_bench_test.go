package wallet_test

import (
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
)

// BenchmarkFeeValuation: the daily valuation (Fees.Value, one statement)
// of N wallets with fee terms, each with ₹1,00,000.00 of cash and three
// flows in its journal (a deposit, a withdrawal, a deposit), against a
// bare INSERT … SELECT of the same N rows (cash only, no holdings, no
// flows) in the same run. Reported: wallets/s of each and their ratio. N =
// FUNDFLOW_BENCH_FEE_WALLETS (default 200).
func BenchmarkFeeValuation(b *testing.B) {
	n := benchkit.EnvInt(b, "FUNDFLOW_BENCH_FEE_WALLETS", 200)
	for i := 0; i < b.N; i++ {
		e := newEnv(b)
		f := &wallet.Fees{Wallet: e.wallet, Store: pgstore.Store{Pool: e.db.Read}}
		e.db.Exec(`INSERT INTO investors (id) SELECT 'INV-B' || g FROM generate_series(1, $1) g`, n)
		e.db.Exec(`INSERT INTO wallets (id, investor_id, balance) SELECT 'B' || lpad(g::text, 7, '0'), 'INV-B' || g, 100000 FROM generate_series(1, $1) g`, n)
		e.db.Exec(`INSERT INTO wallet_transactions (wallet_id, kind, ref, amount) SELECT id, k, k || '-' || r || '-' || id, a FROM wallets
			CROSS JOIN (VALUES ('deposit', 1, 60000), ('withdrawal', 2, 10000), ('deposit', 3, 50000)) v(k, r, a) WHERE id LIKE 'B%'`)
		e.db.Exec(`INSERT INTO wallet_postings (tx_id, seq, account, asset, amount)
			SELECT id, 0, CASE WHEN kind = 'deposit' THEN 'wallet_cash:razorpay' ELSE 'bank_payout' END, 'INR', CASE WHEN kind = 'deposit' THEN amount ELSE -amount END
			FROM wallet_transactions WHERE wallet_id LIKE 'B%'
			UNION ALL SELECT id, 1, 'wallet:' || wallet_id, 'INR', CASE WHEN kind = 'deposit' THEN -amount ELSE amount END FROM wallet_transactions WHERE wallet_id LIKE 'B%'`)
		e.db.Exec(`INSERT INTO fee_terms (wallet_id, valid_from, aum_rate_pct) SELECT id, '2026-04-01', 1.0 FROM wallets WHERE id LIKE 'B%'`)
		e.db.Exec(`CREATE TABLE bench_valuations (wallet_id text, day date, cash numeric(18,2), holdings numeric(18,2), aum numeric(18,2), PRIMARY KEY (wallet_id, day))`)
		e.db.Exec(`ANALYZE`)
		b.ResetTimer()
		start := time.Now()
		got, err := f.Value(e.ctx, fund.NewDate(2026, 6, 30))
		if err != nil {
			b.Fatal(err)
		}
		value := time.Since(start)
		start = time.Now()
		e.db.Exec(`INSERT INTO bench_valuations SELECT id, '2026-06-30', balance, 0, balance FROM wallets WHERE id LIKE 'B%'`)
		raw := time.Since(start)
		b.StopTimer()
		if got != int64(n) {
			b.Fatalf("valued %d of %d", got, n)
		}
		b.ReportMetric(float64(n)/value.Seconds(), "valued_wallets/s")
		b.ReportMetric(float64(n)/raw.Seconds(), "insert_rows/s")
		b.ReportMetric(value.Seconds()/raw.Seconds(), "x_insert_time")
		b.ReportMetric(loadAvg(), "load1")
	}
}
