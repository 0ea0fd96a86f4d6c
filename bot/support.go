package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"guidedfix/internal/portal"
)

// Transition is a saved change of a session's state, handed to
// Options.Observer after the turn's save.
type Transition struct {
	// Conversation and UserID say where and who.
	Conversation Conversation
	UserID       string
	// SessionID and Flow name the session.
	SessionID string
	Flow      string
	// From and To are the states before and after the turn (From is empty
	// for a new session).
	From, To State
	// Done says the session ended with this turn.
	Done bool
	// At is the turn's instant (UTC).
	At time.Time
	// Tags are a copy of the session's tags (account, hand-off, …).
	Tags map[string]string
}

// Support connects conversations to support staff: "Talk to a person"
// and the customer's side of a take-over. Implementations must be safe for
// concurrent use; they are called inside the conversation's turn.
type Support interface {
	// Escalate tells staff that the user of s asked for a person; s is a
	// copy (account and last error are in s.Tags). An error makes the
	// engine answer with MsgInternalError.
	Escalate(ctx context.Context, s Session) error
	// Relay forwards text the user wrote while agent s.Agent has the
	// conversation. It is never called for what LooksSecret finds; when
	// it finds a secret itself (the account's password inside a
	// sentence) it forwards WithheldNote instead and returns
	// ErrSecretWithheld, and the engine deletes the message.
	Relay(ctx context.Context, s Session, text string) error
}

// ErrSecretWithheld is returned by Support.Relay when the text held a
// secret and only WithheldNote was forwarded.
var ErrSecretWithheld = errors.New("bot: the relayed message held a secret and was withheld")

// Errors of the take-over methods.
var (
	// ErrNotActive is returned when the conversation has no active session.
	ErrNotActive = errors.New("bot: no guided fix is running in this conversation")
	// ErrNotTakenOver is returned by AgentSay and HandBack when no agent
	// has the conversation.
	ErrNotTakenOver = errors.New("bot: no agent has taken this conversation over")
	// ErrSupportUnreachable is wrapped by Support.Escalate's error when
	// staff cannot be reached at all (the support channel is missing or
	// the app is not in it): the user is told so (MsgSupportUnreachable)
	// instead of getting an internal error, and the flow stays where it is.
	ErrSupportUnreachable = errors.New("bot: support staff cannot be reached")
)

// actionHuman is the button action of "Talk to a person".
const actionHuman = "_human"

// Ids of the engine's support messages.
const (
	// MsgEscalated confirms "Talk to a person" to the user.
	MsgEscalated = "engine.escalated"
	// MsgSupportUnreachable answers "Talk to a person" when support staff
	// cannot be reached (ErrSupportUnreachable).
	MsgSupportUnreachable = "engine.support_unreachable"
	// MsgTakenOver tells the user an agent joined.
	MsgTakenOver = "engine.taken_over"
	// MsgAgentMessage carries an agent's text to the user.
	MsgAgentMessage = "engine.agent_message"
	// MsgHandedBack tells the user the guided steps continue.
	MsgHandedBack = "engine.handed_back"
	// MsgWithAgent answers buttons pressed while an agent has the chat.
	MsgWithAgent = "engine.with_agent"
	// MsgSecretWithheld tells the user that a message written while an
	// agent has the chat looked like a password or code, so it was
	// deleted and not passed on.
	MsgSecretWithheld = "engine.secret_withheld"
	// WithheldNote is what the agent gets instead of such a message.
	// (Support.Relay returns ErrSecretWithheld after posting it when it
	// found a secret the engine could not see.)
	WithheldNote = "[withheld: the customer sent something that looked like a password or a code; it was deleted]"
)

// addHumanButton offers "Talk to a person" under the turn's last reply
// that has buttons, when support is configured and no agent is there yet.
func (e *Engine) addHumanButton(t *Turn) {
	s := t.Session
	if e.support == nil || s.Done || s.Agent != "" {
		return
	}
	for i := len(t.replies) - 1; i >= 0; i-- {
		if len(t.replies[i].Buttons) > 0 {
			t.replies[i].Buttons = append(t.replies[i].Buttons, t.Button(MsgButtonHuman, actionHuman))
			return
		}
	}
}

