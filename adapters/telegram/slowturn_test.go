package telegram

import (
	"context"
	"sync"
	"testing"
	"time"

	"guidedfix/adapters/telegram/fakebotapi"
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
	env := testkit.New(t, testkit.Options{WrapCore: func(c portal.Core) portal.Core {
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
