// Package support keeps what support teams need around the guided fixes:
// hand-off tokens that let an agent start a guided fix for a customer, the
// threads where agents watch them, and the append-only audit log of every
// security and staff action. It stores them in its own bbolt file
// (DATA/support.db) and never holds a password, code or TOTP secret; a
// hand-off token is stored only as its SHA-256 hash.
package support

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"guidedfix/internal/boltgroup"
)

// DefaultHandoffTTL is how long a hand-off token can be used when the
// caller gives no lifetime: 10 minutes, the longest the security checklist
// (§5 #22, NIST SP 800-63B §6.1.2.3) allows for a single-use link.
const DefaultHandoffTTL = 10 * time.Minute

// HandoffExpiry returns when a hand-off created at now with lifetime ttl
// expires: now + ttl, or now + DefaultHandoffTTL when ttl ≤ 0. Every
// Records implementation uses it, so all stores agree.
func HandoffExpiry(now time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		ttl = DefaultHandoffTTL
	}
	return now.Add(ttl)
}

// Errors of the support store.
var (
	// ErrInvalidToken is returned by Redeem for a token that is unknown,
	// already used or expired; the three are not told apart, so a token
	// reveals nothing about the account.
	ErrInvalidToken = errors.New("support: this link is not valid any more")
	// ErrNotFound is returned when a hand-off does not exist.
	ErrNotFound = errors.New("support: not found")
)

// Handoff is a guided fix an agent handed to a customer.
type Handoff struct {
	// ID identifies the hand-off (not secret).
	ID string `json:"id"`
	// AccountID and Email are the portal account the fix is for.
	AccountID string `json:"account_id"`
	Email     string `json:"email"`
	// Flow is the guided fix to run: a flow's bot.Descriptor.Name
	// (Desk.HandOffFlow); only that flow redeems the token ("" counts as
	// the default flow).
	Flow string `json:"flow"`
	// CreatedBy is the agent (platform:user id) who created it.
	CreatedBy string `json:"created_by"`
	// Ticket is the agent's ticket reference; may be empty.
	Ticket string `json:"ticket,omitempty"`
	// CreatedAt and ExpiresAt bound the token's use (UTC).
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// UsedAt is when the customer opened the link (zero before).
	UsedAt time.Time `json:"used_at,omitzero"`
	// Conversation is the customer's conversation ("telegram:42") once
	// used.
	Conversation string `json:"conversation,omitempty"`
	// WatchChannel and WatchThread locate the thread where agents watch
	// the fix (Slack channel id and thread ts).
	WatchChannel string `json:"watch_channel,omitempty"`
	WatchThread  string `json:"watch_thread,omitempty"`
	// Outcome is how it ended, a stable untranslated value
	// (OutcomeValue): "completed", "cancelled", "expired", "blocked" or
	// "failed:<state>"; empty while running. Staff see Desk.Outcome's
	// words instead.
	Outcome string `json:"outcome,omitempty"`
}

// Entry is one audit log record: when, which channel and user, which
// account, what, outcome. It never holds a secret.
type Entry struct {
	// At is when it happened (UTC).
	At time.Time `json:"at"`
	// Channel is the chat platform ("telegram", "slack", "console", "cli").
	Channel string `json:"channel"`
	// UserID is the platform user (customer or staff).
	UserID string `json:"user_id"`
	// AccountID is the portal account concerned; may be empty.
	AccountID string `json:"account_id,omitempty"`
	// Action is a stable name: "step", "handoff_created", "takeover", …
	Action string `json:"action"`
	// Outcome says how it ended or where the flow is now; the desk
	// writes it in its Desk.Locale at the time (support.desk.audit.*
	// texts, step names).
	Outcome string `json:"outcome"`
	// Staff marks actions taken by support staff.
	Staff bool `json:"staff,omitempty"`
}

var (
	bHandoffs = []byte("handoffs")     // handoff id -> Handoff
	bTokens   = []byte("tokens")       // sha256(token) hex -> handoff id
	bByConv   = []byte("conversation") // conversation -> handoff id
	bAudit    = []byte("audit")        // unix nanos + seq -> Entry
	bEscal    = []byte("escalations")  // conversation -> "channel\x00thread\x00agent"
	bThreads  = []byte("threads")      // "channel\x00thread" -> conversation
)

// Store is the support database. It is safe for concurrent use.
type Store struct {
	db     *bbolt.DB
	writes *boltgroup.Committer // group commit of every write after Open
	now    func() time.Time
}

