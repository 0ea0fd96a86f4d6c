package store

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"guidedfix/bot"
)

// cacheEntries is how many sessions a Bolt keeps decoded in memory at
// most (sessionCache). 1,024 entries hold the active sessions of more
// than 500 customers at once, and cost about 3-4 KiB each (the stored
// bytes plus the decoded session), so at most about 4 MiB of heap however
// many sessions sit idle in the file.
const cacheEntries = 1024

// cached is what the cache knows about the session stored under one key.
// It is immutable once published: readers compare raw and clone session
// without holding the cache's lock.
type cached struct {
	// raw is the exact stored value. The entry is used only while the
	// stored value is byte-for-byte raw, so an entry that a write path
	// forgot to update can only miss, never answer wrongly.
	raw []byte
	// session is what decodeSession returns for raw, never handed out
	// (Load returns a clone), or nil when only the stamp is known (a
	// session Save could not prove to equal its JSON round trip; see
	// canonical).
	session *bot.Session
	// version and due are the stamp of raw: the stored Version and
	// dueKey(Deadline(), key) (nil when the session has no deadline).
	version uint64
	due     []byte
}

// cacheNode is an entry of the cache's recency list.
type cacheNode struct {
	key        string
	val        *cached
	prev, next *cacheNode
}

// sessionCache maps a sessions-bucket key to the last value Load or Save
// saw stored under it, decoded, least recently used entries dropped above
// max. Done sessions are not kept (they are rarely read again). Safe for
// concurrent use: Load calls it from any goroutine, Save's transaction
// function from the group committer's.
type sessionCache struct {
	max int

	mu   sync.Mutex
	m    map[string]*cacheNode
	head cacheNode // head.next is the most recently used, head.prev the least

	hits, misses atomic.Uint64 // Load answers from the cache / decoded
}

func newSessionCache(max int) *sessionCache {
	c := &sessionCache{max: max, m: make(map[string]*cacheNode, max)}
	c.head.next, c.head.prev = &c.head, &c.head
	return c
}

// get returns the entry of key, or nil, and marks it recently used.
func (c *sessionCache) get(key []byte) *cached {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.m[string(key)]
	if n == nil {
		return nil
	}
	c.unlink(n)
	c.pushFront(n)
	return n.val
}

// lookup returns the entry of key when its raw bytes are exactly stored,
// else nil. stored may be transaction memory: it is only compared.
func (c *sessionCache) lookup(key, stored []byte) *cached {
	if e := c.get(key); e != nil && bytes.Equal(e.raw, stored) {
		return e
	}
	return nil
}

// put makes e the entry of key. With onlyNewer an existing entry of a
// higher version is kept (a Load that read an older value than a
// concurrent Save wrote must not replace what the Save cached). The least
// recently used entries are dropped above max.
func (c *sessionCache) put(key []byte, e *cached, onlyNewer bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.m[string(key)]; n != nil {
		if onlyNewer && n.val.version > e.version {
			return
		}
		n.val = e
		c.unlink(n)
		c.pushFront(n)
		return
	}
	n := &cacheNode{key: string(key), val: e}
	c.m[n.key] = n
	c.pushFront(n)
	for len(c.m) > c.max {
		old := c.head.prev
		c.unlink(old)
		delete(c.m, old.key)
	}
}

// drop forgets key.
func (c *sessionCache) drop(key []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.m[string(key)]; n != nil {
		c.unlink(n)
		delete(c.m, n.key)
	}
}

// len returns the number of entries.
func (c *sessionCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

func (c *sessionCache) unlink(n *cacheNode) {
	n.prev.next, n.next.prev = n.next, n.prev
	n.prev, n.next = nil, nil
}

func (c *sessionCache) pushFront(n *cacheNode) {
	n.prev, n.next = &c.head, c.head.next
	c.head.next.prev = n
	c.head.next = n
}

// canonical turns s (a clone Save made of the session it just encoded) into
// what decoding that encoding gives, and reports whether it could: empty
// maps and slices become nil (every one of them is omitempty, so the JSON
// drops them), and it returns false, leaving the caller to cache only the
// stamp, when the JSON round trip would change a value in a way it does not
// undo here: a time that is not in UTC or carries a monotonic clock
// reading, a string that is not valid UTF-8 (encoding/json replaces the
// bytes with U+FFFD) or Data that json.Marshal would compact or escape.
// TestCacheMatchesDecode fills every field by reflection and fails when a
// field added to bot.Session or bot.Pending needs handling here.
func canonical(s *bot.Session) bool {
	for _, t := range [...]time.Time{s.IssuedAt, s.UpdatedAt, s.ExpiresAt, s.WakeAt} {
		if t.Location() != time.UTC || t != t.Round(0) {
			return false
		}
	}
	if !utf8Strings(s.ID, s.Conversation.Channel, s.Conversation.ID, s.UserID, s.Flow, string(s.State),
		string(s.Expect), s.Locale, s.Agent, string(s.HeldExpect), s.Update) ||
		!utf8Slice(s.Offered) || !utf8Map(s.Tags) || !utf8Map(s.Messages) {
		return false
	}
	if p := s.PendingStart; p != nil && !utf8Strings(string(p.Kind), p.Command, p.Payload, p.Email) {
		return false
	}
	if !canonicalJSON(s.Data) {
		return false
	}
	for i := range s.Outbox {
		p := &s.Outbox[i]
		if !utf8Strings(string(p.Op), p.ID, p.Text, p.QR, string(p.Secret), p.Ref, p.MessageID) || !utf8Slice(p.Code) {
			return false
		}
		for _, b := range p.Buttons {
			if !utf8Strings(b.Label, b.Data) {
				return false
			}
		}
		if len(p.Buttons) == 0 {
			p.Buttons = nil
		}
		if len(p.Image) == 0 {
			p.Image = nil
		}
		if len(p.Code) == 0 {
			p.Code = nil
		}
	}
	if len(s.Offered) == 0 {
		s.Offered = nil
	}
	if len(s.Tags) == 0 {
		s.Tags = nil
	}
	if len(s.Messages) == 0 {
		s.Messages = nil
	}
	if len(s.Outbox) == 0 {
		s.Outbox = nil
	}
	if len(s.Data) == 0 {
		s.Data = nil
	}
	return true
}

func utf8Strings(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

func utf8Slice(ss []string) bool { return utf8Strings(ss...) }

func utf8Map(m map[string]string) bool {
	for k, v := range m {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// canonicalJSON reports whether json.Marshal writes the valid JSON data
// (a json.RawMessage) unchanged: no whitespace outside strings (Marshal
// compacts it) and no '<', '>', '&', U+2028 or U+2029 (Marshal escapes
// them).
func canonicalJSON(data []byte) bool {
	if bytes.ContainsAny(data, "<>&\u2028\u2029") {
		return false
	}
	in, esc := false, false
	for _, c := range data {
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}
