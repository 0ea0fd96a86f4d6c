package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/bbolt"
)

var (
	boltReadTx = prometheus.NewDesc("guidedfix_bolt_read_transactions_total",
		"Read transactions started on a bbolt database (Stats.TxN).", []string{"db"}, nil)
	boltOpenReadTx = prometheus.NewDesc("guidedfix_bolt_open_read_transactions",
		"Read transactions open now on a bbolt database (Stats.OpenTxN).", []string{"db"}, nil)
	boltPagesWritten = prometheus.NewDesc("guidedfix_bolt_pages_written_total",
		"Pages written by committed write transactions (TxStats.Write).", []string{"db"}, nil)
	boltWriteSeconds = prometheus.NewDesc("guidedfix_bolt_write_seconds_total",
		"Time committed write transactions spent writing to disk (TxStats.WriteTime).", []string{"db"}, nil)
	boltSpillSeconds = prometheus.NewDesc("guidedfix_bolt_spill_seconds_total",
		"Time committed write transactions spent spilling nodes (TxStats.SpillTime).", []string{"db"}, nil)
	boltRebalanceSeconds = prometheus.NewDesc("guidedfix_bolt_rebalance_seconds_total",
		"Time committed write transactions spent rebalancing (TxStats.RebalanceTime).", []string{"db"}, nil)
	boltFreePages = prometheus.NewDesc("guidedfix_bolt_free_pages",
		"Free pages on a bbolt database's freelist (Stats.FreePageN).", []string{"db"}, nil)
)

// boltNames are the sample names of the bbolt metrics.
func boltNames() []string {
	return []string{"guidedfix_bolt_read_transactions_total", "guidedfix_bolt_open_read_transactions",
		"guidedfix_bolt_pages_written_total", "guidedfix_bolt_write_seconds_total", "guidedfix_bolt_spill_seconds_total",
		"guidedfix_bolt_rebalance_seconds_total", "guidedfix_bolt_free_pages"}
}

// boltCollector reads the bbolt Stats of each added database at each
// scrape.
type boltCollector struct {
	mu  sync.Mutex
	dbs map[string]func() bbolt.Stats
}

func (c *boltCollector) add(db string, stats func() bbolt.Stats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.dbs[db]; dup {
		panic("metrics: bbolt database " + db + " added twice")
	}
	c.dbs[db] = stats
}

func (c *boltCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{boltReadTx, boltOpenReadTx, boltPagesWritten, boltWriteSeconds,
		boltSpillSeconds, boltRebalanceSeconds, boltFreePages} {
		ch <- d
	}
}

func (c *boltCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for db, stats := range c.dbs {
		collectBolt(ch, db, stats())
	}
}

func collectBolt(ch chan<- prometheus.Metric, db string, s bbolt.Stats) {
	tx := &s.TxStats
	ch <- prometheus.MustNewConstMetric(boltReadTx, prometheus.CounterValue, float64(s.TxN), db)
	ch <- prometheus.MustNewConstMetric(boltOpenReadTx, prometheus.GaugeValue, float64(s.OpenTxN), db)
	ch <- prometheus.MustNewConstMetric(boltPagesWritten, prometheus.CounterValue, float64(tx.GetWrite()), db)
	ch <- prometheus.MustNewConstMetric(boltWriteSeconds, prometheus.CounterValue, tx.GetWriteTime().Seconds(), db)
	ch <- prometheus.MustNewConstMetric(boltSpillSeconds, prometheus.CounterValue, tx.GetSpillTime().Seconds(), db)
	ch <- prometheus.MustNewConstMetric(boltRebalanceSeconds, prometheus.CounterValue, tx.GetRebalanceTime().Seconds(), db)
	ch <- prometheus.MustNewConstMetric(boltFreePages, prometheus.GaugeValue, float64(s.FreePageN), db)
}
