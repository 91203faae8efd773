package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

func navLine(code, name, nav string, day, line int) fund.NAVLine {
	return fund.NAVLine{
		NAVRecord: fund.NAVRecord{SchemeCode: code, SchemeName: name, AMC: "Test AMC", Category: "Debt",
			NAV: decimal.RequireFromString(nav), Date: fund.NewDate(2026, time.August, day)},
		From: fund.Origin{File: "NAVAll.txt", SHA256: "abc", Line: line},
	}
}

func batchOf(stream, pos string, items ...fund.NAVLine) pipelines.Batch[fund.NAVLine] {
	b := pipelines.Batch[fund.NAVLine]{Items: items}
	if stream != "" {
		b.Through = pipelines.Checkpoint{Stream: stream, Pos: []byte(pos)}
	}
	return b
}

// Two sinks, as two processes: the second one's cached master and latest
// NAVs go stale behind the first one's writes. Its renames still make
// consecutive versions (its batch clashes with a NAV the other one stored,
// and is written again from the master as it is), a NAV the other one
// stored first is kept, and nav_latest only moves forward.
func TestNAVSinkSeesAnotherWritersChanges(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	a, b := &postgres.NAVSink{Pool: pool}, &postgres.NAVSink{Pool: pool}
	write := func(s *postgres.NAVSink, items ...fund.NAVLine) {
		t.Helper()
		if err := s.Write(ctx, batchOf("", "", items...)); err != nil {
			t.Fatal(err)
		}
	}
	write(a, navLine("100", "Alpha", "10", 17, 2))
	if err := b.Load(ctx); err != nil {
		t.Fatal(err)
	}
	write(a, navLine("100", "Alpha II", "11", 18, 2))
	write(b, navLine("100", "Alpha II", "12", 18, 5), navLine("100", "Alpha III", "13", 19, 6)) // 18th: a's NAV stays
	write(a, navLine("100", "Alpha III", "13", 19, 6))                                          // a is stale now too

	var versions []string
	rows, err := pool.Query(ctx, `SELECT version || ':' || name || ':' || valid_from || ':' || coalesce(valid_to::text, '-') FROM scheme_versions WHERE code = '100' ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v string
		rows.Scan(&v)
		versions = append(versions, v)
	}
	want := []string{"1:Alpha:2026-08-17:2026-08-18", "2:Alpha II:2026-08-18:2026-08-19", "3:Alpha III:2026-08-19:-"}
	if len(versions) != len(want) {
		t.Fatalf("versions %v, want %v", versions, want)
	}
	for i := range want {
		if versions[i] != want[i] {
			t.Fatalf("versions %v, want %v", versions, want)
		}
	}
	var nav18, latest string
	var master, audits int
	if err := pool.QueryRow(ctx, `SELECT (SELECT nav::text FROM navs WHERE scheme_code = '100' AND nav_date = '2026-08-18'),
		(SELECT nav_date || '=' || nav::numeric(10,2) FROM nav_latest WHERE scheme_code = '100'),
		(SELECT version FROM schemes WHERE code = '100'), (SELECT count(*) FROM audit_log WHERE entity = 'scheme')`).Scan(&nav18, &latest, &master, &audits); err != nil {
		t.Fatal(err)
	}
	if decimal.RequireFromString(nav18).String() != "11" || latest != "2026-08-19=13.00" || master != 3 || audits != 3 {
		t.Fatalf("NAV of the 18th %s (want 11, the first stored), latest %s, master version %d, audit rows %d", nav18, latest, master, audits)
	}
}

// A second process moved (or created) a scheme since this sink read the
// master, and this sink's batch changes the scheme on a day the other one
// wrote no NAV for: only the version guard sees it. The batch is written
// again from the master as it is, so the versions stay consecutive, and
// it is not refused on scheme_versions' key (it was, before the guard
// held back the versions of the schemes it stopped).
func TestNAVSinkVersionGuardSeesAnotherWriter(t *testing.T) {
	for _, tc := range []struct {
		name         string
		first, other []fund.NAVLine // this sink's first batch (before the other loads), the other's batches
		stale        fund.NAVLine   // this sink's batch on the stale master
		want         []string       // version:name:valid_from:valid_to
	}{
		{
			name:  "renamed by the other",
			first: []fund.NAVLine{navLine("100", "Alpha", "10", 17, 2)},
			other: []fund.NAVLine{navLine("100", "Alpha II", "11", 18, 2)},
			stale: navLine("100", "Alpha III", "12", 19, 2),
			want:  []string{"1:Alpha:2026-08-17:2026-08-18", "2:Alpha II:2026-08-18:2026-08-19", "3:Alpha III:2026-08-19:-"},
		},
		{
			name:  "created by the other",
			other: []fund.NAVLine{navLine("100", "Alpha", "10", 17, 2)},
			stale: navLine("100", "Alpha B", "11", 18, 2),
			want:  []string{"1:Alpha:2026-08-17:2026-08-18", "2:Alpha B:2026-08-18:-"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, _ := testkit.PG(t)
			ctx := testkit.Ctx(t)
			mine, other := &postgres.NAVSink{Pool: pool}, &postgres.NAVSink{Pool: pool}
			if len(tc.first) > 0 {
				if err := mine.Write(ctx, batchOf("", "", tc.first...)); err != nil {
					t.Fatal(err)
				}
			}
			if err := mine.Load(ctx); err != nil {
				t.Fatal(err)
			}
			if err := other.Write(ctx, batchOf("", "", tc.other...)); err != nil {
				t.Fatal(err)
			}
			if err := mine.Write(ctx, batchOf("", "", tc.stale)); err != nil {
				t.Fatalf("the batch on the stale master: %v", err)
			}
			var got []string
			rows, err := pool.Query(ctx, `SELECT version || ':' || name || ':' || valid_from || ':' || coalesce(valid_to::text, '-')
				FROM scheme_versions WHERE code = '100' ORDER BY version`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var v string
				if err := rows.Scan(&v); err != nil {
					t.Fatal(err)
				}
				got = append(got, v)
			}
			var master, audits int
			if err := pool.QueryRow(ctx, `SELECT (SELECT version FROM schemes WHERE code = '100'),
				(SELECT count(*) FROM audit_log WHERE entity = 'scheme' AND entity_id = '100')`).Scan(&master, &audits); err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") || master != len(tc.want) || audits != len(tc.want) {
				t.Fatalf("versions %v, master at %d, %d audit rows; want %v, %d, %d", got, master, audits, tc.want, len(tc.want), len(tc.want))
			}
		})
	}
}

// A batch of many new NAVs copies its second half on another connection
// (a transaction of its own, committed just before the batch's): every
// row is stored once with its own line, also when a key of either half is
// stored already (the batch is then written again through ON CONFLICT,
// and the stored row kept), and a pool too small to spare connections
// writes it in one transaction.
func TestNAVSinkSplitCopy(t *testing.T) {
	n := postgres.SplitCopyFrom + 1000
	for _, tc := range []struct {
		name   string
		stored string // a key of the batch stored before it (its code; "": none)
		pool   string // pool_max_conns ("": the default)
		latest bool   // nav_latest moved in the batch's transaction (no HoldLatest)
	}{
		{name: "new"},
		{name: "nav_latest in the batch", latest: true},
		{name: "a key of the second half stored", stored: fmt.Sprint(100000 + n - 10)},
		{name: "a key of the first half stored", stored: "100010"},
		{name: "a pool of two", pool: "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, url := testkit.PG(t)
			ctx := testkit.Ctx(t)
			if tc.pool != "" {
				small, err := postgres.Connect(ctx, url+"&pool_max_conns="+tc.pool)
				if err != nil {
					t.Fatal(err)
				}
				defer small.Close()
				if small.Config().MaxConns >= postgres.MinSpareConns {
					t.Fatalf("pool of %d: not small", small.Config().MaxConns)
				}
				pool = small
			}
			if tc.stored != "" {
				if _, err := pool.Exec(ctx, `INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line)
					VALUES ($1, '2026-08-17', 99, nav_source('other.txt', 'def'), 1)`, tc.stored); err != nil {
					t.Fatal(err)
				}
			}
			var batch []fund.NAVLine
			for i := range n {
				batch = append(batch, navLine(fmt.Sprint(100000+i), "Fund", "10", 17, i+2))
			}
			sink := &postgres.NAVSink{Pool: pool, HoldLatest: !tc.latest}
			if err := sink.Write(ctx, batchOf("s", "1", batch...)); err != nil {
				t.Fatal(err)
			}
			var rows, own, keptStored int
			if err := pool.QueryRow(ctx, `SELECT count(*),
				count(*) FILTER (WHERE source_file = 'NAVAll.txt' AND source_line = scheme_code::int - 100000 + 2 AND nav = 10),
				count(*) FILTER (WHERE source_file = 'other.txt' AND nav = 99 AND scheme_code = $1)
				FROM nav_lineage`, tc.stored).Scan(&rows, &own, &keptStored); err != nil {
				t.Fatal(err)
			}
			wantKept := 0
			if tc.stored != "" {
				wantKept = 1
			}
			if rows != n || own != n-wantKept || keptStored != wantKept {
				t.Fatalf("%d rows, %d with their own line, %d stored before kept; want %d, %d, %d", rows, own, keptStored, n, n-wantKept, wantKept)
			}
			// The default pool spares connections (a stored key fails the
			// split try, and the retry copies nothing); a pool of two none.
			if split, prepared := postgres.SplitAndPrepared(sink); (tc.pool == "") != (split >= 1 && prepared >= 1) || split > 1 {
				t.Fatalf("batches split %d, audit steps made ready %d", split, prepared)
			}
			if tc.latest {
				var latest int
				if err := pool.QueryRow(ctx, `SELECT count(*) FROM nav_latest l JOIN navs n USING (scheme_code, nav_date)`).Scan(&latest); err != nil {
					t.Fatal(err)
				}
				if latest != n {
					t.Fatalf("nav_latest at %d schemes' stored NAV, want all %d", latest, n)
				}
			}
		})
	}
}

// Another writer of the same keys holds one of a split batch's halves and
// then waits for one the other half holds, while the batch's transaction
// waits (in Go, where Postgres cannot see it) for its second half: a
// cycle, either way round. The split batch's lock timeout breaks it, and
// the batch is written again in one transaction once the other writer is
// gone.
func TestNAVSinkSplitCopyLockCycle(t *testing.T) {
	n := postgres.SplitCopyFrom + 1000
	first, second := "100010", fmt.Sprint(100000+n-10) // keys of the first and the second half
	for _, tc := range []struct {
		name          string
		held, awaited string // the other writer's key, and the one it then waits for
	}{
		{"the second half waits", second, first},
		{"the first half waits", first, second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, url := testkit.PG(t)
			ctx := testkit.Ctx(t)
			// The batch, its second half and its audit step take three of
			// the sink's pool: the other writer and the watcher use their
			// own connections, so that the pool always has them to spare.
			watch, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer watch.Close(context.WithoutCancel(ctx))
			otherConn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer otherConn.Close(context.WithoutCancel(ctx))
			other, err := otherConn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Rollback(context.WithoutCancel(ctx))
			insert := func(code string) error {
				_, err := other.Exec(ctx, `INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line)
					VALUES ($1, '2026-08-17', 99, nav_source('other.txt', 'def'), 1)`, code)
				return err
			}
			if err := insert(tc.held); err != nil {
				t.Fatal(err)
			}
			var batch []fund.NAVLine
			for i := range n {
				batch = append(batch, navLine(fmt.Sprint(100000+i), "Fund", "10", 17, i+2))
			}
			sink := &postgres.NAVSink{Pool: pool, HoldLatest: true}
			// A cycle left unbroken would hang the package: this deadline
			// fails the test instead.
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			written := make(chan error, 1)
			go func() { written <- sink.Write(wctx, batchOf("s", "1", batch...)) }()
			// One half copied and waiting (idle in its transaction), the
			// other waiting for the other writer's lock.
			for {
				var copies int
				var ready bool
				if err := watch.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE wait_event_type = 'Lock') = 1
					AND count(*) FILTER (WHERE state = 'idle in transaction') = 1
					FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'copy%navs%'`).Scan(&copies, &ready); err != nil {
					t.Fatal(err)
				}
				if ready {
					break
				}
				if split, _ := postgres.SplitAndPrepared(sink); copies > 0 && split == 0 {
					t.Fatal("the batch did not split: no connection to spare")
				}
				select {
				case err := <-written:
					t.Fatalf("the batch was written before the cycle could close: %v", err)
				case <-time.After(10 * time.Millisecond):
				}
			}
			awaitErr := insert(tc.awaited) // waits for the batch: the cycle
			if err := other.Rollback(context.WithoutCancel(ctx)); err != nil {
				t.Fatal(err)
			}
			if err := <-written; err != nil {
				t.Fatalf("write: %v", err)
			}
			if awaitErr != nil {
				t.Fatalf("the other writer: %v", awaitErr)
			}
			var rows int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM nav_lineage WHERE source_file = 'NAVAll.txt'`).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if split, _ := postgres.SplitAndPrepared(sink); rows != n || split != 1 {
				t.Fatalf("%d rows (want %d), split %d times (want 1: the first try)", rows, n, split)
			}
			// The cycle was made and its lock timeout broke it: without the
			// other writer's second insert waiting for the batch, its first
			// lock goes with the rollback above and the split try commits.
			if got := postgres.Unsplit(sink); got != 1 {
				t.Fatalf("written again in one transaction after a lock timeout %d times, want 1: no cycle was made", got)
			}
		})
	}
}

// A split batch bounds its lock waits by sideLockTimeout (2 s) until its
// second half commits, keeps a stricter lock_timeout the session has, and
// then gives the transaction the session's own back (a SET on the
// connection, which DEFAULT would drop). Statement triggers record the
// lock_timeout each statement ran under: the COPYs into navs (both halves)
// and the later INSERT into nav_latest (no HoldLatest).
func TestNAVSinkSplitBatchLockTimeout(t *testing.T) {
	n := postgres.SplitCopyFrom + 1000
	for _, tc := range []struct {
		session     string // the connection's SET lock_timeout ("": none)
		copy, after string // what the COPYs and the later statement ran under ("": the server's)
	}{
		{"", "", ""},
		{"7s", "2s", "7s"},
		{"1min", "2s", "1min"},
		{"300ms", "300ms", "300ms"},
		{"1500ms", "1500ms", "1500ms"},
	} {
		t.Run("session "+tc.session, func(t *testing.T) {
			owner, url := testkit.PG(t)
			ctx := testkit.Ctx(t)
			if _, err := owner.Exec(ctx, `CREATE TABLE lock_timeouts (id serial, tbl text, lock_timeout text);
				CREATE FUNCTION record_lock_timeout() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN
					INSERT INTO lock_timeouts (tbl, lock_timeout) VALUES (TG_TABLE_NAME, current_setting('lock_timeout'));
					RETURN NULL;
				END $$;
				CREATE TRIGGER navs_lock_timeout AFTER INSERT ON navs FOR EACH STATEMENT EXECUTE FUNCTION record_lock_timeout();
				CREATE TRIGGER latest_lock_timeout AFTER INSERT ON nav_latest FOR EACH STATEMENT EXECUTE FUNCTION record_lock_timeout();`); err != nil {
				t.Fatal(err)
			}
			cfg, err := pgxpool.ParseConfig(url)
			if err != nil {
				t.Fatal(err)
			}
			cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
				postgres.RegisterNumeric(c.TypeMap())
				if tc.session == "" {
					return nil
				}
				_, err := c.Exec(ctx, `SET lock_timeout = '`+tc.session+`'`)
				return err
			}
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			if tc.session == "" {
				// The server's, the role's or the database's: 2 s unless
				// stricter (above zero).
				if err := owner.QueryRow(ctx, `SELECT current_setting('lock_timeout'),
					CASE WHEN current_setting('lock_timeout')::interval BETWEEN interval '1ms' AND interval '1999ms'
					THEN current_setting('lock_timeout') ELSE '2s' END`).Scan(&tc.after, &tc.copy); err != nil {
					t.Fatal(err)
				}
			}
			// The spare connections are opened now, not while the batch
			// waits at most spareConnectWait for them.
			var held []*pgxpool.Conn
			for range postgres.MinSpareConns {
				c, err := pool.Acquire(ctx)
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, c)
			}
			for _, c := range held {
				c.Release()
			}
			var batch []fund.NAVLine
			for i := range n {
				batch = append(batch, navLine(fmt.Sprint(100000+i), "Fund", "10", 17, i+2))
			}
			sink := &postgres.NAVSink{Pool: pool}
			if err := sink.Write(ctx, batchOf("s", "1", batch...)); err != nil {
				t.Fatal(err)
			}
			if split, _ := postgres.SplitAndPrepared(sink); split != 1 {
				t.Fatalf("split %d times, want 1", split)
			}
			rows, err := owner.Query(ctx, `SELECT tbl || ' ' || lock_timeout FROM lock_timeouts ORDER BY tbl, id`)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"nav_latest " + tc.after, "navs " + tc.copy, "navs " + tc.copy}
			if strings.Join(got, ", ") != strings.Join(want, ", ") {
				t.Fatalf("statements ran under %q, want %q", got, want)
			}
		})
	}
}

// A batch written again is skipped whole: every row is stored as it is.
func TestNAVSinkSkipsWhatIsStored(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	s := &postgres.NAVSink{Pool: pool}
	items := []fund.NAVLine{navLine("100", "Alpha", "10", 17, 2), navLine("200", "Beta", "20", 17, 3)}
	for range 2 {
		if err := s.Write(ctx, batchOf("", "", items...)); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Skipped.Load(); got != 2 {
		t.Fatalf("skipped %d, want 2", got)
	}
	if !s.Holds(items[0].NAVRecord) {
		t.Fatal("the sink does not hold what it wrote")
	}
	other := items[0].NAVRecord
	other.NAV = decimal.RequireFromString("10.5")
	if s.Holds(other) {
		t.Fatal("the sink holds a NAV it never stored")
	}
}

// The NAV sink commits a batch with a checkpoint without waiting for the
// flush and leaves a witness; a checkpoint whose batch's witness is not
// there (the batch died with the server) is refused, so the batch is
// loaded again instead of being skipped.
func TestCheckpointRefusedWhenItsBatchWasLost(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	st := postgres.Store{Pool: pool}
	s := &postgres.NAVSink{Pool: pool}
	cp := func(pos string) pipelines.Checkpoint {
		return pipelines.Checkpoint{Stream: "nav-ingest/f", Pos: []byte(pos)}
	}
	if err := s.Write(ctx, batchOf("nav-ingest/f", "1", navLine("100", "Alpha", "10", 17, 2))); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveCheckpoint(ctx, cp("1")); err != nil {
		t.Fatal(err)
	}
	// Batch 2 is written, then lost: its transaction (rows and witness)
	// never made it to disk, so the witness still says batch 1.
	if err := s.Write(ctx, batchOf("nav-ingest/f", "2", navLine("100", "Alpha", "11", 18, 2))); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM navs WHERE nav_date = '2026-08-18';
		UPDATE nav_latest SET nav_date = '2026-08-17', nav = 10;
		UPDATE checkpoints SET pos = '1' WHERE stream LIKE 'nav-ingest/f#%'`); err != nil {
		t.Fatal(err)
	}
	for what, save := range map[string]func() error{
		"SaveCheckpoint": func() error { return st.SaveCheckpoint(ctx, cp("2")) },
		"FileDone":       func() error { return st.FileDone(ctx, "nav-ingest", "f", cp("2")) },
	} {
		err := save()
		if !errors.Is(err, postgres.ErrWitnessLost) {
			t.Fatalf("%s over a lost batch: %v, want ErrWitnessLost", what, err)
		}
		if pipelines.IsTransient(err) {
			t.Fatalf("%s: a lost batch must fail the run, not be retried", what)
		}
	}
	if pos, err := st.LoadCheckpoint(ctx, "nav-ingest/f"); err != nil || string(pos) != "1" {
		t.Fatalf("checkpoint %q (%v), want still 1", pos, err)
	}
	// Written again by the next run, it commits.
	s = &postgres.NAVSink{Pool: pool}
	if err := s.Write(ctx, batchOf("nav-ingest/f", "2", navLine("100", "Alpha", "11", 18, 2))); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveCheckpoint(ctx, cp("2")); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM navs WHERE nav_date = '2026-08-18'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the lost NAV is not back: %d (%v)", n, err)
	}
	// Streams no NAV sink wrote are not fenced.
	if err := st.SaveCheckpoint(ctx, pipelines.Checkpoint{Stream: "payments", Pos: []byte("9")}); err != nil {
		t.Fatal(err)
	}
}

