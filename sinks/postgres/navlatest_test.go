package postgres_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// latestOf reads nav_latest as "date:NAV@sha:line" for each scheme.
func latestOf(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	rows, err := pool.Query(testkit.Ctx(t), `SELECT scheme_code, nav_date::text || ':' || nav::numeric(10,2)::text || '@' || source_sha256 || ':' || source_line FROM nav_latest`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var code, v string
		if err := rows.Scan(&code, &v); err != nil {
			t.Fatal(err)
		}
		out[code] = v
	}
	return out
}

// With HoldLatest, Write stores the NAVs and nav_latest stays where it was
// until Flush, which moves every held scheme to its newest row of all the
// batches since the last flush (a scheme absent from the later batch keeps
// the earlier batch's row). A failed flush keeps the moves, and a newer
// batch written after it wins over them.
func TestNAVSinkHoldsLatestUntilFlush(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	s := &postgres.NAVSink{Pool: pool, HoldLatest: true}
	write := func(items ...fund.NAVLine) {
		t.Helper()
		if err := s.Write(ctx, batchOf("", "", items...)); err != nil {
			t.Fatal(err)
		}
	}
	write(navLine("100", "Alpha", "10", 17, 2), navLine("200", "Beta", "20", 17, 3))
	write(navLine("100", "Alpha", "11", 18, 2))
	if got := latestOf(t, pool); len(got) != 0 {
		t.Fatalf("nav_latest before the flush: %v, want nothing", got)
	}
	var navs int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM navs`).Scan(&navs); err != nil || navs != 3 {
		t.Fatalf("navs holds %d rows (%v), want the 3 written", navs, err)
	}
	if got := s.Held(); got != 2 {
		t.Fatalf("held %d schemes, want 2", got)
	}
	if err := cutFlush(ctx, s); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"100": "2026-08-18:11.00@abc:2", "200": "2026-08-17:20.00@abc:3"}
	if got := latestOf(t, pool); !maps.Equal(got, want) || s.Held() != 0 {
		t.Fatalf("nav_latest after the flush: %v (held %d), want %v", got, s.Held(), want)
	}

	write(navLine("100", "Alpha", "12", 19, 4))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := cutFlush(cancelled, s); err == nil {
		t.Fatal("a flush with a cancelled context succeeded")
	}
	// Only 200 moves after the failed flush: 100's move of the 19th is
	// the one the failed flush must have kept.
	write(navLine("200", "Beta", "21", 20, 6))
	if got := s.Held(); got != 2 {
		t.Fatalf("held %d schemes after a failed flush and a batch, want 2", got)
	}
	if err := cutFlush(ctx, s); err != nil {
		t.Fatal(err)
	}
	want = map[string]string{"100": "2026-08-19:12.00@abc:4", "200": "2026-08-20:21.00@abc:6"}
	if got := latestOf(t, pool); !maps.Equal(got, want) {
		t.Fatalf("nav_latest: %v, want %v", got, want)
	}
}

// A crash after a batch's NAVs committed and before nav_latest's flush
// leaves navs ahead of nav_latest: the next run (a new sink, its state read
// from nav_latest) takes those NAVs for new, and its COPY is refused on the
// key. The batch goes through ON CONFLICT instead, stores nothing twice,
// and the flush moves nav_latest to it.
func TestNAVSinkReplaysBatchesItsFlushNeverSent(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	day17 := []fund.NAVLine{navLine("100", "Alpha", "10", 17, 2), navLine("200", "Beta", "20", 17, 3)}
	day18 := []fund.NAVLine{navLine("100", "Alpha", "11", 18, 2), navLine("200", "Beta", "21", 18, 3)}
	crashed := &postgres.NAVSink{Pool: pool, HoldLatest: true}
	for _, b := range [][]fund.NAVLine{day17, day18} {
		if err := crashed.Write(ctx, batchOf("", "", b...)); err != nil {
			t.Fatal(err)
		}
	}
	// (crashed is never flushed.)
	next := &postgres.NAVSink{Pool: pool, HoldLatest: true}
	for _, b := range [][]fund.NAVLine{day17, day18} {
		if err := next.Write(ctx, batchOf("", "", b...)); err != nil {
			t.Fatalf("the replay: %v", err)
		}
	}
	if err := cutFlush(ctx, next); err != nil {
		t.Fatal(err)
	}
	var navs int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM navs`).Scan(&navs); err != nil || navs != 4 {
		t.Fatalf("navs holds %d rows (%v), want 4", navs, err)
	}
	want := map[string]string{"100": "2026-08-18:11.00@abc:2", "200": "2026-08-18:21.00@abc:3"}
	if got := latestOf(t, pool); !maps.Equal(got, want) {
		t.Fatalf("nav_latest: %v, want %v", got, want)
	}
}

