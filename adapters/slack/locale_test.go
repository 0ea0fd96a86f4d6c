package slack_test

import (
	"slices"
	"strings"
	"testing"

	"guidedfix/adapters/slack"
	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/internal/portal"
)

// TestMalayUserGetsMalayReplies: a Slack user whose locale (users.info with
// include_locale) is ms-MY gets the ms catalog's texts and button labels,
// and the session keeps the locale.
func TestMalayUserGetsMalayReplies(t *testing.T) {
	h := newHarness(t, setup{mode: slack.ModeHTTP})
	h.fake.AddUser(fakeslack.User{ID: alice, Email: "alice@example.com", Locale: "ms-MY"})
	h.env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	ms := func(id string) string { return h.env.Engine.Text("ms-MY", "slack", id, nil) }
	if ms("totp.ask_password") == h.text("totp.ask_password", nil) {
		t.Fatal("totp.ask_password renders the same in ms and en: the ms catalog is not loaded")
	}

	h.tr.command(h.fake.Command(alice, public, "/guidedfix", ""))
	if got, want := h.lastText(), ms("totp.ask_password"); !strings.HasSuffix(got, "\n\n"+want) {
		t.Fatalf("last DM message %q\nwant the ms text of totp.ask_password %q", got, want)
	}
	if got := h.labels(); !slices.Contains(got, ms("slack.button.enter_password")) || !slices.Contains(got, ms("totp.button.cancel")) {
		t.Fatalf("button labels %q, want the ms labels", got)
	}
	if s := h.session(); s.Locale != "ms-MY" {
		t.Fatalf("session locale %q, want ms-MY", s.Locale)
	}
}
