package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"guidedfix/internal/store"
	"guidedfix/internal/store/storetest"
)

func TestEntryTokens(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	clk := &clock{now: t0}
	b := storetest.Open(t, store.Options{Path: path, Now: clk.Now})
	h := sha256.Sum256([]byte("token-1"))
	if _, err := b.EntryToken(ctx, h[:]); !errors.Is(err, store.ErrNoEntryToken) {
		t.Fatalf("before any put: %v", err)
	}
	if err := b.PutEntryToken(ctx, h[:5], []byte("x"), t0.Add(time.Minute)); err == nil {
		t.Fatal("a short hash was accepted")
	}
	if err := b.PutEntryToken(ctx, h[:], []byte(`{"r":1}`), t0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for range 2 { // a look spends nothing
		if rec, err := b.EntryToken(ctx, h[:]); err != nil || string(rec) != `{"r":1}` {
			t.Fatalf("EntryToken = %q, %v", rec, err)
		}
	}
	// Of concurrent spends exactly one gets the record.
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := 0
	for range 8 {
		wg.Go(func() {
			rec, err := b.SpendEntryToken(ctx, h[:])
			switch {
			case err == nil && string(rec) == `{"r":1}`:
				mu.Lock()
				got++
				mu.Unlock()
			case !errors.Is(err, store.ErrNoEntryToken):
				t.Errorf("spend: %v", err)
			}
		})
	}
	wg.Wait()
	if got != 1 {
		t.Fatalf("%d spends got the record, want 1", got)
	}
	if _, err := b.EntryToken(ctx, h[:]); !errors.Is(err, store.ErrNoEntryToken) {
		t.Fatalf("after the spend: %v", err)
	}

	// Expiry: an expired record is neither shown nor spent, and the next
	// put removes it from the file.
	old := sha256.Sum256([]byte("token-old"))
	if err := b.PutEntryToken(ctx, old[:], []byte("old"), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(time.Minute))
	if _, err := b.EntryToken(ctx, old[:]); !errors.Is(err, store.ErrNoEntryToken) {
		t.Fatalf("expired record shown: %v", err)
	}
	fresh := sha256.Sum256([]byte("token-2"))
	if err := b.PutEntryToken(ctx, fresh[:], []byte("new"), t0.Add(11*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte("entry_tokens"))
		if bk == nil {
			t.Fatal("no entry_tokens bucket")
		}
		if n := bk.Stats().KeyN; n != 1 || bk.Get(fresh[:]) == nil {
			t.Fatalf("%d records, want only the fresh one", n)
		}
		// Only the hash is a key; no token is stored.
		return bk.ForEach(func(k, v []byte) error {
			if bytes.Contains(k, []byte("token")) || bytes.Contains(v, []byte("token")) {
				t.Fatal("a token is stored in clear")
			}
			return nil
		})
	})
}
