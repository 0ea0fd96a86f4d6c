package bot

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"guidedfix/internal/corr"
)

// Ids of the engine's own messages (bot/locales), for adapters that show
// some of them differently (e.g. MsgStaleButton as a callback answer).
const (
	// MsgStaleButton answers a button, modal or secret from an earlier step.
	MsgStaleButton = "engine.stale_button"
	// MsgNoSession answers input when no flow is running.
	MsgNoSession = "engine.no_session"
	// MsgNotOwner answers someone else's input in another user's flow.
	MsgNotOwner = "engine.not_owner"
	// MsgInternalError answers a turn that failed.
	MsgInternalError = "engine.internal_error"
	// MsgDeleteFailed asks the user to delete a secret message themselves.
	MsgDeleteFailed = "engine.delete_failed"
	// MsgDeleteUserSecret is the id of the OpDelete reply that removes the
	// user's message holding a secret.
	MsgDeleteUserSecret = "engine.delete_user_secret"
)

//go:embed locales/*.yaml
var engineMessages embed.FS

// Flow is a guided fix: a state machine over a Session. Flows are
// registered with the engine (Options.Flows); the engine never imports one.
type Flow interface {
	// Name returns the flow's stable name, stored in every session it runs.
	Name() string
	// Start begins a new session: t.Session is fresh (empty State) and
	// t.Event is the event that started it (KindStart or a command).
	Start(ctx context.Context, t *Turn) error
	// Handle runs the handler of t.Session.State for t.Event: user input,
	// commands, pressed buttons (Event.Data holds the action), secrets and
	// KindTimer wake-ups.
	Handle(ctx context.Context, t *Turn) error
	// Expire ends a session whose idle deadline passed: it releases what
	// the flow holds (pending enrollments, sensitive messages) and tells
	// the user. The engine marks the session done afterwards, unless the
	// flow asked for a wake-up (Turn.WakeAt) to finish later.
	Expire(ctx context.Context, t *Turn) error
}

// MessageSource is implemented by flows that bring their own catalog
// files; the engine loads them into its Catalog at New.
type MessageSource interface {
	// Messages returns the file system and paths of the flow's YAML
	// message files (see Catalog.Load).
	Messages() (fs.FS, []string)
}

// Hook names a point inside a turn where Options.Hook is called: the
// crash points of the durability tests (DESIGN.md "persist, then call").
type Hook string

const (
	// HookCheckpoint fires after a Checkpoint saved, before the flow's
	// portal call.
	HookCheckpoint Hook = "checkpoint"
	// HookSaved fires after the turn's final save, before delivery.
	HookSaved Hook = "saved"
	// HookDelivered fires after each reply was delivered.
	HookDelivered Hook = "delivered"
)

type hooks func(Hook, *Session)

func (h hooks) fire(p Hook, s *Session) {
	if h != nil {
		h(p, s)
	}
}

// Options configure an Engine.
type Options struct {
	// Store persists sessions (required).
	Store Store
	// Flows are the flows the engine runs; the first is the default flow
	// that /start and KindStart events begin (at least one).
	Flows []Flow
	// StartCommands are the commands (without "/") that start the default
	// flow; default "start" and "2fa".
	StartCommands []string
	// IdleTimeout is how long a session may wait for the user before it
	// expires; default 15 minutes.
	IdleTimeout time.Duration
	// MaxDuration is how long a session may last at most from its start,
	// however active (NIST SP 800-63B rev. 4 draft §6.1.2.1: 20 minutes);
	// default 20 minutes.
	MaxDuration time.Duration
	// Now returns the current time; default time.Now. It is read once per
	// turn.
	Now func() time.Time
	// Logger receives operator logs; default slog.Default(). Secrets never
	// reach it.
	Logger *slog.Logger
	// Hook, if set, is called at the named points of every turn (tests).
	Hook func(Hook, *Session)
	// Observer, if set, is called after every saved turn that changed a
	// session's state (audit log, support threads). It runs inside the
	// conversation's turn, so it must be quick and must not call the
	// engine for the same conversation.
	Observer func(context.Context, Transition)
	// Support, if set, offers "Talk to a person" on every prompt and lets
	// staff take a conversation over (TakeOver, AgentSay, HandBack).
	Support Support
	// Meter, if set, receives turn latencies and the sweeper's numbers
	// (metrics).
	Meter Meter
}

