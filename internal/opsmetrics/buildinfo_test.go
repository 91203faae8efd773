package opsmetrics

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The revision and version come from the build info; a dirty tree is
// marked; a build without VCS settings says unknown.
func TestBuildLabels(t *testing.T) {
	cases := []struct {
		name          string
		bi            debug.BuildInfo
		version, revn string
	}{
		{"release", debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "false"}}}, "v1.2.3", "abc123"},
		{"dirty checkout", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}}, "(devel)", "abc123-dirty"},
		{"no vcs (go test)", debug.BuildInfo{}, "unknown", "unknown"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, r := buildLabels(&c.bi)
			if v != c.version || r != c.revn {
				t.Fatalf("version %q revision %q, want %q %q", v, r, c.version, c.revn)
			}
		})
	}
}

// fundflow_build_info is one series, 1, with this toolchain's goversion.
func TestBuildInfo(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(BuildInfo())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || mfs[0].GetName() != "fundflow_build_info" || len(mfs[0].Metric) != 1 {
		t.Fatalf("gathered %v", mfs)
	}
	m := mfs[0].Metric[0]
	labels := map[string]string{}
	for _, l := range m.Label {
		labels[l.GetName()] = l.GetValue()
	}
	if m.GetGauge().GetValue() != 1 || labels["goversion"] != runtime.Version() || labels["version"] == "" || labels["revision"] == "" {
		t.Fatalf("build_info %v = %v", labels, m.GetGauge().GetValue())
	}
	if n := testutil.CollectAndCount(BuildInfo()); n != 1 {
		t.Fatalf("%d series", n)
	}
}
