package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/kragen"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/investors/pgstore"
	"github.com/fundflow/fundflow/ledger"
	ledgerpg "github.com/fundflow/fundflow/ledger/pgstore"
)

// `fundflow kyc load` applying a KRA file (small batches) is killed with
// SIGKILL at random points, at least 20 times, and run again until one run
// finishes, while paid purchases of the file's investors keep arriving. No
// NAV is published until the end, so nothing can be allotted early. Then
// the NAVs land and the allocate pass runs: every purchase of an investor
// the truth file holds is still held (with the truth's reason), every
// purchase of one it does not is allotted; each investor's restriction is
// the truth's; the ledger's invariants hold.
//
// It runs with each batch written by one transaction and by two
// (pipelines.kra.shards): with two, a kill can land after one shard's
// commit and before the other's, and the rerun must finish the batch.
// With two shards each batch is also applied in parts of 3 PANs
// (pipelines.kra.part_size), the next part's lookup overlapping the last
// one's writes: a kill can land between parts too.
func TestKYCLoadCrashAndRestart(t *testing.T) {
	for _, c := range []struct{ shards, part int }{{1, 0}, {2, 3}} {
		t.Run(fmt.Sprintf("shards=%d-part=%d", c.shards, c.part), func(t *testing.T) { kycLoadCrash(t, c.shards, c.part) })
	}
}

