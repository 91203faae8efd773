package main

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/progress"
	"github.com/fundflow/fundflow/jobs/auditanchor"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

type auditCmd struct {
	Verify auditVerifyCmd `cmd:"" help:"check the audit trail's hash chain and its published anchors; names the first altered, missing, reordered or rewritten row"`
	Anchor auditAnchorCmd `cmd:"" help:"publish the chain head (seq, hash) to the outbox and the anchor file"`
}

// anchorsFlag is the anchor file of both audit commands.
type anchorsFlag struct {
	Anchors string `help:"The anchor file (default: audit.anchor_file)." placeholder:"FILE"`
}

// file is --anchors, else the config's audit.anchor_file ("" if neither).
func (f anchorsFlag) file(cfg *config.Config) string {
	if f.Anchors != "" {
		return f.Anchors
	}
	return cfg.Audit.AnchorFile
}

type auditVerifyCmd struct{ anchorsFlag }

func (auditVerifyCmd) Help() string {
	return `Walk audit_log in order, recompute every row's SHA-256 and its link to the row before, compare the last row with the chain head, and compare the chain with every head published in the anchor file: a tail rewritten with its hashes recomputed differs from what was published. Prints one JSON object (rows, last_seq, last_hash, anchors_checked, last_anchor, problem). Exit 0 when the chain is whole; 1 naming the first altered, missing, reordered or rewritten row.`
}

type auditAnchorCmd struct{ anchorsFlag }

func (auditAnchorCmd) Help() string {
	return `Verify the rows written since the last anchor in the file, then publish the chain head (seq, hash): to the outbox (topic audit.anchor_topic, relayed to Kafka) and appended to the file. fundflow serve does this on audit.anchor_schedule. Prints the anchor as JSON.`
}

func (c auditAnchorCmd) Run(a *app) error {
	cfg, pool, err := a.connectPG()
	if err != nil {
		return err
	}
	defer pool.Close()
	file := c.file(cfg)
	if file == "" {
		return usageErr("audit anchor: no anchor file: set audit.anchor_file or pass --anchors")
	}
	anchor, published, err := auditanchor.Run(a.ctx, pool, cfg.Audit.AnchorTopic, file, pipelines.Recorder{Runs: postgres.Store{Pool: pool}, Log: a.log})
	if err != nil {
		var p *postgres.AuditProblem
		if errors.As(err, &p) {
			return &exitError{code: 1, err: fmt.Errorf("not anchored: %w", p)}
		}
		return err
	}
	return printJSON(a.stdout, struct {
		postgres.AuditAnchor
		Published bool `json:"published"` // false: the head is the last anchor's (or the trail is empty)
	}{anchor, published})
}

func (c auditVerifyCmd) Run(a *app) error {
	cfg, pool, err := a.connectPG()
	if err != nil {
		return err
	}
	defer pool.Close()
	file := c.file(cfg)
	var anchors []postgres.AuditAnchor
	if file != "" {
		if anchors, err = auditanchor.ReadFile(file); errors.Is(err, fs.ErrNotExist) {
			a.log.Warn("no anchor file yet: the chain is checked against itself only", "file", file)
		} else if err != nil {
			return err
		}
	}
	bar := progress.NewCounter(a.stderr, "audit verify:", "rows", 0, 5*time.Second)
	rep, err := postgres.VerifyAuditAnchored(a.ctx, pool, anchors, bar.Update)
	if rep.Rows >= 10000 {
		bar.Done(rep.Rows)
	}
	if err != nil {
		return err
	}
	if err := printJSON(a.stdout, rep); err != nil {
		return err
	}
	if rep.Problem != nil {
		return &exitError{code: 1, err: rep.Problem}
	}
	a.log.Info("audit chain is whole", "rows", rep.Rows, "last_hash", rep.LastHash, "anchors_checked", rep.AnchorsChecked)
	return nil
}
