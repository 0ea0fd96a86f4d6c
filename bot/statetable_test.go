package bot_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/internal/store"
)

// tableFlow is a flow with a transition table: start -> ask; the text
// "go" passes through the transient "working" (SetState, Checkpoint) to
// "end"; "again" re-asks (Goto ask); "jump" moves ask -> end directly,
// which the table does not list; "jumpsave" makes that change and then
// checkpoints; "same" calls SetState with the current state.
type tableFlow struct {
	table      bot.Table
	checkpoint error
}

func (f *tableFlow) Name() string { return "tabled" }

func (f *tableFlow) StateTable() bot.Table { return f.table }

func (f *tableFlow) Start(ctx context.Context, t *bot.Turn) error {
	t.Goto("ask")
	t.Say("engine.help_idle", nil)
	return nil
}

func (f *tableFlow) Handle(ctx context.Context, t *bot.Turn) error {
	if t.Event.Kind == bot.KindCommand && t.Event.Command == "cancel" {
		t.End("cancelled")
		return nil
	}
	switch t.Event.Text {
	case "go":
		t.SetState("working")
		if err := t.Checkpoint(ctx); err != nil {
			return err
		}
		t.End("end")
	case "again":
		t.Goto("ask")
	case "jump":
		t.End("end")
	case "jumpsave":
		t.Goto("end")
		f.checkpoint = t.Checkpoint(ctx)
		return f.checkpoint
	case "same":
		t.SetState(t.Session.State)
	}
	t.Say("engine.no_session", nil)
	return nil
}

func (f *tableFlow) Expire(ctx context.Context, t *bot.Turn) error {
	t.End("expired")
	return nil
}

func smallTable() bot.Table {
	return bot.Table{
		Start:  []bot.State{"ask"},
		Next:   map[bot.State][]bot.State{"ask": {"working", "ask"}, "working": {"end"}, "end": nil, "cancelled": nil, "expired": nil},
		Always: []bot.State{"cancelled", "expired"},
	}
}

// unlistedMeter is a bot.Meter that counts unlisted transitions.
type unlistedMeter struct {
	mu    sync.Mutex
	edges []bot.Edge
}

func (m *unlistedMeter) Turn(string, time.Duration, error) {}
func (m *unlistedMeter) Sweep(int, time.Duration)          {}
func (m *unlistedMeter) Deadline(time.Duration)            {}
func (m *unlistedMeter) Pending(string, int)               {}
func (m *unlistedMeter) UnlistedTransition(flow string, from, to bot.State) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if flow == "tabled" {
		m.edges = append(m.edges, bot.Edge{From: from, To: to})
	}
}

type tableEnv struct {
	engine *bot.Engine
	flow   *tableFlow
	meter  *unlistedMeter
	log    *strings.Builder
	mu     sync.Mutex
	seen   []bot.StateChange
}

func newTableEnv(t *testing.T, strict bool) *tableEnv {
	t.Helper()
	st, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	te := &tableEnv{flow: &tableFlow{table: smallTable()}, meter: &unlistedMeter{}, log: &strings.Builder{}}
	logger := slog.New(slog.NewTextHandler(&lockedWriter{b: te.log}, nil))
	te.engine, err = bot.New(bot.Options{Store: st, Flows: []bot.Flow{te.flow}, Logger: logger, Meter: te.meter,
		States: bot.StateCheck{Strict: strict, Seen: func(c bot.StateChange) {
			te.mu.Lock()
			defer te.mu.Unlock()
			te.seen = append(te.seen, c)
		}}})
	if err != nil {
		t.Fatal(err)
	}
	te.engine.Register("test", &recorder{})
	return te
}

type lockedWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (te *tableEnv) text(s, update string) error {
	e := ev(bot.KindText, update)
	e.Text = s
	return te.engine.Handle(context.Background(), e)
}

func (te *tableEnv) edges() []string {
	te.mu.Lock()
	defer te.mu.Unlock()
	var out []string
	for _, c := range te.seen {
		mark := ""
		if !c.Listed {
			mark = " (unlisted)"
		}
		out = append(out, c.Edge.String()+mark)
	}
	return out
}

