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

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/internal/testkit"
)

// Ten days of trail accrual (`fundflow commissions accrue`, a child process)
// over 20,000 folios of 10 schemes through 50 ARNs (one unregistered after
// 5-Apr), SIGKILLed at random points and run again until a run finishes, at
// least 8 kills. In the end every day is accrued once: 20,000 rows a day,
// each day's exact accruals and each bucket's month of postings equal what
// the test computes itself with big.Rat from the units, NAVs (carried over
// Good Friday and the weekend) and rates it generated; the postings balance.
func TestCommissionAccrualCrashAndRestart(t *testing.T) {
	bin := fundflowBinary(t)
	ctx := testkit.Ctx(t)
	owner, ownerURL := testkit.PG(t)
	const folios, schemes, arns = 20000, 10, 50
	exec1 := func(sql string, args ...any) {
		t.Helper()
		if _, err := owner.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql[:min(60, len(sql))], err)
		}
	}
	rng := rand.New(rand.NewPCG(18, 4))
	days := []string{"2026-04-01", "2026-04-02", "2026-04-03", "2026-04-04", "2026-04-05", "2026-04-06", "2026-04-07", "2026-04-08", "2026-04-09", "2026-04-10"}
	navDays := map[string]bool{"2026-04-01": true, "2026-04-02": true, "2026-04-06": true, "2026-04-07": true, "2026-04-08": true, "2026-04-09": true, "2026-04-10": true}
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
				exec1(`INSERT INTO navs (scheme_code, nav_date, nav, source_file, source_sha256, source_line) VALUES ($1, $2, $3, 't', 't', 1)`,
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
	cfgPath := filepath.Join(dir, "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte("pipelines:\n  commissions: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var dbName string
	if err := owner.QueryRow(ctx, `SELECT current_database()`).Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "FUNDFLOW_PG_URL="+testkit.AppURL(t, withDB(ownerURL, dbName)), "FUNDFLOW_CH_URL="+testkit.Env(t, "FUNDFLOW_CH_URL"))
	run := func(killAfter time.Duration, args ...string) (killed bool) {
		cmd := exec.Command(bin, append([]string{"--config", cfgPath, "--log-level", "warn", "commissions"}, args...)...)
		cmd.Env = env
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var timer <-chan time.Time
		if killAfter > 0 {
			timer = time.After(killAfter)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%v: %v\n%s", args, err, tail(out.String(), 2000))
			}
			return false
		case <-timer:
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
			return true
		}
	}
	run(0, "load-brokerage", bfile)
	kills, midway := 0, 0
	for {
		if run(time.Duration(200+rng.IntN(1500))*time.Millisecond, "accrue", "--from", days[0], "--through", days[len(days)-1]) {
			kills++
			var n int
			if err := owner.QueryRow(ctx, `SELECT count(*) FROM commission_days`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 && n < len(days) {
				midway++ // killed with some days accrued and some not
			}
			continue
		}
		if kills >= 8 {
			break
		}
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
			x := ratOf(units[f])
			x.Mul(x, ratOf(nav[[2]int{s, i}]))
			x.Mul(x, ratOf(rate[s]))
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
		if w := halfUpPaise(want); got[b].Rat().Cmp(w) != 0 {
			t.Errorf("%s: posted %s; want %s", b, got[b], w.FloatString(2))
		}
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

func ratOf(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

// halfUpPaise: floor(r × 100 + 1/2) / 100 for r ≥ 0.
func halfUpPaise(r *big.Rat) *big.Rat {
	x := new(big.Rat).Add(new(big.Rat).Mul(r, big.NewRat(100, 1)), big.NewRat(1, 2))
	return new(big.Rat).SetFrac(new(big.Int).Quo(x.Num(), x.Denom()), big.NewInt(100))
}
