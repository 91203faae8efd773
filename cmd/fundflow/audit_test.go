package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// `fundflow audit verify`: exit 0 on a whole chain, exit 1 naming the row
// after a superuser edits one behind the triggers' back.
func TestAuditVerifyCommand(t *testing.T) {
	pool, url := testkit.PG(t)
	ctx := testkit.Ctx(t)
	for i := 1; i <= 5; i++ {
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return postgres.AppendAudit(ctx, tx, "order", fmt.Sprint("ORD-", i), "created", map[string]int{"i": i})
		}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(t.TempDir(), "fundflow.yaml")
	os.WriteFile(cfg, []byte("services:\n  postgres_url_env: AUDIT_TEST_PG_URL\n"), 0o644)
	t.Setenv("AUDIT_TEST_PG_URL", url)
	verify := func() (postgres.AuditReport, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"--config", cfg, "--log-level", "warn", "audit", "verify"}, &out, &errOut)
		var rep postgres.AuditReport
		if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil {
			t.Fatalf("stdout %q: %v (err %v)", out.String(), jerr, err)
		}
		return rep, err
	}
	if rep, err := verify(); err != nil || rep.Rows != 5 || rep.Problem != nil {
		t.Fatalf("whole chain: %+v %v", rep, err)
	}
	if _, err := pool.Exec(ctx, `SET session_replication_role = replica; UPDATE audit_log SET payload = '{"i": 99}' WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	rep, err := verify()
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("want exit 1, got %v", err)
	}
	if rep.Problem == nil || rep.Problem.Seq != 3 || rep.Problem.Kind != postgres.AuditAltered {
		t.Fatalf("problem %+v", rep.Problem)
	}
}
