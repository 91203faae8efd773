package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Every scheme-master change the NAV sink makes is an audit row, and a
// replayed batch adds none.
func TestNAVSinkAuditsSchemeChanges(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	line := func(code, name string, day, ln int) fund.NAVLine {
		return fund.NAVLine{
			NAVRecord: fund.NAVRecord{SchemeCode: code, SchemeName: name, AMC: "Test AMC", Category: "Debt",
				NAV: decimal.RequireFromString("10.1234"), Date: fund.NewDate(2026, time.August, day)},
			From: fund.Origin{File: "NAVAll.txt", SHA256: "abc", Line: ln},
		}
	}
	sink := &postgres.NAVSink{Pool: pool}
	batches := [][]fund.NAVLine{
		{line("100", "Alpha Fund", 17, 2), line("200", "Beta Fund", 17, 3), line("300", "A & B <Growth>", 17, 4)},
		{line("100", "Alpha Fund", 18, 2), line("200", "Beta Fund - renamed", 18, 3)},
	}
	for i, b := range batches {
		for range 2 { // the second write is a replay
			if err := sink.Write(ctx, pipelines.Batch[fund.NAVLine]{Items: b, Through: pipelines.Checkpoint{Stream: "s", Pos: []byte{byte(i)}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	rows, err := pool.Query(ctx, `SELECT entity, entity_id, action, actor, payload->>'name', (payload->>'version')::int FROM audit_log ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		entity, id, action, actor, name string
		version                         int
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.entity, &r.id, &r.action, &r.actor, &r.name, &r.version); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	want := []row{
		{"scheme", "100", "created", "nav-ingest", "Alpha Fund", 1},
		{"scheme", "200", "created", "nav-ingest", "Beta Fund", 1},
		{"scheme", "300", "created", "nav-ingest", "A & B <Growth>", 1},
		{"scheme", "200", "version", "nav-ingest", "Beta Fund - renamed", 2},
	}
	if len(got) != len(want) {
		t.Fatalf("audit rows %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("audit row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// The payload is the new version in full, as written by hand here.
	for _, p := range []struct{ id, action, payload string }{
		{"200", "version", `{"version": 2, "valid_from": "2026-08-18", "name": "Beta Fund - renamed", "isin_growth": "", "isin_reinvest": "",
		  "plan": "", "option": "", "category": "Debt", "scheme_type": "", "amc": "Test AMC", "source_sha256": "abc", "source_line": 3}`},
		{"300", "created", `{"version": 1, "valid_from": "2026-08-17", "name": "A & B <Growth>", "isin_growth": "", "isin_reinvest": "",
		  "plan": "", "option": "", "category": "Debt", "scheme_type": "", "amc": "Test AMC", "source_sha256": "abc", "source_line": 4}`},
	} {
		var same bool
		if err := pool.QueryRow(ctx, `SELECT payload = $3::jsonb FROM audit_log WHERE entity_id = $1 AND action = $2`, p.id, p.action, p.payload).
			Scan(&same); err != nil || !same {
			var got string
			_ = pool.QueryRow(ctx, `SELECT payload::text FROM audit_log WHERE entity_id = $1 AND action = $2`, p.id, p.action).Scan(&got)
			t.Fatalf("scheme %s %s: payload %s (%v)", p.id, p.action, got, err)
		}
	}
	if rep, err := postgres.VerifyAudit(ctx, pool, nil); err != nil || rep.Problem != nil {
		t.Fatalf("verify: %v %v", rep.Problem, err)
	}
}

// A first file's thousands of new schemes have their audit step made ready
// on another connection while the batch runs (PrepareAudits): the same
// rows, in scheme order, with the payloads a small batch writes, and the
// chain verifies; a replay adds none.
func TestNAVSinkAuditsAFirstFileOfSchemes(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	n := postgres.PrepareAuditsFrom + 200
	var batch []fund.NAVLine
	for i := range n {
		batch = append(batch, fund.NAVLine{
			NAVRecord: fund.NAVRecord{SchemeCode: fmt.Sprintf("%06d", 100000+i), SchemeName: fmt.Sprintf("Fund %d – A & B <Growth>", i),
				AMC: "Test AMC", Category: "Debt", NAV: decimal.RequireFromString("10.1234"), Date: fund.NewDate(2026, time.August, 17)},
			From: fund.Origin{File: "NAVAll.txt", SHA256: "abc", Line: i + 2},
		})
	}
	sink := &postgres.NAVSink{Pool: pool}
	for range 2 { // the second write is a replay
		if err := sink.Write(ctx, pipelines.Batch[fund.NAVLine]{Items: batch, Through: pipelines.Checkpoint{Stream: "s", Pos: []byte{1}}}); err != nil {
			t.Fatal(err)
		}
	}
	var rows, created, inOrder int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE action = 'created' AND actor = 'nav-ingest'),
		count(*) FILTER (WHERE entity_id = to_char(100000 + seq - 1, 'FM000000'))
		FROM audit_log WHERE entity = 'scheme'`).Scan(&rows, &created, &inOrder); err != nil {
		t.Fatal(err)
	}
	if rows != n || created != n || inOrder != n {
		t.Fatalf("%d audit rows, %d created by nav-ingest, %d in scheme order; want %d each", rows, created, inOrder, n)
	}
	var same bool
	if err := pool.QueryRow(ctx, `SELECT payload = $1::jsonb FROM audit_log WHERE entity_id = '100007'`,
		`{"version": 1, "valid_from": "2026-08-17", "name": "Fund 7 – A & B <Growth>", "isin_growth": "", "isin_reinvest": "",
		  "plan": "", "option": "", "category": "Debt", "scheme_type": "", "amc": "Test AMC", "source_sha256": "abc", "source_line": 9}`).
		Scan(&same); err != nil || !same {
		t.Fatalf("scheme 100007's payload is not the one written by hand (%v)", err)
	}
	if rep, err := postgres.VerifyAudit(ctx, pool, nil); err != nil || rep.Problem != nil || rep.Rows != int64(n) {
		t.Fatalf("verify: %+v %v %v", rep, rep.Problem, err)
	}
}
