package metrics

import (
	"slices"
	"testing"
)

// TestUnlistedTransitionCounted: each unlisted change counts once under
// its flow, from and to; the metric is among Names.
func TestUnlistedTransitionCounted(t *testing.T) {
	m := New()
	m.UnlistedTransition("totpswitch", "awaiting_email", "done")
	m.UnlistedTransition("totpswitch", "awaiting_email", "done")
	m.UnlistedTransition("newphone", "", "replacing")
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "guidedfix_unlisted_transitions_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range s.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			got[l["flow"]+":"+l["from"]+">"+l["to"]] = s.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"totpswitch:awaiting_email>done": 2, "newphone:>replacing": 1}
	if len(got) != len(want) || got["totpswitch:awaiting_email>done"] != 2 || got["newphone:>replacing"] != 1 {
		t.Fatalf("series %v, want %v", got, want)
	}
	names, err := m.Names()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, "guidedfix_unlisted_transitions_total") {
		t.Fatal("Names lacks guidedfix_unlisted_transitions_total")
	}
}
