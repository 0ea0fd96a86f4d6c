package store_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"guidedfix/internal/store"
)

// BenchmarkUserLocale measures the read a new session (and an answer
// without a session) costs for the user's remembered language, among
// 10,000 users.
func BenchmarkUserLocale(b *testing.B) {
	st, err := store.Open(store.Options{Path: filepath.Join(b.TempDir(), "sessions.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	for i := range 10000 {
		if i%2 == 0 {
			if err := st.SetUserLocale(ctx, "telegram", strconv.Itoa(i), "ms"); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := st.UserLocale(ctx, "telegram", strconv.Itoa(i%10000)); err != nil {
			b.Fatal(err)
		}
	}
}