// A held move whose NAV navs does not hold (its commit was taken back by a
// crash of the database) is not made: nav_latest never names a NAV navs
// lacks, or the replay would skip it as stored.
func TestNAVSinkFlushMovesOnlyToStoredNAVs(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	s := &postgres.NAVSink{Pool: pool, HoldLatest: true}
	if err := s.Write(ctx, batchOf("", "", navLine("100", "Alpha", "10", 17, 2), navLine("200", "Beta", "20", 17, 3))); err != nil {
		t.Fatal(err)
	}
	if err := cutFlush(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, batchOf("", "", navLine("100", "Alpha", "11", 18, 2), navLine("200", "Beta", "21", 18, 3))); err != nil {
		t.Fatal(err)
	}
	// The database lost scheme 200's NAV of the 18th.
	if _, err := pool.Exec(ctx, `DELETE FROM navs WHERE scheme_code = '200' AND nav_date = '2026-08-18'`); err != nil {
		t.Fatal(err)
	}
	if err := cutFlush(ctx, s); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"100": "2026-08-18:11.00@abc:2", "200": "2026-08-17:20.00@abc:3"}
	if got := latestOf(t, pool); !maps.Equal(got, want) {
		t.Fatalf("nav_latest: %v, want %v", got, want)
	}
}

// nav_latest names the row navs holds, whoever said the key last: a key a
// file published again says (other bytes, other lines) after a crash, a
// key said twice in one batch, a key said again after the sink's state
// was read anew while moves were held. Each time navs keeps the first row,
// and nav_latest moves to it.
func TestNAVSinkMovesLatestToTheRowNavsHolds(t *testing.T) {
	from := func(n fund.NAVLine, sha string, line int) fund.NAVLine {
		n.From.SHA256, n.From.Line = sha, line
		return n
	}
	t.Run("file published again after a crash", func(t *testing.T) {
		pool, _ := testkit.PG(t)
		ctx := testkit.Ctx(t)
		seed := &postgres.NAVSink{Pool: pool, HoldLatest: true}
		if err := seed.Write(ctx, batchOf("", "", navLine("100", "Alpha", "10", 17, 2))); err != nil {
			t.Fatal(err)
		}
		if err := cutFlush(ctx, seed); err != nil {
			t.Fatal(err)
		}
		// The crashed run: day 18 of 100 and 200 (200 new), never flushed.
		crashed := &postgres.NAVSink{Pool: pool, HoldLatest: true}
		if err := crashed.Write(ctx, batchOf("", "", navLine("100", "Alpha", "11", 18, 2), navLine("200", "Beta", "21", 18, 3))); err != nil {
			t.Fatal(err)
		}
		// The file as published again: the same NAVs on other lines.
		next := &postgres.NAVSink{Pool: pool, HoldLatest: true}
		if err := next.Write(ctx, batchOf("", "", from(navLine("100", "Alpha", "11", 18, 0), "def", 7), from(navLine("200", "Beta", "21", 18, 0), "def", 9))); err != nil {
			t.Fatal(err)
		}
		if err := cutFlush(ctx, next); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"100": "2026-08-18:11.00@abc:2", "200": "2026-08-18:21.00@abc:3"}
		if got := latestOf(t, pool); !maps.Equal(got, want) {
			t.Fatalf("nav_latest: %v, want %v (navs' rows)", got, want)
		}
	})
	for _, hold := range []bool{false, true} {
		t.Run(fmt.Sprintf("key twice in a batch, hold %v", hold), func(t *testing.T) {
			pool, _ := testkit.PG(t)
			ctx := testkit.Ctx(t)
			s := &postgres.NAVSink{Pool: pool, HoldLatest: hold}
			if err := s.Write(ctx, batchOf("", "", navLine("100", "Alpha", "10", 17, 2), navLine("100", "Alpha", "11", 18, 3),
				navLine("100", "Alpha", "11", 18, 5))); err != nil {
				t.Fatal(err)
			}
			if err := cutFlush(ctx, s); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"100": "2026-08-18:11.00@abc:3"}
			if got := latestOf(t, pool); !maps.Equal(got, want) {
				t.Fatalf("nav_latest: %v, want %v (navs keeps the first line)", got, want)
			}
		})
	}
	t.Run("state read anew with moves held", func(t *testing.T) {
		pool, _ := testkit.PG(t)
		ctx := testkit.Ctx(t)
		s := &postgres.NAVSink{Pool: pool, HoldLatest: true}
		if err := s.Write(ctx, batchOf("", "", navLine("100", "Alpha", "10", 17, 2))); err != nil {
			t.Fatal(err)
		}
		// A batch Postgres refuses (a NAV its CHECK refuses) drops the
		// state: it is read again from nav_latest, which lacks the 17th.
		bad := navLine("300", "Gamma", "10", 17, 4)
		bad.NAV = bad.NAV.Neg()
		if err := s.Write(ctx, batchOf("", "", bad)); err == nil {
			t.Fatal("a negative NAV was stored")
		}
		// The next file says 100's NAV of the 17th again (no NAV of the 18th).
		if err := s.Write(ctx, batchOf("", "", from(navLine("100", "Alpha", "10", 17, 0), "def", 8))); err != nil {
			t.Fatal(err)
		}
		if err := cutFlush(ctx, s); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"100": "2026-08-17:10.00@abc:2"}
		if got := latestOf(t, pool); !maps.Equal(got, want) {
			t.Fatalf("nav_latest: %v, want %v", got, want)
		}
	})
}

