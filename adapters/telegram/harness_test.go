package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"log/slog"

	"github.com/go-telegram/bot/models"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/testkit"
)

const (
	testToken  = "123456:TEST-token"
	testSecret = "webhook_Secret-42"
	botName    = "guidedfix_bot"
)

// harness runs one Adapter (long polling, or webhook on a local listener)
// against a fake Bot API server and the real engine, store and core.
type harness struct {
	t    testing.TB
	env  *testkit.Env
	fake *fakebotapi.Server
	a    *Adapter
	user fakebotapi.User
	chat fakebotapi.Chat
	hook string // webhook URL on the local listener; "" when long polling
	done chan int64
	left map[int64]int // update ids finished but not waited for yet
	mark int           // calls already looked at

	mu     sync.Mutex
	clock  time.Time
	sleeps []time.Duration

	cancel func() // cancels Run's context
	stop   func() // cancels and waits for Run to return nil
}

func newEnv(t testing.TB) (*testkit.Env, *fakebotapi.Server) {
	env := testkit.New(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll})
	fake := fakebotapi.New(fakebotapi.Options{Token: testToken, BotUsername: botName})
	t.Cleanup(fake.Close)
	return env, fake
}

func newHarness(t *testing.T, webhook bool, tweak ...func(*Options)) *harness {
	env, fake := newEnv(t)
	return start(t, env, fake, webhook, tweak...)
}

// start runs a new Adapter on env and fake until the test ends (or
// h.stop). Rate limits are off unless tweak sets them; sleeps are
// recorded and advance h's clock instead of waiting.
func start(t testing.TB, env *testkit.Env, fake *fakebotapi.Server, webhook bool, tweak ...func(*Options)) *harness {
	t.Helper()
	user := fakebotapi.User{ID: 4242, FirstName: "Alice", LanguageCode: "en"}
	h := &harness{t: t, env: env, fake: fake, user: user, chat: fakebotapi.PrivateChat(user),
		done: make(chan int64, 256), left: map[int64]int{}, clock: testkit.Start}
	opts := Options{
		Token: testToken, APIURL: fake.URL + "/", Engine: env.Engine,
		Logger:          slog.New(slog.NewTextHandler(env.Log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PerChatInterval: -1, GlobalPerSecond: -1,
	}
	if webhook {
		opts.WebhookURL, opts.WebhookSecret = "https://bot.example.com/telegram", testSecret
	}
	for _, f := range tweak {
		f(&opts)
	}
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.a = a
	a.now, a.sleep = h.now, h.sleep
	a.onDone = func(id int64) { h.done <- id }
	ready := "deleteWebhook" // the last startup call
	if webhook {
		ready = "setWebhook"
	}
	readyN := len(fake.Calls(ready))
	if webhook {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a.listener = ln
		h.hook = "http://" + ln.Addr().String() + "/telegram"
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- a.Run(ctx) }()
	var once sync.Once
	h.cancel = cancel
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-stopped; err != nil {
				t.Errorf("Run returned %v", err)
			}
		})
	}
	t.Cleanup(h.stop)
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if _, err := fake.WaitCalls(wctx, ready, readyN+1); err != nil {
		t.Fatal(err)
	}
	h.calls()
	return h
}

func (h *harness) now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.clock
}

func (h *harness) sleep(ctx context.Context, d time.Duration) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d > 0 {
		h.sleeps = append(h.sleeps, d)
		h.clock = h.clock.Add(d)
	}
	return ctx.Err()
}

func (h *harness) slept() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.sleeps)
}

// deliver hands updates to the adapter (getUpdates batch, or one webhook
// POST each with the right secret) and waits until each was handled.
func (h *harness) deliver(us ...fakebotapi.Update) {
	h.t.Helper()
	if h.hook == "" {
		h.fake.Inject(us...)
	} else {
		for _, u := range us {
			if code := h.post(u, testSecret); code != 200 {
				h.t.Fatalf("webhook answered %d", code)
			}
		}
	}
	for _, u := range us {
		h.waitDone(u.ID)
	}
	h.waitIdle()
}

