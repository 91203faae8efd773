package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/fundflow/fundflow/sinks/postgres"
)

const auditUsage = `usage:
  fundflow audit verify
      Walk audit_log in order, recompute every row's SHA-256 and its link to
      the row before, and compare the last row with the chain head. Prints one
      JSON object (rows, last_seq, last_hash, problem). Exit 0 when the chain
      is whole; 1 naming the first altered, missing or reordered row.`

func cmdAudit(ctx context.Context, g globals, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 || args[0] != "verify" {
		return usageErr("%s", auditUsage)
	}
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	pool, err := postgres.Connect(ctx, os.Getenv(cfg.Services.PostgresURLEnv))
	if err != nil {
		return err
	}
	defer pool.Close()
	rep, err := postgres.VerifyAudit(ctx, pool, func(n int64) {
		fmt.Fprintf(stderr, "\raudit verify: %d rows checked", n)
	})
	if rep.Rows >= 10000 {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return err
	}
	if rep.Problem != nil {
		return &exitError{code: 1, err: rep.Problem}
	}
	log.Info("audit chain is whole", "rows", rep.Rows, "last_hash", rep.LastHash)
	return nil
}
