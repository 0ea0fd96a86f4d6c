package telegram

import (
	"context"
	"sync"
	"testing"
	"time"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/bot"
	"guidedfix/internal/testkit"
	"guidedfix/internal/testkit/scriptflow"
)

// slowTurn holds the next turn after its save, before its replies go
// out, until release is called (or 30 s pass): a turn as slow as one
// waiting on a slow portal call.
type slowTurn struct {
	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	gate    chan struct{}
	once    sync.Once
}

func (s *slowTurn) hook(p bot.Hook, _ *bot.Session) {
	s.mu.Lock()
	hold := s.armed && p == bot.HookSaved
	if hold {
		s.armed = false
	}
	s.mu.Unlock()
	if !hold {
		return
	}
	s.entered <- struct{}{}
	select {
	case <-s.gate:
	case <-time.After(30 * time.Second):
	}
}

// arm makes the next turn slow.
func (s *slowTurn) arm() {
	s.mu.Lock()
	s.armed = true
	s.mu.Unlock()
}

func (s *slowTurn) release() { s.once.Do(func() { close(s.gate) }) }

// slowEnv is an Env running the scripted flow whose turns slowTurn can
// hold.
func slowEnv(t *testing.T) (*testkit.Env, *fakebotapi.Server, *slowTurn) {
	slow := &slowTurn{entered: make(chan struct{}, 16), gate: make(chan struct{})}
	env := testkit.New(t, testkit.Options{Flows: []bot.Flow{scriptflow.New()}, Hook: slow.hook})
	fake := fakebotapi.New(fakebotapi.Options{Token: testToken, BotUsername: botName})
	t.Cleanup(fake.Close)
	return env, fake, slow
}

// TestCallbackAnsweredBeforeSlowTurn: a button press whose turn is slow
// (held for up to 30 s, as by a slow portal call) is answered
// (answerCallbackQuery) within 1 s of its receipt, while the turn still
// runs; the turn then completes normally.
func TestCallbackAnsweredBeforeSlowTurn(t *testing.T) {
	env, fake, slow := slowEnv(t)
	h := start(t, env, fake, false)
	t.Cleanup(slow.release) // before h.stop waits for the turn
	h.text("/start")
	h.calls()
	id, data := h.button(scriptflow.ActionGo)
	u := fake.Callback(h.chat, h.user, id, data)
	n := len(fake.Calls("answerCallbackQuery"))
	slow.arm()
	received := time.Now()
	fake.Inject(u)
	select {
	case <-slow.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the turn did not start")
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
	t.Logf("answered %s after receipt, turn still held", took)
	if n := len(fake.Calls("editMessageText")); n != 0 {
		t.Fatalf("the held turn's edit went out before release (%d)", n)
	}
	slow.release()
	h.waitDone(u.ID)
	if n := len(fake.Calls("editMessageText")); n != 1 {
		t.Fatalf("%d edits, want 1", n)
	}
	h.wantState(scriptflow.StateEdited)
	if got := len(fake.Calls("answerCallbackQuery")); got != n+1 {
		t.Fatalf("%d answers, want exactly one", got-n)
	}
}

// TestWebhookAnswersBeforeSlowTurn: with an inbox, the webhook holds the
// update in sessions.db and answers 200 within 1 s, while the turn is
// still held (up to 30 s, as by a slow portal). The same update posted
// again meanwhile gets 200 and runs nothing. The turn then runs once and
// the update is released.
func TestWebhookAnswersBeforeSlowTurn(t *testing.T) {
	env, fake, slow := slowEnv(t)
	h := start(t, env, fake, true, func(o *Options) { o.Inbox = env.Store })
	t.Cleanup(slow.release)
	h.text("/start")
	h.calls()
	id, data := h.button(scriptflow.ActionGo)
	u := fake.Callback(h.chat, h.user, id, data)
	slow.arm()
	began := time.Now()
	if code := h.post(u, testSecret); code != 200 {
		t.Fatalf("webhook answered %d", code)
	}
	took := time.Since(began)
	select {
	case <-slow.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the turn did not start")
	}
	if took > time.Second {
		t.Errorf("webhook answered after %s, want within 1 s", took)
	}
	t.Logf("webhook answered 200 after %s; the turn is held", took)
	if got := held(t, env.Store); len(got) != 1 || got[0] != u.ID {
		t.Fatalf("held %v while the turn runs, want [%d]", got, u.ID)
	}
	if code := h.post(u, testSecret); code != 200 {
		t.Fatalf("redelivery answered %d", code)
	}
	slow.release()
	h.waitDone(u.ID)
	h.wantState(scriptflow.StateEdited)
	if got := held(t, env.Store); len(got) != 0 {
		t.Fatalf("held %v after the turn, want none", got)
	}
	// No second turn: exactly one answer and one set of replies.
	time.Sleep(100 * time.Millisecond)
	h.want("answerCallbackQuery", "editMessageReplyMarkup", "editMessageText")
	select {
	case id := <-h.done:
		t.Fatalf("a second turn of update %d ran", id)
	default:
	}
}
