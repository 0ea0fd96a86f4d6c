package bot

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"guidedfix/internal/corr"
)

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
	// Commands are case-insensitive (/NEWPHONE is /newphone), whichever
	// adapter parsed them.
	ev.Command = strings.ToLower(ev.Command)
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
	if isLanguageEvent(ev) {
		return e.languageTurn(ctx, ev, s)
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
	if e.holdsStart(t, resumed) {
		return e.askStartAgain(ctx, t, ev)
	}
	answered := false // a start-again button
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
		if start, ok := answerStartAgain(t, ev, action); ok {
			answered = true
			if start.Kind != "" {
				// A restart then begins the flow this start names, or
				// the session's own (routeRestart).
				ev = start
			}
			break
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
	var closed []Reply // the start-again question, answered by the step
	if !answered && answersStep(t.Event) {
		if r, ok := continueStartAgain(t); ok && ev.Kind == KindButton {
			closed = append(closed, r)
		} else if ok {
			t.Send(r)
		}
	}
	if err := f.Handle(ctx, t); err != nil {
		return e.failTurn(ctx, t, err)
	}
	for _, r := range closed {
		t.Send(r)
	}
	if t.restart {
		s.Done = true
		if err := e.finish(ctx, t, ""); err != nil {
			return err
		}
		if !e.starts(ev) {
			return e.handleIdle(ctx, ev, now, s, false)
		}
		d, payload := e.routeRestart(s, ev)
		return e.begin(ctx, ev, now, s, e.localeOf(ctx, ev), d, payload)
	}
	return e.finish(ctx, t, ev.UpdateID)
}

// handleIdle answers an event for a conversation with no active session:
// start events begin the flow Route picks, anything else gets a hint.
// old is the conversation's done session, if any; justExpired says the
// flow has just told the user it expired, so no second hint is sent.
func (e *Engine) handleIdle(ctx context.Context, ev Event, now time.Time, old *Session, justExpired bool) error {
	if isLanguageEvent(ev) {
		return e.languageTurn(ctx, ev, nil)
	}
	locale := e.localeOf(ctx, ev)
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
			return e.replyOnly(ctx, ev, Reply{Op: OpSend, ID: MsgHelpIdle, Text: e.helpIdle(locale, ev.Conversation.Channel)})
		case ev.Kind == KindUnsupported:
			id = "engine.unsupported_idle"
		}
		return e.answerOnly(ctx, ev, locale, id)
	}
	d, payload := e.route(ev)
	return e.begin(ctx, ev, now, old, locale, d, payload)
}

// begin starts flow d for the start event ev in a new session (locale
// its language) with payload as the flow's Event.Data; old is the
// conversation's done session, if any.
func (e *Engine) begin(ctx context.Context, ev Event, now time.Time, old *Session, locale string, d Descriptor, payload string) error {
	s := &Session{
		ID:           newID(),
		Conversation: ev.Conversation,
		UserID:       ev.UserID,
		Flow:         d.Name,
		FlowVersion:  d.Version,
		Locale:       locale,
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
	t.Event.Data = payload
	if err := e.flows[d.Name].Start(ctx, t); err != nil {
		return e.failTurn(ctx, t, err)
	}
	return e.finish(ctx, t, ev.UpdateID)
}

// starts reports whether ev begins a flow: a KindStart event or one of
// the start commands.
func (e *Engine) starts(ev Event) bool {
	return ev.Kind == KindStart || (ev.Kind == KindCommand && e.startCmds[ev.Command])
}

// failTurn reports a flow error to the user without saving the turn.
func (e *Engine) failTurn(ctx context.Context, t *Turn, err error) error {
	if errors.Is(err, ErrConflict) {
		// Another process saved first: the turn runs again (see turn).
		return err
	}
	e.log.ErrorContext(ctx, "turn failed", "session", t.Session.ID, "state", t.Session.State, "event", t.Event, "err", err)
	r := Reply{Op: OpSend, ID: MsgInternalError, Text: e.Text(t.Session.Locale, t.Session.Conversation.Channel, MsgInternalError, nil)}
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
	return e.replyOnly(ctx, ev, Reply{Op: OpSend, ID: id, Text: e.Text(locale, ev.Conversation.Channel, id, nil)})
}

// replyOnly records ev's update as processed and delivers r to ev's
// conversation without touching any session; a failed delivery is logged
// (a blocked bot silently). It returns the store's error, or one when the
// channel has no deliverer.
func (e *Engine) replyOnly(ctx context.Context, ev Event, r Reply) error {
	if ev.UpdateID != "" {
		if err := e.store.MarkSeen(ctx, ev.Conversation.Channel, ev.UpdateID); err != nil {
			return err
		}
	}
	d := e.deliverer(ev.Conversation.Channel)
	if d == nil {
		return fmt.Errorf("no deliverer for channel %q", ev.Conversation.Channel)
	}
	if _, err := d.Deliver(ctx, ev.Conversation, r); err != nil && !errors.Is(err, ErrBlocked) {
		e.log.WarnContext(ctx, "deliver failed", "reply", r, "err", err)
	}
	return nil
}

// finish saves the turn's session (recording updateID) with its replies
// in the outbox, then delivers them (see deliverOutbox).
func (e *Engine) finish(ctx context.Context, t *Turn, updateID string) error {
	if t.unlisted != nil {
		return e.failTurn(ctx, t, t.unlisted)
	}
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
