package query

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/analytics/chstore"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/risk"
)

// Snapshot is every scheme's analytics as read at one moment: the answer
// Service.Scheme gives for each scheme with a model row, built from five
// bulk reads instead of five reads per request. Immutable once built: the
// answers it hands out are shared between requests and only encoded.
type Snapshot struct {
	Mark     uint64    // chstore.ModelsMark when the load began
	LoadedAt time.Time // when the load ended
	schemes  map[string]*SchemeAnalytics
}

// Len is the number of schemes in the snapshot.
func (s *Snapshot) Len() int { return len(s.schemes) }

// Scheme is a scheme's answer, or nil when the scheme is in no model.
func (s *Snapshot) Scheme(code string) *SchemeAnalytics { return s.schemes[code] }

// Snapshot reads every model's latest rows at once: the scheme dimension,
// each scheme's latest scheme_risk row, its scheme_returns and
// scheme_rolling_returns of its latest as_of, and its latest aum_daily
// row, with the columns and conversions of the per-scheme reads.
func (s Service) Snapshot(ctx context.Context) (*Snapshot, error) {
	mark, err := chstore.Store{Conn: s.CH}.ModelsMark(ctx)
	if err != nil {
		return nil, err
	}
	var (
		dims    = map[string]*SchemeAnalytics{}
		risks   = map[string]*SchemeRisk{}
		returns = map[string][]Return{}
		rolling = map[string][]Rolling{}
		aums    = map[string]*AUM{}
	)
	// each read on its own connection; each fills its own map
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return s.each(gctx, "scheme_dim", `SELECT scheme_code, `+dimCols+` FROM scheme_dim`, func(scan func(...any) error) error {
			var code string
			a := &SchemeAnalytics{}
			if err := scan(append([]any{&code}, dimDest(a)...)...); err != nil {
				return err
			}
			dims[code] = a // a repeated code: the last row, as the per-scheme read
			return nil
		})
	})
	g.Go(func() error {
		return s.each(gctx, "scheme_risk", `SELECT scheme_code, `+riskCols+` FROM scheme_risk FINAL
			WHERE (scheme_code, as_of) IN (SELECT scheme_code, max(as_of) FROM scheme_risk GROUP BY scheme_code)`, func(scan func(...any) error) error {
			var code string
			var x riskScan
			if err := scan(append([]any{&code}, x.dest()...)...); err != nil {
				return err
			}
			risks[code] = x.row()
			return nil
		})
	})
	g.Go(func() error {
		return s.each(gctx, "scheme_returns", `SELECT scheme_code, `+returnCols+` FROM scheme_returns FINAL
			WHERE (scheme_code, as_of) IN (SELECT scheme_code, max(as_of) FROM scheme_returns GROUP BY scheme_code)`, func(scan func(...any) error) error {
			var code string
			var x returnScan
			if err := scan(append([]any{&code}, x.dest()...)...); err != nil {
				return err
			}
			returns[code] = append(returns[code], x.row())
			return nil
		})
	})
	g.Go(func() error {
		return s.each(gctx, "scheme_rolling_returns", `SELECT scheme_code, `+rollingCols+` FROM scheme_rolling_returns FINAL
			WHERE (scheme_code, as_of) IN (SELECT scheme_code, max(as_of) FROM scheme_rolling_returns GROUP BY scheme_code)
			ORDER BY scheme_code, period`, func(scan func(...any) error) error {
			var code string
			var x rollingScan
			if err := scan(append([]any{&code}, x.dest()...)...); err != nil {
				return err
			}
			rolling[code] = append(rolling[code], x.row())
			return nil
		})
	})
	g.Go(func() error {
		return s.each(gctx, "aum_daily", `SELECT scheme_code, `+aumCols+` FROM aum_daily FINAL
			WHERE (scheme_code, date) IN (SELECT scheme_code, max(date) FROM aum_daily GROUP BY scheme_code)`, func(scan func(...any) error) error {
			var code string
			var x aumScan
			if err := scan(append([]any{&code}, x.dest()...)...); err != nil {
				return err
			}
			aums[code] = x.row()
			return nil
		})
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := &Snapshot{Mark: mark, schemes: make(map[string]*SchemeAnalytics, len(dims))}
	get := func(code string) *SchemeAnalytics {
		a := out.schemes[code]
		if a == nil {
			a = &SchemeAnalytics{Returns: []Return{}, Rolling: []Rolling{}}
			if d := dims[code]; d != nil {
				a.Name, a.AMC, a.Category, a.Plan, a.Option, a.ISINGrowth, a.ISINReinvest = d.Name, d.AMC, d.Category, d.Plan, d.Option, d.ISINGrowth, d.ISINReinvest
			}
			a.SchemeCode = code
			out.schemes[code] = a
		}
		return a
	}
	for code := range dims {
		get(code)
	}
	for code, r := range risks {
		get(code).Risk = r
	}
	for code, rs := range returns {
		sortReturns(rs)
		get(code).Returns = rs
	}
	for code, rs := range rolling {
		get(code).Rolling = rs
	}
	for code, u := range aums {
		get(code).AUM = u
	}
	out.LoadedAt = time.Now()
	return out, nil
}

// each runs a bulk read and hands every row's scanner to f.
func (s Service) each(ctx context.Context, what, q string, f func(scan func(...any) error) error) error {
	rows, err := s.CH.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("analytics: snapshot of %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows.Scan); err != nil {
			return fmt.Errorf("analytics: snapshot of %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("analytics: snapshot of %s: %w", what, err)
	}
	return nil
}

// Cached answers the analytics routes with scheme analytics from the latest
// Snapshot, swapped atomically after each load (Run). Before the first
// load it asks ClickHouse per request (Service.Scheme); a scheme the
// snapshot does not have is looked up in nav_history as Service.Scheme
// would (a scheme with NAVs and no model yet).
//
// Folio risk takes the schemes' NAVs from the latest NAVSnapshot (the
// holdings still from Postgres, per request); a window the snapshot does
// not cover (an as_of long before the newest NAV), or no snapshot yet,
// reads Postgres as Service.Folio does.
type Cached struct {
	Service
	Log  *slog.Logger
	snap atomic.Pointer[Snapshot]
	navs atomic.Pointer[NAVSnapshot]

	fullAt time.Time // Run's last check of the NAV window's own mark

	// nav_latest moving under the snapshot (see checkNAVs): the mark last
	// seen and since when, and when it first differed from the snapshot's
	seen    NAVsMark
	seenAt  time.Time
	movedAt time.Time

	now func() time.Time // the clock; time.Now when nil (tests move it)
}

func (c *Cached) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// NAVFullCheck is how often Run counts the NAV window's rows (a scan of
// navs) to see a NAV backfilled into it or retracted; a new latest NAV is
// seen at every check, through nav_latest.
const NAVFullCheck = 5 * time.Minute

// NAVMaxLag bounds how long the NAV snapshot may lag a nav_latest that
// keeps moving. A NAV load moves nav_latest every 30 s
// (navingest.LatestEvery) and at its end; reloading the snapshot (every
// NAV of the window) on each move would reload it every 30 s for the
// whole load. So a move is loaded once the mark has stood still for
// NAVSettle (longer than a load's pause between moves: the load ended),
// or after NAVMaxLag of moving, whichever comes first.
const (
	NAVMaxLag = time.Minute
	NAVSettle = 40 * time.Second
)

// Folio is the folio's portfolio risk, its NAVs from memory.
func (c *Cached) Folio(ctx context.Context, folio string, asOf fund.Date) (*FolioRisk, error) {
	n := c.navs.Load()
	if !n.Covers(asOf.AddDays(-analytics.RiskWindowDays)) {
		return c.Service.Folio(ctx, folio, asOf)
	}
	return c.Service.folio(ctx, folio, asOf, func(codes []string, from, to fund.Date) (map[string][]risk.Point, error) {
		return n.NAVs(codes, from, to), nil
	})
}

// CurrentNAVs is the NAV snapshot being served; nil before the first load.
func (c *Cached) CurrentNAVs() *NAVSnapshot { return c.navs.Load() }

// LoadNAVs reads a new NAV snapshot and serves it.
func (c *Cached) LoadNAVs(ctx context.Context) (*NAVSnapshot, error) {
	n, err := c.Service.NAVSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	c.navs.Store(n)
	return n, nil
}

// Current is the snapshot being served; nil before the first load.
func (c *Cached) Current() *Snapshot { return c.snap.Load() }

// Scheme is a scheme's analytics from the snapshot.
func (c *Cached) Scheme(ctx context.Context, code string) (*SchemeAnalytics, error) {
	snap := c.snap.Load()
	if snap == nil {
		return c.Service.Scheme(ctx, code)
	}
	if a := snap.Scheme(code); a != nil {
		return a, nil
	}
	return c.Service.navsOnly(ctx, code)
}

// Load reads a new snapshot and serves it.
func (c *Cached) Load(ctx context.Context) (*Snapshot, error) {
	snap, err := c.Service.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	c.snap.Store(snap)
	return snap, nil
}

// Run loads a snapshot of the models and one of the NAVs, then checks each
// one's mark every interval and loads again when it moved, until ctx ends. A failed
// load is logged and tried again at the next check; the old snapshot is
// served meanwhile.
func (c *Cached) Run(ctx context.Context, every time.Duration) {
	if c.CH == nil && c.PG == nil {
		return // nothing to load: every read answers as the uncached service does
	}
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if c.PG != nil {
			c.checkNAVs(ctx, log)
		}
		if c.CH != nil {
			c.checkModels(ctx, log)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkNAVs loads the NAV snapshot when there is none or its NAVs have
// changed: nav_latest moved (a scheme's new latest NAV, the daily load),
// at every check; a NAV backfilled into the window or retracted, seen by
// the window's own mark every NAVFullCheck.
func (c *Cached) checkNAVs(ctx context.Context, log *slog.Logger) {
	if cur := c.navs.Load(); cur != nil {
		changed, err := c.navsChanged(ctx, cur)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("folio risk: navs mark", "err", err)
			}
			return
		}
		if !changed {
			return
		}
	}
	t0 := time.Now()
	n, err := c.LoadNAVs(ctx)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("folio risk: loading the NAV snapshot; serving the previous one", "err", err)
		}
		return
	}
	c.fullAt = c.clock() // the load read the window
	c.movedAt = time.Time{}
	c.seen, c.seenAt = n.Latest, c.fullAt
	log.Info("folio risk: NAV snapshot loaded", "schemes", n.Len(), "navs", n.Rows, "from", n.From.String(), "seconds", time.Since(t0).Seconds())
}

