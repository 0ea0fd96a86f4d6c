package support

import (
	"io"

	"go.etcd.io/bbolt"

	"guidedfix/internal/boltgroup"
)

// DBStats returns bbolt's counters of the support database (transactions
// opened, pages, time spent writing); see [bbolt.Stats]. Metrics read it.
func (s *Store) DBStats() bbolt.Stats { return s.db.Stats() }

// CommitStats returns the group commit's counters since Open: durable
// commits of support.db and the writes they made durable; see
// [boltgroup.Stats].
func (s *Store) CommitStats() boltgroup.Stats { return s.writes.Stats() }

// WriteBackup writes a consistent copy of the whole support database to w
// in one read transaction (bbolt Tx.WriteTo), while other transactions go
// on. It returns the bytes written and the write's error.
func (s *Store) WriteBackup(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}