// cutFlush flushes as the engine does: Cut, then Flush.
func cutFlush(ctx context.Context, s *postgres.NAVSink) error {
	s.Cut()
	return s.Flush(ctx)
}

// A Flush sends the moves cut before it, not those written after the cut
// (the engine writes the next batches while a flush runs): they wait for
// the next cut.
func TestNAVSinkFlushSendsOnlyWhatWasCut(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	s := &postgres.NAVSink{Pool: pool, HoldLatest: true}
	if err := s.Write(ctx, batchOf("", "", navLine("100", "Alpha", "10", 17, 2))); err != nil {
		t.Fatal(err)
	}
	s.Cut()
	if err := s.Write(ctx, batchOf("", "", navLine("100", "Alpha", "11", 18, 2), navLine("200", "Beta", "21", 18, 3))); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"100": "2026-08-17:10.00@abc:2"}
	if got := latestOf(t, pool); !maps.Equal(got, want) || s.Held() != 2 {
		t.Fatalf("nav_latest after the first flush: %v (held %d), want %v (held 2)", got, s.Held(), want)
	}
	if err := cutFlush(ctx, s); err != nil {
		t.Fatal(err)
	}
	want = map[string]string{"100": "2026-08-18:11.00@abc:2", "200": "2026-08-18:21.00@abc:3"}
	if got := latestOf(t, pool); !maps.Equal(got, want) {
		t.Fatalf("nav_latest: %v, want %v", got, want)
	}
}

