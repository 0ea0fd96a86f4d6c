package store_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

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
func BenchmarkSaveParallel(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(store.Options{Path: dbPath(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var next, total atomic.Int64
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

// BenchmarkSaveConcurrent1000 measures Saves from 1,000 goroutines, each on
// its own conversation: the load of 1,000 customers, where the group
// commit shares one fsync among the writes that queue up meanwhile.
func BenchmarkSaveConcurrent1000(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(store.Options{Path: dbPath(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var next, total atomic.Int64
	b.SetParallelism(1000 / max(1, runtime.GOMAXPROCS(0)))
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
