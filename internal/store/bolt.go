// Package store holds the session store implementations of bot.Store. Bolt,
// the default, keeps sessions in one bbolt file owned by one guidedfix
// process.
//
// On-disk format (stable; a change needs a migration):
//
//   - bucket "sessions": channel + "\x00" + conversation id → JSON of
//     bot.Session;
//   - bucket "due": 8-byte big-endian unix-nanos Session.Deadline() + the
//     sessions key → empty value; one entry per session with a non-zero
//     deadline, so the sweeper's query is a range scan;
//   - bucket "seen": channel + "\x00" + update id → 8-byte big-endian unix
//     nanos of when the update was recorded as processed;
//   - bucket "inbox": channel + "\x00" + 8-byte big-endian update id with
//     the sign bit flipped → 12-byte nonce + AES-256-GCM sealed raw JSON
//     of the update (Options.InboxKey; the key is the additional data), for
//     bot.Inbox: updates a transport confirmed before their turn ended.
//   - bucket "entry_tokens" (created by the first PutEntryToken): SHA-256
//     of an entry-page link's token → 8-byte big-endian unix-nanos expiry
//     followed by the entry package's JSON record (entry.go); never the
//     token.
//   - bucket "user_locales" (created by the first SetUserLocale):
//     channel + "\x00" + platform user id → the language tag the user
//     chose (bot.LocaleStore), ASCII (locale.go).
//
// Every write is fsync'ed before the call returns (NoSync is never set).
// Writes of concurrent callers share a transaction when they arrive while
// another commit is in progress (group commit: one fsync for many), and a
// write that fails never fails the others it shared a transaction with.
// Read transactions never outlive the call that opened them and values are
// copied out before they are used.
//
// Load and Save keep the sessions they last read or wrote decoded in
// memory (sessioncache.go, at most cacheEntries), keyed by the exact
// stored bytes: a value that changed in any other way is decoded again.
package store

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"guidedfix/bot"
	"guidedfix/internal/boltgroup"
)

// Defaults applied by Open to zero or negative Options fields.
const (
	// DefaultTimeout is how long Open waits for the file lock.
	DefaultTimeout = time.Second
	// DefaultSeenTTL is how long processed update ids are kept.
	DefaultSeenTTL = 7 * 24 * time.Hour
)

// Options configure Open.
type Options struct {
	// Path is the bbolt file, e.g. DATA/sessions.db. A missing file is
	// created with mode 0600 and a missing parent directory with mode 0700;
	// the mode of an existing file or directory is left alone. Required.
	Path string
	// Timeout is how long Open waits for the exclusive file lock held by
	// another open of the same file; zero or negative means DefaultTimeout
	// (1s). bbolt polls every 50ms and gives up about 50ms before Timeout.
	Timeout time.Duration
	// SeenTTL is how long a processed update id is kept before Prune may
	// remove it; zero or negative means DefaultSeenTTL (7 days).
	SeenTTL time.Duration
	// Now returns the current time, used to stamp processed update ids and
	// by Prune; nil means time.Now.
	Now func() time.Time
	// InboxKey is the 32-byte AES-256-GCM key that seals held updates
	// (Hold): a held update may be a message holding a password or a code,
	// which is never written in clear. Without it Hold and Held fail with
	// ErrNoInboxKey; Open fails for a key of another length.
	InboxKey []byte
}

// Bolt is a bot.Store on a bbolt file. It is safe for concurrent use; writes
// are serialised by bbolt and each one is durable when its call returns.
// Create it with Open and release it with Close.
type Bolt struct {
	db      *bolt.DB
	path    string
	seenTTL time.Duration
	now     func() time.Time
	writes  *boltgroup.Committer
	inbox   cipher.AEAD   // nil without Options.InboxKey
	cache   *sessionCache // decoded sessions by exact stored bytes (sessioncache.go)
}

var _ bot.Store = (*Bolt)(nil)