// waitIdle waits until the adapter's per-chat queue holds no work for
// h's chat: onDone fires inside a turn's queued function, just before the
// queue lets go of the chat, and an update delivered in that gap would
// find the chat busy (answerOnReceipt then answers a stale button without
// its text, and the turn says it in the chat).
func (h *harness) waitIdle() {
	h.t.Helper()
	key := strconv.FormatInt(h.chat.ID, 10)
	deadline := time.Now().Add(30 * time.Second)
	for h.a.queue.busy(key) {
		if time.Now().After(deadline) {
			h.t.Fatalf("chat %s still busy", key)
		}
		time.Sleep(time.Millisecond)
	}
}

func (h *harness) post(u fakebotapi.Update, secret string) int {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, err := h.fake.Post(ctx, h.hook, secret, u)
	if err != nil {
		h.t.Fatal(err)
	}
	return code
}

func (h *harness) waitDone(id int64) {
	h.t.Helper()
	timeout := time.After(30 * time.Second)
	for h.left[id] == 0 {
		select {
		case got := <-h.done:
			h.left[got]++
		case <-timeout:
			h.t.Fatalf("update %d was not handled", id)
		}
	}
	h.left[id]--
}

func (h *harness) text(s string) fakebotapi.Update {
	h.t.Helper()
	u := h.fake.Text(h.chat, h.user, s)
	h.deliver(u)
	return u
}

// button finds the newest message in the chat offering a button whose
// callback data is action|nonce.
func (h *harness) button(action string) (int, string) {
	h.t.Helper()
	msgs := h.fake.Messages(h.chat.ID)
	for i := len(msgs) - 1; i >= 0; i-- {
		var kb models.InlineKeyboardMarkup
		_ = json.Unmarshal(msgs[i].ReplyMarkup, &kb)
		for _, row := range kb.InlineKeyboard {
			for _, b := range row {
				if strings.HasPrefix(b.CallbackData, action+"|") {
					return msgs[i].ID, b.CallbackData
				}
			}
		}
	}
	h.t.Fatalf("no button %q in the chat", action)
	return 0, ""
}

func (h *harness) press(action string) fakebotapi.Update {
	h.t.Helper()
	id, data := h.button(action)
	u := h.fake.Callback(h.chat, h.user, id, data)
	h.deliver(u)
	return u
}

// calls returns the calls since the last look, without getUpdates.
func (h *harness) calls() []fakebotapi.Call {
	all := h.fake.Calls()
	out := slices.DeleteFunc(slices.Clone(all[h.mark:]), func(c fakebotapi.Call) bool { return c.Method == "getUpdates" })
	h.mark = len(all)
	return out
}

// want returns the calls since the last look and fails unless their
// methods are exactly methods.
func (h *harness) want(methods ...string) []fakebotapi.Call {
	h.t.Helper()
	cs := h.calls()
	got := make([]string, len(cs))
	for i, c := range cs {
		got[i] = c.Method
	}
	if !slices.Equal(got, methods) {
		h.t.Fatalf("Bot API calls %q\nwant           %q", got, methods)
	}
	return cs
}

// msg renders catalog message id as the flow does.
func (h *harness) msg(id string, data map[string]any) string {
	m := map[string]any{"Steps": totpswitch.Steps}
	for k, v := range data {
		m[k] = v
	}
	return h.env.Engine.Text("en", Channel, id, m)
}

// welcome is the answer to /start: the welcome and step 1's question in
// one message (bot.Joiner).
func (h *harness) welcome() string {
	return h.msg("totp.welcome", nil) + "\n\n" + h.msg("totp.ask_email", nil)
}

func (h *harness) conv() bot.Conversation { return conversation(h.chat.ID) }

func (h *harness) session() *bot.Session {
	h.t.Helper()
	s, err := h.env.Engine.Session(context.Background(), h.conv())
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) wantState(st bot.State) {
	h.t.Helper()
	if got := h.session().State; got != st {
		h.t.Fatalf("state %q, want %q", got, st)
	}
}

func (h *harness) noSession(c bot.Conversation) {
	h.t.Helper()
	if _, err := h.env.Engine.Session(context.Background(), c); !errors.Is(err, bot.ErrNoSession) {
		h.t.Fatalf("session of %s: %v, want ErrNoSession", c, err)
	}
}

func wantText(t *testing.T, c fakebotapi.Call, text string) {
	t.Helper()
	if got := c.Fields["text"]; got != text {
		t.Fatalf("%s text %q\nwant %q", c.Method, got, text)
	}
}
