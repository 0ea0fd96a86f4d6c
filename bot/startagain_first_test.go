package bot_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/internal/store"
)

// firstFlow is a flow with a transition table whose Start state is
// "ask"; the text "next" moves it to "second", "again" re-asks (Goto ask),
// a start restarts it. It records the event kinds Handle gets.
type firstFlow struct{ kinds []bot.Kind }

func (f *firstFlow) Name() string { return "first" }
func (f *firstFlow) StateTable() bot.Table {
	return bot.Table{
		Start:  []bot.State{"ask"},
		Next:   map[bot.State][]bot.State{"ask": {"ask", "second"}, "second": nil, "cancelled": nil},
		Always: []bot.State{"cancelled"},
	}
}
func (f *firstFlow) Start(ctx context.Context, t *bot.Turn) error {
	t.Goto("ask")
	t.Say("engine.help_idle", nil)
	return nil
}
func (f *firstFlow) Handle(ctx context.Context, t *bot.Turn) error {
	f.kinds = append(f.kinds, t.Event.Kind)
	switch {
	case t.Event.Kind == bot.KindStart:
		t.Restart("cancelled")
	case t.Event.Text == "next":
		t.SetState("second") // same step: only the state tells progress
	case t.Event.Text == "again":
		t.Goto("ask")
	}
	return nil
}
func (f *firstFlow) Expire(ctx context.Context, t *bot.Turn) error { return nil }

// TestStartAgainOnlyAfterProgress: a start while the session is still in
// its flow's Table.Start state (also after re-asking the first question)
// restarts silently; once the session has moved on, the engine asks, and
// a start command in upper case counts as the command.
func TestStartAgainOnlyAfterProgress(t *testing.T) {
	st, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &firstFlow{}
	clk := &clock{t: time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)}
	e, err := bot.New(bot.Options{Store: st, Flows: []bot.Flow{f}, Now: clk.now, IdleTimeout: 15 * time.Minute,
		StartCommands: []string{"start", "bee"}, States: bot.StateCheck{Strict: true}})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	e.Register("test", rec)
	ctx := context.Background()
	session := func() *bot.Session {
		t.Helper()
		s, err := e.Session(ctx, conv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	text := func(update, s string) {
		t.Helper()
		x := ev(bot.KindText, update)
		x.Text = s
		mustHandle(t, e, x)
	}
	mustHandle(t, e, ev(bot.KindStart, "1"))
	first := session()

	// At the first prompt: a silent restart, no question.
	bee := ev(bot.KindCommand, "2")
	bee.Command = "bee"
	mustHandle(t, e, bee)
	s := session()
	if s.ID == first.ID || s.State != "ask" || s.Done || s.PendingStart != nil || rec.last().ID == bot.MsgStartAgain {
		t.Fatalf("start at the first prompt: session %s (first %s) state %q pending %v, last reply %q", s.ID, first.ID, s.State, s.PendingStart, rec.last().ID)
	}
	if !slices.Equal(f.kinds, []bot.Kind{bot.KindStart}) {
		t.Fatalf("flow saw %v, want one start", f.kinds)
	}

	// Re-asked the first question: still nothing to lose.
	text("3", "again")
	second := session()
	mustHandle(t, e, ev(bot.KindStart, "4"))
	if s := session(); s.ID == second.ID || s.PendingStart != nil || rec.last().ID == bot.MsgStartAgain {
		t.Fatalf("start after re-asking: session %s (before %s) pending %v", s.ID, second.ID, s.PendingStart)
	}

	// Moved on: the engine asks; /BEE is the start command bee.
	text("5", "next")
	moved := session()
	if moved.State != "second" {
		t.Fatalf("after next: state %q", moved.State)
	}
	if !e.IsStartCommand("BEE") {
		t.Fatal(`IsStartCommand("BEE") = false`)
	}
	upper := ev(bot.KindCommand, "6")
	upper.Command = "BEE"
	mustHandle(t, e, upper)
	s = session()
	if got := rec.last().ID; got != bot.MsgStartAgain {
		t.Fatalf("start after progress answered %q", got)
	}
	if s.ID != moved.ID || s.State != "second" || s.PendingStart == nil || s.PendingStart.Command != "bee" {
		t.Fatalf("question: session %s (before %s) state %q pending %+v", s.ID, moved.ID, s.State, s.PendingStart)
	}
	if want := []bot.Kind{bot.KindStart, bot.KindText, bot.KindStart, bot.KindText}; !slices.Equal(f.kinds, want) {
		t.Fatalf("flow saw %v, want %v (the held-back start not among them)", f.kinds, want)
	}
}
