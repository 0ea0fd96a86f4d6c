package bot

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// State is a flow state's stable stored name, e.g. "awaiting_password".
// Stored values never change meaning; a new flow version adds new names.
type State string

// SecretField names what a secret prompt collects; adapters choose how to
// collect it privately (DESIGN.md "The engine contract").
type SecretField string

const (
	// SecretNone means no secret is expected.
	SecretNone SecretField = ""
	// SecretPassword expects the account password.
	SecretPassword SecretField = "password"
	// SecretSMSCode expects the 6-digit code sent by SMS.
	SecretSMSCode SecretField = "sms_code"
	// SecretTOTPCode expects the 6-digit code from the authenticator app.
	SecretTOTPCode SecretField = "totp_code"
)

// Session is the persisted state of one conversation's flow, in the shape of
// a Kratos self-service flow. It never holds a password, a code or a TOTP
// secret: only states, ids, idempotency keys and deadlines.
type Session struct {
	// ID is the session's random id; idempotency keys derive from it.
	ID string `json:"id"`
	// Conversation is the store key.
	Conversation Conversation `json:"conversation"`
	// UserID is the platform user who owns the session; events from
	// anybody else are refused.
	UserID string `json:"user_id"`
	// Flow and FlowVersion name the flow that runs the session.
	Flow        string `json:"flow"`
	FlowVersion int    `json:"flow_version"`
	// State is the flow's current state.
	State State `json:"state"`
	// Step counts the transitions so far; buttons carry it so that a button
	// from an earlier step is recognised as stale.
	Step int `json:"step"`
	// Offered are the button actions the replies of step OfferedStep
	// offered; a button press is accepted only for one of them at the
	// current step (clients may send any callback data, Bot API).
	Offered     []string `json:"offered,omitempty"`
	OfferedStep int      `json:"offered_step,omitempty"`
	// Version is the store's compare-and-swap counter, incremented by every
	// successful Store.Save.
	Version uint64 `json:"version"`
	// Expect is the secret the last prompt asked for, or SecretNone.
	Expect SecretField `json:"expect,omitempty"`
	// Locale is the user's language tag for replies.
	Locale string `json:"locale,omitempty"`
	// IssuedAt is when the session started (UTC).
	IssuedAt time.Time `json:"issued_at"`
	// UpdatedAt is when the session last changed (UTC).
	UpdatedAt time.Time `json:"updated_at"`
	// ExpiresAt is when the session expires for inactivity (UTC); the
	// engine pushes it forward on every event the user sends.
	ExpiresAt time.Time `json:"expires_at"`
	// WakeAt, when not zero, is when the engine must run the flow with a
	// KindTimer event even if the user stays silent (UTC): reminders, and
	// resuming a step interrupted by a crash.
	WakeAt time.Time `json:"wake_at,omitzero"`
	// Done marks a session whose flow reached a terminal state.
	Done bool `json:"done,omitempty"`
	// Parked marks a session whose user cannot be reached (blocked the
	// bot); nothing is delivered until the user writes again.
	Parked bool `json:"parked,omitempty"`
	// Agent is the support agent who took the conversation over; while set,
	// the user's text goes to the agent instead of the flow.
	Agent string `json:"agent,omitempty"`
	// HeldExpect is the secret the flow expected when an agent took over,
	// expected again after the hand-back.
	HeldExpect SecretField `json:"held_expect,omitempty"`
	// Tags are the flow's public facts about the session (Turn.Tag).
	Tags map[string]string `json:"tags,omitempty"`
	// Messages maps a reply's Ref to the platform message id it was
	// delivered as, so later replies can edit or delete it.
	Messages map[string]string `json:"messages,omitempty"`
	// Update is the platform update whose turn a Checkpoint saved and that
	// has not finished yet. The turn that finishes the session's step (the
	// sweeper resuming it after a crash, or the update redelivered) records
	// it as processed, so that a redelivery after the resumed turn is not
	// taken for new input.
	Update string `json:"update,omitempty"`
	// Outbox holds the replies of saved turns that are not delivered yet,
	// oldest first (see Pending): a turn saves its replies with its new
	// state and removes each one once delivered, so a crash loses none.
	Outbox []Pending `json:"outbox,omitempty"`
	// PendingStart is a start event the engine held back while it asks
	// "Continue where I left off" or "Start over" (startagain.go).
	PendingStart *PendingStart `json:"pending_start,omitempty"`
	// Data is the flow's own JSON-encoded data.
	Data json.RawMessage `json:"data,omitempty"`
}

// Deadline returns the instant the engine's sweeper must look at the
// session: the earliest of ExpiresAt and a non-zero WakeAt, and, while the
// outbox holds replies, UpdatedAt plus a grace of 10 s (the sweeper then
// delivers what a crash left behind). A done session with an empty outbox
// has no deadline (zero time).
func (s *Session) Deadline() time.Time {
	var d time.Time
	if !s.Done {
		d = s.ExpiresAt
		if !s.WakeAt.IsZero() && s.WakeAt.Before(d) {
			d = s.WakeAt
		}
	}
	if len(s.Outbox) > 0 && !s.UpdatedAt.IsZero() {
		if o := s.UpdatedAt.Add(redeliveryGrace); d.IsZero() || o.Before(d) {
			d = o
		}
	}
	return d
}

// Errors of a Store.
var (
	// ErrNoSession is returned by Store.Load when the conversation has no
	// session.
	ErrNoSession = errors.New("bot: no session for this conversation")
	// ErrConflict is returned by Store.Save when the stored version is not
	// the session's Version: somebody else saved in between.
	ErrConflict = errors.New("bot: session changed concurrently")
)

// Store persists sessions and the ids of processed updates. Implementations
// must be safe for concurrent use and durable once a call returns
// (fsync'ed). internal/store/storetest holds the conformance suite.
type Store interface {
	// Load returns the session of conversation c, or ErrNoSession.
	Load(ctx context.Context, c Conversation) (*Session, error)

	// Save writes s if the stored version equals s.Version (0 for a new
	// session) and then increments s.Version; otherwise it returns
	// ErrConflict and writes nothing. When updateID is not empty it records
	// (s.Conversation.Channel, updateID) as processed in the same
	// transaction.
	Save(ctx context.Context, s *Session, updateID string) error

	// MarkSeen records (channel, updateID) as processed without a session
	// change.
	MarkSeen(ctx context.Context, channel, updateID string) error

	// Seen reports whether (channel, updateID) was recorded as processed.
	Seen(ctx context.Context, channel, updateID string) (bool, error)

	// Due returns up to limit conversations whose session is not done (or
	// still has replies in its outbox) and whose Deadline is at or before
	// now, earliest first.
	Due(ctx context.Context, now time.Time, limit int) ([]Conversation, error)

	// Delete removes the session of c; deleting a missing one is no error.
	Delete(ctx context.Context, c Conversation) error

	// Close releases the store; calls after Close fail.
	Close() error
}

// TurnLocker is implemented by a Store that several guidedfix processes
// share (package etcdstore): the engine then takes a conversation's turn
// lock across processes around every turn, so that turns of one
// conversation run one at a time in arrival order on any replica, and a
// deadline is acted on by one replica only. A Store without it is used by
// one process, whose in-memory queue suffices.
type TurnLocker interface {
	// LockTurn takes conversation c's lock. With wait it blocks until the
	// lock is free (or ctx ends, returning its error); without, ok is
	// false when another process holds it. unlock releases it. A lock
	// whose holder died is freed after the store's lease TTL.
	LockTurn(ctx context.Context, c Conversation, wait bool) (unlock func(), ok bool, err error)
}
