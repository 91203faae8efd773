// Package factscheck is the facts-check job: it compares the Postgres
// ledger with the ClickHouse transaction facts for the last days, repairs
// every day that differs (analytics.Check with repair), raises a
// facts_mismatch alert naming what differed, then refreshes the models
// built on the facts (when configured). `fundflow ch check` is its dry
// run (no repair, no alert) with the same comparison.
package factscheck

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/analytics/chstore"
	"github.com/fundflow/fundflow/analytics/pgstore"
	"github.com/fundflow/fundflow/analytics/refresh"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Name is the job's name in job_runs, the run metrics and its lock.
const Name = "facts-check"

// AlertKind is the kind of the alert a difference raises (one open alert,
// subject "transactions", updated by each run that finds one).
const AlertKind = "facts_mismatch"

// Job checks NAV dates [today − Days, today].
type Job struct {
	PG    *pgxpool.Pool
	CH    driver.Conn
	Days  int
	Today func() fund.Date // default: today in IST
	Rec   pipelines.Recorder
	Log   *slog.Logger
	// Models, when set, refreshes the models as of the last day checked
	// after the facts are equal to the ledger (refresh.Refresher.All).
	Models *refresh.Refresher
}

var ist = time.FixedZone("IST", 5*3600+1800)

// Range is the NAV dates a run checks.
func (j Job) Range() (from, to fund.Date) {
	to = fund.DateOf(time.Now().In(ist))
	if j.Today != nil {
		to = j.Today()
	}
	return to.AddDays(-max(j.Days, 1)), to
}

// Compare is the dry run: the comparison alone (`fundflow ch check`).
func Compare(ctx context.Context, pg *pgxpool.Pool, ch driver.Conn, from, to fund.Date) (analytics.CheckReport, error) {
	return analytics.Check(ctx, pgstore.Store{Pool: pg}, chstore.Store{Conn: ch}, from, to, false)
}

// Run is one recorded, single-runner run: compare, repair the days that
// differ, alert. In counts the (date, scheme, kind) keys compared, Out the
// fact rows rewritten. A difference left after the repair fails the run.
func (j Job) Run(ctx context.Context) (rep analytics.CheckReport, err error) {
	from, to := j.Range()
	err = supervise.Single(ctx, postgres.Store{Pool: j.PG}, Name, func(ctx context.Context) error {
		_, err := j.Rec.Run(ctx, Name, func(ctx context.Context) (st pipelines.Stats, err error) {
			rep, err = analytics.Check(ctx, pgstore.Store{Pool: j.PG}, chstore.Store{Conn: j.CH}, from, to, true)
			if err != nil {
				return st, err
			}
			st.In = int64(rep.Keys)
			for _, r := range rep.Repaired {
				st.Out += int64(r.Written + r.Deleted)
			}
			if len(rep.Diffs) == 0 {
				return st, j.models(ctx, to)
			}
			if aerr := (postgres.Store{Pool: j.PG}).RaiseAlert(ctx, AlertKind, "transactions", Detail(rep)); aerr != nil {
				return st, fmt.Errorf("%s: alert: %w", Name, aerr)
			}
			if j.Log != nil {
				j.Log.Warn("facts differed from the ledger", "job", Name, "keys", len(rep.Diffs), "left", len(rep.After))
			}
			if len(rep.After) > 0 {
				return st, fmt.Errorf("%s: %d keys still differ after the repair", Name, len(rep.After))
			}
			return st, j.models(ctx, to)
		})
		return err
	})
	return rep, err
}

// models refreshes the models when the job has them.
func (j Job) models(ctx context.Context, asOf fund.Date) error {
	if j.Models == nil {
		return nil
	}
	st, err := j.Models.All(ctx, asOf)
	if err != nil {
		return fmt.Errorf("%s: models: %w", Name, err)
	}
	if j.Log != nil {
		j.Log.Info("analytics models refreshed", "as_of", asOf, "aum_rows", st.AUMRows, "returns", st.Returns, "risk_schemes", st.RiskSchemes, "seconds", st.Seconds)
	}
	return nil
}

// Detail is the alert's text: what differed and what the repair did.
func Detail(rep analytics.CheckReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d (date, scheme, kind) keys of NAV dates %s..%s differed from the ledger", len(rep.Diffs), rep.From, rep.To)
	for i, d := range rep.Diffs {
		if i == 5 {
			fmt.Fprintf(&b, "; …")
			break
		}
		fmt.Fprintf(&b, "; %s %s %s: ledger %d/%s/%s, facts %d/%s/%s", d.Date, d.Scheme, d.Kind,
			d.Ledger.Count, d.Ledger.Amount, d.Ledger.Units, d.Facts.Count, d.Facts.Amount, d.Facts.Units)
	}
	written, deleted := 0, 0
	for _, r := range rep.Repaired {
		written, deleted = written+r.Written, deleted+r.Deleted
	}
	fmt.Fprintf(&b, ". Repaired %d days (%d rows rewritten, %d deleted); %d keys left", len(rep.Repaired), written, deleted, len(rep.After))
	return b.String()
}