// A key said twice in one batch keeps its first line, in navs; nav_latest
// gets the scheme's newest row.
func TestNAVSinkKeyTwiceInABatchKeepsTheFirstLine(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	s := &postgres.NAVSink{Pool: pool}
	if err := s.Write(ctx, batchOf("", "", navLine("100", "Alpha", "12", 17, 5), navLine("100", "Alpha", "11", 17, 3),
		navLine("100", "Alpha", "13", 18, 9))); err != nil {
		t.Fatal(err)
	}
	var line17, latestLine int
	if err := pool.QueryRow(ctx, `SELECT (SELECT source_line FROM navs WHERE nav_date = '2026-08-17'),
		(SELECT source_line FROM nav_latest WHERE scheme_code = '100')`).Scan(&line17, &latestLine); err != nil {
		t.Fatal(err)
	}
	if line17 != 3 || latestLine != 9 {
		t.Fatalf("navs keeps line %d (want 3), nav_latest line %d (want 9)", line17, latestLine)
	}
}

// A loaded sink's Latest is nav_latest as the table holds it (the NAV jump
// baseline is read from it): the newest date per scheme, and a scheme that
// never had a NAV is absent.
func TestNAVSinkLatestIsNavLatest(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	w := &postgres.NAVSink{Pool: pool}
	if err := w.Write(ctx, batchOf("", "", navLine("100", "Alpha", "10", 17, 2), navLine("100", "Alpha", "10.5", 18, 3), navLine("200", "Beta", "20", 17, 4))); err != nil {
		t.Fatal(err)
	}
	r := &postgres.NAVSink{Pool: pool}
	if got := r.Latest(); len(got) != 0 {
		t.Fatalf("Latest before Load = %v, want empty", got)
	}
	if err := r.Load(ctx); err != nil {
		t.Fatal(err)
	}
	got := r.Latest()
	want := map[string]fund.DatedNAV{
		"100": {Date: fund.NewDate(2026, time.August, 18), NAV: decimal.RequireFromString("10.5")},
		"200": {Date: fund.NewDate(2026, time.August, 17), NAV: decimal.RequireFromString("20")},
	}
	if len(got) != len(want) {
		t.Fatalf("Latest = %v, want %v", got, want)
	}
	for code, w := range want {
		if g, ok := got[code]; !ok || g.Date != w.Date || !g.NAV.Equal(w.NAV) {
			t.Fatalf("Latest[%s] = %v, want %v", code, g, w)
		}
	}
}

