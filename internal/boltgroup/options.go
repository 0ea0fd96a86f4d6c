package boltgroup

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// Options returns the bbolt options guidedfix opens its files with
// (sessions.db, portal.db, support.db): wait up to timeout (bbolt's
// Timeout; zero waits forever) for the file's lock held by another
// process, and do not write bbolt's freelist with every commit
// (NoFreelistSync, as etcd does). The array freelist stays: it reuses the
// lowest free page first, so a freed page (a hand-off token or grant
// that a session held until it was spent) is soon written over; the
// hashmap freelist left such pages as they were for longer. Each
// commit then writes one page fewer (BenchmarkSwitchFlowCore: 70 → 63
// pages per flow) and still fsyncs every data page and the meta page, so
// a committed write survives a crash as before; the freelist is rebuilt
// by scanning the file when it is opened (milliseconds at guidedfix's
// sizes), and a bbolt that syncs the freelist can open the file later.
func Options(timeout time.Duration) *bolt.Options {
	return &bolt.Options{Timeout: timeout, NoFreelistSync: true}
}
