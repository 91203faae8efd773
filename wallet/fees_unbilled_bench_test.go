package wallet_test

import (
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/wallet/pgstore"
)

// BenchmarkUnbilledWallets: the quarterly run's scan for days no invoice
// covers (Store.UnbilledWallets, once per quarter) over N wallets with fee
// terms from 1 Jan and two quarters' invoices each (no gap: it finds
// none), against a bare count(*) of the same invoices in the same run.
// N = FUNDFLOW_BENCH_FEE_WALLETS (default 200).
func BenchmarkUnbilledWallets(b *testing.B) {
	n := benchkit.EnvInt(b, "FUNDFLOW_BENCH_FEE_WALLETS", 200)
	for i := 0; i < b.N; i++ {
		e := newEnv(b)
		e.db.Exec(`INSERT INTO investors (id) SELECT 'INV-B' || g FROM generate_series(1, $1) g`, n)
		e.db.Exec(`INSERT INTO wallets (id, investor_id, balance) SELECT 'B' || lpad(g::text, 7, '0'), 'INV-B' || g, 0 FROM generate_series(1, $1) g`, n)
		e.db.Exec(`INSERT INTO fee_terms (wallet_id, valid_from, aum_rate_pct) SELECT id, '2026-01-01', 1.0 FROM wallets WHERE id LIKE 'B%'`)
		e.db.Exec(`INSERT INTO fee_invoices (id, wallet_id, investor_id, period_from, period_to, aum_fee, perf_fee, fee, gst, total, body, status)
			SELECT 'FEE-' || id || '-' || f, id, investor_id, f::date, t::date, 1, 0, 1, 0.18, 1.18, '{}', 'charged' FROM wallets
			CROSS JOIN (VALUES ('2026-01-01', '2026-03-31'), ('2026-04-01', '2026-06-30')) q(f, t) WHERE id LIKE 'B%'`)
		e.db.Exec(`ANALYZE`)
		st := pgstore.Store{Pool: e.db.Read}
		b.ResetTimer()
		start := time.Now()
		ids, err := st.UnbilledWallets(e.ctx, fund.NewDate(2026, 6, 30), "", 1000)
		if err != nil {
			b.Fatal(err)
		}
		scan := time.Since(start)
		start = time.Now()
		if got := e.db.Num(`SELECT count(*) FROM fee_invoices`); got != 2*n {
			b.Fatalf("%d invoices", got)
		}
		raw := time.Since(start)
		b.StopTimer()
		if len(ids) != 0 {
			b.Fatalf("found %d wallets with a gap, want none", len(ids))
		}
		b.ReportMetric(scan.Seconds(), "scan_s")
		b.ReportMetric(raw.Seconds(), "count_s")
		b.ReportMetric(scan.Seconds()/raw.Seconds(), "x_count_time")
		b.ReportMetric(loadAvg(), "load1")
	}
}
