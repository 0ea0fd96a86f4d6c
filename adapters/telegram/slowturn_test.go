package telegram

import (
	"context"
	"sync"
	"testing"
	"time"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
)

// slowCore is a portal.Core whose Disable2FA takes up to 30 s: it waits
// until release is called (or 30 s pass), like a slow portal.
type slowCore struct {
	portal.Core
	entered chan struct{}
	gate    chan struct{}
	once    sync.Once
}

func newSlowCore(c portal.Core) *slowCore {
	return &slowCore{Core: c, entered: make(chan struct{}, 16), gate: make(chan struct{})}
}

func (s *slowCore) Disable2FA(ctx context.Context, grantToken, key string) error {
	s.entered <- struct{}{}
	select {
	case <-s.gate:
	case <-time.After(30 * time.Second):
	}
	return s.Core.Disable2FA(ctx, grantToken, key)
}

func (s *slowCore) release() { s.once.Do(func() { close(s.gate) }) }

// slowEnv is an Env whose flow calls the portal through a slowCore.
func slowEnv(t *testing.T) (*testkit.Env, *fakebotapi.Server, *slowCore) {
	var slow *slowCore
	// The knowledge-base order: "Disable 2FA" calls Disable2FA, the call
	// made slow here.
	env := testkit.New(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll, WrapCore: func(c portal.Core) portal.Core {
		slow = newSlowCore(c)
		return slow
	}})
	fake := fakebotapi.New(fakebotapi.Options{Token: testToken, BotUsername: botName})
	t.Cleanup(fake.Close)
	return env, fake, slow
}

// TestCallbackAnsweredBeforeSlowTurn: a button press whose turn waits on
// a slow portal call (Disable2FA held for up to 30 s) is answered
// (answerCallbackQuery) within 1 s of its receipt, while the turn still
// runs; the turn then completes normally.
func TestCallbackAnsweredBeforeSlowTurn(t *testing.T) {
	env, fake, slow := slowEnv(t)
	h := start(t, env, fake, false)
	t.Cleanup(slow.release) // before h.stop waits for the turn
	toSMSCode(t, h)
	h.text(h.env.LastSMSCode(t))
	h.calls()
	id, data := h.button("disable")
	u := fake.Callback(h.chat, h.user, id, data)
	n := len(fake.Calls("answerCallbackQuery"))
	received := time.Now()
	fake.Inject(u)
	select {
	case <-slow.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the turn did not reach Disable2FA")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := fake.WaitCalls(ctx, "answerCallbackQuery", n+1)
	if err != nil {
		t.Fatal("the callback query was not answered while the turn ran")
	}
	took := time.Since(received)
	if c := cs[n]; c.Fields["callback_query_id"] != u.CallbackQuery.ID || c.Fields["text"] != "" || c.ErrorCode != 0 {
		t.Fatalf("answer %v", c)
	}
	if took > time.Second {
		t.Errorf("answered %s after receipt, want within 1 s", took)
	}
	t.Logf("answered %s after receipt, turn still waiting on the portal", took)
	if st := env.Core.Stats(); st.Disables != 0 {
		t.Fatalf("disable ran before release: %+v", st)
	}
	slow.release()
	h.waitDone(u.ID)
	if st := env.Core.Stats(); st.Disables != 1 {
		t.Fatalf("%d disables, want 1", st.Disables)
	}
	if got := len(fake.Calls("answerCallbackQuery")); got != n+1 {
		t.Fatalf("%d answers, want exactly one", got-n)
	}
}

// TestWebhookAnswersBeforeSlowTurn: with an inbox, the webhook holds the
// update in sessions.db and answers 200 within 1 s, while the turn still
// waits on a slow portal (Disable2FA held for up to 30 s). The same update
// posted again meanwhile gets 200 and runs nothing. The turn then runs
// once and the update is released.
func TestWebhookAnswersBeforeSlowTurn(t *testing.T) {
	env, fake, slow := slowEnv(t)
	h := start(t, env, fake, true, func(o *Options) { o.Inbox = env.Store })
	t.Cleanup(slow.release)
	toSMSCode(t, h)
	h.text(h.env.LastSMSCode(t))
	h.calls()
	id, data := h.button("disable")
	u := fake.Callback(h.chat, h.user, id, data)
	began := time.Now()
	if code := h.post(u, testSecret); code != 200 {
		t.Fatalf("webhook answered %d", code)
	}
	took := time.Since(began)
	select {
	case <-slow.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the turn did not reach Disable2FA")
	}
	if took > time.Second {
		t.Errorf("webhook answered after %s, want within 1 s", took)
	}
	t.Logf("webhook answered 200 after %s; the turn waits on the portal", took)
	if got := held(t, env.Store); len(got) != 1 || got[0] != u.ID {
		t.Fatalf("held %v while the turn runs, want [%d]", got, u.ID)
	}
	if code := h.post(u, testSecret); code != 200 {
		t.Fatalf("redelivery answered %d", code)
	}
	slow.release()
	h.waitDone(u.ID)
	if st := env.Core.Stats(); st.Disables != 1 || st.AlertsSent != 1 {
		t.Fatalf("stats %+v, want one disable and one alert", st)
	}
	h.wantState(totpswitch.StateOfferSetup)
	if got := held(t, env.Store); len(got) != 0 {
		t.Fatalf("held %v after the turn, want none", got)
	}
	// No second turn: exactly one answer and one set of replies.
	time.Sleep(100 * time.Millisecond)
	h.want("answerCallbackQuery", "editMessageText")
	select {
	case id := <-h.done:
		t.Fatalf("a second turn of update %d ran", id)
	default:
	}
}
