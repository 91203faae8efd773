package commission_test

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/commissions"
	"github.com/fundflow/fundflow/commissions/chstore"
	"github.com/fundflow/fundflow/commissions/pgstore"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
	"github.com/fundflow/fundflow/internal/ledgerfix"
	"github.com/fundflow/fundflow/internal/testkit"
	jobcomm "github.com/fundflow/fundflow/jobs/commission"
	"github.com/fundflow/fundflow/recon"
	"github.com/fundflow/fundflow/sinks/postgres"
)

const brokerage = commissions.BrokerageHeaderReferral + `
S1,regular,2026-01-01,1.00,,1.5,3000,365,100,250
`

// eventsFixture: investor I1 (new: these are their first investments) runs a
// SIP P1 in S1 through ARN-1 (tree: ARN-1 keeps 60 %, SUB-A 40 %): 2,000.00
// on 1-Apr and on 1-May at NAV 10 (stamp duty 2,000 × 5/100,005 = 0.099995
// → 0.10; 1,999.90 / 10 = 199.990 units each), then redeems 249.990 units on
// 1-Jun. Investor I2's folio F2 is direct and buys too.
func eventsFixture(t *testing.T) (context.Context, *pgxpool.Pool, pgstore.Store, ledgerfix.Written) {
	t.Helper()
	ctx := testkit.Ctx(t)
	pool, _ := testkit.PG(t)
	st := pgstore.Store{Pool: pool}
	apr, may, jun := fund.NewDate(2026, 4, 1), fund.NewDate(2026, 5, 1), fund.NewDate(2026, 6, 1)
	w, err := ledgerfix.Load(ctx, pool, ledgerfix.Spec{
		Investors: []ledgerfix.Investor{{ID: "I1", Folios: []string{"F1"}}, {ID: "I2", Folios: []string{"F2"}}},
		Schemes: []ledgerfix.Scheme{{Code: "S1", Name: "S1 Fund - Regular Plan", AMC: "Test AMC",
			NAVs: map[fund.Date]string{apr: "10.0000", may: "10.0000", jun: "12.0000"}}},
		Txs: []ledgerfix.Tx{
			{Folio: "F1", Scheme: "S1", Kind: "purchase", Date: apr, Amount: "2000.00"},
			{Folio: "F2", Scheme: "S1", Kind: "purchase", Date: apr, Amount: "2000.00"},
			{Folio: "F1", Scheme: "S1", Kind: "purchase", Date: may, Amount: "2000.00"},
			{Folio: "F1", Scheme: "S1", Kind: "redemption", Date: jun, Units: "249.990"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ledgerfix.MarkSIP(ctx, pool,
		ledgerfix.SIPInstalment{PlanID: "P1", Bank: "HDFC", OrderID: w.OrderIDs[0], Seq: 1, Due: apr},
		ledgerfix.SIPInstalment{PlanID: "P1", Bank: "HDFC", OrderID: w.OrderIDs[2], Seq: 2, Due: may}); err != nil {
		t.Fatal(err)
	}
	f, err := commissions.ParseBrokerage("b.csv", strings.NewReader(brokerage))
	if err != nil || len(f.Rejected) != 0 {
		t.Fatal(err, f.Rejected)
	}
	if _, err := st.PutBrokerage(ctx, f); err != nil {
		t.Fatal(err)
	}
	parties := []commission.Party{
		{ID: "ARN-1", Kind: commission.ARNHolder, ValidFrom: fund.NewDate(2020, 1, 1), GSTRegistered: true, IntraState: true},
		{ID: "SUB-A", Kind: commission.SubBroker, ValidFrom: fund.NewDate(2020, 1, 1)},
	}
	tree := commission.Tree{Root: "ARN-1", From: fund.NewDate(2026, 1, 1), Shares: []commission.Share{
		{Parent: "ARN-1", Payee: "ARN-1", Pct: decimal.New(60, 0)}, {Parent: "ARN-1", Payee: "SUB-A", Pct: decimal.New(40, 0)}}}
	if err := st.PutHierarchy(ctx, parties, []commission.Tree{tree}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetFolioDistributor(ctx, "F1", "ARN-1", "E1"); err != nil {
		t.Fatal(err)
	}
	// transactions.completed as the ledger writes it (ledgerfix writes no
	// outbox), and one malformed row.
	if _, err := pool.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload)
		SELECT 'transactions.completed:' || order_id, 'transactions.completed', folio_no,
		       jsonb_build_object('event_id', 'transactions.completed:' || order_id, 'tx_id', id, 'order_id', order_id,
		                          'kind', kind, 'folio', folio_no, 'scheme_code', scheme_code)
		FROM ledger_transactions ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload) VALUES ('bad-1', 'transactions.completed', 'F1', '{"event_id": "bad-1"}')`); err != nil {
		t.Fatal(err)
	}
	return ctx, pool, st, w
}

func runEvents(t *testing.T, ctx context.Context, pool *pgxpool.Pool) commissions.EventResult {
	t.Helper()
	var total commissions.EventResult
	p := jobcomm.OutboxPipeline(jobcomm.EventDeps{Store: pgstore.Store{Pool: pool}, Quarantine: postgres.Store{Pool: pool},
		Log: testkit.Logger(t), OnResult: func(r commissions.EventResult) {
			total.Lines += r.Lines
			total.Skipped += r.Skipped
			total.Published += r.Published
			total.Unknown += r.Unknown
		}}, false)
	if _, err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return total
}

// clawRat is the clawback rule by an independent route: upfront × taken /
// allotted × unexpired / period in big.Rat, rounded half-up to the paisa.
func clawRat(upfront, taken, allotted string, unexpired, period int64) decimal.Decimal {
	r, _ := new(big.Rat).SetString(upfront)
	tk, _ := new(big.Rat).SetString(taken)
	al, _ := new(big.Rat).SetString(allotted)
	r.Mul(r, tk).Quo(r, al).Mul(r, big.NewRat(unexpired, period))
	paise := new(big.Rat).Mul(r, big.NewRat(100, 1))
	n := new(big.Int).Quo(new(big.Int).Add(new(big.Int).Mul(paise.Num(), big.NewInt(2)), paise.Denom()), new(big.Int).Mul(paise.Denom(), big.NewInt(2)))
	return decimal.NewFromBigInt(n, -2)
}

func TestEventCommissionsOnTheOutbox(t *testing.T) {
	ctx, pool, _, w := eventsFixture(t)
	first := runEvents(t, ctx, pool)

	// Clawback on 1-Jun, FIFO over the ledger's own consumptions: lot 1
	// (1-Apr, 199.990 units) taken whole 61 days in: 365 − 61 = 304 days
	// unexpired: 30.00 × 304/365 = 24.986… → 24.99; lot 2 (1-May) gives
	// 50.000 of 199.990 units, 31 days in, 334 unexpired: 30.00 × 50/199.99 ×
	// 334/365 = 501,000/72,996.35 = 6.863… → 6.86.
	if c := clawRat("30", "199.990", "199.990", 304, 365); !c.Equal(decimal.RequireFromString("24.99")) {
		t.Fatalf("independent clawback of lot 1 = %s", c)
	}
	if c := clawRat("30", "50", "199.990", 334, 365); !c.Equal(decimal.RequireFromString("6.86")) {
		t.Fatalf("independent clawback of lot 2 = %s", c)
	}
	want := map[string]string{
		"first_sip:" + itoa(w.TxIDs[0]):       "100.00", // the folio's first SIP instalment
		"referral:" + itoa(w.TxIDs[0]):        "250.00", // the investor's first investment
		"upfront:" + itoa(w.TxIDs[0]):         "30.00",  // 2,000 × 1.5 %
		"upfront:" + itoa(w.TxIDs[2]):         "30.00",  // the new investor's second instalment
		"clawback:" + itoa(w.TxIDs[3]):        "24.99",
		"clawback:" + itoa(w.TxIDs[3]) + "#2": "6.86",
	}
	rows, err := pool.Query(ctx, `SELECT key, kind, bucket, amount::text, coalesce(lot_id, 0) FROM commission_events ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	claws := 0
	for rows.Next() {
		var key, kind, bucket, amt string
		var lot int64
		if err := rows.Scan(&key, &kind, &bucket, &amt, &lot); err != nil {
			t.Fatal(err)
		}
		if bucket != "ARN-1" {
			t.Errorf("%s: bucket %s, want ARN-1", key, bucket)
		}
		short := key
		if kind == "upfront" || kind == "clawback" {
			short = key[:strings.LastIndex(key, ":")]
		}
		if kind == "clawback" {
			claws++
			if claws == 2 {
				short += "#2"
			}
		}
		got[short] = amt
	}
	rows.Close()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %s (all: %v)", k, got[k], v, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d lines %v; want %d (the direct folio F2 earns nothing)", len(got), got, len(want))
	}
	// commission.calculated once per transaction with lines: txs 1, 3, 4.
	if first.Lines != 6 || first.Published != 3 || first.Skipped != 0 {
		t.Errorf("first run %+v; want 6 lines, 3 published", first)
	}
	var published, quarantined, pending int
	pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE topic = 'commission.calculated'`).Scan(&published)
	pool.QueryRow(ctx, `SELECT count(*) FROM quarantine WHERE pipeline = $1`, jobcomm.EventsName).Scan(&quarantined)
	pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE topic = 'transactions.completed' AND commissioned_at IS NULL`).Scan(&pending)
	if published != 3 || quarantined != 1 || pending != 0 {
		t.Errorf("published %d quarantined %d pending %d; want 3, 1 (the malformed row), 0", published, quarantined, pending)
	}
	// Every event entry balances and the accrued account of ARN-1 holds
	// 100 + 250 + 30 + 30 − 24.99 − 6.86 = 378.15.
	var accrued decimal.Decimal
	pool.QueryRow(ctx, `SELECT -sum(p.amount) FROM commission_postings p JOIN commission_journal j ON j.id = p.tx_id
		WHERE j.kind = 'event' AND p.account = 'distributor:ARN-1:accrued'`).Scan(&accrued)
	if !accrued.Equal(decimal.RequireFromString("378.15")) {
		t.Errorf("ARN-1 accrued from events %s, want 378.15", accrued)
	}

	// A redelivery (the marks lost after the writes: a crash between the
	// two) writes nothing twice.
	if _, err := pool.Exec(ctx, `UPDATE outbox SET commissioned_at = NULL WHERE topic = 'transactions.completed'`); err != nil {
		t.Fatal(err)
	}
	again := runEvents(t, ctx, pool)
	var n int
	pool.QueryRow(ctx, `SELECT count(*) FROM commission_events`).Scan(&n)
	pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE topic = 'commission.calculated'`).Scan(&published)
	if again.Lines != 0 || again.Skipped != 6 || n != 6 || published != 3 {
		t.Errorf("redelivery %+v, %d lines, %d published; want nothing new", again, n, published)
	}
}

func itoa(n int64) string { return decimal.NewFromInt(n).String() }

func TestPayoutIncludesEventAmounts(t *testing.T) {
	ctx, pool, st, _ := eventsFixture(t)
	runEvents(t, ctx, pool)
	svc := commissions.Service{Store: st}
	for d := 1; d <= 30; d++ {
		if _, err := svc.AccrueDay(ctx, fund.NewDate(2026, 4, d)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := commissions.PayMonth(ctx, st, fund.NewDate(2026, 4, 1), fund.NewDate(2026, 5, 7))
	if err != nil {
		t.Fatal(err)
	}
	// April's trail: 199.990 units × 10 (carried all month) × 1 % = 1,999.90 a
	// day, × 30 = 59,997 / 36,500 = 1.64375… → 1.64, split 60/40 exactly as
	// 0.98625… and 0.65750…: floors 0.98 + 0.65 = 1.63, the paisa left to
	// the larger remainder (SUB-A's 0.75 paisa): 0.98 and 0.66.
	// April's events (1-Apr): first SIP 100 + referral 250 = 350 → 210 / 140;
	// upfront 30 → 18 / 12. No clawback in April (it is June's).
	// ARN-1 (GST registered, same state): gross 0.98 + 18 + 210 = 228.98;
	// CGST = SGST = 9 % = 20.6082 → 20.61; TDS 2 % (on 7-May-2026) = 4.5796
	// → 4.58; net 228.98 + 41.22 − 4.58 = 265.62.
	// SUB-A: gross 0.66 + 12 + 140 = 152.66; TDS 3.0532 → 3.05; net 149.61.
	want := map[string][5]string{ // trail, upfront, events, gross, net
		"ARN-1": {"0.98", "18.00", "210.00", "228.98", "265.62"},
		"SUB-A": {"0.66", "12.00", "140.00", "152.66", "149.61"},
	}
	if len(p.Statements) != 2 {
		t.Fatalf("statements %+v", p.Statements)
	}
	for _, s := range p.Statements {
		w := want[s.Payee]
		got := [5]string{s.Trail.String(), s.Upfront.String(), s.Events.String(), s.Gross.String(), s.Net.String()}
		if got != w {
			t.Errorf("%s: %v, want %v", s.Payee, got, w)
		}
	}
	// The payout moved every rupee accrued in April to the payables.
	var left decimal.Decimal
	pool.QueryRow(ctx, `SELECT coalesce(sum(p.amount), 0) FROM commission_postings p JOIN commission_journal j ON j.id = p.tx_id
		WHERE p.account = 'distributor:ARN-1:accrued' AND (j.kind = 'payout' OR j.day < '2026-05-01')`).Scan(&left)
	if !left.IsZero() {
		t.Errorf("ARN-1 accrued left after April's payout: %s", left)
	}
}

// June on our side, from the ledger: F1 holds 199.990 × 2 − 249.990 =
// 149.990 units at 12 all month: average AUM 1,799.88, trail 1 %, 1,799.88 ×
// 30 days / 36,500 = 1.4793… → 1.48, and the month's clawbacks 24.99 + 6.86 =
// 31.85. A generated statement with every line changed is reconciled to
// exactly its truth; the clean one to no break.
func TestBrokerageStatementOfOurMonth(t *testing.T) {
	ctx, pool, st, _ := eventsFixture(t)
	runEvents(t, ctx, pool)
	svc := commissions.Service{Store: st}
	for d := 1; d <= 30; d++ {
		if _, err := svc.AccrueDay(ctx, fund.NewDate(2026, 6, d)); err != nil {
			t.Fatal(err)
		}
	}
	ours, err := st.BrokerageLines(ctx, fund.NewDate(2026, 6, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(ours) != 1 {
		t.Fatalf("ours %+v", ours)
	}
	l := ours[0]
	if l.ARN != "ARN-1" || l.Folio != "F1" || l.AvgAUM.StringFixed(2) != "1799.88" || l.TrailPct.String() != "1" ||
		l.Brokerage.String() != "1.48" || l.Clawback.String() != "31.85" {
		t.Fatalf("June's line %+v", l)
	}
	for _, kind := range append([]string{""}, recon.BrokerageInjections...) {
		opt := recon.BrokerageGenOptions{Seed: 5}
		if kind != "" {
			opt.Rate, opt.Types = 1, []string{kind}
		}
		amc, truth, err := recon.GenerateBrokerageStatement(ours, opt)
		if err != nil {
			t.Fatal(err)
		}
		s := recon.ScoreBrokerage(recon.ReconcileBrokerage(ours, amc), truth)
		if s.Found != len(truth) || len(s.Missed)+len(s.Unexpected) != 0 || (kind != "" && len(truth) != 1) {
			t.Errorf("%q: %d truth, score %+v", kind, len(truth), s)
		}
	}
}

// The ClickHouse facts carry what the ledger's commission tables hold: per
// kind, the same count and sum (trail: the exact basis; events and payouts:
// rupees), and a second copy of the period changes nothing (FINAL).
func TestCommissionFactsMatchTheLedger(t *testing.T) {
	ctx, pool, st, _ := eventsFixture(t)
	runEvents(t, ctx, pool)
	svc := commissions.Service{Store: st}
	for d := 1; d <= 30; d++ {
		if _, err := svc.AccrueDay(ctx, fund.NewDate(2026, 4, d)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := commissions.PayMonth(ctx, st, fund.NewDate(2026, 4, 1), fund.NewDate(2026, 5, 7)); err != nil {
		t.Fatal(err)
	}
	conn, _ := testkit.CH(t)
	from, to := fund.NewDate(2026, 4, 1), fund.NewDate(2026, 6, 30)
	for i := 0; i < 2; i++ {
		facts, err := st.Facts(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if err := chstore.Write(ctx, conn, facts, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	// Independent route: the Postgres rows themselves.
	want := map[string]string{}
	var trailBasis string
	pool.QueryRow(ctx, `SELECT sum(basis)::text FROM trail_accruals`).Scan(&trailBasis)
	want["trail"] = trailBasis // 30 days × 1,999.90 = 59,997
	rows, _ := pool.Query(ctx, `SELECT kind, sum(amount)::text FROM commission_events GROUP BY kind`)
	for rows.Next() {
		var k, v string
		rows.Scan(&k, &v)
		want[k] = v
	}
	rows.Close()
	var net string
	pool.QueryRow(ctx, `SELECT sum(net)::text FROM commission_payouts`).Scan(&net)
	want["payout_net"] = net // 265.62 + 149.61 = 415.23
	if !decimal.RequireFromString(trailBasis).Equal(decimal.RequireFromString("59997")) {
		t.Fatalf("trail basis %s, want 59,997", trailBasis)
	}
	if !decimal.RequireFromString(net).Equal(decimal.RequireFromString("415.23")) {
		t.Fatalf("payout net %s, want 415.23", net)
	}
	chRows, err := conn.Query(ctx, `SELECT kind, toString(sum(basis)), toString(sum(amount)) FROM commission_facts FINAL GROUP BY kind`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for chRows.Next() {
		var k, b, a string
		if err := chRows.Scan(&k, &b, &a); err != nil {
			t.Fatal(err)
		}
		if k == "trail" {
			got[k] = b
		} else {
			got[k] = a
		}
	}
	for k, w := range want {
		g, err := decimal.NewFromString(got[k])
		if err != nil || !g.Equal(decimal.RequireFromString(w)) {
			t.Errorf("%s: ClickHouse %q, Postgres %s", k, got[k], w)
		}
	}
}

// Why is June's payout low against May's? No trail accrued in either (the
// components of the trail are zero); May had the second instalment's
// upfront, 30.00, June the clawbacks, 24.99 + 6.86 = 31.85: previous 30.00,
// current −31.85, difference −61.85 = −30.00 (events) − 31.85 (clawbacks).
func TestExplainCountsEventsAndClawbacks(t *testing.T) {
	ctx, pool, st, _ := eventsFixture(t)
	runEvents(t, ctx, pool)
	e, err := commissions.ExplainMonth(ctx, st, "ARN-1", fund.NewDate(2026, 6, 1))
	if err != nil {
		t.Fatal(err)
	}
	if e.Previous.String() != "30.00" || e.Current.String() != "-31.85" || e.Difference.String() != "-61.85" {
		t.Fatalf("explain %+v", e)
	}
	sum := fund.Amount{}
	got := map[string]string{}
	for _, c := range e.Components {
		sum = sum.Add(c.Amount)
		got[c.Cause] = c.Amount.String()
	}
	if !sum.Equal(e.Difference) || got[commissions.CauseEvents] != "-30.00" || got[commissions.CauseClawbacks] != "-31.85" {
		t.Errorf("components %v sum %s; want events -30.00, clawbacks -31.85, summing to -61.85", got, sum)
	}
}

// The same events from Kafka (topic transactions.completed, group
// fundflow-commissions): the same six lines; a malformed message is
// quarantined; a second consumer of the group after the first committed
// reads nothing again, and a redelivery would write nothing (the keys).
func TestEventCommissionsOnKafka(t *testing.T) {
	ctx, pool, _, _ := eventsFixture(t)
	brokers := testkit.Kafka(t, 2, fund.TopicTransactions)
	rows, err := pool.Query(ctx, `SELECT key, payload::text FROM outbox WHERE topic = 'transactions.completed' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []kafkago.Message
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, kafkago.Message{Key: []byte(k), Value: []byte(v)})
	}
	rows.Close()
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: fund.TopicTransactions, Balancer: &kafkago.Hash{}}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()
	consume := func(want int) {
		t.Helper()
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		p, err := jobcomm.KafkaPipeline(jobcomm.EventDeps{Store: pgstore.Store{Pool: pool}, Quarantine: postgres.Store{Pool: pool},
			Log: testkit.Logger(t)}, brokers, 0)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := p.Run(cctx); done <- err }()
		for ctx.Err() == nil { // until the rows are there (or the test's own deadline)
			var n, q int
			pool.QueryRow(ctx, `SELECT count(*) FROM commission_events`).Scan(&n)
			pool.QueryRow(ctx, `SELECT count(*) FROM quarantine WHERE pipeline = $1`, jobcomm.EventsName).Scan(&q)
			if n >= want && q >= 1 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond) // let the batch's offsets commit
		cancel()
		<-done
	}
	consume(6)
	consume(6)
	var n, published, q int
	pool.QueryRow(ctx, `SELECT count(*) FROM commission_events`).Scan(&n)
	pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE topic = 'commission.calculated'`).Scan(&published)
	pool.QueryRow(ctx, `SELECT count(*) FROM quarantine WHERE pipeline = $1`, jobcomm.EventsName).Scan(&q)
	if n != 6 || published != 3 || q != 1 {
		t.Errorf("%d lines, %d commission.calculated, %d quarantined; want 6, 3, 1", n, published, q)
	}
}

// A negative gross is carried into the next month and set off there. June:
// F1 holds 149.990 units at 12 (carried all month) at 1 %: 1,799.88 × 30 /
// 36,500 = 1.47935… → 1.48, split 60/40 as 0.887… and 0.591…: floors 0.88 +
// 0.59, the paisa to ARN-1 (0.76 against 0.17): 0.89 and 0.59. June's
// clawbacks 24.99 + 6.86 = 31.85 split 60/40 exactly: 19.11 and 12.74.
// Gross: ARN-1 0.89 − 19.11 = −18.22, SUB-A 0.59 − 12.74 = −12.15: both
// carried, nothing paid or taxed. July, at 50 % from 1-Jul: 1,799.88 × 50 =
// 89,994 a day × 31 = 2,789,814 / 36,500 = 76.43326… → 76.43; 60 % =
// 45.85995…, 40 % = 30.57330…: floors 45.85 + 30.57 = 76.42, the paisa to
// ARN-1: 45.86 and 30.57. ARN-1: 45.86 − 18.22 = 27.64; CGST = SGST = 9 % =
// 2.4876 → 2.49; TDS 2 % = 0.5528 → 0.55; net 27.64 + 4.98 − 0.55 = 32.07.
// SUB-A: 30.57 − 12.15 = 18.42; TDS 0.3684 → 0.37; net 18.05.
func TestNegativeGrossCarriedIntoNextMonth(t *testing.T) {
	ctx, pool, st, _ := eventsFixture(t)
	runEvents(t, ctx, pool)
	f, err := commissions.ParseBrokerage("b-jul.csv", strings.NewReader(commissions.BrokerageHeaderReferral+`
