package etcdstore_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"guidedfix/internal/testkit"
)

// BenchmarkFlows runs whole flows (9 turns each, argon2id at testkit's
// cost of 1 MiB, t=1, one shared portal core in process) for 16
// concurrent customers: on one engine over bbolt (testkit's sessions.db,
// fsync'ed), and on three replicas over the three-member cluster, each
// turn to a random replica. It reports flows/s, turns/s and the turn
// latency p50/p99. The etcd members run without fsync in the test process
// (see startCluster); production etcd fsyncs every raft entry.
func BenchmarkFlows(b *testing.B) {
	b.Run("bbolt-1-engine", func(b *testing.B) { benchFlows(b, 0) })
	b.Run("etcd-3-replicas", func(b *testing.B) { benchFlows(b, 3) })
}

func benchFlows(b *testing.B, replicas int) {
	var f *fleet
	if replicas == 0 {
		f = &fleet{t: b, log: &chatLog{}}
		f.env = testkit.New(b, testkit.Options{})
		r := &replica{engine: f.env.Engine}
		r.engine.Register("telegram", deliverer{r, f.log})
		f.replicas = []*replica{r}
	} else {
		f = newFleet(b, sharedCluster, replicas, nil)
	}
	const parallel = 16
	customers := make([]*customer, b.N)
	for i := range customers {
		customers[i] = f.customer(i)
	}
	var mu sync.Mutex
	var lat []time.Duration
	next := 0
	errs := make(chan error, parallel)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for {
				mu.Lock()
				if next >= len(customers) {
					mu.Unlock()
					return
				}
				c := customers[next]
				next++
				mu.Unlock()
				c.timed = func(d time.Duration) { mu.Lock(); lat = append(lat, d); mu.Unlock() }
				if err := c.toDisable(); err != nil {
					errs <- err
					return
				}
				if err := c.finish(b, true); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	var saves int64
	var saveTime time.Duration
	for _, r := range f.replicas {
		if r.store != nil {
			st := r.store.Stats()
			saves, saveTime = saves+st.Saves, saveTime+st.SaveTime
		}
	}
	if saves > 0 {
		b.ReportMetric(float64(saves)/float64(len(lat)), "saves/turn")
		b.ReportMetric(float64(saveTime.Microseconds())/1000/float64(saves), "save-ms")
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "flows/s")
	b.ReportMetric(float64(len(lat))/el.Seconds(), "turns/s")
	b.ReportMetric(float64(q(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(q(0.99).Microseconds())/1000, "p99-ms")
}
