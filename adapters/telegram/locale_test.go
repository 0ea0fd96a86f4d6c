package telegram

import (
	"slices"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
)

// sentTexts returns the text of every sendMessage call since the last look.
func (h *harness) sentTexts() []string {
	var out []string
	for _, c := range h.calls() {
		if c.Method == "sendMessage" {
			out = append(out, c.Fields["text"])
		}
	}
	return out
}

// TestMalayCustomerGetsMalayReplies: a customer whose Telegram client
// reports language_code "ms" gets the ms catalog's texts, the session keeps
// the locale for later turns, and the engine's own texts follow it.
func TestMalayCustomerGetsMalayReplies(t *testing.T) {
	h := newHarness(t, false)
	h.user.LanguageCode = "ms"
	h.env.AddAccount(t, "siti@example.com", portal.MethodSMS)
	ms := func(id string) string {
		return h.env.Engine.Text("ms", Channel, id, map[string]any{"Steps": totpswitch.Steps})
	}
	for _, id := range []string{"totp.welcome", "totp.ask_email", "totp.ask_password"} {
		if ms(id) == h.msg(id, nil) {
			t.Fatalf("%s renders the same in ms and en: the ms catalog is not loaded", id)
		}
	}
	h.calls()

	h.text("/start")
	// The welcome and step 1 in one message, both in Malay.
	if got, want := h.sentTexts(), []string{ms("totp.welcome") + "\n\n" + ms("totp.ask_email")}; !slices.Equal(got, want) {
		t.Fatalf("replies %q\nwant the ms texts %q", got, want)
	}
	if s := h.session(); s.Locale != "ms" {
		t.Fatalf("session locale %q, want ms", s.Locale)
	}
	h.wantState(totpswitch.StateAwaitingEmail)

	h.text("siti@example.com")
	if got := h.sentTexts(); !slices.Contains(got, ms("totp.ask_password")) {
		t.Fatalf("replies %q\ndo not include the ms text of totp.ask_password", got)
	}

	// The engine's own texts follow the locale too.
	h.text("/cancel")
	h.calls()
	h.text("/cancel")
	want := h.env.Engine.Text("ms", h.conv().Channel, bot.MsgNoSession, nil)
	if got := h.sentTexts(); !slices.Contains(got, want) {
		t.Fatalf("replies %q\ndo not include the ms text of %s %q", got, bot.MsgNoSession, want)
	}
}