// Open opens (creating 0600, parent 0700) the support database at path,
// waiting at most 1 second for the file lock; a file held by another
// process fails with an error wrapping bbolt's ErrTimeout. now defaults to
// time.Now.
func Open(path string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	db, err := bbolt.Open(path, 0o600, boltgroup.Options(time.Second))
	if errors.Is(err, bberrors.ErrTimeout) {
		return nil, fmt.Errorf("support database %s is in use by another guidedfix process: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open support database %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bHandoffs, bTokens, bByConv, bAudit, bEscal, bThreads} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db, writes: boltgroup.New(db), now: now}, nil
}

// Close stops the group commit (after the writes already handed to it)
// and closes the database; it returns bbolt's close error.
func (s *Store) Close() error {
	s.writes.Close()
	return s.db.Close()
}

func tokenKey(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return []byte(hex.EncodeToString(sum[:]))
}

// CreateHandoff stores a hand-off for accountID and returns it with its
// token: 32 random bytes in base64url (43 characters of [A-Za-z0-9_-], so
// it fits a Telegram deep link's 64-character start payload). The token
// can be redeemed for ttl from now (DefaultHandoffTTL when ttl ≤ 0). Only
// the token's hash is stored; the token is returned once.
func (s *Store) CreateHandoff(ctx context.Context, h Handoff, ttl time.Duration) (Handoff, string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Handoff{}, "", err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	id := make([]byte, 9)
	if _, err := rand.Read(id); err != nil {
		return Handoff{}, "", err
	}
	now := s.now().UTC()
	h.ID = "ho_" + base64.RawURLEncoding.EncodeToString(id)
	h.CreatedAt, h.ExpiresAt = now, HandoffExpiry(now, ttl)
	h.UsedAt, h.Conversation, h.Outcome = time.Time{}, "", ""
	err := s.writes.Write(func(tx *bbolt.Tx) error {
		if err := putJSON(tx.Bucket(bHandoffs), []byte(h.ID), h); err != nil {
			return err
		}
		return tx.Bucket(bTokens).Put(tokenKey(token), []byte(h.ID))
	})
	if err != nil {
		return Handoff{}, "", err
	}
	return h, token, nil
}

// Redeem spends token for the customer's conversation conv (the explicit
// Start press): the first call marks the hand-off used and binds it to
// conv, in one transaction, so two concurrent first redemptions from two
// conversations give one success; later calls from that same conversation
// return it again until the guided change completed or the token expired,
// so a cancelled or interrupted fix can be reopened. It returns
// ErrInvalidToken for an unknown or expired token, one already used by
// another conversation, or one whose change completed (CheckRedeem).
// accept, when not nil, sees the stored hand-off before it is used (e.g.
// to refuse a hand-off of another flow); its error is returned and the
// token stays unused.
func (s *Store) Redeem(ctx context.Context, token, conv string, accept func(Handoff) error) (Handoff, error) {
	now := s.now().UTC()
	var h Handoff
	err := s.writes.Write(func(tx *bbolt.Tx) error {
		h = Handoff{} // the group commit may run this again
		id := tx.Bucket(bTokens).Get(tokenKey(token))
		if id == nil {
			return ErrInvalidToken
		}
		if err := getJSON(tx.Bucket(bHandoffs), id, &h); err != nil {
			return err
		}
		reopen, err := CheckRedeem(h, conv, now, accept)
		if err != nil {
			return err
		}
		if reopen {
			return nil
		}
		h.UsedAt, h.Conversation = now, conv
		if err := tx.Bucket(bByConv).Put([]byte(conv), []byte(h.ID)); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bHandoffs), []byte(h.ID), h)
	})
	return h, err
}

// CheckToken reports whether Redeem(ctx, token, conv, accept) would
// succeed now, in one read-only transaction that writes nothing: it
// returns the stored hand-off when it would (token unused, or used by
// conv itself, which may reopen it), ErrInvalidToken for an unknown or
// expired token, one whose change completed or one another conversation
// used (CheckRedeem), accept's error when accept refuses the hand-off,
// and bbolt's or the JSON decoder's error for an unreadable record.
func (s *Store) CheckToken(ctx context.Context, token, conv string, accept func(Handoff) error) (Handoff, error) {
	now := s.now().UTC()
	var h Handoff
	err := s.db.View(func(tx *bbolt.Tx) error {
		id := tx.Bucket(bTokens).Get(tokenKey(token))
		if id == nil {
			return ErrInvalidToken
		}
		if err := getJSON(tx.Bucket(bHandoffs), id, &h); err != nil {
			return err
		}
		_, err := CheckRedeem(h, conv, now, accept)
		return err
	})
	if err != nil {
		return Handoff{}, err
	}
	return h, nil
}

