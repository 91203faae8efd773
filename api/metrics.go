package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HTTPMetrics are the API's request series, labelled by the registered
// route pattern ("/v1/folios/{folio}"), never the raw path, so a scrape
// has a series per route and not one per folio: fundflow_http_requests_total
// {route,method,code} and fundflow_http_request_duration_seconds
// {route,method}. A path no route matches is route "other"; a method
// outside the standard ones is method "other".
type HTTPMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewHTTPMetrics registers the API's request series on reg.
func NewHTTPMetrics(reg prometheus.Registerer) (*HTTPMetrics, error) {
	m := &HTTPMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fundflow_http_requests_total", Help: "API requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fundflow_http_request_duration_seconds", Help: "Time to answer an API request, by route pattern and method.",
			// Up to the exports' ten minutes.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 120, 600},
		}, []string{"route", "method"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// RouteOther is the route label of a request no route matches.
const RouteOther = "other"

// routeLabel is the pattern mux would serve r with, without its method
// ("GET /v1/plans/{id}" → "/v1/plans/{id}"), or RouteOther.
func routeLabel(mux *http.ServeMux, r *http.Request) string {
	_, pattern := mux.Handler(r)
	if pattern == "" {
		return RouteOther
	}
	if _, p, ok := strings.Cut(pattern, " "); ok {
		return p
	}
	return pattern
}

var knownMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}

// measure serves r through next and counts it under its route.
func (m *HTTPMetrics) measure(mux *http.ServeMux, w http.ResponseWriter, r *http.Request, next func(http.ResponseWriter, *http.Request)) {
	if m == nil {
		next(w, r)
		return
	}
	route, method := routeLabel(mux, r), r.Method
	if !knownMethods[method] {
		method = "other"
	}
	start := time.Now()
	sw := &StatusWriter{ResponseWriter: w}
	defer func() {
		code := sw.Status
		if !sw.Wrote {
			code = http.StatusOK // a handler that wrote nothing answers 200
		}
		m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
		m.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
	}()
	next(sw, r)
}
