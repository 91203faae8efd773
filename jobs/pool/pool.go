// Package pool is the pools' daily NAV runner (issue 22): for a day, it
// computes every pool's NAV and prices the requests waiting for it
// (pool.Service.ComputeNAV, once per pool and day, so a run killed anywhere
// is finished by the next), then places the purchases of each pool's
// contribution batches not placed yet (pool.Service.PlaceInvestments: the
// day's, or one a killed run left). Before pricing a pool it brings back
// into its cash the purchases the ledger ended (cancelled, or rejected
// after payment) since the last run (pool.Service.SweepEnded). A pool that
// cannot be priced (a scheme it holds has no NAV yet) is reported and
// skipped: it never stops the others.
package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pool"
)

// Name is the job's name (its single-runner lock).
const Name = "pool-nav"

// Job prices the pools for a day.
type Job struct {
	Pools *pool.Service
	Day   fund.Date
	Only  []string // these pools (none: all)
	Log   *slog.Logger
}

// Priced is one pool's result.
type Priced struct {
	Pool          string   `json:"pool_id"`
	NAV           fund.NAV `json:"nav"`
	Fresh         bool     `json:"computed_now"`
	Launch        bool     `json:"launch_nav"`
	Contributions int      `json:"contributions"`
	Withdrawals   int      `json:"withdrawals"`
	Refused       int      `json:"refused"`
	OrdersPaid    int      `json:"invest_orders_paid"`
	Swept         int      `json:"invest_orders_swept"` // purchases the ledger ended, back in the cash
}

// Stats is a run's outcome.
type Stats struct {
	Day    string            `json:"day"`
	Pools  []Priced          `json:"pools"`
	Failed map[string]string `json:"failed,omitempty"` // pool → why
}

// Run prices each pool in its own transaction.
func (j Job) Run(ctx context.Context) (Stats, error) {
	st := Stats{Day: j.Day.String()}
	ids := j.Only
	if len(ids) == 0 {
		var err error
		if ids, err = j.Pools.Store.PoolIDs(ctx); err != nil {
			return st, fmt.Errorf("%s: %w", Name, err)
		}
	}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		// First the purchases the ledger ended since the last run, so the
		// day's NAV finds their money in the cash, not in purchases.
		swept, sweepErr := j.Pools.SweepEnded(ctx, id)
		if sweepErr != nil {
			// The NAV is still right (the legs stay at cost); the next
			// run sweeps them.
			j.fail(&st, id, "pool purchases ended by the ledger not swept", sweepErr)
		}
		r, err := j.Pools.ComputeNAV(ctx, id, j.Day)
		if err != nil {
			j.fail(&st, id, "pool not priced", errors.Join(sweepErr, err))
			continue
		}
		paid, err := j.Pools.PlaceInvestments(ctx, id)
		if err != nil {
			// Priced; its purchases wait for the next run (they are fixed).
			j.fail(&st, id, "pool investments not placed", err)
		}
		st.Pools = append(st.Pools, Priced{Pool: id, NAV: r.NAV, Fresh: r.Fresh, Launch: r.Launch,
			Contributions: r.Contributions, Withdrawals: r.Withdrawals, Refused: r.Refused, OrdersPaid: paid, Swept: swept})
	}
	return st, nil
}

// fail records a pool's failure in the stats and the log; the run goes on.
func (j Job) fail(st *Stats, id, what string, err error) {
	if st.Failed == nil {
		st.Failed = map[string]string{}
	}
	st.Failed[id] = err.Error()
	if j.Log != nil {
		j.Log.Warn(what, "pool", id, "day", j.Day.String(), "err", err)
	}
}
