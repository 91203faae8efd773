package ops

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/fundflow/fundflow/internal/testkit"
)

// promtool is Debian's (package prometheus, installed by
// scripts/services.sh). Under CI a missing promtool fails the test: the
// rules would otherwise go unchecked.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		testkit.Missing(t, "promtool not found (%v): scripts/services.sh up installs Debian's prometheus package", err)
	}
	return p
}

// The rules pass promtool's own check (syntax, templates, lint) and its
// unit tests (rules_test.yml): each alert fires on its synthetic series and
// stays silent while they are healthy. The example Prometheus config that
// loads them (and probes /readyz) is valid too.
func TestPromtool(t *testing.T) {
	bin := promtool(t)
	for _, args := range [][]string{{"check", "rules", "rules.yml"}, {"test", "rules", "rules_test.yml"}, {"check", "config", "prometheus.example.yml"}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
	}
}

type rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, "prometheus/rules.yml", &f)
	var out []rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatal("rules.yml has no rules")
	}
	return out
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// contract reads metrics.txt: name -> type.
func contract(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, typ, ok := strings.Cut(line, " ")
		if !ok || !slices.Contains([]string{"counter", "gauge", "histogram"}, typ) || !strings.HasPrefix(name, "fundflow_") {
			t.Fatalf("metrics.txt line %d: %q is not \"fundflow_NAME counter|gauge|histogram\"", n, line)
		}
		out[name] = typ
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// external are the series a Prometheus setup provides, not fundflow.
var external = map[string]bool{
	"probe_success": true, // blackbox exporter's probe of /readyz (job fundflow-readyz)
}

var (
	grafanaVar = regexp.MustCompile(`\$\{[^}]*\}|\$\w+`)
	stringLit  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	matchers   = regexp.MustCompile(`\{[^{}]*\}`)
	ranges     = regexp.MustCompile(`\[[^\]]*\]`)
	grouping   = regexp.MustCompile(`(?i)\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	offsetMod  = regexp.MustCompile(`(?i)\boffset\s+-?[0-9a-z]+`)
	ident      = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	keywords   = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "by": true, "without": true, "on": true,
		"ignoring": true, "group_left": true, "group_right": true, "offset": true, "inf": true, "nan": true}
)

// metricNames are the metric names a PromQL expression selects (a light
// lexer, enough for the rules and the dashboard: strings, label matchers,
// ranges, grouping clauses and Grafana variables removed; what is left and
// is neither a keyword nor a function call is a metric name).
func metricNames(expr string) []string {
	s := grafanaVar.ReplaceAllString(expr, "1m")
	s = stringLit.ReplaceAllString(s, `""`)
	s = matchers.ReplaceAllString(s, " ")
	s = ranges.ReplaceAllString(s, " ")
	s = grouping.ReplaceAllString(s, " ")
	s = offsetMod.ReplaceAllString(s, " ")
	var out []string
	for _, loc := range ident.FindAllStringIndex(s, -1) {
		name := s[loc[0]:loc[1]]
		if keywords[strings.ToLower(name)] {
			continue
		}
		if rest := strings.TrimLeft(s[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue // a function or an aggregation
		}
		if loc[0] > 0 && (s[loc[0]-1] >= '0' && s[loc[0]-1] <= '9' || s[loc[0]-1] == '.') {
			continue // a number's exponent or unit
		}
		out = append(out, name)
	}
	return out
}

// unknownNames are the names of expr that are neither in the contract (a
// histogram's _bucket/_sum/_count count as its own), nor recorded by the
// rules, nor external.
func unknownNames(expr string, known map[string]string, recorded map[string]bool) []string {
	var bad []string
	for _, n := range metricNames(expr) {
		if known[n] != "" || recorded[n] || external[n] {
			continue
		}
		if base, ok := histogramBase(n); ok && known[base] == "histogram" {
			continue
		}
		bad = append(bad, n)
	}
	return bad
}

func histogramBase(n string) (string, bool) {
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(n, suf); ok {
			return base, true
		}
	}
	return "", false
}

// The lexer finds each metric name, skips functions, keywords, labels and
// Grafana variables, and a typo in a name is reported.
func TestMetricNames(t *testing.T) {
	known := map[string]string{"fundflow_job_runs_total": "counter", "fundflow_http_request_duration_seconds": "histogram",
		"fundflow_outbox_lag_seconds": "gauge", "fundflow_build_info": "gauge"}
	recorded := map[string]bool{"fundflow:job_max_success_age_seconds": true}
	cases := []struct {
		expr      string
		names     []string
		unknown   []string
		aboutCase string
	}{
		{`sum by (job) (increase(fundflow_job_runs_total{outcome="failed"}[15m])) > 0`,
			[]string{"fundflow_job_runs_total"}, nil, "aggregation, matcher, range"},
		{`histogram_quantile(0.95, sum by (route, le) (rate(fundflow_http_request_duration_seconds_bucket{route=~"$route"}[$__rate_interval])))`,
			[]string{"fundflow_http_request_duration_seconds_bucket"}, nil, "histogram bucket and Grafana variables"},
		{`max by (relay) (fundflow_outbox_lag_seconds) > max by (relay) (fundflow_outbox_lag_seconds offset 1h) and on () count(fundflow_build_info) > 4e2`,
			[]string{"fundflow_outbox_lag_seconds", "fundflow_outbox_lag_seconds", "fundflow_build_info"}, nil, "offset, on (), exponent"},
		{`time() - fundflow_job_last_sucess_timestamp_seconds > on (job) fundflow:job_max_success_age_seconds`,
			[]string{"fundflow_job_last_sucess_timestamp_seconds", "fundflow:job_max_success_age_seconds"},
			[]string{"fundflow_job_last_sucess_timestamp_seconds"}, "a typo"},
		{`fundflow_outbox_lag_seconds_count + fundflow:job_runs:rate5m`,
			[]string{"fundflow_outbox_lag_seconds_count", "fundflow:job_runs:rate5m"},
			[]string{"fundflow_outbox_lag_seconds_count", "fundflow:job_runs:rate5m"}, "_count of a gauge; an unrecorded rule"},
		{`label_replace(vector(3600), "job", "nav-ingest", "", "") or probe_success == 0`, []string{"probe_success"}, nil, "strings, external"},
	}
	for _, c := range cases {
		if got := metricNames(c.expr); !slices.Equal(got, c.names) {
			t.Errorf("%s: names %q, want %q", c.aboutCase, got, c.names)
		}
		if got := unknownNames(c.expr, known, recorded); !slices.Equal(got, c.unknown) {
			t.Errorf("%s: unknown %q, want %q", c.aboutCase, got, c.unknown)
		}
	}
}

func recordedNames(rules []rule) map[string]bool {
	out := map[string]bool{}
	for _, r := range rules {
		if r.Record != "" {
			out[r.Record] = true
		}
	}
	return out
}

// Every metric the rules use is in the contract (or recorded by a rule).
func TestRulesUseContractMetrics(t *testing.T) {
	known := contract(t)
	rules := loadRules(t)
	recorded := recordedNames(rules)
	for _, r := range rules {
		if bad := unknownNames(r.Expr, known, recorded); len(bad) > 0 {
			t.Errorf("%s%s: metric(s) %q are not in ops/metrics.txt (the metrics contract) nor recorded by a rule", r.Alert, r.Record, bad)
		}
	}
}

// Every alert has a severity, a summary and a runbook that exists in the
// README, and rules_test.yml has a case where it fires and one where it
// stays silent.
func TestEveryAlertIsLabelledDocumentedAndTested(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(readme), "\n") {
		if h, ok := strings.CutPrefix(line, "#"); ok {
			anchors[slug(strings.TrimLeft(h, "#"))] = true
		}
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	readYAML(t, "prometheus/rules_test.yml", &tests)
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				silent[a.Alertname] = true
			}
		}
	}
	n := 0
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		n++
		if s := r.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
		}
		if r.Annotations["summary"] == "" {
			t.Errorf("%s: no summary", r.Alert)
		}
		anchor, ok := strings.CutPrefix(r.Annotations["runbook_url"], "README.md#")
		if !ok || !anchors[anchor] {
			t.Errorf("%s: runbook_url %q is not a heading of README.md (README.md#runbook-...)", r.Alert, r.Annotations["runbook_url"])
		}
		if !fires[r.Alert] || !silent[r.Alert] {
			t.Errorf("%s: rules_test.yml has a firing case: %v, a silent case: %v; it needs both", r.Alert, fires[r.Alert], silent[r.Alert])
		}
	}
	if n < 10 {
		t.Fatalf("%d alerts in rules.yml", n)
	}
}

// slug is GitHub's anchor of a heading: lower case, spaces to hyphens,
// punctuation other than - and _ dropped.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// The Grafana dashboard is valid JSON of a current schema, reads from a
// Prometheus datasource variable, and every panel query names only metrics
// of the contract or of the rules.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("grafana/fundflow.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID           string `json:"uid"`
		Title         string `json:"title"`
		SchemaVersion int    `json:"schemaVersion"`
		Templating    struct {
			List []struct {
				Name       string `json:"name"`
				Type       string `json:"type"`
				Query      any    `json:"query"` // a string, or the Prometheus editor's {"query": ...}
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("fundflow.json: %v", err)
	}
	if d.SchemaVersion < 36 || d.UID == "" || d.Title == "" {
		t.Fatalf("schemaVersion %d, uid %q, title %q: want a current schema (>= 36), a uid and a title", d.SchemaVersion, d.UID, d.Title)
	}
	known := contract(t)
	recorded := recordedNames(loadRules(t))
	hasDS := false
	for _, v := range d.Templating.List {
		if v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus" {
			hasDS = true
		}
		// label_values(METRIC, LABEL): the metric must exist too
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
			if bad := unknownNames(m[1], known, recorded); len(bad) > 0 {
				t.Errorf("variable %q: metric %q is not in ops/metrics.txt", v.Name, bad)
			}
		} else if v.Type == "query" {
			t.Errorf("variable %q: definition %q is not label_values(METRIC, LABEL)", v.Name, v.Definition)
		}
	}
	if !hasDS {
		t.Fatal(`no templating variable {"name": "datasource", "type": "datasource", "query": "prometheus"}`)
	}
	ids := map[int]bool{}
	used := map[string]bool{}
	var walk func(ps []panel)
	queries := 0
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
			}
			ids[p.ID] = true
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if p.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: datasource %+v, want the ${datasource} variable", p.Title, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q: no queries", p.Title)
			}
			for _, tg := range p.Targets {
				queries++
				names := metricNames(tg.Expr)
				if len(names) == 0 {
					t.Errorf("panel %q: query %q names no metric", p.Title, tg.Expr)
				}
				for _, n := range names {
					used[n] = true
				}
				if bad := unknownNames(tg.Expr, known, recorded); len(bad) > 0 {
					t.Errorf("panel %q: metric(s) %q are not in ops/metrics.txt nor recorded by rules.yml", p.Title, bad)
				}
			}
		}
	}
	walk(d.Panels)
	// The panels the operators asked for (issue 16): each of these is shown.
	for _, want := range []string{"fundflow_job_runs_total", "fundflow_job_run_duration_seconds_bucket", "fundflow_job_last_success_timestamp_seconds",
		"fundflow_nav_age_seconds", "fundflow_nav_stale_schemes", "fundflow_http_requests_total", "fundflow_http_request_duration_seconds_bucket",
		"fundflow_outbox_lag_seconds", "fundflow_alerts_open", "fundflow_recon_breaks_open", "fundflow_payment_breaks_open", "fundflow_quarantine_rows"} {
		if !used[want] {
			t.Errorf("no panel shows %s", want)
		}
	}
	t.Logf("%d panels, %d queries", len(ids), queries)
}

var labelValues = regexp.MustCompile(`^label_values\(\s*([^,]+?)\s*,\s*\w+\s*\)$`)

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

// Every name of the contract is named, as a string, by the Go code outside
// ops/ (where the metric is registered), so the rules and the dashboard do
// not watch a metric nobody exposes.
func TestContractMetricsAreNamedInCode(t *testing.T) {
	known := contract(t)
	seen := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if name := e.Name(); path != ".." && (strings.HasPrefix(name, ".") || name == "ops" || name == "bin" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for name := range known {
			if strings.Contains(string(b), `"`+name+`"`) {
				seen[name] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for name := range known {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("%d metric(s) of ops/metrics.txt are not named by any Go file outside ops/ (a typo, or not registered yet): %s",
			len(missing), strings.Join(missing, ", "))
	}
}
