package telegram

import (
	"slices"
	"strings"
	"testing"

	"guidedfix/bot"
	"guidedfix/internal/testkit/scriptflow"
)

// sentTexts returns the text of every sendMessage and editMessageText call
// since the last look.
func (h *harness) sentTexts() []string {
	var out []string
	for _, c := range h.calls() {
		if c.Method == "sendMessage" || c.Method == "editMessageText" {
			out = append(out, c.Fields["text"])
		}
	}
	return out
}

// TestMalayCustomerGetsMalayReplies: a customer whose Telegram client
// reports language_code "ms" gets the ms catalog's texts (the scripted
// flow's own, sent and edited, and its button labels), the session keeps
// the locale for later turns, and the engine's own texts follow it.
func TestMalayCustomerGetsMalayReplies(t *testing.T) {
	h := newScriptHarness(t, false)
	h.user.LanguageCode = "ms"
	ms := func(id string) string { return h.env.Engine.Text("ms", Channel, id, nil) }
	for _, id := range []string{scriptflow.MsgHello, scriptflow.MsgEdited, scriptflow.LabelGo} {
		if ms(id) == h.msg(id, nil) {
			t.Fatalf("%s renders the same in ms and en: the ms catalog is not loaded", id)
		}
	}
	h.calls()

	h.text("/start")
	msgs := h.fake.Messages(h.chat.ID)
	if got := h.sentTexts(); !slices.Equal(got, []string{ms(scriptflow.MsgHello)}) {
		t.Fatalf("replies %q, want the ms text of %s", got, scriptflow.MsgHello)
	}
	if kb := string(msgs[len(msgs)-1].ReplyMarkup); !strings.Contains(kb, `"text":"`+ms(scriptflow.LabelGo)+`"`) {
		t.Fatalf("keyboard %s, want the ms label of %s", kb, scriptflow.LabelGo)
	}
	if s := h.session(); s.Locale != "ms" {
		t.Fatalf("session locale %q, want ms", s.Locale)
	}
	h.wantState(scriptflow.StateGreeted)

	h.press(scriptflow.ActionGo)
	if got := h.sentTexts(); !slices.Equal(got, []string{ms(scriptflow.MsgEdited)}) {
		t.Fatalf("replies %q, want the ms text of %s", got, scriptflow.MsgEdited)
	}

	// The engine's own texts follow the locale too.
	h.text("/cancel")
	h.calls()
	h.text("/cancel")
	want := h.env.Engine.Text("ms", h.conv().Channel, bot.MsgNoSession, nil)
	if got := h.sentTexts(); !slices.Equal(got, []string{want}) {
		t.Fatalf("replies %q, want the ms text of %s %q", got, bot.MsgNoSession, want)
	}
}
