package pipelines

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The outcomes of a job's run in fundflow_job_runs_total.
const (
	JobOK      = "ok"
	JobFailed  = "failed"
	JobSkipped = "skipped" // another process held the job's lock
)

// jobMetrics are the per-job series an operator alerts on: how long each
// run of a scheduled or looping job took, how each ended, and when it last
// succeeded. They are observed where every job's runs pass once (the
// scheduler for cron jobs, supervise.Every for serve's loops), not by each
// job, so no job can be left out.
type jobMetrics struct {
	duration    *prometheus.HistogramVec
	runs        *prometheus.CounterVec
	lastSuccess *prometheus.GaugeVec
}

func newJobMetrics() jobMetrics {
	return jobMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fundflow_job_run_duration_seconds", Help: "How long one run of a job took, from its start (or the lock wait) to its end.",
			Buckets: []float64{.1, .5, 1, 5, 15, 60, 300, 900, 3600},
		}, []string{"job"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fundflow_job_runs_total", Help: "Finished runs of a job by outcome: ok, failed, or skipped (another process held its lock).",
		}, []string{"job", "outcome"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fundflow_job_last_success_timestamp_seconds", Help: "Unix time at which the job's last ok run ended.",
		}, []string{"job"}),
	}
}

func (j jobMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{j.duration, j.runs, j.lastSuccess}
}

// Job records one finished run of the job name with its outcome (JobOK,
// JobFailed or JobSkipped) and how long it took. A skipped run has no
// duration: it did not run.
func (m *Metrics) Job(name, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.jobs.runs.WithLabelValues(name, outcome).Inc()
	if outcome == JobSkipped {
		return
	}
	m.jobs.duration.WithLabelValues(name).Observe(took.Seconds())
	if outcome == JobOK {
		m.jobs.lastSuccess.WithLabelValues(name).Set(float64(time.Now().UnixNano()) / 1e9)
	}
}
