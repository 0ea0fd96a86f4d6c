package store_test

import (
	"context"
	"testing"

	"guidedfix/internal/store"
)

// BenchmarkLoad measures Load of a session shaped like the engine's in
// the middle of a flow (fullSession), answered by the session cache
// (cached: a clone) or decoded from the stored bytes (uncached: the cache
// holds nothing). It reports the stored value's size.
func BenchmarkLoad(b *testing.B) {
	for _, bc := range []struct {
		name    string
		entries int
	}{{"cached", store.CacheEntries}, {"uncached", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			st, err := store.Open(store.Options{Path: dbPath(b)})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			store.SetCacheEntries(st, bc.entries)
			s := fullSession("bench")
			if err := st.Save(ctx, s, ""); err != nil {
				b.Fatal(err)
			}
			size := len(storedRaw(b, st, s.Conversation))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := st.Load(ctx, s.Conversation); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size), "stored-bytes")
		})
	}
}
