package postgres_test

import (
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// TestFactsIndexTopicIsFundTopic: the partial index the facts relay reads
// by (003_orders_ledger.sql, immutable) names the topic fund defines, so the
// relay's query, which spells fund.TopicTransactions, can use it.
func TestFactsIndexTopicIsFundTopic(t *testing.T) {
	pool, _ := testkit.PG(t)
	var def string
	if err := pool.QueryRow(testkit.Ctx(t), `SELECT indexdef FROM pg_indexes WHERE indexname = 'outbox_facts_pending'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	if want := "topic = '" + fund.TopicTransactions + "'::text"; !strings.Contains(def, want) {
		t.Fatalf("outbox_facts_pending is %q, want its predicate to contain %q", def, want)
	}
}

// TestFactsRelayUsesItsPartialIndexes: the facts relay's query can read
// both partial indexes of its pending rows (transactions.completed and the
// plans' topics): with sequential scans off, the plan names both. An index
// whose predicate the query does not imply could not be used at all.
func TestFactsRelayUsesItsPartialIndexes(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, `EXPLAIN `+postgres.SQLFactsPending, int64(0), 500)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	t.Log(text)
	for _, idx := range []string{"outbox_facts_pending", "outbox_plan_facts_pending"} {
		if !strings.Contains(text, idx) {
			t.Errorf("the facts relay's plan does not use %s:\n%s", idx, text)
		}
	}
}
