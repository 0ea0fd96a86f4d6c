package totpswitch_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/pquerna/otp"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
)

// The tests in this file take the edges of the transition table the other
// tests of the package do not: the endings (cancelled, blocked, expired,
// restoring) of every state, the transient states left by a crash at
// their checkpoint, and the core's rarer answers. Each run's engine checks
// every change strictly and records it for TestMain's edge walk.

// faultCore makes the next call of an operation fail with a chosen error
// (once), passing every other call to the real core.
type faultCore struct {
	totpswitch.Core
	testkit.Faults
}

func (c *faultCore) BeginTOTPEnrollment(ctx context.Context, grant, key string) (portal.Enrollment, error) {
	if err := c.Take("begin"); err != nil {
		return portal.Enrollment{}, err
	}
	return c.Core.BeginTOTPEnrollment(ctx, grant, key)
}

func (c *faultCore) ConfirmTOTPEnrollment(ctx context.Context, id, code, key string) error {
	if err := c.Take("confirm"); err != nil {
		return err
	}
	return c.Core.ConfirmTOTPEnrollment(ctx, id, code, key)
}

// walker drives one conversation of an engine of its own (the flow's
// options as the walk needs them) on a testkit Env's core and store; a
// "crash" is a panic at the next checkpoint, which leaves the session
// stored in the transient state that checkpointed.
type walker struct {
	t     *testing.T
	env   *testkit.Env
	core  *faultCore
	eng   *bot.Engine
	rec   *testkit.Recorder
	conv  bot.Conversation
	email string
	pw    string
	upd   int
	seen  int
	all   []bot.Reply
	crash testkit.Crash
}

type walkOptions struct {
	order    string
	recovery int
	reminder time.Duration
}

func newWalker(t *testing.T, o walkOptions) *walker {
	t.Helper()
	w := &walker{t: t, rec: &testkit.Recorder{}, conv: bot.Conversation{Channel: "walk", ID: "1"}, email: "walk@example.com"}
	w.env = testkit.New(t, testkit.Options{Order: o.order})
	w.pw = w.env.AddAccount(t, w.email, portal.MethodSMS)
	w.core = &faultCore{Core: w.env.Core}
	flow := totpswitch.New(totpswitch.Options{Core: w.core, Order: o.order, RecoveryCodes: o.recovery, ReminderAfter: o.reminder})
	var err error
	w.eng, err = bot.New(bot.Options{Store: w.env.Store, Flows: []bot.Flow{flow}, Now: w.env.Clock.Now,
		Logger: slog.New(slog.DiscardHandler), Hook: w.crash.Hook, States: testkit.StateCheck(t)})
	if err != nil {
		t.Fatal(err)
	}
	w.eng.Register("walk", w.rec)
	return w
}

// handle sends ev and returns the engine's error.
func (w *walker) handle(ev bot.Event) error {
	w.upd++
	ev.Conversation, ev.UserID, ev.UpdateID = w.conv, "u1", strconv.Itoa(w.upd)
	if ev.Kind == bot.KindText {
		ev.MessageID = "m" + strconv.Itoa(w.upd)
	}
	err := w.eng.Handle(context.Background(), ev)
	var got []bot.Reply
	got, w.seen = w.rec.Since(w.seen)
	w.all = append(w.all, got...)
	return err
}

func (w *walker) send(ev bot.Event) {
	w.t.Helper()
	if err := w.handle(ev); err != nil {
		w.t.Fatalf("Handle %v: %v", ev.Kind, err)
	}
}

// crashing runs step, which ends with a crashSend, and checks the crash
// left the session in state.
func (w *walker) crashing(state bot.State, step func()) {
	w.t.Helper()
	step()
	w.want(state, false)
}

// crashSend is send for a turn that crashes at its first checkpoint: the
// engine returns ErrPanic.
func (w *walker) crashSend(ev bot.Event) {
	w.t.Helper()
	w.crash.Arm()
	err := w.handle(ev)
	if !w.crash.Fired() || !errors.Is(err, bot.ErrPanic) {
		w.t.Fatalf("Handle %v: %v, want the crash at a checkpoint", ev.Kind, err)
	}
}

