package etcdstore

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/client/v3/concurrency"

	"guidedfix/bot"
)

// ErrHeld is wrapped by Acquire's error when another process holds the
// lock.
var ErrHeld = errors.New("etcdstore: lock held by another guidedfix replica")

// session returns this process's lock session (one lease of LockTTL kept
// alive in the background), creating it on first use or after its lease
// was lost (a partition longer than the TTL).
func (s *Store) session() (*concurrency.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess != nil {
		select {
		case <-s.sess.Done():
			s.log.Warn("etcd lock lease lost; a new one is granted", "ttl_seconds", s.lockTTL)
			s.sess = nil
		default:
			return s.sess, nil
		}
	}
	sess, err := concurrency.NewSession(s.cli, concurrency.WithTTL(s.lockTTL))
	if err != nil {
		return nil, fmt.Errorf("etcdstore: lock lease: %w", err)
	}
	s.sess = sess
	return sess, nil
}

// LockTurn takes conversation c's turn lock across all replicas sharing
// the store (bot.TurnLocker): an etcd mutex held with this process's lease,
// so a replica that dies holding it loses it after LockTTL. With wait it
// blocks, in arrival order, until the lock is free or ctx ends; without,
// it returns ok false at once when another replica holds it. unlock
// releases it (best effort: a failed release expires with the lease). It
// fails for an invalid conversation, a closed store, an unreachable
// cluster or the end of ctx.
func (s *Store) LockTurn(ctx context.Context, c bot.Conversation, wait bool) (unlock func(), ok bool, err error) {
	if err := s.check(ctx, "lock turn"); err != nil {
		return nil, false, err
	}
	suffix, err := convSuffix(c)
	if err != nil {
		return nil, false, err
	}
	sess, err := s.session()
	if err != nil {
		return nil, false, err
	}
	m := concurrency.NewMutex(sess, s.prefix+"l/turn/"+suffix+"\x00")
	lctx, cancel := ctx, context.CancelFunc(func() {})
	if !wait {
		lctx, cancel = s.ctx(ctx)
	}
	if wait {
		err = m.Lock(lctx)
	} else {
		err = m.TryLock(lctx)
	}
	cancel()
	if errors.Is(err, concurrency.ErrLocked) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("etcdstore: lock turn %s: %w", c, err)
	}
	return func() {
		uctx, cancel := s.ctx(context.Background())
		defer cancel()
		if err := m.Unlock(uctx); err != nil && !s.closed.Load() {
			s.log.Warn("etcd turn lock not released; it expires with the lease", "conversation", c.String(), "err", err)
		}
	}, true, nil
}

// Acquire takes the process-wide lock name (e.g. "telegram-polling")
// without waiting, held until release is called or this process's lease
// expires (LockTTL after it died). It returns an error wrapping ErrHeld
// when another process holds it, and other errors for a closed store or an
// unreachable cluster. lost is closed when the lease behind the lock is
// lost (the lock may be taken by another replica from then on).
func (s *Store) Acquire(ctx context.Context, name string) (release func(), lost <-chan struct{}, err error) {
	if err := s.check(ctx, "acquire "+name); err != nil {
		return nil, nil, err
	}
	sess, err := s.session()
	if err != nil {
		return nil, nil, err
	}
	m := concurrency.NewMutex(sess, s.prefix+"l/proc/"+name)
	lctx, cancel := s.ctx(ctx)
	defer cancel()
	switch err := m.TryLock(lctx); {
	case errors.Is(err, concurrency.ErrLocked):
		return nil, nil, fmt.Errorf("%w: %q", ErrHeld, name)
	case err != nil:
		return nil, nil, fmt.Errorf("etcdstore: acquire %s: %w", name, err)
	}
	return func() {
		uctx, cancel := s.ctx(context.Background())
		defer cancel()
		_ = m.Unlock(uctx)
	}, sess.Done(), nil
}
