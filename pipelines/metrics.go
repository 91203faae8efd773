package pipelines

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the per-stage Prometheus series every pipeline reports. They
// are registered on the registry the caller gives (no global state), so tests
// and several engines in one process do not collide.
type Metrics struct {
	in          *prometheus.CounterVec
	out         *prometheus.CounterVec
	quarantined *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	runs        *prometheus.CounterVec
	jobs        jobMetrics
}

// NewMetrics registers the engine's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		in: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fundflow_stage_records_in_total", Help: "Records that entered a stage.",
		}, []string{"pipeline", "stage"}),
		out: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fundflow_stage_records_out_total", Help: "Records that left a stage.",
		}, []string{"pipeline", "stage"}),
		quarantined: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fundflow_stage_records_quarantined_total", Help: "Records a stage sent to quarantine, by reason.",
		}, []string{"pipeline", "stage", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fundflow_stage_batch_seconds", Help: "Time a stage spent on one batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"pipeline", "stage"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fundflow_pipeline_runs_total", Help: "Finished pipeline runs by outcome.",
		}, []string{"pipeline", "outcome"}),
		jobs: newJobMetrics(),
	}
	reg.MustRegister(m.in, m.out, m.quarantined, m.latency, m.runs)
	reg.MustRegister(m.jobs.collectors()...)
	return m
}

func (m *Metrics) stage(pipeline, stage string, in, out int, took time.Duration) {
	if m == nil {
		return
	}
	m.in.WithLabelValues(pipeline, stage).Add(float64(in))
	m.out.WithLabelValues(pipeline, stage).Add(float64(out))
	m.latency.WithLabelValues(pipeline, stage).Observe(took.Seconds())
}

func (m *Metrics) reject(pipeline, stage, reason string) {
	if m == nil {
		return
	}
	m.quarantined.WithLabelValues(pipeline, stage, reason).Inc()
}

func (m *Metrics) run(pipeline, outcome string) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(pipeline, outcome).Inc()
}
