package main

import (
	"context"
	"io"
	"slices"
	"sync"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/config"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
)

// threadLog is a support.Notifier that keeps every post of every thread.
type threadLog struct {
	mu      sync.Mutex
	opened  []string
	posts   map[string][]string
	threads int
}

func (n *threadLog) OpenThread(_ context.Context, text string) (string, string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.threads++
	n.opened = append(n.opened, text)
	return "C0SUPPORT", "T" + string(rune('0'+n.threads)), nil
}

func (n *threadLog) Post(_ context.Context, _, thread, text string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.posts == nil {
		n.posts = map[string][]string{}
	}
	n.posts[thread] = append(n.posts[thread], text)
	return nil
}

func (n *threadLog) Escalate(context.Context, bot.Conversation, string, func(string, string) error) error {
	return nil
}

// TestSupportLocaleNamesWatchSteps: slack.support_locale ms, set in the
// environment, reaches the desk serve builds, and its watch thread names
// the hand-off's steps in Malay (the totpswitch catalog's ms.yaml); the
// default is English.
func TestSupportLocaleNamesWatchSteps(t *testing.T) {
	if want := []string{"en", "ms"}; !slices.Equal(config.SupportLocales, want) {
		t.Fatalf("config.SupportLocales = %q, want %q", config.SupportLocales, want)
	}
	var tags []string
	for _, l := range bot.Languages {
		tags = append(tags, l.Tag)
	}
	if !slices.Equal(tags, config.SupportLocales) {
		t.Fatalf("bot.Languages %q, config.SupportLocales %q: keep them equal", tags, config.SupportLocales)
	}
	for _, tc := range []struct {
		env, want string
		step      []string
	}{
		{"", "en", []string{"00:00:00 UTC — Verify password", "00:00:00 UTC — Verify SMS code"}},
		{"ms", "ms", []string{"00:00:00 UTC — Sahkan kata laluan", "00:00:00 UTC — Sahkan kod SMS"}},
	} {
		t.Run("locale="+tc.want, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("GUIDEDFIX_SLACK__SUPPORT_LOCALE", tc.env)
			}
			t.Setenv("GUIDEDFIX_TELEGRAM__BOT_USERNAME", "portal_bot")
			ctx := context.Background()
			a, err := openApp(ctx, &globalFlags{dataDir: t.TempDir()}, openOptions{engine: true, logOut: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if a.desk.Locale != tc.want {
				t.Fatalf("desk locale %q, want %q", a.desk.Locale, tc.want)
			}
			if _, err := a.core.AddAccount(ctx, embedded.NewAccount{Email: "ria@example.com", Phone: "+60123456789",
				Method: portal.MethodSMS, Password: "correct horse battery"}); err != nil {
				t.Fatal(err)
			}
			n := &threadLog{}
			a.desk.Notifier = n
			_, h, err := a.desk.HandOff(ctx, "ria@example.com", "", "slack", "U1AGENT")
			if err != nil {
				t.Fatal(err)
			}
			if h.WatchThread != "T1" {
				t.Fatalf("watch thread %q", h.WatchThread)
			}
			tr := bot.Transition{Conversation: bot.Conversation{Channel: "telegram", ID: "7"}, UserID: "7", Flow: totpswitch.Name,
				From: totpswitch.StateAwaitingEmail, To: totpswitch.StateAwaitingPassword,
				Tags: map[string]string{"account": h.AccountID, "handoff": h.ID}}
			a.desk.Observe(ctx, tr)
			tr.From, tr.To = totpswitch.StateAwaitingPassword, totpswitch.StateAwaitingSMSCode
			a.desk.Observe(ctx, tr)
			if got := n.posts["T1"]; !slices.Equal(got, tc.step) {
				t.Fatalf("watch posts %q, want %q", got, tc.step)
			}
		})
	}
}
