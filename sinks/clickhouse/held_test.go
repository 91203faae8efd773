package clickhouse_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// newHeld is a HeldNAVHistory over a fresh ClickHouse database, with the
// stage's view of what it holds.
func newHeld(t *testing.T) (driver.Conn, context.Context, *clickhouse.LatestDates, *clickhouse.HeldNAVHistory) {
	conn, _ := testkit.CH(t)
	ctx := testkit.Ctx(t)
	latest, err := clickhouse.LoadLatestDates(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	return conn, ctx, latest, &clickhouse.HeldNAVHistory{NAVHistory: clickhouse.NAVHistory{Conn: conn, Latest: latest}}
}

// line is a NAV of 2026-12-01 from line n of f.txt.
func line(code string, n int) fund.NAVLine {
	return fund.NAVLine{NAVRecord: fund.NAVRecord{SchemeCode: code, NAV: decimal.RequireFromString("10.5"), Date: fund.NewDate(2026, 12, 1)},
		From: fund.Origin{File: "f.txt", SHA256: "s", Line: n}}
}

// HeldNAVHistory sends nothing until Flush, then everything held as one
// insert (one part in nav_history); a batch written again (a retry) is
// held once; a failed Flush keeps the rows for the next; the stage's view
// of what ClickHouse holds moves only when the rows were sent.
func TestHeldNAVHistorySendsOnFlushAsOneInsert(t *testing.T) {
	conn, ctx, latest, h := newHeld(t)
	b1 := pipelines.Batch[fund.NAVLine]{Items: []fund.NAVLine{line("A", 3), line("B", 4)}, Through: pipelines.Checkpoint{Stream: "f", Pos: []byte("4")}}
	b2 := pipelines.Batch[fund.NAVLine]{Items: []fund.NAVLine{line("C", 5), line("D", 6), line("E", 7)}, Through: pipelines.Checkpoint{Stream: "f", Pos: []byte("7")}}
	for _, b := range []pipelines.Batch[fund.NAVLine]{b1, b2, b2} { // b2 twice: a retry
		if err := h.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	// A batch with a date nav_history cannot hold is refused at Write.
	bad := pipelines.Batch[fund.NAVLine]{Items: []fund.NAVLine{line("F", 8)}, Through: pipelines.Checkpoint{Stream: "f", Pos: []byte("8")}}
	bad.Items[0].Date = fund.NewDate(2150, 1, 1)
	if err := h.Write(ctx, bad); err == nil {
		t.Fatal("a date outside Date was held")
	}
	count := func() (rows, parts uint64) {
		if err := conn.QueryRow(ctx, `SELECT count() FROM nav_history`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, `SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = 'nav_history' AND active`).Scan(&parts); err != nil {
			t.Fatal(err)
		}
		return rows, parts
	}
	if rows, _ := count(); rows != 0 || h.Held() != 5 {
		t.Fatalf("before Flush: %d rows in nav_history, %d held; want 0 and 5 (2 + 3, the retried batch once)", rows, h.Held())
	}
	if latest.Holds(line("A", 3).NAVRecord) {
		t.Fatal("the stage is told ClickHouse holds a row it was not sent")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	h.Cut()
	if err := h.Flush(cancelled); err == nil || h.Held() != 5 {
		t.Fatalf("Flush on a cancelled context: %v, %d held; want an error and the 5 rows kept", err, h.Held())
	}
	h.Cut()
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if rows, parts := count(); rows != 5 || parts != 1 || h.Held() != 0 {
		t.Fatalf("after Flush: %d rows in %d parts, %d held; want 5 rows in 1 part, none held", rows, parts, h.Held())
	}
	if !latest.Holds(line("E", 7).NAVRecord) {
		t.Fatal("the stage is not told ClickHouse holds a row it was sent")
	}
}

// newHeldEvents is an Events with Hold over fresh databases, its run
// started.
func newHeldEvents(t *testing.T) (context.Context, *pgxpool.Pool, driver.Conn, *clickhouse.Events) {
	ctx := testkit.Ctx(t)
	pool, _ := testkit.PG(t)
	conn, _ := testkit.CH(t)
	pg := postgres.Store{Pool: pool}
	ev := &clickhouse.Events{Conn: conn, Runs: pg, Quarantine: pg, Hold: true}
	if _, err := ev.Start(ctx, "nav-ingest"); err != nil {
		t.Fatal(err)
	}
	return ctx, pool, conn, ev
}

// With Hold, Events writes the quarantine to Postgres at Put (the truth)
// and ClickHouse's events only at Flush, all of them in one insert.
func TestEventsHoldQuarantineEventsUntilFlush(t *testing.T) {
	ctx, pool, conn, ev := newHeldEvents(t)
	for _, lines := range [][]int{{3, 5}, {8}} {
		if err := ev.Put(ctx, rejected(lines...)); err != nil {
			t.Fatal(err)
		}
	}
	var inPG int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM quarantine`).Scan(&inPG); err != nil {
		t.Fatal(err)
	}
	if got := chEvents(t, conn); inPG != 3 || len(got) != 0 || ev.Held() != 3 {
		t.Fatalf("before Flush: %d quarantined in Postgres, %d events in ClickHouse, %d held; want 3, 0, 3", inPG, len(got), ev.Held())
	}
	ev.Cut()
	if err := ev.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := chEvents(t, conn)
	if len(got) != 3 || ev.Held() != 0 {
		t.Fatalf("after Flush: %d events, %d held; want 3 and 0", len(got), ev.Held())
	}
	for i, want := range []uint32{3, 5, 8} {
		if got[i].Kind != clickhouse.EventQuarantine || got[i].Line != want {
			t.Errorf("event %d: %+v, want a quarantine event of line %d", i, got[i], want)
		}
	}
	var parts uint64
	if err := conn.QueryRow(ctx, `SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = 'ingest_events' AND active`).Scan(&parts); err != nil {
		t.Fatal(err)
	}
	if parts != 1 {
		t.Errorf("ingest_events has %d parts, want 1 (one insert)", parts)
	}
}

// After a held insert ClickHouse refused, the engine sends batch by batch
// (pipelines.BatchHolder): FlushBatch sends one batch's rows only, as one
// insert; DropBatch lets a batch go (its file failed) and the stage is
// never told ClickHouse holds its rows; Flush sends what is left.
func TestHeldNAVHistorySendsAndDropsBatchByBatch(t *testing.T) {
	conn, ctx, latest, h := newHeld(t)
	cp := func(stream, pos string) pipelines.Checkpoint {
		return pipelines.Checkpoint{Stream: stream, Pos: []byte(pos)}
	}
	b1 := pipelines.Batch[fund.NAVLine]{Items: []fund.NAVLine{line("A", 1), line("B", 2)}, Through: cp("f", "2")}
	b2 := pipelines.Batch[fund.NAVLine]{Items: []fund.NAVLine{line("C", 3)}, Through: cp("f", "3")}
	b3 := pipelines.Batch[fund.NAVLine]{Items: []fund.NAVLine{line("D", 1), line("E", 2), line("F", 3)}, Through: cp("g", "3")}
	for _, b := range []pipelines.Batch[fund.NAVLine]{b1, b2, b3} {
		if err := h.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	codes := func() string {
		rows, err := conn.Query(ctx, `SELECT scheme_code FROM nav_history ORDER BY scheme_code`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var s string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			s += c
		}
		return s
	}
	if err := h.FlushBatch(ctx, b2.Through); err != nil {
		t.Fatal(err)
	}
	if got := codes(); got != "C" || h.Held() != 5 {
		t.Fatalf("after FlushBatch(b2): nav_history %q, %d held; want C and 5", got, h.Held())
	}
	if !latest.Holds(line("C", 3).NAVRecord) || latest.Holds(line("A", 1).NAVRecord) {
		t.Fatal("after FlushBatch(b2) the stage's view is wrong: want C held, A not")
	}
	if err := h.FlushBatch(ctx, cp("f", "99")); err != nil || h.Held() != 5 {
		t.Fatalf("FlushBatch of a batch not held: %v, %d held; want nil and 5", err, h.Held())
	}
	h.DropBatch(b1.Through)
	if h.Held() != 3 {
		t.Fatalf("after DropBatch(b1): %d held, want 3", h.Held())
	}
	h.Cut()
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := codes(); got != "CDEF" || h.Held() != 0 {
		t.Fatalf("after Flush: nav_history %q, %d held; want CDEF and 0", got, h.Held())
	}
	if latest.Holds(line("A", 1).NAVRecord) || latest.Holds(line("B", 2).NAVRecord) || !latest.Holds(line("F", 3).NAVRecord) {
		t.Fatal("after Flush the stage's view is wrong: want A and B (dropped) not held, F held")
	}
}

// A server that refuses every insert (read-only; nav_history missing, as
// mid-migration) is not bad rows: the refusal is transient, so the engine
// retries and then fails the run instead of setting the file aside, and
// the rows stay held. (Before: every server exception was permanent.)
func TestHeldNAVHistoryServerWideRefusalIsTransient(t *testing.T) {
	conn, ctx, _, h := newHeld(t)
	b := pipelines.Batch[fund.NAVLine]{Items: []fund.NAVLine{line("A", 3), line("B", 4)}, Through: pipelines.Checkpoint{Stream: "f", Pos: []byte("4")}}
	if err := h.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	readOnly := ch.Context(ctx, ch.WithSettings(ch.Settings{"readonly": 1}))
	for name, flush := range map[string]func() error{
		"read-only Flush":      func() error { h.Cut(); return h.Flush(readOnly) },
		"read-only FlushBatch": func() error { return h.FlushBatch(readOnly, b.Through) },
	} {
		err := flush()
		var ex *ch.Exception
		if !errors.As(err, &ex) || ex.Code != 164 || !pipelines.IsTransient(err) || h.Held() != 2 {
			t.Errorf("%s: %v (transient %v), %d held; want READONLY (164), transient, 2 held", name, err, pipelines.IsTransient(err), h.Held())
		}
	}
	if err := conn.Exec(ctx, `DROP TABLE nav_history`); err != nil {
		t.Fatal(err)
	}
	h.Cut()
	err := h.Flush(ctx)
	var ex *ch.Exception
	if !errors.As(err, &ex) || ex.Code != 60 || !pipelines.IsTransient(err) || h.Held() != 2 {
		t.Errorf("nav_history dropped: %v (transient %v), %d held; want UNKNOWN_TABLE (60), transient, 2 held", err, pipelines.IsTransient(err), h.Held())
	}
}

// The engine flushes in the background (pipelines.Holder): Flush sends the
// rows cut and nothing written while it runs; after a failure the rows cut
// are held again in front of those written since, so that batch by batch
// the right rows go; a batch written again after it was cut (a retry) is
// held once.
func TestHeldNAVHistoryKeepsWritingWhileAFlushRuns(t *testing.T) {
	conn, ctx, latest, h := newHeld(t)
	cp := func(pos string) pipelines.Checkpoint { return pipelines.Checkpoint{Stream: "f", Pos: []byte(pos)} }
	b1 := pipelines.Batch[fund.NAVLine]{Items: []fund.NAVLine{line("A", 1), line("B", 2)}, Through: cp("2")}
	b2 := pipelines.Batch[fund.NAVLine]{Items: []fund.NAVLine{line("C", 3), line("D", 4), line("E", 5)}, Through: cp("5")}
	b3 := pipelines.Batch[fund.NAVLine]{Items: []fund.NAVLine{line("F", 6)}, Through: cp("6")}
	b4 := pipelines.Batch[fund.NAVLine]{Items: []fund.NAVLine{line("G", 7)}, Through: cp("7")}
	write := func(bs ...pipelines.Batch[fund.NAVLine]) {
		t.Helper()
		for _, b := range bs {
			if err := h.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	codes := func() string {
		t.Helper()
		var s string
		if err := conn.QueryRow(ctx, `SELECT arrayStringConcat(arraySort(groupArray(scheme_code))) FROM nav_history`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	write(b1)
	h.Cut()
	flushed := make(chan error, 1)
	go func() { flushed <- h.Flush(ctx) }()
	write(b2, b3) // while the insert runs (or before it starts: either way after the cut)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if got := codes(); got != "AB" || h.Held() != 4 {
		t.Fatalf("after the first Flush: nav_history %q, %d held; want AB and 4 (C-F written during it)", got, h.Held())
	}
	if !latest.Holds(line("B", 2).NAVRecord) || latest.Holds(line("C", 3).NAVRecord) {
		t.Fatal("the stage's view after the first Flush: want B held, C not")
	}
	h.Cut()
	write(b4)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := h.Flush(cancelled); err == nil || h.Held() != 5 {
		t.Fatalf("failed Flush: %v, %d held; want an error and 5 held (C-F again, in front of G)", err, h.Held())
	}
	if err := h.FlushBatch(ctx, b3.Through); err != nil {
		t.Fatal(err)
	}
	h.DropBatch(b2.Through)
	if got := codes(); got != "ABF" || h.Held() != 1 {
		t.Fatalf("after FlushBatch(b3), DropBatch(b2): nav_history %q, %d held; want ABF and 1 (G)", got, h.Held())
	}
	h.Cut()
	write(b4) // the cut batch again: a retry
	if h.Held() != 0 {
		t.Fatalf("a cut batch written again: %d held, want 0 (held once)", h.Held())
	}
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := codes(); got != "ABFG" || h.Held() != 0 {
		t.Fatalf("at the end: nav_history %q, %d held; want ABFG and 0", got, h.Held())
	}
	if latest.Holds(line("C", 3).NAVRecord) || !latest.Holds(line("G", 7).NAVRecord) {
		t.Fatal("the stage's view at the end: want C (dropped) not held, G held")
	}
}

// Events with Hold: Put goes on while Flush sends the events cut, and a
// failed Flush keeps them, in front of those Put since.
func TestEventsPutWhileAFlushRuns(t *testing.T) {
	ctx, _, conn, ev := newHeldEvents(t)
	put := func(lines ...int) {
		t.Helper()
		if err := ev.Put(ctx, rejected(lines...)); err != nil {
			t.Fatal(err)
		}
	}
	lines := func() []uint32 {
		var out []uint32
		for _, e := range chEvents(t, conn) {
			out = append(out, e.Line)
		}
		return out
	}
	put(3, 5)
	ev.Cut()
	flushed := make(chan error, 1)
	go func() { flushed <- ev.Flush(ctx) }()
	put(8)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if got := lines(); !slices.Equal(got, []uint32{3, 5}) || ev.Held() != 1 {
		t.Fatalf("after the first Flush: events of lines %v, %d held; want [3 5] and 1", got, ev.Held())
	}
	ev.Cut()
	put(9)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := ev.Flush(cancelled); err == nil || ev.Held() != 2 {
		t.Fatalf("failed Flush: %v, %d held; want an error and 2 held", err, ev.Held())
	}
	ev.Cut()
	if err := ev.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := lines(); !slices.Equal(got, []uint32{3, 5, 8, 9}) || ev.Held() != 0 {
		t.Fatalf("at the end: events of lines %v, %d held; want [3 5 8 9] and 0", got, ev.Held())
	}
}

// The holder's string table is cleared once nothing is held and it has
// grown past its threshold (2 here): rows held before and after a clear,
// and rows written while a cut waits for its flush, reach nav_history with
// their own AMC, category and file.
func TestHeldNAVHistoryStringsAcrossClears(t *testing.T) {
	defer clickhouse.SetMaxHeldStrings(2)()
	conn, ctx, _, h := newHeld(t)
	type want struct{ amc, category, sha string }
	expect := map[string]want{}
	pos := 0
	write := func(codes ...string) {
		t.Helper()
		var items []fund.NAVLine
		for _, c := range codes {
			pos++
			n := line(c, pos)
			n.AMC, n.Category, n.From.SHA256 = "AMC "+c, "Cat "+c, "sha-"+c
			expect[c] = want{n.AMC, n.Category, n.From.SHA256}
			items = append(items, n)
		}
		if err := h.Write(ctx, pipelines.Batch[fund.NAVLine]{Items: items, Through: pipelines.Checkpoint{Stream: "f", Pos: []byte{byte(pos)}}}); err != nil {
			t.Fatal(err)
		}
	}
	flush := func() {
		t.Helper()
		if err := h.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	write("A", "B")
	h.Cut()
	flush() // nothing held after it: the table (A's and B's strings) may go
	write("C")
	h.Cut()
	write("D", "E") // held after the cut, while it waits for its flush
	flush()
	h.Cut()
	write("F")
	flush()
	h.Cut()
	flush()
	if h.Held() != 0 {
		t.Fatalf("%d rows still held", h.Held())
	}
	rows, err := conn.Query(ctx, `SELECT scheme_code, amc, category, source_sha256 FROM nav_history`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]want{}
	for rows.Next() {
		var code string
		var w want
		if err := rows.Scan(&code, &w.amc, &w.category, &w.sha); err != nil {
			t.Fatal(err)
		}
		got[code] = w
	}
	if len(got) != len(expect) {
		t.Fatalf("nav_history holds %v, want %v", got, expect)
	}
	for c, w := range expect {
		if got[c] != w {
			t.Errorf("scheme %s stored as %+v, want %+v", c, got[c], w)
		}
	}
}
