// Package opsmetrics is what serve's metrics listener (serve.metrics_addr)
// answers for operators: the Prometheus scrape at /metrics, liveness at
// /healthz, readiness at /readyz, and the process-level series no single
// job owns: fundflow_build_info and the DB-state gauges read by Collector
// (outbox lag, open alerts, quarantine, open breaks).
package opsmetrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ReadyTimeout bounds one readiness check: a Postgres that does not answer
// within it is not ready.
const ReadyTimeout = 3 * time.Second

// Handler serves the metrics listener: /metrics (reg's series, Prometheus
// text), /healthz (200 "ok" while the process answers; it never looks at
// the stores, so an orchestrator does not restart a healthy process while
// Postgres is down), /readyz (200 "ready" when ready returns nil, else 503
// with the reason) and 404 on every other path. Each path answers GET and
// HEAD only (405 with Allow otherwise).
func Handler(reg prometheus.Gatherer, ready func(context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		text(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
			defer cancel()
			if err := ready(ctx); err != nil {
				w.Header().Set("Retry-After", "5")
				text(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
				return
			}
		}
		text(w, http.StatusOK, "ready")
	})
	// "/{$}" and "/" would catch every path: nothing is registered there,
	// so the mux answers 404 for anything but the three paths.
	return mux
}

func text(w http.ResponseWriter, code int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(s + "\n"))
}
