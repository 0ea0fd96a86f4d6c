// Package etcdstore is the bot.Store (and bot.Inbox, bot.TurnLocker) of
// guidedfix on an etcd cluster, for operators who run several guidedfix
// replicas behind a load balancer. bbolt (package store) stays the default
// for a single process.
//
// Key layout under Options.Prefix (P, default "/guidedfix/"), stable:
//
//   - P + "s/" + channel + "\x00" + conversation id → JSON envelope
//     {"turn": random token of the Save that wrote it, "update": its update
//     id, "session": bot.Session}; one key per conversation;
//   - P + "d/" + 16 hex digits of the unix nanos of Session.Deadline() +
//     "/" + the session key suffix → empty; the due index, one entry per
//     session with a non-zero deadline, so Due is one range read;
//   - P + "u/" + channel + "\x00" + update id → 8-byte big-endian unix
//     nanos; processed update ids, attached to a lease that expires them
//     (Options.SeenTTL, no Prune needed);
//   - P + "i/" + channel + "\x00" + 8-byte id with the sign bit flipped →
//     AES-256-GCM sealed update (bot.Inbox), exactly as package store seals
//     it;
//   - P + "p/" + channel + "\x00" + platform user id → the language tag
//     the user chose (bot.LocaleStore, locale.go), without a lease;
//   - P + "l/" + name → etcd mutex keys (go.etcd.io/etcd/client/v3/concurrency)
//     held with this process's session lease: the turn lock of each
//     conversation (LockTurn) and the Telegram long-polling lock (Acquire).
//
// Every Save is one etcd transaction: it compares the session key's mod
// revision with the one this process last read and, if equal, writes the
// session, moves its due entry and records the update id together. A
// transaction that fails because of a timeout or a lost connection may
// still have been applied: Save then reads the key again and counts it a
// success when the stored envelope carries its own turn token.
package etcdstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"

	"guidedfix/bot"
)

// Defaults applied by Open to zero Options fields.
const (
	// DefaultPrefix is the key prefix of every key the store writes.
	DefaultPrefix = "/guidedfix/"
	// DefaultDialTimeout bounds the first connection to the cluster.
	DefaultDialTimeout = 5 * time.Second
	// DefaultRequestTimeout bounds each etcd request.
	DefaultRequestTimeout = 5 * time.Second
	// DefaultSeenTTL is how long processed update ids are kept at least.
	DefaultSeenTTL = 7 * 24 * time.Hour
	// DefaultLockTTL is the TTL of this process's lock lease: how long a
	// conversation's turn lock (and the polling lock) outlives a replica
	// that died holding it.
	DefaultLockTTL = 10 * time.Second
	// DefaultCompactEvery is how often the store compacts the cluster's
	// history (Options.CompactEvery).
	DefaultCompactEvery = 5 * time.Minute
	// DefaultCompactRetain is how many revisions a compaction keeps.
	DefaultCompactRetain = 10000
)

// Options configure Open.
type Options struct {
	// Endpoints are the cluster's client URLs, e.g.
	// "https://etcd-1:2379". Required (or Client).
	Endpoints []string
	// TLS, if not nil, is used for the client connections (client
	// certificate and CA; see TLSConfig).
	TLS *tls.Config
	// Username and Password, if set, authenticate to etcd (etcd RBAC).
	Username, Password string
	// Client, if not nil, is used instead of dialling Endpoints; the store
	// does not close it.
	Client *clientv3.Client
	// Prefix is put before every key; default DefaultPrefix. Two
	// deployments sharing a cluster use different prefixes.
	Prefix string
	// DialTimeout bounds the first connection; default 5 s.
	DialTimeout time.Duration
	// RequestTimeout bounds each request to etcd; default 5 s.
	RequestTimeout time.Duration
	// SeenTTL is how long a processed update id is kept at least (it is
	// kept at most SeenTTL plus an eighth of it); default 7 days.
	SeenTTL time.Duration
	// LockTTL is the TTL, rounded up to whole seconds, of the lease that
	// holds this process's locks; default 10 s. etcd raises a TTL below
	// its minimum (1.5 election timeouts) to that minimum.
	LockTTL time.Duration
	// CompactEvery is how often the store compacts etcd's history down
	// to the newest CompactRetain revisions; default 5 minutes, negative
	// turns the store's compactor off (when the cluster runs its own
	// --auto-compaction-mode). Every replica may compact; compacting to
	// a revision already compacted is harmless.
	CompactEvery time.Duration
	// CompactRetain is how many revisions a compaction keeps; default
	// 10000.
	CompactRetain int64
	// Now stamps processed update ids; default time.Now.
	Now func() time.Time
	// InboxKey is the 32-byte AES-256-GCM key that seals held updates; as
	// for store.Options.InboxKey.
	InboxKey []byte
	// Logger receives operator logs (compaction, lost leases); default
	// slog.Default().
	Logger *slog.Logger
}