// Open opens or creates the session store at opts.Path and makes sure its
// buckets exist. Only one Bolt may have a file open at a time, in this or
// any other process: while another holds it, Open waits up to opts.Timeout
// and then returns an error that says "session store <path> is in use by
// another guidedfix process" and wraps bbolt's errors.ErrTimeout
// (errors.Is(err, errors.ErrTimeout) from go.etcd.io/bbolt/errors is true).
// It also fails for an empty Path, a parent directory it cannot create, or a
// file that is not a bbolt database.
func Open(opts Options) (*Bolt, error) {
	if opts.Path == "" {
		return nil, errors.New("store: Options.Path is empty")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.SeenTTL <= 0 {
		opts.SeenTTL = DefaultSeenTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var inbox cipher.AEAD
	if opts.InboxKey != nil {
		if len(opts.InboxKey) != 32 {
			return nil, fmt.Errorf("store: Options.InboxKey must be 32 bytes, got %d", len(opts.InboxKey))
		}
		block, err := aes.NewCipher(opts.InboxKey)
		if err != nil {
			return nil, fmt.Errorf("store: inbox key: %w", err)
		}
		if inbox, err = cipher.NewGCM(block); err != nil {
			return nil, fmt.Errorf("store: inbox key: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create directory of session store %s: %w", opts.Path, err)
	}
	db, err := bolt.Open(opts.Path, 0o600, boltgroup.Options(opts.Timeout))
	if err != nil {
		if errors.Is(err, bberrors.ErrTimeout) {
			return nil, fmt.Errorf("session store %s is in use by another guidedfix process (gave up after %v): %w",
				opts.Path, opts.Timeout, err)
		}
		return nil, fmt.Errorf("store: open session store %s: %w", opts.Path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{bucketSessions, bucketDue, bucketSeen, bucketInbox} {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return fmt.Errorf("bucket %q: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: initialise session store %s: %w", opts.Path, err)
	}
	return &Bolt{db: db, path: opts.Path, seenTTL: opts.SeenTTL, now: opts.Now, writes: boltgroup.New(db), inbox: inbox,
		cache: newSessionCache(cacheEntries)}, nil
}

// Load returns the session of conversation c, decoded from a copy of the
// stored bytes, or, when those bytes are exactly the ones Load or Save last
// saw under c, a deep copy (bot.Session.Clone) of the session decoded then
// (sessioncache.go): either way the caller owns what it gets. It returns an
// error wrapping bot.ErrNoSession when c has no session, and other errors
// for an invalid conversation (empty channel or id, NUL in the channel), a
// cancelled ctx, a closed store or a stored value that does not decode.
func (b *Bolt) Load(ctx context.Context, c bot.Conversation) (*bot.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: load %s: %w", c, err)
	}
	key, err := conversationKey(c)
	if err != nil {
		return nil, err
	}
	var raw []byte
	var hit *cached
	err = b.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket([]byte(bucketSessions)).Get(key)
		if v == nil {
			return nil
		}
		if e := b.cache.lookup(key, v); e != nil && e.session != nil {
			hit = e
			return nil
		}
		raw = bytes.Clone(v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: load %s: %w", c, err)
	}
	if hit != nil {
		b.cache.hits.Add(1)
		return hit.session.Clone(), nil
	}
	if raw == nil {
		return nil, fmt.Errorf("store: load %s: %w", c, bot.ErrNoSession)
	}
	s, err := decodeSession(key, raw)
	if err != nil {
		return nil, fmt.Errorf("store: load %s: %w", c, err)
	}
	b.cache.misses.Add(1)
	if !s.Done {
		b.cache.put(key, &cached{raw: raw, session: s.Clone(), version: s.Version, due: dueKey(s.Deadline(), key)}, true)
	}
	return s, nil
}

// Save writes s under s.Conversation in one transaction, if the stored
// version equals s.Version (0 when there is no stored session). The
// transaction also moves the session's due-index entry to s.Deadline()
// (removing it for a done session) and, when updateID is not empty, records
// (s.Conversation.Channel, updateID) as processed. Only after the
// transaction commits is s.Version incremented.
//
// It returns bot.ErrConflict, writing nothing and leaving s unchanged, when
// the stored version differs. It returns other errors, also with nothing
// written, for a nil s, an invalid conversation, a cancelled ctx, a closed
// store, a session that does not encode as JSON or a failed write.
//
// Inside the transaction the stored version and due key come from the
// session cache when the stored bytes are exactly the cached ones, and are
// decoded otherwise; after the commit the cache holds the bytes written and
// a clone of the session saved (sessioncache.go), so the next Load of c
// needs no decoding.
func (b *Bolt) Save(ctx context.Context, s *bot.Session, updateID string) error {
	if s == nil {
		return errors.New("store: save: nil session")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: save %s: %w", s.Conversation, err)
	}
	key, err := conversationKey(s.Conversation)
	if err != nil {
		return err
	}
	var updKey []byte
	if updateID != "" {
		if updKey, err = seenKey(s.Conversation.Channel, updateID); err != nil {
			return err
		}
	}
	next := s.Version + 1
	stored := *s
	stored.Version = next
	val, err := json.Marshal(&stored)
	if err != nil {
		return fmt.Errorf("store: save %s: encode: %w", s.Conversation, err)
	}
	newDue := dueKey(stored.Deadline(), key)
	recorded := putNanos(b.now())

	err = b.writes.Write(func(tx *bolt.Tx) error {
		sessions := tx.Bucket([]byte(bucketSessions))
		due := tx.Bucket([]byte(bucketDue))
		var current uint64
		var oldDue []byte
		if raw := sessions.Get(key); raw != nil {
			if e := b.cache.lookup(key, raw); e != nil {
				current, oldDue = e.version, e.due
			} else {
				old, err := decodeStamp(key, raw)
				if err != nil {
					return err
				}
				current = old.Version
				oldDue = dueKey(old.deadline(), key)
			}
		}
		if current != s.Version {
			return bot.ErrConflict
		}
		if oldDue != nil && !bytes.Equal(oldDue, newDue) {
			if err := due.Delete(oldDue); err != nil {
				return err
			}
		}
		if newDue != nil {
			if err := due.Put(newDue, nil); err != nil {
				return err
			}
		}
		if err := sessions.Put(key, val); err != nil {
			return err
		}
		if updKey != nil {
			return tx.Bucket([]byte(bucketSeen)).Put(updKey, recorded)
		}
		return nil
	})
	if errors.Is(err, bot.ErrConflict) {
		return bot.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: save %s: %w", s.Conversation, err)
	}
	s.Version = next
	b.cacheSaved(key, &stored, val, newDue)
	return nil
}

// cacheSaved records in the cache what Save just committed under key: val,
// the encoding of stored (whose Version is the new one), and its due key.
// The session is kept as a canonical clone of stored, or not at all when
// canonical refuses it (then only the stamp is kept, for the next Save); a
// done session is forgotten.
func (b *Bolt) cacheSaved(key []byte, stored *bot.Session, val, due []byte) {
	if stored.Done {
		b.cache.drop(key)
		return
	}
	e := &cached{raw: val, version: stored.Version, due: due}
	if c := stored.Clone(); canonical(c) {
		e.session = c
	}
	b.cache.put(key, e, false)
}

// MarkSeen records (channel, updateID) as processed at the store's current
// time, replacing an earlier record of the same pair. It fails for an empty
// or NUL-containing channel, an empty updateID, a cancelled ctx, a closed
// store or a failed write.
func (b *Bolt) MarkSeen(ctx context.Context, channel, updateID string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: mark seen: %w", err)
	}
	key, err := seenKey(channel, updateID)
	if err != nil {
		return err
	}
	recorded := putNanos(b.now())
	err = b.writes.Write(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketSeen)).Put(key, recorded)
	})
	if err != nil {
		return fmt.Errorf("store: mark seen: %w", err)
	}
	return nil
}

