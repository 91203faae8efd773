package wallet_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
	"github.com/shopspring/decimal"
)

// TestDriftCheck is the scheduled check over rebalanceEnv's W1 (A +4.4444,
// B −2.5926, C −1.8519 pp after A's 20 % rise; TestDriftAfterANAVMove)
// and W0, whose model "ghost" has no version: W0 is skipped and logged,
// never stopping W1.
//   - At 5 pp nothing is due. At 3 pp, propose-only: W1 due by drift,
//     run RB-W1-20260821 with the 2 switches of TestRebalanceAfterANAVMove,
//     nothing written.
//   - Execute: that run placed once (the switches allotted as placed:
//     21 Aug's NAV is in); within 3 pp after it; at 0 pp the same day's
//     run again, nothing placed twice. A run left proposed keeps W1 out.
//   - Holdings (A 719.963 × 12 = 8,639.55, B 755.959 × 10 = 7,559.59,
//     C 539.971 × 10 = 5,399.71), then model version 2 (45/33/22) from
//     21 Aug: at 10 pp the drift (−5, +2, +3) is within, but the model
//     changed: run RB-W1-moderate-v2, forced. Once allotted, the portfolio
//     is at version 2 and nothing is due.
func TestDriftCheck(t *testing.T) {
	e, rb, l := rebalanceEnv(t)
	st := pgstore.Store{Pool: e.db.Read}
	e.db.Exec(`INSERT INTO wallets (id, investor_id) SELECT 'W0', investor_id FROM wallets WHERE id = 'W1'`)
	e.db.Exec(`INSERT INTO autoinvest_terms (wallet_id, model_id, folio_no) VALUES ('W0', 'ghost', 'F1')`)
	check := func(th int64, execute bool) wallet.CheckStats {
		t.Helper()
		s, err := rb.Check(e.ctx, st, wallet.CheckOptions{ThresholdPP: decimal.NewFromInt(th), Execute: execute, Batch: 1})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	runs := func() string {
		return e.db.Str(`SELECT coalesce(string_agg(id || ' ' || status || ' v' || model_version, ',' ORDER BY created_at), '') FROM rebalance_runs`)
	}
	if s := check(5, false); s.Wallets != 2 || s.Skipped != 1 || len(s.Due) != 0 {
		t.Fatalf("5 pp: %+v", s)
	}
	s := check(3, false)
	if s.Wallets != 2 || s.Skipped != 1 || len(s.Due) != 1 || s.Due[0] != (wallet.Checked{WalletID: "W1", Trigger: "drift", RunID: "RB-W1-20260821", Switches: 2}) {
		t.Fatalf("3 pp, propose: %+v", s)
	}
	if got := runs(); got != "" {
		t.Fatalf("propose-only wrote runs %s", got)
	}
	s = check(3, true)
	if len(s.Due) != 1 || s.Due[0] != (wallet.Checked{WalletID: "W1", Trigger: "drift", RunID: "RB-W1-20260821", Switches: 2, Executed: true}) {
		t.Fatalf("3 pp, execute: %+v", s)
	}
	// The NAV of 21 Aug is in: the switches are allotted as placed.
	if got := e.db.Str(`SELECT string_agg(scheme_code || '=' || units::numeric(24,3), ',' ORDER BY scheme_code) FROM holdings WHERE folio_no = 'F1'`); got != "A=719.963,B=755.959,C=539.971" {
		t.Fatalf("holdings after the drift run %s", got)
	}
	// Within 3 pp now. At 0 pp any drift is over, but the day's drift run
	// is done: nothing placed twice.
	if s := check(3, true); s.Wallets != 2 || len(s.Due) != 0 {
		t.Fatalf("after the drift run: %+v", s)
	}
	if s := check(0, true); len(s.Due) != 1 || s.Due[0] != (wallet.Checked{WalletID: "W1", Trigger: "drift", RunID: "RB-W1-20260821", Executed: true}) {
		t.Fatalf("0 pp, the same day: %+v", s)
	}
	if n := e.db.Num(`SELECT count(*) FROM orders WHERE switch_id LIKE 'RB-%'`); n != 4 {
		t.Fatalf("%d switch legs, want 4", n)
	}
	// A run a crash left proposed (Resume's to finish) keeps the wallet
	// out of the check.
	e.db.Exec(`INSERT INTO rebalance_runs (id, wallet_id, folio_no, model_id, model_version, tax_aware, plan, requests, status, created_at)
		VALUES ('RB-X', 'W1', 'F1', 'moderate', 1, false, '{}', '[]', 'proposed', '2026-01-01')`)
	if s := check(0, true); s.Wallets != 1 || len(s.Due) != 0 {
		t.Fatalf("with a run proposed: %+v", s)
	}
	e.db.Exec(`DELETE FROM rebalance_runs WHERE id = 'RB-X'`)
	m := moderate()
	m.Version, m.Effective = 2, fund.NewDate(2026, 8, 21)
	m.Schemes[0].Weight, m.Schemes[1].Weight, m.Schemes[2].Weight = decimal.NewFromInt(45), decimal.NewFromInt(33), decimal.NewFromInt(22)
	if err := (&wallet.AutoInvest{Wallet: rb.Wallet, Store: st}).PutModel(e.ctx, m); err != nil {
		t.Fatal(err)
	}
	if s := check(10, false); len(s.Due) != 1 || s.Due[0] != (wallet.Checked{WalletID: "W1", Trigger: "model", RunID: "RB-W1-moderate-v2", Switches: 2}) {
		t.Fatalf("model change, propose: %+v", s)
	}
	s = check(10, true)
	if len(s.Due) != 1 || s.Due[0].RunID != "RB-W1-moderate-v2" || !s.Due[0].Executed || s.Due[0].Switches != 2 {
		t.Fatalf("model change, execute: %+v", s)
	}
	// A leg of the model run still waiting for its NAV (this ledger allots
	// at once: the leg is set back to pending_nav, as it stood before its
	// NAV came): the check leaves W1 out, and a manual rebalance under
	// another run id is refused under the wallet's lock (it would switch
	// the same units again).
	e.db.Exec(`UPDATE orders SET status = 'pending_nav' WHERE id = 'RB-W1-moderate-v2-S1#in'`)
	if s := check(0, true); s.Wallets != 0 || len(s.Due) != 0 { // W0's terms name F1 too
		t.Fatalf("with the model run's legs pending: %+v", s)
	}
	if _, _, err := rb.Execute(e.ctx, "W1", "RB-W1-manual", wallet.RebalanceOptions{ThresholdPP: decimal.Zero, Force: true}); !errors.Is(err, wallet.ErrRebalanceInFlight) {
		t.Fatalf("a manual run with the legs pending: %v, want ErrRebalanceInFlight", err)
	}
	if _, _, err := rb.Execute(e.ctx, "W0", "RB-W1-moderate-v2", wallet.RebalanceOptions{}); err == nil || !strings.Contains(err.Error(), "wallet W1's") {
		t.Fatalf("another wallet's run id: %v", err)
	}
	e.db.Exec(`UPDATE orders SET status = 'allotted' WHERE id = 'RB-W1-moderate-v2-S1#in'`)
	if _, err := l.AllotPending(e.ctx, 100); err != nil {
		t.Fatal(err)
	}
	if s := check(10, true); s.Wallets != 2 || len(s.Due) != 0 {
		t.Fatalf("after the model's run: %+v", s)
	}
	if got := runs(); got != "RB-W1-20260821 placed v1,RB-W1-moderate-v2 placed v2" {
		t.Errorf("runs %s", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM orders WHERE switch_id LIKE 'RB-%' AND status <> 'allotted'`); n != 0 {
		t.Errorf("%d switch legs not allotted", n)
	}
}

// A scheme whose NAV load failed keeps an old nav_latest row: the check
// skips the wallet, with the reason, instead of switching at that NAV.
// rebalanceEnv runs on Fri 21 Aug 2026: the previous business day is Thu
// 20 Aug, so B's NAV of Wed 19 Aug is stale and of 20 Aug is not.
func TestDriftCheckSkipsAStaleNAV(t *testing.T) {
	e, rb, _ := rebalanceEnv(t)
	st := pgstore.Store{Pool: e.db.Read}
	e.db.Exec(`UPDATE nav_latest SET nav_date = '2026-08-19' WHERE scheme_code = 'B'`)
	s, err := rb.Check(e.ctx, st, wallet.CheckOptions{ThresholdPP: decimal.NewFromInt(3), Execute: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "B's latest NAV is of 2026-08-19, older than 2026-08-20 (the previous business day)"
	if s.Wallets != 1 || s.Skipped != 1 || len(s.Due) != 0 || len(s.Skips) != 1 || s.Skips[0].WalletID != "W1" || !strings.Contains(s.Skips[0].Reason, want) {
		t.Fatalf("with B's NAV of 19 Aug: %+v", s)
	}
	if n := e.db.Num(`SELECT count(*) FROM rebalance_runs`); n != 0 {
		t.Fatalf("%d runs written on a stale NAV", n)
	}
	d, err := rb.Drift(e.ctx, "W1", decimal.NewFromInt(3))
	if err != nil || d.Due || len(d.StaleNAVs) != 1 || d.StaleNAVs[0] != (wallet.StaleNAV{Scheme: "B", NAVDate: "2026-08-19", Cutoff: "2026-08-20"}) {
		t.Fatalf("drift view %+v %v", d, err)
	}
	// The previous business day's NAV is today's latest: due, proposed.
	e.db.Exec(`UPDATE nav_latest SET nav_date = '2026-08-20' WHERE scheme_code = 'B'`)
	s, err = rb.Check(e.ctx, st, wallet.CheckOptions{ThresholdPP: decimal.NewFromInt(3)})
	if err != nil || s.Skipped != 0 || len(s.Due) != 1 || s.Due[0].Switches != 2 {
		t.Fatalf("with B's NAV of 20 Aug: %+v %v", s, err)
	}
}

// The cut-off counts business days on the holiday calendar: on Mon 5 Oct
// 2026 (2 Oct a holiday, then the weekend) the previous business day is
// Thu 1 Oct; a NAV of 30 Sep is stale, one of 1 Oct is not, none at all is.
func TestStaleNAVsCountBusinessDays(t *testing.T) {
	cal, err := holidays.Calendar(testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	now := moneytest.IST("2026-10-05T10:00:00+05:30")
	hs := []managed.Holding{{Scheme: "A", NAVDate: fund.NewDate(2026, 10, 1)}, {Scheme: "B", NAVDate: fund.NewDate(2026, 9, 30)}, {Scheme: "C"}}
	got, err := wallet.StaleNAVs(hs, now, cal)
	if err != nil {
		t.Fatal(err)
	}
	want := []wallet.StaleNAV{{Scheme: "B", NAVDate: "2026-09-30", Cutoff: "2026-10-01"}, {Scheme: "C", Cutoff: "2026-10-01"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("stale %+v, want %+v", got, want)
	}
	// Weekends only (no holiday file): Fri 2 Oct is the previous business day.
	if got, _ := wallet.StaleNAVs(hs, now, nil); len(got) != 3 {
		t.Fatalf("weekends only: %+v", got)
	}
	// Outside the calendar's years: an error, never a silent answer.
	if _, err := wallet.StaleNAVs(hs, moneytest.IST("2027-01-05T10:00:00+05:30"), cal); err == nil {
		t.Fatal("a date outside the calendar was answered")
	}
}

// The drift read takes no row lock: with W1's row held FOR UPDATE by
// another transaction (a deposit, a withdrawal, a billing chunk), Drift
// answers. Without a wall clock: the test waits until either Drift
// returns (pass) or Postgres shows a backend of this database waiting on
// a lock (fail: the read queued behind the writer).
func TestDriftReadTakesNoLock(t *testing.T) {
	e, rb, _ := rebalanceEnv(t)
	holder, err := e.db.Owner.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(e.ctx)
	if _, err := holder.Exec(e.ctx, `SELECT 1 FROM wallets WHERE id = 'W1' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	type res struct {
		d   wallet.DriftView
		err error
	}
	done := make(chan res, 1)
	go func() {
		d, err := rb.Drift(e.ctx, "W1", decimal.NewFromInt(3))
		done <- res{d, err}
	}()
	for {
		select {
		case r := <-done:
			if r.err != nil || !r.d.Due || len(r.d.Schemes) != 3 {
				t.Fatalf("drift %+v %v", r.d, r.err)
			}
			return
		default:
		}
		if n := e.db.Num(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`); n > 0 {
			holder.Rollback(e.ctx) // let the read finish before the test ends
			<-done
			t.Fatal("the drift read waited for the wallet's row lock")
		}
		runtime.Gosched()
	}
}

// A tax-aware check on a model change that needs no switch records the
// version (a run with no orders, nothing_to_do), so the next check finds
// nothing due. rebalanceEnv's W1 after A's rise: A 9,599.52, B 6,999.65,
// C 4,999.75 of 21,598.92, so 44.4444 / 32.4074 / 23.1481 %. Version 2
// (44/33/23) is +0.44, −0.59, +0.15 pp away, within half of 3 pp: the
// tax-aware band trades nothing.
func TestDriftCheckRecordsAModelChangeWithNothingToDo(t *testing.T) {
	e, rb, _ := rebalanceEnv(t)
	st := pgstore.Store{Pool: e.db.Read}
	m := moderate()
	m.Version, m.Effective = 2, fund.NewDate(2026, 8, 21)
	m.Schemes[0].Weight, m.Schemes[1].Weight, m.Schemes[2].Weight = decimal.NewFromInt(44), decimal.NewFromInt(33), decimal.NewFromInt(23)
	if err := (&wallet.AutoInvest{Wallet: rb.Wallet, Store: st}).PutModel(e.ctx, m); err != nil {
		t.Fatal(err)
	}
	o := wallet.CheckOptions{ThresholdPP: decimal.NewFromInt(3), Execute: true, TaxAware: true}
	s, err := rb.Check(e.ctx, st, o)
	if err != nil || len(s.Due) != 1 || s.Due[0] != (wallet.Checked{WalletID: "W1", Trigger: "model", RunID: "RB-W1-moderate-v2", Executed: true}) {
		t.Fatalf("model change: %+v %v", s, err)
	}
	if got := e.db.Str(`SELECT string_agg(id || ' ' || status || ' v' || model_version, ',') FROM rebalance_runs`); got != "RB-W1-moderate-v2 nothing_to_do v2" {
		t.Fatalf("runs %q", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM orders WHERE switch_id LIKE 'RB-%'`); n != 0 {
		t.Fatalf("%d switch legs placed", n)
	}
	// The next day's check (the same clock will do: the model run's id is
	// per version): nothing due, the portfolio is at version 2.
	s, err = rb.Check(e.ctx, st, o)
	if err != nil || s.Wallets != 1 || len(s.Due) != 0 {
		t.Fatalf("again: %+v %v", s, err)
	}
	d, err := rb.Drift(e.ctx, "W1", decimal.NewFromInt(3))
	if err != nil || d.LastModelVersion != 2 || d.ModelChanged || d.Due {
		t.Fatalf("drift %+v %v", d, err)
	}
}
