// Package commission is the daily trail accrual job: it accrues, in order,
// every day not yet accrued up to a date (yesterday, IST, when scheduled),
// each day one transaction (commissions.Service.AccrueDay), recorded as one
// run. A crash loses at most the day in progress, which the next run redoes;
// a day already accrued is skipped, so nothing is doubled.
package commission

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/fundflow/fundflow/commissions"
	"github.com/fundflow/fundflow/commissions/pgstore"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// Name is the job's name in job_runs and the metrics.
const Name = "commission-accrual"

// IST is the zone fund operations' days are in.
var IST = time.FixedZone("IST", 5*3600+1800)

// Job accrues the trail.
type Job struct {
	Store    pgstore.Store
	Recorder pipelines.Recorder
	Log      *slog.Logger
	// Start is the first day to accrue when none has been (zero: Through).
	Start fund.Date
}

// Result is what a run did, day by day.
type Result struct {
	Days []commissions.DayResult `json:"days"`
}

// Yesterday is the day a scheduled run accrues up to.
func Yesterday(now time.Time) fund.Date { return fund.DateOf(now.In(IST)).AddDays(-1) }

// Run accrues every day after the last one accrued (or from Start) through
// through, in order, as one recorded run.
func (j Job) Run(ctx context.Context, through fund.Date) (Result, error) {
	var res Result
	_, err := j.Recorder.Run(ctx, Name, func(ctx context.Context) (pipelines.Stats, error) {
		var st pipelines.Stats
		last, ok, err := j.Store.LastAccrued(ctx)
		if err != nil {
			return st, fmt.Errorf("last accrued day: %w", err)
		}
		from := j.Start
		if ok {
			from = last.AddDays(1)
		}
		if from.IsZero() || from.After(through) && !ok {
			from = through
		}
		svc := commissions.Service{Store: j.Store, Log: j.Log}
		for d := from; !d.After(through); d = d.AddDays(1) {
			r, err := svc.AccrueDay(ctx, d)
			if err != nil {
				return st, err
			}
			res.Days = append(res.Days, r)
			st.Batches++
			st.In += int64(r.Rows + r.NoNAV)
			st.Out += int64(r.Rows)
		}
		return st, nil
	})
	return res, err
}
