package bot_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"guidedfix/bot"
)

// TestLanguageCommandAndChoiceWithoutSession checks /language with no
// flow running: it offers one button per language (data "lang.<tag>"),
// creates no session, and the press records the user's choice, answers
// in the language chosen and makes the next session start in it whatever
// the platform's language_code says.
func TestLanguageCommandAndChoiceWithoutSession(t *testing.T) {
	e, _, rec, _, st := newEngine(t)
	ctx := context.Background()
	cmd := ev(bot.KindCommand, "1")
	cmd.Command, cmd.Locale = bot.CommandLanguage, "en"
	mustHandle(t, e, cmd)
	r := rec.last()
	if r.ID != bot.MsgLanguageChoose {
		t.Fatalf("/language answered %q", r.ID)
	}
	var data []string
	for _, b := range r.Buttons {
		data = append(data, b.Data)
	}
	if !slices.Equal(data, []string{"lang.en", "lang.ms"}) || r.Buttons[1].Label != "Bahasa Melayu" {
		t.Fatalf("language buttons %+v", r.Buttons)
	}
	if _, err := e.Session(ctx, conv); err == nil {
		t.Fatal("/language created a session")
	}
	if text, stale := e.StaleButton(ctx, bot.Event{Conversation: conv, UserID: "u1", Kind: bot.KindButton, Data: "lang.ms"}); stale {
		t.Fatalf("a language button is answered as stale: %q", text)
	}
	press := ev(bot.KindButton, "2")
	press.Data, press.Locale = "lang.ms", "en"
	mustHandle(t, e, press)
	if got := rec.last(); got.ID != bot.MsgLanguageSet || got.Text != e.Text("ms", "test", bot.MsgLanguageSet, nil) {
		t.Fatalf("choice answered %q %q", got.ID, got.Text)
	}
	if tag, err := st.UserLocale(ctx, "test", "u1"); err != nil || tag != "ms" {
		t.Fatalf("stored language %q, %v; want ms", tag, err)
	}
	// A redelivered press is processed once.
	n := len(rec.ids())
	mustHandle(t, e, press)
	if len(rec.ids()) != n {
		t.Fatalf("redelivered press answered again: %q", rec.ids()[n:])
	}
	start := ev(bot.KindStart, "3")
	start.Locale = "en"
	mustHandle(t, e, start)
	s, err := e.Session(ctx, conv)
	if err != nil || s.Locale != "ms" {
		t.Fatalf("session locale %q (%v), want the chosen ms over language_code en", s.Locale, err)
	}
	if got := rec.last(); got.Text != e.Text("ms", "test", "engine.help_idle", nil) {
		t.Fatalf("first prompt not in Malay: %q", got.Text)
	}
	// Another user of the same channel keeps the platform's language.
	if tag, _ := st.UserLocale(ctx, "test", "u2"); tag != "" {
		t.Fatalf("u2 has language %q", tag)
	}
}

// TestLanguageSwitchMidFlow checks that switching in the middle of a flow
// changes the session's language and nothing else: same state, step and
// expected secret, the step's buttons still valid, and the flow goes on.
// An unknown language changes nothing.
func TestLanguageSwitchMidFlow(t *testing.T) {
	e, f, rec, _, st := newEngine(t)
	ctx := context.Background()
	mustHandle(t, e, ev(bot.KindStart, "1"))
	next := rec.last().Buttons[0].Data
	before, _ := e.Session(ctx, conv)

	forged := ev(bot.KindButton, "2")
	forged.Data = "lang.xx"
	mustHandle(t, e, forged)
	if got := rec.last().ID; got != bot.MsgStaleButton {
		t.Fatalf("unknown language answered %q", got)
	}
	if tag, _ := st.UserLocale(ctx, "test", "u1"); tag != "" {
		t.Fatalf("unknown language stored %q", tag)
	}

	cmd := ev(bot.KindCommand, "3")
	cmd.Command, cmd.Text = bot.CommandLanguage, "ms"
	mustHandle(t, e, cmd)
	s, _ := e.Session(ctx, conv)
	if s.Locale != "ms" || s.State != before.State || s.Step != before.Step || s.Done {
		t.Fatalf("after /language ms: locale %q state %q step %d→%d", s.Locale, s.State, before.Step, s.Step)
	}
	if got := rec.last(); got.ID != bot.MsgLanguageSet || got.Text != e.Text("ms", "test", bot.MsgLanguageSet, nil) {
		t.Fatalf("switch answered %q %q", got.ID, got.Text)
	}
	press := ev(bot.KindButton, "4")
	press.Data = next
	mustHandle(t, e, press)
	s, _ = e.Session(ctx, conv)
	if s.State != "secret" || s.Expect != bot.SecretPassword {
		t.Fatalf("the step's button after the switch: state %q expect %q", s.State, s.Expect)
	}
	if got := rec.last(); got.Text != e.Text("ms", "test", "engine.help_idle", nil) {
		t.Fatalf("prompt after the switch not in Malay: %q", got.Text)
	}
	// Back to English with the button while the password is expected.
	back := ev(bot.KindButton, "5")
	back.Data = "lang.en|whatever"
	mustHandle(t, e, back)
	s, _ = e.Session(ctx, conv)
	if s.Locale != "en" || s.Expect != bot.SecretPassword || s.State != "secret" {
		t.Fatalf("after lang.en: locale %q state %q expect %q", s.Locale, s.State, s.Expect)
	}
	typed := ev(bot.KindText, "6")
	typed.Text = "hunter2"
	mustHandle(t, e, typed)
	if len(f.secrets) != 1 || f.secrets[0] != "hunter2" {
		t.Fatalf("the flow did not go on after the switch: secrets %d", len(f.secrets))
	}
	if tag, _ := st.UserLocale(ctx, "test", "u1"); tag != "en" {
		t.Fatalf("stored language %q, want en", tag)
	}
}

// TestLanguageSwitchUnparksSession: a session parked because the user had
// blocked the bot is delivered to again when the user comes back and
// switches the language (as for any other input).
func TestLanguageSwitchUnparksSession(t *testing.T) {
	e, _, rec, _, _ := newEngine(t)
	rec.fail = fmt.Errorf("telegram: %w", bot.ErrBlocked)
	mustHandle(t, e, ev(bot.KindStart, "1"))
	if s, _ := e.Session(context.Background(), conv); !s.Parked {
		t.Fatal("session not parked after ErrBlocked")
	}
	rec.fail = nil
	press := ev(bot.KindButton, "2")
	press.Data = "lang.ms"
	mustHandle(t, e, press)
	s, _ := e.Session(context.Background(), conv)
	if s.Parked || s.Locale != "ms" || len(s.Outbox) != 0 {
		t.Fatalf("after the switch: parked %v locale %q outbox %d", s.Parked, s.Locale, len(s.Outbox))
	}
	if ids := rec.ids(); len(ids) == 0 || ids[0] != "send:"+bot.MsgLanguageSet {
		t.Fatalf("delivered %q, want %s first", ids, bot.MsgLanguageSet)
	}
}
