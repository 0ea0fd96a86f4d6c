package bot_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/internal/store"
)

// echoFlow is a small flow for engine tests: "ask" offers a button "next";
// "secret" asks a password and records what it got; "end" is terminal.
type echoFlow struct {
	gate    chan struct{} // a text "block" waits for it to close
	blocked chan struct{} // closed when the "block" text is being handled
	mu      sync.Mutex
	secrets []string
	order   []string
	handled int
}

func (f *echoFlow) Name() string { return "echo" }

func (f *echoFlow) Start(ctx context.Context, t *bot.Turn) error {
	t.Goto("ask")
	t.Say("engine.help_idle", nil, t.Button("engine.no_session", "next"))
	return nil
}

func (f *echoFlow) Handle(ctx context.Context, t *bot.Turn) error {
	f.mu.Lock()
	f.handled++
	if t.Event.Kind == bot.KindText {
		f.order = append(f.order, t.Event.Text)
	}
	f.mu.Unlock()
	if t.Event.Kind == bot.KindText && t.Event.Text == "block" {
		close(f.blocked)
		<-f.gate
	}
	switch {
	case t.Event.Kind == bot.KindCommand && t.Event.Command == "cancel":
		t.End("cancelled")
		t.Say("engine.no_session", nil)
	case t.Session.State == "ask" && t.Event.Kind == bot.KindButton && t.Event.Data == "next":
		t.Goto("secret")
		t.Ask(bot.SecretPassword, "engine.help_idle", nil)
	case t.Session.State == "secret" && t.Event.Kind == bot.KindSecret:
		f.mu.Lock()
		f.secrets = append(f.secrets, t.Event.Secret.Reveal())
		f.mu.Unlock()
		t.End("end")
		t.Say("engine.no_session", nil)
	case t.Event.Kind == bot.KindTimer:
		t.Say("engine.internal_error", nil)
	}
	return nil
}

func (f *echoFlow) Expire(ctx context.Context, t *bot.Turn) error {
	t.Say("engine.stale_button", map[string]any{"expired": true})
	return nil
}

// recorder is a Deliverer that records every reply.
type recorder struct {
	mu      sync.Mutex
	replies []bot.Reply
	n       int
	fail    error
}

func (r *recorder) Deliver(ctx context.Context, to bot.Conversation, rep bot.Reply) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return "", r.fail
	}
	r.replies = append(r.replies, rep)
	r.n++
	return "msg" + strconv.Itoa(r.n), nil
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rep := range r.replies {
		out = append(out, string(rep.Op)+":"+rep.ID)
	}
	return out
}