// The engine writes a batch while the checkpoint of the one before
// commits, so that checkpoint finds the witness of the next batch: a later
// batch of the same file covers it. When the database lost a batch and the
// next one is written anyway (the writer went on after the restart), that
// later witness must not cover the lost batch: the witnesses are chained,
// and the chain is broken.
func TestCheckpointCommitsWhileTheNextBatchIsWritten(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	st := postgres.Store{Pool: pool}
	pos := func(sha string, line int) string {
		return `{"sha256":"` + sha + `","name":"` + sha + `.txt","line":` + strconv.Itoa(line) + `,"done":false}`
	}
	cp := func(sha string, line int) pipelines.Checkpoint {
		return pipelines.Checkpoint{Stream: "nav-ingest/" + sha, Pos: []byte(pos(sha, line))}
	}
	write := func(s *postgres.NAVSink, sha string, line, day int, nav string) {
		t.Helper()
		if err := s.Write(ctx, batchOf("nav-ingest/"+sha, pos(sha, line), navLine("100", "Alpha", nav, day, line))); err != nil {
			t.Fatal(err)
		}
	}

	// Overlapped: batch 2 is written before batch 1's checkpoint commits.
	s := &postgres.NAVSink{Pool: pool}
	write(s, "f", 10, 10, "10")
	write(s, "f", 20, 11, "11")
	if err := st.SaveCheckpoint(ctx, cp("f", 10)); err != nil {
		t.Fatalf("checkpoint 1 after batch 2 was written: %v", err)
	}
	write(s, "f", 30, 12, "12")
	if err := st.SaveCheckpoint(ctx, cp("f", 20)); err != nil {
		t.Fatalf("checkpoint 2 after batch 3 was written: %v", err)
	}
	if err := st.FileDone(ctx, "nav-ingest", "f", cp("f", 30)); err != nil {
		t.Fatalf("file done: %v", err)
	}
	// Another file's witness covers nothing of this one.
	write(s, "g", 10, 13, "13")
	if err := st.SaveCheckpoint(ctx, pipelines.Checkpoint{Stream: "nav-ingest/g", Pos: []byte(pos("f", 10))}); !errors.Is(err, postgres.ErrWitnessLost) {
		t.Fatalf("checkpoint of another file's position: %v, want ErrWitnessLost", err)
	}

	// Batch 2 of file h is lost with the database; batch 3 is written
	// after the restart, before batch 2's checkpoint commits.
	write(s, "h", 10, 14, "14")
	if err := st.SaveCheckpoint(ctx, cp("h", 10)); err != nil {
		t.Fatal(err)
	}
	write(s, "h", 20, 15, "15")
	if _, err := pool.Exec(ctx, `DELETE FROM navs WHERE nav_date = '2026-08-15';
		UPDATE nav_latest SET nav_date = '2026-08-14', nav = 14`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE checkpoints SET pos = $1 WHERE stream = 'nav-ingest/h#postgres-navs'`, []byte(pos("h", 10))); err != nil {
		t.Fatal(err)
	}
	write(s, "h", 30, 16, "16")
	for _, line := range []int{20, 30} {
		if err := st.SaveCheckpoint(ctx, cp("h", line)); !errors.Is(err, postgres.ErrWitnessLost) {
			t.Fatalf("checkpoint through line %d after batch 2 was lost: %v, want ErrWitnessLost", line, err)
		}
	}
	if got, err := st.LoadCheckpoint(ctx, "nav-ingest/h"); err != nil || string(got) != pos("h", 10) {
		t.Fatalf("checkpoint %s (%v), want still line 10", got, err)
	}
	// The next run writes from the checkpoint again, and commits.
	s = &postgres.NAVSink{Pool: pool}
	write(s, "h", 20, 15, "15")
	write(s, "h", 30, 16, "16")
	if err := st.SaveCheckpoint(ctx, cp("h", 20)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM navs WHERE nav_date = '2026-08-15'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the lost NAV is not back: %d (%v)", n, err)
	}
}

// sinkBehindARepair is a sink that read the master before another process
// put scheme 300 in it ("Gamma (repair)", version 1, no version row).
func sinkBehindARepair(t *testing.T) (*pgxpool.Pool, *postgres.NAVSink) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	s := &postgres.NAVSink{Pool: pool}
	if err := s.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO schemes (code, name, amc, category, version, valid_from) VALUES ('300', 'Gamma (repair)', 'Test AMC', 'Debt', 1, '2026-08-10')`); err != nil {
		t.Fatal(err)
	}
	return pool, s
}

