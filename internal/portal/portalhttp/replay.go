package portalhttp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"

	"guidedfix/internal/portal"
)

// replayCache keeps, per Idempotency-Key, the first answer of
// an operation the core does not key itself (password and code checks,
// recovery codes, cancel), so that a client's retry after a lost answer
// gets it again instead of counting a second failure. Entries live ttl;
// they are in memory only (a server restart forgets them). The request is
// remembered as an HMAC under a per-process random key, never in clear.
type replayCache struct {
	ttl time.Duration
	now func() time.Time
	key []byte

	mu      sync.Mutex
	entries map[string]*replayEntry
	sweep   time.Time
}

type replayEntry struct {
	fp      [32]byte
	done    chan struct{}
	rp      reply
	expires time.Time
}

func newReplayCache(ttl time.Duration, now func() time.Time) *replayCache {
	k := make([]byte, 32)
	rand.Read(k)
	return &replayCache{ttl: ttl, now: now, key: k, entries: map[string]*replayEntry{}}
}

func (c *replayCache) fingerprint(parts []string) [32]byte {
	m := hmac.New(sha256.New, c.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	var fp [32]byte
	copy(fp[:], m.Sum(nil))
	return fp
}

// do returns the kept reply for id when its fingerprint matches,
// portal.ErrIdempotencyMismatch when it does not, and otherwise runs fn
// (concurrent calls with the same id wait for the first) and keeps its
// reply unless it is a 5xx. It returns ctx's error when ctx ends while
// waiting.
func (c *replayCache) do(ctx context.Context, id string, parts []string, fn func() reply) (reply, error) {
	fp := c.fingerprint(parts)
	for {
		now := c.now()
		c.mu.Lock()
		if now.After(c.sweep) {
			for k, e := range c.entries {
				if e.rp.status != 0 && now.After(e.expires) {
					delete(c.entries, k)
				}
			}
			c.sweep = now.Add(c.ttl / 4)
		}
		e, found := c.entries[id]
		if found && e.rp.status != 0 && now.After(e.expires) {
			delete(c.entries, id)
			found = false
		}
		if !found {
			e = &replayEntry{fp: fp, done: make(chan struct{})}
			c.entries[id] = e
			c.mu.Unlock()
			rp := fn()
			c.mu.Lock()
			if rp.status >= 500 {
				delete(c.entries, id)
			} else {
				e.rp, e.expires = rp, c.now().Add(c.ttl)
			}
			close(e.done)
			c.mu.Unlock()
			return rp, nil
		}
		c.mu.Unlock()
		if !hmac.Equal(e.fp[:], fp[:]) {
			return reply{}, portal.ErrIdempotencyMismatch
		}
		select {
		case <-e.done:
		case <-ctx.Done():
			return reply{}, ctx.Err()
		}
		c.mu.Lock()
		rp, kept := e.rp, c.entries[id] == e
		c.mu.Unlock()
		if kept {
			return rp, nil
		}
		// The first call failed with a 5xx and was dropped: run again.
	}
}
