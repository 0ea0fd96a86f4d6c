package embedded

import (
	"io"

	"go.etcd.io/bbolt"

	"guidedfix/internal/boltgroup"
)

// DBStats returns bbolt's counters of the portal database (transactions
// opened, pages, time spent writing); see [bbolt.Stats]. Metrics read it.
func (c *Core) DBStats() bbolt.Stats { return c.db.Stats() }

// CommitStats returns the group commit's counters since Open: durable
// commits of portal.db and the writes they made durable (several writes
// share one commit under load); see [boltgroup.Stats].
func (c *Core) CommitStats() boltgroup.Stats { return c.writes.Stats() }

// WriteBackup writes a consistent copy of the whole portal database to w
// in one read transaction (bbolt Tx.WriteTo), while other transactions go
// on. The TOTP secrets in it stay sealed under the portal key, which is
// not part of the copy (portal.key in the data directory, or
// portal.key in the configuration). It returns the bytes written and the
// write's error.
func (c *Core) WriteBackup(w io.Writer) (int64, error) {
	var n int64
	err := c.db.View(func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}
