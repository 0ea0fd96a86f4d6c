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

// codeFlow is a flow for the typed-answer tests: Start asks for a code
// (a secret prompt with a button); the code "000000" is wrong (asked
// again in the same step), any other moves on to "done_code" (a new
// step); a start restarts it, a resume asks again. It records the event
// kinds Handle gets.
type codeFlow struct{ kinds []bot.Kind }

func (f *codeFlow) Name() string { return "code" }
func (f *codeFlow) Start(ctx context.Context, t *bot.Turn) error {
	t.Goto("ask_code")
	t.Ask(bot.SecretTOTPCode, "engine.help_idle", nil, t.Button("engine.no_session", "show"))
	return nil
}
func (f *codeFlow) Handle(ctx context.Context, t *bot.Turn) error {
	f.kinds = append(f.kinds, t.Event.Kind)
	switch {
	case t.Event.Kind == bot.KindStart:
		t.Restart("cancelled")
	case t.Event.Kind == bot.KindSecret && t.Event.Secret == "000000", t.Event.Kind == bot.KindResume,
		t.Event.Kind == bot.KindButton:
		t.Ask(bot.SecretTOTPCode, "engine.help_idle", nil, t.Button("engine.no_session", "show"))
	case t.Event.Kind == bot.KindSecret:
		t.Goto("done_code")
		t.Say("engine.no_session", nil, t.Button("engine.no_session", "ok"))
	}
	return nil
}
func (f *codeFlow) Expire(ctx context.Context, t *bot.Turn) error { return nil }

// TestTypedAnswerClosesStartAgain (issue 14 F6): a code typed while the
// start-again question is open is the step's answer, as "Continue": the
// flow gets it, the held start is dropped and the question's message is
// edited into MsgStartAgainContinued without buttons; a later press of
// its "Start over" or "Continue" gets the stale-button answer (also from
// StaleButton, on receipt) and changes nothing — whether the code was
// wrong (same step: the question's nonce still current) or moved the
// flow on. After "Continue" the question's buttons are spent the same way.
func TestTypedAnswerClosesStartAgain(t *testing.T) {
	for _, tc := range []struct {
		name, code string
		state      bot.State
		press      bool // answer with the step's own button instead
	}{
		{"wrong code", "000000", "ask_code", false},
		{"right code", "123456", "done_code", false},
		{"step button", "", "ask_code", true},
		{"continue", "", "ask_code", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			f := &codeFlow{}
			clk := &clock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
			e, err := bot.New(bot.Options{Store: st, Flows: []bot.Flow{f}, Now: clk.now, Logger: quiet})
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
			mustHandle(t, e, ev(bot.KindStart, "1"))
			mustHandle(t, e, ev(bot.KindStart, "2"))
			s := session()
			question := len(rec.replies) - 1
			q := rec.replies[question]
			if q.ID != bot.MsgStartAgain || s.PendingStart == nil || s.Messages["start_again"] != "msg2" {
				t.Fatalf("second start: reply %q, pending %v, messages %v", q.ID, s.PendingStart, s.Messages)
			}
			data := func(action string) string {
				for _, b := range q.Buttons {
					if strings.HasPrefix(b.Data, action+"|") {
						return b.Data
					}
				}
				t.Fatalf("question has no %s button: %+v", action, q.Buttons)
				return ""
			}
			over, cont := data("_start_over"), data("_continue")
			answer := ev(bot.KindText, "3")
			switch {
			case tc.press:
				answer.Kind = bot.KindButton
				answer.Data = rec.replies[0].Buttons[0].Data
			case tc.code != "":
				answer.Text, answer.MessageID = tc.code, "u3"
			default:
				answer.Kind, answer.Data = bot.KindButton, cont
			}
			mustHandle(t, e, answer)
			want := []bot.Kind{bot.KindSecret}
			switch {
			case tc.press:
				want = []bot.Kind{bot.KindButton}
			case tc.code == "":
				want = []bot.Kind{bot.KindResume}
			}
			if !slices.Equal(f.kinds, want) {
				t.Fatalf("flow saw %v, want %v", f.kinds, want)
			}
			after := session()
			if after.ID != s.ID || after.State != tc.state || after.PendingStart != nil || after.Messages["start_again"] != "" ||
				slices.Contains(after.Offered, "_start_over") || slices.Contains(after.Offered, "_continue") {
				t.Fatalf("after the answer: session %s (was %s) state %q pending %v messages %v offered %v",
					after.ID, s.ID, after.State, after.PendingStart, after.Messages, after.Offered)
			}
			var edits []bot.Reply
			for _, r := range rec.replies[question+1:] {
				if r.Op == bot.OpEdit {
					edits = append(edits, r)
				}
			}
			switch {
			case tc.code == "" && !tc.press:
				// Continue: the adapter settles the pressed question itself.
				if len(edits) != 0 {
					t.Fatalf("Continue edited %+v", edits)
				}
			case len(edits) != 1 || edits[0].ID != bot.MsgStartAgainContinued || edits[0].MessageID != "msg2" || len(edits[0].Buttons) != 0:
				t.Fatalf("edits after the answer %+v, want the question (msg2) edited into %s without buttons", edits, bot.MsgStartAgainContinued)
			}
			for i, d := range []string{over, cont} {
				press := ev(bot.KindButton, "p"+string(rune('0'+i)))
				press.Data = d
				if _, stale := e.StaleButton(ctx, press); !stale {
					t.Fatalf("StaleButton(%s) = false after the answer", d)
				}
				n := len(rec.replies)
				mustHandle(t, e, press)
				if len(rec.replies) != n+1 || rec.last().ID != bot.MsgStaleButton {
					t.Fatalf("press of %s after the answer: replies %v", d, rec.ids()[n:])
				}
				if got := session(); got.ID != after.ID || got.Version != after.Version || got.State != after.State || !slices.Equal(f.kinds, want) {
					t.Fatalf("stale press of %s changed the session: %+v (flow saw %v)", d, got, f.kinds)
				}
			}
		})
	}
}

// TestStartAgainAskedTwiceKeepsOneQuestion: a second start while the
// question is open deletes the first question's message and asks again;
// a typed answer then edits the newest one (issue 14 F6).
func TestStartAgainAskedTwiceKeepsOneQuestion(t *testing.T) {
	st, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e, err := bot.New(bot.Options{Store: st, Flows: []bot.Flow{&codeFlow{}}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	e.Register("test", rec)
	for _, u := range []string{"1", "2", "3"} {
		mustHandle(t, e, ev(bot.KindStart, u))
	}
	if got, want := rec.ids(), []string{"send:engine.help_idle", "send:engine.start_again", "delete:", "send:engine.start_again"}; !slices.Equal(got, want) {
		t.Fatalf("replies %v, want %v", got, want)
	}
	if del := rec.replies[2]; del.MessageID != "msg2" {
		t.Fatalf("deleted %q, want the first question msg2", del.MessageID)
	}
	s, err := e.Session(context.Background(), conv)
	if err != nil || s.Messages["start_again"] != "msg4" || s.PendingStart == nil {
		t.Fatalf("session %+v, %v; want question msg4 open", s, err)
	}
	code := ev(bot.KindText, "4")
	code.Text = "000000"
	mustHandle(t, e, code)
	if r := rec.replies[4]; r.Op != bot.OpEdit || r.MessageID != "msg4" || r.ID != bot.MsgStartAgainContinued {
		t.Fatalf("after the code: %+v, want msg4 edited", r)
	}
}