// A scheme another process put in the master after the sink read it (a
// repair tool writes schemes alone, with no version row) is caught by the
// version guard in SQL, not only by a clash in scheme_versions: the batch
// is rolled back, the master read again, and the sink's NAV makes version
// 2 over the other writer's version 1 instead of a "created" version that
// the master never took.
func TestNAVSinkVersionGuardRollsBackTheBatch(t *testing.T) {
	pool, s := sinkBehindARepair(t)
	ctx := testkit.Ctx(t)
	if err := s.Write(ctx, batchOf("", "", navLine("300", "Gamma", "10", 17, 2))); err != nil {
		t.Fatal(err)
	}
	var version, versions, navs int
	var name, actions string
	if err := pool.QueryRow(ctx, `SELECT s.version, s.name, (SELECT count(*) FROM scheme_versions WHERE code = '300'),
		(SELECT count(*) FROM navs WHERE scheme_code = '300'),
		(SELECT coalesce(string_agg(action || ':' || (payload->>'version'), ','), '') FROM audit_log WHERE entity = 'scheme' AND entity_id = '300')
		FROM schemes s WHERE s.code = '300'`).Scan(&version, &name, &versions, &navs, &actions); err != nil {
		t.Fatal(err)
	}
	if version != 2 || name != "Gamma" || versions != 1 || navs != 1 || actions != "version:2" {
		t.Fatalf("master version %d %q, %d scheme_versions rows, %d navs, audit %q; want 2 \"Gamma\", 1, 1, \"version:2\"",
			version, name, versions, navs, actions)
	}
}

