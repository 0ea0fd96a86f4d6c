package boltgroup

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestOptionsFreelistNotWritten: a commit under Options writes exactly one
// page fewer than the same commit under bbolt's defaults (the freelist
// page), and the file keeps every committed key when it is reopened
// under Options and under bbolt's defaults (a bbolt that syncs the
// freelist), with its free pages found again.
func TestOptionsFreelistNotWritten(t *testing.T) {
	dir := t.TempDir()
	pagesPerCommit := func(path string, opts *bolt.Options) int {
		db, err := bolt.Open(path, 0o600, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(bucket); return err }); err != nil {
			t.Fatal(err)
		}
		for i := range 50 { // leaves free pages behind
			if err := db.Update(put(fmt.Sprintf("warm-%03d", i))); err != nil {
				t.Fatal(err)
			}
		}
		st := db.Stats()
		before := st.TxStats.GetWrite()
		if err := db.Update(put("measured")); err != nil {
			t.Fatal(err)
		}
		st = db.Stats()
		return int(st.TxStats.GetWrite() - before)
	}
	ours := filepath.Join(dir, "ours.db")
	got, base := pagesPerCommit(ours, Options(time.Second)), pagesPerCommit(filepath.Join(dir, "default.db"), &bolt.Options{Timeout: time.Second})
	if got != base-1 {
		t.Fatalf("pages written by one commit: %d under Options, %d under the defaults; want one fewer", got, base)
	}
	for _, opts := range []*bolt.Options{Options(time.Second), {Timeout: time.Second}} {
		db, err := bolt.Open(ours, 0o600, opts)
		if err != nil {
			t.Fatal(err)
		}
		err = db.View(func(tx *bolt.Tx) error {
			if n := tx.Bucket(bucket).Stats().KeyN; n != 51 {
				return fmt.Errorf("%d keys, want 51", n)
			}
			return nil
		})
		free := db.Stats().FreePageN
		db.Close()
		if err != nil {
			t.Fatalf("reopened with %+v: %v", opts, err)
		}
		if free == 0 {
			t.Fatalf("reopened with NoFreelistSync=%t: no free pages found, want the freed ones", opts.NoFreelistSync)
		}
	}
}
