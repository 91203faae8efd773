// Package kra is the KYC gate's job: the KRAs' KYC status files and the
// PAN–Aadhaar link files (transforms/kra), loaded from a folder or SFTP
// like the RTAs' feeds (connectors/feed: fingerprinted, resumed mid-file
// after a crash, bad rows quarantined with file, line and reason), applied
// by investors.Gate as the ledger's kyc restrictions; then, when
// configured, the investors with no KYC record are held (kyc_missing), the
// minors who turned 18 are held (minor_attained_majority) and
// captured purchases held by KYC for longer than refund_after are rejected
// (their payments get the refund-due break), the penny drops waiting are
// asked and the bank restrictions reconciled (pipelines.kra.banks); the
// day's investor_facts go to ClickHouse. One recorded run.
package kra

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/fundflow/fundflow/connectors/feed"
	"github.com/fundflow/fundflow/fund/kyc"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/jobs/feedstore"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/kra"
)

// Name is the job's name in job_runs, quarantine, ingested_files and the
// metrics.
const Name = "kra"

// Job is the kra job as configured.
type Job struct {
	Config  *config.KRA
	PG      *postgres.Store
	Gate    *investors.Gate
	Banks   *investors.Banks // nil: no bank verification (pipelines.kra.banks)
	Ledger  *ledger.Service
	CH      clickhouse.Conn // nil: no investor_facts
	Metrics *pipelines.Metrics
	Now     func() time.Time
	Log     *slog.Logger
}

// Outcome is what a run did.
type Outcome struct {
	pipelines.Stats
	MissingHeld int `json:"missing_held"` // investors newly held as kyc_missing (require_record)
	Refunded    int `json:"refunded"`     // held captured purchases rejected after refund_after
	OfAge       int `json:"of_age"`       // minors flagged as of age (minor_attained_majority)
	Facts       int `json:"facts"`        // investor_facts rows written to ClickHouse
	investors.BankOutcome
}

// Run loads the waiting files, applies them, sweeps and refunds, recorded
// as one run.
func (j Job) Run(ctx context.Context) (out Outcome, err error) {
	rec := pipelines.Recorder{Runs: j.PG, Metrics: j.Metrics, Log: j.Log}
	_, err = rec.Run(ctx, Name, func(ctx context.Context) (pipelines.Stats, error) {
		out, err = j.run(ctx)
		return out.Stats, err
	})
	return out, err
}

func (j Job) run(ctx context.Context) (Outcome, error) {
	var out Outcome
	st, err := j.Load(ctx)
	out.Stats = st
	if err != nil {
		return out, err
	}
	j.Gate.RequireRecord = j.Config.RequireRecord
	if out.MissingHeld, err = j.Gate.Sweep(ctx); err != nil {
		return out, err
	}
	if out.OfAge, err = j.Gate.Majority(ctx); err != nil {
		return out, err
	}
	if out.Refunded, err = j.Refund(ctx); err != nil {
		return out, err
	}
	if b := j.Config.Banks; j.Banks != nil && b != nil {
		if out.BankOutcome, err = j.Banks.Pass(ctx, b.StaleAfter, b.Limit); err != nil {
			return out, err
		}
	}
	if j.CH == nil {
		return out, nil
	}
	now := j.now()
	out.Facts, err = Facts(ctx, j.PG.Pool, j.CH, kyc.TodayIST(now), now)
	return out, err
}

func (j Job) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

// Load is the engine pipeline: feed source → parse/stage → the gate.
func (j Job) Load(ctx context.Context) (pipelines.Stats, error) {
	c := j.Config
	store, err := feedstore.Open(ctx, Name, c.Source, j.PG, j.Log) // the run closes it (feed.Source.Close)
	if err != nil {
		return pipelines.Stats{}, err
	}
	src := feed.NewSource[kra.Item](Name, store, j.PG, kra.Decode, feed.Options{
		Glob: c.Source.Glob, DoneMarker: c.Source.DoneMarker, StableFor: c.Source.StableFor,
		BatchSize: c.BatchSize, Archive: c.Source.Archive, Log: j.Log,
	})
	p := &pipelines.Pipeline[kra.Item, kra.Record]{
		Name:       Name,
		Source:     src,
		Stage:      kra.Stage,
		Sinks:      []pipelines.Sink[kra.Record]{j.Gate},
		Quarantine: j.PG,
		Breaker:    pipelines.NewBreaker(c.MaxRejectRate),
		Metrics:    j.Metrics,
		Step:       true,
		Log:        j.Log,
	}
	return p.Run(ctx)
}

// Refund rejects the open kyc holds of captured purchases raised more than
// refund_after ago (ledger.RejectHold: the leg is rejected and its captured
// payment gets the refund-due break). It returns how many.
func (j Job) Refund(ctx context.Context) (int, error) {
	after := j.Config.RefundAfter
	if after <= 0 {
		return 0, nil
	}
	rows, err := j.PG.Pool.Query(ctx, `SELECT h.id FROM order_holds h JOIN orders o ON o.id = h.order_id
		WHERE h.source = 'kyc' AND h.closed_at IS NULL AND h.raised_at < $1 AND o.kind = 'purchase'
		  AND EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id AND p.status = 'captured')
		ORDER BY h.id`, j.now().Add(-after))
	if err != nil {
		return 0, fmt.Errorf("kra refunds: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		if _, err := j.Ledger.RejectHold(ctx, id, investors.By, fmt.Sprintf("held by KYC for more than %s: refunded", after)); err != nil {
			return n, fmt.Errorf("kra refund of hold %d: %w", id, err)
		}
		n++
	}
	return n, nil
}