// observe hands the turn's state change to the observer.
func (e *Engine) observe(ctx context.Context, t *Turn) {
	s := t.Session
	if e.observer == nil || (s.State == t.from && !s.Done) {
		return
	}
	tags := make(map[string]string, len(s.Tags))
	for k, v := range s.Tags {
		tags[k] = v
	}
	e.observer(ctx, Transition{Conversation: s.Conversation, UserID: s.UserID, SessionID: s.ID, Flow: s.Flow,
		From: t.from, To: s.State, Done: s.Done, At: t.Now, Tags: tags})
}

// escalate runs "Talk to a person": it tells Support and the user; the
// flow stays where it is.
func (e *Engine) escalate(ctx context.Context, t *Turn) error {
	if err := e.support.Escalate(ctx, *t.Session); errors.Is(err, ErrSupportUnreachable) {
		e.log.Error("escalation not posted: support is unreachable", "session", t.Session.ID, "err", err)
		t.Send(Reply{ID: MsgSupportUnreachable, Text: t.T(MsgSupportUnreachable, nil)})
		return e.finish(ctx, t, t.Event.UpdateID)
	} else if err != nil {
		return e.failTurn(ctx, t, fmt.Errorf("escalate: %w", err))
	}
	t.Send(Reply{ID: MsgEscalated, Text: t.T(MsgEscalated, nil)})
	return e.finish(ctx, t, t.Event.UpdateID)
}

// relayTurn handles the user's input while an agent has the conversation:
// text goes to the agent, anything else is answered with MsgWithAgent.
func (e *Engine) relayTurn(ctx context.Context, t *Turn) error {
	s := t.Session
	s.ExpiresAt = e.expiry(s, t.Now)
	if t.Event.Kind == KindText {
		text := t.Event.Text
		if LooksSecret(text, s.HeldExpect != SecretNone) {
			// The customer may be answering the prompt that was set aside:
			// the agent must never see it, and the chat must not keep it.
			if t.Event.MessageID != "" {
				t.Send(Reply{Op: OpDelete, MessageID: t.Event.MessageID, ID: MsgDeleteUserSecret})
			}
			t.Send(Reply{ID: MsgSecretWithheld, Text: t.T(MsgSecretWithheld, nil)})
			text = WithheldNote
		}
		err := e.support.Relay(ctx, *s, text)
		if errors.Is(err, ErrSecretWithheld) && text != WithheldNote {
			// Support found the account's password in the message (issue
			// 11 item 8b): delete it like a secret; the agent got a note.
			if t.Event.MessageID != "" {
				t.Send(Reply{Op: OpDelete, MessageID: t.Event.MessageID, ID: MsgDeleteUserSecret})
			}
			t.Send(Reply{ID: MsgSecretWithheld, Text: t.T(MsgSecretWithheld, nil)})
			err = nil
		}
		if err != nil {
			return e.failTurn(ctx, t, fmt.Errorf("relay: %w", err))
		}
	} else {
		t.Send(Reply{ID: MsgWithAgent, Text: t.T(MsgWithAgent, nil)})
	}
	return e.finish(ctx, t, t.Event.UpdateID)
}

// TakeOver gives the conversation c to agent (a display name): from now on
// the user's text is relayed to Support.Relay instead of the flow, and the
// flow's pending secret prompt is set aside, so nothing the user writes to
// the agent is taken for a password. It returns ErrNotActive when no flow
// is running and an error when support is not configured.
func (e *Engine) TakeOver(ctx context.Context, c Conversation, agent string) error {
	return e.agentTurn(ctx, c, func(t *Turn) error {
		s := t.Session
		if s.Agent == "" {
			s.HeldExpect, s.Expect = s.Expect, SecretNone
		}
		s.Agent = agent
		t.Send(Reply{ID: MsgTakenOver, Text: t.T(MsgTakenOver, map[string]any{"Agent": agent})})
		return nil
	})
}

