package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestStoreCollector: AddStore exports the store's counters under
// guidedfix_store_* with the backend label, read at each scrape, and
// Names lists them.
func TestStoreCollector(t *testing.T) {
	m := New()
	s := StoreStats{Saves: 7, Conflicts: 2, Retries: 1, Ambiguous: 1, SaveTime: 1500 * time.Millisecond}
	m.AddStore("etcd", func() StoreStats { return s })
	want := `
# HELP guidedfix_store_conflicts_total Session saves that lost the compare-and-swap to another replica (the turn ran again), by store backend.
# TYPE guidedfix_store_conflicts_total counter
guidedfix_store_conflicts_total{backend="etcd"} 2
# HELP guidedfix_store_save_seconds_total Time spent in session saves; divided by guidedfix_store_saves_total it is the mean save latency, by store backend.
# TYPE guidedfix_store_save_seconds_total counter
guidedfix_store_save_seconds_total{backend="etcd"} 1.5
# HELP guidedfix_store_saves_total Session saves (one transaction each), by store backend.
# TYPE guidedfix_store_saves_total counter
guidedfix_store_saves_total{backend="etcd"} 7
`
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(want),
		"guidedfix_store_saves_total", "guidedfix_store_conflicts_total", "guidedfix_store_save_seconds_total"); err != nil {
		t.Fatal(err)
	}
	s.Saves = 9 // read again at the next scrape
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(strings.Replace(want, `{backend="etcd"} 7`, `{backend="etcd"} 9`, 1)),
		"guidedfix_store_saves_total", "guidedfix_store_conflicts_total", "guidedfix_store_save_seconds_total"); err != nil {
		t.Fatal(err)
	}
	names, err := m.Names()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range storeNames() {
		found := false
		for _, have := range names {
			found = found || have == n
		}
		if !found {
			t.Errorf("Names lacks %s", n)
		}
	}
}
