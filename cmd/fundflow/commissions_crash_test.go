package main

import (
	"bytes"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
)

// April's trail accrual (`fundflow commissions accrue`, a child process)
// over 6,000 folios of 10 schemes through 50 ARNs (one unregistered after
// 5-Apr), SIGKILLed 10 times (just after a day commits, or inside the next
// day) and then run to the end; then April's payout (`fundflow commissions
// payout`), killed three times 0.3-0.7 s in, then run to the end. In the end
// every day is accrued once: 6,000 rows a day, each day's exact accruals and
// each bucket's month of postings equal what the test computes itself with
// big.Rat from the units, NAVs (carried over Good Friday and the weekends)
// and rates it generated; after each killed payout there are no lines or all
// of them; the payout's lines of each bucket add up to those postings, its
// CSV is whole, the accrued accounts are emptied and every posting balances.
func TestCommissionAccrualCrashAndRestart(t *testing.T) {
	bin := fundflowBinary(t)
	ctx := testkit.Ctx(t)
	owner, ownerURL := testkit.PG(t)
	const folios, schemes, arns = 6000, 10, 50
	exec1 := func(sql string, args ...any) {
		t.Helper()
		if _, err := owner.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql[:min(60, len(sql))], err)
		}
	}
	rng := rand.New(rand.NewPCG(18, 4))
	var days []string
	navDays := map[string]bool{}
	for d := 1; d <= 30; d++ {
		day := fmt.Sprintf("2026-04-%02d", d)
		days = append(days, day)
		if wd := time.Date(2026, 4, d, 0, 0, 0, 0, time.UTC).Weekday(); wd != time.Saturday && wd != time.Sunday && d != 3 {
			navDays[day] = true // business days; 3-Apr is Good Friday
		}
	}
	nav := map[[2]int]string{} // (scheme, day index) → NAV, carried where none is published
	rate := map[int]string{}
	var brokerage bytes.Buffer
	brokerage.WriteString("scheme_code,plan,effective_from,trail_pct,slab_from_aum,upfront_pct,upfront_max_sip,clawback_days,first_sip_amount\n")
	for s := 0; s < schemes; s++ {
		rate[s] = fmt.Sprintf("0.%02d", 40+7*s)
		fmt.Fprintf(&brokerage, "S%d,regular,2026-01-01,%s,,,,,\n", s, rate[s])
		last := ""
		for i, d := range days {
			if navDays[d] {
				last = fmt.Sprintf("%d.%04d", 10+rng.IntN(90), rng.IntN(10000))
				exec1(`INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line) VALUES ($1, $2, $3, nav_source('t', 't'), 1)`,
					fmt.Sprintf("S%d", s), d, last)
			}
			nav[[2]int{s, i}] = last
		}
	}
	units := make([]string, folios)
	for f := 0; f < folios; f++ {
		units[f] = fmt.Sprintf("%d.%03d", rng.IntN(100000), rng.IntN(1000))
	}
	exec1(`INSERT INTO investors (id) VALUES ('I')`)
	exec1(`INSERT INTO folios (folio_no, investor_id, arn) SELECT 'F' || i, 'I', 'ARN-' || (i % $1 + 1) FROM generate_series(0, $2 - 1) i`, arns, folios)
	exec1(`INSERT INTO holdings (folio_no, scheme_code, units) SELECT 'F' || i, 'S' || (i % $1), u FROM unnest($2::numeric[]) WITH ORDINALITY AS x(u, i1), LATERAL (SELECT i1 - 1 AS i) j`,
		schemes, units)
	exec1(`INSERT INTO distributors (id, kind, valid_from, valid_to) SELECT 'ARN-' || i, 'arn', '2020-01-01', CASE WHEN i = $1 THEN '2026-04-05'::date END FROM generate_series(1, $1) i`, arns)
	dir := t.TempDir()
	bfile := filepath.Join(dir, "brokerage.csv")
	if err := os.WriteFile(bfile, brokerage.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath, env := commissionsChild(t, owner, ownerURL, dir)
	// run runs the command; killWhen (polled every 20 ms; nil: never) says
	// when to SIGKILL it.
	run := func(killWhen func() bool, args ...string) (killed bool) {
		cmd := exec.Command(bin, append([]string{"--config", cfgPath, "--log-level", "warn", "commissions"}, args...)...)
		cmd.Env = env
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("%v: %v\n%s", args, err, tail(out.String(), 2000))
				}
				return false
			case <-tick.C:
				if killWhen != nil && killWhen() {
					_ = cmd.Process.Signal(syscall.SIGKILL)
					<-done
					return true
				}
			}
		}
	}
	accrued := func() int {
		var n int
		if err := owner.QueryRow(ctx, `SELECT count(*) FROM commission_days`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// after returns a killWhen that fires once cond holds plus a random
	// 0-400 ms (to land inside the next day's transaction).
	after := func(cond func() bool) func() bool {
		var at time.Time
		return func() bool {
			if at.IsZero() && cond() {
				at = time.Now().Add(time.Duration(rng.IntN(400)) * time.Millisecond)
			}
			return !at.IsZero() && time.Now().After(at)
		}
	}
	run(nil, "load-brokerage", bfile)
	kills, midway := 0, 0
	for {
		var killWhen func() bool
		if kills < 10 { // then let it finish
			start := accrued()
			killWhen = after(func() bool { return accrued() > start+rng.IntN(3) })
		}
		if run(killWhen, "accrue", "--from", days[0], "--through", days[len(days)-1]) {
			kills++
			if n := accrued(); n > 0 && n < len(days) {
				midway++ // killed with some days accrued and some not
			}
			continue
		}
		break
	}
	t.Logf("%d kills, %d of them between the first and the last day", kills, midway)
	if midway == 0 {
		t.Errorf("no kill landed while the days were being accrued")
	}

	// Expected, independently: per day, Σ units × NAV × rate; per bucket,
	// the month's Σ / 36,500 rounded half-up (ARN-50's from 6-Apr held).
	dayBasis := make([]*big.Rat, len(days))
	bucket := map[string]*big.Rat{}
	for i := range days {
		dayBasis[i] = new(big.Rat)
		for f := 0; f < folios; f++ {
			s := f % schemes
			x := moneytest.Rat(units[f])
			x.Mul(x, moneytest.Rat(nav[[2]int{s, i}]))
			x.Mul(x, moneytest.Rat(rate[s]))
			dayBasis[i].Add(dayBasis[i], x)
			b := fmt.Sprintf("ARN-%d", f%arns+1)
			if f%arns+1 == arns && i >= 5 {
				b = "held:" + b
			}
			if bucket[b] == nil {
				bucket[b] = new(big.Rat)
			}
			bucket[b].Add(bucket[b], x)
		}
	}
	for i, d := range days {
		var got decimal.Decimal
		var n int
		if err := owner.QueryRow(ctx, `SELECT count(*), coalesce(sum(basis), 0) FROM trail_accruals WHERE day = $1`, d).Scan(&n, &got); err != nil {
			t.Fatal(err)
		}
		if n != folios || got.Rat().Cmp(dayBasis[i]) != 0 {
			t.Errorf("%s: %d rows, basis %s; want %d and %s", d, n, got, folios, dayBasis[i].FloatString(9))
		}
	}
	rows, err := owner.Query(ctx, `SELECT bucket, sum(amount) FROM commission_journal GROUP BY bucket`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]decimal.Decimal{}
	for rows.Next() {
		var b string
		var a decimal.Decimal
		if err := rows.Scan(&b, &a); err != nil {
			t.Fatal(err)
		}
		got[b] = a
	}
	if len(got) != len(bucket) {
		t.Errorf("%d buckets posted; want %d", len(got), len(bucket))
	}
	for b, x := range bucket {
		want := new(big.Rat).Quo(x, big.NewRat(36500, 1))
		if w := moneytest.RoundRat(want, 2, true); got[b].StringFixed(2) != w {
			t.Errorf("%s: posted %s; want %s", b, got[b], w)
		}
	}
	// April's payout, killed until a run finishes: one payout, or none.
	pkills := 0
	for {
		var killWhen func() bool
		if pkills < 3 {
			t0 := time.Now()
			killWhen = after(func() bool { return time.Since(t0) > 300*time.Millisecond })
		}
		if run(killWhen, "payout", "--month", "2026-04", "--payout-date", "2026-05-07", "--out", dir) {
			pkills++
			var lines int
			if err := owner.QueryRow(ctx, `SELECT count(*) FROM commission_payout_lines`).Scan(&lines); err != nil {
				t.Fatal(err)
			}
			if lines != 0 && lines != len(bucket) {
				t.Fatalf("after a killed payout: %d lines; want none or all %d", lines, len(bucket))
			}
			continue
		}
		break
	}
	t.Logf("payout: %d kills", pkills)
	lrows, err := owner.Query(ctx, `SELECT bucket, sum(amount) FROM commission_payout_lines GROUP BY bucket`)
	if err != nil {
		t.Fatal(err)
	}
	nb := 0
	for lrows.Next() {
		var b string
		var a decimal.Decimal
		if err := lrows.Scan(&b, &a); err != nil {
			t.Fatal(err)
		}
		nb++
		if !a.Equal(got[b]) {
			t.Errorf("%s: payout lines %s; want the accruals posted, %s", b, a, got[b])
		}
	}
	if nb != len(bucket) {
		t.Errorf("payout of %d buckets; want %d", nb, len(bucket))
	}
	// A header and the 50 ARNs (ARN-50 for its days to 5-Apr; its held days have no statement).
	if b, err := os.ReadFile(filepath.Join(dir, "payout-2026-04.csv")); err != nil || bytes.Count(b, []byte("\n")) != arns+1 {
		t.Errorf("payout CSV: %v, %d lines; want a header and %d payees", err, bytes.Count(b, []byte("\n")), arns)
	}
	var left decimal.Decimal
	if err := owner.QueryRow(ctx, `SELECT coalesce(sum(amount), 0) FROM commission_postings WHERE account LIKE '%:accrued'`).Scan(&left); err != nil || !left.IsZero() {
		t.Errorf("accrued accounts after the payout: %s %v; want 0", left, err)
	}
	var sum decimal.Decimal
	var ndays int
	if err := owner.QueryRow(ctx, `SELECT (SELECT coalesce(sum(amount), 0) FROM commission_postings), (SELECT count(*) FROM commission_days)`).Scan(&sum, &ndays); err != nil {
		t.Fatal(err)
	}
	if !sum.IsZero() || ndays != len(days) {
		t.Errorf("postings sum %s, %d days; want 0 and %d", sum, ndays, len(days))
	}
}

// commissionsChild writes a config with the commissions section in dir and
// returns it with the environment of a child `fundflow commissions …` on
// the test's database as the app role.
func commissionsChild(t *testing.T, owner *pgxpool.Pool, ownerURL, dir string) (cfgPath string, env []string) {
	t.Helper()
	cfgPath = filepath.Join(dir, "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte("pipelines:\n  commissions: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var dbName string
	if err := owner.QueryRow(testkit.Ctx(t), `SELECT current_database()`).Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	return cfgPath, append(os.Environ(), "FUNDFLOW_PG_URL="+testkit.AppURL(t, withDB(ownerURL, dbName)), "FUNDFLOW_CH_URL="+testkit.Env(t, "FUNDFLOW_CH_URL"))
}
