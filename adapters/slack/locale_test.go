package slack_test

import (
	"slices"
	"testing"

	"guidedfix/adapters/slack"
	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/internal/testkit/scriptflow"
)

// TestMalayUserGetsMalayReplies: a Slack user whose locale (users.info with
// include_locale) is ms-MY gets the ms catalog's texts and button labels
// (the scripted flow's and the adapter's own Enter button), and the
// session keeps the locale.
func TestMalayUserGetsMalayReplies(t *testing.T) {
	h := newHarness(t, scripted(setup{mode: slack.ModeHTTP}))
	h.fake.AddUser(fakeslack.User{ID: alice, Email: "alice@example.com", Locale: "ms-MY"})
	ms := func(id string) string { return h.env.Engine.Text("ms-MY", "slack", id, nil) }
	if ms(scriptflow.MsgAskSecret) == h.text(scriptflow.MsgAskSecret, nil) {
		t.Fatalf("%s renders the same in ms and en: the ms catalog is not loaded", scriptflow.MsgAskSecret)
	}

	h.tr.command(h.fake.Command(alice, public, "/guidedfix", ""))
	if got, want := h.lastText(), ms(scriptflow.MsgHello); got != want {
		t.Fatalf("last DM message %q\nwant the ms text of %s %q", got, scriptflow.MsgHello, want)
	}
	if got := h.labels(); !slices.Equal(got, []string{ms(scriptflow.LabelGo)}) {
		t.Fatalf("button labels %q, want the ms label of %s", got, scriptflow.LabelGo)
	}
	h.press(scriptflow.ActionGo)
	h.press(scriptflow.ActionNext)
	// The key and the prompt are one message (bot.Joiner).
	if got, want := h.lastText(), h.env.Engine.Text("ms-MY", "slack", scriptflow.MsgKey, map[string]any{"Key": scriptflow.Key})+"\n\n"+ms(scriptflow.MsgAskSecret); got != want {
		t.Fatalf("last DM message %q\nwant the ms text of %s %q", got, scriptflow.MsgAskSecret, want)
	}
	if got := h.labels(); !slices.Equal(got, []string{ms("slack.button.enter_password")}) {
		t.Fatalf("button labels %q, want the ms Enter button", got)
	}
	if s := h.session(); s.Locale != "ms-MY" {
		t.Fatalf("session locale %q, want ms-MY", s.Locale)
	}
}
