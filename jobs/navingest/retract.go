package navingest

import (
	"context"
	"fmt"

	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Retracted is what a retraction took back.
type Retracted struct {
	Retracted int               `json:"retracted"`
	NAVs      []string          `json:"navs"`       // scheme|date=nav (file line)
	NAVLatest map[string]string `json:"nav_latest"` // scheme -> its nav_date now ("" when it has no NAV left)
}

// Retract takes NAVs back out of Postgres (navs, nav_latest rebuilt, audit
// trail) and then ClickHouse: the inverse of a load, over the same stores.
// ClickHouse is deleted by the same selector whatever Postgres found, so a
// retract cut short after Postgres finishes the job when run again.
func Retract(ctx context.Context, d Deps, sel postgres.NAVSelector, by string) (Retracted, error) {
	sum := Retracted{NAVs: []string{}, NAVLatest: map[string]string{}}
	rs, err := d.PG.RetractNAVs(ctx, sel, by)
	if err != nil {
		return sum, err
	}
	if err := clickhouse.DeleteNAVs(ctx, d.CH, sel.SHA256, sel.Scheme, sel.Date, sel.From); err != nil {
		return sum, fmt.Errorf("retracted from Postgres, not yet from ClickHouse (run the same command again): %w", err)
	}
	sum.Retracted = len(rs)
	for _, r := range rs {
		sum.NAVs = append(sum.NAVs, fmt.Sprintf("%s|%s=%s (%s line %d)", r.Scheme, r.Date, r.NAV, r.From.File, r.From.Line))
		sum.NAVLatest[r.Scheme] = ""
	}
	latest, err := postgres.LatestNAVs(ctx, d.PG.Pool)
	if err != nil {
		return sum, err
	}
	for code := range sum.NAVLatest {
		if l, ok := latest[code]; ok {
			sum.NAVLatest[code] = l.Date.String()
		}
	}
	d.Log.Info("NAVs retracted", "count", len(rs), "by", by, "sha256", sel.SHA256, "scheme", sel.Scheme)
	return sum, nil
}
