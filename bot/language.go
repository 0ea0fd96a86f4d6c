package bot

import (
	"context"
	"fmt"
	"strings"
)

// CommandLanguage is the engine's command (without "/") that lets a user
// choose the language of the replies: Telegram "/language", Slack
// "/guidedfix language" or "language" typed in the DM, console
// "language". An argument naming a language ("/language ms") switches at
// once; without one the engine offers one button per Languages entry.
const CommandLanguage = "language"

// Ids of the engine's language messages (bot/locales).
const (
	// MsgLanguageChoose offers the language buttons (CommandLanguage).
	MsgLanguageChoose = "engine.language.choose"
	// MsgLanguageSet confirms the language chosen, written in it.
	MsgLanguageSet = "engine.language.set"
)

// languageAction prefixes the data of a language button: "lang.<tag>".
const languageAction = "lang."

// Language is one language the engine's catalogs ship.
type Language struct {
	// Tag is the BCP 47 tag stored as the user's choice and in
	// Session.Locale ("en", "ms").
	Tag string
	// Name is the language's own name (its endonym), the label of its
	// button whatever the current language: a user who cannot read the
	// current language still finds theirs.
	Name string
}

// Languages are the languages a user may choose with CommandLanguage, in
// the order their buttons are offered. Every catalog (en.yaml) has its
// ms.yaml beside it (internal/catalogcheck).
var Languages = []Language{{Tag: "en", Name: "English"}, {Tag: "ms", Name: "Bahasa Melayu"}}

// LocaleStore is implemented by a Store that remembers each user's chosen
// language (internal/store's Bolt and etcdstore's Store). Without it,
// CommandLanguage changes only the running session's language.
type LocaleStore interface {
	// UserLocale returns the language tag the user userID of channel chose
	// with SetUserLocale, or "" when they never chose one. It fails for a
	// cancelled ctx or an unreadable store.
	UserLocale(ctx context.Context, channel, userID string) (string, error)
	// SetUserLocale records tag as the language of user userID of channel,
	// durably (fsync'ed or quorum-written) before it returns; an empty tag
	// forgets the choice. It fails for an empty channel or user id, a
	// cancelled ctx or a failed write.
	SetUserLocale(ctx context.Context, channel, userID, tag string) error
}

// findLanguage returns the entry of Languages whose tag is s, compared
// case-insensitively and also by its primary subtag ("ms-MY" is "ms").
func findLanguage(s string) (Language, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	base, _, _ := strings.Cut(s, "-")
	for _, l := range Languages {
		if s == l.Tag || base == l.Tag || s == strings.ToLower(l.Name) {
			return l, true
		}
	}
	return Language{}, false
}

// languageChoice reports whether ev is a press of a language button and
// which language it names. The press carries no step nonce: choosing a
// language is harmless at any step, so the buttons never go stale.
func languageChoice(ev Event) (Language, bool, bool) {
	if ev.Kind != KindButton {
		return Language{}, false, false
	}
	action, _, _ := strings.Cut(ev.Data, "|")
	tag, ok := strings.CutPrefix(action, languageAction)
	if !ok {
		return Language{}, false, false
	}
	l, known := findLanguage(tag)
	if known && l.Tag != tag {
		known = false // only the exact data the engine offered
	}
	return l, known, true
}

// isLanguageEvent reports whether ev is CommandLanguage or a press of a
// language button, which the engine answers itself.
func isLanguageEvent(ev Event) bool {
	if ev.Kind == KindCommand && ev.Command == CommandLanguage {
		return true
	}
	_, _, ok := languageChoice(ev)
	return ok
}

// localeOf returns the language for ev's user: the one they chose
// (LocaleStore), else the platform's (ev.Locale). A store error is logged
// and falls back to ev.Locale: the language never fails a turn.
func (e *Engine) localeOf(ctx context.Context, ev Event) string {
	ls, ok := e.store.(LocaleStore)
	if !ok || ev.UserID == "" {
		return ev.Locale
	}
	tag, err := ls.UserLocale(ctx, ev.Conversation.Channel, ev.UserID)
	if err != nil {
		e.log.WarnContext(ctx, "user language not read; the platform's is used", "conversation", ev.Conversation.String(), "err", err)
		return ev.Locale
	}
	if tag == "" {
		return ev.Locale
	}
	return tag
}

// languageTurn answers CommandLanguage or a language button press. s is
// the conversation's active session owned by ev's user, or nil when none
// is running. The command offers the buttons (or switches at once for an
// argument naming a language) without touching the session; a press
// records the choice for the user (LocaleStore) and, with a session,
// sets Session.Locale and shows the current step's prompt again in the
// new language (a KindResume turn of the flow), so the flow goes on where
// it was. An unknown language is answered like a stale button and
// changes nothing.
func (e *Engine) languageTurn(ctx context.Context, ev Event, s *Session) error {
	var locale string
	if s != nil {
		locale = s.Locale
		s.Parked = false // the user wrote again: replies can reach them
	} else {
		locale = e.localeOf(ctx, ev)
	}
	var lang Language
	if ev.Kind == KindCommand {
		l, ok := findLanguage(ev.Text)
		if !ok || ev.Text == "" {
			return e.offerLanguages(ctx, ev, locale)
		}
		lang = l
	} else {
		l, known, _ := languageChoice(ev)
		if !known {
			return e.answerOnly(ctx, ev, locale, MsgStaleButton)
		}
		lang = l
	}
	if ls, ok := e.store.(LocaleStore); ok && ev.UserID != "" {
		if err := ls.SetUserLocale(ctx, ev.Conversation.Channel, ev.UserID, lang.Tag); err != nil {
			return fmt.Errorf("record language of %s: %w", ev.Conversation, err)
		}
	}
	if s == nil {
		return e.answerOnly(ctx, ev, lang.Tag, MsgLanguageSet)
	}
	s.Locale = lang.Tag
	now := e.now().UTC()
	t := &Turn{Event: ev, Now: now, Session: s, engine: e, wake: s.WakeAt, from: s.State}
	s.ExpiresAt = e.expiry(s, now)
	t.Send(Reply{ID: MsgLanguageSet, Text: t.T(MsgLanguageSet, nil)})
	if s.Agent == "" {
		f, ok := e.flows[s.Flow]
		if !ok {
			return fmt.Errorf("session %s runs unknown flow %q", s.ID, s.Flow)
		}
		t.Event = Event{Conversation: ev.Conversation, UserID: ev.UserID, UpdateID: ev.UpdateID, Kind: KindResume, Locale: ev.Locale}
		if err := f.Handle(ctx, t); err != nil {
			return e.failTurn(ctx, t, err)
		}
	}
	return e.finish(ctx, t, ev.UpdateID)
}

// offerLanguages sends MsgLanguageChoose with one button per Languages
// entry and records ev as processed; no session changes.
func (e *Engine) offerLanguages(ctx context.Context, ev Event, locale string) error {
	buttons := make([]Button, len(Languages))
	for i, l := range Languages {
		buttons[i] = Button{Label: l.Name, Data: languageAction + l.Tag}
	}
	return e.replyOnly(ctx, ev, Reply{Op: OpSend, ID: MsgLanguageChoose, Text: e.Text(locale, ev.Conversation.Channel, MsgLanguageChoose, nil), Buttons: buttons})
}