// Store is a bot.Store, bot.Inbox and bot.TurnLocker on etcd. It is safe
// for concurrent use by any number of goroutines and processes sharing the
// prefix. Create it with Open and release it with Close.
type Store struct {
	cli     *clientv3.Client
	ownCli  bool
	prefix  string
	reqTO   time.Duration
	seenTTL time.Duration
	lockTTL int
	now     func() time.Time
	log     *slog.Logger
	inbox   cipher.AEAD

	mu       sync.Mutex
	revs     map[string]cached // session key → what this process last read
	lease    clientv3.LeaseID  // current lease of seen keys
	leaseAt  time.Time
	sess     *concurrency.Session // lock lease, created on first use
	closed   atomic.Bool
	stop     chan struct{}
	wg       sync.WaitGroup
	closeErr error
	once     sync.Once

	stats Stats
}

// cached is a session key's state as this process last read or wrote it.
type cached struct {
	version uint64
	modRev  int64
	due     string // due index key, "" when none
}

// envelope is the stored value of a session key.
type envelope struct {
	Turn    string          `json:"turn"`
	Update  string          `json:"update,omitempty"`
	Session json.RawMessage `json:"session"`
}

// Stats holds the store's counters since Open (Store.Stats returns a
// copy), for the operations metrics: store latency and conflict counts.
type Stats struct {
	saves, conflicts, retries, ambiguous atomic.Int64
	saveNanos                            atomic.Int64
}

// StatsSnapshot is a copy of Stats.
type StatsSnapshot struct {
	// Saves is the number of successful Saves.
	Saves int64
	// Conflicts is the number of Saves that returned bot.ErrConflict.
	Conflicts int64
	// Retries is the number of transactions sent again because the
	// revision this process had cached was stale but the version equal.
	Retries int64
	// Ambiguous is the number of transactions whose outcome had to be read
	// back after a timeout or a lost connection.
	Ambiguous int64
	// SaveTime is the total time spent in Save.
	SaveTime time.Duration
}

// Stats returns a copy of the counters of s since Open.
func (s *Store) Stats() StatsSnapshot {
	return StatsSnapshot{
		Saves: s.stats.saves.Load(), Conflicts: s.stats.conflicts.Load(), Retries: s.stats.retries.Load(),
		Ambiguous: s.stats.ambiguous.Load(), SaveTime: time.Duration(s.stats.saveNanos.Load()),
	}
}

var (
	_ bot.Store      = (*Store)(nil)
	_ bot.Inbox      = (*Store)(nil)
	_ bot.TurnLocker = (*Store)(nil)
)

// ErrClosed is wrapped by the errors of every call after Close.
var ErrClosed = errors.New("etcdstore: store is closed")

// errBadKey is wrapped by the errors for an invalid channel or id.
var errBadKey = errors.New("etcdstore: invalid key")

