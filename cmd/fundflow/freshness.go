package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/transforms/freshness"
)

// Defaults of nav-freshness when the config does not say.
const (
	defaultFreshnessSLA  = 15 * time.Minute
	defaultDeadAfterDays = 30
	alertNAVStale        = "nav_stale"
)

// navFreshness is the nav-freshness job: from nav_latest it sets
// fundflow_nav_age_seconds per scheme (how long the scheme's next NAV has
// been due without arriving; 0 while nothing is due), keeps one nav_stale
// alert open per AMC with schemes over the SLA (resolving it when they
// catch up), and checks the completeness of the last business day whose
// NAVs were due.
type navFreshness struct {
	d       *deps
	opt     freshness.Options
	now     func() time.Time
	age     *prometheus.GaugeVec
	dead    prometheus.Gauge
	stale   prometheus.Gauge
	missing prometheus.Gauge
}

func newNAVFreshness(d *deps) (*navFreshness, error) {
	opt := freshness.Options{SLA: defaultFreshnessSLA, DeadAfterDays: defaultDeadAfterDays}
	var files []string
	if n := d.cfg.Pipelines.NAVIngest; n != nil {
		if n.FreshnessSLA > 0 {
			opt.SLA = n.FreshnessSLA
		}
		files = n.Holidays
	}
	if f := d.cfg.Pipelines.NAVFreshness; f != nil && f.DeadAfterDays > 0 {
		opt.DeadAfterDays = f.DeadAfterDays
	}
	cal, err := holidays.Calendar(files...)
	if err != nil {
		return nil, err
	}
	opt.Calendar = cal
	f := &navFreshness{d: d, opt: opt, now: time.Now,
		age: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "fundflow_nav_age_seconds",
			Help: "Seconds since the scheme's next NAV was due (23:00 IST of the next business day after its latest NAV; 10:00 IST the day after for funds of funds) without arriving; 0 while none is due."},
			[]string{"scheme", "amc"}),
		dead: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fundflow_nav_dead_schemes",
			Help: "Schemes with no NAV for more than dead_after_days: wound up, left out of freshness."}),
		stale: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fundflow_nav_stale_schemes",
			Help: "Schemes whose next NAV is later than the freshness SLA."}),
		missing: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fundflow_nav_missing_schemes",
			Help: "Schemes with a NAV on the previous business day and none, though due, for the last business day."}),
	}
	for _, c := range []prometheus.Collector{f.age, f.dead, f.stale, f.missing} {
		if err := d.reg.Register(c); err != nil {
			return nil, fmt.Errorf("nav-freshness metrics: %w", err)
		}
	}
	return f, nil
}

// freshnessResult is what one run found and did.
type freshnessResult struct {
	At             string                 `json:"at"`
	SLASeconds     float64                `json:"sla_seconds"`
	Live           int                    `json:"schemes"`
	Dead           int                    `json:"dead"`
	Stale          int                    `json:"stale"`
	MaxLateSeconds float64                `json:"max_late_seconds"`
	StaleByAMC     map[string]int         `json:"stale_by_amc"`
	AlertsRaised   int                    `json:"alerts_raised"`
	AlertsResolved int                    `json:"alerts_resolved"`
	Completeness   freshness.Completeness `json:"completeness"`
}

// Run evaluates freshness now, sets the metrics and syncs the alerts.
func (f *navFreshness) Run(ctx context.Context) (freshnessResult, error) {
	now := f.now()
	rows, err := f.d.pg.LatestNAVDates(ctx)
	if err != nil {
		return freshnessResult{}, fmt.Errorf("nav-freshness: %w", err)
	}
	latest := make([]freshness.Latest, len(rows))
	for i, r := range rows {
		latest[i] = freshness.Latest{Code: r.Code, AMC: r.AMC, Category: r.Category, Date: r.Date}
	}
	rep := freshness.Evaluate(latest, now, f.opt)
	res := freshnessResult{At: now.UTC().Format(time.RFC3339), SLASeconds: f.opt.SLA.Seconds(), Live: len(rep.Live),
		Dead: rep.Dead, Stale: rep.StaleCount(), StaleByAMC: map[string]int{}}
	f.age.Reset() // schemes that died or left drop out
	for _, a := range rep.Live {
		f.age.WithLabelValues(a.Code, a.AMC).Set(a.Late.Seconds())
		res.MaxLateSeconds = max(res.MaxLateSeconds, a.Late.Seconds())
	}
	f.dead.Set(float64(rep.Dead))
	f.stale.Set(float64(res.Stale))
	open := map[string]string{}
	for amc, as := range rep.Stale {
		res.StaleByAMC[amc] = len(as)
		subject := amc
		if subject == "" {
			subject = "(no AMC in the scheme master)"
		}
		open[subject] = staleDetail(as, f.opt.SLA)
	}
	if res.AlertsRaised, res.AlertsResolved, err = f.d.pg.SyncAlerts(ctx, alertNAVStale, open); err != nil {
		return res, fmt.Errorf("nav-freshness: alerts: %w", err)
	}
	day := fund.LastDueBusinessDay(now, f.opt.Calendar)
	if res.Completeness, err = f.completeness(ctx, day, now); err != nil {
		return res, err
	}
	f.missing.Set(float64(res.Completeness.MissingCount))
	return res, nil
}

