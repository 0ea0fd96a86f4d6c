package bot_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/internal/store"
)

// stepFlow is a flow for the start-again tests: Start goes to "ask" with a
// button; a KindStart in the middle restarts (as totpswitch does); every
// event kind it handles is recorded.
type stepFlow struct {
	name   string
	kinds  []bot.Kind
	emails []string
}

func (f *stepFlow) Name() string { return f.name }
func (f *stepFlow) Start(ctx context.Context, t *bot.Turn) error {
	f.emails = append(f.emails, t.Event.Email)
	t.Goto("ask")
	t.Say("engine.help_idle", nil, t.Button("engine.no_session", "next"))
	return nil
}
func (f *stepFlow) Handle(ctx context.Context, t *bot.Turn) error {
	f.kinds = append(f.kinds, t.Event.Kind)
	switch t.Event.Kind {
	case bot.KindStart:
		t.Restart("cancelled")
	case bot.KindResume:
		t.Say("engine.help_idle", nil, t.Button("engine.no_session", "next"))
	}
	return nil
}
func (f *stepFlow) Expire(ctx context.Context, t *bot.Turn) error { return nil }

// beeFlow is a stepFlow that the command "bee" starts (its Descriptor).
type beeFlow struct{ *stepFlow }

func (f beeFlow) Describe() bot.Descriptor {
	return bot.Descriptor{Commands: []bot.Command{{Name: "bee"}}}
}

// TestStartAgainAsksThenContinuesOrStartsOver: a start command in the
// middle is held back with the question; Continue hands the flow a
// KindResume (same session, same step); Start over hands it the start,
// and the restart begins the flow that start asked for, with the e-mail
// the platform vouched for. A start with a payload is not held back.
func TestStartAgainAsksThenContinuesOrStartsOver(t *testing.T) {
	st, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, b := &stepFlow{name: "a"}, &stepFlow{name: "b"}
	clk := &clock{t: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)}
	e, err := bot.New(bot.Options{Store: st, Flows: []bot.Flow{a, beeFlow{b}}, Now: clk.now,
		IdleTimeout: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	e.Register("test", rec)
	ctx := context.Background()
	session := func() *bot.Session {
		s, err := e.Session(ctx, conv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	press := func(update, action string) {
		t.Helper()
		for i := len(rec.replies) - 1; i >= 0; i-- {
			for _, btn := range rec.replies[i].Buttons {
				if strings.HasPrefix(btn.Data, action+"|") {
					p := ev(bot.KindButton, update)
					p.Data = btn.Data
					mustHandle(t, e, p)
					return
				}
			}
		}
		t.Fatalf("no button %q", action)
	}
	mustHandle(t, e, ev(bot.KindStart, "1"))
	first := session()

	bee := ev(bot.KindCommand, "2")
	bee.Command, bee.Email, bee.EmailPinned = "bee", "pia@example.com", true
	mustHandle(t, e, bee)
	if got := rec.last().ID; got != bot.MsgStartAgain {
		t.Fatalf("start in the middle answered %q", got)
	}
	if s := session(); s.ID != first.ID || s.Step != first.Step || s.State != "ask" || s.PendingStart == nil || s.PendingStart.Command != "bee" {
		t.Fatalf("question changed the session: %+v", s)
	}
	if len(a.kinds) != 0 {
		t.Fatalf("the flow saw the held-back start: %v", a.kinds)
	}
	press("3", "_continue")
	if s := session(); s.ID != first.ID || s.Step != first.Step || s.PendingStart != nil || !slices.Equal(a.kinds, []bot.Kind{bot.KindResume}) {
		t.Fatalf("Continue: session %s step %d pending %v, flow saw %v", s.ID, s.Step, s.PendingStart, a.kinds)
	}

	mustHandle(t, e, func() bot.Event { x := bee; x.UpdateID = "4"; return x }())
	press("5", "_start_over")
	s := session()
	if s.ID == first.ID || s.Flow != "b" || s.State != "ask" || s.Done || s.PendingStart != nil {
		t.Fatalf("Start over: session %s flow %q state %q done %v", s.ID, s.Flow, s.State, s.Done)
	}
	if !slices.Equal(a.kinds, []bot.Kind{bot.KindResume, bot.KindStart}) || !slices.Equal(b.emails, []string{"pia@example.com"}) {
		t.Fatalf("flow a saw %v; flow b started with e-mails %v", a.kinds, b.emails)
	}

	// A start with a payload (a deep link) goes to the flow at once.
	deep := ev(bot.KindStart, "6")
	deep.Data = "payload"
	mustHandle(t, e, deep)
	if got := session(); got.ID == s.ID || len(b.kinds) != 1 || b.kinds[0] != bot.KindStart {
		t.Fatalf("start with a payload: flow b saw %v", b.kinds)
	}
}