// Open connects to the cluster (or uses opts.Client) and returns the store.
// It fails for no endpoints, a bad InboxKey length, or a cluster that does
// not answer a status request within DialTimeout (the error names the
// endpoints).
func Open(opts Options) (*Store, error) {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.SeenTTL <= 0 {
		opts.SeenTTL = DefaultSeenTTL
	}
	if opts.LockTTL <= 0 {
		opts.LockTTL = DefaultLockTTL
	}
	if opts.CompactEvery == 0 {
		opts.CompactEvery = DefaultCompactEvery
	}
	if opts.CompactRetain <= 0 {
		opts.CompactRetain = DefaultCompactRetain
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Store{
		prefix: opts.Prefix, reqTO: opts.RequestTimeout, seenTTL: opts.SeenTTL,
		lockTTL: int((opts.LockTTL + time.Second - 1) / time.Second), now: opts.Now, log: opts.Logger,
		revs: map[string]cached{}, stop: make(chan struct{}),
	}
	if opts.InboxKey != nil {
		if len(opts.InboxKey) != 32 {
			return nil, fmt.Errorf("etcdstore: Options.InboxKey must be 32 bytes, got %d", len(opts.InboxKey))
		}
		block, err := aes.NewCipher(opts.InboxKey)
		if err != nil {
			return nil, fmt.Errorf("etcdstore: inbox key: %w", err)
		}
		if s.inbox, err = cipher.NewGCM(block); err != nil {
			return nil, fmt.Errorf("etcdstore: inbox key: %w", err)
		}
	}
	s.cli = opts.Client
	if s.cli == nil {
		if len(opts.Endpoints) == 0 {
			return nil, errors.New("etcdstore: no endpoints (store.etcd.endpoints)")
		}
		cli, err := clientv3.New(clientv3.Config{
			Endpoints: opts.Endpoints, DialTimeout: opts.DialTimeout, TLS: opts.TLS,
			Username: opts.Username, Password: opts.Password, Logger: zap.NewNop(),
			DialKeepAliveTime: 10 * time.Second, DialKeepAliveTimeout: 5 * time.Second,
		})
		if err != nil {
			return nil, fmt.Errorf("etcdstore: connect to %s: %w", strings.Join(opts.Endpoints, ","), err)
		}
		s.cli, s.ownCli = cli, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.DialTimeout)
	defer cancel()
	// A linearizable read proves that a quorum answers.
	if _, err := s.cli.Get(ctx, s.prefix+"s/", clientv3.WithCountOnly(), clientv3.WithPrefix()); err != nil {
		if s.ownCli {
			_ = s.cli.Close()
		}
		return nil, fmt.Errorf("etcdstore: etcd cluster %s does not answer: %w", strings.Join(s.cli.Endpoints(), ","), err)
	}
	if opts.CompactEvery > 0 {
		s.wg.Add(1)
		go s.compactLoop(opts.CompactEvery, opts.CompactRetain)
	}
	return s, nil
}

// Client returns the etcd client the store uses (the one dialled by Open,
// or Options.Client).
func (s *Store) Client() *clientv3.Client { return s.cli }

// Prefix returns the store's key prefix, e.g. "/guidedfix/".
func (s *Store) Prefix() string { return s.prefix }

func checkChannel(channel string) error {
	if channel == "" {
		return fmt.Errorf("%w: empty channel", errBadKey)
	}
	if strings.Contains(channel, "\x00") {
		return fmt.Errorf("%w: channel %q contains NUL", errBadKey, channel)
	}
	return nil
}

func convSuffix(c bot.Conversation) (string, error) {
	if err := checkChannel(c.Channel); err != nil {
		return "", err
	}
	if c.ID == "" {
		return "", fmt.Errorf("%w: empty conversation id on channel %q", errBadKey, c.Channel)
	}
	return c.Channel + "\x00" + c.ID, nil
}

func (s *Store) sessionKey(suffix string) string { return s.prefix + "s/" + suffix }

// dueKey returns the due index key for deadline d of the session with key
// suffix, or "" for a zero deadline.
func (s *Store) dueKey(d time.Time, suffix string) string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%sd/%016x/%s", s.prefix, nanos(d), suffix)
}

