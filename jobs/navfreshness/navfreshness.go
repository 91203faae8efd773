// Package navfreshness is the nav-freshness job: from nav_latest it sets
// fundflow_nav_age_seconds per scheme (how long the scheme's next NAV has
// been due without arriving; 0 while nothing is due), keeps one nav_stale
// alert open per AMC with schemes over the SLA (resolving it when they
// catch up), and checks the completeness of the last business day whose
// NAVs were due. The verdicts are transforms/freshness's; this package reads
// the state, sets the metrics and syncs the alerts.
package navfreshness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/freshness"
)

// Defaults of the job when the config does not say.
const (
	DefaultSLA           = 15 * time.Minute
	DefaultDeadAfterDays = 30
)

// Name is the job's name in job_runs and in the run metrics.
const Name = "nav-freshness"

const (
	alertKind = "nav_stale"
	// calendarAlertKind is open while some scheme's next NAV is owed on a
	// day the holiday calendar does not cover (subject: the year).
	calendarAlertKind = "nav_freshness_calendar"
)

// Store is what the job reads and writes.
type Store interface {
	LatestNAVDates(ctx context.Context) ([]postgres.SchemeNAVDate, error)
	NAVPresenceAround(ctx context.Context, prev, day fund.Date) ([]postgres.NAVPresence, error)
	SyncAlerts(ctx context.Context, kind string, open map[string]string) (raised, resolved int, err error)
	supervise.Locker // one process syncs the alerts at a time
}

// Job is the nav-freshness job. Build it with New.
type Job struct {
	Store   Store
	Options freshness.Options
	Now     func() time.Time // the moment a run judges; tests set it
	Log     *slog.Logger
	// Recorder records each locked run in job_runs and the run metrics.
	Recorder pipelines.Recorder

	// The metrics it sets (registered by New).
	Age     *prometheus.GaugeVec // {amc}: its oldest live scheme's lateness
	Dead    prometheus.Gauge
	Stale   *prometheus.GaugeVec // {amc}: its live schemes over the SLA
	Missing prometheus.Gauge
}

// New returns the job with its metrics registered on reg. A zero SLA or
// DeadAfterDays in opt takes the default.
func New(store Store, opt freshness.Options, reg prometheus.Registerer, log *slog.Logger) (*Job, error) {
	if opt.SLA <= 0 {
		opt.SLA = DefaultSLA
	}
	if opt.DeadAfterDays <= 0 {
		opt.DeadAfterDays = DefaultDeadAfterDays
	}
	j := &Job{Store: store, Options: opt, Now: time.Now, Log: log,
		// Per AMC, not per scheme: ~50 series, not 8,805 (820 KB a scrape).
		Age: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "fundflow_nav_age_seconds",
			Help: "Per AMC, the lateness of its oldest live scheme: seconds since that scheme's next NAV was due (23:00 IST of the next business day after its latest NAV; 10:00 IST the day after for funds of funds) without arriving; 0 while none is due."},
			[]string{"amc"}),
		Dead: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fundflow_nav_dead_schemes",
			Help: "Schemes with no NAV for more than dead_after_days: wound up, left out of freshness."}),
		Stale: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "fundflow_nav_stale_schemes",
			Help: "Per AMC, its live schemes whose next NAV is later than the freshness SLA (sum() is the total)."},
			[]string{"amc"}),
		Missing: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fundflow_nav_missing_schemes",
			Help: "Schemes with a NAV on the previous business day and none, though due, for the last business day."}),
	}
	for _, c := range []prometheus.Collector{j.Age, j.Dead, j.Stale, j.Missing} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("nav-freshness metrics: %w", err)
		}
	}
	return j, nil
}

// NoAMC is the amc label of schemes the scheme master gives no AMC.
const NoAMC = "unknown"

// Result is what one run found and did.
type Result struct {
	At             string                 `json:"at"`
	SLASeconds     float64                `json:"sla_seconds"`
	Live           int                    `json:"schemes"`
	Dead           int                    `json:"dead"`
	Stale          int                    `json:"stale"`
	MaxLateSeconds float64                `json:"max_late_seconds"`
	StaleByAMC     map[string]int         `json:"stale_by_amc"`
	Uncovered      int                    `json:"uncovered"` // schemes not judged: their NAV is owed on a day the calendar does not cover
	AlertsRaised   int                    `json:"alerts_raised"`
	AlertsResolved int                    `json:"alerts_resolved"`
	Completeness   freshness.Completeness `json:"completeness"`
}

