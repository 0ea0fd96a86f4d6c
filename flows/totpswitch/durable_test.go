package totpswitch_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
)

// crashDriver runs the happy path and "kills the process" (a panic from
// the engine hook, then testkit's Restart) at the n-th occurrence of a
// hook point; after the restart the sweeper runs and the interrupted
// update is delivered again, as Telegram does.
type crashDriver struct {
	*testkit.Chat
	t     *testing.T
	env   *testkit.Env
	rec   *testkit.Recorder // Chat.Rec
	conv  bot.Conversation  // Chat.Conv
	mu    sync.Mutex
	point bot.Hook
	n     int // occurrences of point still to pass; the crash is at 0
	count int // occurrences seen
	crash int // crashes so far
}

func newCrashDriver(t *testing.T, point bot.Hook, n int) *crashDriver {
	d := &crashDriver{t: t, point: point, n: n}
	d.env = testkit.New(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll, Hook: d.hook})
	d.Chat = testkit.NewChat(t, func() *bot.Engine { return d.env.Engine }, bot.Conversation{Channel: "test", ID: "7"})
	d.UserID, d.rec, d.conv = "u7", d.Rec, d.Conv
	// A crash (the hook's panic) restarts the process on the same files;
	// the sweeper runs and the interrupted update is delivered again.
	d.OnError = func(ev bot.Event, err error) error {
		if !errors.Is(err, bot.ErrPanic) {
			return err
		}
		d.crash++
		d.env.Restart(d.t)
		d.env.Engine.Register("test", d.rec)
		if _, err := d.env.Engine.Sweep(context.Background(), 10); err != nil {
			d.t.Fatal(err)
		}
		return d.env.Engine.Handle(context.Background(), ev)
	}
	return d
}

func (d *crashDriver) hook(p bot.Hook, _ *bot.Session) {
	d.mu.Lock()
	if p != d.point {
		d.mu.Unlock()
		return
	}
	d.count++
	crash := d.count == d.n
	d.mu.Unlock()
	if crash {
		panic("killed at " + string(p))
	}
}

// send delivers ev (again after a crash) and returns the replies since the
// last call; a text gets the message id "m<update id>".
func (d *crashDriver) send(ev bot.Event) []bot.Reply {
	d.t.Helper()
	if ev.Kind == bot.KindText && ev.MessageID == "" {
		ev.MessageID = "m" + strconv.Itoa(d.Upd+1)
	}
	return d.Send(ev)
}

func (d *crashDriver) press(action string) {
	d.t.Helper()
	d.Press(action)
}

func (d *crashDriver) key() *otp.Key {
	for i := len(d.All) - 1; i >= 0; i-- {
		if len(d.All[i].Image) > 0 {
			return d.env.KeyFromQR(d.t, d.All[i].Image)
		}
	}
	d.t.Fatalf("no QR code; replies %v", ids(d.All))
	return nil
}