S1,regular,2026-07-01,50,,1.5,3000,365,100,250
`))
	if err != nil || len(f.Rejected) != 0 {
		t.Fatal(err, f.Rejected)
	}
	if _, err := st.PutBrokerage(ctx, f); err != nil {
		t.Fatal(err)
	}
	svc := commissions.Service{Store: st}
	for d := fund.NewDate(2026, 6, 1); d.Before(fund.NewDate(2026, 8, 1)); d = d.AddDays(1) {
		if _, err := svc.AccrueDay(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	type row struct{ trail, claw, bf, gross, gst, tds, net, carried string }
	cases := []struct {
		month fund.Date
		want  map[string]row
	}{
		{fund.NewDate(2026, 6, 1), map[string]row{
			"ARN-1": {"0.89", "19.11", "0.00", "-18.22", "0.00", "0.00", "0.00", "-18.22"},
			"SUB-A": {"0.59", "12.74", "0.00", "-12.15", "0.00", "0.00", "0.00", "-12.15"}}},
		{fund.NewDate(2026, 7, 1), map[string]row{
			"ARN-1": {"45.86", "0.00", "-18.22", "27.64", "4.98", "0.55", "32.07", "0.00"},
			"SUB-A": {"30.57", "0.00", "-12.15", "18.42", "0.00", "0.37", "18.05", "0.00"}}},
	}
	for _, c := range cases {
		p, err := commissions.PayMonth(ctx, st, c.month, c.month.AddDays(37))
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Statements) != len(c.want) {
			t.Fatalf("%s: statements %+v", c.month, p.Statements)
		}
		for _, s := range p.Statements {
			got := row{s.Trail.String(), s.Clawback.String(), s.BroughtForward.String(), s.Gross.String(), s.GST.String(),
				s.TDS.String(), s.Net.String(), s.Carried.String()}
			if got != c.want[s.Payee] {
				t.Errorf("%s %s: %+v; want %+v", c.month, s.Payee, got, c.want[s.Payee])
			}
			stored, _, ok, err := st.PayoutOf(ctx, s.Payee, c.month)
			if err != nil || !ok || !stored.BroughtForward.Equal(s.BroughtForward) || !stored.Carried.Equal(s.Carried) {
				t.Errorf("%s %s stored %+v %v; want brought forward %s, carried %s", c.month, s.Payee, stored, err, s.BroughtForward, s.Carried)
			}
		}
	}
	// August cannot be paid before... it is not accrued; and a month after a
	// gap is refused: September's carry would skip August's.
	if _, err := commissions.PayMonth(ctx, st, fund.NewDate(2026, 9, 1), fund.NewDate(2026, 10, 7)); err == nil {
		t.Error("September before August: paid; want refused")
	}
}

// A clawback is split by the hierarchy in force on its upfront's day, not the
// redemption's. From 15-Apr ARN-1's tree is 80/20 (it was 60/40). June's
// clawbacks: 24.99 of the 1-Apr lot's upfront (paid 60/40) and 6.86 of the
// 1-May lot's (paid 80/20). Exact shares: ARN-1 24.99 × 0.6 + 6.86 × 0.8 =
// 14.994 + 5.488 = 20.482; SUB-A 9.996 + 1.372 = 11.368; floors 20.48 +
// 11.36 = 31.84, the paisa left to SUB-A (0.8 against 0.2): 20.48 and
// 11.37. (By the redemption day's 80/20 it would be 25.48 and 6.37.)
func TestClawbackSplitByTheUpfrontsHierarchy(t *testing.T) {
	ctx, pool, st, _ := eventsFixture(t)
	tree := commission.Tree{Root: "ARN-1", From: fund.NewDate(2026, 4, 15), Shares: []commission.Share{
		{Parent: "ARN-1", Payee: "ARN-1", Pct: decimal.New(80, 0)}, {Parent: "ARN-1", Payee: "SUB-A", Pct: decimal.New(20, 0)}}}
	if err := st.PutHierarchy(ctx, nil, []commission.Tree{tree}); err != nil {
		t.Fatal(err)
	}
	runEvents(t, ctx, pool)
	svc := commissions.Service{Store: st}
	for d := 1; d <= 30; d++ {
		if _, err := svc.AccrueDay(ctx, fund.NewDate(2026, 6, d)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := commissions.PayMonth(ctx, st, fund.NewDate(2026, 6, 1), fund.NewDate(2026, 7, 7))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range p.EventLines {
		if l.Kind == commission.KindClawback {
			got[l.Payee] = l.Amount.String()
		}
	}
	if want := map[string]string{"ARN-1": "20.48", "SUB-A": "11.37"}; len(got) != 2 || got["ARN-1"] != want["ARN-1"] || got["SUB-A"] != want["SUB-A"] {
		t.Errorf("June's clawback lines %v; want %v", got, want)
	}
	// The statements take back the same: June's trail 1.48 split by June's
	// 80/20 tree (1.18348… and 0.29587…: floors 1.18 + 0.29, the paisa to
	// SUB-A): ARN-1 1.18 − 20.48 = −19.30, SUB-A 0.30 − 11.37 = −11.07.
	for _, s := range p.Statements {
		if w := map[string]string{"ARN-1": "-19.30", "SUB-A": "-11.07"}[s.Payee]; s.Gross.String() != w || s.Carried.String() != w {
			t.Errorf("%s gross %s carried %s; want %s", s.Payee, s.Gross, s.Carried, w)
		}
	}
}
