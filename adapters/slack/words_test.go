package slack_test

import (
	"strings"
	"testing"

	"guidedfix/adapters/slack"
	"guidedfix/bot"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
)

// helpdesk is the slash command these tests configure instead of the
// default /guidedfix (config slack.command).
const helpdesk = "/helpdesk"

// TestWordsNameConfiguredCommand: the Slack adapter supplies its platform
// words (bot.WordSource) with the configured slash command, so that every
// command instruction in the engine's and flows' texts names /helpdesk and
// none names /guidedfix; commands are typed as bare words, and secrets go
// into the private form (not "here" as where the bot deletes them).
func TestWordsNameConfiguredCommand(t *testing.T) {
	h := newHarness(t, setup{mode: slack.ModeHTTP, adapt: func(o *slack.Options) { o.Command = helpdesk }})
	if got := h.a.Wording().Data["Command"]; got != helpdesk {
		t.Fatalf("Wording().Data[Command] = %v, want %s", got, helpdesk)
	}
	def := h.env.Engine.Words("en-US", "no-such-channel") // bot.DefaultWording
	for _, loc := range []string{"en-US", "ms-MY"} {
		w := h.env.Engine.Words(loc, slack.Channel)
		cmds := h.env.Engine.Commands()
		if len(w.Say) != len(cmds) || len(w.Typed) != len(cmds) {
			t.Fatalf("%s: %d Say and %d Typed words for %d commands %v", loc, len(w.Say), len(w.Typed), len(cmds), cmds)
		}
		for _, c := range cmds {
			if got := w.Typed[c]; got != bot.Word(c) {
				t.Errorf("%s: Typed[%s] = %q, want the bare word %q", loc, c, got, c)
			}
			if s := string(w.Say[c]); !strings.Contains(s, helpdesk+" "+c) || strings.Contains(s, "/guidedfix") {
				t.Errorf("%s: Say[%s] = %q, want it to name %s %s", loc, c, s, helpdesk, c)
			}
		}
		if s := string(w.Begin); !strings.Contains(s, helpdesk) || strings.Contains(s, "/"+cmds[0]) {
			t.Errorf("%s: Begin = %q, want the slash command %s", loc, s, helpdesk)
		}
		if w.Here == "" || w.Here == h.env.Engine.Words(loc, "no-such-channel").Here || w.Tap == "" || w.Support == "" {
			t.Errorf("%s: Here %q, Tap %q, Support %q: want Slack's own (the private form)", loc, w.Here, w.Tap, w.Support)
		}
	}

	// No session yet: "cancel" typed in the DM is answered with the
	// engine's no-session text, which tells to begin with /helpdesk.
	h.env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	w := h.env.Engine.Words("en-US", slack.Channel)
	dmSay := func(text string) {
		t.Helper()
		body, _ := h.fake.MessageEvent(alice, h.dm(), text)
		h.tr.event(body)
	}
	dmSay("cancel")
	if got, want := h.lastText(), h.text(bot.MsgNoSession, nil); got != want || !strings.Contains(got, w.Begin.Cap()) {
		t.Fatalf("answer to cancel without a session %q, want %s (%q) with Begin %q", got, bot.MsgNoSession, want, w.Begin)
	}

	// A guided change started with /helpdesk: its texts ask for the
	// password in the private form and "help" tells to cancel the Slack
	// way.
	h.tr.command(h.fake.Command(alice, public, helpdesk, ""))
	if s := h.session(); s == nil || s.Done || s.Expect != bot.SecretPassword {
		t.Fatalf("session after %s: %+v, want one expecting the password", helpdesk, s)
	}
	dmSay("help")
	texts := h.texts(h.dm())
	if got := texts[len(texts)-1]; !strings.Contains(got, w.Say["cancel"].Cap()) && !strings.Contains(got, string(w.Say["cancel"])) {
		t.Errorf("help answer %q does not tell to %q", got, w.Say["cancel"])
	}
	here := 0
	for _, s := range texts {
		if strings.Contains(s, "/guidedfix") || strings.Contains(s, string(def.Say["cancel"])) {
			t.Errorf("DM text names another platform's command: %q", s)
		}
		if strings.Contains(s, string(w.Here)) {
			here++
		}
	}
	if here == 0 {
		t.Errorf("no DM text says where the secret is typed (%q): %q", w.Here, texts)
	}
}

// TestStaffUsageNamesConfiguredCommand: the staff commands' usage answer
// names the configured slash command.
func TestStaffUsageNamesConfiguredCommand(t *testing.T) {
	d := newMemDesk()
	h := newHarness(t, setup{mode: slack.ModeHTTP, env: testkit.Options{Support: d}, adapt: func(o *slack.Options) {
		o.Command, o.SupportChannel, o.StaffUserIDs, o.Desk = helpdesk, supportCh, []string{staffer}, d
	}})
	d.a = h.a
	n := len(h.fake.Ephemeral())
	h.tr.command(h.fake.Command(staffer, supportCh, helpdesk, "handoff"))
	got := h.ephemeralSince(n, staffer)
	if want := h.text("slack.staff.usage_handoff", map[string]any{"Command": helpdesk, "Flows": "totpswitch"}); got != want || !strings.Contains(got, helpdesk+" handoff") {
		t.Fatalf("usage answer %q, want %q", got, want)
	}
}
