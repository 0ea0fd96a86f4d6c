package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/bot"
	"guidedfix/internal/testkit"
	"guidedfix/internal/testkit/scriptflow"
)

// held returns the update ids the store holds for the channel.
func held(t *testing.T, in bot.Inbox) []int64 {
	t.Helper()
	hs, err := in.Held(context.Background(), Channel)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int64{}
	for _, h := range hs {
		ids = append(ids, h.ID)
	}
	return ids
}

// waitOffset waits for a getUpdates call whose offset is above id: the
// call that confirms update id to Telegram.
func waitOffset(t *testing.T, fake *fakebotapi.Server, id int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if fake.Confirmed() > id {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no getUpdates call confirmed update %d", id)
}

// TestPollingHoldsUpdateUntilItsTurnEnds: while an update's turn is still
// running, getUpdates has already confirmed it to Telegram; the update is
// then held in the session store, and released when the turn ends.
func TestPollingHoldsUpdateUntilItsTurnEnds(t *testing.T) {
	env, _ := newScriptEnv(t)
	var mu sync.Mutex
	blocked, unblock := make(chan struct{}), make(chan struct{})
	armed := true
	fake := fakebotapi.New(fakebotapi.Options{Token: testToken, BotUsername: botName, OnCall: func(c fakebotapi.Call, applied bool) bool {
		mu.Lock()
		hold := armed && !applied && c.Method == "sendMessage"
		armed = armed && !hold
		mu.Unlock()
		if hold {
			close(blocked)
			<-unblock
		}
		return true
	}})
	t.Cleanup(fake.Close)
	var release sync.Once
	free := func() { release.Do(func() { close(unblock) }) }
	h := start(t, env, fake, false, func(o *Options) { o.Inbox = env.Store })
	t.Cleanup(free) // runs before h.stop, which waits for the turn

	u := fake.Text(h.chat, h.user, "/start")
	fake.Inject(u)
	select {
	case <-blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("the turn did not start")
	}
	waitOffset(t, fake, u.ID)
	if got := held(t, env.Store); len(got) != 1 || got[0] != u.ID {
		t.Fatalf("held %v while the confirmed update's turn runs, want [%d]", got, u.ID)
	}
	hs, _ := env.Store.Held(context.Background(), Channel)
	var raw struct {
		UpdateID int64 `json:"update_id"`
		Message  struct {
			Text string `json:"text"`
		} `json:"message"`
	}
	if err := json.Unmarshal(hs[0].Raw, &raw); err != nil || raw.UpdateID != u.ID || raw.Message.Text != "/start" {
		t.Fatalf("held raw update %s (%v)", hs[0].Raw, err)
	}
	free()
	h.waitDone(u.ID)
	h.want("sendMessage")
	if got := held(t, env.Store); len(got) != 0 {
		t.Fatalf("held %v after the turn ended, want none", got)
	}
}

// TestPollingReplaysHeldUpdatesAfterACrash: updates held by a process that
// died are replayed when the adapter starts; one whose turn had run (its
// release lost) changes nothing, the other runs once.
func TestPollingReplaysHeldUpdatesAfterACrash(t *testing.T) {
	env, fake := newScriptEnv(t)
	h := start(t, env, fake, false, func(o *Options) { o.Inbox = env.Store })
	first := fake.Text(h.chat, h.user, "/start")
	h.deliver(first)
	welcome := h.want("sendMessage")
	before := h.session()
	h.stop()

	// The died process had taken both from getUpdates: the first one's
	// turn ran but its release was lost, the second one's never ran.
	second := fake.Text(h.chat, h.user, "typed text")
	var hold []bot.Inbound
	for _, u := range []fakebotapi.Update{second, first} {
		raw, err := json.Marshal(u)
		if err != nil {
			t.Fatal(err)
		}
		hold = append(hold, bot.Inbound{ID: u.ID, Raw: raw})
	}
	if err := env.Store.Hold(context.Background(), Channel, hold); err != nil {
		t.Fatal(err)
	}

	// The replay runs before the adapter's last startup call, so count the
	// calls from here rather than from h2's own mark.
	mark := len(fake.Calls())
	h2 := start(t, env, fake, false, func(o *Options) { o.Inbox = env.Store })
	h2.waitDone(first.ID)
	h2.waitDone(second.ID)
	if after := h2.session(); after.ID != before.ID || after.State != scriptflow.StateGreeted || after.Step != before.Step {
		t.Fatalf("session %s %q step %d after the replay (was %s %q %d), want the same session at the same step",
			after.ID, after.State, after.Step, before.ID, before.State, before.Step)
	}
	var sent []fakebotapi.Call
	for _, c := range fake.Calls()[mark:] {
		if c.Method != "getUpdates" && c.Method != "getMe" && c.Method != "setMyCommands" && c.Method != "deleteWebhook" {
			sent = append(sent, c)
		}
	}
	if len(sent) != 1 || sent[0].Method != "sendMessage" {
		t.Fatalf("calls after the restart %+v, want one sendMessage", sent)
	}
	for _, w := range welcome {
		if sent[0].Fields["text"] == w.Fields["text"] {
			t.Fatalf("the /start whose turn had run was handled again: %q", w.Fields["text"])
		}
	}
	wantText(t, sent[0], h2.msg(scriptflow.MsgTextSeen, nil))
	if got := held(t, env.Store); len(got) != 0 {
		t.Fatalf("held %v after the replay, want none", got)
	}
	if !strings.Contains(env.Log.String(), `msg="replaying updates held by an earlier run" channel=telegram count=2`) {
		t.Fatalf("no replay log line:\n%s", env.Log.String())
	}
}

// failingInbox fails its first Hold (a full disk) and then holds in the
// real store.
type failingInbox struct {
	bot.Inbox
	mu    sync.Mutex
	fails int
}

func (f *failingInbox) Hold(ctx context.Context, channel string, in []bot.Inbound) error {
	f.mu.Lock()
	fail := f.fails > 0
	f.fails--
	f.mu.Unlock()
	if fail {
		return errors.New("disk full")
	}
	return f.Inbox.Hold(ctx, channel, in)
}

// TestPollingHoldFailureDoesNotConfirm: when the updates of a getUpdates
// answer cannot be held, the answer is not handed on, the next call asks
// with the same offset (nothing confirmed) and the update runs once.
func TestPollingHoldFailureDoesNotConfirm(t *testing.T) {
	env, fake := newScriptEnv(t)
	in := &failingInbox{Inbox: env.Store, fails: 1}
	h := start(t, env, fake, false, func(o *Options) { o.Inbox = in })
	u := fake.Text(h.chat, h.user, "/start")
	h.deliver(u)
	h.want("sendMessage")
	waitOffset(t, fake, u.ID)
	// getUpdates calls are recorded when answered: the one whose updates
	// could not be held and the one that asked again with the same offset.
	var asked []int64
	for _, c := range fake.Calls("getUpdates") {
		if off, _ := strconv.ParseInt(c.Fields["offset"], 10, 64); off <= u.ID {
			asked = append(asked, off)
		}
	}
	if len(asked) < 2 || asked[len(asked)-1] != asked[len(asked)-2] {
		t.Fatalf("getUpdates offsets up to update %d: %v, want the same offset asked again after the failed hold", u.ID, asked)
	}
	if got := fake.Confirmed(); got != u.ID+1 {
		t.Fatalf("confirmed below %d, want %d", got, u.ID+1)
	}
	if !strings.Contains(env.Log.String(), "hold updates: disk full") {
		t.Fatalf("the failed hold was not logged:\n%s", env.Log.String())
	}
	if got := held(t, env.Store); len(got) != 0 {
		t.Fatalf("held %v, want none", got)
	}
}

// failOnce is the scripted flow whose first button turn fails (as when
// the portal is unreachable).
type failOnce struct {
	*scriptflow.Flow
	failed atomic.Bool
}

func (f *failOnce) Handle(ctx context.Context, t *bot.Turn) error {
	if t.Event.Kind == bot.KindButton && f.failed.CompareAndSwap(false, true) {
		return errors.New("portal unavailable")
	}
	return f.Flow.Handle(ctx, t)
}

// TestPollingFailedTurnReleased: a long-polled update whose turn fails
// gets the engine's "please try again" and is released, not kept for a
// replay at a later start (which would answer an old step); the customer's
// next try goes through.
func TestPollingFailedTurnReleased(t *testing.T) {
	env := testkit.New(t, testkit.Options{Flows: []bot.Flow{&failOnce{Flow: scriptflow.New()}}})
	fake := fakebotapi.New(fakebotapi.Options{Token: testToken, BotUsername: botName})
	t.Cleanup(fake.Close)
	h := start(t, env, fake, false, func(o *Options) { o.Inbox = env.Store })
	h.text("/start")
	h.calls()
	h.press(scriptflow.ActionGo)
	// The failed turn keeps the keyboard, so the button can be pressed again.
	cs := h.want("answerCallbackQuery", "sendMessage")
	if want := h.msg(bot.MsgInternalError, nil); cs[1].Fields["text"] != want {
		t.Fatalf("reply to the failed turn %q, want %q", cs[1].Fields["text"], want)
	}
	if got := held(t, env.Store); len(got) != 0 {
		t.Fatalf("held %v after the failed turn, want none", got)
	}
	h.wantState(scriptflow.StateGreeted) // the failed turn saved nothing
	h.press(scriptflow.ActionGo)
	h.want("answerCallbackQuery", "editMessageReplyMarkup", "editMessageText")
	h.wantState(scriptflow.StateEdited)
}
