package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// StoreStats is what a replicated session store counts since it opened
// (etcdstore.Store.Stats): compare-and-swap saves, saves that lost the
// race to another replica (the turn runs again), retries after a lost
// answer, commits whose outcome was unknown until read back, and the time
// spent saving.
type StoreStats struct {
	Saves, Conflicts, Retries, Ambiguous int64
	SaveTime                             time.Duration
}

var (
	storeSaves = prometheus.NewDesc("guidedfix_store_saves_total",
		"Session saves (one transaction each), by store backend.", []string{"backend"}, nil)
	storeConflicts = prometheus.NewDesc("guidedfix_store_conflicts_total",
		"Session saves that lost the compare-and-swap to another replica (the turn ran again), by store backend.", []string{"backend"}, nil)
	storeRetries = prometheus.NewDesc("guidedfix_store_retries_total",
		"Session saves tried again after a failed or lost answer, by store backend.", []string{"backend"}, nil)
	storeAmbiguous = prometheus.NewDesc("guidedfix_store_ambiguous_commits_total",
		"Commits whose outcome was unknown (a timeout) until read back, by store backend.", []string{"backend"}, nil)
	storeSaveSeconds = prometheus.NewDesc("guidedfix_store_save_seconds_total",
		"Time spent in session saves; divided by guidedfix_store_saves_total it is the mean save latency, by store backend.", []string{"backend"}, nil)
)

// storeNames are the sample names of the store collector.
func storeNames() []string {
	return []string{"guidedfix_store_saves_total", "guidedfix_store_conflicts_total", "guidedfix_store_retries_total",
		"guidedfix_store_ambiguous_commits_total", "guidedfix_store_save_seconds_total"}
}

// storeCollector reads a store's StoreStats at each scrape.
type storeCollector struct {
	backend string
	stats   func() StoreStats
}

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{storeSaves, storeConflicts, storeRetries, storeAmbiguous, storeSaveSeconds} {
		ch <- d
	}
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(storeSaves, prometheus.CounterValue, float64(s.Saves), c.backend)
	ch <- prometheus.MustNewConstMetric(storeConflicts, prometheus.CounterValue, float64(s.Conflicts), c.backend)
	ch <- prometheus.MustNewConstMetric(storeRetries, prometheus.CounterValue, float64(s.Retries), c.backend)
	ch <- prometheus.MustNewConstMetric(storeAmbiguous, prometheus.CounterValue, float64(s.Ambiguous), c.backend)
	ch <- prometheus.MustNewConstMetric(storeSaveSeconds, prometheus.CounterValue, s.SaveTime.Seconds(), c.backend)
}

// AddStore exports the counters of a replicated session store (backend
// "etcd"), read at each scrape from stats: saves, conflicts, retries,
// ambiguous commits and save time (guidedfix_store_*). It panics when a
// store was added before (the registry refuses a second collector of the
// same metrics).
func (m *Metrics) AddStore(backend string, stats func() StoreStats) {
	m.reg.MustRegister(storeCollector{backend: backend, stats: stats})
	m.names = append(m.names, storeNames()...)
}
