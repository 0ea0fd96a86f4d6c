package main

import (
	"context"
	"io"
	"slices"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/support"
)

// escalationLog is a threadLog that opens a thread for each escalation
// too, with the escalation's text.
type escalationLog struct{ *threadLog }

func (n escalationLog) Escalate(ctx context.Context, _ bot.Conversation, text string, record func(string, string) error) error {
	ch, th, err := n.OpenThread(ctx, text)
	if err != nil {
		return err
	}
	return record(ch, th)
}

// TestSupportLocaleWordsDeskPosts: with slack.support_locale ms (set in
// the environment), the desk serve builds posts the hand-off thread's
// opening, the watch thread's last step with its outcome and an
// escalation exactly as the support desk's ms catalog texts
// (support.Messages), and stores the untranslated outcome; with the
// default the same posts are the en texts.
func TestSupportLocaleWordsDeskPosts(t *testing.T) {
	cat := bot.NewCatalog()
	fsys, paths := support.Messages()
	if err := cat.Load(fsys, paths...); err != nil {
		t.Fatal(err)
	}
	var opened [][]string
	for _, env := range []string{"", "ms"} {
		t.Run("locale="+env, func(t *testing.T) {
			if env != "" {
				t.Setenv("GUIDEDFIX_SLACK__SUPPORT_LOCALE", env)
			}
			t.Setenv("GUIDEDFIX_TELEGRAM__BOT_USERNAME", "portal_bot")
			ctx := context.Background()
			a, err := openApp(ctx, &globalFlags{dataDir: t.TempDir()}, openOptions{engine: true, logOut: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if _, err := a.core.AddAccount(ctx, embedded.NewAccount{Email: "ria@example.com", Phone: "+60123456789",
				Method: portal.MethodSMS, Password: "correct horse battery"}); err != nil {
				t.Fatal(err)
			}
			n := &threadLog{}
			a.desk.Notifier = escalationLog{n}
			_, h, err := a.desk.HandOff(ctx, "ria@example.com", "T-5", "slack", "U1AGENT")
			if err != nil {
				t.Fatal(err)
			}
			tr := bot.Transition{Conversation: bot.Conversation{Channel: "telegram", ID: "7"}, UserID: "7", Flow: totpswitch.Name,
				From: totpswitch.StateAwaitingPassword, To: "cancelled", Done: true,
				Tags: map[string]string{"account": h.AccountID, "handoff": h.ID}}
			a.desk.Observe(ctx, tr)
			s := bot.Session{ID: "s9", Conversation: bot.Conversation{Channel: "telegram", ID: "8"}, UserID: "8", Flow: totpswitch.Name,
				State: totpswitch.StateAwaitingSMSCode, Tags: map[string]string{"account": h.AccountID}}
			if err := a.desk.Escalate(ctx, s); err != nil {
				t.Fatal(err)
			}
			title := a.desk.Texts.Text(env, a.desk.Flows[0].Title, nil)
			step := func(st bot.State) string { return a.desk.StepName(totpswitch.Name, st) }
			wantOpened := []string{
				cat.Text(env, "support.desk.handoff_created", map[string]any{"ID": h.ID, "Flow": title, "Email": "ria@example.com",
					"Staff": "U1AGENT", "Ticket": "T-5"}),
				cat.Text(env, "support.desk.escalation", map[string]any{"Email": "ria@example.com",
					"Verified": cat.Text(env, "support.desk.verified_not_yet", nil), "Channel": "telegram",
					"Step": step(totpswitch.StateAwaitingSMSCode), "LastError": cat.Text(env, "support.desk.last_error_none", nil), "Flow": title}),
			}
			if !slices.Equal(n.opened, wantOpened) {
				t.Fatalf("threads %q\nwant %q", n.opened, wantOpened)
			}
			wantPosts := []string{cat.Text(env, "support.desk.watch_finished", map[string]any{"Time": "00:00:00 UTC",
				"Step": step("cancelled"), "Outcome": cat.Text(env, "support.desk.outcome.cancelled", nil)})}
			if got := n.posts[h.WatchThread]; !slices.Equal(got, wantPosts) {
				t.Fatalf("watch posts %q\nwant %q", got, wantPosts)
			}
			if got, err := a.desk.Store.Handoff(ctx, h.ID); err != nil || got.Outcome != "cancelled" {
				t.Fatalf("stored outcome %q, %v", got.Outcome, err)
			}
			opened = append(opened, n.opened)
		})
	}
	if len(opened) == 2 && (opened[0][0] == opened[1][0] || opened[0][1] == opened[1][1]) {
		t.Fatalf("the en and ms posts are the same: %q", opened)
	}
}
