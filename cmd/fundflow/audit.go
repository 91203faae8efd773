package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"

	"github.com/fundflow/fundflow/jobs/auditanchor"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

const auditUsage = `usage:
  fundflow audit verify [--anchors FILE]
      Walk audit_log in order, recompute every row's SHA-256 and its link to
      the row before, compare the last row with the chain head, and compare
      the chain with every head published in the anchor file (default
      audit.anchor_file): a tail rewritten with its hashes recomputed differs
      from what was published. Prints one JSON object (rows, last_seq,
      last_hash, anchors_checked, last_anchor, problem). Exit 0 when the chain
      is whole; 1 naming the first altered, missing, reordered or rewritten row.
  fundflow audit anchor [--anchors FILE]
      Verify the rows written since the last anchor in the file, then publish
      the chain head (seq, hash): to the outbox (topic audit.anchor_topic,
      relayed to Kafka) and appended to the file. fundflow serve does this on
      audit.anchor_schedule. Prints the anchor as JSON.`

func cmdAudit(ctx context.Context, g globals, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "anchor") {
		return usageErr("%s", auditUsage)
	}
	fset := newFlags("audit")
	file := fset.String("anchors", "", "the anchor file")
	if err := fset.Parse(args[1:]); err != nil || fset.NArg() > 0 {
		return usageErr("%s", auditUsage)
	}
	cfg, pool, err := loadAndConnectPG(ctx, g)
	if err != nil {
		return err
	}
	defer pool.Close()
	if *file == "" {
		*file = cfg.Audit.AnchorFile
	}
	if args[0] == "anchor" {
		if *file == "" {
			return usageErr("audit anchor: no anchor file: set audit.anchor_file or pass --anchors")
		}
		a, published, err := auditanchor.Run(ctx, pool, cfg.Audit.AnchorTopic, *file, pipelines.Recorder{Runs: postgres.Store{Pool: pool}, Log: log})
		if err != nil {
			var p *postgres.AuditProblem
			if errors.As(err, &p) {
				return &exitError{code: 1, err: fmt.Errorf("not anchored: %w", p)}
			}
			return err
		}
		return printJSON(stdout, struct {
			postgres.AuditAnchor
			Published bool `json:"published"` // false: the head is the last anchor's (or the trail is empty)
		}{a, published})
	}

	var anchors []postgres.AuditAnchor
	if *file != "" {
		if anchors, err = auditanchor.ReadFile(*file); errors.Is(err, fs.ErrNotExist) {
			log.Warn("no anchor file yet: the chain is checked against itself only", "file", *file)
		} else if err != nil {
			return err
		}
	}
	rep, err := postgres.VerifyAuditAnchored(ctx, pool, anchors, func(n int64) {
		fmt.Fprintf(stderr, "\raudit verify: %d rows checked", n)
	})
	if rep.Rows >= 10000 {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return err
	}
	if err := printJSON(stdout, rep); err != nil {
		return err
	}
	if rep.Problem != nil {
		return &exitError{code: 1, err: rep.Problem}
	}
	log.Info("audit chain is whole", "rows", rep.Rows, "last_hash", rep.LastHash, "anchors_checked", rep.AnchorsChecked)
	return nil
}
