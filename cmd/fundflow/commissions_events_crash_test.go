package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/commissions"
	"github.com/fundflow/fundflow/commissions/pgstore"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
	"github.com/fundflow/fundflow/internal/ledgerfix"
	"github.com/fundflow/fundflow/internal/testkit"
)

// The commission event consumer (`fundflow commissions events`, a child
// process reading the outbox in batches of 7) is SIGKILLed 8 times while it
// works through 300 transactions.completed events, and then run to the end.
// Each event is a new investor's first SIP instalment of 2,000.00 in S1
// through ARN-1 (first SIP 100, referral 250, upfront 1.5 % × 2,000 = 30,
// clawback period 365 days), so in the end, by hand: 300 lines of each kind
// with those amounts (900 lines, 300 × 380 = 114,000.00), each once, one
// journal entry per line, one commission.calculated per transaction, and
// every event marked consumed.
func TestCommissionEventsCrashAndRestart(t *testing.T) {
	bin := fundflowBinary(t)
	ctx := testkit.Ctx(t)
	owner, ownerURL := testkit.PG(t)
	const n = 300
	apr := fund.NewDate(2026, 4, 1)
	spec := ledgerfix.Spec{Schemes: []ledgerfix.Scheme{{Code: "S1", Name: "S1 Fund - Regular Plan", AMC: "Test AMC",
		NAVs: map[fund.Date]string{apr: "10.0000"}}}}
	for i := 0; i < n; i++ {
		folio := fmt.Sprintf("F%d", i)
		spec.Investors = append(spec.Investors, ledgerfix.Investor{ID: fmt.Sprintf("I%d", i), Folios: []string{folio}})
		spec.Txs = append(spec.Txs, ledgerfix.Tx{Folio: folio, Scheme: "S1", Kind: "purchase", Date: apr, Amount: "2000.00"})
	}
	w, err := ledgerfix.Load(ctx, owner, spec)
	if err != nil {
		t.Fatal(err)
	}
	var sips []ledgerfix.SIPInstalment
	for i, id := range w.OrderIDs {
		sips = append(sips, ledgerfix.SIPInstalment{PlanID: fmt.Sprintf("P%d", i), Bank: "HDFC", OrderID: id, Seq: 1, Due: apr})
	}
	if err := ledgerfix.MarkSIP(ctx, owner, sips...); err != nil {
		t.Fatal(err)
	}
	st := pgstore.Store{Pool: owner}
	f, err := commissions.ParseBrokerage("b.csv", strings.NewReader(commissions.BrokerageHeaderReferral+"\nS1,regular,2026-01-01,1.00,,1.5,3000,365,100,250\n"))
	if err != nil || len(f.Rejected) != 0 {
		t.Fatal(err, f.Rejected)
	}
	if _, err := st.PutBrokerage(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := st.PutHierarchy(ctx, []commission.Party{{ID: "ARN-1", Kind: commission.ARNHolder, ValidFrom: fund.NewDate(2020, 1, 1)}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `UPDATE folios SET arn = 'ARN-1'`); err != nil {
		t.Fatal(err)
	}
	// transactions.completed as the ledger writes it (ledgerfix writes no outbox).
	if _, err := owner.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload)
		SELECT 'transactions.completed:' || order_id, 'transactions.completed', folio_no,
		       jsonb_build_object('event_id', 'transactions.completed:' || order_id, 'tx_id', id, 'order_id', order_id,
		                          'kind', kind, 'folio', folio_no, 'scheme_code', scheme_code)
		FROM ledger_transactions ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	cfgPath, env := commissionsChild(t, owner, ownerURL, t.TempDir())
	consumed := func() int {
		var c int
		if err := owner.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE topic = 'transactions.completed' AND commissioned_at IS NOT NULL`).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	rng := rand.New(rand.NewPCG(18, 30))
	kills, midway := 0, 0
	for {
		cmd := exec.Command(bin, "--config", cfgPath, "--log-level", "warn", "commissions", "events", "--batch", "7")
		cmd.Env = env
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// Kill once a few more batches are marked, plus 0-150 ms (inside a
		// batch's transaction or between its write and its mark).
		start, step := consumed(), 7*rng.IntN(4)
		var at time.Time
		killed := false
		for finished := false; !finished; {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("events: %v\n%s", err, tail(out.String(), 2000))
				}
				finished = true
			case <-time.After(15 * time.Millisecond):
				if kills >= 8 {
					continue
				}
				if at.IsZero() && consumed() > start+step {
					at = time.Now().Add(time.Duration(rng.IntN(150)) * time.Millisecond)
				}
				if !at.IsZero() && time.Now().After(at) {
					_ = cmd.Process.Signal(syscall.SIGKILL)
					<-done
					killed, finished = true, true
				}
			}
		}
		if !killed {
			break
		}
		kills++
		if c := consumed(); c > 0 && c < n {
			midway++
		}
	}
	t.Logf("%d kills, %d with some events consumed and some not", kills, midway)
	if midway == 0 {
		t.Errorf("no kill landed while the events were being consumed")
	}
	want := map[string]string{"first_sip": "100", "referral": "250", "upfront": "30"}
	rows, err := owner.Query(ctx, `SELECT kind, count(*), count(DISTINCT tx_id), min(amount), max(amount) FROM commission_events GROUP BY kind`)
	if err != nil {
		t.Fatal(err)
	}
	kinds := 0
	for rows.Next() {
		var kind string
		var c, txs int
		var lo, hi decimal.Decimal
		if err := rows.Scan(&kind, &c, &txs, &lo, &hi); err != nil {
			t.Fatal(err)
		}
		kinds++
		if w, ok := want[kind]; !ok || c != n || txs != n || !lo.Equal(decimal.RequireFromString(w)) || !hi.Equal(lo) {
			t.Errorf("%s: %d lines over %d transactions, %s..%s; want %d once each at %s", kind, c, txs, lo, hi, n, w)
		}
	}
	rows.Close()
	if kinds != len(want) {
		t.Errorf("%d kinds of lines; want %d", kinds, len(want))
	}
	var total, journal decimal.Decimal
	var entries, published, distinctPub, pending int
	if err := owner.QueryRow(ctx, `SELECT (SELECT coalesce(sum(amount), 0) FROM commission_events),
			(SELECT count(*) FROM commission_journal WHERE kind = 'event'),
			(SELECT coalesce(sum(amount), 0) FROM commission_journal WHERE kind = 'event'),
			(SELECT count(*) FROM outbox WHERE topic = 'commission.calculated'),
			(SELECT count(DISTINCT event_id) FROM outbox WHERE topic = 'commission.calculated'),
			(SELECT count(*) FROM outbox WHERE topic = 'transactions.completed' AND commissioned_at IS NULL)`).
		Scan(&total, &entries, &journal, &published, &distinctPub, &pending); err != nil {
		t.Fatal(err)
	}
	if !total.Equal(decimal.New(114000, 0)) || entries != 3*n || !journal.Equal(total) || published != n || distinctPub != n || pending != 0 {
		t.Errorf("lines %s, %d journal entries (%s), %d commission.calculated (%d distinct), %d pending; want 114000, %d (114000), %d, %d, 0",
			total, entries, journal, published, distinctPub, pending, 3*n, n, n)
	}
	var unbalanced int
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM (SELECT tx_id FROM commission_postings GROUP BY tx_id HAVING sum(amount) <> 0) x`).Scan(&unbalanced); err != nil || unbalanced != 0 {
		t.Errorf("%d unbalanced journal entries (%v)", unbalanced, err)
	}
}
