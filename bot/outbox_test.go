package bot_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/internal/store"
)

// burstFlow answers /start with three messages, the middle one Sensitive
// (a QR code and its secret), and a typed secret with the deletion of the
// user's message, a checkpoint and a confirmation.
type burstFlow struct {
	rerendered atomic.Int32
	crash      atomic.Bool // panic right after the next checkpoint
}

const burstSecret = "JBSWY3DPEHPK3PXP-secret"

func (f *burstFlow) Name() string { return "burst" }

func (f *burstFlow) Start(ctx context.Context, t *bot.Turn) error {
	t.Goto("ask")
	t.Send(bot.Reply{ID: "one", Text: "one"})
	t.Send(bot.Reply{ID: "qr", Text: "scan " + burstSecret, Image: []byte(burstSecret), Sensitive: true, Ref: "qr"})
	t.Ask(bot.SecretPassword, "engine.help_idle", nil)
	return nil
}

func (f *burstFlow) Handle(ctx context.Context, t *bot.Turn) error {
	switch {
	case t.Session.State == "ask" && t.Event.Kind == bot.KindSecret:
		t.Goto("checking")
		if err := t.Checkpoint(ctx); err != nil {
			return err
		}
		if f.crash.CompareAndSwap(true, false) {
			panic("killed after the checkpoint")
		}
		fallthrough
	case t.Session.State == "checking":
		t.End("done")
		t.Send(bot.Reply{ID: "checked", Text: "checked"})
	}
	return nil
}

func (f *burstFlow) Expire(ctx context.Context, t *bot.Turn) error { return nil }

func (f *burstFlow) Rerender(ctx context.Context, t *bot.Turn, r bot.Reply) (bot.Reply, error) {
	f.rerendered.Add(1)
	if r.Ref != "qr" {
		return r, errors.New("unknown")
	}
	r.Text, r.Image = "scan "+burstSecret, []byte(burstSecret)
	return r, nil
}

// crashRig runs engines over one store, one after the other, like
// processes restarted on the same data directory. A "crash" is a panic
// from the hook at a chosen point; the engine recovers it and the turn
// stops there, with the store as it was.
type crashRig struct {
	t     *testing.T
	path  string
	st    *store.Bolt
	flow  *burstFlow
	other bot.Flow // when set, the engines run it instead of flow
	clk   *clock
	rec   *recorder
	e     *bot.Engine
	mu    sync.Mutex
	point bot.Hook
	skip  int // occurrences of point to let pass before the crash
	armed bool
}

func newCrashRig(t *testing.T) *crashRig {
	r := &crashRig{t: t, path: filepath.Join(t.TempDir(), "sessions.db"), flow: &burstFlow{},
		clk: &clock{t: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)}, rec: &recorder{}}
	r.restart()
	t.Cleanup(func() { r.st.Close() })
	return r
}

func (r *crashRig) hook(p bot.Hook, _ *bot.Session) {
	r.mu.Lock()
	crash := r.armed && p == r.point && r.skip == 0
	if r.armed && p == r.point {
		r.skip--
	}
	if crash {
		r.armed = false
	}
	r.mu.Unlock()
	if crash {
		panic("killed at " + string(p))
	}
}

// crashAt arms a crash at the (skip+1)-th next occurrence of p.
func (r *crashRig) crashAt(p bot.Hook, skip int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.point, r.skip, r.armed = p, skip, true
}

// restart opens a new store and engine on the same file.
func (r *crashRig) restart() {
	r.t.Helper()
	if r.st != nil {
		if err := r.st.Close(); err != nil {
			r.t.Fatal(err)
		}
	}
	st, err := store.Open(store.Options{Path: r.path, Now: r.clk.now})
	if err != nil {
		r.t.Fatal(err)
	}
	flows := []bot.Flow{r.flow}
	if r.other != nil {
		flows = []bot.Flow{r.other}
	}
	e, err := bot.New(bot.Options{Store: st, Flows: flows, Now: r.clk.now, Hook: r.hook, Logger: quiet})
	if err != nil {
		r.t.Fatal(err)
	}
	e.Register("test", r.rec)
	r.st, r.e = st, e
}

func (r *crashRig) handle(event bot.Event) error {
	return r.e.Handle(context.Background(), event)
}

func (r *crashRig) sent() []string { return r.rec.ids() }

func (r *crashRig) wantSent(want ...string) {
	r.t.Helper()
	if got := r.sent(); !slices.Equal(got, want) {
		r.t.Fatalf("delivered %q\nwant      %q", got, want)
	}
}

// noSecretOnDisk fails when the sensitive reply's secret is in the file.
func (r *crashRig) noSecretOnDisk() {
	r.t.Helper()
	raw, err := os.ReadFile(r.path)
	if err != nil {
		r.t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(burstSecret)) {
		r.t.Fatal("sessions.db holds the sensitive reply's secret")
	}
}

