package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Turn is one run of a flow handler: the event being handled, the session
// it changes, the one instant "now" every deadline derives from, and the
// replies collected so far. A Turn is used by one goroutine.
type Turn struct {
	// Event is the input being handled (Kind KindTimer for sweeper runs).
	Event Event
	// Now is the instant of the turn (UTC), read once.
	Now time.Time
	// Session is the conversation's session; the flow changes State and
	// Data through the methods below.
	Session *Session

	engine  *Engine
	replies []Reply
	staged  []Reply // replies moved into Session.Outbox, with content
	wake    time.Time
	restart bool
	from    State
	// unlisted is the first state change the flow's table does not list,
	// under Options.States.Strict (see StateTable).
	unlisted error
}

// T returns the localized text of message id for the session's locale
// with data, plus the platform words of the session's channel under
// WordsKey (Engine.Text): one text serves every platform, its commands and
// buttons worded by the adapter (e.g. "{{.W.Say.cancel}}").
func (t *Turn) T(id string, data map[string]any) string {
	return t.engine.Text(t.Session.Locale, t.Session.Conversation.Channel, id, data)
}

// Send queues r for delivery after the turn's state is saved.
func (t *Turn) Send(r Reply) {
	if r.Op == "" {
		r.Op = OpSend
	}
	t.replies = append(t.replies, r)
}

// Say queues a text message from catalog id, with buttons made by Button.
func (t *Turn) Say(id string, data map[string]any, buttons ...Button) {
	t.Send(Reply{Op: OpSend, ID: id, Text: t.T(id, data), Buttons: buttons})
}

// RefPrompt is the message reference (Reply.Ref, Session.Messages) of the
// secret prompt Ask sends, so that an adapter can find the question a
// private answer (a Slack modal) replied to without knowing the flow.
const RefPrompt = "prompt"

// Ask queues a secret prompt from catalog id and records that the next
// answer is the secret field; the adapter collects it privately and the
// engine deletes a typed answer from the chat. The prompt's reference is
// RefPrompt.
func (t *Turn) Ask(field SecretField, id string, data map[string]any, buttons ...Button) {
	t.Session.Expect = field
	t.Send(Reply{Op: OpSend, ID: id, Text: t.T(id, data), Buttons: buttons, Secret: field, Ref: RefPrompt})
}

// Button returns a button labelled with catalog id labelID that, when
// pressed, hands action to the flow as Event.Data. action is at most 40
// bytes of [A-Za-z0-9_.-].
func (t *Turn) Button(labelID, action string) Button {
	return Button{Label: t.T(labelID, nil), Data: action}
}

// Edit queues an edit of the message delivered earlier under ref.
func (t *Turn) Edit(ref, id string, data map[string]any, buttons ...Button) {
	t.Send(Reply{Op: OpEdit, Ref: ref, ID: id, Text: t.T(id, data), Buttons: buttons})
}

// Delete queues the deletion of the message delivered earlier under ref;
// nothing happens if no such message was delivered.
func (t *Turn) Delete(ref string) {
	t.Send(Reply{Op: OpDelete, Ref: ref})
}

// Goto moves the session to state s as a new step: buttons offered before
// become stale and no secret is expected until the next Ask. The change
// (even to the same state) is checked against the flow's transition table
// (StateTable).
func (t *Turn) Goto(s State) {
	t.change(s, true)
	t.Session.State = s
	t.Session.Step++
	t.Session.Expect = SecretNone
}

// SetState moves the session to state s within the same step: buttons
// and prompts offered before stay valid. Flows use it for transient states
// that persist progress before a portal call (DESIGN.md "persist, then
// call") and return to the step on failure. A change of state is checked
// against the flow's transition table (StateTable); s equal to the
// current state is no change.
func (t *Turn) SetState(s State) {
	t.change(s, false)
	t.Session.State = s
}

// End marks the session done: its flow reached a terminal state.
func (t *Turn) End(s State) {
	t.Goto(s)
	t.Session.Done = true
	t.wake = time.Time{}
}

// Restart ends the session as s after this handler returns and starts a
// flow afresh for the same event, in a new session (new id, so new
// idempotency keys): the flow the event names (its start command, a start
// payload naming it or a hand-off token of it, Engine.Route), or the
// session's own flow for a start that names none (/start, Slack
// /guidedfix without argument). Flows call it for a start in the middle
// of a flow, after releasing what the old session held.
func (t *Turn) Restart(s State) {
	t.End(s)
	t.restart = true
}

// Tag sets the session tag k to v ("" deletes it). Tags are the flow's
// public facts about a session — the portal account, a hand-off, the last
// error — for observers such as the audit log and support threads; they
// must never hold a secret.
func (t *Turn) Tag(k, v string) {
	if v == "" {
		delete(t.Session.Tags, k)
		return
	}
	if t.Session.Tags == nil {
		t.Session.Tags = map[string]string{}
	}
	t.Session.Tags[k] = v
}

// WakeAt asks the engine to run the flow with a KindTimer event at at
// (UTC) even if the user stays silent; the zero time cancels it.
func (t *Turn) WakeAt(at time.Time) { t.wake = at }

// Key returns the idempotency key of step for this session:
// "<session id>:<step>". The portal core answers a repeated key with its
// first result (DESIGN.md "persist, then call").
func (t *Turn) Key(step string) string { return t.Session.ID + ":" + step }

// Checkpoint saves the session now, before the flow calls the portal core
// for a mutating operation (DESIGN.md "persist, then call"), with the
// replies queued so far. It sets the session's WakeAt, so that if the
// process dies before the turn ends the sweeper resumes the flow with a
// KindTimer event: at once for a turn without a platform update (a timer),
// 10 s later for one with (the platform redelivers an update it got no
// answer for, with the input the store does not keep; see Session.Update).
// It returns the store's error (ErrConflict if the session changed
// elsewhere), or ErrUnlistedTransition under Options.States.Strict when
// the turn made a change its flow's table does not list.
func (t *Turn) Checkpoint(ctx context.Context) error {
	if t.unlisted != nil {
		return t.unlisted
	}
	t.Session.WakeAt = t.Now
	if t.Event.UpdateID != "" {
		t.Session.WakeAt = t.Now.Add(redeliveryGrace)
	}
	t.Session.UpdatedAt = t.Now
	// The replies queued so far are part of the saved progress (e.g. the
	// deletion of the message that held the password just checked): a
	// resumed turn delivers them.
	t.engine.stage(t)
	if t.Event.UpdateID != "" {
		t.Session.Update = t.Event.UpdateID
	}
	if err := t.engine.store.Save(ctx, t.Session, ""); err != nil {
		return fmt.Errorf("checkpoint %s: %w", t.Session.State, err)
	}
	t.engine.hooks.fire(HookCheckpoint, t.Session)
	return nil
}

// SetData stores v (JSON-encoded) as the flow's session data; it returns an
// encoding error.
func (t *Turn) SetData(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode session data: %w", err)
	}
	t.Session.Data = b
	return nil
}

// LoadData decodes the session's flow data into a new T; an empty Data
// gives T's zero value.
func LoadData[T any](t *Turn) (T, error) {
	var v T
	if len(t.Session.Data) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(t.Session.Data, &v); err != nil {
		return v, fmt.Errorf("decode session data: %w", err)
	}
	return v, nil
}
