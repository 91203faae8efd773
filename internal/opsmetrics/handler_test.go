package opsmetrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// The metrics listener answers /metrics only at /metrics (the defect: "/"
// and "/healthz" both returned the scrape), liveness at /healthz whatever
// the stores do, readiness at /readyz (503 with the reason when not
// ready), and 404 everywhere else.
func TestHandlerPaths(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "fundflow_test_total", Help: "t"})
	reg.MustRegister(c)
	c.Add(3)
	down := errors.New("postgres: connection refused")
	cases := []struct {
		name, method, path string
		ready              error
		code               int
		body               string // the body holds it
		notBody            string // the body must not hold it
	}{
		{"metrics", "GET", "/metrics", nil, 200, "fundflow_test_total 3", ""},
		{"metrics while not ready", "GET", "/metrics", down, 200, "fundflow_test_total 3", ""},
		{"root is not metrics", "GET", "/", nil, 404, "", "fundflow_test_total"},
		{"healthz is not metrics", "GET", "/healthz", nil, 200, "ok", "fundflow_test_total"},
		{"healthz while the stores are down", "GET", "/healthz", down, 200, "ok", ""},
		{"ready", "GET", "/readyz", nil, 200, "ready", "fundflow_test_total"},
		{"not ready says why", "GET", "/readyz", down, 503, "not ready: postgres: connection refused", ""},
		{"other path", "GET", "/metrics/x", nil, 404, "", "fundflow_test_total"},
		{"a prefix of metrics", "GET", "/metric", nil, 404, "", "fundflow_test_total"},
		{"unknown", "GET", "/favicon.ico", nil, 404, "", ""},
		{"wrong method", "POST", "/metrics", nil, 405, "", "fundflow_test_total"},
		{"head", "HEAD", "/healthz", nil, 200, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := Handler(reg, func(context.Context) error { return tc.ready })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			b, _ := io.ReadAll(rec.Body)
			if rec.Code != tc.code {
				t.Fatalf("%s %s: %d, want %d (%s)", tc.method, tc.path, rec.Code, tc.code, b)
			}
			if tc.body != "" && !strings.Contains(string(b), tc.body) {
				t.Errorf("body %q, want it to hold %q", b, tc.body)
			}
			if tc.notBody != "" && strings.Contains(string(b), tc.notBody) {
				t.Errorf("body holds %q: %q", tc.notBody, b)
			}
		})
	}
}
