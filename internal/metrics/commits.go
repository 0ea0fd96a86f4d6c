package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"guidedfix/internal/boltgroup"
)

var (
	commitWrites = prometheus.NewDesc("guidedfix_bolt_durable_writes_total",
		"Durable writes (each acknowledged only after its commit's fsync) through the group commit of a bbolt database (internal/boltgroup), by database.", []string{"db"}, nil)
	commitCommits = prometheus.NewDesc("guidedfix_bolt_commits_total",
		"Read-write transactions the group commit of a bbolt database committed (two fdatasyncs each); writes that arrived together share one, by database.", []string{"db"}, nil)
)

// commitNames are the sample names of the group-commit collector.
func commitNames() []string {
	return []string{"guidedfix_bolt_durable_writes_total", "guidedfix_bolt_commits_total"}
}

// commitCollector reads the boltgroup.Stats of each added database at
// each scrape.
type commitCollector struct {
	mu  sync.Mutex
	dbs map[string]func() boltgroup.Stats
}

func (c *commitCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- commitWrites
	ch <- commitCommits
}

func (c *commitCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for db, stats := range c.dbs {
		s := stats()
		ch <- prometheus.MustNewConstMetric(commitWrites, prometheus.CounterValue, float64(s.Writes), db)
		ch <- prometheus.MustNewConstMetric(commitCommits, prometheus.CounterValue, float64(s.Commits), db)
	}
}

// AddCommits exports the group commit's counters of the bbolt database
// named db ("portal", "sessions", "support"), read at each scrape from
// stats (boltgroup.Committer.Stats): guidedfix_bolt_durable_writes_total
// (writes acknowledged after their fsync) and guidedfix_bolt_commits_total
// (commits, each shared by the writes that arrived together). cmd/loadgen
// divides them by the completed flows. It panics when db was added before.
func (m *Metrics) AddCommits(db string, stats func() boltgroup.Stats) {
	m.commitsOnce.Do(func() {
		m.commits = &commitCollector{dbs: map[string]func() boltgroup.Stats{}}
		m.reg.MustRegister(m.commits)
		m.names = append(m.names, commitNames()...)
	})
	m.commits.mu.Lock()
	defer m.commits.mu.Unlock()
	if _, dup := m.commits.dbs[db]; dup {
		panic("metrics: group commit of database " + db + " added twice")
	}
	m.commits.dbs[db] = stats
}