// Seen reports whether (channel, updateID) is recorded as processed, by Save
// or MarkSeen, and not yet removed by Prune. It fails for the arguments
// MarkSeen refuses, a cancelled ctx or a closed store.
func (b *Bolt) Seen(ctx context.Context, channel, updateID string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("store: seen: %w", err)
	}
	key, err := seenKey(channel, updateID)
	if err != nil {
		return false, err
	}
	var found bool
	err = b.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket([]byte(bucketSeen)).Get(key) != nil
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: seen: %w", err)
	}
	return found, nil
}

// Due returns up to limit conversations whose session is not done (or still
// has replies in its outbox) and whose Deadline is at or before now, earliest deadline first (ties in key order).
// A limit of zero or less returns no conversations. It fails for a cancelled
// ctx or a closed store.
func (b *Bolt) Due(ctx context.Context, now time.Time, limit int) ([]bot.Conversation, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: due: %w", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	end := nanos(now)
	var out []bot.Conversation
	err := b.db.View(func(tx *bolt.Tx) error {
		sessions := tx.Bucket([]byte(bucketSessions))
		c := tx.Bucket([]byte(bucketDue)).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			if len(k) <= 8 {
				continue // malformed entry; never written by Save
			}
			if binary.BigEndian.Uint64(k[:8]) > end {
				break
			}
			key := k[8:]
			conv, ok := parseConversationKey(key)
			if !ok {
				continue
			}
			// The index is kept in sync by Save and Delete; this check only
			// guards against a stale entry (missing or done session).
			raw := sessions.Get(key)
			if raw == nil {
				continue
			}
			var st struct {
				Done   bool              `json:"done"`
				Outbox []json.RawMessage `json:"outbox"`
			}
			if err := json.Unmarshal(raw, &st); err != nil || (st.Done && len(st.Outbox) == 0) {
				continue
			}
			out = append(out, conv)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: due: %w", err)
	}
	return out, nil
}

// Delete removes the session of c and its due-index entry in one
// transaction; deleting a missing session is no error. Processed update ids
// are kept. It fails for an invalid conversation, a cancelled ctx, a closed
// store, a stored value that does not decode or a failed write.
func (b *Bolt) Delete(ctx context.Context, c bot.Conversation) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: delete %s: %w", c, err)
	}
	key, err := conversationKey(c)
	if err != nil {
		return err
	}
	err = b.writes.Write(func(tx *bolt.Tx) error {
		sessions := tx.Bucket([]byte(bucketSessions))
		raw := sessions.Get(key)
		if raw == nil {
			return nil
		}
		var k []byte
		if e := b.cache.lookup(key, raw); e != nil {
			k = e.due
		} else {
			old, err := decodeStamp(key, raw)
			if err != nil {
				return err
			}
			k = dueKey(old.deadline(), key)
		}
		if k != nil {
			if err := tx.Bucket([]byte(bucketDue)).Delete(k); err != nil {
				return err
			}
		}
		return sessions.Delete(key)
	})
	b.cache.drop(key)
	if err != nil {
		return fmt.Errorf("store: delete %s: %w", c, err)
	}
	return nil
}