var quiet = slog.New(slog.DiscardHandler)

var startAll = []string{"send:one", "send:qr", "send:engine.help_idle"}

// TestOutboxCrashAfterSave: killed after the turn was saved and before
// anything was delivered, the redelivered update (already recorded as
// processed) delivers every reply once, the sensitive one rendered again
// by the flow, and the store never held its content.
func TestOutboxCrashAfterSave(t *testing.T) {
	r := newCrashRig(t)
	r.crashAt(bot.HookSaved, 0)
	start := ev(bot.KindStart, "u1")
	if err := r.handle(start); !errors.Is(err, bot.ErrPanic) {
		t.Fatalf("crash turn: %v", err)
	}
	r.wantSent()
	r.noSecretOnDisk()
	r.restart()
	if err := r.handle(start); err != nil {
		t.Fatal(err)
	}
	r.wantSent(startAll...)
	if n := r.flow.rerendered.Load(); n != 1 {
		t.Fatalf("rerendered %d times, want 1", n)
	}
	if got := r.rec.replies[1]; string(got.Image) != burstSecret || !got.Sensitive || got.Ref != "qr" {
		t.Fatalf("rerendered reply %+v", got)
	}
	if err := r.handle(start); err != nil { // once more: nothing left
		t.Fatal(err)
	}
	r.wantSent(startAll...)
	s, err := r.e.Session(context.Background(), conv)
	if err != nil || len(s.Outbox) != 0 || s.Messages["qr"] == "" {
		t.Fatalf("session after delivery: %+v, %v", s, err)
	}
}

// TestOutboxCrashMidDelivery kills the turn after each delivery in turn.
// The turn's delivered marks are saved once, after its last reply, and
// right after the Sensitive QR message (not the last): the messages
// delivered since the last saved mark are the documented window and are
// sent once more, in order, then the rest, each once; the sweeper does it
// without any new event. Killed after the QR code was sent but before its
// mark was saved, everything from the first message is sent again.
func TestOutboxCrashMidDelivery(t *testing.T) {
	for k := 0; k < len(startAll); k++ {
		t.Run(startAll[k], func(t *testing.T) {
			r := newCrashRig(t)
			r.crashAt(bot.HookDelivered, k)
			if err := r.handle(ev(bot.KindStart, "u1")); !errors.Is(err, bot.ErrPanic) {
				t.Fatalf("crash turn: %v", err)
			}
			r.noSecretOnDisk()
			r.restart()
			if n, err := r.e.Sweep(context.Background(), 10); err != nil || n != 0 {
				t.Fatalf("early sweep handled %d, %v", n, err)
			}
			r.clk.add(10 * time.Second)
			if n, err := r.e.Sweep(context.Background(), 10); err != nil || n != 1 {
				t.Fatalf("sweep handled %d, %v", n, err)
			}
			from := 0 // the first reply whose delivered mark was not saved
			if k >= 2 {
				from = 2 // the QR code's mark was saved at once
			}
			want := append(slices.Clone(startAll[:k+1]), startAll[from:]...)
			r.wantSent(want...)
			// The QR code (second) is rendered again when it is among the
			// messages left: killed after the first or the second.
			if want := map[bool]int32{true: 1, false: 0}[k <= 1]; r.flow.rerendered.Load() != want {
				t.Fatalf("rerendered %d times", r.flow.rerendered.Load())
			}
		})
	}
}

// failingOnce fails (like a process killed before the platform got the
// request) on call n, then works.
type failingOnce struct {
	*recorder
	calls atomic.Int32
	n     int32
}

func (f *failingOnce) Deliver(ctx context.Context, to bot.Conversation, rep bot.Reply) (string, error) {
	if f.calls.Add(1) == f.n {
		panic("killed before the platform answered")
	}
	return f.recorder.Deliver(ctx, to, rep)
}

// TestOutboxCrashBeforeSend: killed while a message is on its way but
// before the platform accepted it, that message is sent once; the
// messages of the turn delivered before it whose marks were not saved are
// sent again (the window), those whose marks were saved (the QR code's,
// at once) are not.
func TestOutboxCrashBeforeSend(t *testing.T) {
	for _, tc := range []struct {
		n    int32 // the Deliver call that is killed
		want []string
	}{
		{2, []string{"send:one", "send:one", "send:qr", "send:engine.help_idle"}},
		{3, startAll}, // after the QR code's saved mark: nothing twice
	} {
		t.Run(strconv.Itoa(int(tc.n)), func(t *testing.T) {
			r := newCrashRig(t)
			r.e.Register("test", &failingOnce{recorder: r.rec, n: tc.n})
			if err := r.handle(ev(bot.KindStart, "u1")); !errors.Is(err, bot.ErrPanic) {
				t.Fatalf("crash turn: %v", err)
			}
			r.wantSent(startAll[:tc.n-1]...)
			r.restart()
			if err := r.handle(ev(bot.KindStart, "u1")); err != nil {
				t.Fatal(err)
			}
			r.wantSent(tc.want...)
		})
	}
}

