package kra_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/investors/pgstore"
	"github.com/fundflow/fundflow/jobs/kra"
	"github.com/fundflow/fundflow/ledger"
	ledgerpg "github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// record onboards an investor with pan (a valid resident individual).
func record(id, pan string) string {
	return `{"investor_id":"` + id + `","name":"A B","pan":"` + pan + `","dob":"1990-04-01","tax_status":"resident_individual",
	"email":"a@example.in","mobile":"9876543210","address":{"line1":"1 Road","city":"Pune","pincode":"411001","country":"IN"},
	"bank_accounts":[{"account_no":"123456789012","ifsc":"HDFC0001234","holder_name":"A B","type":"savings","default":true}],
	"nomination_opt_out":true,"fatca":{"birth_country":"IN","citizenship":"IN","tax_residencies":[{"country":"IN"}]}}`
}

// The job end to end from a folder: the file's rows applied (an on-hold
// investor's paid purchase held), bad rows quarantined with line and
// reason, the unknown PAN kept; a later run past refund_after rejects the
// held purchase and its payment gets the refund-due alert.
// jobEnv is a database, a ledger, the investor master and its store on the
// application's role, on a clock at Thursday 20 August 2026, 10:00 IST.
type jobEnv struct {
	owner, app *pgxpool.Pool
	db         moneytest.DB
	now        time.Time
	clock      func() time.Time
	sealer     *pii.Sealer
	led        *ledger.Service
	store      pgstore.Store
	inv        *investors.Service
}