func nanos(t time.Time) uint64 {
	if t.Before(time.Unix(0, 0)) {
		return 0
	}
	if t.After(time.Unix(0, 1<<63-1)) {
		return 1<<63 - 1
	}
	return uint64(t.UnixNano())
}

func (s *Store) seenKey(channel, updateID string) (string, error) {
	if err := checkChannel(channel); err != nil {
		return "", err
	}
	if updateID == "" {
		return "", fmt.Errorf("%w: empty update id on channel %q", errBadKey, channel)
	}
	return s.prefix + "u/" + channel + "\x00" + updateID, nil
}

func (s *Store) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.reqTO)
}

func (s *Store) check(ctx context.Context, op string) error {
	if s.closed.Load() {
		return fmt.Errorf("etcdstore: %s: %w", op, ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("etcdstore: %s: %w", op, err)
	}
	return nil
}

// decode parses a stored envelope of the session key suffix and returns
// the envelope and its session.
func decode(suffix string, raw []byte) (envelope, *bot.Session, error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return env, nil, fmt.Errorf("decode session %q: %w", suffix, err)
	}
	var ss bot.Session
	if err := json.Unmarshal(env.Session, &ss); err != nil {
		return env, nil, fmt.Errorf("decode session %q: %w", suffix, err)
	}
	if k, err := convSuffix(ss.Conversation); err != nil || k != suffix {
		return env, nil, fmt.Errorf("decode session %q: stored conversation %s does not match its key", suffix, ss.Conversation)
	}
	return env, &ss, nil
}

// remember caches what a read or write of suffix saw.
func (s *Store) remember(suffix string, ss *bot.Session, modRev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss == nil {
		delete(s.revs, suffix)
		return
	}
	if len(s.revs) > 100000 {
		clear(s.revs) // a cache only: a miss costs one read
	}
	s.revs[suffix] = cached{version: ss.Version, modRev: modRev, due: s.dueKey(ss.Deadline(), suffix)}
}

// read returns the current state of suffix from etcd (version 0 and mod
// revision 0 when missing) and caches it.
func (s *Store) read(ctx context.Context, suffix string) (cached, envelope, error) {
	rctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(rctx, s.sessionKey(suffix))
	if err != nil {
		return cached{}, envelope{}, err
	}
	if len(resp.Kvs) == 0 {
		s.remember(suffix, nil, 0)
		return cached{}, envelope{}, nil
	}
	kv := resp.Kvs[0]
	env, ss, err := decode(suffix, kv.Value)
	if err != nil {
		return cached{}, envelope{}, err
	}
	s.remember(suffix, ss, kv.ModRevision)
	return cached{version: ss.Version, modRev: kv.ModRevision, due: s.dueKey(ss.Deadline(), suffix)}, env, nil
}

// Load returns the session of c from a linearizable read. It returns an
// error wrapping bot.ErrNoSession when c has none, and other errors for an
// invalid conversation, a cancelled ctx, a closed store, an unreachable
// cluster or a value that does not decode.
func (s *Store) Load(ctx context.Context, c bot.Conversation) (*bot.Session, error) {
	if err := s.check(ctx, "load"); err != nil {
		return nil, err
	}
	suffix, err := convSuffix(c)
	if err != nil {
		return nil, err
	}
	rctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(rctx, s.sessionKey(suffix))
	if err != nil {
		return nil, fmt.Errorf("etcdstore: load %s: %w", c, err)
	}
	if len(resp.Kvs) == 0 {
		s.remember(suffix, nil, 0)
		return nil, fmt.Errorf("etcdstore: load %s: %w", c, bot.ErrNoSession)
	}
	_, ss, err := decode(suffix, resp.Kvs[0].Value)
	if err != nil {
		return nil, fmt.Errorf("etcdstore: load %s: %w", c, err)
	}
	s.remember(suffix, ss, resp.Kvs[0].ModRevision)
	return ss, nil
}