// A retraction running while a flush moves nav_latest: the flush waits for
// it (the moves share a lock a retraction takes alone) and then reads navs
// without the retracted row, so nav_latest never points at a NAV navs no
// longer holds. Without the lock the flush's snapshot still sees the row
// the open retraction deleted, and its upsert inserts the scheme there.
func TestNAVLatestFlushWaitsForRetraction(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	s := &postgres.NAVSink{Pool: pool, HoldLatest: true}
	if err := s.Write(ctx, batchOf("", "", navLine("100", "Alpha", "10", 17, 2))); err != nil {
		t.Fatal(err)
	}
	retract, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer retract.Rollback(ctx) //nolint:errcheck // after Commit: no-op
	if got, err := postgres.RetractInTx(ctx, retract, postgres.NAVSelector{Scheme: "100"}, "test"); err != nil || len(got) != 1 {
		t.Fatalf("retract: %v, %v", got, err)
	}
	flushed, ended := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(ended)
		flushed <- cutFlush(ctx, s)
	}()
	// Commit once the flush has ended (it did not wait) or waits for the
	// retraction.
	testkit.AwaitBlockedBy(t, ctx, pool, retract.Conn().PgConn().PID(), ended)
	if err := retract.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	ferr := <-flushed
	if ferr != nil {
		t.Fatal(ferr)
	}
	var dangling int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM nav_latest l WHERE NOT EXISTS
		(SELECT 1 FROM navs n WHERE n.scheme_code = l.scheme_code AND n.nav_date = l.nav_date)`).Scan(&dangling); err != nil {
		t.Fatal(err)
	}
	if dangling != 0 {
		t.Fatalf("nav_latest has %d row(s) navs does not hold: %v", dangling, latestOf(t, pool))
	}
}

// A retraction of all of a scheme's NAVs while a sink runs leaves the
// sink's state saying nav_latest has the scheme: its next move is an
// update that matches nothing, and nav_latest gets the scheme back by
// the insert that follows it (held moves and per-batch moves alike).
func TestNAVLatestMoveAfterTheSchemeWasRetracted(t *testing.T) {
	for _, hold := range []bool{true, false} {
		t.Run(fmt.Sprintf("HoldLatest=%v", hold), func(t *testing.T) {
			pool, _ := testkit.PG(t)
			ctx := testkit.Ctx(t)
			s := &postgres.NAVSink{Pool: pool, HoldLatest: hold}
			write := func(n fund.NAVLine) {
				t.Helper()
				if err := s.Write(ctx, batchOf("", "", n)); err != nil {
					t.Fatal(err)
				}
				if hold {
					if err := cutFlush(ctx, s); err != nil {
						t.Fatal(err)
					}
				}
			}
			write(navLine("100", "Alpha", "10", 17, 2))
			if _, err := (postgres.Store{Pool: pool}).RetractNAVs(ctx, postgres.NAVSelector{Scheme: "100"}, "test"); err != nil {
				t.Fatal(err)
			}
			// the retraction's audit row, as written by hand
			var same bool
			if err := pool.QueryRow(ctx, `SELECT payload = $1::jsonb FROM audit_log WHERE entity = 'nav' AND action = 'retracted'
				AND entity_id = '100|2026-08-17' AND actor = 'test'`, `{"scheme_code": "100", "nav_date": "2026-08-17", "nav": "10.00000000",
				"source_file": "NAVAll.txt", "source_sha256": "abc", "source_line": 2}`).Scan(&same); err != nil || !same {
				t.Fatalf("retraction audit: same %v, %v", same, err)
			}
			write(navLine("100", "Alpha", "11", 18, 3))
			want := map[string]string{"100": "2026-08-18:11.00@abc:3"}
			if got := latestOf(t, pool); !maps.Equal(got, want) {
				t.Fatalf("nav_latest: %v, want %v", got, want)
			}
		})
	}
}

// With LatestEvery, a Flush before the wait is over keeps the moves (the
// engine commits their batches: Held no longer counts them), and Close
// sends them all, each scheme to its newest row.
func TestNAVSinkLatestEveryKeepsMovesUntilClose(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	s := &postgres.NAVSink{Pool: pool, HoldLatest: true, LatestEvery: time.Hour}
	for _, b := range [][]fund.NAVLine{
		{navLine("100", "Alpha", "10", 17, 2), navLine("200", "Beta", "20", 17, 3)},
		{navLine("100", "Alpha", "11", 18, 2)},
	} {
		if err := s.Write(ctx, batchOf("", "", b...)); err != nil {
			t.Fatal(err)
		}
		if err := cutFlush(ctx, s); err != nil {
			t.Fatal(err)
		}
		if got := latestOf(t, pool); len(got) != 0 || s.Held() != 0 {
			t.Fatalf("after a flush within LatestEvery: nav_latest %v, held %d; want nothing, 0", got, s.Held())
		}
	}
	// A batch no cut took yet goes with them.
	if err := s.Write(ctx, batchOf("", "", navLine("200", "Beta", "21", 19, 8))); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"100": "2026-08-18:11.00@abc:2", "200": "2026-08-19:21.00@abc:8"}
	if got := latestOf(t, pool); !maps.Equal(got, want) {
		t.Fatalf("nav_latest after Close: %v, want %v", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("a second Close: %v", err)
	}
}

// The first Flush starts LatestEvery's wait; a Flush after it sends the
// moves it kept with those cut for it. When that send fails, they are all
// held again (Held counts them) for the retry.
func TestNAVSinkLatestEverySendsKeptMovesWhenDue(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	s := &postgres.NAVSink{Pool: pool, HoldLatest: true, LatestEvery: time.Nanosecond}
	if err := s.Write(ctx, batchOf("", "", navLine("100", "Alpha", "10", 17, 2), navLine("200", "Beta", "20", 17, 3))); err != nil {
		t.Fatal(err)
	}
	if err := cutFlush(ctx, s); err != nil {
		t.Fatal(err)
	}
	if got := latestOf(t, pool); len(got) != 0 {
		t.Fatalf("nav_latest after the first flush: %v, want nothing", got)
	}
	if err := s.Write(ctx, batchOf("", "", navLine("100", "Alpha", "11", 18, 4))); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := cutFlush(cancelled, s); err == nil {
		t.Fatal("a flush with a cancelled context succeeded")
	}
	if got := s.Held(); got != 2 || len(latestOf(t, pool)) != 0 {
		t.Fatalf("after the failed send: held %d, nav_latest %v; want 2 (the kept move of 200 too), nothing", got, latestOf(t, pool))
	}
	if err := cutFlush(ctx, s); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"100": "2026-08-18:11.00@abc:4", "200": "2026-08-17:20.00@abc:3"}
	if got := latestOf(t, pool); !maps.Equal(got, want) {
		t.Fatalf("nav_latest after the second flush: %v, want %v", got, want)
	}
}

// A run that dies after its checkpoints committed and before it sent its
// kept moves leaves nav_latest behind navs; the next Load moves each scheme
// up to its newest NAV in navs (a scheme with none in nav_latest too; an
// older NAV written after the newest is not it).
func TestNAVSinkLoadCatchesUpMovesNeverSent(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	first := &postgres.NAVSink{Pool: pool, HoldLatest: true}
	if err := first.Write(ctx, batchOf("", "", navLine("100", "Alpha", "10", 17, 2), navLine("200", "Beta", "20", 17, 3))); err != nil {
		t.Fatal(err)
	}
	if err := cutFlush(ctx, first); err != nil {
		t.Fatal(err)
	}
	died := &postgres.NAVSink{Pool: pool, HoldLatest: true, LatestEvery: time.Hour}
	for _, b := range [][]fund.NAVLine{
		{navLine("100", "Alpha", "11", 18, 5), navLine("300", "Gamma", "30", 18, 6)},
		{navLine("300", "Gamma", "29", 17, 7)}, // older than 300's newest
	} {
		if err := died.Write(ctx, batchOf("", "", b...)); err != nil {
			t.Fatal(err)
		}
		if err := cutFlush(ctx, died); err != nil {
			t.Fatal(err)
		}
	}
	// (died is never closed.)
	before := map[string]string{"100": "2026-08-17:10.00@abc:2", "200": "2026-08-17:20.00@abc:3"}
	if got := latestOf(t, pool); !maps.Equal(got, before) {
		t.Fatalf("nav_latest before the next run: %v, want %v", got, before)
	}
	next := &postgres.NAVSink{Pool: pool, HoldLatest: true}
	if err := next.Load(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"100": "2026-08-18:11.00@abc:5", "200": "2026-08-17:20.00@abc:3", "300": "2026-08-18:30.00@abc:6"}
	if got := latestOf(t, pool); !maps.Equal(got, want) {
		t.Fatalf("nav_latest after Load: %v, want %v", got, want)
	}
	if got := next.Latest()["100"]; got.Date != fund.NewDate(2026, time.August, 18) {
		t.Fatalf("the loaded state has 100 at %v, want 2026-08-18 (read after the catch-up)", got.Date)
	}
}