// run drives the happy path; it returns the number of crashes.
func (d *crashDriver) run() int {
	t, env := d.t, d.env
	pw := env.AddAccount(t, "crash@example.com", portal.MethodSMS)
	d.send(bot.Event{Kind: bot.KindStart})
	d.send(bot.Event{Kind: bot.KindText, Text: "crash@example.com"})
	d.send(bot.Event{Kind: bot.KindText, Text: pw})
	d.send(bot.Event{Kind: bot.KindText, Text: env.LastSMSCode(t)})
	d.press("disable")
	d.press("setup")
	d.press("app")
	d.send(bot.Event{Kind: bot.KindText, Text: env.TOTPCode(t, d.key(), 0)})
	d.press("okay")

	s, err := env.Engine.Session(context.Background(), d.conv)
	if err != nil || s.State != totpswitch.StateDone || len(s.Outbox) != 0 {
		t.Fatalf("final session %+v, %v; replies %v", s, err, ids(d.All))
	}
	audit, err := env.Core.AuditLog(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, a := range audit {
		count[a.Action]++
	}
	if count["2fa_disabled"] != 1 || count["totp_activated"] != 1 || count["2fa_restored"] != 0 {
		t.Fatalf("audit %v", count)
	}
	if n := len(env.SMS.Messages()); n != 1 {
		t.Fatalf("%d SMS sent, want 1", n)
	}
	if n := len(env.Mails(t)); n != 2 {
		t.Fatalf("%d e-mails, want 2", n)
	}
	for _, id := range ids(d.All) {
		if id == "totp.reverify" || id == "engine.internal_error" {
			t.Fatalf("replies %v", ids(d.All))
		}
	}
	return d.crash
}

// TestCrashAtEveryCheckpoint kills the turn right after each checkpoint of
// the happy path (the session saved, the portal call not made): the
// resumed turn repeats the call under the same idempotency key, with the
// grant and rounds the interrupted turn had, so every effect happens once
// and the customer is never asked to start over.
func TestCrashAtEveryCheckpoint(t *testing.T) {
	for n := 1; ; n++ {
		d := newCrashDriver(t, bot.HookCheckpoint, n)
		if d.run() == 0 {
			if n < 5 {
				t.Fatalf("only %d checkpoints in the happy path", n-1)
			}
			return
		}
	}
}

// TestCrashAfterEverySave kills each turn of the happy path after its
// save and before its replies are delivered: the redelivered update
// delivers them (the QR code and the key rendered again from the core).
func TestCrashAfterEverySave(t *testing.T) {
	for n := 1; ; n++ {
		d := newCrashDriver(t, bot.HookSaved, n)
		if d.run() == 0 {
			return
		}
	}
}

// TestVerifyResumedWithoutCodeAsksAgain: the turn of the app's code dies
// after its checkpoint and the update is not delivered again in time (as
// with long polling): the sweeper resumes the step, and since the code was
// never checked and is not stored, asks for it again as a new step; the
// late redelivery is then ignored, and a new code finishes the change.
func TestVerifyResumedWithoutCodeAsksAgain(t *testing.T) {
	d := newCrashDriver(t, bot.HookCheckpoint, 4) // sms, disable, enroll, verify
	env := d.env
	pw := env.AddAccount(t, "late@example.com", portal.MethodSMS)
	d.send(bot.Event{Kind: bot.KindStart})
	d.send(bot.Event{Kind: bot.KindText, Text: "late@example.com"})
	d.send(bot.Event{Kind: bot.KindText, Text: pw})
	d.send(bot.Event{Kind: bot.KindText, Text: env.LastSMSCode(t)})
	d.press("disable")
	d.press("setup")
	d.press("app")
	key := d.key()
	d.Upd++
	code := bot.Event{Conversation: d.conv, UserID: "u7", UpdateID: strconv.Itoa(d.Upd), Kind: bot.KindText,
		Text: env.TOTPCode(t, key, 0), MessageID: "m-code"}
	if err := env.Engine.Handle(context.Background(), code); !errors.Is(err, bot.ErrPanic) {
		t.Fatalf("the verify turn did not crash: %v", err)
	}
	env.Restart(t)
	env.Engine.Register("test", d.rec)
	env.Clock.Advance(10 * time.Second)
	if n, err := env.Engine.Sweep(context.Background(), 10); err != nil || n != 1 {
		t.Fatalf("sweep handled %d, %v", n, err)
	}
	got := d.Arrived()
	wantIDs(t, got, "delete:engine.delete_user_secret", "totp.ask_totp")
	if err := env.Engine.Handle(context.Background(), code); err != nil { // late redelivery
		t.Fatal(err)
	}
	if got, _ := d.rec.Since(d.Seen); len(got) != 0 {
		t.Fatalf("the late redelivery was handled: %v", ids(got))
	}
	d.send(bot.Event{Kind: bot.KindText, Text: env.TOTPCode(t, key, 0)})
	d.press("okay")
	if m := method(t, env, "late@example.com"); m != portal.MethodTOTP {
		t.Fatalf("method %q", m)
	}
}
