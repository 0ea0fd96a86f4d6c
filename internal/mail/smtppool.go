package mail

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wneessen/go-mail/smtp"
)

// errPoolBusy is returned (wrapped) by acquire when no connection slot
// became free within the wait.
var errPoolBusy = errors.New("all SMTP connections stayed busy")

// pooledConn is one open, authenticated SMTP session of a [connPool].
type pooledConn struct {
	client *smtp.Client
	// sent counts the messages the server accepted on this connection.
	sent int
	// idleSince is when the connection last went idle (pool clock).
	idleSince time.Time
}

// connPool holds the open SMTP sessions of one [SMTP] sender: a slot
// semaphore bounding the connections in use or idle, and the idle ones,
// most recently used last. It never dials itself; [SMTP.Send] does.
type connPool struct {
	// slots holds one token per connection that is in use or may be
	// opened; its capacity is SMTPConfig.MaxConnections. A Send holds a
	// token from before it takes or dials a connection until it has put
	// or discarded it, so open connections never exceed the capacity.
	slots chan struct{}
	// idleTimeout < 0: no connection is kept between messages.
	idleTimeout time.Duration
	maxMessages int
	// quitTimeout bounds the QUIT exchange when a connection is closed.
	quitTimeout time.Duration
	now         func() time.Time

	mu     sync.Mutex
	idle   []*pooledConn
	closed bool
	timer  *time.Timer // pending reap of idle connections; nil if none

	// dials counts the connections opened, reuses the messages given
	// an idle connection, retries the messages sent again on a new
	// connection after a reused one failed (for tests and diagnostics).
	dials, reuses, retries atomic.Int64
}

func newConnPool(cfg SMTPConfig, now func() time.Time) *connPool {
	return &connPool{
		slots:       make(chan struct{}, cfg.MaxConnections),
		idleTimeout: cfg.IdleTimeout,
		maxMessages: cfg.MaxMessagesPerConnection,
		quitTimeout: cfg.Timeout,
		now:         now,
	}
}

// acquire waits until a connection slot is free, ctx is done or wait has
// passed, and returns the function that frees the slot again.
func (p *connPool) acquire(ctx context.Context, wait time.Duration) (release func(), err error) {
	release = func() { <-p.slots }
	select {
	case p.slots <- struct{}{}:
		return release, nil
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, fmt.Errorf("%w for %s (%d open)", errPoolBusy, wait, cap(p.slots))
	}
}

// takeIdle returns the most recently used idle connection, or nil when
// there is none. Connections idle longer than the idle timeout (their
// timer may be late) are closed instead of returned, in the background
// so that a relay that stopped answering does not delay the message.
// The caller holds a slot.
func (p *connPool) takeIdle() *pooledConn {
	p.mu.Lock()
	var pc *pooledConn
	var stale []*pooledConn
	if n := len(p.idle); n > 0 {
		last := p.idle[n-1]
		if p.expired(last, p.now()) {
			// The most recent is the youngest: all of them are stale.
			stale, p.idle = p.idle, nil
		} else {
			pc = last
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
		}
	}
	p.mu.Unlock()
	if len(stale) > 0 {
		go p.quitAll(stale)
	}
	if pc != nil {
		p.reuses.Add(1)
	}
	return pc
}

// put returns pc, which just carried a message, to the idle list, or
// closes it when it has carried maxMessages, when connections are not
// kept or when the pool is closed. The caller still holds pc's slot.
func (p *connPool) put(pc *pooledConn) {
	pc.sent++
	p.mu.Lock()
	if p.closed || p.idleTimeout < 0 || pc.sent >= p.maxMessages {
		p.mu.Unlock()
		p.quit(pc)
		return
	}
	pc.idleSince = p.now()
	p.idle = append(p.idle, pc)
	if p.timer == nil {
		p.timer = time.AfterFunc(p.idleTimeout, p.reapIdle)
	}
	p.mu.Unlock()
}

// discard closes pc, which failed; it is never reused. It does not try
// QUIT: the session is in an unknown state.
func (p *connPool) discard(pc *pooledConn) {
	_ = pc.client.Close()
}

// expired reports whether pc, idle, has waited the idle timeout at now.
func (p *connPool) expired(pc *pooledConn, now time.Time) bool {
	return !now.Before(pc.idleSince.Add(p.idleTimeout))
}

// reapIdle closes the idle connections that have waited the idle
// timeout and, if some are left, schedules itself for when the oldest
// of them expires. It runs on the idle timer and in tests.
func (p *connPool) reapIdle() {
	p.mu.Lock()
	now := p.now()
	keep := p.idle[:0]
	var stale []*pooledConn
	for _, pc := range p.idle {
		if p.expired(pc, now) {
			stale = append(stale, pc)
		} else {
			keep = append(keep, pc)
		}
	}
	clear(p.idle[len(keep):])
	p.idle = keep
	p.timer = nil
	if len(keep) > 0 && !p.closed {
		// keep is in the order the connections went idle: oldest first.
		p.timer = time.AfterFunc(keep[0].idleSince.Add(p.idleTimeout).Sub(now), p.reapIdle)
	}
	p.mu.Unlock()
	p.quitAll(stale)
}

// close marks the pool closed and closes its idle connections, all at
// once, so that it returns within the quit timeout; the connections in
// use are closed by put when their message is done.
func (p *connPool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.mu.Unlock()
	p.quitAll(idle)
}

// quitAll quits the connections in parallel and returns when all are
// closed.
func (p *connPool) quitAll(conns []*pooledConn) {
	var wg sync.WaitGroup
	for _, pc := range conns {
		wg.Go(func() { p.quit(pc) })
	}
	wg.Wait()
}

// quit ends pc's session politely (QUIT, RFC 5321 §4.1.1.10) within the
// quit timeout and closes the connection whatever the answer.
func (p *connPool) quit(pc *pooledConn) {
	if err := pc.client.UpdateDeadline(p.quitTimeout); err == nil {
		if pc.client.Quit() == nil {
			return
		}
	}
	_ = pc.client.Close()
}

// idleCount returns the number of idle connections (for tests).
func (p *connPool) idleCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}
