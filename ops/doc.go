// Package ops holds no code: it is the home of the operators' files in
// this folder (Prometheus rules and their tests, the Grafana dashboard,
// the metric names they may use) and of the tests that check them
// (ops_test.go): promtool runs the rules' tests, and every metric name in
// the rules and the dashboard must be one fundflow exposes.
package ops
