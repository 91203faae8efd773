package api_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/internal/testkit"
)

// Every request is counted under its route pattern with its status code
// and timed, never under its raw path: two folios' portfolios are one
// route, an unknown path and a strange method are "other", and no label
// carries a folio number.
func TestRequestMetricsByRoute(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := api.NewHTTPMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	e := setup(t, func(c *api.Config) { c.Metrics = m })
	e.get(t, "/v1/folios/F-1/portfolio", investor(t, "INV-1")) // 200
	e.get(t, "/v1/folios/F-1/portfolio", investor(t, "INV-1")) // 200
	e.get(t, "/v1/folios/F-1/portfolio", investor(t, "INV-2")) // 404: not INV-2's
	e.get(t, "/v1/folios/F-2/portfolio", "")                   // 401
	e.get(t, "/healthz", "")                                   // 200
	e.get(t, "/no/such/path", "")                              // 404
	e.get(t, "/v1/folios/F-9/no-such-thing", "")               // 404
	e.do(t, "BREW", "/healthz", "", "")                        // no such route for BREW

	portfolio := "/v1/folios/{folio}/portfolio"
	for _, c := range []struct {
		route, method, code string
		want                float64
	}{
		{portfolio, "GET", "200", 2},
		{portfolio, "GET", "404", 1},
		{portfolio, "GET", "401", 1},
		{"/healthz", "GET", "200", 1},
		{api.RouteOther, "GET", "404", 2},
	} {
		got, _ := testkit.Series(t, reg, "fundflow_http_requests_total", map[string]string{"route": c.route, "method": c.method, "code": c.code})
		if got != c.want {
			t.Errorf("requests{%s %s %s} = %v, want %v", c.route, c.method, c.code, got, c.want)
		}
	}
	if got, _ := testkit.Series(t, reg, "fundflow_http_request_duration_seconds", map[string]string{"route": portfolio, "method": "GET"}); got != 4 {
		t.Errorf("%v portfolio durations, want 4", got)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var others float64
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if strings.Contains(l.GetValue(), "F-") || l.GetValue() == "BREW" || strings.Contains(l.GetValue(), "no-such") {
					t.Errorf("%s has a raw label %s=%q", mf.GetName(), l.GetName(), l.GetValue())
				}
				if l.GetName() == "method" && l.GetValue() == "other" && mf.GetName() == "fundflow_http_requests_total" {
					others += s.GetCounter().GetValue()
				}
			}
		}
	}
	if others != 1 {
		t.Errorf("%v requests with method other, want 1 (BREW)", others)
	}
}