// AgentSay delivers text from the agent who has conversation c to its
// user. It returns ErrNotTakenOver when no agent has it.
func (e *Engine) AgentSay(ctx context.Context, c Conversation, text string) error {
	return e.agentTurn(ctx, c, func(t *Turn) error {
		s := t.Session
		if s.Agent == "" {
			return ErrNotTakenOver
		}
		t.Send(Reply{ID: MsgAgentMessage, Text: t.T(MsgAgentMessage, map[string]any{"Agent": s.Agent, "Text": text})})
		return nil
	})
}

// HandBack returns conversation c from its agent to the flow, at the step
// where the user left it: the flow shows that step's prompt again (a
// KindResume event). It returns ErrNotTakenOver when no agent has it.
func (e *Engine) HandBack(ctx context.Context, c Conversation) error {
	return e.agentTurn(ctx, c, func(t *Turn) error {
		s := t.Session
		if s.Agent == "" {
			return ErrNotTakenOver
		}
		s.Agent, s.Expect, s.HeldExpect = "", s.HeldExpect, SecretNone
		t.Send(Reply{ID: MsgHandedBack, Text: t.T(MsgHandedBack, nil)})
		f, ok := e.flows[s.Flow]
		if !ok {
			return fmt.Errorf("session %s runs unknown flow %q", s.ID, s.Flow)
		}
		t.Event = Event{Conversation: c, UserID: s.UserID, Kind: KindResume}
		return f.Handle(ctx, t)
	})
}

// agentTurn runs fn as a turn of conversation c started by staff.
func (e *Engine) agentTurn(ctx context.Context, c Conversation, fn func(*Turn) error) (err error) {
	if e.support == nil {
		return errors.New("bot: support is not configured")
	}
	unlock := e.queue.lock(c.String())
	defer unlock()
	defer e.recoverTurn(c, &err)
	unlockTurn, _, err := e.lockTurn(ctx, c, true)
	if err != nil {
		return err
	}
	defer unlockTurn()
	s, err := e.store.Load(ctx, c)
	if errors.Is(err, ErrNoSession) {
		return ErrNotActive
	}
	if err != nil {
		return err
	}
	if err := e.deliverOutbox(ctx, s, nil); err != nil {
		return err
	}
	now := e.now().UTC()
	if s.Done || !now.Before(s.ExpiresAt) {
		return ErrNotActive
	}
	t := &Turn{Event: Event{Conversation: c}, Now: now, Session: s, engine: e, wake: s.WakeAt, from: s.State}
	s.ExpiresAt = e.expiry(s, now)
	if err := fn(t); err != nil {
		return err
	}
	return e.finish(ctx, t, "")
}

// LooksSecret reports whether text, written to an agent, may be a password
// or a code and so must not be relayed: after trimming it is one word of 8
// or more characters (the portal's shortest password), or it is a code
// alone (6 or more digits of any script, separated only by what the
// core's code normaliser drops, portal.IsCodeSeparator). An e-mail address or a web link of one word is relayed, unless
// promptHeld says the user was asked for a password or code when the agent
// took over: then any one word of 8 or more characters is withheld (a
// password may look like an address). A sentence that mentions a code is
// relayed with the digits masked by the Support side; a passphrase with
// spaces cannot be told from a sentence.
func LooksSecret(text string, promptHeld bool) bool {
	t := strings.TrimSpace(text)
	if t == "" {
		return false
	}
	if !strings.ContainsFunc(t, unicode.IsSpace) && utf8.RuneCountInString(t) >= 8 {
		lower := strings.ToLower(t)
		harmless := strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") || looksLikeEmail(t)
		return promptHeld || !harmless
	}
	digits := 0
	for _, r := range t {
		switch {
		case unicode.IsDigit(r):
			digits++
		case portal.IsCodeSeparator(r):
			// What the core's normaliser drops: any space (no-break,
			// thin, tab), hyphens and dashes (issue 11 item 8).
		default:
			return false
		}
	}
	return digits >= 6
}

// looksLikeEmail reports whether word is local@domain.tld.
func looksLikeEmail(word string) bool {
	at := strings.LastIndexByte(word, '@')
	return at > 0 && strings.Contains(word[at+1:], ".") && !strings.HasSuffix(word, ".")
}