// TestStateChangesListedPass: every change of a turn is checked, the
// transient state included; a listed path passes in strict mode, a
// SetState to the same state is no change and a Goto to it is one.
func TestStateChangesListedPass(t *testing.T) {
	te := newTableEnv(t, true)
	mustHandle(t, te.engine, ev(bot.KindStart, "1"))
	for i, s := range []string{"same", "again", "go"} {
		if err := te.text(s, string(rune('2'+i))); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	want := []string{"[*] -> ask", "ask -> ask", "ask -> working", "working -> end"}
	if got := te.edges(); !slices.Equal(got, want) {
		t.Fatalf("changes %q, want %q", got, want)
	}
	s, _ := te.engine.Session(context.Background(), conv)
	if s.State != "end" || !s.Done {
		t.Fatalf("state %q done %v", s.State, s.Done)
	}
	if len(te.meter.edges) != 0 || strings.Contains(te.log.String(), "transition table") {
		t.Fatalf("listed changes reported: %v\n%s", te.meter.edges, te.log.String())
	}
}

// TestUnlistedChangeLoggedAndCounted: without Strict an unlisted change
// is made and saved, logged once with flow, from and to, and counted.
func TestUnlistedChangeLoggedAndCounted(t *testing.T) {
	te := newTableEnv(t, false)
	mustHandle(t, te.engine, ev(bot.KindStart, "1"))
	if err := te.text("jump", "2"); err != nil {
		t.Fatal(err)
	}
	s, _ := te.engine.Session(context.Background(), conv)
	if s.State != "end" || !s.Done {
		t.Fatalf("state %q done %v, want the change made", s.State, s.Done)
	}
	if want := []bot.Edge{{From: "ask", To: "end"}}; !slices.Equal(te.meter.edges, want) {
		t.Fatalf("counted %v, want %v", te.meter.edges, want)
	}
	if got, want := te.edges(), []string{"[*] -> ask", "ask -> end (unlisted)"}; !slices.Equal(got, want) {
		t.Fatalf("changes %q, want %q", got, want)
	}
	logText := te.log.String()
	if n := strings.Count(logText, "level=WARN"); n != 1 ||
		!strings.Contains(logText, "flow=tabled") || !strings.Contains(logText, "from=ask to=end") {
		t.Fatalf("%d warnings; log:\n%s", n, logText)
	}
}

// TestUnlistedChangeFailsStrictTurn: with Strict the turn fails with
// ErrUnlistedTransition and nothing of it is saved; a Checkpoint after
// the change returns the error too.
func TestUnlistedChangeFailsStrictTurn(t *testing.T) {
	te := newTableEnv(t, true)
	mustHandle(t, te.engine, ev(bot.KindStart, "1"))
	before, _ := te.engine.Session(context.Background(), conv)
	err := te.text("jump", "2")
	if !errors.Is(err, bot.ErrUnlistedTransition) || !errors.Is(err, bot.ErrTurnFailed) {
		t.Fatalf("err %v, want ErrUnlistedTransition in ErrTurnFailed", err)
	}
	after, _ := te.engine.Session(context.Background(), conv)
	if after.State != "ask" || after.Done || after.Version != before.Version || after.Step != before.Step {
		t.Fatalf("session changed: %q/%v v%d step %d, was %q v%d step %d",
			after.State, after.Done, after.Version, after.Step, before.State, before.Version, before.Step)
	}
	if err := te.text("jumpsave", "3"); !errors.Is(err, bot.ErrUnlistedTransition) || !errors.Is(te.flow.checkpoint, bot.ErrUnlistedTransition) {
		t.Fatalf("turn %v, checkpoint %v, want ErrUnlistedTransition", err, te.flow.checkpoint)
	}
	if s, _ := te.engine.Session(context.Background(), conv); s.Version != before.Version {
		t.Fatalf("checkpoint saved an unlisted state: v%d, was v%d", s.Version, before.Version)
	}
	// The Always exits are listed for every non-terminal state.
	mustHandle(t, te.engine, bot.Event{Conversation: conv, UserID: "u1", UpdateID: "4", Kind: bot.KindCommand, Command: "cancel"})
	if s, _ := te.engine.Session(context.Background(), conv); s.State != "cancelled" || !s.Done {
		t.Fatalf("cancel: state %q done %v", s.State, s.Done)
	}
	if len(te.meter.edges) != 2 {
		t.Fatalf("counted %d unlisted changes, want 2", len(te.meter.edges))
	}
}

// TestMalformedTableRefused: New fails for a table whose states are not
// all keys.
func TestMalformedTableRefused(t *testing.T) {
	st, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for name, tb := range map[string]bot.Table{
		"no start":       {Next: map[bot.State][]bot.State{"a": nil}},
		"unknown start":  {Start: []bot.State{"b"}, Next: map[bot.State][]bot.State{"a": nil}},
		"unknown next":   {Start: []bot.State{"a"}, Next: map[bot.State][]bot.State{"a": {"b"}}},
		"unknown always": {Start: []bot.State{"a"}, Next: map[bot.State][]bot.State{"a": nil}, Always: []bot.State{"c"}},
	} {
		if _, err := bot.New(bot.Options{Store: st, Flows: []bot.Flow{&tableFlow{table: tb}}}); err == nil {
			t.Errorf("%s: New accepted the table", name)
		}
	}
}

func TestTableEdgesAndAllows(t *testing.T) {
	tb := smallTable()
	var got []string
	for _, e := range tb.Edges() {
		got = append(got, e.String())
	}
	want := []string{"[*] -> ask", "ask -> ask", "ask -> cancelled", "ask -> expired", "ask -> working",
		"working -> cancelled", "working -> end", "working -> expired"}
	if !slices.Equal(got, want) {
		t.Fatalf("edges %q\nwant  %q", got, want)
	}
	for _, e := range tb.Edges() {
		if !tb.Allows(e.From, e.To) {
			t.Errorf("Allows(%s) false for a listed edge", e)
		}
	}
	for _, e := range []bot.Edge{{"", "end"}, {"ask", "end"}, {"end", "cancelled"}, {"end", "ask"}, {"nowhere", "ask"}, {"working", "working"}} {
		if tb.Allows(e.From, e.To) {
			t.Errorf("Allows(%s) true", e)
		}
	}
	if !tb.Terminal("end") || tb.Terminal("ask") || tb.Terminal("nowhere") {
		t.Error("Terminal wrong")
	}
}