// CheckRedeem applies the redemption rules to the stored hand-off h for
// conversation conv at now: ErrInvalidToken when h has expired or its
// guided fix completed, or when another conversation already used it (a
// link is bound to the first conversation that pressed Start: a Telegram
// private chat is its user, issue 11 item 9). reopen is true when conv
// itself used it before (it reopens the link, e.g. after a cancel, and
// nothing is to be written); false when the token is to be used now.
// accept, when not nil, is then called with h and its error returned
// (the caller writes nothing). Every Records implementation redeems by
// these rules.
func CheckRedeem(h Handoff, conv string, now time.Time, accept func(Handoff) error) (reopen bool, err error) {
	if !now.Before(h.ExpiresAt) || h.Outcome == outcomeCompleted {
		return false, ErrInvalidToken
	}
	if !h.UsedAt.IsZero() && h.Conversation != conv {
		return false, ErrInvalidToken
	}
	if accept != nil {
		if err := accept(h); err != nil {
			return false, err
		}
	}
	return !h.UsedAt.IsZero(), nil
}

// Handoff returns the hand-off with id, or ErrNotFound.
func (s *Store) Handoff(ctx context.Context, id string) (Handoff, error) {
	var h Handoff
	err := s.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bHandoffs).Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &h)
	})
	return h, err
}

// ByConversation returns the hand-off last redeemed in conversation conv,
// or ErrNotFound.
func (s *Store) ByConversation(ctx context.Context, conv string) (Handoff, error) {
	var id []byte
	err := s.db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bByConv).Get([]byte(conv)); v != nil {
			id = append([]byte(nil), v...)
		}
		return nil
	})
	if err != nil {
		return Handoff{}, err
	}
	if id == nil {
		return Handoff{}, ErrNotFound
	}
	return s.Handoff(ctx, string(id))
}

// Update applies fn to the stored hand-off id in one transaction (watch
// thread, outcome). It returns ErrNotFound for an unknown id and fn's
// error, which writes nothing. fn may be called more than once (group
// commit, internal/boltgroup), each time on a freshly read hand-off: it
// must only set fields.
func (s *Store) Update(ctx context.Context, id string, fn func(*Handoff) error) (Handoff, error) {
	var h Handoff
	err := s.writes.Write(func(tx *bbolt.Tx) error {
		h = Handoff{} // the group commit may run this again
		b := tx.Bucket(bHandoffs)
		v := b.Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		if err := json.Unmarshal(v, &h); err != nil {
			return err
		}
		if err := fn(&h); err != nil {
			return err
		}
		return putJSON(b, []byte(id), h)
	})
	return h, err
}

// SetEscalation records the support-channel thread of conversation conv's
// latest escalation; no agent has it yet. It is SetSessionEscalation
// without a session.
func (s *Store) SetEscalation(ctx context.Context, conv, channel, thread string) error {
	return s.SetSessionEscalation(ctx, conv, "", channel, thread)
}

// SetSessionEscalation records the support-channel thread of conversation
// conv's latest escalation, asked for in the guided fix with session id
// session (bot.Session.ID); no agent has it yet.
func (s *Store) SetSessionEscalation(ctx context.Context, conv, session, channel, thread string) error {
	return s.writes.Write(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bThreads).Put([]byte(channel+"\x00"+thread), []byte(conv)); err != nil {
			return err
		}
		return putEscalation(tx, escalation{conv: conv, channel: channel, thread: thread, session: session})
	})
}

// SessionEscalation returns the thread of conv's latest escalation if it
// was asked for in session (SetSessionEscalation), and the agent who has
// it ("" if nobody); ErrNotFound when conv's latest escalation belongs to
// another session or there is none.
func (s *Store) SessionEscalation(ctx context.Context, conv, session string) (channel, thread, agent string, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		e, err := getEscalation(tx, conv)
		if err != nil {
			return err
		}
		if session == "" || e.session != session {
			return ErrNotFound
		}
		channel, thread, agent = e.channel, e.thread, e.agent
		return nil
	})
	return channel, thread, agent, err
}

// Escalation returns the thread recorded by SetEscalation for conv, or
// ErrNotFound.
func (s *Store) Escalation(ctx context.Context, conv string) (channel, thread string, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		e, err := getEscalation(tx, conv)
		channel, thread = e.channel, e.thread
		return err
	})
	return channel, thread, err
}

