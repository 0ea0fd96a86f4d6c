package bot_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"guidedfix/bot"
	"guidedfix/internal/store"
)

// describedFlow is a flow with a descriptor: Start enters "<name>_first"
// and records the payload it got in the session tag "payload".
type describedFlow struct {
	d bot.Descriptor
}

func (f describedFlow) Name() string             { return f.d.Name }
func (f describedFlow) Describe() bot.Descriptor { return f.d }
func (f describedFlow) Start(ctx context.Context, t *bot.Turn) error {
	t.Goto(bot.State(f.d.Name + "_first"))
	t.Tag("payload", t.Event.Data)
	t.Say("engine.help_idle", nil)
	return nil
}
func (f describedFlow) Handle(ctx context.Context, t *bot.Turn) error {
	if t.Event.Kind == bot.KindStart {
		t.Restart("cancelled")
	}
	return nil
}
func (f describedFlow) Expire(ctx context.Context, t *bot.Turn) error { return nil }

func routedEngine(t *testing.T) *bot.Engine {
	t.Helper()
	st, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	def := describedFlow{bot.Descriptor{Name: "alpha", Version: 3, Commands: []bot.Command{{Name: "Alpha", Description: "engine.help_idle"}}}}
	other := describedFlow{bot.Descriptor{Name: "beta", Commands: []bot.Command{{Name: "beta"}, {Name: "b2"}}, PayloadPrefix: "bt_",
		States: map[bot.State]string{"beta_first": "engine.no_session"}}}
	e, err := bot.New(bot.Options{Store: st, Flows: []bot.Flow{def, other}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	e.Register("test", &recorder{})
	return e
}

// TestRouteByCommandAndPayload checks which flow each start event begins
// and the payload the flow receives, and that the session records the
// flow's name and version.
func TestRouteByCommandAndPayload(t *testing.T) {
	e := routedEngine(t)
	if got := strings.Join(e.Commands(), " "); got != "start alpha beta b2 cancel help language" {
		t.Fatalf("Commands() = %q", got)
	}
	for i, tc := range []struct {
		ev            bot.Event
		flow, payload string
		state         bot.State
		version       int
	}{
		{ev: bot.Event{Kind: bot.KindCommand, Command: "start"}, flow: "alpha", state: "alpha_first", version: 3},
		{ev: bot.Event{Kind: bot.KindCommand, Command: "alpha"}, flow: "alpha", state: "alpha_first", version: 3},
		{ev: bot.Event{Kind: bot.KindCommand, Command: "beta"}, flow: "beta", state: "beta_first", version: 1},
		{ev: bot.Event{Kind: bot.KindCommand, Command: "b2"}, flow: "beta", state: "beta_first", version: 1},
		{ev: bot.Event{Kind: bot.KindStart}, flow: "alpha", state: "alpha_first", version: 3},
		{ev: bot.Event{Kind: bot.KindStart, Data: "tok123"}, flow: "alpha", payload: "tok123", state: "alpha_first", version: 3},
		{ev: bot.Event{Kind: bot.KindStart, Data: "bt_tok456"}, flow: "beta", payload: "tok456", state: "beta_first", version: 1},
		{ev: bot.Event{Kind: bot.KindStart, Data: "beta"}, flow: "beta", state: "beta_first", version: 1},
		{ev: bot.Event{Kind: bot.KindStart, Data: "b2"}, flow: "beta", state: "beta_first", version: 1},
		{ev: bot.Event{Kind: bot.KindStart, Data: "alpha"}, flow: "alpha", state: "alpha_first", version: 3},
	} {
		if f, p := e.Route(tc.ev); f != tc.flow || p != tc.payload {
			t.Errorf("%d: Route(%v) = %q, %q; want %q, %q", i, tc.ev, f, p, tc.flow, tc.payload)
		}
		conv := bot.Conversation{Channel: "test", ID: "c" + string(rune('a'+i))}
		ev := tc.ev
		ev.Conversation = conv
		if err := e.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		s, err := e.Session(context.Background(), conv)
		if err != nil {
			t.Fatal(err)
		}
		if s.Flow != tc.flow || s.State != tc.state || s.FlowVersion != tc.version || s.Tags["payload"] != tc.payload {
			t.Errorf("%d: session %s/%s v%d payload %q; want %s/%s v%d payload %q", i, s.Flow, s.State, s.FlowVersion,
				s.Tags["payload"], tc.flow, tc.state, tc.version, tc.payload)
		}
	}
	// A start command in the middle of one flow asks first (issue 14);
	// "Start over" then restarts into the other.
	conv := bot.Conversation{Channel: "test", ID: "restart"}
	for _, ev := range []bot.Event{{Kind: bot.KindCommand, Command: "start"}, {Kind: bot.KindCommand, Command: "beta"}} {
		ev.Conversation = conv
		if err := e.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	s, err := e.Session(context.Background(), conv)
	if err != nil || s.Flow != "alpha" || s.PendingStart == nil {
		t.Fatalf("after /start then /beta: %+v, %v; want alpha asking first", s, err)
	}
	over := bot.Event{Conversation: conv, Kind: bot.KindButton, Data: "_start_over|" + e.Nonce(s)}
	if err := e.Handle(context.Background(), over); err != nil {
		t.Fatal(err)
	}
	if s, err := e.Session(context.Background(), conv); err != nil || s.Flow != "beta" || s.State != "beta_first" {
		t.Fatalf("after /start then /beta: %+v, %v; want beta/beta_first", s, err)
	}
}

// TestDescriptors checks what Flows, Flow and CommandFlow return, and
// that New refuses two flows with one name or one payload prefix.
func TestDescriptors(t *testing.T) {
	e := routedEngine(t)
	ds := e.Flows()
	if len(ds) != 2 || ds[0].Name != "alpha" || ds[1].Name != "beta" || ds[0].Commands[0].Name != "alpha" || ds[1].Version != 1 {
		t.Fatalf("Flows() = %+v", ds)
	}
	if d, ok := e.Flow("beta"); !ok || d.StateName("beta_first") != "engine.no_session" || d.StateName("other") != "" {
		t.Fatalf("Flow(beta) = %+v, %v", d, ok)
	}
	if _, ok := e.Flow("gamma"); ok {
		t.Fatal("Flow(gamma) found")
	}
	if d, c, ok := e.CommandFlow("b2"); !ok || d.Name != "beta" || c.Name != "b2" {
		t.Fatalf("CommandFlow(b2) = %v %v %v", d.Name, c, ok)
	}
	if _, _, ok := e.CommandFlow("start"); ok {
		t.Fatal("CommandFlow(start): start names no flow")
	}
	for word, want := range map[string]string{"beta": "beta", " /B2 ": "beta", "Alpha": "alpha", "/alpha": "alpha", "": "", "/": "", "start": "", "gamma": ""} {
		d, ok := bot.FlowByWord(ds, word)
		if d.Name != want || ok != (want != "") {
			t.Errorf("FlowByWord(%q) = %q, %v; want %q", word, d.Name, ok, want)
		}
	}
	st, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "s.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a := describedFlow{bot.Descriptor{Name: "a", PayloadPrefix: "x_"}}
	for _, flows := range [][]bot.Flow{{a, a}, {a, describedFlow{bot.Descriptor{Name: "b", PayloadPrefix: "x_"}}}} {
		if _, err := bot.New(bot.Options{Store: st, Flows: flows}); err == nil {
			t.Fatalf("New accepted %d flows with a shared name or prefix", len(flows))
		}
	}
	if d := bot.Describe(&echoFlow{}); d.Name != "echo" || d.Version != 1 || len(d.Commands) != 0 {
		t.Fatalf("Describe(echoFlow) = %+v", d)
	}
}

// TestStartPayloadNamingFlowAsksFirst: a start whose payload names a
// flow (the deep link ?start=beta) in the middle of another flow asks
// first like a plain start, keeping the payload: "Continue" keeps the
// running flow, "Start over" restarts into the named one. A payload that
// is a hand-off token is passed on without asking.
func TestStartPayloadNamingFlowAsksFirst(t *testing.T) {
	e := routedEngine(t)
	ctx := context.Background()
	for i, over := range []bool{false, true} {
		conv := bot.Conversation{Channel: "test", ID: "payload" + string(rune('a'+i))}
		for _, ev := range []bot.Event{{Kind: bot.KindCommand, Command: "start"}, {Kind: bot.KindStart, Data: "beta"}} {
			ev.Conversation = conv
			if err := e.Handle(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		s, err := e.Session(ctx, conv)
		if err != nil || s.Flow != "alpha" || s.PendingStart == nil || s.PendingStart.Payload != "beta" || s.PendingStart.Kind != bot.KindStart {
			t.Fatalf("after /start then ?start=beta: %+v, %v; want alpha asking first with payload beta", s, err)
		}
		action, flow := "_continue", "alpha"
		if over {
			action, flow = "_start_over", "beta"
		}
		if err := e.Handle(ctx, bot.Event{Conversation: conv, Kind: bot.KindButton, Data: action + "|" + e.Nonce(s)}); err != nil {
			t.Fatal(err)
		}
		if s, err := e.Session(ctx, conv); err != nil || s.Flow != flow || s.PendingStart != nil || s.Tags["payload"] != "" {
			t.Fatalf("%s: %+v, %v; want flow %s, nothing held, no payload", action, s, err, flow)
		}
	}
	conv := bot.Conversation{Channel: "test", ID: "token"}
	for _, ev := range []bot.Event{{Kind: bot.KindCommand, Command: "start"}, {Kind: bot.KindStart, Data: "bt_tok789"}} {
		ev.Conversation = conv
		if err := e.Handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if s, err := e.Session(ctx, conv); err != nil || s.PendingStart != nil {
		t.Fatalf("a hand-off token was held back: %+v, %v", s, err)
	}
}
