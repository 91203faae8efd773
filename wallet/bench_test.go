package wallet_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/wallet"
)

// BenchmarkAutoInvest: N deposits of ₹20,000.00 arriving at once (the
// webhooks received, then `run managed`'s credit and invest passes), each
// split into 3 purchases (40/35/25), against the plain purchase path in
// the same run and database: 3N purchase orders placed (PlaceOrders, in
// batches of 100) and paid by their captured webhooks. Reported: orders/s
// of each and their ratio. N = FUNDFLOW_BENCH_AUTOINVEST (default 100; the
// issue's 100,000 behind it).
func BenchmarkAutoInvest(b *testing.B) {
	n := benchkit.EnvInt(b, "FUNDFLOW_BENCH_AUTOINVEST", 100)
	for i := 0; i < b.N; i++ {
		e, ai := autoEnv(b)
		for k := 0; k < n; k++ {
			w := fmt.Sprintf("W%05d", k)
			e.db.Exec(`INSERT INTO investors (id) VALUES ($1)`, "INV-"+w)
			if err := e.wallet.Open(e.ctx, w, "INV-"+w); err != nil {
				b.Fatal(err)
			}
			if err := ai.SetTerms(e.ctx, wallet.Terms{WalletID: w, ModelID: "moderate", Folio: "F-" + w, Enabled: true}); err != nil {
				b.Fatal(err)
			}
		}
		receive := func(id, notes string, paise int64) {
			body := moneytest.Payment{ID: id, OrderID: notes, Status: "captured", Paise: paise, At: clock.Add(-time.Minute)}.Body()
			typ, p, err := webhook.ParseRazorpay(body, "ev_"+id)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e.ledger.Receive(e.ctx, ledger.InboxEvent{Source: "razorpay", EventID: "ev_" + id, EventType: typ, Body: body, Payment: p}); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		// Auto-invest: the deposits' webhooks, then the passes.
		start := time.Now()
		for k := 0; k < n; k++ {
			receive(fmt.Sprintf("pay_%05d", k), fmt.Sprintf("wallet:W%05d", k), 2000000)
		}
		if _, err := e.wallet.CreditDeposits(e.ctx, n); err != nil {
			b.Fatal(err)
		}
		res, err := ai.Invest(e.ctx, n)
		if err != nil {
			b.Fatal(err)
		}
		auto := time.Since(start)
		if res.Orders != 3*n {
			b.Fatalf("%d orders, want %d", res.Orders, 3*n)
		}
		// The plain path: the same number of purchases, placed and paid.
		start = time.Now()
		amounts := []string{"8000.00", "7000.00", "5000.00"}
		for k0 := 0; k0 < 3*n; k0 += 100 {
			var ins []fund.OrderIntake
			for k := k0; k < min(k0+100, 3*n); k++ {
				body := fmt.Sprintf(`{"order_id":"P-%06d","type":"purchase","investor_id":"INV-W%05d","folio":"F-W%05d","scheme_code":%q,"amount":%q,"placed_at":%q,"payment_ref":"order_P-%06d"}`,
					k, k/3, k/3, string(rune('A'+k%3)), amounts[k%3], clock.Format(time.RFC3339), k)
				in, ok, err := fund.IntakeOf([]byte(body), fund.Receipt{Source: "bench", At: clock, MaxSkew: time.Hour})
				if !ok {
					b.Fatal(err)
				}
				ins = append(ins, in)
			}
			if _, err := e.ledger.PlaceOrders(e.ctx, ins); err != nil {
				b.Fatal(err)
			}
		}
		for k := 0; k < 3*n; k++ {
			receive(fmt.Sprintf("pay_P%06d", k), fmt.Sprintf("P-%06d", k), moneytest.Paise(amounts[k%3]))
		}
		plain := time.Since(start)
		b.StopTimer()
		if got := e.db.Num(`SELECT count(*) FROM orders WHERE status = 'allotted'`); got != 6*n {
			b.Fatalf("%d allotted, want %d", got, 6*n)
		}
		b.ReportMetric(float64(3*n)/auto.Seconds(), "autoinvest_orders/s")
		b.ReportMetric(float64(3*n)/plain.Seconds(), "plain_orders/s")
		b.ReportMetric(plain.Seconds()/auto.Seconds(), "ratio_vs_plain")
		b.ReportMetric(loadAvg(), "load1")
	}
}

func loadAvg() float64 {
	s, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var f float64
	_, _ = fmt.Sscan(string(s), &f)
	return f
}
