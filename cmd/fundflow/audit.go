package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/internal/config"
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
	fset := flag.NewFlagSet("audit", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	file := fset.String("anchors", "", "the anchor file")
	if err := fset.Parse(args[1:]); err != nil || fset.NArg() > 0 {
		return usageErr("%s", auditUsage)
	}
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	if *file == "" {
		*file = cfg.Audit.AnchorFile
	}
	pool, err := postgres.Connect(ctx, os.Getenv(cfg.Services.PostgresURLEnv))
	if err != nil {
		return err
	}
	defer pool.Close()
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if args[0] == "anchor" {
		if *file == "" {
			return usageErr("audit anchor: no anchor file: set audit.anchor_file or pass --anchors")
		}
		a, published, err := anchorAudit(ctx, pool, cfg.Audit, *file, pipelines.Recorder{Runs: postgres.Store{Pool: pool}, Log: log})
		if err != nil {
			var p *postgres.AuditProblem
			if errors.As(err, &p) {
				return &exitError{code: 1, err: fmt.Errorf("not anchored: %w", p)}
			}
			return err
		}
		return enc.Encode(struct {
			postgres.AuditAnchor
			Published bool `json:"published"` // false: the head is the last anchor's (or the trail is empty)
		}{a, published})
	}

	var anchors []postgres.AuditAnchor
	if *file != "" {
		if anchors, err = readAnchors(*file); errors.Is(err, fs.ErrNotExist) {
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
	if err := enc.Encode(rep); err != nil {
		return err
	}
	if rep.Problem != nil {
		return &exitError{code: 1, err: rep.Problem}
	}
	log.Info("audit chain is whole", "rows", rep.Rows, "last_hash", rep.LastHash, "anchors_checked", rep.AnchorsChecked)
	return nil
}

// auditAnchorJob is the anchor's name in job_runs and the run metrics.
const auditAnchorJob = "audit-anchor"

// anchorAudit publishes the chain head if it moved since the file's last
// anchor (postgres.AnchorAudit), then appends it to the file, as one run
// recorded by rec: in, the audit rows verified since the last anchor; out,
// the anchors published (0 or 1). A crash between the two leaves the
// outbox one anchor ahead of the file; the next anchor covers it.
func anchorAudit(ctx context.Context, pool *pgxpool.Pool, cfg config.Audit, file string, rec pipelines.Recorder) (postgres.AuditAnchor, bool, error) {
	unlock, err := postgres.Store{Pool: pool}.TryLock(ctx, auditAnchorJob) // one anchorer at a time: the file is appended in order
	if err != nil {
		return postgres.AuditAnchor{}, false, err
	}
	defer unlock()
	var a postgres.AuditAnchor
	var published bool
	_, err = rec.Run(ctx, auditAnchorJob, func(ctx context.Context) (st pipelines.Stats, err error) {
		st.Reasons = map[string]int64{}
		anchors, err := readAnchors(file)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return st, err
		}
		var last *postgres.AuditAnchor
		var from int64
		if len(anchors) > 0 {
			last = &anchors[len(anchors)-1]
			from = last.Seq
		}
		if a, published, err = postgres.AnchorAudit(ctx, pool, last, cfg.AnchorTopic); err != nil || !published {
			return st, err
		}
		st.In, st.Out = a.Seq-from, 1 // the chain's seq has no gaps: AnchorAudit verified it
		return st, appendAnchor(file, a)
	})
	return a, published, err
}

// readAnchors reads an anchor file: one JSON object a line, oldest first.
func readAnchors(file string) ([]postgres.AuditAnchor, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("anchor file: %w", err)
	}
	defer f.Close()
	var out []postgres.AuditAnchor
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var a postgres.AuditAnchor
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil || a.Seq <= 0 || len(a.Hash) != 64 {
			return nil, fmt.Errorf("anchor file %s line %d: not an anchor (%v): the file was edited, or is not an anchor file", file, line, err)
		}
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("anchor file %s: %w", file, err)
	}
	return out, nil
}

// appendAnchor appends one line to the file and syncs it to disk.
func appendAnchor(file string, a postgres.AuditAnchor) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("anchor file: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("anchor file %s: %w", file, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("anchor file %s: %w", file, err)
	}
	return f.Close()
}
