package support_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"guidedfix/bot"
	"guidedfix/internal/portal"
	"guidedfix/internal/support"
)

// TestRelayFilterMatchesCoreNormaliser (issue 11 item 8): every spelling
// of a code that portal.NormalizeCode accepts is withheld from the agent,
// by the relay filter and by the engine's LooksSecret.
func TestRelayFilterMatchesCoreNormaliser(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"123\u00a0456", "[number withheld]"},
		{"123\u2009456", "[number withheld]"},
		{"123\t456", "[number withheld]"},
		{"123\u2013456", "[number withheld]"},
		{"123\u2212456", "[number withheld]"},
		{"\uff11\uff12\uff13\uff14\uff15\uff16", "[number withheld]"},
		{"\u0661\u0662\u0663\u0664\u0665\u0666", "[number withheld]"},
		{"code 12 34 56 thanks", "code [number withheld] thanks"},
		{"step 5 of 6", "step 5 of 6"},
		{"12345 is short", "12345 is short"},
		{"room 12, floor 3", "room 12, floor 3"},
	} {
		if got := support.WithholdCodes(tc.in); got != tc.want {
			t.Errorf("WithholdCodes(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if _, ok := portal.NormalizeCode(tc.in); ok && !bot.LooksSecret(tc.in, false) {
			t.Errorf("LooksSecret(%q) = false for a code the core accepts", tc.in)
		}
	}
}

// TestRelayWithholdsPasswordInSentence (issue 11 item 8b): while an agent
// has the chat, a message holding the account's password inside a
// sentence is withheld (the agent gets the note, Relay returns
// bot.ErrSecretWithheld); other messages are relayed; the check counts no
// failure.
func TestRelayWithholdsPasswordInSentence(t *testing.T) {
	d, env, ch := newDesk(t)
	d.Passwords = env.Core
	pw := env.AddAccount(t, "pia@example.com", portal.MethodSMS)
	acc, _ := env.Core.LookupAccount(context.Background(), "pia@example.com")
	s := bot.Session{Conversation: bot.Conversation{Channel: "telegram", ID: "8"}, UserID: "8", State: "awaiting_sms_code",
		Tags: map[string]string{"account": acc.ID}}
	if err := d.Escalate(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text     string
		withheld bool
	}{
		{"my password is " + pw, true},
		{"my password is " + pw + ".", true},
		{"is it \"" + pw + "\"?", true},
		{"I forgot whether it was correct-horse-battery", false},
		{"hello, I need help please", false},
	} {
		err := d.Relay(context.Background(), s, tc.text)
		if tc.withheld != errors.Is(err, bot.ErrSecretWithheld) || (!tc.withheld && err != nil) {
			t.Errorf("Relay(%q) = %v, want withheld %v", tc.text, err, tc.withheld)
		}
	}
	posts := ch.posts["ts1"]
	want := []string{"Customer: " + bot.WithheldNote, "Customer: " + bot.WithheldNote, "Customer: " + bot.WithheldNote,
		"Customer: I forgot whether it was correct-horse-battery", "Customer: hello, I need help please"}
	if strings.Join(posts, "\n") != strings.Join(want, "\n") {
		t.Fatalf("posts %q\nwant %q", posts, want)
	}
	r, err := env.Core.Restrictions(context.Background(), acc.ID)
	if err != nil || r.Failures != 0 || len(r.Consecutive) != 0 {
		t.Fatalf("the check counted failures: %+v %v", r, err)
	}
}