// TestCheckpointKeepsSecretDeletion: a turn killed after its checkpoint
// still deletes the user's message that held the secret: the deletion was
// saved with the checkpoint, and the resumed turn delivers it.
func TestCheckpointKeepsSecretDeletion(t *testing.T) {
	r := newCrashRig(t)
	if err := r.handle(ev(bot.KindStart, "u1")); err != nil {
		t.Fatal(err)
	}
	r.flow.crash.Store(true)
	pw := ev(bot.KindText, "u2")
	pw.Text, pw.MessageID = "hunter2-password", "77"
	if err := r.handle(pw); !errors.Is(err, bot.ErrPanic) {
		t.Fatalf("crash turn: %v", err)
	}
	r.wantSent(startAll...)
	r.restart()
	// The sweeper leaves the update 10 s to come again, then resumes.
	if n, err := r.e.Sweep(context.Background(), 10); err != nil || n != 0 {
		t.Fatalf("early sweep handled %d, %v", n, err)
	}
	r.clk.add(10 * time.Second)
	if n, err := r.e.Sweep(context.Background(), 10); err != nil || n != 1 {
		t.Fatalf("sweep handled %d, %v", n, err)
	}
	r.wantSent(append(slices.Clone(startAll), "delete:"+bot.MsgDeleteUserSecret, "send:checked")...)
	if got := r.rec.replies[3].MessageID; got != "77" {
		t.Fatalf("deleted message %q, want 77", got)
	}
	// The resumed turn recorded the interrupted update: a late redelivery
	// is not taken for new input.
	if err := r.handle(pw); err != nil {
		t.Fatal(err)
	}
	r.wantSent(append(slices.Clone(startAll), "delete:"+bot.MsgDeleteUserSecret, "send:checked")...)
}

// TestRedeliveryResumesCheckpointedTurn: the update whose turn died after
// its checkpoint, delivered again before the sweeper resumes the turn,
// resumes it (the input it carries is used) and is then recorded.
func TestRedeliveryResumesCheckpointedTurn(t *testing.T) {
	r := newCrashRig(t)
	if err := r.handle(ev(bot.KindStart, "u1")); err != nil {
		t.Fatal(err)
	}
	r.flow.crash.Store(true)
	pw := ev(bot.KindText, "u2")
	pw.Text, pw.MessageID = "hunter2-password", "77"
	if err := r.handle(pw); !errors.Is(err, bot.ErrPanic) {
		t.Fatalf("crash turn: %v", err)
	}
	r.restart()
	if err := r.handle(pw); err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(startAll), "delete:"+bot.MsgDeleteUserSecret, "send:checked")
	r.wantSent(want...)
	r.clk.add(time.Minute)
	if n, err := r.e.Sweep(context.Background(), 10); err != nil || n != 0 {
		t.Fatalf("sweep handled %d, %v", n, err)
	}
	if err := r.handle(pw); err != nil {
		t.Fatal(err)
	}
	r.wantSent(want...)
}

// askThenFail asks a password and fails on the answer (the portal is
// down).
type askThenFail struct{}

func (askThenFail) Name() string { return "fail" }
func (askThenFail) Start(ctx context.Context, t *bot.Turn) error {
	t.Goto("ask")
	t.Ask(bot.SecretPassword, "engine.help_idle", nil)
	return nil
}
func (askThenFail) Handle(ctx context.Context, t *bot.Turn) error { return errors.New("portal down") }
func (askThenFail) Expire(ctx context.Context, t *bot.Turn) error { return nil }

// TestFailedTurnStillDeletesSecret: a flow error after a typed secret
// answers with the internal error and deletes the secret all the same.
func TestFailedTurnStillDeletesSecret(t *testing.T) {
	st, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e, err := bot.New(bot.Options{Store: st, Flows: []bot.Flow{askThenFail{}}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	e.Register("test", rec)
	mustHandle(t, e, ev(bot.KindStart, "1"))
	pw := ev(bot.KindText, "2")
	pw.Text, pw.MessageID = "hunter2-password", "9"
	if err := e.Handle(context.Background(), pw); err == nil {
		t.Fatal("the failing turn returned nil")
	}
	want := []string{"send:engine.help_idle", "delete:" + bot.MsgDeleteUserSecret, "send:" + bot.MsgInternalError}
	if got := rec.ids(); !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
}