// Save writes s if the stored version equals s.Version (bot.Store), in one
// transaction guarded by the key's mod revision that also moves the due
// entry and, when updateID is not empty, records it as processed (with the
// seen lease). Only after it committed is s.Version incremented.
//
// It returns bot.ErrConflict, with nothing written and s unchanged, when
// another writer saved first. After a timeout or lost connection it reads
// the key back: its own turn token there is a success, the old version
// means the transaction was not applied and is sent again (until ctx or
// the request timeout ends), another writer's turn is bot.ErrConflict.
// Other errors: nil s, invalid conversation, closed store, cancelled ctx,
// unreachable cluster.
func (s *Store) Save(ctx context.Context, ss *bot.Session, updateID string) error {
	if ss == nil {
		return errors.New("etcdstore: save: nil session")
	}
	if err := s.check(ctx, "save"); err != nil {
		return err
	}
	start := time.Now()
	defer func() { s.stats.saveNanos.Add(int64(time.Since(start))) }()
	suffix, err := convSuffix(ss.Conversation)
	if err != nil {
		return err
	}
	var seenKey string
	if updateID != "" {
		if seenKey, err = s.seenKey(ss.Conversation.Channel, updateID); err != nil {
			return err
		}
	}
	stored := *ss
	stored.Version = ss.Version + 1
	body, err := json.Marshal(&stored)
	if err != nil {
		return fmt.Errorf("etcdstore: save %s: encode: %w", ss.Conversation, err)
	}
	turn := newToken()
	val, err := json.Marshal(envelope{Turn: turn, Update: updateID, Session: body})
	if err != nil {
		return fmt.Errorf("etcdstore: save %s: encode: %w", ss.Conversation, err)
	}
	key := s.sessionKey(suffix)
	newDue := s.dueKey(stored.Deadline(), suffix)

	s.mu.Lock()
	cur, ok := s.revs[suffix]
	s.mu.Unlock()
	if !ok || cur.version != ss.Version {
		if cur, _, err = s.read(ctx, suffix); err != nil {
			return fmt.Errorf("etcdstore: save %s: %w", ss.Conversation, err)
		}
	}
	var lease clientv3.LeaseID
	if seenKey != "" {
		if lease, err = s.seenLease(ctx); err != nil {
			return fmt.Errorf("etcdstore: save %s: %w", ss.Conversation, err)
		}
	}
	for attempt := 0; ; attempt++ {
		if cur.version != ss.Version {
			s.stats.conflicts.Add(1)
			return bot.ErrConflict
		}
		ops := []clientv3.Op{clientv3.OpPut(key, string(val))}
		if cur.due != "" && cur.due != newDue {
			ops = append(ops, clientv3.OpDelete(cur.due))
		}
		if newDue != "" {
			ops = append(ops, clientv3.OpPut(newDue, ""))
		}
		if seenKey != "" {
			ops = append(ops, clientv3.OpPut(seenKey, string(stamp(s.now())), clientv3.WithLease(lease)))
		}
		tctx, cancel := s.ctx(ctx)
		resp, err := s.cli.Txn(tctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", cur.modRev)).
			Then(ops...).Else(clientv3.OpGet(key)).Commit()
		cancel()
		if err == nil && resp.Succeeded {
			s.remember(suffix, &stored, resp.Header.Revision)
			ss.Version = stored.Version
			s.stats.saves.Add(1)
			return nil
		}
		if err == nil {
			// The revision moved: learn what is stored now.
			cur = cached{}
			if rr := resp.Responses[0].GetResponseRange(); rr != nil && len(rr.Kvs) > 0 {
				_, old, derr := decode(suffix, rr.Kvs[0].Value)
				if derr != nil {
					return fmt.Errorf("etcdstore: save %s: %w", ss.Conversation, derr)
				}
				s.remember(suffix, old, rr.Kvs[0].ModRevision)
				cur = cached{version: old.Version, modRev: rr.Kvs[0].ModRevision, due: s.dueKey(old.Deadline(), suffix)}
			} else {
				s.remember(suffix, nil, 0)
			}
			s.stats.retries.Add(1)
			if attempt < 5 {
				continue
			}
			return fmt.Errorf("etcdstore: save %s: the revision kept moving", ss.Conversation)
		}
		// The outcome is unknown: the transaction may have been applied.
		s.stats.ambiguous.Add(1)
		if ctx.Err() != nil || s.closed.Load() || attempt >= 5 {
			return fmt.Errorf("etcdstore: save %s: %w", ss.Conversation, err)
		}
		var env envelope
		for {
			var rerr error
			cur, env, rerr = s.read(ctx, suffix)
			if rerr == nil {
				break
			}
			if ctx.Err() != nil || s.closed.Load() {
				return fmt.Errorf("etcdstore: save %s: %w (and reading it back: %v)", ss.Conversation, err, rerr)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if env.Turn == turn {
			ss.Version = stored.Version
			s.stats.saves.Add(1)
			return nil
		}
	}
}

// stamp returns the 8-byte big-endian unix nanos of t.
func stamp(t time.Time) []byte { return binary.BigEndian.AppendUint64(nil, nanos(t)) }

func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// seenLease returns the lease processed update ids are attached to. A new
// lease of SeenTTL + SeenTTL/8 is granted every SeenTTL/8, so an id lives
// between SeenTTL and SeenTTL + SeenTTL/8 and the store grants a lease
// only now and then, not per write.
func (s *Store) seenLease(ctx context.Context) (clientv3.LeaseID, error) {
	rotate := s.seenTTL / 8
	s.mu.Lock()
	id, at := s.lease, s.leaseAt
	s.mu.Unlock()
	if id != 0 && time.Since(at) < rotate {
		return id, nil
	}
	ttl := int64((s.seenTTL + rotate + time.Second - 1) / time.Second)
	lctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Grant(lctx, ttl)
	if err != nil {
		return 0, fmt.Errorf("grant seen lease: %w", err)
	}
	s.mu.Lock()
	s.lease, s.leaseAt = resp.ID, time.Now()
	s.mu.Unlock()
	return resp.ID, nil
}

// MarkSeen records (channel, updateID) as processed (with the seen lease).
// It fails for an invalid channel, an empty updateID, a cancelled ctx, a
// closed store or an unreachable cluster.
func (s *Store) MarkSeen(ctx context.Context, channel, updateID string) error {
	if err := s.check(ctx, "mark seen"); err != nil {
		return err
	}
	key, err := s.seenKey(channel, updateID)
	if err != nil {
		return err
	}
	lease, err := s.seenLease(ctx)
	if err != nil {
		return fmt.Errorf("etcdstore: mark seen: %w", err)
	}
	pctx, cancel := s.ctx(ctx)
	defer cancel()
	if _, err := s.cli.Put(pctx, key, string(stamp(s.now())), clientv3.WithLease(lease)); err != nil {
		return fmt.Errorf("etcdstore: mark seen: %w", err)
	}
	return nil
}

// Seen reports whether (channel, updateID) is recorded as processed and its
// lease has not expired. It fails for the arguments MarkSeen refuses, a
// cancelled ctx, a closed store or an unreachable cluster.
func (s *Store) Seen(ctx context.Context, channel, updateID string) (bool, error) {
	if err := s.check(ctx, "seen"); err != nil {
		return false, err
	}
	key, err := s.seenKey(channel, updateID)
	if err != nil {
		return false, err
	}
	gctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(gctx, key, clientv3.WithCountOnly())
	if err != nil {
		return false, fmt.Errorf("etcdstore: seen: %w", err)
	}
	return resp.Count > 0, nil
}

// Due returns up to limit conversations whose Deadline is at or before now,
// earliest first (ties in key order), from one range read of the due
// index (bot.Store). Done sessions with an empty outbox have no entry. A
// limit of zero or less returns none. It fails for a cancelled ctx, a
// closed store or an unreachable cluster.
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]bot.Conversation, error) {
	if err := s.check(ctx, "due"); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	from := s.prefix + "d/"
	end := fmt.Sprintf("%sd/%016x", s.prefix, nanos(now)+1)
	gctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(gctx, from, clientv3.WithRange(end), clientv3.WithLimit(int64(limit)), clientv3.WithKeysOnly())
	if err != nil {
		return nil, fmt.Errorf("etcdstore: due: %w", err)
	}
	out := make([]bot.Conversation, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		rest := strings.TrimPrefix(string(kv.Key), from)
		if len(rest) < 18 || rest[16] != '/' {
			continue
		}
		ch, id, ok := strings.Cut(rest[17:], "\x00")
		if !ok || ch == "" || id == "" {
			continue
		}
		out = append(out, bot.Conversation{Channel: ch, ID: id})
	}
	return out, nil
}

// Delete removes the session of c and its due entry in one transaction
// guarded by the key's mod revision; a missing session is no error.
// Processed update ids are kept. It fails for an invalid conversation, a
// cancelled ctx, a closed store or an unreachable cluster.
func (s *Store) Delete(ctx context.Context, c bot.Conversation) error {
	if err := s.check(ctx, "delete"); err != nil {
		return err
	}
	suffix, err := convSuffix(c)
	if err != nil {
		return err
	}
	key := s.sessionKey(suffix)
	for attempt := 0; attempt < 10; attempt++ {
		cur, _, err := s.read(ctx, suffix)
		if err != nil {
			return fmt.Errorf("etcdstore: delete %s: %w", c, err)
		}
		if cur.modRev == 0 {
			return nil
		}
		ops := []clientv3.Op{clientv3.OpDelete(key)}
		if cur.due != "" {
			ops = append(ops, clientv3.OpDelete(cur.due))
		}
		tctx, cancel := s.ctx(ctx)
		resp, err := s.cli.Txn(tctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", cur.modRev)).Then(ops...).Commit()
		cancel()
		if err != nil {
			return fmt.Errorf("etcdstore: delete %s: %w", c, err)
		}
		if resp.Succeeded {
			s.remember(suffix, nil, 0)
			return nil
		}
	}
	return fmt.Errorf("etcdstore: delete %s: the revision kept moving", c)
}

// Count returns the number of stored sessions, done ones included. It
// fails for a cancelled ctx, a closed store or an unreachable cluster.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := s.check(ctx, "count"); err != nil {
		return 0, err
	}
	gctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(gctx, s.prefix+"s/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("etcdstore: count: %w", err)
	}
	return int(resp.Count), nil
}

