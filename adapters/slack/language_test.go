package slack_test

import (
	"context"
	"strings"
	"testing"

	"guidedfix/adapters/slack"
	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/bot"
	"guidedfix/internal/portal"
)

// TestLanguageCommandSwitchesAndIsRemembered: "/guidedfix language"
// offers the language buttons in the DM; pressing Bahasa Melayu records
// the choice for the Slack user, which then beats the profile's locale
// (en-US) when the flow starts; "language" typed in the DM mid-flow
// switches back, and the step's prompt is shown again in English with
// its buttons still working.
func TestLanguageCommandSwitchesAndIsRemembered(t *testing.T) {
	h := newHarness(t, setup{mode: slack.ModeHTTP})
	pw := h.env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	ctx := context.Background()

	h.tr.command(h.fake.Command(alice, h.dm(), "/guidedfix", "language"))
	if got, want := h.lastText(), h.env.Engine.Text("en-US", slack.Channel, bot.MsgLanguageChoose, nil); got != want {
		t.Fatalf("last DM message %q, want the language choice %q", got, want)
	}
	if h.session() != nil {
		t.Fatal("/guidedfix language started a session")
	}
	ms := h.button("Bahasa Melayu", func(b fakeslack.Button) bool { return b.Value == "lang.ms" })
	h.tr.interact(h.fake.Click(alice, ms))
	if got, want := h.lastText(), h.env.Engine.Text("ms", slack.Channel, bot.MsgLanguageSet, nil); got != want {
		t.Fatalf("after the press %q, want %q", got, want)
	}
	if tag, err := h.env.Store.UserLocale(ctx, slack.Channel, alice); err != nil || tag != "ms" {
		t.Fatalf("stored language %q, %v", tag, err)
	}

	h.tr.command(h.fake.Command(alice, h.dm(), "/guidedfix", ""))
	if got, want := h.lastText(), h.env.Engine.Text("ms", slack.Channel, "totp.ask_password", nil); !strings.HasSuffix(got, "\n\n"+want) {
		t.Fatalf("first prompt %q, want it to end with the ms text %q", got, want)
	}
	if s := h.session(); s.Locale != "ms" || s.State != "awaiting_password" {
		t.Fatalf("session locale %q state %q, want ms awaiting_password", s.Locale, s.State)
	}

	body, _ := h.fake.MessageEvent(alice, h.dm(), "language")
	h.tr.event(body)
	if got, want := h.lastText(), h.env.Engine.Text("ms", slack.Channel, bot.MsgLanguageChoose, nil); got != want {
		t.Fatalf("typed language answered %q, want %q", got, want)
	}
	en := h.button("English", func(b fakeslack.Button) bool { return b.Value == "lang.en" })
	h.tr.interact(h.fake.Click(alice, en))
	s := h.session()
	if s.Locale != "en" || s.State != "awaiting_password" || s.Expect != bot.SecretPassword {
		t.Fatalf("after English: locale %q state %q expect %q", s.Locale, s.State, s.Expect)
	}
	// One message: the confirmation joined with the step's prompt.
	if got, want := h.lastText(), h.env.Engine.Text("en", slack.Channel, bot.MsgLanguageSet, nil)+"\n\n"+h.env.Engine.Text("en", slack.Channel, "totp.ask_password", nil); got != want {
		t.Fatalf("prompt shown again %q, want the English %q", got, want)
	}
	// The password form of the prompt shown again still works.
	v := h.enter()
	if a := h.submit(v.ID, pw); a.Errors != nil {
		t.Fatalf("password refused: %+v", a.Errors)
	}
	if s := h.session(); s.State != "awaiting_sms_code" {
		t.Fatalf("state after the password %q", s.State)
	}
	if tag, _ := h.env.Store.UserLocale(ctx, slack.Channel, alice); tag != "en" {
		t.Fatalf("stored language %q, want en", tag)
	}
}