func (w *walker) text(s string) { w.t.Helper(); w.send(bot.Event{Kind: bot.KindText, Text: s}) }
func (w *walker) cmd(c string)  { w.t.Helper(); w.send(bot.Event{Kind: bot.KindCommand, Command: c}) }

func (w *walker) button(action string) bot.Event {
	w.t.Helper()
	if ev, ok := testkit.NewestButton(w.all, action); ok {
		return ev
	}
	w.t.Fatalf("no button %q offered; replies %v", action, ids(w.all))
	return bot.Event{}
}

func (w *walker) press(action string) { w.t.Helper(); w.send(w.button(action)) }

func (w *walker) session() *bot.Session {
	w.t.Helper()
	s, err := w.eng.Session(context.Background(), w.conv)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

func (w *walker) want(state bot.State, done bool) {
	w.t.Helper()
	if s := w.session(); s.State != state || s.Done != done {
		w.t.Fatalf("state %q done %v, want %q done %v", s.State, s.Done, state, done)
	}
}

// key is the secret of the newest QR code.
func (w *walker) key() *otp.Key {
	w.t.Helper()
	for i := len(w.all) - 1; i >= 0; i-- {
		if len(w.all[i].Image) > 0 {
			return w.env.KeyFromQR(w.t, w.all[i].Image)
		}
	}
	w.t.Fatalf("no QR code; replies %v", ids(w.all))
	return nil
}

// method is the account's second factor now.
func (w *walker) method() portal.Method { return method(w.t, w.env, w.email) }

// sweep runs the engine's sweeper once and wants n sessions handled.
func (w *walker) sweep(n int) {
	w.t.Helper()
	got, err := w.eng.Sweep(context.Background(), 10)
	if err != nil || got != n {
		w.t.Fatalf("sweep handled %d, %v; want %d", got, err, n)
	}
	var rs []bot.Reply
	rs, w.seen = w.rec.Since(w.seen)
	w.all = append(w.all, rs...)
}

// Ways to end a conversation, and the terminal state each leads to.
var endings = []struct {
	name  string
	state bot.State
	do    func(w *walker)
}{
	{"cancel", totpswitch.StateCancelled, func(w *walker) { w.cmd("cancel") }},
	{"blocked", totpswitch.StateBlocked, func(w *walker) { w.send(bot.Event{Kind: bot.KindBlocked}) }},
	{"expired", totpswitch.StateExpired, func(w *walker) {
		w.env.Clock.Advance(20*time.Minute + time.Second)
		w.sweep(1)
	}},
}

// steps are the ways to a stable state from a new conversation, each
// after the one before it; awaiting_reauth waits at choose_method until
// the grant lapsed.
var steps = []struct {
	state bot.State
	do    func(w *walker)
}{
	{totpswitch.StateAwaitingEmail, func(w *walker) { w.send(bot.Event{Kind: bot.KindStart}) }},
	{totpswitch.StateAwaitingPassword, func(w *walker) { w.text(w.email) }},
	{totpswitch.StateAwaitingSMSCode, func(w *walker) { w.text(w.pw) }},
	{totpswitch.StateConfirmDisable, func(w *walker) { w.text(w.env.LastSMSCode(w.t)) }},
	{totpswitch.StateOfferSetup, func(w *walker) { w.press("disable") }},
	{totpswitch.StateChooseMethod, func(w *walker) { w.press("setup") }},
	{totpswitch.StateAwaitingReauth, func(w *walker) {
		w.env.Clock.Advance(11 * time.Minute) // the grant lasts 10 minutes
		w.press("app")
	}},
	{totpswitch.StateAwaitingTOTPCode, func(w *walker) { w.text(w.pw) }},
}

// to walks a new conversation to state along steps.
func (w *walker) to(state bot.State) {
	w.t.Helper()
	for _, s := range steps {
		s.do(w)
		w.want(s.state, false)
		if s.state == state {
			return
		}
	}
	w.t.Fatalf("no step reaches %q", state)
}

// TestWalkEndingsOfEveryStep: /cancel, the user blocking the bot and the
// idle expiry end every step, in both orders; once SMS 2FA is off
// (disable-then-enroll after "Disable 2FA") they pass through restoring,
// which gives SMS back.
func TestWalkEndingsOfEveryStep(t *testing.T) {
	for _, order := range []string{totpswitch.OrderEnrollThenSwitch, totpswitch.OrderDisableThenEnroll} {
		for _, s := range steps {
			for _, e := range endings {
				t.Run(order+"/"+string(s.state)+"/"+e.name, func(t *testing.T) {
					w := newWalker(t, walkOptions{order: order})
					w.to(s.state)
					smsOff := w.method() == portal.MethodNone
					e.do(w)
					w.want(e.state, true)
					if smsOff && w.method() != portal.MethodSMS {
						t.Fatalf("method %q after the ending, want sms restored", w.method())
					}
					if w.method() != portal.MethodSMS {
						t.Fatalf("method %q, want sms", w.method())
					}
				})
			}
		}
	}
}

// TestWalkEndingsOnceTheAppWorks: after the app is verified, /start ends
// the session as cancelled (a new one begins) and the idle expiry as
// expired; TOTP stays.
func TestWalkEndingsOnceTheAppWorks(t *testing.T) {
	for _, recovery := range []int{0, 2} {
		for _, e := range []string{"start", "expired"} {
			t.Run(strconv.Itoa(recovery)+"/"+e, func(t *testing.T) {
				w := newWalker(t, walkOptions{recovery: recovery})
				w.to(totpswitch.StateChooseMethod)
				w.press("app")
				w.text(w.env.TOTPCode(t, w.key(), 0))
				w.want(totpswitch.StateActivated, false)
				if recovery > 0 {
					w.press("okay")
					w.want(totpswitch.StateRecoveryCodes, false)
				}
				id := w.session().ID
				switch e {
				case "start":
					w.send(bot.Event{Kind: bot.KindStart})
					w.press("_start_over") // the engine asks first (issue 14)
					if s := w.session(); s.ID == id || s.State != totpswitch.StateAwaitingEmail {
						t.Fatalf("after /start: session %s state %q, want a new one at awaiting_email", s.ID, s.State)
					}
				case "expired":
					w.env.Clock.Advance(20*time.Minute + time.Second)
					w.sweep(1)
					w.want(totpswitch.StateExpired, true)
				}
				if w.method() != portal.MethodTOTP {
					t.Fatalf("method %q, want totp", w.method())
				}
			})
		}
	}
}

// TestWalkTransientStatesAfterACrash: a crash at the checkpoint of a
// transient state leaves the session in it; the user blocking the bot
// or the idle expiry then ends it from there (through restoring once SMS
// 2FA is, or may be, off).
func TestWalkTransientStatesAfterACrash(t *testing.T) {
	type transient struct {
		order string
		state bot.State
		reach func(w *walker)
	}
	// Both orders reach enrolling and verifying the same way.
	crashEnrolling := func(w *walker) {
		w.to(totpswitch.StateChooseMethod)
		w.crashSend(w.button("app"))
	}
	crashVerifying := func(w *walker) {
		w.to(totpswitch.StateChooseMethod)
		w.press("app")
		w.crashSend(bot.Event{Kind: bot.KindText, Text: w.env.TOTPCode(w.t, w.key(), 0)})
	}
	cases := []transient{
		{totpswitch.OrderEnrollThenSwitch, totpswitch.StateSendingSMS, func(w *walker) {
			w.to(totpswitch.StateAwaitingPassword)
			w.crashSend(bot.Event{Kind: bot.KindText, Text: w.pw})
		}},
		{totpswitch.OrderEnrollThenSwitch, totpswitch.StateEnrolling, crashEnrolling},
		{totpswitch.OrderEnrollThenSwitch, totpswitch.StateVerifying, crashVerifying},
		{totpswitch.OrderDisableThenEnroll, totpswitch.StateDisabling, func(w *walker) {
			w.to(totpswitch.StateConfirmDisable)
			w.crashSend(w.button("disable"))
		}},
		{totpswitch.OrderDisableThenEnroll, totpswitch.StateEnrolling, crashEnrolling},
		{totpswitch.OrderDisableThenEnroll, totpswitch.StateVerifying, crashVerifying},
		{totpswitch.OrderDisableThenEnroll, totpswitch.StateRestoring, func(w *walker) {
			w.to(totpswitch.StateOfferSetup)
			w.crashSend(bot.Event{Kind: bot.KindCommand, Command: "cancel"})
		}},
	}
	for _, c := range cases {
		for _, e := range endings[1:] { // /cancel waits for a transient step
			t.Run(c.order+"/"+string(c.state)+"/"+e.name, func(t *testing.T) {
				w := newWalker(t, walkOptions{order: c.order})
				w.crashing(c.state, func() { c.reach(w) })
				e.do(w)
				want := e.state
				if c.state == totpswitch.StateRestoring {
					want = totpswitch.StateCancelled // the ending it was on
					if e.name == "blocked" {
						want = totpswitch.StateBlocked
					}
				}
				w.want(want, true)
				if w.method() != portal.MethodSMS {
					t.Fatalf("method %q, want sms", w.method())
				}
			})
		}
	}
}

// TestWalkDisableWithALapsedGrant: "Disable 2FA" with a lapsed grant
// sends the user back to the password; SMS 2FA may be off now (the core
// may have disabled it before the answer got lost), so every ending from
// the steps after it passes through restoring.
func TestWalkDisableWithALapsedGrant(t *testing.T) {
	for _, c := range []struct {
		name  string
		state bot.State
		reach func(w *walker)
	}{
		{"password", totpswitch.StateAwaitingPassword, func(w *walker) {}},
		{"sms_code", totpswitch.StateAwaitingSMSCode, func(w *walker) { w.text(w.pw) }},
		{"confirm", totpswitch.StateConfirmDisable, func(w *walker) { w.text(w.pw); w.text(w.env.LastSMSCode(w.t)) }},
		{"sending_sms", totpswitch.StateSendingSMS, func(w *walker) {
			w.crashing(totpswitch.StateSendingSMS, func() { w.crashSend(bot.Event{Kind: bot.KindText, Text: w.pw}) })
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWalker(t, walkOptions{order: totpswitch.OrderDisableThenEnroll})
			w.to(totpswitch.StateConfirmDisable)
			w.env.Clock.Advance(11 * time.Minute)
			w.press("disable")
			w.want(totpswitch.StateAwaitingPassword, false)
			c.reach(w)
			w.want(c.state, false)
			w.send(bot.Event{Kind: bot.KindBlocked})
			w.want(totpswitch.StateBlocked, true)
			if w.method() != portal.MethodSMS {
				t.Fatalf("method %q, want sms", w.method())
			}
		})
	}
}

// TestWalkLocks: too many wrong answers lock the account at the SMS code,
// the password asked again and the app's code; with SMS 2FA off the lock
// passes through restoring.
func TestWalkLocks(t *testing.T) {
	wrongPassword := func(w *walker, i int) { w.text("wrong-password-" + strconv.Itoa(i)) }
	wrongAppCode := func(w *walker, i int) { w.text(wrongCode(w.env.TOTPCode(w.t, w.key(), 0))) }
	for _, c := range []struct {
		order string
		at    bot.State
		wrong func(w *walker, i int)
	}{
		{totpswitch.OrderEnrollThenSwitch, totpswitch.StateAwaitingSMSCode, func(w *walker, i int) {
			if i == 3 { // a challenge takes 3 codes; the core locks at the 5th failure
				w.press("resend")
			}
			w.text(wrongCode(w.env.LastSMSCode(w.t)))
		}},
		{totpswitch.OrderEnrollThenSwitch, totpswitch.StateAwaitingReauth, wrongPassword},
		{totpswitch.OrderDisableThenEnroll, totpswitch.StateAwaitingReauth, wrongPassword},
		{totpswitch.OrderEnrollThenSwitch, totpswitch.StateAwaitingTOTPCode, wrongAppCode},
		{totpswitch.OrderDisableThenEnroll, totpswitch.StateAwaitingTOTPCode, wrongAppCode},
	} {
		t.Run(c.order+"/"+string(c.at), func(t *testing.T) {
			w := newWalker(t, walkOptions{order: c.order})
			w.to(c.at)
			for i := 0; i < 20 && !w.session().Done; i++ {
				c.wrong(w, i)
			}
			w.want(totpswitch.StateLocked, true)
			if w.method() != portal.MethodSMS {
				t.Fatalf("method %q, want sms", w.method())
			}
		})
	}
}

// TestWalkLapsedGrantAtTheSMSStep: a code typed or a new code asked for
// after the grant lapsed sends the user back to the password.
func TestWalkLapsedGrantAtTheSMSStep(t *testing.T) {
	for _, resend := range []bool{false, true} {
		t.Run(strconv.FormatBool(resend), func(t *testing.T) {
			w := newWalker(t, walkOptions{})
			w.to(totpswitch.StateAwaitingSMSCode)
			code := w.env.LastSMSCode(t)
			w.env.Clock.Advance(11 * time.Minute)
			if resend {
				w.press("resend")
			} else {
				w.text(code)
			}
			w.want(totpswitch.StateAwaitingPassword, false)
		})
	}
}

// TestWalkCoreAnswersAtTheAppStep: the core's rarer answers to beginning
// and confirming the enrollment: the grant refused (back to the password
// while SMS is on, else the password again), the account already on
// TOTP (changed elsewhere), the enrollment void with the grant lapsed.
func TestWalkCoreAnswersAtTheAppStep(t *testing.T) {
	for _, c := range []struct {
		name  string
		order string
		op    string
		err   error
		lapse bool
		want  bot.State
		done  bool
	}{
		{"begin-expired-sms-on", totpswitch.OrderEnrollThenSwitch, "begin", portal.ErrExpired, false, totpswitch.StateAwaitingPassword, false},
		{"begin-expired-sms-off", totpswitch.OrderDisableThenEnroll, "begin", portal.ErrExpired, false, totpswitch.StateAwaitingReauth, false},
		{"begin-already-totp", totpswitch.OrderEnrollThenSwitch, "begin", portal.ErrWrongState, false, totpswitch.StateAlreadyTOTP, true},
		{"confirm-already-totp", totpswitch.OrderEnrollThenSwitch, "confirm", portal.ErrWrongState, false, totpswitch.StateAlreadyTOTP, true},
		{"confirm-void-grant-lapsed", totpswitch.OrderEnrollThenSwitch, "confirm", portal.ErrExpired, true, totpswitch.StateAwaitingReauth, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWalker(t, walkOptions{order: c.order})
			w.to(totpswitch.StateChooseMethod)
			w.core.FailNext(c.op, c.err)
			w.press("app")
			if c.op == "confirm" {
				w.want(totpswitch.StateAwaitingTOTPCode, false)
				if c.lapse {
					w.env.Clock.Advance(11 * time.Minute)
				}
				w.text(w.env.TOTPCode(t, w.key(), 0))
			}
			w.want(c.want, c.done)
		})
	}
}

// TestWalkResumeFromOfferSetup: the reminder's "Resume setup" at step 3
// goes straight to the QR code while the grant is fresh, and asks the
// password again once it lapsed.
func TestWalkResumeFromOfferSetup(t *testing.T) {
	for _, c := range []struct {
		wait time.Duration
		want bot.State
	}{
		{time.Minute, totpswitch.StateAwaitingTOTPCode},
		{11 * time.Minute, totpswitch.StateAwaitingReauth},
	} {
		t.Run(c.wait.String(), func(t *testing.T) {
			w := newWalker(t, walkOptions{order: totpswitch.OrderDisableThenEnroll, reminder: 30 * time.Second})
			w.to(totpswitch.StateOfferSetup)
			w.env.Clock.Advance(c.wait)
			w.sweep(1) // the reminder, with "Resume setup"
			w.press("resume")
			w.want(c.want, false)
		})
	}
}
