package store

import (
	"io"

	bolt "go.etcd.io/bbolt"

	"guidedfix/internal/boltgroup"
)

// DBStats returns bbolt's counters of the session database (transactions
// opened, pages, time spent writing); see [bolt.Stats]. Metrics read it.
func (b *Bolt) DBStats() bolt.Stats { return b.db.Stats() }

// WriteBackup writes a consistent copy of the whole session database to w
// in one read transaction (bbolt Tx.WriteTo), while other transactions go
// on. It returns the bytes written and the write's error.
func (b *Bolt) WriteBackup(w io.Writer) (int64, error) {
	var n int64
	err := b.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// CommitStats returns the group commit's counters since Open: durable
// commits of the session database and the writes (saves, processed update
// ids, held and released updates, deletions) they made durable; see
// [boltgroup.Stats]. Metrics read it.
func (b *Bolt) CommitStats() boltgroup.Stats { return b.writes.Stats() }
