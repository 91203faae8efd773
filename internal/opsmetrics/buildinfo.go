package opsmetrics

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// BuildInfo is the fundflow_build_info gauge (always 1) of this binary:
// version is the main module's version ("(devel)" for a build from a
// checkout), revision the VCS commit it was built from ("unknown" when the
// build recorded none, such as `go test`), goversion the toolchain.
func BuildInfo() prometheus.Collector {
	version, revision := "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version, revision = buildLabels(bi)
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "fundflow_build_info",
		Help:        "The running binary: version, VCS revision and Go version (always 1).",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version()},
	})
	g.Set(1)
	return g
}

// buildLabels reads the version and revision out of the build info; a
// modified work tree's revision ends in "-dirty".
func buildLabels(bi *debug.BuildInfo) (version, revision string) {
	version, revision = bi.Main.Version, "unknown"
	if version == "" {
		version = "unknown"
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && revision != "unknown" {
		revision += "-dirty"
	}
	return version, revision
}