// Engine runs flows for events from any number of adapters. It is safe for
// concurrent use: events of one conversation are handled one at a time in
// arrival order, events of different conversations in parallel.
type Engine struct {
	store      Store
	flows      map[string]Flow
	defaultFlw Flow
	startCmds  map[string]bool
	commands   []string // start commands in order, then the engine's own
	idle       time.Duration
	maxLife    time.Duration
	now        func() time.Time
	log        *slog.Logger
	hooks      hooks
	observer   func(context.Context, Transition)
	support    Support
	meter      Meter
	catalog    *Catalog
	queue      keyedQueue
	mu         sync.RWMutex
	deliverers map[string]Deliverer
}

// New returns an engine for opts. It returns an error when opts has no
// store or no flow, or a flow's message files do not load.
func New(opts Options) (*Engine, error) {
	if opts.Store == nil || len(opts.Flows) == 0 {
		return nil, errors.New("bot: engine needs a store and at least one flow")
	}
	e := &Engine{
		store:      opts.Store,
		flows:      map[string]Flow{},
		defaultFlw: opts.Flows[0],
		startCmds:  map[string]bool{},
		idle:       opts.IdleTimeout,
		maxLife:    opts.MaxDuration,
		now:        opts.Now,
		log:        opts.Logger,
		hooks:      opts.Hook,
		observer:   opts.Observer,
		support:    opts.Support,
		meter:      opts.Meter,
		catalog:    NewCatalog(),
		deliverers: map[string]Deliverer{},
	}
	if e.idle <= 0 {
		e.idle = 15 * time.Minute
	}
	if e.maxLife <= 0 {
		e.maxLife = 20 * time.Minute
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.meter == nil {
		e.meter = noMeter{}
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	cmds := opts.StartCommands
	if len(cmds) == 0 {
		cmds = []string{"start", "2fa"}
	}
	for _, c := range cmds {
		c = strings.ToLower(c)
		if !e.startCmds[c] {
			e.commands = append(e.commands, c)
		}
		e.startCmds[c] = true
	}
	e.commands = append(e.commands, "cancel", "help")
	if err := e.catalog.Load(engineMessages, "locales/en.yaml", "locales/ms.yaml"); err != nil {
		return nil, err
	}
	for _, f := range opts.Flows {
		e.flows[f.Name()] = f
		if ms, ok := f.(MessageSource); ok {
			fsys, paths := ms.Messages()
			if err := e.catalog.Load(fsys, paths...); err != nil {
				return nil, err
			}
		}
	}
	return e, nil
}

// Catalog returns the engine's message catalog (engine and flow texts).
func (e *Engine) Catalog() *Catalog { return e.catalog }

// Register makes d the deliverer of replies for conversations on channel
// (e.g. "telegram"). Registering a channel again replaces its deliverer.
func (e *Engine) Register(channel string, d Deliverer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deliverers[channel] = d
}

func (e *Engine) deliverer(channel string) Deliverer {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.deliverers[channel]
}

// Handle processes one event to the end: de-duplication by UpdateID, the
// flow's handler, saving the session, then delivering the replies through
// the channel's Deliverer. Events of one conversation wait for each other
// and run in the order Handle was called.
//
// It returns nil for a duplicate, stale or refused event (the user got a
// reply where one is due) and an error when the store or the flow failed;
// then the update is not recorded as processed, so a redelivery retries.
func (e *Engine) Handle(ctx context.Context, ev Event) error {
	unlock := e.queue.lock(ev.Conversation.String())
	defer unlock()
	return e.turn(ctx, ev)
}

// Dispatch queues ev behind the events of its conversation already queued
// (the place in line is taken before Dispatch returns) and handles it in a
// new goroutine, so an adapter reading updates in one goroutine keeps each
// conversation's order while conversations run in parallel. done, if not
// nil, receives Handle's result.
func (e *Engine) Dispatch(ctx context.Context, ev Event, done func(error)) {
	wait, unlock := e.queue.ticket(ev.Conversation.String())
	go func() {
		<-wait
		err := e.turn(ctx, ev)
		unlock()
		if done != nil {
			done(err)
		}
	}()
}

// ErrTurnFailed is wrapped by the error Handle and Dispatch return when a
// turn failed after the engine had answered the user with
// MsgInternalError ("please try again"): the session kept its state, so
// an adapter goes on reading the conversation (the console does not end
// the demo; a retry of the same step can succeed).
var ErrTurnFailed = errors.New("bot: turn failed")

// ErrPanic is wrapped by the error Handle, Dispatch and Sweep return when a
// flow panicked; the panic is logged with its stack and the process goes on.
var ErrPanic = errors.New("bot: flow panicked")

// recoverTurn turns a panic of the current turn into an error wrapping
// ErrPanic.
func (e *Engine) recoverTurn(conv Conversation, err *error) {
	if r := recover(); r != nil {
		e.log.Error("turn panicked", "conversation", conv.String(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*err = fmt.Errorf("%w: %v", ErrPanic, r)
	}
}

// maxTurnRuns is how often turn runs an event whose save lost a race
// against another process (ErrConflict) before it gives up.
const maxTurnRuns = 4

// errTurnBusy is returned by wake when another process holds the
// conversation's turn lock: that process runs the deadline.
var errTurnBusy = errors.New("bot: conversation busy in another process")

// lockTurn takes c's cross-process turn lock when the store has one
// (TurnLocker); without one it returns a no-op at once.
func (e *Engine) lockTurn(ctx context.Context, c Conversation, wait bool) (unlock func(), ok bool, err error) {
	l, shared := e.store.(TurnLocker)
	if !shared {
		return func() {}, true, nil
	}
	unlock, ok, err = l.LockTurn(ctx, c, wait)
	if err != nil {
		return nil, false, fmt.Errorf("lock conversation %s: %w", c, err)
	}
	return unlock, ok, nil
}

// turn handles ev under the store's cross-process turn lock, if any, and
// runs it again on the stored session when a save lost a race
// (ErrConflict: another process saved the session in between, e.g. after
// this one's lock lease lapsed): a lost race is re-read and re-run, never
// overwritten. The caller holds the conversation's place in the queue.
func (e *Engine) turn(ctx context.Context, ev Event) error {
	unlock, _, err := e.lockTurn(ctx, ev.Conversation, true)
	if err != nil {
		return err
	}
	defer unlock()
	for run := 1; ; run++ {
		err := e.handleLocked(ctx, ev)
		if !errors.Is(err, ErrConflict) || run == maxTurnRuns {
			return err
		}
		e.log.Info("turn lost a race with another process; run again", "conversation", ev.Conversation.String(), "run", run)
	}
}

func (e *Engine) handleLocked(ctx context.Context, ev Event) (err error) {
	ctx = corr.Ensure(ctx)
	start := time.Now()
	defer func() {
		took := time.Since(start)
		e.meter.Turn(ev.Conversation.Channel, took, err)
		e.log.DebugContext(ctx, "turn handled", "event", ev, "took", took, "err", err)
	}()
	defer e.recoverTurn(ev.Conversation, &err)
	if ev.UpdateID != "" {
		seen, err := e.store.Seen(ctx, ev.Conversation.Channel, ev.UpdateID)
		if err != nil {
			return fmt.Errorf("check update %s: %w", ev.UpdateID, err)
		}
		if seen {
			// A redelivery: the turn was saved, but the process may have
			// stopped before delivering all of its replies.
			e.log.DebugContext(ctx, "duplicate update ignored", "event", ev)
			return e.flushStored(ctx, ev.Conversation)
		}
	}
	now := e.now().UTC()
	s, err := e.store.Load(ctx, ev.Conversation)
	switch {
	case errors.Is(err, ErrNoSession):
		s = nil
	case err != nil:
		return fmt.Errorf("load session %s: %w", ev.Conversation, err)
	}
	if s != nil {
		// Replies a crash left behind go out before this event's.
		if err := e.deliverOutbox(ctx, s, nil); err != nil {
			return err
		}
	}
	justExpired := false
	if s != nil && !s.Done && !now.Before(s.ExpiresAt) {
		if err := e.expire(ctx, s, now); err != nil {
			return err
		}
		justExpired = true
	}
	if (s == nil || s.Done) && ev.Kind == KindBlocked {
		// Nothing runs: no session to end, and no reply could be read.
		if ev.UpdateID == "" {
			return nil
		}
		return e.store.MarkSeen(ctx, ev.Conversation.Channel, ev.UpdateID)
	}
	if s == nil || s.Done {
		return e.handleIdle(ctx, ev, now, s, justExpired)
	}
	if ev.UserID != "" && s.UserID != "" && ev.UserID != s.UserID {
		return e.answerOnly(ctx, ev, s.Locale, MsgNotOwner)
	}
	t := &Turn{Event: ev, Now: now, Session: s, engine: e, wake: s.WakeAt, from: s.State}
	if ev.Kind == KindCommand && e.startCmds[ev.Command] {
		t.Event.Kind, t.Event.Data = KindStart, ev.Text
	}
	s.Parked = ev.Kind == KindBlocked // nothing can be delivered any more
	if s.Agent != "" && t.Event.Kind != KindCommand && t.Event.Kind != KindBlocked {
		return e.relayTurn(ctx, t)
	}
	// The update whose turn a crash interrupted after a checkpoint, delivered
	// again: it resumes that turn, although the step moved on meanwhile.
	resumed := ev.UpdateID != "" && ev.UpdateID == s.Update
	switch ev.Kind {
	case KindButton:
		action, ok := e.checkButton(s, ev.Data)
		if !ok && resumed {
			action, _, _ = strings.Cut(ev.Data, "|")
			ok = true
		}
		if !ok {
			return e.answerOnly(ctx, ev, s.Locale, MsgStaleButton)
		}
		if action == actionHuman && e.support != nil {
			return e.escalate(ctx, t)
		}
		t.Event.Data = action
	case KindSecret:
		if !resumed && (s.Expect == SecretNone || (ev.Data != "" && ev.Data != e.nonce(s))) {
			return e.answerOnly(ctx, ev, s.Locale, MsgStaleButton)
		}
	case KindText:
		if s.Expect != SecretNone && ev.Undeletable {
			return e.refuseTypedSecret(ctx, ev, s)
		}
		if s.Expect != SecretNone {
			t.Event.Kind = KindSecret
			t.Event.Secret = Secret(ev.Text)
			t.Event.Text = ""
			if ev.MessageID != "" {
				t.Send(Reply{Op: OpDelete, MessageID: ev.MessageID, ID: MsgDeleteUserSecret})
			}
		}
	case KindUnsupported:
		// A caption or an edit may hold the secret the prompt asked for:
		// delete it all the same.
		if s.Expect != SecretNone && ev.MessageID != "" {
			t.Send(Reply{Op: OpDelete, MessageID: ev.MessageID, ID: MsgDeleteUserSecret})
		}
	}
	s.ExpiresAt = e.expiry(s, now)
	t.wake = time.Time{}
	f, ok := e.flows[s.Flow]
	if !ok {
		return fmt.Errorf("session %s runs unknown flow %q", s.ID, s.Flow)
	}
	if err := f.Handle(ctx, t); err != nil {
		return e.failTurn(ctx, t, err)
	}
	if t.restart {
		s.Done = true
		if err := e.finish(ctx, t, ""); err != nil {
			return err
		}
		return e.handleIdle(ctx, ev, now, s, false)
	}
	return e.finish(ctx, t, ev.UpdateID)
}

// handleIdle answers an event for a conversation with no active session:
// start commands begin the default flow, anything else gets a hint.
// old is the conversation's done session, if any; justExpired says the
// flow has just told the user it expired, so no second hint is sent.
func (e *Engine) handleIdle(ctx context.Context, ev Event, now time.Time, old *Session, justExpired bool) error {
	if !e.starts(ev) {
		if justExpired {
			if ev.UpdateID == "" {
				return nil
			}
			return e.store.MarkSeen(ctx, ev.Conversation.Channel, ev.UpdateID)
		}
		id := MsgNoSession
		switch {
		case ev.Kind == KindButton || ev.Kind == KindSecret:
			id = MsgStaleButton
		case ev.Kind == KindCommand && ev.Command == "help":
			id = "engine.help_idle"
		case ev.Kind == KindUnsupported:
			id = "engine.unsupported_idle"
		}
		return e.answerOnly(ctx, ev, ev.Locale, id)
	}
	s := &Session{
		ID:           newID(),
		Conversation: ev.Conversation,
		UserID:       ev.UserID,
		Flow:         e.defaultFlw.Name(),
		FlowVersion:  1,
		Locale:       ev.Locale,
		IssuedAt:     now,
		UpdatedAt:    now,
	}
	s.ExpiresAt = e.expiry(s, now)
	// Carry the version over so that Save's compare-and-swap sees the
	// stored (done) session it replaces, and the step so that the old
	// session's buttons stay stale.
	if old != nil {
		s.Version = old.Version
		s.Step = old.Step + 1
	}
	t := &Turn{Event: ev, Now: now, Session: s, engine: e}
	if err := e.defaultFlw.Start(ctx, t); err != nil {
		return e.failTurn(ctx, t, err)
	}
	return e.finish(ctx, t, ev.UpdateID)
}

// expiry is the session's deadline after a user event at now: IdleTimeout
// later, but no later than MaxDuration after the session started.
func (e *Engine) expiry(s *Session, now time.Time) time.Time {
	idle, limit := now.Add(e.idle), s.IssuedAt.Add(e.maxLife)
	if limit.Before(idle) {
		return limit
	}
	return idle
}

// starts reports whether ev begins the default flow: a KindStart event or
// one of the start commands.
func (e *Engine) starts(ev Event) bool {
	return ev.Kind == KindStart || (ev.Kind == KindCommand && e.startCmds[ev.Command])
}

// expire runs the flow's Expire for s and saves it as done.
func (e *Engine) expire(ctx context.Context, s *Session, now time.Time) error {
	f, ok := e.flows[s.Flow]
	t := &Turn{Event: Event{Conversation: s.Conversation, Kind: KindTimer}, Now: now, Session: s, engine: e, from: s.State}
	if ok {
		if err := f.Expire(ctx, t); err != nil {
			e.log.ErrorContext(ctx, "expire failed", "session", s.ID, "err", err)
		}
	}
	switch {
	case s.Done:
	case t.wake.IsZero():
		s.Done = true
	default:
		// The flow could not finish yet (e.g. a compensation to retry):
		// the session stays until its wake-up.
		s.ExpiresAt = t.wake
	}
	return e.finish(ctx, t, "")
}

// failTurn reports a flow error to the user without saving the turn.
func (e *Engine) failTurn(ctx context.Context, t *Turn, err error) error {
	if errors.Is(err, ErrConflict) {
		// Another process saved first: the turn runs again (see turn).
		return err
	}
	e.log.ErrorContext(ctx, "turn failed", "session", t.Session.ID, "state", t.Session.State, "event", t.Event, "err", err)
	r := Reply{Op: OpSend, ID: MsgInternalError, Text: e.catalog.Text(t.Session.Locale, MsgInternalError, nil)}
	if d := e.deliverer(t.Session.Conversation.Channel); d != nil {
		// The user's message that held a secret is deleted all the same.
		for _, q := range append(t.staged, t.replies...) {
			if q.Op == OpDelete && q.ID == MsgDeleteUserSecret && q.MessageID != "" {
				if _, derr := d.Deliver(ctx, t.Session.Conversation, q); derr != nil && !errors.Is(derr, ErrMessageGone) {
					e.log.WarnContext(ctx, "deliver failed", "reply", q, "err", derr)
				}
			}
		}
		if _, derr := d.Deliver(ctx, t.Session.Conversation, r); derr != nil {
			e.log.WarnContext(ctx, "deliver failed", "reply", r, "err", derr)
		}
	}
	return fmt.Errorf("%w: %w", ErrTurnFailed, err)
}

// answerOnly replies with one engine message and records the update as
// processed without touching any session.
func (e *Engine) answerOnly(ctx context.Context, ev Event, locale, id string) error {
	if ev.UpdateID != "" {
		if err := e.store.MarkSeen(ctx, ev.Conversation.Channel, ev.UpdateID); err != nil {
			return err
		}
	}
	d := e.deliverer(ev.Conversation.Channel)
	if d == nil {
		return fmt.Errorf("no deliverer for channel %q", ev.Conversation.Channel)
	}
	r := Reply{Op: OpSend, ID: id, Text: e.catalog.TextFor(locale, ev.Conversation.Channel, id, nil)}
	if _, err := d.Deliver(ctx, ev.Conversation, r); err != nil && !errors.Is(err, ErrBlocked) {
		e.log.WarnContext(ctx, "deliver failed", "reply", r, "err", err)
	}
	return nil
}

// finish saves the turn's session (recording updateID) with its replies
// in the outbox, then delivers them (see deliverOutbox).
func (e *Engine) finish(ctx context.Context, t *Turn, updateID string) error {
	s := t.Session
	s.WakeAt = t.wake
	s.UpdatedAt = t.Now
	e.addHumanButton(t)
	e.stage(t)
	if pending := s.Update; pending != "" {
		// This turn finishes a step a checkpoint saved for another update
		// (a crash interrupted it): that update is processed too.
		s.Update = ""
		switch {
		case updateID == "":
			updateID = pending
		case pending != updateID:
			if err := e.store.MarkSeen(ctx, s.Conversation.Channel, pending); err != nil {
				return fmt.Errorf("record update %s: %w", pending, err)
			}
		}
	}
	if err := e.store.Save(ctx, s, updateID); err != nil {
		return fmt.Errorf("save session %s: %w", s.ID, err)
	}
	e.hooks.fire(HookSaved, s)
	e.observe(ctx, t)
	live := t.staged
	t.staged = nil
	return e.deliverOutbox(ctx, s, live)
}

// checkButton splits button data "action|nonce" and reports whether the
// nonce is the session's current one and the action one that the current
// step's replies offered (Session.Offered): a client may send any
// callback data (Bot API), so an action never offered is refused like a
// stale button (issue 11 item 6).
func (e *Engine) checkButton(s *Session, data string) (string, bool) {
	action, nonce, ok := strings.Cut(data, "|")
	if !ok || nonce != e.nonce(s) {
		return "", false
	}
	if s.OfferedStep != s.Step || !slices.Contains(s.Offered, action) {
		e.log.Warn("button action not offered by the current step refused", "session", s.ID, "step", s.Step)
		return "", false
	}
	return action, true
}

// nonce identifies the session's current step in button data: 4 characters
// of the session id and the step number in base 36.
func (e *Engine) nonce(s *Session) string {
	id := s.ID
	if len(id) > 4 {
		id = id[:4]
	}
	return id + strconv.FormatInt(int64(s.Step), 36)
}

// Nonce returns the current step's nonce of s, the value adapters that
// keep their own state (Slack modals) put in Event.Data of a KindSecret
// event so a stale modal is recognised.
func (e *Engine) Nonce(s *Session) string { return e.nonce(s) }

// Sweep runs the deadlines that have come: sessions idle past ExpiresAt
// expire, sessions whose WakeAt has come get a KindTimer turn. It handles at
// most limit sessions and returns how many it handled.
func (e *Engine) Sweep(ctx context.Context, limit int) (int, error) {
	now := e.now().UTC()
	start := time.Now()
	due, err := e.store.Due(ctx, now, limit)
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	defer func() { e.meter.Sweep(len(due), time.Since(start)) }()
	n := 0
	for _, c := range due {
		if ctx.Err() != nil {
			break // shutting down: the next start sweeps again
		}
		if e.queue.busy(c.String()) {
			// A turn of c is running (its replies or checkpoint made it
			// due); it finishes them itself.
			continue
		}
		// A turn once begun runs to its end, also during a shutdown.
		if err := e.wake(context.WithoutCancel(ctx), c); errors.Is(err, errTurnBusy) {
			continue
		} else if err != nil {
			e.log.ErrorContext(ctx, "sweep turn failed", "conversation", c.String(), "err", err)
			continue
		}
		n++
	}
	return n, nil
}

func (e *Engine) wake(ctx context.Context, c Conversation) (err error) {
	ctx = corr.Ensure(ctx)
	unlock := e.queue.lock(c.String())
	defer unlock()
	defer e.recoverTurn(c, &err)
	// Every replica sweeps the shared store; the one that gets the lock
	// acts, and reads the session (and its deadline) after taking it.
	unlockTurn, ok, err := e.lockTurn(ctx, c, false)
	if err != nil {
		return err
	}
	if !ok {
		return errTurnBusy
	}
	defer unlockTurn()
	s, err := e.store.Load(ctx, c)
	if err != nil {
		return err
	}
	if e.deliverer(c.Channel) == nil {
		return e.wakeUnserved(ctx, s)
	}
	if err := e.deliverOutbox(ctx, s, nil); err != nil {
		return err
	}
	return e.runDeadline(ctx, s)
}

// runDeadline expires s or gives it its KindTimer turn when that time has
// come; otherwise it does nothing.
func (e *Engine) runDeadline(ctx context.Context, s *Session) error {
	now := e.now().UTC()
	if s.Done {
		return nil
	}
	if !now.Before(s.ExpiresAt) {
		e.meter.Deadline(now.Sub(s.ExpiresAt))
		return e.expire(ctx, s, now)
	}
	if s.WakeAt.IsZero() || now.Before(s.WakeAt) {
		return nil
	}
	e.meter.Deadline(now.Sub(s.WakeAt))
	f, ok := e.flows[s.Flow]
	if !ok {
		return fmt.Errorf("session %s runs unknown flow %q", s.ID, s.Flow)
	}
	t := &Turn{Event: Event{Conversation: s.Conversation, Kind: KindTimer}, Now: now, Session: s, engine: e, from: s.State}
	if err := f.Handle(ctx, t); err != nil {
		return e.failTurn(ctx, t, err)
	}
	return e.finish(ctx, t, "")
}

// wakeUnserved handles a due session of a channel no adapter serves here
// (a platform turned off in the configuration, or the console while serve
// runs). Its deadlines still run, so an abandoned change ends and the flow
// undoes what it must (an SMS factor switched off is restored); the
// replies, which nobody can deliver, are dropped, so that the session
// leaves the sweep instead of coming back every time.
func (e *Engine) wakeUnserved(ctx context.Context, s *Session) error {
	if err := e.runDeadline(ctx, s); err != nil {
		return err
	}
	s, err := e.store.Load(ctx, s.Conversation)
	if err != nil || len(s.Outbox) == 0 {
		return err
	}
	e.log.WarnContext(ctx, "no adapter serves this channel: replies dropped", "channel", s.Conversation.Channel, "session", s.ID, "replies", len(s.Outbox))
	s.Outbox = nil
	return e.store.Save(ctx, s, "")
}

// Run sweeps once at once (resuming what a restart interrupted) and then
// every interval until ctx is done. It returns ctx.Err().
func (e *Engine) Run(ctx context.Context, interval time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for {
			n, err := e.Sweep(ctx, 100)
			if err != nil {
				e.log.ErrorContext(ctx, "sweep failed", "err", err)
			}
			if n < 100 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Session returns the stored session of c, for adapters and tests; it
// returns ErrNoSession when there is none.
func (e *Engine) Session(ctx context.Context, c Conversation) (*Session, error) {
	return e.store.Load(ctx, c)
}

// Queued returns how many events of conversation c wait behind the one
// being handled (0 when it is idle or handling its only event).
func (e *Engine) Queued(c Conversation) int {
	e.queue.mu.Lock()
	defer e.queue.mu.Unlock()
	if w, ok := e.queue.m[c.String()]; ok {
		return len(w.waiting)
	}
	return 0
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// keyedQueue is a per-key FIFO lock: callers of lock(k) get the key one at
// a time, in the order they called.
type keyedQueue struct {
	mu sync.Mutex
	m  map[string]*keyWaiters
}

type keyWaiters struct{ waiting []chan struct{} }

func (q *keyedQueue) lock(k string) (unlock func()) {
	wait, unlock := q.ticket(k)
	<-wait
	return unlock
}

// busy reports whether some caller holds or waits for k.
func (q *keyedQueue) busy(k string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.m[k]
	return ok
}

// ticket takes a place in k's line now; wait is closed when it is this
// caller's turn, and unlock hands the key to the next in line.
func (q *keyedQueue) ticket(k string) (wait <-chan struct{}, unlock func()) {
	q.mu.Lock()
	if q.m == nil {
		q.m = map[string]*keyWaiters{}
	}
	ch := make(chan struct{})
	if w, busy := q.m[k]; busy {
		w.waiting = append(w.waiting, ch)
	} else {
		q.m[k] = &keyWaiters{}
		close(ch)
	}
	q.mu.Unlock()
	return ch, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		w := q.m[k]
		if len(w.waiting) == 0 {
			delete(q.m, k)
			return
		}
		next := w.waiting[0]
		w.waiting = w.waiting[1:]
		close(next)
	}
}