func (r *recorder) last() bot.Reply {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.replies[len(r.replies)-1]
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newEngine(t *testing.T) (*bot.Engine, *echoFlow, *recorder, *clock, *store.Bolt) {
	t.Helper()
	st, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)}
	f := &echoFlow{}
	e, err := bot.New(bot.Options{Store: st, Flows: []bot.Flow{f}, Now: clk.now, IdleTimeout: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	e.Register("test", rec)
	return e, f, rec, clk, st
}

var conv = bot.Conversation{Channel: "test", ID: "42"}

func ev(kind bot.Kind, update string) bot.Event {
	return bot.Event{Conversation: conv, UserID: "u1", UpdateID: update, Kind: kind}
}

func mustHandle(t *testing.T, e *bot.Engine, event bot.Event) {
	t.Helper()
	if err := e.Handle(context.Background(), event); err != nil {
		t.Fatalf("Handle(%v): %v", event.Kind, err)
	}
}

func TestStaleButtonAndDoubleTap(t *testing.T) {
	e, f, rec, _, _ := newEngine(t)
	mustHandle(t, e, ev(bot.KindStart, "1"))
	data := rec.last().Buttons[0].Data
	press := ev(bot.KindButton, "2")
	press.Data = data
	mustHandle(t, e, press)
	s, _ := e.Session(context.Background(), conv)
	if s.State != "secret" || s.Expect != bot.SecretPassword {
		t.Fatalf("after first tap: state %q expect %q", s.State, s.Expect)
	}
	// The second tap of the same button (a new update) is stale.
	press.UpdateID = "3"
	mustHandle(t, e, press)
	if got := rec.last().ID; got != "engine.stale_button" {
		t.Fatalf("second tap answered %q, want engine.stale_button", got)
	}
	s2, _ := e.Session(context.Background(), conv)
	if s2.State != "secret" || s2.Step != s.Step || f.handled != 1 {
		t.Fatalf("stale tap changed state: %q step %d→%d handled %d", s2.State, s.Step, s2.Step, f.handled)
	}
	// A forged nonce is stale too.
	forged := ev(bot.KindButton, "4")
	forged.Data = "next|zzzz9"
	mustHandle(t, e, forged)
	if f.handled != 1 {
		t.Fatalf("forged button reached the flow")
	}
}

func TestDuplicateUpdateProcessedOnce(t *testing.T) {
	e, f, rec, _, _ := newEngine(t)
	mustHandle(t, e, ev(bot.KindStart, "1"))
	text := ev(bot.KindText, "7")
	text.Text = "hello"
	mustHandle(t, e, text)
	mustHandle(t, e, text)
	mustHandle(t, e, text)
	if f.handled != 1 {
		t.Fatalf("flow handled the duplicated update %d times, want 1", f.handled)
	}
	if n := len(rec.ids()); n != 1 {
		t.Fatalf("replies %v, want only the start reply", rec.ids())
	}
}

func TestTypedSecretIsDeletedAndRedacted(t *testing.T) {
	e, f, rec, _, st := newEngine(t)
	mustHandle(t, e, ev(bot.KindStart, "1"))
	press := ev(bot.KindButton, "2")
	press.Data = rec.last().Buttons[0].Data
	mustHandle(t, e, press)
	text := ev(bot.KindText, "3")
	text.Text = "hunter2-very-secret"
	text.MessageID = "555"
	mustHandle(t, e, text)
	if !slices.Equal(f.secrets, []string{"hunter2-very-secret"}) {
		t.Fatalf("flow got secrets %v", f.secrets)
	}
	ids := rec.ids()
	want := []string{"send:engine.help_idle", "send:engine.help_idle", "delete:engine.delete_user_secret", "send:engine.no_session"}
	if !slices.Equal(ids, want) {
		t.Fatalf("replies %v, want %v", ids, want)
	}
	if del := rec.replies[2]; del.MessageID != "555" {
		t.Fatalf("deleted message %q, want the user's 555", del.MessageID)
	}
	if s := fmt.Sprintf("%v %s %+v %#v", bot.Secret("x1"), bot.Secret("x1"), bot.Secret("x1"), bot.Secret("x1")); s != "REDACTED REDACTED REDACTED REDACTED" {
		t.Fatalf("Secret printed as %q", s)
	}
	st.Close()
}

func TestNotOwnerRefused(t *testing.T) {
	e, f, rec, _, _ := newEngine(t)
	mustHandle(t, e, ev(bot.KindStart, "1"))
	other := ev(bot.KindText, "2")
	other.UserID = "intruder"
	mustHandle(t, e, other)
	if rec.last().ID != "engine.not_owner" || f.handled != 0 {
		t.Fatalf("intruder got %q, flow handled %d", rec.last().ID, f.handled)
	}
}

func TestExpiryBySweepAndOnNextEvent(t *testing.T) {
	e, _, rec, clk, _ := newEngine(t)
	mustHandle(t, e, ev(bot.KindStart, "1"))
	clk.add(14 * time.Minute)
	if n, err := e.Sweep(context.Background(), 10); err != nil || n != 0 {
		t.Fatalf("sweep before deadline handled %d (%v)", n, err)
	}
	clk.add(2 * time.Minute)
	if n, err := e.Sweep(context.Background(), 10); err != nil || n != 1 {
		t.Fatalf("sweep after deadline handled %d (%v), want 1", n, err)
	}
	if got := rec.last().ID; got != "engine.stale_button" { // echoFlow's expiry text
		t.Fatalf("expiry reply %q", got)
	}
	s, _ := e.Session(context.Background(), conv)
	if !s.Done {
		t.Fatalf("session not done after expiry")
	}
	// A later text gets the idle hint; a later button is stale.
	text := ev(bot.KindText, "2")
	mustHandle(t, e, text)
	if got := rec.last().ID; got != "engine.no_session" {
		t.Fatalf("idle text answered %q", got)
	}
}

func TestBlockedUserParksSession(t *testing.T) {
	e, _, rec, _, _ := newEngine(t)
	rec.fail = fmt.Errorf("telegram: %w", bot.ErrBlocked)
	mustHandle(t, e, ev(bot.KindStart, "1"))
	s, _ := e.Session(context.Background(), conv)
	if !s.Parked {
		t.Fatalf("session not parked after ErrBlocked")
	}
	rec.fail = nil
	mustHandle(t, e, ev(bot.KindText, "2"))
	s, _ = e.Session(context.Background(), conv)
	if s.Parked {
		t.Fatalf("session still parked after the user wrote again")
	}
}

// TestOrderPerConversation holds conversation 42 busy, queues 50 texts for
// it one after the other (each queued before the next is sent) while other
// conversations run in parallel, then releases it: the flow must see the
// texts in arrival order.
func TestOrderPerConversation(t *testing.T) {
	e, f, _, _, _ := newEngine(t)
	f.gate, f.blocked = make(chan struct{}), make(chan struct{})
	mustHandle(t, e, ev(bot.KindStart, "start"))
	var wg sync.WaitGroup
	wg.Add(1)
	block := ev(bot.KindText, "block")
	block.Text = "block"
	go func() { defer wg.Done(); _ = e.Handle(context.Background(), block) }()
	<-f.blocked
	for i := 0; i < 50; i++ {
		wg.Add(2)
		text := ev(bot.KindText, "t"+strconv.Itoa(i))
		text.Text = strconv.Itoa(i)
		go func() { defer wg.Done(); _ = e.Handle(context.Background(), text) }()
		other := bot.Event{Conversation: bot.Conversation{Channel: "test", ID: "other" + strconv.Itoa(i)}, Kind: bot.KindStart, UpdateID: "o" + strconv.Itoa(i)}
		go func() { defer wg.Done(); _ = e.Handle(context.Background(), other) }()
		for e.Queued(conv) != i+1 {
			runtime.Gosched()
		}
	}
	// Other conversations were not held up by the busy one.
	for i := 0; i < 50; i++ {
		c := bot.Conversation{Channel: "test", ID: "other" + strconv.Itoa(i)}
		for e.Queued(c) > 0 {
			runtime.Gosched()
		}
	}
	close(f.gate)
	wg.Wait()
	want := []string{"block"}
	for i := 0; i < 50; i++ {
		want = append(want, strconv.Itoa(i))
	}
	if !slices.Equal(f.order, want) {
		t.Fatalf("order %v", f.order)
	}
}

func TestCheckpointHookAndTimerWake(t *testing.T) {
	e, _, rec, clk, st := newEngine(t)
	mustHandle(t, e, ev(bot.KindStart, "1"))
	s, _ := st.Load(context.Background(), conv)
	s.WakeAt = clk.now().Add(time.Minute)
	if err := st.Save(context.Background(), s, ""); err != nil {
		t.Fatal(err)
	}
	clk.add(61 * time.Second)
	if n, err := e.Sweep(context.Background(), 10); err != nil || n != 1 {
		t.Fatalf("sweep handled %d (%v)", n, err)
	}
	if got := rec.last().ID; got != "engine.internal_error" {
		t.Fatalf("timer turn reply %q", got)
	}
	s, _ = st.Load(context.Background(), conv)
	if !s.WakeAt.IsZero() {
		t.Fatalf("WakeAt not cleared after the timer turn: %v", s.WakeAt)
	}
}

func TestNewRequiresStoreAndFlow(t *testing.T) {
	if _, err := bot.New(bot.Options{}); err == nil {
		t.Fatal("New without store and flow succeeded")
	}
}

// TestDispatchKeepsOrder dispatches 50 texts of one conversation from one
// goroutine; they run in their own goroutines yet reach the flow in order.
func TestDispatchKeepsOrder(t *testing.T) {
	e, f, _, _, _ := newEngine(t)
	mustHandle(t, e, ev(bot.KindStart, "start"))
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		text := ev(bot.KindText, "d"+strconv.Itoa(i))
		text.Text = strconv.Itoa(i)
		e.Dispatch(context.Background(), text, func(err error) { errs <- err; wg.Done() })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := make([]string, 50)
	for i := range want {
		want[i] = strconv.Itoa(i)
	}
	if !slices.Equal(f.order, want) {
		t.Fatalf("order %v", f.order)
	}
}

// TestMaxDurationCapsActiveSession keeps a session busy every 5 minutes;
// it still expires 20 minutes after it started.
func TestMaxDurationCapsActiveSession(t *testing.T) {
	e, _, rec, clk, _ := newEngine(t)
	start := clk.now()
	mustHandle(t, e, ev(bot.KindStart, "1"))
	for i := 2; i <= 4; i++ {
		clk.add(5 * time.Minute)
		mustHandle(t, e, ev(bot.KindText, strconv.Itoa(i)))
	}
	s, _ := e.Session(context.Background(), conv)
	if want := start.Add(20 * time.Minute); !s.ExpiresAt.Equal(want) {
		t.Fatalf("ExpiresAt %v, want %v (start + 20 min)", s.ExpiresAt, want)
	}
	clk.add(5 * time.Minute)
	if n, err := e.Sweep(context.Background(), 10); err != nil || n != 1 {
		t.Fatalf("sweep at 20 min: %d %v", n, err)
	}
	if rec.last().ID != "engine.stale_button" { // echoFlow's expiry text
		t.Fatalf("last reply %q", rec.last().ID)
	}
}

// panicFlow panics on the text "boom".
type panicFlow struct{ echoFlow }

func (f *panicFlow) Handle(ctx context.Context, t *bot.Turn) error {
	if t.Event.Text == "boom" {
		panic("boom")
	}
	return f.echoFlow.Handle(ctx, t)
}

func TestPanicIsRecoveredAndConversationGoesOn(t *testing.T) {
	st, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := &panicFlow{}
	e, err := bot.New(bot.Options{Store: st, Flows: []bot.Flow{f}})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	e.Register("test", rec)
	mustHandle(t, e, ev(bot.KindStart, "1"))
	boom := ev(bot.KindText, "2")
	boom.Text = "boom"
	done := make(chan error, 1)
	e.Dispatch(context.Background(), boom, func(err error) { done <- err })
	if err := <-done; !errors.Is(err, bot.ErrPanic) {
		t.Fatalf("Dispatch returned %v, want ErrPanic", err)
	}
	// The conversation is not stuck: the next event is handled.
	next := ev(bot.KindText, "3")
	next.Text = "after"
	mustHandle(t, e, next)
	if !slices.Equal(f.order, []string{"after"}) {
		t.Fatalf("flow saw %v after the panic", f.order)
	}
}

func TestStartCommandBecomesStartAndUnsupportedSecretIsDeleted(t *testing.T) {
	e, f, rec, _, _ := newEngine(t)
	mustHandle(t, e, ev(bot.KindStart, "1"))
	press := ev(bot.KindButton, "2")
	press.Data = rec.last().Buttons[0].Data
	mustHandle(t, e, press) // now a password is expected
	photo := ev(bot.KindUnsupported, "3")
	photo.MessageID = "77"
	mustHandle(t, e, photo)
	if got := rec.ids(); got[len(got)-1] != "delete:engine.delete_user_secret" || rec.last().MessageID != "77" {
		t.Fatalf("replies %v: the message that may hold the secret was not deleted", got)
	}
	if f.handled != 2 {
		t.Fatalf("flow handled %d events", f.handled)
	}
}

func TestLooksSecret(t *testing.T) {
	for _, c := range []struct {
		text       string
		promptHeld bool
		want       bool
	}{
		{"hunter2hunter2", false, true},
		{"  Tr0ub4dor&3  ", false, true},
		{"123456", false, true},
		{"123 456", false, true},
		{"12-34-56", false, true},
		{"٠١٢٣٤٥", false, true},
		{"12345", false, false},
		{"short", false, false},
		{"thanks!", false, false},
		{"alice@example.com", false, false},
		{"https://portal.example.com/faq", false, false},
		// Asked for a password when the agent came: an address-like word
		// may be the password.
		{"P@ssw0rd.2024", true, true},
		{"alice@example.com", true, true},
		{"https://x.example/faq", true, true},
		{"my code 123456 does not work", true, false}, // relayed, digits masked by Support
		{"I lost my phone", true, false},
		{"", true, false},
	} {
		if got := bot.LooksSecret(c.text, c.promptHeld); got != c.want {
			t.Errorf("LooksSecret(%q, %v) = %v, want %v", c.text, c.promptHeld, got, c.want)
		}
	}
}