// EscalationByThread returns the conversation whose latest escalation is
// the thread (channel, thread) and the agent who has taken it over ("" if
// nobody). A thread of an earlier escalation of the conversation, or one
// that is no escalation, gives ErrNotFound.
func (s *Store) EscalationByThread(ctx context.Context, channel, thread string) (conv, agent string, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bThreads).Get([]byte(channel + "\x00" + thread))
		if v == nil {
			return ErrNotFound
		}
		e, err := getEscalation(tx, string(v))
		if err != nil {
			return err
		}
		if e.channel != channel || e.thread != thread {
			return ErrNotFound
		}
		conv, agent = e.conv, e.agent
		return nil
	})
	return conv, agent, err
}

// ClaimEscalation gives the latest escalation of conv to agent unless
// another agent has it, in one transaction, and returns the agent who has
// it afterwards: agent itself when the claim succeeded (or agent already
// had it), the other agent otherwise. It returns ErrNotFound when conv was
// never escalated.
func (s *Store) ClaimEscalation(ctx context.Context, conv, agent string) (holder string, err error) {
	err = s.writes.Write(func(tx *bbolt.Tx) error {
		e, err := getEscalation(tx, conv)
		if err != nil {
			return err
		}
		if e.agent == "" {
			e.agent = agent
			if err := putEscalation(tx, e); err != nil {
				return err
			}
		}
		holder = e.agent
		return nil
	})
	return holder, err
}

// ReassignEscalation moves conv's latest escalation from agent from to
// agent to in one transaction, when from holds it (an explicit "take over
// from", issue 11 item 10), and returns the agent who holds it afterwards:
// to when moved, otherwise the current holder ("" when nobody has it),
// unchanged. It returns ErrNotFound when conv was never escalated.
func (s *Store) ReassignEscalation(ctx context.Context, conv, from, to string) (holder string, err error) {
	err = s.writes.Write(func(tx *bbolt.Tx) error {
		e, err := getEscalation(tx, conv)
		if err != nil {
			return err
		}
		if e.agent == from && from != "" {
			e.agent = to
			if err := putEscalation(tx, e); err != nil {
				return err
			}
		}
		holder = e.agent
		return nil
	})
	return holder, err
}

// ReleaseEscalation records that no agent has conv's latest escalation
// any more (hand-back, or a take-over that failed). It returns ErrNotFound
// when conv was never escalated.
func (s *Store) ReleaseEscalation(ctx context.Context, conv string) error {
	return s.writes.Write(func(tx *bbolt.Tx) error {
		e, err := getEscalation(tx, conv)
		if err != nil {
			return err
		}
		e.agent = ""
		return putEscalation(tx, e)
	})
}

// escalation is a stored escalation record: "channel\x00thread\x00agent"
// and, since the session is recorded, "\x00session".
type escalation struct{ conv, channel, thread, agent, session string }

func getEscalation(tx *bbolt.Tx, conv string) (escalation, error) {
	v := tx.Bucket(bEscal).Get([]byte(conv))
	if v == nil {
		return escalation{}, ErrNotFound
	}
	parts := strings.SplitN(string(v), "\x00", 4)
	e := escalation{conv: conv, channel: parts[0]}
	if len(parts) > 1 {
		e.thread = parts[1]
	}
	if len(parts) > 2 {
		e.agent = parts[2]
	}
	if len(parts) > 3 {
		e.session = parts[3]
	}
	return e, nil
}

func putEscalation(tx *bbolt.Tx, e escalation) error {
	v := e.channel + "\x00" + e.thread + "\x00" + e.agent
	if e.session != "" {
		v += "\x00" + e.session
	}
	return tx.Bucket(bEscal).Put([]byte(e.conv), []byte(v))
}

// Append adds e to the audit log (At defaults to now). The log is
// append-only: nothing in this package changes or deletes an entry.
func (s *Store) Append(ctx context.Context, e Entry) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	e.At = e.At.UTC()
	return s.writes.Write(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bAudit)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		key := make([]byte, 16)
		binary.BigEndian.PutUint64(key, uint64(e.At.UnixNano()))
		binary.BigEndian.PutUint64(key[8:], seq)
		return putJSON(b, key, e)
	})
}

// Audit returns up to limit of the newest entries about accountID ("" for
// all), newest first.
func (s *Store) Audit(ctx context.Context, accountID string, limit int) ([]Entry, error) {
	var out []Entry
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bAudit).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if accountID == "" || e.AccountID == accountID {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}

func putJSON(b *bbolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

func getJSON(b *bbolt.Bucket, key []byte, v any) error {
	raw := b.Get(key)
	if raw == nil {
		return ErrNotFound
	}
	return json.Unmarshal(raw, v)
}
