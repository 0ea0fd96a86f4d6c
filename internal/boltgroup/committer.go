// Package boltgroup is the group commit shared by guidedfix's bbolt files
// (the session store, the embedded portal core's portal.db and the support
// store's support.db): writes from any number of goroutines that arrive
// while a transaction is being committed go together into the next one, so
// that one commit (two fdatasyncs in bbolt) makes many of them durable.
//
// Guarantees: Write returns nil only once the transaction holding fn's
// writes is committed and fsync'ed (bbolt's NoSync is never set); a write
// whose function fails never fails the others it shared a transaction
// with (the group is committed again without it and it is run alone). The
// functions of one group run one after the other on one goroutine, in the
// order they arrived, so the group is equivalent to running them serially.
//
// Unlike bbolt's DB.Batch (which waits up to MaxBatchDelay for a batch to
// fill and re-runs a failed function alone in the same way), a write that
// finds the committer idle is committed at once: a lone customer pays no
// added latency.
package boltgroup

import (
	"errors"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"
)

// MaxGroup bounds how many writes share one transaction.
const MaxGroup = 512

// request is one write waiting for the committer.
type request struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// Committer is the group commit of one bbolt database. Create it with New
// after the database is open and stop it with Close before closing the
// database. Its methods are safe for concurrent use.
type Committer struct {
	db    *bolt.DB
	reqs  chan request
	stop  chan struct{}
	done  chan struct{}
	close sync.Once

	commits atomic.Uint64 // read-write transactions committed
	writes  atomic.Uint64 // writes acknowledged with nil
}

// New starts the committer of db (an open read-write bbolt database).
func New(db *bolt.DB) *Committer {
	c := &Committer{db: db, reqs: make(chan request), stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// Write runs fn in a read-write transaction, possibly shared with other
// writes, and returns once that transaction is committed (fsync'ed): nil,
// or fn's own error (its writes then rolled back), or bbolt's commit error.
// fn may run more than once (when another write of its group fails it is
// run again in the next transaction): it must not keep state outside tx
// between runs beyond results it overwrites on every run. After Close it
// returns bbolt's errors.ErrDatabaseNotOpen.
func (c *Committer) Write(fn func(*bolt.Tx) error) error {
	req := request{fn: fn, done: make(chan error, 1)}
	select {
	case c.reqs <- req:
	case <-c.stop:
		return bberrors.ErrDatabaseNotOpen
	}
	return <-req.done
}

// Close stops the committer after the writes already handed over; it
// returns at once when called again.
func (c *Committer) Close() {
	c.close.Do(func() { close(c.stop) })
	<-c.done
}

// Stats are a committer's counters since New.
type Stats struct {
	// Commits is how many read-write transactions were committed (each
	// is one durable commit: bbolt fdatasyncs twice per commit).
	Commits uint64
	// Writes is how many Write calls returned nil.
	Writes uint64
}

// Stats returns the counters since New.
func (c *Committer) Stats() Stats {
	return Stats{Commits: c.commits.Load(), Writes: c.writes.Load()}
}

func (c *Committer) run() {
	defer close(c.done)
	for {
		var first request
		select {
		case first = <-c.reqs:
		case <-c.stop:
			return
		}
		group := []request{first}
	gather:
		for len(group) < MaxGroup {
			select {
			case r := <-c.reqs:
				group = append(group, r)
			default:
				break gather
			}
		}
		c.commit(group)
	}
}

// errGroup aborts a shared transaction in which one write failed.
var errGroup = errors.New("boltgroup: a write of the group failed")

// commit runs the group's writes in one transaction. When the write at
// index i fails, the transaction is rolled back; the writes before and
// after it are committed again as a group (recursively, so a second
// failure is set aside the same way) and then write i runs alone, its own
// error (or success) being its answer. The result is a serial order of
// the group in which every write ran on the state its answer reflects.
func (c *Committer) commit(group []request) {
	failed := -1
	err := c.db.Update(func(tx *bolt.Tx) error {
		for i, r := range group {
			if err := r.fn(tx); err != nil {
				if len(group) == 1 {
					return err
				}
				failed = i
				return errGroup
			}
		}
		return nil
	})
	if failed < 0 || len(group) == 1 {
		if err == nil {
			c.commits.Add(1)
		}
		c.answer(group, err)
		return
	}
	rest := make([]request, 0, len(group)-1)
	rest = append(append(rest, group[:failed]...), group[failed+1:]...)
	c.commit(rest)
	c.commit(group[failed : failed+1])
}

// answer hands err to every write of group.
func (c *Committer) answer(group []request, err error) {
	if err == nil {
		c.writes.Add(uint64(len(group)))
	}
	for _, r := range group {
		r.done <- err
	}
}