// A split batch whose master guard fires after its second half committed
// (another writer created one of its schemes after the sink read the
// master): the batch is written again, finds that half stored and goes
// through ON CONFLICT. Every NAV ends stored once with its own line, and
// the master and its audit rows as if the batch had run once on the master
// as it is.
func TestNAVSinkSplitBatchFailsAfterItsSecondHalf(t *testing.T) {
	pool, s := sinkBehindARepair(t)
	ctx := testkit.Ctx(t)
	n := postgres.SplitCopyFrom + 1000
	batch := []fund.NAVLine{navLine("300", "Gamma", "10", 17, 2)}
	for i := range n {
		batch = append(batch, navLine(fmt.Sprint(100000+i), "Fund", "10", 17, i+3))
	}
	if err := s.Write(ctx, batchOf("", "", batch...)); err != nil {
		t.Fatal(err)
	}
	var navs, own, latest, created int
	var gamma string
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM navs),
		(SELECT count(*) FROM nav_lineage WHERE source_file = 'NAVAll.txt' AND nav = 10
		    AND source_line = CASE scheme_code WHEN '300' THEN 2 ELSE scheme_code::int - 100000 + 3 END),
		(SELECT count(*) FROM nav_latest WHERE nav_date = '2026-08-17'),
		(SELECT count(*) FROM audit_log WHERE entity = 'scheme' AND action = 'created' AND payload->>'version' = '1'),
		(SELECT s.version || ':' || s.name || ':' || (SELECT count(*) FROM scheme_versions WHERE code = '300') || ':' ||
		    (SELECT string_agg(action || ':' || (payload->>'version'), ',') FROM audit_log WHERE entity = 'scheme' AND entity_id = '300')
		 FROM schemes s WHERE s.code = '300')`).Scan(&navs, &own, &latest, &created, &gamma); err != nil {
		t.Fatal(err)
	}
	if navs != n+1 || own != n+1 || latest != n+1 || created != n || gamma != "2:Gamma:1:version:2" {
		t.Fatalf("%d navs, %d with their own line, nav_latest at %d, %d schemes created, 300 %q; want %d, %d, %d, %d, \"2:Gamma:1:version:2\"",
			navs, own, latest, created, gamma, n+1, n+1, n+1, n)
	}
	// The first try split and its second half committed before the guard
	// fired; the second split again and met those keys stored (had the
	// first half been rolled back with the rest, it would have copied
	// them anew), and the third went through ON CONFLICT.
	if split, _ := postgres.SplitAndPrepared(s); split != 2 || postgres.Conflicted(s) != 1 {
		t.Fatalf("batches split %d, written again through ON CONFLICT %d; want 2 and 1", split, postgres.Conflicted(s))
	}
}
