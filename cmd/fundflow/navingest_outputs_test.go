package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/sinks/kafka"
)

// With Kafka brokers in the environment, every validated NAV of a real AMFI
// file is published to nav.validated once, keyed by its scheme code; the
// expected keys come from the file itself (countNAVFile), not the parser.
func TestNAVIngestPublishesValidatedNAVsToKafka(t *testing.T) {
	const name = "NAVAll_2026-08-21_8col-plan-option.txt"
	fixture := testkit.Fixture(t, "amfi/navall/"+name)
	want := countNAVFile(t, fixture)
	brokers := testkit.Kafka(t, 3, "nav.validated")
	t.Setenv("FUNDFLOW_KAFKA_BROKERS", strings.Join(brokers, ","))
	dir := t.TempDir()
	copyFile(t, fixture, filepath.Join(dir, name))
	d := testDeps(t, navConfig(t, dir))

	st, err := runNAV(t, d)
	if err != nil {
		t.Fatal(err)
	}
	msgs := testkit.ReadTopic(t, brokers, "nav.validated")
	if len(msgs) != want.valid || int(st.Out) != want.valid {
		t.Fatalf("%d events (run wrote %d), want one per valid row: %d", len(msgs), st.Out, want.valid)
	}
	got := map[string]bool{}
	for _, m := range msgs {
		var ev kafka.NAVEvent
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatalf("offset %d: %v", m.Offset, err)
		}
		if string(m.Key) != ev.SchemeCode {
			t.Fatalf("key %q carries scheme %q", m.Key, ev.SchemeCode)
		}
		if ev.Source.File != name || ev.Source.Line < 2 {
			t.Fatalf("event lineage %+v", ev.Source)
		}
		got[ev.SchemeCode+"|"+ev.NAVDate] = true
	}
	wantKeys := map[string]bool{}
	for k := range want.keys {
		wantKeys[normaliseKey(k)] = true
	}
	assertSameKeys(t, "kafka nav.validated", got, wantKeys)

	// The same bytes again load nothing, so nothing is published again.
	copyFile(t, fixture, filepath.Join(dir, "again-"+name))
	if _, err := runNAV(t, d); err != nil {
		t.Fatal(err)
	}
	if n := len(testkit.ReadTopic(t, brokers, "nav.validated")); n != want.valid {
		t.Fatalf("%d events after a duplicate file, want %d", n, want.valid)
	}
}

// Every run leaves one "run" row and every quarantined row one "quarantine"
// row in ClickHouse's ingest_events, matching the Postgres quarantine.
func TestNAVIngestWritesIngestEvents(t *testing.T) {
	const name = "NAVAll_2025-09-17_CR-CR-LF.txt"
	fixture := testkit.Fixture(t, "amfi/navall/"+name)
	want := countNAVFile(t, fixture)
	dir := t.TempDir()
	copyFile(t, fixture, filepath.Join(dir, name))
	d := testDeps(t, navConfig(t, dir))
	ctx := testkit.Ctx(t)
	if _, err := runNAV(t, d); err != nil {
		t.Fatal(err)
	}
	var runID int64
	if err := d.pg.Pool.QueryRow(ctx, `SELECT id FROM job_runs`).Scan(&runID); err != nil {
		t.Fatal(err)
	}

	var runs, records uint64
	var reason string
	if err := d.ch.QueryRow(ctx, `SELECT count(), sum(records), any(reason) FROM ingest_events WHERE kind = 'run' AND run_id = ?`, uint64(runID)).
		Scan(&runs, &records, &reason); err != nil {
		t.Fatal(err)
	}
	if runs != 1 || int(records) != want.valid || reason != "ok" {
		t.Fatalf("run events: %d rows, %d records, %q; want 1, %d, ok", runs, records, reason, want.valid)
	}

	pgQ := map[string]string{}
	rows, err := d.pg.Pool.Query(ctx, `SELECT source_sha256 || ':' || source_line, reason FROM quarantine`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k, r string
		if err := rows.Scan(&k, &r); err != nil {
			t.Fatal(err)
		}
		pgQ[k] = r
	}
	chRows, err := d.ch.Query(ctx, `SELECT concat(sha256, ':', toString(line)), reason, file, run_id FROM ingest_events WHERE kind = 'quarantine'`)
	if err != nil {
		t.Fatal(err)
	}
	defer chRows.Close()
	n := 0
	for chRows.Next() {
		var k, r, file string
		var id uint64
		if err := chRows.Scan(&k, &r, &file, &id); err != nil {
			t.Fatal(err)
		}
		n++
		if pgQ[k] != r || file != name || id != uint64(runID) {
			t.Errorf("clickhouse quarantine event %s %s %s run %d; postgres says %q (run %d)", k, r, file, id, pgQ[k], runID)
		}
	}
	if n != want.dataLines-want.valid || len(pgQ) != n {
		t.Fatalf("quarantine events = %d, postgres rows = %d, file has %d invalid rows", n, len(pgQ), want.dataLines-want.valid)
	}
}
