package postgres_test

import (
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
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
