// Package auditanchor is the audit-anchor job: it publishes the head of
// the hash-chained audit trail (seq, hash) to the outbox and appends it to
// an append-only anchor file kept where the database's administrators
// cannot write, so a tail rewritten with its hashes recomputed differs from
// what was published. `fundflow audit verify` checks the chain against the
// file (ReadFile).
package auditanchor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Name is the job's name in job_runs, the run metrics and its lock.
const Name = "audit-anchor"

// Run publishes the chain head if it moved since the file's last anchor
// (postgres.AnchorAudit) to the outbox topic, then appends it to the file,
// as one run recorded by rec: in, the audit rows verified since the last
// anchor; out, the anchors published (0 or 1). A crash between the two
// leaves the outbox one anchor ahead of the file; the next anchor covers
// it. published is false when the head is the last anchor's (or the trail
// is empty).
func Run(ctx context.Context, pool *pgxpool.Pool, topic, file string, rec pipelines.Recorder) (a postgres.AuditAnchor, published bool, err error) {
	// One anchorer at a time: the file is appended in order.
	err = supervise.Single(ctx, postgres.Store{Pool: pool}, Name, func(ctx context.Context) error {
		_, err := rec.Run(ctx, Name, func(ctx context.Context) (st pipelines.Stats, err error) {
			a, published, st, err = anchor(ctx, pool, topic, file)
			return st, err
		})
		return err
	})
	return a, published, err
}

// anchor is one run's work: publish the head if it moved, append it to the file.
func anchor(ctx context.Context, pool *pgxpool.Pool, topic, file string) (a postgres.AuditAnchor, published bool, st pipelines.Stats, err error) {
	st.Reasons = map[string]int64{}
	anchors, err := ReadFile(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return a, false, st, err
	}
	var last *postgres.AuditAnchor
	var from int64
	if len(anchors) > 0 {
		last = &anchors[len(anchors)-1]
		from = last.Seq
	}
	if a, published, err = postgres.AnchorAudit(ctx, pool, last, topic); err != nil || !published {
		return a, published, st, err
	}
	st.In, st.Out = a.Seq-from, 1 // the chain's seq has no gaps: AnchorAudit verified it
	return a, published, st, appendAnchor(file, a)
}

// ReadFile reads an anchor file: one JSON object a line, oldest first.
func ReadFile(file string) ([]postgres.AuditAnchor, error) {
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
