package auditanchor_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/auditanchor"
	"github.com/fundflow/fundflow/jobs/outbox"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// An anchor goes out through the outbox like every event: the Kafka relay
// publishes it on audit.anchors, keyed "audit", with the head's seq and the
// hash the database holds for that row; the anchor file gets the same line.
// (Moved from cmd/fundflow/audit_test.go with the anchor job.)
func TestAuditAnchorReachesKafka(t *testing.T) {
	const topic = "audit.anchors" // audit.anchor_topic's default
	brokers := testkit.Kafka(t, 1, topic)
	ctx := testkit.Ctx(t)
	_, _, app, _ := testkit.PGApp(t)
	for i := 1; i <= 3; i++ {
		if err := pgx.BeginFunc(ctx, app, func(tx pgx.Tx) error {
			return postgres.AppendAudit(ctx, tx, "order", fmt.Sprint("ORD-", i), "created", map[string]int{"i": i})
		}); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "anchors.jsonl")
	a, published, err := auditanchor.Run(ctx, app, topic, file, pipelines.Recorder{Runs: &postgres.Store{Pool: app}, Log: testkit.Logger(t)})
	if err != nil || !published || a.Seq != 3 {
		t.Fatalf("anchor: %+v %v %v", a, published, err)
	}
	p, err := outbox.Job{Pool: app, Brokers: brokers, Log: testkit.Logger(t)}.Pipeline(postgres.RelayKafka, false)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Run(ctx); err != nil || st.Out != 1 {
		t.Fatalf("relay: %+v %v", st, err)
	}
	var want string
	if err := app.QueryRow(ctx, `SELECT hash FROM audit_log WHERE seq = 3`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	msgs := testkit.ReadTopic(t, brokers, topic)
	if len(msgs) != 1 {
		t.Fatalf("%d messages on %s, want 1", len(msgs), topic)
	}
	var got postgres.AuditAnchor
	if err := json.Unmarshal(msgs[0].Value, &got); err != nil {
		t.Fatalf("%s: %v", msgs[0].Value, err)
	}
	if string(msgs[0].Key) != "audit" || got.Seq != 3 || got.Hash != want {
		t.Fatalf("message key %q %+v, want audit, seq 3, hash %s", msgs[0].Key, got, want)
	}
	filed, err := auditanchor.ReadFile(file)
	if err != nil || len(filed) != 1 || filed[0].Seq != got.Seq || filed[0].Hash != got.Hash {
		t.Fatalf("anchor file: %+v %v, want the published anchor", filed, err)
	}
}
