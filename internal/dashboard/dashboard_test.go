package dashboard

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"guidedfix/internal/metrics"
)

// grafanaVars are the Grafana interval variables the queries use, with a
// duration that stands in for them when parsing.
var grafanaVars = strings.NewReplacer("$__range", "1h", "$__rate_interval", "5m", "$__interval", "1m")

// TestDashboardQueries parses every query of deploy/grafana/guidedfix.json
// with the PromQL parser and checks that every metric it names is one
// guidedfix exports (metrics.Metrics.Names), and that the panels the
// issue asks for are there.
func TestDashboardQueries(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/grafana/guidedfix.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	m.AddHashQueue(func() (int64, int64) { return 0, 0 })
	exported, err := m.Names()
	if err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	used := map[string]bool{}
	queries := 0
	for _, panel := range dash.Panels {
		if len(panel.Targets) == 0 {
			t.Errorf("panel %q has no query", panel.Title)
		}
		for _, target := range panel.Targets {
			queries++
			expr, err := p.ParseExpr(grafanaVars.Replace(target.Expr))
			if err != nil {
				t.Errorf("panel %q: %q does not parse: %v", panel.Title, target.Expr, err)
				continue
			}
			parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
				vs, ok := node.(*parser.VectorSelector)
				if !ok {
					return nil
				}
				name := vs.Name
				for _, lm := range vs.LabelMatchers {
					if lm.Name == labels.MetricName && lm.Type == labels.MatchEqual {
						name = lm.Value
					}
				}
				if name == "" {
					t.Errorf("panel %q: %q selects no metric by name", panel.Title, target.Expr)
					return nil
				}
				used[name] = true
				if !slices.Contains(exported, name) {
					t.Errorf("panel %q: metric %s is not exported by guidedfix", panel.Title, name)
				}
				return nil
			})
		}
	}
	for _, want := range []string{"guidedfix_funnel_entered_total", "guidedfix_flows_finished_total", "guidedfix_flows_started_total",
		"guidedfix_turn_duration_seconds_bucket", "guidedfix_flows_restored_total", "guidedfix_platform_api_calls_total",
		"guidedfix_platform_api_rate_limited_total", "guidedfix_mail_retried_total"} {
		if !used[want] {
			t.Errorf("no panel queries %s", want)
		}
	}
	if dash.UID != "guidedfix" || queries < 10 {
		t.Fatalf("uid %q, %d queries", dash.UID, queries)
	}
}
