package main

import (
	"context"
	"io"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/testkit"
)

// TestStartOverKeepsTheRunningFlow (issue 14 F1) runs the engine of
// `guidedfix serve` with both flows: in the middle of /newphone (at the
// password question, so the engine asks first), "Start over" of a start
// that names no flow — Telegram /start, the console demo's own start
// after a restart (kill -9), Slack's App Home button, Slack /guidedfix
// without argument (the engine's first command) — begins the new-phone
// flow again, in a new session; one that names a flow (/2fa, Slack
// "/guidedfix 2fa", ?start=2fa) begins that one. Exact flows and states.
func TestStartOverKeepsTheRunningFlow(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	addTOTPAccountAt(t, dir, "rio@example.com")
	a, err := openApp(ctx, &globalFlags{dataDir: dir}, openOptions{engine: true, logOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rec := &testkit.Recorder{}
	a.engine.Register("test", rec)
	first := a.engine.Commands()[0] // Slack /guidedfix without argument
	for i, tc := range []struct {
		name  string
		held  bot.Event
		flow  string
		state bot.State
	}{
		{"telegram /start", bot.Event{Kind: bot.KindStart}, newphone.Name, newphone.StateAwaitingEmail},
		{"demo restart", bot.Event{Kind: bot.KindStart, Email: "rio@example.com", EmailPinned: true}, newphone.Name, newphone.StateAwaitingPassword},
		{"slack /guidedfix", bot.Event{Kind: bot.KindCommand, Command: first}, newphone.Name, newphone.StateAwaitingEmail},
		{"/newphone", bot.Event{Kind: bot.KindCommand, Command: "newphone"}, newphone.Name, newphone.StateAwaitingEmail},
		{"/2fa", bot.Event{Kind: bot.KindCommand, Command: "2fa"}, totpswitch.Name, totpswitch.StateAwaitingEmail},
		{"?start=2fa", bot.Event{Kind: bot.KindStart, Data: "2fa"}, totpswitch.Name, totpswitch.StateAwaitingEmail},
	} {
		conv := bot.Conversation{Channel: "test", ID: "c" + string(rune('a'+i))}
		send := func(ev bot.Event) *bot.Session {
			t.Helper()
			ev.Conversation, ev.UserID, ev.Locale = conv, conv.ID, "en"
			if err := a.engine.Handle(ctx, ev); err != nil {
				t.Fatal(err)
			}
			s, err := a.engine.Session(ctx, conv)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		send(bot.Event{Kind: bot.KindCommand, Command: "newphone"})
		mid := send(bot.Event{Kind: bot.KindText, Text: "rio@example.com"})
		if mid.Flow != newphone.Name || mid.State != newphone.StateAwaitingPassword {
			t.Fatalf("%s: /newphone and the e-mail gave %s/%s", tc.name, mid.Flow, mid.State)
		}
		s := send(tc.held)
		if s.ID != mid.ID || s.PendingStart == nil {
			t.Fatalf("%s: the start was not held: session %s (was %s) pending %v", tc.name, s.ID, mid.ID, s.PendingStart)
		}
		s = send(bot.Event{Kind: bot.KindButton, Data: "_start_over|" + a.engine.Nonce(s)})
		if s.ID == mid.ID || s.Done || s.Flow != tc.flow || s.State != tc.state {
			t.Fatalf("%s: Start over began %s/%s (session %s, was %s), want %s/%s in a new session", tc.name, s.Flow, s.State, s.ID, mid.ID, tc.flow, tc.state)
		}
	}
}