// Prune removes up to limit processed-update records older than SeenTTL,
// i.e. recorded strictly before Now() - SeenTTL, plus any record whose value
// is not an 8-byte time. A limit of zero or less means no limit. Sessions
// are never touched. It returns how many records it removed, and fails for
// a cancelled ctx, a closed store or a failed write.
//
// Candidates are collected in a read transaction and removed in a short
// write transaction that checks each record again, so a concurrent MarkSeen
// that refreshes a record keeps it.
func (b *Bolt) Prune(ctx context.Context, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("store: prune: %w", err)
	}
	cutoff := nanos(b.now().Add(-b.seenTTL))
	old := func(v []byte) bool { return len(v) != 8 || binary.BigEndian.Uint64(v) < cutoff }

	var keys [][]byte
	err := b.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte(bucketSeen)).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if limit > 0 && len(keys) >= limit {
				break
			}
			if old(v) {
				keys = append(keys, bytes.Clone(k))
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune: %w", err)
	}
	if len(keys) == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("store: prune: %w", err)
	}
	removed := 0
	err = b.db.Update(func(tx *bolt.Tx) error {
		seen := tx.Bucket([]byte(bucketSeen))
		for _, k := range keys {
			v := seen.Get(k)
			if v == nil || !old(v) {
				continue
			}
			if err := seen.Delete(k); err != nil {
				return err
			}
			removed++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune: %w", err)
	}
	return removed, nil
}

// Count returns the number of stored sessions, done ones included. It fails
// for a cancelled ctx or a closed store.
func (b *Bolt) Count(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("store: count: %w", err)
	}
	var n int
	err := b.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket([]byte(bucketSessions)).Stats().KeyN
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: count: %w", err)
	}
	return n, nil
}

// Close releases the file and its lock. Every other method fails after
// Close (with an error wrapping bbolt's errors.ErrDatabaseNotOpen); a second
// Close returns nil.
func (b *Bolt) Close() error {
	b.writes.Close()
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", b.path, err)
	}
	return nil
}

// decodeSession decodes a stored value and checks that it belongs under
// key. json.Unmarshal copies what it keeps, so raw may be tx memory.
func decodeSession(key, raw []byte) (*bot.Session, error) {
	var s bot.Session
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("decode session %q: %w", key, err)
	}
	if k, err := conversationKey(s.Conversation); err != nil || !bytes.Equal(k, key) {
		return nil, fmt.Errorf("decode session %q: stored conversation %s does not match its key", key, s.Conversation)
	}
	return &s, nil
}
