package etcdstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"guidedfix/internal/support"
)

// Support is support.Records on etcd: the hand-offs, escalation threads
// and audit log of package support, shared by every replica. Keys under
// the store's prefix P:
//
//   - P + "sup/h/" + hand-off id → support.Handoff JSON;
//   - P + "sup/t/" + hex SHA-256 of the token → hand-off id (the token
//     itself is never stored);
//   - P + "sup/c/" + conversation → id of the hand-off last redeemed there;
//   - P + "sup/e/" + conversation → channel NUL thread NUL agent;
//   - P + "sup/th/" + channel NUL thread → conversation;
//   - P + "sup/a/" + 16 hex digits of unix nanos + "/" + 16 random hex →
//     support.Entry JSON, written only if absent and never changed.
//
// Read-modify-write operations (Redeem, Update, the escalation calls) run
// as read-modify-write transactions (linearizable reads, one etcd
// transaction guarded by the mod revision of every key read), so two
// replicas redeeming one token, or two agents claiming one escalation,
// give one winner.
type Support struct {
	s *Store
}

var _ support.Records = (*Support)(nil)

// NewSupport returns the support records of st; closing them closes st.
func NewSupport(st *Store) *Support { return &Support{s: st} }

func (p *Support) key(kind, rest string) string { return p.s.prefix + "sup/" + kind + "/" + rest }

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// rmwTx is one attempt of a read-modify-write transaction: Get reads a
// key linearizably and remembers its mod revision, Put and Del queue
// writes; the commit applies the writes only if no key read has changed.
type rmwTx struct {
	p    *Support
	ctx  context.Context
	err  error
	revs map[string]int64
	ops  []clientv3.Op
}

// Get returns the value of key ("" when missing).
func (tx *rmwTx) Get(key string) string {
	if tx.err != nil {
		return ""
	}
	gctx, cancel := tx.p.s.ctx(tx.ctx)
	defer cancel()
	resp, err := tx.p.s.cli.Get(gctx, key)
	if err != nil {
		tx.err = err
		return ""
	}
	if len(resp.Kvs) == 0 {
		tx.revs[key] = 0
		return ""
	}
	tx.revs[key] = resp.Kvs[0].ModRevision
	return string(resp.Kvs[0].Value)
}

// Put queues a write of key.
func (tx *rmwTx) Put(key, val string) { tx.ops = append(tx.ops, clientv3.OpPut(key, val)) }

// Del queues a delete of key.
func (tx *rmwTx) Del(key string) { tx.ops = append(tx.ops, clientv3.OpDelete(key)) }

// stm runs apply as a read-modify-write transaction: its reads are
// linearizable, its writes are committed in one etcd transaction that
// compares the mod revision of every key read, and it is run again (up to
// 20 times) when one of them changed in between. apply's error (or a read
// error) writes nothing and is returned.
func (p *Support) stm(ctx context.Context, apply func(*rmwTx) error) error {
	if err := p.s.check(ctx, "support"); err != nil {
		return err
	}
	for range 20 {
		tx := &rmwTx{p: p, ctx: ctx, revs: map[string]int64{}}
		err := apply(tx)
		if tx.err != nil {
			return fmt.Errorf("etcdstore: support: %w", tx.err)
		}
		if err != nil {
			return err
		}
		if len(tx.ops) == 0 {
			return nil
		}
		cmps := make([]clientv3.Cmp, 0, len(tx.revs))
		for k, rev := range tx.revs {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", rev))
		}
		tctx, cancel := p.s.ctx(ctx)
		resp, err := p.s.cli.Txn(tctx).If(cmps...).Then(tx.ops...).Commit()
		cancel()
		if err != nil {
			return fmt.Errorf("etcdstore: support: %w", err)
		}
		if resp.Succeeded {
			return nil
		}
	}
	return errors.New("etcdstore: support: the records kept changing")
}

