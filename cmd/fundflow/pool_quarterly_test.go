package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
)

// poolCmdEnv is the pool commands' test database (wallet W1 of
// investor INV-1 holding 5,000.00, balanced in the journal) and a config
// with the 2026 holidays, FUNDFLOW_PG_URL and FUNDFLOW_CH_URL set.
func poolCmdEnv(t *testing.T) (moneytest.DB, string) {
	t.Helper()
	owner, _, app, appURL := testkit.PGApp(t)
	db := moneytest.DB{T: t, Ctx: testkit.Ctx(t), Owner: owner, Read: app}
	db.Exec(`INSERT INTO investors (id) VALUES ('INV-1')`)
	db.Exec(`INSERT INTO wallets (id, investor_id, balance) VALUES ('W1', 'INV-1', 5000)`)
	db.Exec(`INSERT INTO wallet_transactions (wallet_id, kind, ref, amount) VALUES ('W1', 'deposit', 'dep-W1', 5000)`)
	db.Exec(`INSERT INTO wallet_postings (tx_id, seq, account, asset, amount)
		SELECT id, 0, 'wallet_cash:razorpay', 'INR', 5000 FROM wallet_transactions
		UNION ALL SELECT id, 1, 'wallet:W1', 'INR', -5000 FROM wallet_transactions`)
	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte("pipelines:\n  allocate:\n    holidays: ["+testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FUNDFLOW_PG_URL", appURL)
	_, chURL := testkit.CH(t)
	t.Setenv("FUNDFLOW_CH_URL", chURL)
	return db, cfgPath
}

// `fundflow run managed-fees` bills the pools' quarter too, once. By hand:
// 36.5 % a year on 1,000.00 is 1.00 a day; 21 Aug's NAV accrues 21 Aug
// (1.00) and the weekend on the value after, 1,000.00 − 1.18 = 998.82
// (2 × 0.99882): 2.99764 → 2.99 + GST 0.54 (fee_accrued 3.53, value after
// 996.47); 30 Sep's accrues 24 Aug..29 Sep at 21 Aug's value after and 30
// Sep at 1,000.00 − 3.53, both 996.47: 38 × 0.99647 = 37.86586 → 37.86,
// GST 6.8148 → 6.81. The quarter's bill: 2.99 + 37.86 = 40.85 + GST
// 7.353 → 7.35 (= the 0.54 + 6.81 provisioned) = 48.20, cash 951.80,
// fee_accrued 0.00. The year ends in March (the default): no performance
// fee.
func TestManagedFeesRunBillsPools(t *testing.T) {
	db, cfgPath := poolCmdEnv(t)
	must := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(context.Background(), append([]string{"--config", cfgPath, "--log-level", "error"}, args...), &out, io.Discard); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	must("pool", "create", "P1", "--name", "Income", "--launch", "10.0000")
	must("pool", "fees", "terms", "--pool", "P1", "--from", "2026-08-20", "--aum-rate", "36.5", "--perf", "10")
	must("pool", "contribute", "--pool", "P1", "--wallet", "W1", "--request", "c-W1", "--amount", "1000.00", "--clock", "2026-08-20T10:00:00+05:30")
	for _, d := range []string{"2026-08-20", "2026-08-21", "2026-09-30"} {
		must("pool", "nav", "--day", d)
	}
	type runOut struct {
		Status string `json:"status"`
		Pools  struct {
			From, To, Status string
			Billed           int      `json:"pools_billed"`
			Total            string   `json:"total"`
			Invoices         []string `json:"invoices"`
		} `json:"pools"`
	}
	billRun := func() runOut {
		t.Helper()
		var r runOut
		if err := json.Unmarshal([]byte(must("run", "managed-fees", "--clock", "2026-10-01T06:00:00+05:30")), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := billRun()
	if r.Status != "billed" || r.Pools.Status != "billed" || r.Pools.Billed != 1 || r.Pools.Total != "48.20" ||
		len(r.Pools.Invoices) != 1 || r.Pools.Invoices[0] != "PFEE-P1-2026-07-01-2026-09-30" {
		t.Errorf("first run %+v", r)
	}
	if r := billRun(); r.Status != "already_billed" || r.Pools.Status != "already_billed" || r.Pools.Billed != 0 {
		t.Errorf("second run %+v", r)
	}
	if got := db.Str(`SELECT p.cash || ' ' || p.fee_accrued || ' ' || i.aum_fee || ' ' || i.perf_fee || ' ' || i.gst || ' ' || i.status
		FROM pools p JOIN pool_fee_invoices i ON i.pool_id = p.id WHERE p.id = 'P1'`); got != "951.80 0.00 40.85 0.00 7.35 charged" {
		t.Errorf("pool and invoice %s", got)
	}
}