// RunLocked runs once under the job's single-runner lock (alerts are
// synced by one process at a time).
func (f *navFreshness) RunLocked(ctx context.Context) error {
	unlock, err := f.d.pg.TryLock(ctx, "pipeline:nav-freshness")
	if err != nil {
		return err
	}
	defer unlock()
	res, err := f.Run(ctx)
	if err == nil && res.Stale > 0 {
		f.d.log.Warn("NAVs late", "stale", res.Stale, "by_amc", res.StaleByAMC, "max_late", time.Duration(res.MaxLateSeconds*float64(time.Second)).Round(time.Second))
	}
	return err
}

func (f *navFreshness) completeness(ctx context.Context, day fund.Date, now time.Time) (freshness.Completeness, error) {
	cal := f.opt.Calendar
	if !cal.IsBusinessDay(day) {
		return freshness.Complete(day, nil, now, cal), nil
	}
	rows, err := f.d.pg.NAVPresenceAround(ctx, cal.PrevBusinessDay(day), day)
	if err != nil {
		return freshness.Completeness{}, fmt.Errorf("completeness of %s: %w", day, err)
	}
	ps := make([]freshness.Presence, len(rows))
	for i, r := range rows {
		ps[i] = freshness.Presence{Latest: freshness.Latest{Code: r.Code, AMC: r.AMC, Category: r.Category, Date: r.Date}, OnPrev: r.OnPrev, OnDay: r.OnDay}
	}
	return freshness.Complete(day, ps, now, cal), nil
}

// staleDetail says, for an alert, how many schemes are late, by how much,
// and which (the first few).
func staleDetail(as []freshness.Age, sla time.Duration) string {
	worst := as[0]
	for _, a := range as {
		if a.Late > worst.Late {
			worst = a
		}
	}
	codes := make([]string, 0, 10)
	for _, a := range as[:min(len(as), 10)] {
		codes = append(codes, a.Code)
	}
	more := ""
	if len(as) > 10 {
		more = fmt.Sprintf(" and %d more", len(as)-10)
	}
	return fmt.Sprintf("%d scheme(s) past the %s freshness SLA; worst %s: NAV of %s due %s, %s late; schemes %s%s",
		len(as), sla, worst.Code, worst.Next, worst.Due.In(fund.IST()).Format("2006-01-02 15:04 IST"),
		worst.Late.Round(time.Second), strings.Join(codes, ", "), more)
}

func cmdFreshness(ctx context.Context, d *deps, stdout io.Writer) error {
	f, err := newNAVFreshness(d)
	if err != nil {
		return err
	}
	unlock, err := d.pg.TryLock(ctx, "pipeline:nav-freshness")
	if err != nil {
		return err
	}
	defer unlock()
	res, err := f.Run(ctx)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

const completenessUsage = `usage:
  fundflow check completeness [--date YYYY-MM-DD] [--at RFC3339]
      Which schemes that had a NAV on the business day before DATE have none
      for DATE (default: the last business day whose NAVs were due), using
      the holiday calendar of the config (pipelines.nav-ingest.holidays): a
      weekend or holiday expects nothing. A missing NAV not yet due (a fund
      of funds publishes the next morning) is "pending", not "missing". --at
      judges as of another moment (default now). Prints JSON.`

func cmdCheckCompleteness(ctx context.Context, g globals, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("check completeness", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	date := fs.String("date", "", "business day, YYYY-MM-DD")
	at := fs.String("at", "", "judge as of this time (RFC 3339)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usageErr("check completeness: bad arguments (%v)\n%s", err, completenessUsage)
	}
	now := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usageErr("--at %q: want RFC 3339, e.g. 2026-08-18T23:30:00+05:30", *at)
		}
		now = t
	}
	var day fund.Date
	if *date != "" {
		d, err := fund.ParseISODate(*date)
		if err != nil {
			return usageErr("--date: %v", err)
		}
		day = d
	}
	d, err := loadAndConnect(ctx, g, log)
	if err != nil {
		return err
	}
	defer d.Close()
	f, err := newNAVFreshness(d)
	if err != nil {
		return err
	}
	if day.IsZero() {
		day = fund.LastDueBusinessDay(now, f.opt.Calendar)
	}
	c, err := f.completeness(ctx, day, now)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}
