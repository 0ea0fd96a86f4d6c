package bot

import (
	"context"
	"errors"
)

// StaleButton reports, without running a flow, taking the conversation's
// turn or changing anything, whether the button press ev (KindButton)
// would be answered as a button from an earlier step (MsgStaleButton),
// and returns that answer's text in the session's locale (the event's for
// a conversation with no session). An adapter calls it on receipt, to
// answer the press at once (Telegram answerCallbackQuery) before the
// turn runs.
//
// It returns false whenever the answer depends on the turn: the event is
// no button press, the session expired or is taken over by an agent, the
// press is another user's, or ev is the update a crash interrupted (it
// resumes its step). A turn queued before ev may still make a press that
// is current now stale; never the other way round, since steps only move
// on. A store error returns false.
func (e *Engine) StaleButton(ctx context.Context, ev Event) (string, bool) {
	if ev.Kind != KindButton || isLanguageEvent(ev) {
		return "", false
	}
	s, err := e.store.Load(ctx, ev.Conversation)
	switch {
	case errors.Is(err, ErrNoSession):
		s = nil
	case err != nil:
		return "", false
	}
	stale := func(locale string) (string, bool) {
		return e.Text(locale, ev.Conversation.Channel, MsgStaleButton, nil), true
	}
	if s == nil || s.Done {
		return stale(ev.Locale)
	}
	now := e.now().UTC()
	if !now.Before(s.ExpiresAt) || s.Agent != "" || (ev.UserID != "" && s.UserID != "" && ev.UserID != s.UserID) ||
		(ev.UpdateID != "" && ev.UpdateID == s.Update) {
		return "", false
	}
	if _, ok := e.checkButton(s, ev.Data); ok {
		return "", false
	}
	return stale(s.Locale)
}
