package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Compaction. etcd keeps every revision of every key until it is
// compacted, and it turns read-only ("etcdserver: mvcc: database space
// exceeded") once its backend reaches the quota (--quota-backend-bytes, 2
// GiB by default). A session store writes a revision per transition, so
// without compaction it stops after enough turns. Either the cluster
// compacts itself (--auto-compaction-mode=revision
// --auto-compaction-retention=10000, or periodic with a duration) and
// guidedfix runs with store.etcd.compact_every: -1, or the store compacts
// (the default: every 5 minutes down to the newest 10000 revisions).
// Compaction frees pages inside the backend file for reuse; only
// `etcdctl defrag` returns them to the file system.

// Compact compacts the cluster's history to its current revision minus
// retain (nothing when the history is shorter) and returns the revision
// it compacted to (0 for none). It fails for a closed store or an
// unreachable cluster; a revision already compacted is no error.
func (s *Store) Compact(ctx context.Context, retain int64) (int64, error) {
	if err := s.check(ctx, "compact"); err != nil {
		return 0, err
	}
	gctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(gctx, s.prefix+"s/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("etcdstore: compact: %w", err)
	}
	rev := resp.Header.Revision - retain
	if rev <= 0 {
		return 0, nil
	}
	if _, err := s.cli.Compact(gctx, rev); err != nil {
		if errors.Is(err, rpctypes.ErrCompacted) {
			return 0, nil
		}
		return 0, fmt.Errorf("etcdstore: compact to %d: %w", rev, err)
	}
	return rev, nil
}

func (s *Store) compactLoop(every time.Duration, retain int64) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if rev, err := s.Compact(context.Background(), retain); err != nil {
			s.log.Warn("etcd compaction failed", "err", err)
		} else if rev > 0 {
			s.log.Debug("etcd history compacted", "revision", rev)
		}
	}
}
