package navfreshness

import (
	"context"
	"fmt"
	"time"

	"github.com/fundflow/fundflow/transforms/freshness"
)

// Report is the freshness verdict at now over every scheme's latest NAV,
// read-only: no metrics set, no alerts synced (the ops console shows it).
func (j *Job) Report(ctx context.Context, now time.Time) (freshness.Report, error) {
	rows, err := j.Store.LatestNAVDates(ctx)
	if err != nil {
		return freshness.Report{}, fmt.Errorf("nav-freshness: %w", err)
	}
	latest := make([]freshness.Latest, len(rows))
	for i, r := range rows {
		latest[i] = freshness.Latest{Code: r.Code, AMC: r.AMC, Category: r.Category, Date: r.Date}
	}
	// A NAV due on a day the holiday files do not cover fails the run
	// (recorded as failed, so the failing-job alert fires) rather than count
	// the day as a business day.
	rep, err := freshness.Evaluate(latest, now, j.Options)
	if err != nil {
		return freshness.Report{}, fmt.Errorf("nav-freshness: %w", err)
	}
	return rep, nil
}
