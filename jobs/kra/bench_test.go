package kra_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/kragen"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/investors/pgstore"
	"github.com/fundflow/fundflow/jobs/kra"
	"github.com/fundflow/fundflow/ledger"
	ledgerpg "github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
	kraparse "github.com/fundflow/fundflow/transforms/kra"
)

// BenchmarkKRAApply times a KRA status file for FUNDFLOW_BENCH_KRA_INVESTORS
// onboarded investors (default 5,000; the size is 1,000,000) loaded
// through the kra job (feed source, parser, the gate: statuses, versions,
// events, audit, and the ledger's restrictions for the ~20 % held,
// rejected or inoperative) against a bare COPY of the same rows (PAN,
// code, date) into a plain table, in the same run. Reports rows/s and
// ratio_vs_copy (job throughput ÷ COPY throughput).
func BenchmarkKRAApply(b *testing.B) {
	n := benchkit.EnvInt(b, "FUNDFLOW_BENCH_KRA_INVESTORS", 5000)
	batch := benchkit.EnvInt(b, "FUNDFLOW_BENCH_BATCH", 5000)
	parallel := benchkit.EnvInt(b, "FUNDFLOW_BENCH_KRA_PARALLEL", 0) // the gate's shards (0: its default)
	part := benchkit.EnvInt(b, "FUNDFLOW_BENCH_KRA_PART", 0)         // the gate's part size (0: its default; ≥ batch: no overlap)
	owner, _, app, _ := testkit.PGApp(b)
	ctx := context.Background()
	sealer, _ := pii.New(bytes.Repeat([]byte{3}, 32))
	invs := seedInvestors(b, ctx, owner, sealer, n)
	cal, err := holidays.Calendar(testkit.Fixture(b, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 12, 4, 18, 0, 0, 0, fund.IST())
	clock := func() time.Time { return at.Add(16 * time.Hour) }
	led := &ledger.Service{Store: ledgerpg.New(app), Calendar: cal, Audit: true, Now: clock}
	if _, err := owner.Exec(ctx, `CREATE TABLE bench_kra_copy (pan text, code text, status_at timestamptz)`); err != nil {
		b.Fatal(err)
	}
	timed := &timedRestrictor{l: led}
	store := &timedStore{Store: pgstore.Store{Pool: app}}
	// FUNDFLOW_BENCH_KRA_SAMPLE=1: where the job's Postgres time goes, by
	// statement (pg_stat_activity sampled every 0.25 s during the job; no
	// pg_stat_statements on the shared server).
	var samples *activitySampler
	if benchkit.EnvInt(b, "FUNDFLOW_BENCH_KRA_SAMPLE", 0) == 1 {
		samples = &activitySampler{every: 250 * time.Millisecond, n: map[string]int{}}
	}
	b.ResetTimer()
	var run, bare time.Duration
	rows := 0
	for i := range b.N {
		dir := b.TempDir()
		var status bytes.Buffer
		sum, err := kragen.Write(&status, io.Discard, io.Discard, invs, kragen.Options{Seed: uint64(i + 1), Hold: 0.1, Reject: 0.05,
			Inoperative: 0, Bad: 0.01, At: at.Add(time.Duration(i) * time.Hour)})
		if err != nil {
			b.Fatal(err)
		}
		rows = sum.Rows + sum.Bad
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("kra_%d.txt", i)), status.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
		cfg, err := config.Parse("b.yaml", []byte(fmt.Sprintf("pipelines:\n  kra:\n    source: {kind: file, path: %s, stable_for: 0s}\n    batch_size: %d\n", dir, batch)))
		if err != nil {
			b.Fatal(err)
		}
		gate := &investors.Gate{Store: store, Ledger: timed, PII: sealer, Now: clock, Parallel: parallel, PartSize: part}
		j := kra.Job{Config: cfg.Pipelines.KRA, PG: &postgres.Store{Pool: app}, Gate: gate, Ledger: led,
			Metrics: pipelines.NewMetrics(prometheus.NewRegistry()), Now: clock}
		stop := samples.start(ctx, owner)
		t0 := time.Now()
		out, err := j.Run(ctx)
		run += time.Since(t0)
		stop()
		if err != nil {
			b.Fatal(err)
		}
		if out.Quarantined != int64(sum.Bad) {
			b.Fatalf("quarantined %d, want %d", out.Quarantined, sum.Bad)
		}
		// The baseline: the same rows parsed from the same bytes, COPYed bare.
		next, err := kraparse.Decode(bytes.NewReader(status.Bytes()), fund.Origin{File: "x"})
		if err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		if _, err := owner.CopyFrom(ctx, pgx.Identifier{"bench_kra_copy"}, []string{"pan", "code", "status_at"}, pgx.CopyFromFunc(func() ([]any, error) {
			it, err := next()
			if err == io.EOF {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return []any{it.Row.PAN, it.Row.Code, it.Row.At}, nil
		})); err != nil {
			b.Fatal(err)
		}
		bare += time.Since(t0)
	}
	b.StopTimer()
	total := float64(rows * b.N)
	b.ReportMetric(total/run.Seconds(), "rows/s")
	b.ReportMetric(total/bare.Seconds(), "copy_rows/s")
	b.ReportMetric(bare.Seconds()/run.Seconds(), "ratio_vs_copy")
	b.ReportMetric(run.Seconds()/float64(b.N), "run_s")
	b.ReportMetric(time.Duration(timed.d.Load()).Seconds()/float64(b.N), "ledger_restrict_s")
	b.ReportMetric(time.Duration(store.d.Load()).Seconds()/float64(b.N), "store_kyc_s")
	b.ReportMetric(time.Duration(store.reads.Load()).Seconds()/float64(b.N), "reads_s")
	held := 0
	_ = owner.QueryRow(ctx, `SELECT count(*) FROM investor_restrictions WHERE source = 'kyc'`).Scan(&held)
	b.Logf("%d investors, %d rows per file; job %s, bare COPY %s; %d kyc restrictions", n, rows, run.Round(time.Millisecond), bare.Round(time.Millisecond), held)
	samples.report(b)
}

// activitySampler counts, every `every`, the job's backends by what they
// are doing (pg_stat_activity: the statement's first words, or the state
// when not active, and the wait event): count × every is the backend time
// spent so (summed over the concurrent backends; "cpu", no wait event,
// includes waiting for a core on a loaded machine). It also reads each
// backend's CPU time (/proc/<pid>/stat: the server runs on this machine)
// and puts what it used since the last sample on the statement it was
// running then: the CPU the statements need, whatever the load.
type activitySampler struct {
	every time.Duration
	mu    sync.Mutex
	n     map[string]int
	cpu   map[string]time.Duration // by statement
	wall  int                      // samples taken
	self  time.Duration            // this process's CPU (the Go side, with the sampler) over the samples
}

// start samples on a connection of pool until the returned stop is called
// (nil sampler: nothing).
func (a *activitySampler) start(ctx context.Context, pool *pgxpool.Pool) (stop func()) {
	if a == nil {
		return func() {}
	}
	if a.cpu == nil {
		a.cpu = map[string]time.Duration{}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	self0 := selfCPU()
	go func() {
		defer close(done)
		t := time.NewTicker(a.every)
		defer t.Stop()
		last := map[int32]time.Duration{} // each backend's CPU at the last sample
		was := map[int32]string{}         // and what it was running
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			rows, err := pool.Query(ctx, `SELECT pid, CASE WHEN state = 'active' THEN regexp_replace(left(ltrim(query), 60), '\s+', ' ', 'g') ELSE state END,
					coalesce(wait_event_type || ':' || wait_event, 'cpu')
				FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`)
			if err != nil {
				continue // cancelled at the end
			}
			var pid int32
			var what, wait string
			type row struct {
				pid        int32
				what, wait string
			}
			var seen []row
			_, _ = pgx.ForEachRow(rows, []any{&pid, &what, &wait}, func() error { seen = append(seen, row{pid, what, wait}); return nil })
			a.mu.Lock()
			a.wall++
			for _, r := range seen {
				if r.what != "idle" {
					a.n[r.what+" | "+r.wait]++
				}
				c, ok := procCPU(r.pid)
				if !ok {
					continue
				}
				if c0, ok := last[r.pid]; ok {
					a.cpu[was[r.pid]] += c - c0
				}
				last[r.pid], was[r.pid] = c, r.what
			}
			a.mu.Unlock()
		}
	}()
	return func() {
		cancel()
		<-done
		a.mu.Lock()
		a.self += selfCPU() - self0
		a.mu.Unlock()
	}
}

// procCPU is a process's user and system time so far.
func procCPU(pid int32) (time.Duration, bool) {
	f, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
	fs := strings.Fields(string(f[strings.LastIndexByte(string(f), ')')+1:]))
	if len(fs) < 13 {
		return 0, false
	}
	var ut, st int64
	fmt.Sscan(fs[11], &ut)
	fmt.Sscan(fs[12], &st)
	return time.Duration(ut+st) * 10 * time.Millisecond, true // USER_HZ = 100
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report logs the backend seconds by statement and wait, largest first.
func (a *activitySampler) report(b *testing.B) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	keys := slices.SortedFunc(maps.Keys(a.n), func(x, y string) int { return cmp.Or(a.n[y]-a.n[x], strings.Compare(x, y)) })
	total := 0
	for _, k := range keys {
		total += a.n[k]
	}
	var cpu time.Duration
	for _, c := range a.cpu {
		cpu += c
	}
	fmt.Fprintf(os.Stderr, "pg_stat_activity every %s over %s: %.1f backend-seconds not idle, %.1f s of backend CPU; this process %.1f s of CPU\n",
		a.every, time.Duration(a.wall)*a.every, float64(total)*a.every.Seconds(), cpu.Seconds(), a.self.Seconds())
	by := map[string]int{} // by statement, whatever it waited on
	for _, k := range keys {
		what, _, _ := strings.Cut(k, " | ")
		by[what] += a.n[k]
	}
	for w := range a.cpu {
		if _, ok := by[w]; !ok {
			by[w] = 0
		}
	}
	fmt.Fprintln(os.Stderr, "backend s sampled, CPU s: statement")
	for _, w := range slices.SortedFunc(maps.Keys(by), func(x, y string) int { return cmp.Or(by[y]-by[x], strings.Compare(x, y)) }) {
		fmt.Fprintf(os.Stderr, "%7.1f s %7.1f s  %s\n", float64(by[w])*a.every.Seconds(), a.cpu[w].Seconds(), w)
	}
	fmt.Fprintln(os.Stderr, "by statement and wait:")
	for _, k := range keys {
		fmt.Fprintf(os.Stderr, "%7.1f s  %s\n", float64(a.n[k])*a.every.Seconds(), k)
	}
}

// timedRestrictor measures the time spent in the ledger's restriction calls
// (one transaction per batch: SetRestrictions, LiftRestrictions).
type timedRestrictor struct {
	l *ledger.Service
	d atomic.Int64 // nanoseconds
}

func (t *timedRestrictor) SetRestriction(ctx context.Context, r ledger.Restriction) error {
	t0 := time.Now()
	defer func() { t.d.Add(int64(time.Since(t0))) }()
	return t.l.SetRestriction(ctx, r)
}

func (t *timedRestrictor) SetRestrictions(ctx context.Context, rs []ledger.Restriction) error {
	t0 := time.Now()
	defer func() { t.d.Add(int64(time.Since(t0))) }()
	return t.l.SetRestrictions(ctx, rs)
}

func (t *timedRestrictor) LiftRestrictions(ctx context.Context, ids []string, source, by string) (int, error) {
	t0 := time.Now()
	defer func() { t.d.Add(int64(time.Since(t0))) }()
	return t.l.LiftRestrictions(ctx, ids, source, by)
}

func (t *timedRestrictor) LiftRestriction(ctx context.Context, id, source, by string) (int, error) {
	t0 := time.Now()
	defer func() { t.d.Add(int64(time.Since(t0))) }()
	return t.l.LiftRestriction(ctx, id, source, by)
}

// timedStore measures the time spent storing the statuses, versions,
// events and audit rows (one transaction per batch).
type timedStore struct {
	pgstore.Store
	d     atomic.Int64
	reads atomic.Int64 // the gate's read of a batch (LookupKYC)
}

func (t *timedStore) since(t0 time.Time) { t.reads.Add(int64(time.Since(t0))) }

func (t *timedStore) StoreKYC(ctx context.Context, ws []investors.KYCWrite) error {
	t0 := time.Now()
	defer func() { t.d.Add(int64(time.Since(t0))) }()
	return t.Store.StoreKYC(ctx, ws)
}

func (t *timedStore) LookupKYC(ctx context.Context, fps []string) (investors.KYCLookup, error) {
	defer t.since(time.Now())
	return t.Store.LookupKYC(ctx, fps)
}

// seedInvestors writes n onboarded investors with COPY: the investors
// row, a profile with the PAN's fingerprint and one version (a sealed
// record the benchmark never opens).
func seedInvestors(b *testing.B, ctx context.Context, owner *pgxpool.Pool, sealer *pii.Sealer, n int) []kragen.Investor {
	b.Helper()
	invs := make([]kragen.Investor, n)
	for i := range invs {
		invs[i] = kragen.Investor{ID: fmt.Sprintf("B%07d", i), PAN: kragen.PAN(i)}
	}
	enc, _ := sealer.Seal("bench", "record", "{}")
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		table string
		cols  []string
		row   func(kragen.Investor) []any
	}{
		{"investors", []string{"id"}, func(v kragen.Investor) []any { return []any{v.ID} }},
		{"investor_profiles", []string{"investor_id", "change_seq", "tax_status", "pan_fp", "nomination", "nominee_count", "fatca_declared",
			"foreign_tax_residency", "effective_from", "updated_at"}, func(v kragen.Investor) []any {
			return []any{v.ID, 1, "resident_individual", sealer.Fingerprint("pan", v.PAN), "opted_out", 0, true, false, now, now}
		}},
		{"investor_versions", []string{"investor_id", "change_seq", "effective_from", "recorded_at", "channel", "fields", "record_enc",
			"record_sha256", "changed_by"}, func(v kragen.Investor) []any {
			return []any{v.ID, 1, now, now, "api", []string{"pan"}, enc, "sha", "bench"}
		}},
	} {
		i := 0
		if _, err := owner.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromFunc(func() ([]any, error) {
			if i == len(invs) {
				return nil, nil
			}
			i++
			return c.row(invs[i-1]), nil
		})); err != nil {
			b.Fatalf("%s: %v", c.table, err)
		}
	}
	// As a live database's would be: vacuumed (all-visible, hint bits
	// set) and analysed. Freshly COPYed, the first run would set every
	// tuple's hint bits and write the pages again, and index-only scans
	// would fetch the heap until autovacuum came by.
	if _, err := owner.Exec(ctx, `VACUUM (ANALYZE) investors, investor_profiles, investor_versions`); err != nil {
		b.Fatalf("vacuum: %v", err)
	}
	return invs
}
