package store

import (
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"
)

// maxGroup bounds how many writes share one transaction.
const maxGroup = 512

// writeReq is one write waiting for the committer.
type writeReq struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// committer is the group commit of a Bolt: writes from any number of
// goroutines queue up while a transaction is being committed and go
// together into the next one, so that one fsync makes many of them
// durable. Unlike bbolt's DB.Batch it never waits for a batch to fill: a
// write that finds the committer idle is committed at once.
type committer struct {
	db    *bolt.DB
	reqs  chan writeReq
	stop  chan struct{}
	done  chan struct{}
	close sync.Once
}

func newCommitter(db *bolt.DB) *committer {
	c := &committer{db: db, reqs: make(chan writeReq), stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// write runs fn in a read-write transaction, possibly shared with other
// writes, and returns once that transaction is committed (fsync'ed) or
// failed. fn may be run twice (see commit): it must not keep state
// outside tx between runs. After shutdown it returns
// bberrors.ErrDatabaseNotOpen.
func (c *committer) write(fn func(*bolt.Tx) error) error {
	req := writeReq{fn: fn, done: make(chan error, 1)}
	select {
	case c.reqs <- req:
	case <-c.stop:
		return bberrors.ErrDatabaseNotOpen
	}
	return <-req.done
}

// shutdown stops the committer after the writes already handed over; it
// returns at once when called again.
func (c *committer) shutdown() {
	c.close.Do(func() { close(c.stop) })
	<-c.done
}

func (c *committer) run() {
	defer close(c.done)
	for {
		var first writeReq
		select {
		case first = <-c.reqs:
		case <-c.stop:
			return
		}
		group := []writeReq{first}
	gather:
		for len(group) < maxGroup {
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
var errGroup = errors.New("store: a write of the group failed")

// commit runs the group's writes in one transaction. If one of them fails
// the transaction is rolled back and each write runs again alone, so that
// one write's error (a compare-and-swap conflict) never fails another.
func (c *committer) commit(group []writeReq) {
	err := c.db.Update(func(tx *bolt.Tx) error {
		for _, r := range group {
			if err := r.fn(tx); err != nil {
				if len(group) == 1 {
					return err
				}
				return errGroup
			}
		}
		return nil
	})
	if err == nil || len(group) == 1 {
		for _, r := range group {
			r.done <- err
		}
		return
	}
	for _, r := range group {
		r.done <- c.db.Update(r.fn)
	}
}
