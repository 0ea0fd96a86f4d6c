package store_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/internal/store"
)

// BenchmarkSave measures sequential Saves of one session whose deadline
// moves on every save (so the due index is rewritten too), each with an
// update id, fsync'ed.
func BenchmarkSave(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(store.Options{Path: dbPath(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := session("telegram", "bench", t0)
	n := 0
	b.ResetTimer()
	for b.Loop() {
		n++
		s.ExpiresAt = t0.Add(time.Duration(n) * time.Second)
		if err := st.Save(ctx, s, fmt.Sprint(n)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "saves/s")
}

// BenchmarkSaveParallel measures Saves from b.RunParallel goroutines, each
// on its own conversation.
func BenchmarkSaveParallel(b *testing.B) { parallelSaves(b, 1) }

// BenchmarkSaveConcurrent1000 measures Saves from 1,000 goroutines, each on
// its own conversation: the load of 1,000 customers, where the group
// commit shares one fsync among the writes that queue up meanwhile.
func BenchmarkSaveConcurrent1000(b *testing.B) {
	parallelSaves(b, 1000/max(1, runtime.GOMAXPROCS(0)))
}

// parallelSaves runs Saves from parallelism × GOMAXPROCS goroutines, each
// on its own conversation, and reports saves/s.
func parallelSaves(b *testing.B, parallelism int) {
	ctx := context.Background()
	st, err := store.Open(store.Options{Path: dbPath(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var next, total atomic.Int64
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := next.Add(1)
		s := session("telegram", fmt.Sprintf("bench-%d", id), t0)
		i := 0
		for pb.Next() {
			i++
			s.ExpiresAt = t0.Add(time.Duration(i) * time.Second)
			if err := st.Save(ctx, s, fmt.Sprintf("%d-%d", id, i)); err != nil {
				b.Error(err)
				return
			}
		}
		total.Add(int64(i))
	})
	b.ReportMetric(float64(total.Load())/b.Elapsed().Seconds(), "saves/s")
}

// BenchmarkHoldRelease measures what long polling adds per update: one
// sealed Hold of a getUpdates answer of batch updates (one fsync), then
// one Release per update (group-committed), from 8 pollers' worth of
// concurrent releases.
func BenchmarkHoldRelease(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			st, err := store.Open(store.Options{Path: dbPath(b), InboxKey: testInboxKey})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			raw := []byte(`{"update_id":1,"message":{"message_id":7,"chat":{"id":42,"type":"private"},"text":"alice@example.com"}}`)
			in := make([]bot.Inbound, batch)
			next := int64(0)
			updates := 0
			b.ResetTimer()
			for b.Loop() {
				for i := range in {
					next++
					in[i] = bot.Inbound{ID: next, Raw: raw}
				}
				if err := st.Hold(ctx, "telegram", in); err != nil {
					b.Fatal(err)
				}
				var wg sync.WaitGroup
				for _, u := range in {
					wg.Add(1)
					go func(id int64) {
						defer wg.Done()
						if err := st.Release(ctx, "telegram", id); err != nil {
							b.Error(err)
						}
					}(u.ID)
				}
				wg.Wait()
				updates += batch
			}
			b.ReportMetric(float64(updates)/b.Elapsed().Seconds(), "updates/s")
		})
	}
}
