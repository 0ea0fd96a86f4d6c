package bot

import (
	"context"
	"slices"
)

// A start event (/start, a start command such as /2fa or /newphone, Slack
// /guidedfix or a DM "2fa") in the middle of an active session used to
// restart the flow at once, so that a QR code the user had already
// scanned stopped working (issue 14). The engine now asks first, with two
// buttons: "Continue where I left off" shows the current step's prompt
// again (a KindResume event, no state change), "Start over" hands the
// flow the start event it held back, so the flow ends the session the
// way it does for a start (releasing what it holds, restoring SMS if
// needed) and the engine starts the flow that event names (/2fa,
// /newphone, ?start=newphone), or the session's own flow again for a
// start that names none (/start, the console demo's start after a
// restart, Slack /guidedfix without argument; see routeRestart).
//
// A start whose payload only names a flow (the deep link
// t.me/<bot>?start=newphone, see Engine.Route) is held back the same way,
// with its payload. A start with any other payload (a hand-off token) is
// not held back: the flow answers it as before (a hand-off link opened
// twice keeps the progress).
//
// Nor is a start while nothing would be lost (progressed): the session
// still is where its flow's Start put it, i.e. in one of the Table.Start
// states of its flow's transition table (StateTable) — for the shipped
// flows, the e-mail question. The flow then gets the start at once and
// restarts silently, as before issue 14. A flow without a table always
// counts as progressed: the engine cannot tell its first prompt.

// Button actions of the start-again question.
const (
	actionContinue  = "_continue"
	actionStartOver = "_start_over"
)

// Ids of the start-again question and its buttons (bot/locales).
const (
	// MsgStartAgain asks whether to continue or start over.
	MsgStartAgain = "engine.start_again"
	// MsgButtonContinue labels "Continue where I left off".
	MsgButtonContinue = "engine.button.continue"
	// MsgButtonStartOver labels "Start over".
	MsgButtonStartOver = "engine.button.start_over"
	// MsgStartAgainContinued is what the question's message becomes,
	// without buttons, when the user answers the step underneath instead
	// (a typed code): "Continuing where you left off."
	MsgStartAgainContinued = "engine.start_again_continued"
)

// refStartAgain is the message reference (Reply.Ref, Session.Messages)
// of the start-again question while it is open.
const refStartAgain = "start_again"

// PendingStart is a start event held back by the start-again question,
// kept in Session.PendingStart until "Start over" hands it to the flow:
// the event's Kind (KindStart or KindCommand), its Command, and the e-mail
// the platform vouched for with it (Event.Email, EmailPinned), and its
// Payload when that only names a flow (a flow's name or start command,
// never a hand-off token: those are not held). It holds no secret.
type PendingStart struct {
	Kind        Kind   `json:"kind"`
	Command     string `json:"command,omitempty"`
	Payload     string `json:"payload,omitempty"`
	Email       string `json:"email,omitempty"`
	EmailPinned bool   `json:"email_pinned,omitempty"`
}

// holdsStart reports whether the engine asks before it passes t's start
// event to the flow: a start without payload or whose payload only names
// a flow (namesFlow), not the redelivery of an update a crash
// interrupted, no support agent in the chat, and a session that
// progressed past its flow's first prompt (see progressed).
func (e *Engine) holdsStart(t *Turn, resumed bool) bool {
	return t.Event.Kind == KindStart && (t.Event.Data == "" || e.namesFlow(t.Event)) && !resumed &&
		t.Session.Agent == "" && e.progressed(t.Session)
}

// namesFlow reports whether the start event ev is a start with a
// payload (not a start command with arguments) that only names a flow:
// Route leaves no payload for it (a flow's name or start command, the deep
// link t.me/<bot>?start=newphone), where a hand-off token or any other
// payload is passed on.
func (e *Engine) namesFlow(ev Event) bool {
	if ev.Data == "" || ev.Command != "" {
		return false
	}
	_, payload := e.route(ev)
	return payload == ""
}

// routeRestart returns the flow, and the payload it gets, that the start
// event ev begins after it restarted session s (the flow called
// Turn.Restart for it, at once or after "Start over"): Route's choice when
// ev names a flow (a flow's start command, a payload naming a flow or
// carrying a hand-off token), else s's own flow with no payload — a plain
// start (Telegram /start, the console's start after a restart, Slack's
// App Home button) or a start command of Options.StartCommands (Slack
// /guidedfix without argument) starts the change over, it does not switch
// to the default flow (issue 14 F1).
func (e *Engine) routeRestart(s *Session, ev Event) (Descriptor, string) {
	if e.namesNoFlow(ev) {
		if d, ok := e.Flow(s.Flow); ok {
			return d, ""
		}
	}
	return e.route(ev)
}

// namesNoFlow reports whether the start event ev names no flow: a
// KindStart without payload, or a KindCommand (without payload) that is
// no flow's start command (Options.StartCommands, "start" by default).
func (e *Engine) namesNoFlow(ev Event) bool {
	if ev.Data != "" {
		return false
	}
	switch ev.Kind {
	case KindStart:
		return true
	case KindCommand:
		_, _, named := e.CommandFlow(ev.Command)
		return !named
	}
	return false
}

