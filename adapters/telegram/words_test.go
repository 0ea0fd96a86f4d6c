package telegram

import (
	"strings"
	"testing"

	"guidedfix/bot"
	"guidedfix/internal/portal"
)

// TestWordsAreBotCommands: the Telegram adapter supplies its platform words
// (bot.WordSource): every command of the engine is the bot command
// "/<name>" (core.telegram.org/bots#commands) in each language, beginning
// again is the default flow's first start command, and the engine's and
// flows' texts carry them through the fake Bot API.
func TestWordsAreBotCommands(t *testing.T) {
	h := newHarness(t, false)
	eng := h.env.Engine
	// Telegram's commands are the engine's default words; only Support
	// is its own.
	if ws, ok := any(h.a).(bot.WordSource); !ok || ws.Wording().Support == "" {
		t.Fatal("the adapter supplies no words of its own")
	}
	cmds := eng.Commands()
	for _, loc := range []string{"en", "ms"} {
		w := eng.Words(loc, Channel)
		if len(w.Say) != len(cmds) || len(w.Typed) != len(cmds) {
			t.Fatalf("%s: %d Say and %d Typed words for %d commands %v", loc, len(w.Say), len(w.Typed), len(cmds), cmds)
		}
		for _, c := range cmds {
			if got := w.Typed[c]; got != bot.Word("/"+c) {
				t.Errorf("%s: Typed[%s] = %q, want /%s", loc, c, got, c)
			}
			if s := string(w.Say[c]); !strings.HasSuffix(s, " /"+c) {
				t.Errorf("%s: Say[%s] = %q, want it to end in /%s", loc, c, s, c)
			}
		}
		if s := string(w.Begin); !strings.HasSuffix(s, " /"+cmds[0]) {
			t.Errorf("%s: Begin = %q, want it to end in /%s", loc, s, cmds[0])
		}
		if w.Tap == "" || w.Here == "" || w.Support == "" {
			t.Errorf("%s: empty words %+v", loc, w)
		}
		if got, want := string(w.Support), eng.Catalog().Text(loc, "telegram.words.support", nil); got != want {
			t.Errorf("%s: Support = %q, want Telegram's own %q", loc, got, want)
		}
	}

	// /cancel without a session: the engine's no-session text tells to
	// begin with /start, the Telegram way.
	h.env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	w := eng.Words("en", Channel)
	h.calls()
	h.text("/cancel")
	if got := h.sentTexts(); len(got) != 1 || got[0] != h.msg(bot.MsgNoSession, nil) || !strings.Contains(got[0], w.Begin.Cap()) {
		t.Fatalf("answer to /cancel %q, want one %s with %q", got, bot.MsgNoSession, w.Begin.Cap())
	}

	// In a guided change every text that tells how to stop says /cancel.
	h.text("/start")
	h.text("/help")
	got := h.sentTexts()
	stop := 0
	for _, s := range got {
		if strings.Contains(s, w.Say["cancel"].Cap()) || strings.Contains(s, string(w.Say["cancel"])) {
			stop++
		}
		if strings.Contains(s, "{{") || strings.Contains(s, "<no value>") || strings.HasPrefix(s, "[") {
			t.Errorf("text not rendered: %q", s)
		}
	}
	if stop < 2 { // the welcome and the help
		t.Fatalf("%d of the texts %q tell to %q, want the welcome and the help", stop, got, w.Say["cancel"])
	}
}
