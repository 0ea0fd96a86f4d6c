package entry_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"guidedfix/bot"
	"guidedfix/internal/entry"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
)

// botToken signs the Mini App init data of the tests.
const botToken = "123456:TEST-token_for-entry"

// spy records every reply the engine hands over, before the entry page
// changes it (it sees the QR code's otpauth URI).
type spy struct{ testkit.Tap }

// lastQR returns the otpauth URI of the newest QR reply the engine gave.
func (s *spy) lastQR() string {
	given := s.Replies()
	for i := len(given) - 1; i >= 0; i-- {
		if given[i].QR != "" {
			return given[i].QR
		}
	}
	return ""
}

// rig is a test conversation on channel "test" whose replies go through
// the entry page's Deliverer to a recorder, with the page served on a
// real HTTP listener on 127.0.0.1.
type rig struct {
	*testkit.Chat // the conversation (Conv, UserID, Last, ...)
	t             *testing.T
	env           *testkit.Env
	rec           *testkit.Recorder // Chat.Rec
	spy           *spy
	srv           *entry.Server
	http          *httptest.Server
	pw            string
}

// newRig starts the page and a conversation for an SMS account; webApp
// makes its links Mini App links (conversation id = user id, as in a
// Telegram private chat).
func newRig(t *testing.T, webApp bool) *rig {
	t.Helper()
	env := testkit.New(t, testkit.Options{})
	rec := &testkit.Recorder{}
	r := &rig{t: t, env: env, rec: rec, Chat: &testkit.Chat{T: t, Engine: func() *bot.Engine { return env.Engine }, Rec: rec,
		Conv: bot.Conversation{Channel: "test", ID: "4242"}, UserID: "4242"}}
	r.http = httptest.NewUnstartedServer(nil)
	r.http.Start()
	t.Cleanup(r.http.Close)
	var err error
	r.srv, err = entry.New(entry.Options{PublicURL: r.http.URL, Engine: env.Engine, Tokens: env.Store,
		TelegramToken: botToken, Now: env.Clock.Now,
		Logger: slog.New(slog.NewTextHandler(env.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	r.http.Config.Handler = r.srv
	r.spy = &spy{testkit.Tap{Next: &entry.Deliverer{Inner: r.rec, Server: r.srv, WebApp: webApp}}}
	env.Engine.Register("test", r.spy)
	r.pw = env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	return r
}

func (r *rig) send(ev bot.Event) []bot.Reply {
	r.t.Helper()
	return r.Send(ev)
}

// replies returns the replies delivered since the last call.
func (r *rig) replies() []bot.Reply { return r.Arrived() }

func (r *rig) press(action string) []bot.Reply {
	r.t.Helper()
	for _, rep := range r.rec.Replies {
		for _, b := range rep.Buttons {
			if strings.HasPrefix(b.Data, action+"|") {
				r.send(bot.Event{Kind: bot.KindButton, Data: b.Data})
			}
		}
	}
	return r.Last
}

// pressLast presses the newest button for action.
func (r *rig) pressLast(action string) []bot.Reply {
	r.t.Helper()
	all, _ := r.rec.Since(0)
	for i := len(all) - 1; i >= 0; i-- {
		for _, b := range all[i].Buttons {
			if strings.HasPrefix(b.Data, action+"|") {
				return r.send(bot.Event{Kind: bot.KindButton, Data: b.Data})
			}
		}
	}
	r.t.Fatalf("no button %q", action)
	return nil
}

// toPassword starts the flow and answers the e-mail step; it returns the
// password prompt's link.
func (r *rig) toPassword() string {
	r.t.Helper()
	r.send(bot.Event{Kind: bot.KindStart})
	return r.link(r.send(bot.Event{Kind: bot.KindText, Text: "alice@example.com"}), "totp.ask_password")
}

// link returns the URL of the Link of the reply with catalog id id.
func (r *rig) link(rs []bot.Reply, id string) string {
	r.t.Helper()
	for _, rep := range rs {
		if rep.ID == id {
			if rep.Link == nil || rep.Link.URL == "" {
				r.t.Fatalf("reply %s has no link", id)
			}
			return rep.Link.URL
		}
	}
	r.t.Fatalf("no reply %s among %v", id, ids(rs))
	return ""
}

func (r *rig) state() bot.State {
	r.t.Helper()
	s, err := r.env.Engine.Session(context.Background(), r.Conv)
	if err != nil {
		r.t.Fatal(err)
	}
	return s.State
}

func (r *rig) wantState(want bot.State) {
	r.t.Helper()
	if got := r.state(); got != want {
		r.t.Fatalf("state %q, want %q", got, want)
	}
}

// checkChat fails when a delivered message shows a registered secret or
// an image.
func (r *rig) checkChat(secrets ...string) {
	r.t.Helper()
	all, _ := r.rec.Since(0)
	for _, rep := range all {
		if len(rep.Image) > 0 || rep.QR != "" {
			r.t.Errorf("reply %s put a QR code into the chat", rep.ID)
		}
		for _, s := range secrets {
			if s != "" && (strings.Contains(rep.Text, s) || (rep.Link != nil && strings.Contains(rep.Link.URL, s))) {
				r.t.Errorf("reply %s shows a secret", rep.ID)
			}
		}
	}
}

func ids(rs []bot.Reply) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r.Op) + ":" + r.ID
	}
	return out
}

func startEvent() bot.Event { return bot.Event{Kind: bot.KindStart} }

// startOver sends /start in the middle of the flow and answers the
// engine's "continue or start over" with Start over: a new session.
func (r *rig) startOver() []bot.Reply {
	r.t.Helper()
	r.send(startEvent())
	return r.pressLast("_start_over")
}
func textEvent(s string) bot.Event { return bot.Event{Kind: bot.KindText, Text: s} }
