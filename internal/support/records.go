package support

import (
	"context"
	"time"
)

// Records is the support store contract the Desk and the commands use:
// hand-offs (single-use tokens stored as hashes), the escalation thread of
// each conversation with the agent who holds it, and the append-only audit
// log. *Store (bbolt, DATA/support.db) is the default implementation, for
// one process; etcdstore.Support keeps the same records on etcd for
// several replicas. Every method is safe for concurrent use and
// behaves as the *Store method of the same name documents.
type Records interface {
	// CreateHandoff stores h (new id, creation time, expiry ttl later —
	// DefaultHandoffTTL for ttl ≤ 0, see HandoffExpiry) and returns it
	// with its token; only the token's hash is stored.
	CreateHandoff(ctx context.Context, h Handoff, ttl time.Duration) (Handoff, string, error)
	// Redeem uses token for conversation conv, atomically, by the rules
	// of CheckRedeem (ErrInvalidToken for an unknown, expired or
	// completed token, or one another conversation used). accept, when
	// not nil, is called first with the stored hand-off; its error is
	// returned and the token stays unused.
	Redeem(ctx context.Context, token, conv string, accept func(Handoff) error) (Handoff, error)
	// CheckToken reports, without writing anything, whether Redeem of
	// token for conv would succeed now: the stored hand-off when it would
	// (an unused token, or one conv used and may reopen), ErrInvalidToken
	// by the rules of CheckRedeem otherwise, accept's error when accept
	// (not nil) refuses the stored hand-off, or the store's read error.
	// The token stays as it was: a link shown and checked is spent only
	// by the Start press (issue 14 F9).
	CheckToken(ctx context.Context, token, conv string, accept func(Handoff) error) (Handoff, error)
	// Handoff returns the hand-off id, or ErrNotFound.
	Handoff(ctx context.Context, id string) (Handoff, error)
	// ByConversation returns the hand-off last redeemed in conv, or
	// ErrNotFound.
	ByConversation(ctx context.Context, conv string) (Handoff, error)
	// Update applies fn to hand-off id atomically; ErrNotFound or fn's
	// error writes nothing.
	Update(ctx context.Context, id string, fn func(*Handoff) error) (Handoff, error)
	// SetEscalation records conv's latest escalation thread, unclaimed.
	SetEscalation(ctx context.Context, conv, channel, thread string) error
	// SetSessionEscalation records conv's latest escalation thread as
	// asked for in the guided fix with session id session, unclaimed.
	SetSessionEscalation(ctx context.Context, conv, session, channel, thread string) error
	// SessionEscalation returns conv's latest thread and its agent if it
	// was asked for in session; ErrNotFound otherwise.
	SessionEscalation(ctx context.Context, conv, session string) (channel, thread, agent string, err error)
	// Escalation returns conv's latest thread, or ErrNotFound.
	Escalation(ctx context.Context, conv string) (channel, thread string, err error)
	// EscalationByThread returns the conversation whose latest
	// escalation is the thread and its agent, or ErrNotFound.
	EscalationByThread(ctx context.Context, channel, thread string) (conv, agent string, err error)
	// ClaimEscalation gives conv's escalation to agent unless another
	// has it, atomically, and returns the holder afterwards.
	ClaimEscalation(ctx context.Context, conv, agent string) (holder string, err error)
	// ReassignEscalation moves conv's escalation from agent from to agent
	// to, atomically, when from holds it, and returns the holder afterwards.
	ReassignEscalation(ctx context.Context, conv, from, to string) (holder string, err error)
	// ReleaseEscalation clears conv's escalation holder.
	ReleaseEscalation(ctx context.Context, conv string) error
	// Append adds e to the audit log (At defaults to now); entries are
	// never changed or deleted.
	Append(ctx context.Context, e Entry) error
	// Audit returns up to limit of the newest entries about accountID
	// ("" for all), newest first.
	Audit(ctx context.Context, accountID string, limit int) ([]Entry, error)
	// Close releases the store.
	Close() error
}

var _ Records = (*Store)(nil)