// CreateHandoff stores a hand-off for h.AccountID and returns it with its
// token (32 random bytes, base64url), redeemable for ttl
// (support.DefaultHandoffTTL when ttl ≤ 0); as support.Store.CreateHandoff. It
// fails for a closed store or an unreachable cluster.
func (p *Support) CreateHandoff(ctx context.Context, h support.Handoff, ttl time.Duration) (support.Handoff, string, error) {
	if err := p.s.check(ctx, "create hand-off"); err != nil {
		return support.Handoff{}, "", err
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	id := make([]byte, 9)
	_, _ = rand.Read(id)
	now := p.s.now().UTC()
	h.ID = "ho_" + base64.RawURLEncoding.EncodeToString(id)
	h.CreatedAt, h.ExpiresAt = now, support.HandoffExpiry(now, ttl)
	h.UsedAt, h.Conversation, h.Outcome = support.Handoff{}.UsedAt, "", ""
	body, err := json.Marshal(h)
	if err != nil {
		return support.Handoff{}, "", err
	}
	tctx, cancel := p.s.ctx(ctx)
	defer cancel()
	if _, err := p.s.cli.Txn(tctx).Then(clientv3.OpPut(p.key("h", h.ID), string(body)),
		clientv3.OpPut(p.key("t", tokenHash(token)), h.ID)).Commit(); err != nil {
		return support.Handoff{}, "", fmt.Errorf("etcdstore: create hand-off: %w", err)
	}
	return h, token, nil
}

// Redeem uses token for conversation conv by support.Store.Redeem's rules
// (support.CheckRedeem: ErrInvalidToken for an unknown, expired or
// completed token or one another conversation used; the conversation
// that used it may reopen it), atomically across replicas. accept, when
// not nil, sees the stored hand-off first; its error is returned and the
// token stays unused.
func (p *Support) Redeem(ctx context.Context, token, conv string, accept func(support.Handoff) error) (support.Handoff, error) {
	now := p.s.now().UTC()
	var h support.Handoff
	err := p.stm(ctx, func(stm *rmwTx) error {
		var err error
		if h, err = p.tokenHandoff(stm, token); err != nil {
			return err
		}
		reopen, err := support.CheckRedeem(h, conv, now, accept)
		if err != nil {
			return err
		}
		if reopen {
			return nil
		}
		h.UsedAt, h.Conversation = now, conv
		body, err := json.Marshal(h)
		if err != nil {
			return err
		}
		stm.Put(p.key("c", conv), h.ID)
		stm.Put(p.key("h", h.ID), string(body))
		return nil
	})
	return h, err
}

// CheckToken reports whether Redeem(ctx, token, conv, accept) would
// succeed now, with linearizable reads and no write (support.Records'
// CheckToken): the stored hand-off when it would, support.ErrInvalidToken
// by support.CheckRedeem's rules otherwise, accept's error when it
// refuses, or the cluster's error.
func (p *Support) CheckToken(ctx context.Context, token, conv string, accept func(support.Handoff) error) (support.Handoff, error) {
	now := p.s.now().UTC()
	var h support.Handoff
	err := p.stm(ctx, func(stm *rmwTx) error {
		var err error
		if h, err = p.tokenHandoff(stm, token); err != nil {
			return err
		}
		_, err = support.CheckRedeem(h, conv, now, accept)
		return err // no write queued: stm commits nothing
	})
	if err != nil {
		return support.Handoff{}, err
	}
	return h, nil
}

// tokenHandoff reads, in stm, the hand-off that token was issued for:
// support.ErrInvalidToken when no hand-off has it, or a decoding error.
func (p *Support) tokenHandoff(stm *rmwTx, token string) (support.Handoff, error) {
	id := stm.Get(p.key("t", tokenHash(token)))
	if id == "" {
		return support.Handoff{}, support.ErrInvalidToken
	}
	var h support.Handoff
	if err := json.Unmarshal([]byte(stm.Get(p.key("h", id))), &h); err != nil {
		return support.Handoff{}, fmt.Errorf("decode hand-off %s: %w", id, err)
	}
	return h, nil
}

// Handoff returns the hand-off id, or support.ErrNotFound.
func (p *Support) Handoff(ctx context.Context, id string) (support.Handoff, error) {
	if err := p.s.check(ctx, "hand-off"); err != nil {
		return support.Handoff{}, err
	}
	gctx, cancel := p.s.ctx(ctx)
	defer cancel()
	resp, err := p.s.cli.Get(gctx, p.key("h", id))
	if err != nil {
		return support.Handoff{}, fmt.Errorf("etcdstore: hand-off: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return support.Handoff{}, support.ErrNotFound
	}
	var h support.Handoff
	err = json.Unmarshal(resp.Kvs[0].Value, &h)
	return h, err
}

// ByConversation returns the hand-off last redeemed in conv, or
// support.ErrNotFound.
func (p *Support) ByConversation(ctx context.Context, conv string) (support.Handoff, error) {
	if err := p.s.check(ctx, "hand-off"); err != nil {
		return support.Handoff{}, err
	}
	gctx, cancel := p.s.ctx(ctx)
	defer cancel()
	resp, err := p.s.cli.Get(gctx, p.key("c", conv))
	if err != nil {
		return support.Handoff{}, fmt.Errorf("etcdstore: hand-off: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return support.Handoff{}, support.ErrNotFound
	}
	return p.Handoff(ctx, string(resp.Kvs[0].Value))
}

// Update applies fn to the stored hand-off id atomically
// (support.Store.Update); support.ErrNotFound or fn's error writes nothing.
func (p *Support) Update(ctx context.Context, id string, fn func(*support.Handoff) error) (support.Handoff, error) {
	var h support.Handoff
	err := p.stm(ctx, func(stm *rmwTx) error {
		v := stm.Get(p.key("h", id))
		if v == "" {
			return support.ErrNotFound
		}
		h = support.Handoff{}
		if err := json.Unmarshal([]byte(v), &h); err != nil {
			return err
		}
		if err := fn(&h); err != nil {
			return err
		}
		body, err := json.Marshal(h)
		if err != nil {
			return err
		}
		stm.Put(p.key("h", id), string(body))
		return nil
	})
	return h, err
}

// escalation is the stored value of conv's latest escalation: the thread,
// the agent who holds it and the guided fix's session id it was asked for
// in, NUL-separated (a value of three fields, written before sessions were
// recorded, reads with no session).
type escalation struct{ channel, thread, agent, session string }

func parseEscalation(v string) escalation {
	parts := strings.SplitN(v, "\x00", 4)
	e := escalation{channel: parts[0]}
	if len(parts) > 1 {
		e.thread = parts[1]
	}
	if len(parts) > 2 {
		e.agent = parts[2]
	}
	if len(parts) > 3 {
		e.session = parts[3]
	}
	return e
}

func (e escalation) String() string {
	return e.channel + "\x00" + e.thread + "\x00" + e.agent + "\x00" + e.session
}

// SetEscalation records conv's latest escalation thread, unclaimed.
func (p *Support) SetEscalation(ctx context.Context, conv, channel, thread string) error {
	return p.SetSessionEscalation(ctx, conv, "", channel, thread)
}

// SetSessionEscalation records conv's latest escalation thread, asked for
// in the guided fix with session id session, unclaimed.
func (p *Support) SetSessionEscalation(ctx context.Context, conv, session, channel, thread string) error {
	return p.stm(ctx, func(stm *rmwTx) error {
		stm.Put(p.key("th", channel+"\x00"+thread), conv)
		stm.Put(p.key("e", conv), escalation{channel: channel, thread: thread, session: session}.String())
		return nil
	})
}

// SessionEscalation returns the thread of conv's latest escalation if it
// was asked for in session, and the agent who has it ("" if nobody);
// support.ErrNotFound when it belongs to another session or there is none.
func (p *Support) SessionEscalation(ctx context.Context, conv, session string) (channel, thread, agent string, err error) {
	if err := p.s.check(ctx, "escalation"); err != nil {
		return "", "", "", err
	}
	gctx, cancel := p.s.ctx(ctx)
	defer cancel()
	resp, err := p.s.cli.Get(gctx, p.key("e", conv))
	if err != nil {
		return "", "", "", fmt.Errorf("etcdstore: escalation: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return "", "", "", support.ErrNotFound
	}
	e := parseEscalation(string(resp.Kvs[0].Value))
	if session == "" || e.session != session {
		return "", "", "", support.ErrNotFound
	}
	return e.channel, e.thread, e.agent, nil
}

// Escalation returns conv's latest thread, or support.ErrNotFound.
func (p *Support) Escalation(ctx context.Context, conv string) (channel, thread string, err error) {
	if err := p.s.check(ctx, "escalation"); err != nil {
		return "", "", err
	}
	gctx, cancel := p.s.ctx(ctx)
	defer cancel()
	resp, err := p.s.cli.Get(gctx, p.key("e", conv))
	if err != nil {
		return "", "", fmt.Errorf("etcdstore: escalation: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return "", "", support.ErrNotFound
	}
	e := parseEscalation(string(resp.Kvs[0].Value))
	return e.channel, e.thread, nil
}

// EscalationByThread returns the conversation whose latest escalation is
// (channel, thread) and its agent; an older or unknown thread gives
// support.ErrNotFound.
func (p *Support) EscalationByThread(ctx context.Context, channel, thread string) (conv, agent string, err error) {
	err = p.stm(ctx, func(stm *rmwTx) error {
		conv = stm.Get(p.key("th", channel+"\x00"+thread))
		if conv == "" {
			return support.ErrNotFound
		}
		v := stm.Get(p.key("e", conv))
		if v == "" {
			return support.ErrNotFound
		}
		e := parseEscalation(v)
		if e.channel != channel || e.thread != thread {
			return support.ErrNotFound
		}
		agent = e.agent
		return nil
	})
	if err != nil {
		return "", "", err
	}
	return conv, agent, nil
}

// ClaimEscalation gives conv's escalation to agent unless another agent
// has it, atomically, and returns the holder afterwards;
// support.ErrNotFound when conv was never escalated.
func (p *Support) ClaimEscalation(ctx context.Context, conv, agent string) (holder string, err error) {
	err = p.stm(ctx, func(stm *rmwTx) error {
		v := stm.Get(p.key("e", conv))
		if v == "" {
			return support.ErrNotFound
		}
		e := parseEscalation(v)
		if e.agent == "" {
			e.agent = agent
			stm.Put(p.key("e", conv), e.String())
		}
		holder = e.agent
		return nil
	})
	return holder, err
}

// ReassignEscalation moves conv's escalation from agent from to agent to,
// atomically, when from holds it, and returns the holder afterwards (the
// current one, unchanged, when from does not hold it);
// support.ErrNotFound when conv was never escalated.
func (p *Support) ReassignEscalation(ctx context.Context, conv, from, to string) (holder string, err error) {
	err = p.stm(ctx, func(stm *rmwTx) error {
		v := stm.Get(p.key("e", conv))
		if v == "" {
			return support.ErrNotFound
		}
		e := parseEscalation(v)
		if e.agent == from && from != "" {
			e.agent = to
			stm.Put(p.key("e", conv), e.String())
		}
		holder = e.agent
		return nil
	})
	return holder, err
}

// ReleaseEscalation clears conv's escalation holder; support.ErrNotFound
// when conv was never escalated.
func (p *Support) ReleaseEscalation(ctx context.Context, conv string) error {
	return p.stm(ctx, func(stm *rmwTx) error {
		v := stm.Get(p.key("e", conv))
		if v == "" {
			return support.ErrNotFound
		}
		e := parseEscalation(v)
		e.agent = ""
		stm.Put(p.key("e", conv), e.String())
		return nil
	})
}

// Append adds e to the audit log (At defaults to now, stored in UTC) under
// a new key written only if absent: the log is append-only.
func (p *Support) Append(ctx context.Context, e support.Entry) error {
	if err := p.s.check(ctx, "audit append"); err != nil {
		return err
	}
	if e.At.IsZero() {
		e.At = p.s.now()
	}
	e.At = e.At.UTC()
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	for range 3 {
		r := make([]byte, 8)
		_, _ = rand.Read(r)
		k := p.key("a", fmt.Sprintf("%016x/%x", nanos(e.At), r))
		tctx, cancel := p.s.ctx(ctx)
		resp, err := p.s.cli.Txn(tctx).If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
			Then(clientv3.OpPut(k, string(body))).Commit()
		cancel()
		if err != nil {
			return fmt.Errorf("etcdstore: audit append: %w", err)
		}
		if resp.Succeeded {
			return nil
		}
	}
	return errors.New("etcdstore: audit append: no free key")
}

// Audit returns up to limit of the newest entries about accountID ("" for
// all), newest first, reading the log backwards 500 entries at a time.
func (p *Support) Audit(ctx context.Context, accountID string, limit int) ([]support.Entry, error) {
	if err := p.s.check(ctx, "audit"); err != nil {
		return nil, err
	}
	prefix := p.key("a", "")
	end := clientv3.GetPrefixRangeEnd(prefix)
	var out []support.Entry
	for len(out) < limit {
		gctx, cancel := p.s.ctx(ctx)
		resp, err := p.s.cli.Get(gctx, prefix, clientv3.WithRange(end), clientv3.WithLimit(500),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend))
		cancel()
		if err != nil {
			return nil, fmt.Errorf("etcdstore: audit: %w", err)
		}
		for _, kv := range resp.Kvs {
			var e support.Entry
			if err := json.Unmarshal(kv.Value, &e); err != nil {
				return nil, fmt.Errorf("etcdstore: audit %q: %w", kv.Key, err)
			}
			if (accountID == "" || e.AccountID == accountID) && len(out) < limit {
				out = append(out, e)
			}
		}
		if len(resp.Kvs) < 500 {
			break
		}
		end = string(resp.Kvs[len(resp.Kvs)-1].Key)
	}
	return out, nil
}

// Close closes the underlying store.
func (p *Support) Close() error { return p.s.Close() }
