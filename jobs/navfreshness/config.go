package navfreshness

import (
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/transforms/freshness"
)

// OptionsFrom are the job's options in the config: the SLA and holiday
// files of pipelines.nav-ingest, dead_after_days of pipelines.nav-freshness
// (zero: the job's defaults).
func OptionsFrom(p config.Pipelines) (freshness.Options, error) {
	var opt freshness.Options
	var files []string
	if n := p.NAVIngest; n != nil {
		opt.SLA, files = n.FreshnessSLA, n.Holidays
	}
	if f := p.NAVFreshness; f != nil {
		opt.DeadAfterDays = f.DeadAfterDays
	}
	cal, err := holidays.Calendar(files...)
	opt.Calendar = cal
	return opt, err
}