// kycLoadCrash runs the test with the batch's shards and part size (0: a
// batch of 7 rows is one part).
func kycLoadCrash(t *testing.T, shards, part int) {
	bin := fundflowBinary(t)
	owner, _, app, appURL := testkit.PGApp(t)
	ctx := testkit.Ctx(t)
	key := bytes.Repeat([]byte{5}, 32)
	sealer, _ := pii.New(key)
	cal, err := holidays.Calendar(testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	// Orders are placed, and their NAV dates decided, on a clock that runs
	// from a business day the fixture calendar covers, so the test does not
	// depend on today's date (the calendar ends with 2026).
	start, began := time.Date(2026, 8, 20, 10, 0, 0, 0, fund.IST()), time.Now()
	clock := func() time.Time { return start.Add(time.Since(began)) }
	led := &ledger.Service{Store: ledgerpg.New(app), Calendar: cal, Audit: true, Now: clock}
	svc := &investors.Service{Store: pgstore.Store{Pool: app}, PII: sealer}
	const n = 150
	var invs []kragen.Investor
	for i := 0; i < n; i++ {
		inv := kragen.Investor{ID: fmt.Sprintf("K%03d", i), PAN: kragen.PAN(i)}
		body := `{"investor_id":"` + inv.ID + `","name":"A B","pan":"` + inv.PAN + `","dob":"1990-04-01","tax_status":"resident_individual",
	"email":"a@example.in","mobile":"9876543210","address":{"line1":"1 Road","city":"Pune","pincode":"411001","country":"IN"},
	"bank_accounts":[{"account_no":"123456789012","ifsc":"HDFC0001234","holder_name":"A B","type":"savings","default":true}],
	"nomination_opt_out":true,"fatca":{"birth_country":"IN","citizenship":"IN","tax_residencies":[{"country":"IN"}]}}`
		if _, _, err := svc.Create(ctx, []byte(body), "onboarding", investors.ChannelAPI); err != nil {
			t.Fatal(err)
		}
		invs = append(invs, inv)
	}
	if _, err := owner.Exec(ctx, `INSERT INTO schemes (code, name, category, version, valid_from) VALUES ('E1', 'Fund E1', 'Equity', 1, '2020-01-01')`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var status, aadhaar, truthBuf bytes.Buffer
	if _, err := kragen.Write(&status, &aadhaar, &truthBuf, invs, kragen.Options{Seed: 11, Hold: 0.25, Reject: 0.1, Inoperative: 0.1, Bad: 0.05,
		Unknown: 5, At: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"kra_status.txt": status.Bytes(), "pan_aadhaar.txt": aadhaar.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	truth, err := kragen.ReadTruth(&truthBuf)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte(`
pipelines:
  allocate:
    holidays: [`+testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")+`]
  kra:
    source: {kind: file, path: `+dir+`, stable_for: 0s}
    batch_size: 7
    shards: `+fmt.Sprint(shards)+`
    part_size: `+fmt.Sprint(part)+`
`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, chURL := testkit.CH(t) // its own ClickHouse database, migrated (investor_facts)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }); wg.Wait() }
	run := func(killAfter time.Duration) (killed bool) {
		cmd := exec.Command(bin, "--config", cfgPath, "--log-level", "warn", "kyc", "load")
		cmd.Env = append(os.Environ(), "FUNDFLOW_PG_URL="+appURL, "FUNDFLOW_CH_URL="+chURL, "FUNDFLOW_PII_KEY="+base64.StdEncoding.EncodeToString(key))
		killed, err := runOrKill(cmd, killAfter)
		if err != nil {
			halt()
			t.Fatalf("kyc load: %v", err)
		}
		return killed
	}

	// Purchases arrive (placed and paid) all along.
	var orders []string
	var ordersMu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(3, 4))
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			default:
			}
			inv := invs[rng.IntN(n)]
			id := fmt.Sprintf("O%04d", k)
			a := fund.MustAmount("1000")
			now := clock()
			req := fund.OrderRequest{ID: id, Kind: fund.ReqPurchase, InvestorID: inv.ID, Folio: "F-" + inv.ID, SchemeCode: "E1", Amount: &a,
				Currency: "INR", PaymentRef: "order_" + id, PlacedAt: now.Add(-time.Second)}
			if _, err := led.Place(context.Background(), fund.OrderIntake{Req: req, Source: "test", ReceivedAt: now, At: now}); err != nil {
				t.Error(err)
				return
			}
			body := moneytest.Payment{ID: "pay_" + id, OrderID: id, Status: "captured", Paise: 100000, At: now}.Body()
			typ, p, _ := webhook.ParseRazorpay(body, "evt_"+id)
			if _, err := led.Receive(context.Background(), ledger.InboxEvent{Source: "razorpay", EventID: "evt_" + id, EventType: typ, Body: body, Payment: p}); err != nil {
				t.Error(err)
				return
			}
			ordersMu.Lock()
			orders = append(orders, id)
			ordersMu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	kills := 0
	for kills < 20 {
		if run(time.Duration(50+rng.IntN(400)) * time.Millisecond) {
			kills++
		}
	}
	run(0)
	halt()
	if t.Failed() {
		return
	}
	// The NAVs land (every day of the next fortnight) and the allocate pass runs.
	for d := fund.DateOf(start).AddDays(-1); d.Before(fund.DateOf(clock().In(fund.IST())).AddDays(15)); d = d.AddDays(1) {
		if _, err := owner.Exec(ctx, `INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line) VALUES ('E1', $1, 20, nav_source('t', 't'), 1)`, d.Time()); err != nil {
			t.Fatal(err)
		}
	}
	for {
		res, err := led.AllotPending(ctx, 500)
		if err != nil {
			t.Fatal(err)
		}
		if res.Allotted == 0 {
			break
		}
	}
	want := map[string]kragen.Truth{}
	for _, w := range truth {
		want[w.InvestorID] = w
	}
	rs, err := pgstore.Store{Pool: app}.KYCRestrictions(ctx, func() (ids []string) {
		for _, v := range invs {
			ids = append(ids, v.ID)
		}
		return
	}())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range invs {
		w, r := want[v.ID], rs[v.ID]
		if (r.InvestorID != "") != (w.Reason != "") || r.Reason != w.Reason {
			t.Errorf("%s: restriction %q, truth %q", v.ID, r.Reason, w.Reason)
		}
	}
	held, allotted := 0, 0
	for _, id := range orders {
		var inv, st, reason string
		if err := owner.QueryRow(ctx, `SELECT o.investor_id, o.status, coalesce(h.reason, '') FROM orders o
			LEFT JOIN order_holds h ON h.order_id = o.id AND h.closed_at IS NULL WHERE o.id = $1`, id).Scan(&inv, &st, &reason); err != nil {
			t.Fatal(err)
		}
		w := want[inv]
		switch {
		// A hold keeps the reason it was placed with: an order held while the
		// KRA said on hold stays kyc_on_hold when the PAN turns inoperative
		// later (the investor's restriction, checked above, says
		// pan_inoperative).
		case w.Reason != "" && (st != "pending_nav" || reason == ""):
			t.Errorf("%s of %s (truth %s): %s, hold %q: an on-hold investor's order must stay held", id, inv, w.Reason, st, reason)
		case w.Reason == "" && st != "allotted":
			t.Errorf("%s of %s (no restriction): %s, hold %q: a validated investor's order must not stay held", id, inv, st, reason)
		case w.Reason != "":
			held++
		default:
			allotted++
		}
	}
	// Nothing twice: a feed line replayed after a kill wrote its history
	// row once, and each history row with a change_seq is exactly one
	// kra_feed event of that change_seq; a KYC change writes no version,
	// and the later of the profile's and kyc_status's change_seq is the
	// investor's last event's.
	var dup, orphan, versions, events, changes, profiles int
	if err := owner.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM (SELECT 1 FROM kyc_status_history GROUP BY investor_id, source_sha256, source_line HAVING count(*) > 1) d),
		(SELECT count(*) FROM kyc_status_history h WHERE change_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM outbox o
			WHERE o.topic = 'investors.changed' AND o.key = h.investor_id AND (o.payload->>'change_seq')::int = h.change_seq
			AND o.payload->>'channel' = 'kra_feed')),
		(SELECT count(*) FROM investor_versions WHERE channel = 'kra_feed'),
		(SELECT count(*) FROM outbox WHERE topic = 'investors.changed' AND payload->>'channel' = 'kra_feed'),
		(SELECT count(*) FROM kyc_status_history WHERE change_seq IS NOT NULL),
		(SELECT count(*) FROM investor_profiles p LEFT JOIN kyc_status k USING (investor_id)
			WHERE greatest(p.change_seq, k.change_seq) <> (SELECT max((o.payload->>'change_seq')::int) FROM outbox o
				WHERE o.topic = 'investors.changed' AND o.key = p.investor_id))`).Scan(&dup, &orphan, &versions, &events, &changes, &profiles); err != nil {
		t.Fatal(err)
	}
	if dup != 0 || orphan != 0 || versions != 0 || events != changes || profiles != 0 {
		t.Errorf("after the kills: %d lines with two history rows, %d changes without their event, %d kra_feed versions; %d events for %d changes; %d investors whose latest change_seq is not their last event's",
			dup, orphan, versions, events, changes, profiles)
	}
	// The shards reached the gate: two shards (or two parts, each a range
	// of the batch's sorted PANs) of one batch write two batch audit rows
	// whose line ranges interleave; one shard of one part never does.
	var overlapping int
	if err := owner.QueryRow(ctx, `WITH b AS (SELECT seq, payload->>'source_sha256' AS f, (payload->>'first_line')::int AS lo,
			(payload->>'last_line')::int AS hi FROM audit_log WHERE action = 'kyc_status_batch')
		SELECT count(*) FROM b x JOIN b y ON x.f = y.f AND x.seq < y.seq AND x.lo <= y.hi AND y.lo <= x.hi`).Scan(&overlapping); err != nil {
		t.Fatal(err)
	}
	if (overlapping > 0) != (shards > 1 || part > 0) {
		t.Errorf("%d pairs of batch audit rows with interleaved lines, with %d shards and parts of %d", overlapping, shards, part)
	}
	if err := ledgergen.CheckService(ctx, app); err != nil {
		t.Error(err)
	}
	t.Logf("%d shards, %d kills; %d orders: %d held, %d allotted; %d interleaved batch audit pairs", shards, kills, len(orders), held, allotted, overlapping)
}