func newJobEnv(t *testing.T) *jobEnv {
	t.Helper()
	owner, _, app, _ := testkit.PGApp(t)
	cal, err := holidays.Calendar(testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	e := &jobEnv{owner: owner, app: app, now: moneytest.IST("2026-08-20T10:00:00+05:30"), store: pgstore.Store{Pool: app}}
	e.db = moneytest.DB{T: t, Ctx: testkit.Ctx(t), Owner: owner, Read: app}
	e.clock = func() time.Time { return e.now }
	e.sealer, _ = pii.New(bytes.Repeat([]byte{3}, 32))
	e.led = &ledger.Service{Store: ledgerpg.New(app), Calendar: cal, Audit: true, Now: e.clock}
	e.inv = &investors.Service{Store: e.store, PII: e.sealer, Now: e.clock}
	return e
}

func TestJob(t *testing.T) {
	e := newJobEnv(t)
	ctx, db, now, clock, sealer, led, store, inv, app := testkit.Ctx(t), e.db, e.now, e.clock, e.sealer, e.led, e.store, e.inv, e.app
	for id, pan := range map[string]string{"INV-1": "ABCPE1234F", "INV-2": "ZZZPZ9999Z"} {
		if _, _, err := inv.Create(ctx, []byte(record(id, pan)), "onboarding", investors.ChannelAPI); err != nil {
			t.Fatal(err)
		}
	}
	db.Scheme("E1", "Equity")
	db.NAV("E1", "2026-08-20", "20.0000")

	dir := t.TempDir()
	file := "APP_PAN_NO|APP_STATUS|APP_STATUSDT|APP_HOLD_DEACTIVE_RMKS\n" +
		"ABCPE1234F|03|19-08-2026 18:00:00|address mismatch\n" +
		"ZZZPZ9999Z|07|19-08-2026 18:00:00|\n" +
		"ABCPE12|07|19-08-2026|\n" +
		"QQQPQ1111Q|01|19-08-2026|\n"
	if err := os.WriteFile(filepath.Join(dir, "kra_20260819.txt"), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("test.yaml", []byte("pipelines:\n  kra:\n    source: {kind: file, path: "+dir+", stable_for: 0s}\n    refund_after: 24h\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := pipelines.NewMetrics(prometheus.NewRegistry())
	gate := &investors.Gate{Store: store, Ledger: led, PII: sealer, Now: clock, Log: testkit.Logger(t)}
	ch, _ := testkit.CH(t)
	j := kra.Job{Config: cfg.Pipelines.KRA, PG: &postgres.Store{Pool: app}, Gate: gate, Ledger: led, CH: ch, Now: clock, Metrics: m, Log: testkit.Logger(t)}
	out, err := j.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out.Quarantined != 1 || out.Refunded != 0 || out.Facts != 2 {
		t.Errorf("first run %+v: want 1 row quarantined, nothing refunded, 2 investors' facts", out)
	}
	var facts string
	if err := ch.QueryRow(ctx, `SELECT concat(toString(as_of), ' ', kyc_status, ' ', kyc_reason, ' ', nomination, ' ', toString(unverified_accounts))
		FROM investor_facts FINAL WHERE investor_id = 'INV-1'`).Scan(&facts); err != nil || facts != "2026-08-20 on_hold kyc_on_hold opted_out 1" {
		t.Errorf("INV-1's facts: %q %v", facts, err)
	}
	if got := db.Str(`SELECT source_file || ':' || source_line || ' ' || reason FROM quarantine WHERE pipeline = 'kra'`); got != "kra_20260819.txt:4 bad_pan" {
		t.Errorf("quarantine: %s", got)
	}
	if n := db.Num(`SELECT count(*) FROM kyc_unmatched`); n != 1 {
		t.Errorf("unmatched %d", n)
	}

	// INV-1's purchase, paid: held (kyc_on_hold).
	a := fund.MustAmount("1000")
	req := fund.OrderRequest{ID: "P1", Kind: fund.ReqPurchase, InvestorID: "INV-1", Folio: "F-1", SchemeCode: "E1", Amount: &a,
		Currency: "INR", PaymentRef: "order_P1", PlacedAt: now.Add(-time.Minute)}
	if _, err := led.Place(ctx, fund.OrderIntake{Req: req, Source: "test", ReceivedAt: req.PlacedAt, At: req.PlacedAt}); err != nil {
		t.Fatal(err)
	}
	body := moneytest.Payment{ID: "pay_P1", OrderID: "P1", Status: "captured", Paise: 100000, At: now}.Body()
	typ, p, _ := webhook.ParseRazorpay(body, "evt_P1")
	if _, err := led.Receive(ctx, ledger.InboxEvent{Source: "razorpay", EventID: "evt_P1", EventType: typ, Body: body, Payment: p}); err != nil {
		t.Fatal(err)
	}
	if got := db.Str(`SELECT o.status || ' ' || h.reason FROM orders o JOIN order_holds h ON h.order_id = o.id WHERE o.id = 'P1'`); got != "pending_nav kyc_on_hold" {
		t.Fatalf("P1: %s", got)
	}
	// Before refund_after: nothing. After (the hold was raised on the
	// database's clock): the purchase is rejected and its payment owed back.
	// The job's clock is counted from raised_at itself, so the test does not
	// depend on how far the process's clock is from the database's.
	var raised time.Time
	if err := app.QueryRow(ctx, `SELECT raised_at FROM order_holds WHERE order_id = 'P1'`).Scan(&raised); err != nil {
		t.Fatal(err)
	}
	j.Now = func() time.Time { return raised.Add(time.Hour) }
	if out, err := j.Run(ctx); err != nil || out.Refunded != 0 {
		t.Fatalf("run before refund_after: %+v %v", out, err)
	}
	j.Now = func() time.Time { return raised.Add(25 * time.Hour) }
	if out, err := j.Run(ctx); err != nil || out.Refunded != 1 {
		t.Fatalf("run after refund_after: %+v %v", out, err)
	}
	if got := db.Str(`SELECT status || ' ' || reason FROM orders WHERE id = 'P1'`); got != "rejected hold_rejected:kyc" {
		t.Errorf("P1 after refund_after: %s", got)
	}
	if n := db.Num(`SELECT count(*) FROM alerts WHERE kind = 'refund_due' AND subject = 'pay_P1'`); n != 1 {
		t.Errorf("refund_due alerts for pay_P1: %d", n)
	}
	if !strings.Contains(db.Str(`SELECT note FROM order_holds WHERE order_id = 'P1'`), "24h0m0s") {
		t.Errorf("hold note: %s", db.Str(`SELECT note FROM order_holds WHERE order_id = 'P1'`))
	}
}
