package bot_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"guidedfix/bot"
	"guidedfix/internal/store"
)

// TestStartOverRestartsOwnFlowUnlessNamed (issue 14 F1): "Start over" of a
// held start that names no flow — a plain start (Telegram /start, the
// console demo's start after a restart, Slack's App Home button) or the
// generic start command (Slack /guidedfix without argument) — restarts the
// session's own flow, not the default one; a held start that names a
// flow (its command, or a payload naming it: ?start=alpha) starts that
// flow. The same holds for a start at the first prompt, which restarts at
// once without asking.
func TestStartOverRestartsOwnFlowUnlessNamed(t *testing.T) {
	e := routedEngine(t)
	ctx := context.Background()
	cases := []struct {
		first, held bot.Event
		flow        string
	}{
		{bot.Event{Kind: bot.KindCommand, Command: "beta"}, bot.Event{Kind: bot.KindStart}, "beta"},
		{bot.Event{Kind: bot.KindCommand, Command: "beta"}, bot.Event{Kind: bot.KindCommand, Command: "start"}, "beta"},
		{bot.Event{Kind: bot.KindCommand, Command: "beta"}, bot.Event{Kind: bot.KindCommand, Command: "START"}, "beta"},
		{bot.Event{Kind: bot.KindCommand, Command: "beta"}, bot.Event{Kind: bot.KindCommand, Command: "b2"}, "beta"},
		{bot.Event{Kind: bot.KindCommand, Command: "beta"}, bot.Event{Kind: bot.KindCommand, Command: "alpha"}, "alpha"},
		{bot.Event{Kind: bot.KindCommand, Command: "beta"}, bot.Event{Kind: bot.KindStart, Data: "alpha"}, "alpha"},
		{bot.Event{Kind: bot.KindStart, Data: "beta"}, bot.Event{Kind: bot.KindStart, Data: "beta"}, "beta"},
		{bot.Event{Kind: bot.KindStart}, bot.Event{Kind: bot.KindStart}, "alpha"},
		{bot.Event{Kind: bot.KindStart}, bot.Event{Kind: bot.KindCommand, Command: "beta"}, "beta"},
		{bot.Event{Kind: bot.KindStart}, bot.Event{Kind: bot.KindStart, Data: "b2"}, "beta"},
	}
	for i, tc := range cases {
		conv := bot.Conversation{Channel: "test", ID: "own" + string(rune('a'+i))}
		tc.first.Conversation, tc.held.Conversation = conv, conv
		tc.held.Email, tc.held.EmailPinned = "pia@example.com", true
		for _, x := range []bot.Event{tc.first, tc.held} {
			if err := e.Handle(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		s, err := e.Session(ctx, conv)
		if err != nil || s.PendingStart == nil {
			t.Fatalf("case %d: %+v, %v; want the start held", i, s, err)
		}
		before := s.ID
		if err := e.Handle(ctx, bot.Event{Conversation: conv, Kind: bot.KindButton, Data: "_start_over|" + e.Nonce(s)}); err != nil {
			t.Fatal(err)
		}
		s, err = e.Session(ctx, conv)
		if err != nil || s.ID == before || s.Done || s.Flow != tc.flow || s.State != bot.State(tc.flow+"_first") || s.PendingStart != nil || s.Tags["payload"] != "" {
			t.Fatalf("case %d: Start over of %+v gave %+v, %v; want a new session of %s", i, tc.held, s, err, tc.flow)
		}
	}
}

// teeFlow is a firstFlow (a transition table whose Start state is "ask")
// that the command "tee" starts.
type teeFlow struct{ *firstFlow }

func (f teeFlow) Describe() bot.Descriptor {
	return bot.Descriptor{Commands: []bot.Command{{Name: "tee"}}}
}

// TestStartAtFirstPromptRestartsOwnFlow (issue 14 F1): a plain start at
// the first prompt of a flow that is not the default one restarts that
// flow at once (no question: nothing would be lost), in a new session;
// one naming the default flow starts the default flow.
func TestStartAtFirstPromptRestartsOwnFlow(t *testing.T) {
	st, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, tee := &stepFlow{name: "a"}, teeFlow{&firstFlow{}}
	e, err := bot.New(bot.Options{Store: st, Flows: []bot.Flow{a, tee}, Logger: quiet, States: bot.StateCheck{Strict: true}})
	if err != nil {
		t.Fatal(err)
	}
	e.Register("test", &recorder{})
	session := func() *bot.Session {
		t.Helper()
		s, err := e.Session(context.Background(), conv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cmd := ev(bot.KindCommand, "1")
	cmd.Command = "tee"
	mustHandle(t, e, cmd)
	first := session()
	if first.Flow != "first" || first.State != "ask" {
		t.Fatalf("/tee began %s in %q", first.Flow, first.State)
	}
	for i, x := range []bot.Event{{Kind: bot.KindStart}, {Kind: bot.KindCommand, Command: "start"}} {
		x.Conversation, x.UserID, x.UpdateID = conv, "u1", "s"+string(rune('0'+i))
		before := session()
		mustHandle(t, e, x)
		s := session()
		if s.ID == before.ID || s.Flow != "first" || s.State != "ask" || s.Done || s.PendingStart != nil {
			t.Fatalf("%+v at the first prompt: session %s (before %s) flow %q state %q pending %v", x, s.ID, before.ID, s.Flow, s.State, s.PendingStart)
		}
	}
	if want := []bot.Kind{bot.KindStart, bot.KindStart}; !slices.Equal(tee.kinds, want) || len(a.kinds) != 0 {
		t.Fatalf("flow first saw %v, a %v", tee.kinds, a.kinds)
	}
	named := ev(bot.KindStart, "n")
	named.Data = "a"
	mustHandle(t, e, named)
	if s := session(); s.Flow != "a" || s.State != "ask" {
		t.Fatalf("?start=a at the first prompt began %s in %q", s.Flow, s.State)
	}
}
