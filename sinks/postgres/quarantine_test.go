package postgres_test

import (
	"testing"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Put stores each rejected record once a position, in the records' order,
// with its context (NULL when it has none) and its raw bytes (an empty
// record as an empty one), and a replay of the same records adds nothing.
func TestQuarantinePut(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	st := postgres.Store{Pool: pool}
	at := func(line int) pipelines.Position { return pipelines.Position{File: "f.txt", SHA256: "abc", Line: line} }
	rs := []pipelines.Rejected{
		{Pipeline: "p", Pos: at(3), Raw: []byte("third"), Reason: "r3", Detail: "d3"},
		{Pipeline: "p", Pos: at(1), Raw: nil, Reason: "empty", Detail: "an empty line"},
		{Pipeline: "p", Pos: at(3), Raw: []byte("third again"), Reason: "r3b", Detail: "said twice"},
		{Pipeline: "p", Pos: pipelines.Position{Topic: "orders", Part: 2, Offset: 9}, Raw: []byte(`{"x":1}`),
			Context: []byte(`{"header": "h"}`), Reason: "r9", Detail: "d9"},
	}
	for range 2 { // the second Put is a replay
		if err := st.Put(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := pool.Query(ctx, `SELECT pos_key, raw, coalesce(context->>'header', '<null>'), reason, source_line, topic, partition, "offset"
		FROM quarantine ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		key, raw, header, reason string
		line, part               int
		topic                    string
		offset                   int64
	}
	var got []row
	for rows.Next() {
		var r row
		var raw []byte
		if err := rows.Scan(&r.key, &raw, &r.header, &r.reason, &r.line, &r.topic, &r.part, &r.offset); err != nil {
			t.Fatal(err)
		}
		r.raw = string(raw)
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []row{
		{"file:abc:3", "third", "<null>", "r3", 3, 0, "", 0},
		{"file:abc:1", "", "<null>", "empty", 1, 0, "", 0},
		{"kafka:orders/2/9", `{"x":1}`, "h", "r9", 0, 2, "orders", 9},
	}
	if len(got) != len(want) {
		t.Fatalf("quarantine holds %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