// Run evaluates freshness now, sets the metrics and syncs the alerts. It
// takes no lock: see RunLocked.
func (j *Job) Run(ctx context.Context) (Result, error) {
	now := j.Now()
	rep, err := j.Report(ctx, now)
	if err != nil {
		return Result{}, err
	}
	res := Result{At: now.UTC().Format(time.RFC3339), SLASeconds: j.Options.SLA.Seconds(), Live: len(rep.Live),
		Dead: rep.Dead, Stale: rep.StaleCount(), StaleByAMC: map[string]int{}, Uncovered: len(rep.Uncovered)}
	// AMCs whose schemes all died or left drop out; every AMC with a live
	// scheme has both series, 0 when on time.
	j.Age.Reset()
	j.Stale.Reset()
	for amc, g := range rep.ByAMC() {
		if amc == "" {
			amc = NoAMC
		}
		j.Age.WithLabelValues(amc).Set(g.MaxLate.Seconds())
		j.Stale.WithLabelValues(amc).Set(float64(g.Stale))
		res.MaxLateSeconds = max(res.MaxLateSeconds, g.MaxLate.Seconds())
	}
	j.Dead.Set(float64(rep.Dead))
	open := map[string]string{}
	for amc, as := range rep.Stale {
		res.StaleByAMC[amc] = len(as)
		subject := amc
		if subject == "" {
			subject = "(no AMC in the scheme master)"
		}
		open[subject] = staleDetail(as, j.Options.SLA)
	}
	if res.AlertsRaised, res.AlertsResolved, err = j.Store.SyncAlerts(ctx, alertKind, open); err != nil {
		return res, fmt.Errorf("nav-freshness: alerts: %w", err)
	}
	// The schemes whose NAV is owed on a day no holiday file covers are
	// reported, not judged; they are judged once a file covers the day.
	gaps := map[string]string{}
	if n := len(rep.Uncovered); n > 0 {
		u := rep.Uncovered[0]
		gaps[fmt.Sprint(u.Day.Year)] = fmt.Sprintf("%s: %d scheme(s) not judged for freshness (first %s, latest NAV %s) until a holiday file covers it", u.Reason, n, u.Code, u.Date)
		j.Log.Warn("nav-freshness: schemes not judged", "schemes", n, "reason", u.Reason)
	}
	raised, resolved, err := j.Store.SyncAlerts(ctx, calendarAlertKind, gaps)
	if err != nil {
		return res, fmt.Errorf("nav-freshness: alerts: %w", err)
	}
	res.AlertsRaised, res.AlertsResolved = res.AlertsRaised+raised, res.AlertsResolved+resolved
	day, err := fund.LastDueBusinessDay(now, j.Options.Calendar)
	var oor *fund.OutOfRangeError
	if errors.As(err, &oor) {
		// today is outside the calendar: no business day to check
		// completeness of, and the freshness verdict above stands.
		j.Log.Warn("nav-freshness: completeness not checked", "reason", "holiday calendar does not cover "+oor.Date.String())
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("nav-freshness: %w", err)
	}
	if res.Completeness, err = j.Completeness(ctx, day, now); err != nil {
		return res, err
	}
	j.Missing.Set(float64(res.Completeness.MissingCount))
	return res, nil
}

// Stats is a run as job_runs counts it: the schemes judged in (live and
// dead), the schemes whose age it set out (the live ones).
func (r Result) Stats() pipelines.Stats {
	reasons := map[string]int64{}
	if r.Uncovered > 0 {
		reasons["uncovered"] = int64(r.Uncovered)
	}
	return pipelines.Stats{In: int64(r.Live + r.Dead + r.Uncovered), Out: int64(r.Live), Reasons: reasons}
}

// RunLocked runs once under the job's single-runner lock (alerts are
// synced by one process at a time), recorded as a run; when another
// process holds the lock it is a skip, not a run (supervise.Single).
func (j *Job) RunLocked(ctx context.Context) (res Result, err error) {
	err = supervise.Single(ctx, j.Store, Name, func(ctx context.Context) error {
		_, err := j.Recorder.Run(ctx, Name, func(ctx context.Context) (pipelines.Stats, error) {
			var err error
			res, err = j.Run(ctx)
			return res.Stats(), err
		})
		return err
	})
	return res, err
}

// Scheduled is a scheduled run: RunLocked, with a warning when NAVs are
// late.
func (j *Job) Scheduled(ctx context.Context) error {
	res, err := j.RunLocked(ctx)
	if err == nil && res.Stale > 0 {
		j.Log.Warn("NAVs late", "stale", res.Stale, "by_amc", res.StaleByAMC, "max_late", time.Duration(res.MaxLateSeconds*float64(time.Second)).Round(time.Second))
	}
	return err
}

// Completeness says which schemes that had a NAV on the business day
// before day have none for day, judged at now.
func (j *Job) Completeness(ctx context.Context, day fund.Date, now time.Time) (freshness.Completeness, error) {
	cal := j.Options.Calendar
	business, err := cal.IsBusinessDay(day)
	if err != nil || !business {
		return freshness.Complete(day, nil, now, cal)
	}
	prev, err := cal.PrevBusinessDay(day)
	if err != nil {
		return freshness.Completeness{}, fmt.Errorf("completeness of %s: %w", day, err)
	}
	rows, err := j.Store.NAVPresenceAround(ctx, prev, day)
	if err != nil {
		return freshness.Completeness{}, fmt.Errorf("completeness of %s: %w", day, err)
	}
	ps := make([]freshness.Presence, len(rows))
	for i, r := range rows {
		ps[i] = freshness.Presence{Latest: freshness.Latest{Code: r.Code, AMC: r.AMC, Category: r.Category, Date: r.Date}, OnPrev: r.OnPrev, OnDay: r.OnDay}
	}
	return freshness.Complete(day, ps, now, cal)
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
