// Package dashboard holds the test that keeps deploy/grafana/guidedfix.json
// true: every PromQL query of the dashboard parses
// (github.com/prometheus/prometheus/promql/parser) and names only metrics
// guidedfix exports. It is its own package so that the heavy Prometheus
// module is only a test dependency of this one package.
package dashboard