// Close stops the compactor, releases this process's locks (revoking its
// lock lease) and closes the client it dialled. Every other method fails
// with ErrClosed afterwards; a second Close returns nil.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		s.wg.Wait()
		s.mu.Lock()
		sess := s.sess
		s.mu.Unlock()
		if sess != nil {
			_ = sess.Close()
		}
		if s.ownCli {
			s.closeErr = s.cli.Close()
		}
	})
	return s.closeErr
}

// Abandon stops the store as a crash would: the client is closed without
// revoking the lock lease, so the locks this process holds stay until the
// lease's TTL runs out. For tests of a replica dying and for nothing else.
func (s *Store) Abandon() {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		s.wg.Wait()
		s.mu.Lock()
		if s.sess != nil {
			s.sess.Orphan()
		}
		s.mu.Unlock()
		if s.ownCli {
			s.closeErr = s.cli.Close()
		}
	})
}

// Prune exists for parity with the bbolt store: processed update ids on
// etcd expire with their lease (Options.SeenTTL), so there is nothing to
// remove. It returns 0, and an error only for a closed store.
func (s *Store) Prune(ctx context.Context, limit int) (int, error) {
	if s.closed.Load() {
		return 0, fmt.Errorf("etcdstore: prune: %w", ErrClosed)
	}
	return 0, nil
}
