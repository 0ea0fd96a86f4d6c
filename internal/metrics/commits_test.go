package metrics

import (
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"guidedfix/internal/boltgroup"
)

// TestCommitCollector: AddCommits exports each database's group-commit
// counters with the db label, read at each scrape; Names lists them; a
// database added twice panics.
func TestCommitCollector(t *testing.T) {
	m := New()
	s := boltgroup.Stats{Commits: 3, Writes: 11}
	m.AddCommits("sessions", func() boltgroup.Stats { return s })
	m.AddCommits("portal", func() boltgroup.Stats { return boltgroup.Stats{Commits: 1, Writes: 1} })
	if n := testutil.CollectAndCount(m.commits); n != 4 {
		t.Fatalf("%d samples, want 4", n)
	}
	s.Writes = 12
	got := map[string]float64{}
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			if f.GetName() == "guidedfix_bolt_durable_writes_total" || f.GetName() == "guidedfix_bolt_commits_total" {
				got[f.GetName()+"/"+mt.GetLabel()[0].GetValue()] = mt.GetCounter().GetValue()
			}
		}
	}
	want := map[string]float64{"guidedfix_bolt_durable_writes_total/sessions": 12, "guidedfix_bolt_commits_total/sessions": 3,
		"guidedfix_bolt_durable_writes_total/portal": 1, "guidedfix_bolt_commits_total/portal": 1}
	if len(got) != len(want) {
		t.Fatalf("samples %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	names, err := m.Names()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range commitNames() {
		if !slices.Contains(names, n) {
			t.Errorf("Names lacks %s", n)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("adding sessions twice did not panic")
		}
	}()
	m.AddCommits("sessions", func() boltgroup.Stats { return s })
}