// progressed reports whether a restart of s could lose anything: s's flow
// has no transition table, or s is no longer in one of its Table.Start
// states.
func (e *Engine) progressed(s *Session) bool {
	tb, ok := e.tables[s.Flow]
	return !ok || !slices.Contains(tb.Start, s.State)
}

// askStartAgain holds ev (the raw start event) back in the session and
// asks the start-again question (deleting the question asked before, if
// it is still open); the session's state and step do not change, so the
// current prompt's buttons stay valid.
func (e *Engine) askStartAgain(ctx context.Context, t *Turn, ev Event) error {
	s := t.Session
	s.PendingStart = &PendingStart{Kind: ev.Kind, Command: ev.Command, Email: ev.Email, EmailPinned: ev.EmailPinned}
	if t.Event.Data != "" {
		s.PendingStart.Payload = t.Event.Data // namesFlow: a flow's name, no token
	}
	s.ExpiresAt = e.expiry(s, t.Now)
	t.wake = s.WakeAt
	if s.Messages[refStartAgain] != "" {
		// Asked again while open: the older question goes, so that the
		// chat shows one set of its buttons, the newest.
		t.Send(Reply{Op: OpDelete, Ref: refStartAgain})
	}
	t.Send(Reply{Op: OpSend, ID: MsgStartAgain, Text: t.T(MsgStartAgain, nil), Ref: refStartAgain,
		Buttons: []Button{t.Button(MsgButtonContinue, actionContinue), t.Button(MsgButtonStartOver, actionStartOver)}})
	return e.finish(ctx, t, ev.UpdateID)
}

// answerStartAgain turns a press of a start-again button (action) into the
// event the flow gets: KindResume for "Continue", the held-back start for
// "Start over" (which it also returns as the event the engine starts a new
// session with once the flow restarts). ok is false for any other action.
// Either press closes the question (closeStartAgain): its buttons are
// stale from then on (a second press gets MsgStaleButton), and the
// adapter settles the pressed message itself. A "Start over" whose start
// is no longer held, which only a press redelivered after a crash can
// be, continues.
func answerStartAgain(t *Turn, ev Event, action string) (start Event, ok bool) {
	s := t.Session
	switch action {
	case actionContinue:
	case actionStartOver:
		if p := s.PendingStart; p != nil {
			closeStartAgain(s)
			start = ev
			start.Kind, start.Command, start.Data, start.Text = p.Kind, p.Command, p.Payload, ""
			start.Email, start.EmailPinned = p.Email, p.EmailPinned
			t.Event = start
			// The flow gets a plain start (it restarts); the payload only
			// routes the new session (Engine.Route).
			t.Event.Kind, t.Event.Data = KindStart, ""
			return start, true
		}
	default:
		return Event{}, false
	}
	closeStartAgain(s)
	t.Event = ev
	t.Event.Kind, t.Event.Data = KindResume, ""
	return Event{}, true
}

// answersStep reports whether ev, which reaches the flow, is an answer
// to the current step (typed text, a secret, one of the step's own
// buttons) rather than a command or unsupported media: such an answer
// while the start-again question is open is taken as "Continue"
// (continueStartAgain).
func answersStep(ev Event) bool {
	return ev.Kind == KindText || ev.Kind == KindSecret || ev.Kind == KindButton
}

// continueStartAgain closes the start-again question left open when the
// user answered the step underneath instead (a typed code, a button of
// the step; issue 14 F6): the held start is dropped, the question's
// buttons become stale (a later "Start over" gets MsgStaleButton and
// changes nothing) and its message, when one was delivered, is edited
// into MsgStartAgainContinued without buttons. It returns that edit, or
// false when no question was open or none was delivered; the caller
// queues it (before the flow's replies, or after them for a button press,
// whose pressed message the adapter settles with the turn's first reply).
func continueStartAgain(t *Turn) (Reply, bool) {
	s := t.Session
	if s.PendingStart == nil && s.Messages[refStartAgain] == "" {
		return Reply{}, false
	}
	id := closeStartAgain(s)
	if id == "" {
		return Reply{}, false
	}
	return Reply{Op: OpEdit, ID: MsgStartAgainContinued, MessageID: id, Text: t.T(MsgStartAgainContinued, nil)}, true
}

// closeStartAgain closes s's start-again question: the held start is
// dropped, the question's actions are no longer offered (checkButton
// refuses them as stale) and its message reference is forgotten. It
// returns the id of the question's delivered message ("" if none).
func closeStartAgain(s *Session) string {
	s.PendingStart = nil
	offered := make([]string, 0, len(s.Offered))
	for _, a := range s.Offered {
		if a != actionContinue && a != actionStartOver {
			offered = append(offered, a)
		}
	}
	s.Offered = offered
	id := s.Messages[refStartAgain]
	delete(s.Messages, refStartAgain)
	return id
}