// navsChanged says whether cur's NAVs have changed and should be loaded,
// as checkNAVs sees it: nav_latest moved and then stood still for
// NAVSettle or has been moving for NAVMaxLag; or the window's own mark
// moved.
func (c *Cached) navsChanged(ctx context.Context, cur *NAVSnapshot) (bool, error) {
	m, err := c.Service.LatestMark(ctx)
	if err != nil {
		return true, err
	}
	now := c.clock()
	if !m.Equal(cur.Latest) {
		if c.movedAt.IsZero() {
			c.movedAt = now
		}
		if !c.seen.Equal(m) {
			c.seen, c.seenAt = m, now
		}
		return now.Sub(c.seenAt) >= NAVSettle || now.Sub(c.movedAt) >= NAVMaxLag, nil
	}
	c.movedAt = time.Time{}
	if now.Sub(c.fullAt) < NAVFullCheck {
		return false, nil
	}
	c.fullAt = now
	w, err := c.Service.NAVsMark(ctx, cur.From)
	return err == nil && !w.Equal(cur.Mark), err
}

// checkModels loads the models' snapshot when a refresh has written since.
func (c *Cached) checkModels(ctx context.Context, log *slog.Logger) {
	cur := c.snap.Load()
	mark, err := chstore.Store{Conn: c.CH}.ModelsMark(ctx)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			log.Warn("scheme analytics: models mark", "err", err)
		}
	case cur == nil || mark != cur.Mark:
		t0 := time.Now()
		snap, err := c.Load(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("scheme analytics: loading the snapshot; serving the previous one", "err", err)
			}
			break
		}
		log.Info("scheme analytics: snapshot loaded", "schemes", snap.Len(), "mark", snap.Mark, "seconds", time.Since(t0).Seconds())
	}
}
