package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/fraudtest"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
)

// A child `fundflow fraud run` (no Kafka: it reads the outbox, with the
// ledger, so hold alerts hold their legs in the alert's transaction) is
// killed with SIGKILL at random points, 20 times, and restarted, while
// real orders are placed and paid through the ledger and allotment passes
// (the ledger's AllotPending, as the allocate job runs it) race the holds
// every 20 ms; the NAV the orders wait for lands halfway. One rule holds
// every purchase in [45,000, 50,000). In the end:
//   - every such purchase has exactly one alert (one row, one
//     fraud.alert.raised, one audit row) and no other order has one;
//   - every alert either holds its leg, or records the ledger's refusal
//     because the leg was allotted first (the race lost, as the design
//     allows), never neither;
//   - no leg with a fraud hold is allotted, whatever it raced;
//   - every other order is allotted (the passes did run);
//   - a third of the held purchases are paid only after the last run: they
//     are held for certain, and a pass after their payment leaves them
//     pending.
func TestFraudHoldsCrashWithAllotment(t *testing.T) {
	bin := fundflowBinary(t)
	svc, db, app, appURL := fraudtest.LedgerURL(t)
	ctx := testkit.Ctx(t)
	db.Scheme("E1", "Equity Scheme - Flexi Cap Fund")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(`version: 1
rules:
  - {id: just-under, kind: structuring, scope: investor, window: 24h, action: hold, thresholds: {min_count: 1, amount: 50000, band: 5000}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte(`pipelines:
  allocate:
    every: 1h
    holidays: [`+testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")+`]
fraud:
  rules_file: rules.yaml
  batch_size: 7
  snapshot_interval: 300ms
`), 0o644); err != nil {
		t.Fatal(err)
	}
	chURL := testkit.Env(t, "FUNDFLOW_CH_URL")
	var lastOut *bytes.Buffer
	start := func() *exec.Cmd {
		cmd, out := startChild(t, bin, []string{"FUNDFLOW_PG_URL=" + appURL, "FUNDFLOW_CH_URL=" + chURL},
			"--config", cfgPath, "--log-level", "warn", "fraud", "run")
		lastOut = out
		return cmd
	}

	// The orders, one investor each: every third in the band (held), the
	// rest outside it (below 45,000 or from 50,000 up). Of the held ones,
	// every third is paid only at the end.
	type order struct {
		id    string
		paise int64
		held  bool // in [45,000, 50,000)
		late  bool // paid after the last run
	}
	const n = 180
	rng := rand.New(rand.NewPCG(32, 19))
	orders := make([]order, n)
	for i := range orders {
		o := order{id: fmt.Sprintf("HC-%03d", i)}
		switch {
		case i%3 == 0:
			o.paise, o.held = 4_500_000+rng.Int64N(500_000), true // 45,000.00 to 49,999.99
			o.late = i%9 == 0
		case i%2 == 0:
			o.paise = 100_000 + rng.Int64N(4_400_000) // 1,000.00 to 44,999.99
		default:
			o.paise = 5_000_000 + rng.Int64N(1_000_000) // 50,000.00 up
		}
		orders[i] = o
	}
	amount := func(p int64) string { return fmt.Sprintf("%d.%02d", p/100, p%100) }
	place := func(o order) {
		fraudtest.Place(t, svc, fmt.Sprintf(`{"order_id":%q,"type":"purchase","investor_id":"INV-%s","folio":"F-%s","scheme_code":"E1","amount":%q,"placed_at":"2026-08-03T10:00:00+05:30","payment_ref":"order_%s"}`,
			o.id, o.id, o.id, amount(o.paise), o.id))
	}
	pay := func(o order) { fraudtest.Capture(t, svc, o.id, o.paise, moneytest.IST("2026-08-03T10:05:00+05:30")) }

	// the allocate job's passes, racing the evaluation's holds
	actx, stopAllot := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var allotErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for actx.Err() == nil {
			if _, err := svc.AllotPending(actx, 25); err != nil && actx.Err() == nil {
				allotErr = err
				return
			}
			select {
			case <-actx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	defer func() { stopAllot(); wg.Wait() }()

	const kills = 20
	chunk := n/kills + 1
	for k := range kills {
		cmd := start()
		if k == kills/2 {
			db.NAV("E1", "2026-08-03", "50.0000") // the pending legs may be allotted from now on
		}
		for _, o := range orders[min(k*chunk, n):min((k+1)*chunk, n)] {
			place(o)
			if !o.late {
				pay(o)
			}
		}
		time.Sleep(time.Duration(200+rng.IntN(700)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	// the last run evaluates what is left; the passes go on meanwhile
	cmd := start()
	progress, lastMove := int64(-2), time.Now()
	for {
		var pos, last int64 = -1, 0
		app.QueryRow(ctx, `SELECT last_off FROM fraud_positions WHERE stream = 'outbox' AND part = 0`).Scan(&pos)                                         //nolint:errcheck
		app.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM outbox WHERE topic IN ('orders.status', 'investors.changed', 'payments.status')`).Scan(&last) //nolint:errcheck
		if pos >= last && db.Num(`SELECT count(*) FROM fraud_alerts`) >= n/3 {
			break
		}
		if pos != progress {
			progress, lastMove = pos, time.Now()
		} else if time.Since(lastMove) > 30*time.Second {
			t.Fatalf("the last run stalled at outbox %d of %d:\n%s", pos, last, lastOut)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("not all evaluated: %v\n%s", ctx.Err(), lastOut)
		case <-time.After(100 * time.Millisecond):
		}
	}
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()
	stopAllot()
	wg.Wait()
	if allotErr != nil {
		t.Fatalf("allotment pass: %v", allotErr)
	}
	// the late payments, then a pass: their legs are held
	for _, o := range orders {
		if o.late {
			pay(o)
		}
	}
	if _, err := svc.AllotPending(ctx, 25); err != nil {
		t.Fatal(err)
	}

	// the alerts: exactly one per purchase in the band, counted from the input
	var want []string
	for _, o := range orders {
		if o.held {
			want = append(want, "just-under:orders.status:"+o.id+":awaiting_payment")
		}
	}
	slices.Sort(want)
	rows, err := app.Query(ctx, `SELECT a.id, (SELECT count(*) FROM outbox o WHERE o.event_id = 'fraud.alert.raised:' || a.id),
		(SELECT count(*) FROM audit_log l WHERE l.entity = 'fraud_alert' AND l.entity_id = a.id),
		coalesce(a.hold_id, 0), coalesce(a.hold_error, '') FROM fraud_alerts a ORDER BY a.id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	refused := map[string]bool{}
	for rows.Next() {
		var id, holdErr string
		var ob, au int
		var holdID int64
		if err := rows.Scan(&id, &ob, &au, &holdID, &holdErr); err != nil {
			t.Fatal(err)
		}
		if ob != 1 || au != 1 {
			t.Errorf("alert %s: %d outbox events, %d audit rows; want 1 each", id, ob, au)
		}
		switch {
		case holdID != 0 && holdErr == "":
		case holdID == 0 && strings.Contains(holdErr, "allotted"):
			refused[strings.Split(id, ":")[2]] = true
		default:
			t.Errorf("alert %s: hold %d, error %q; want a hold, or the ledger's refusal of an allotted leg", id, holdID, holdErr)
		}
		got = append(got, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("after %d kills: %d alerts %v\nwant %d %v", kills, len(got), got, len(want), want)
	}

	// the legs: no held one allotted; every other one allotted
	heldN, lateN := 0, 0
	for _, o := range orders {
		status := db.Str(`SELECT status FROM orders WHERE id = $1`, o.id)
		holds := db.Num(`SELECT count(*) FROM order_holds WHERE order_id = $1 AND source = 'fraud'`, o.id)
		open := db.Num(`SELECT count(*) FROM order_holds WHERE order_id = $1 AND source = 'fraud' AND closed_at IS NULL`, o.id)
		txs := db.Num(`SELECT count(*) FROM orders WHERE id = $1 AND ledger_tx_id IS NOT NULL`, o.id)
		switch {
		case o.held && refused[o.id]:
			if status != "allotted" || holds != 0 {
				t.Errorf("%s: the ledger refused its hold, but it is %s with %d holds", o.id, status, holds)
			}
		case o.held:
			heldN++
			if holds != 1 || open != 1 || status == "allotted" || txs != 0 {
				t.Errorf("%s: %d fraud holds (%d open), status %s, %d ledger transactions; want one open hold and not allotted", o.id, holds, open, status, txs)
			}
			if o.late {
				lateN++
				if status != "pending_nav" {
					t.Errorf("%s (paid after the last run): %s, want pending_nav behind its hold", o.id, status)
				}
			}
		default:
			if status != "allotted" || holds != 0 {
				t.Errorf("%s (outside the band): %s with %d fraud holds, want allotted and none", o.id, status, holds)
			}
		}
	}
	t.Logf("%d purchases in the band: %d held (%d paid after the last run), %d allotted before the evaluation reached them",
		len(want), heldN, lateN, len(refused))
	if lateN != n/9 {
		t.Errorf("%d late-paid held legs, want %d", lateN, n/9)
	}
}
