package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/notify"
)

// `fundflow notify run` is killed with SIGKILL at random points while it
// plans and sends 1,000 emails, at least 20 times, and restarted; in the end
// Mailpit holds every (event, email) exactly once: a message handed to
// the SMTP server before the kill and not recorded is found there by its
// Message-ID at the restart, recorded sent and not sent again.
func TestNotifyCrashSendsEachEmailOnce(t *testing.T) {
	bin := fundflowBinary(t)
	ctx := testkit.Ctx(t)
	pool, ownerURL := testkit.PG(t)
	pgURL := testkit.AppURL(t, ownerURL)
	m := testkit.Mailpit(t)
	const events = 1000
	if _, err := pool.Exec(ctx, fmt.Sprintf(`INSERT INTO investors (id, name, email) SELECT 'INV' || i, 'Investor ' || i, 'inv' || i || '@%s' FROM generate_series(1, 4) i`, m.Domain)); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO folios (folio_no, investor_id) SELECT '90000000' || i, 'INV' || i FROM generate_series(1, 4) i`); err != nil {
		t.Fatal(err)
	}
	// Event ids carry the test's domain: Mailpit is shared and the Message-ID derives from the id.
	if _, err := pool.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload)
		SELECT $1 || ':tx-' || i, 'transactions.completed', '90000000' || (i % 4 + 1), jsonb_build_object(
			'event_id', $1 || ':tx-' || i, 'tx_id', i, 'order_id', 'O' || i, 'request_id', 'R' || i, 'kind', 'purchase',
			'folio', '90000000' || (i % 4 + 1), 'investor_id', 'INV' || (i % 4 + 1), 'scheme_code', '100', 'nav_date', '2026-12-04',
			'nav', '10.0000', 'units', '1.000', 'amount', '10.00', 'stamp_duty', '0.00', 'exit_load', '0', 'net_amount', '10.00',
			'placed_at', '', 'posted_at', '')
		FROM generate_series(1, $2::int) i`, m.Domain, events); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfg, []byte("pipelines: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func() *exec.Cmd {
		cmd := exec.Command(bin, "--config", cfg, "--log-level", "warn", "notify", "run", "--batch", "25", "--workers", "4", "--digest-over", "0", // one email per event, to count
			"--smtp-addr", m.SMTPAddr, "--smtp-user", m.User, "--smtp-ca", m.CAFile, "--mailpit-api", m.API)
		cmd.Env = append(os.Environ(), "FUNDFLOW_PG_URL="+pgURL, "FUNDFLOW_SMTP_PASSWORD="+m.Password)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd
	}
	attempts := func() (n int) {
		pool.QueryRow(ctx, `SELECT coalesce(sum(attempts), 0) FROM notifications`).Scan(&n)
		return n
	}
	kills, gap, gapArrived := 0, 0, 0
	for kills < 20 {
		before := attempts()
		cmd := run()
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// Kill while it sends: once it has claimed a batch, after 0-80 ms.
		exited := false
		for !exited && attempts() == before {
			select {
			case <-done:
				exited = true
			case <-time.After(5 * time.Millisecond):
			}
		}
		if exited {
			t.Fatalf("notify run ended before it was killed:\n%s", out.String())
		}
		time.Sleep(time.Duration(rand.IntN(80)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err == nil {
			kills++
		}
		<-done
		// The gap this kill left: rows claimed and not recorded, some of
		// them already in Mailpit (sent, not recorded).
		rows, err := pool.Query(ctx, `SELECT event_id FROM notifications WHERE status = 'sending'`)
		if err != nil {
			t.Fatal(err)
		}
		var sending []string
		for rows.Next() {
			var id string
			rows.Scan(&id)
			sending = append(sending, id)
		}
		rows.Close()
		inMailpit := m.CountByMessageID(t)
		gap += len(sending)
		for _, id := range sending {
			if inMailpit[notify.MessageID(id, notify.Email)] > 0 {
				gapArrived++
			}
		}
		var left int
		pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE notified_at IS NULL`).Scan(&left)
		var due int
		pool.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE status IN ('queued', 'sending')`).Scan(&due)
		if left == 0 && due == 0 && kills < 20 {
			t.Fatalf("all sent after %d kills: the kills must land while sending (raise the events); output:\n%s", kills, out.String())
		}
	}
	// A last run to the end.
	out, err := run().CombinedOutput()
	if err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	var interrupted, sent int
	pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'sent') FROM notifications`).Scan(&interrupted, &sent)
	got := m.CountByMessageID(t)
	dups := 0
	for id, c := range got {
		if c > 1 {
			dups++
			t.Errorf("%s arrived %d times", id, c)
		}
	}
	missing := 0
	for i := 1; i <= events; i++ {
		if got[notify.MessageID(fmt.Sprintf("%s:tx-%d", m.Domain, i), notify.Email)] == 0 {
			missing++
		}
	}
	t.Logf("%d kills; %d events; %d rows left 'sending' by the kills, %d of them already in Mailpit (the gap: sent, not recorded); "+
		"%d sent, %d failed as interrupted; in Mailpit %d distinct, %d duplicated, %d missing; final run: %s",
		kills, events, gap, gapArrived, sent, interrupted, len(got), dups, missing, strings.TrimSpace(string(out)))
	if gapArrived == 0 {
		t.Errorf("no kill landed between a send and its record: the test did not exercise the gap")
	}
	if missing != 0 || sent != events || len(got) != events {
		t.Fatalf("want every one of %d events sent once: sent %d, distinct %d, missing %d", events, sent, len(got), missing)
	}
}
