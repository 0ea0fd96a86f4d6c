package bot_test

import (
	"context"
	"path/filepath"
	"testing"

	"guidedfix/bot"
	"guidedfix/internal/store"
)

// TestHelpIdleListsFlowsFromDescriptors: /help with no session lists
// each registered flow with a start command, from its descriptor (the
// command as the channel says it, and the command's description, or the
// flow's title when the command has none), in registration order; a flow
// without commands is left out. The engine's text names no flow.
func TestHelpIdleListsFlowsFromDescriptors(t *testing.T) {
	st, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	alpha := describedFlow{bot.Descriptor{Name: "alpha", Commands: []bot.Command{{Name: "alpha", Description: bot.MsgNoSession}}}}
	beta := describedFlow{bot.Descriptor{Name: "beta", Title: bot.MsgNotOwner, Commands: []bot.Command{{Name: "beta"}}}}
	gamma := describedFlow{bot.Descriptor{Name: "gamma", Title: bot.MsgInternalError}}
	e, err := bot.New(bot.Options{Store: st, Flows: []bot.Flow{alpha, beta, gamma}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	e.Register("test", rec)
	for _, locale := range []string{"en", "ms"} {
		rec.replies = nil
		conv := bot.Conversation{Channel: "test", ID: "c-" + locale}
		if err := e.Handle(context.Background(), bot.Event{Conversation: conv, UserID: "u", UpdateID: "h-" + locale,
			Kind: bot.KindCommand, Command: "help", Locale: locale}); err != nil {
			t.Fatal(err)
		}
		if len(rec.replies) != 1 || rec.replies[0].ID != bot.MsgHelpIdle {
			t.Fatalf("%s: replies %v, want one %s", locale, rec.ids(), bot.MsgHelpIdle)
		}
		w := e.Words(locale, "test")
		flows := "• " + w.Say["alpha"].Cap() + ": " + e.Text(locale, "test", bot.MsgNoSession, nil) + "\n" +
			"• " + w.Say["beta"].Cap() + ": " + e.Text(locale, "test", bot.MsgNotOwner, nil)
		if want := e.Text(locale, "test", bot.MsgHelpIdle, map[string]any{"Flows": flows}); rec.replies[0].Text != want {
			t.Errorf("%s: help\n%q\nwant\n%q", locale, rec.replies[0].Text, want)
		}
	}
}
