package newphone_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
)

// The tests in this file take the edges of the transition table the other
// tests of the package do not: the endings (cancelled, blocked, expired)
// of every step, the transient states a crash at their checkpoint leaves,
// and the core's rarer answers. Every change is checked strictly and
// recorded for TestMain's edge walk.

// faultCore makes the next call of an operation fail with a chosen error
// (once), passing every other call to the real core.
type faultCore struct {
	newphone.Core
	testkit.Faults
}

func (c *faultCore) ElevateWithTOTP(ctx context.Context, grant, code string) (portal.Grant, error) {
	if err := c.Take("current"); err != nil {
		return portal.Grant{}, err
	}
	return c.Core.ElevateWithTOTP(ctx, grant, code)
}

func (c *faultCore) ElevateWithRecoveryCode(ctx context.Context, grant, code, key string) (portal.RecoveryElevation, error) {
	if err := c.Take("recovery"); err != nil {
		return portal.RecoveryElevation{}, err
	}
	return c.Core.ElevateWithRecoveryCode(ctx, grant, code, key)
}

func (c *faultCore) BeginTOTPReplacement(ctx context.Context, grant, key string) (portal.Enrollment, error) {
	if err := c.Take("begin"); err != nil {
		return portal.Enrollment{}, err
	}
	return c.Core.BeginTOTPReplacement(ctx, grant, key)
}

func (c *faultCore) ConfirmTOTPReplacement(ctx context.Context, id, code, key string) error {
	if err := c.Take("confirm"); err != nil {
		return err
	}
	return c.Core.ConfirmTOTPReplacement(ctx, id, code, key)
}

// walk is one conversation on an env whose core can fail on purpose and
// whose engine can "crash" (a panic) at the next checkpoint, which leaves
// the session stored in the transient state that checkpointed.
type walk struct {
	*chat
	core  *faultCore
	acc   account
	crash testkit.Crash
}

func newWalk(t *testing.T, recoveryCodes int) *walk {
	w := &walk{core: &faultCore{}}
	e := newEnv(t, envOptions{wrap: func(c newphone.Core) newphone.Core { w.core.Core = c; return w.core }, hook: w.crash.Hook})
	w.acc = e.totpAccount("walk@example.com", recoveryCodes)
	w.chat = e.chat()
	return w
}

// crashSend sends ev with a crash armed at its first checkpoint and wants
// the turn to die there with the session left in state.
func (w *walk) crashSend(ev bot.Event, state bot.State) {
	t := w.e.t
	t.Helper()
	w.crash.Arm()
	w.Upd++
	ev.Conversation, ev.UserID, ev.UpdateID = w.Conv, "u100", strconv.Itoa(w.Upd)
	err := w.e.engine.Handle(context.Background(), ev)
	w.Last, w.Seen = w.e.rec.Since(w.Seen)
	w.All = append(w.All, w.Last...)
	if !w.crash.Fired() || !errors.Is(err, bot.ErrPanic) {
		t.Fatalf("Handle %v: %v, want the crash at a checkpoint", ev.Kind, err)
	}
	w.wantState(state, false)
}

// button returns the press of the newest button with action.
func (w *walk) button(action string) bot.Event {
	w.e.t.Helper()
	if ev, ok := testkit.NewestButton(w.All, action); ok {
		return ev
	}
	w.e.t.Fatalf("no button %q offered; replies %v", action, ids(w.All))
	return bot.Event{}
}

func (w *walk) sweep(n int) {
	w.e.t.Helper()
	got, err := w.e.engine.Sweep(context.Background(), 10)
	if err != nil || got != n {
		w.e.t.Fatalf("sweep handled %d, %v; want %d", got, err, n)
	}
	w.Last, w.Seen = w.e.rec.Since(w.Seen)
	w.All = append(w.All, w.Last...)
}

// newQR is the secret of the newest QR code.
func (w *walk) newQR() string {
	w.e.t.Helper()
	for i := len(w.All) - 1; i >= 0; i-- {
		if len(w.All[i].Image) > 0 {
			return w.e.keyFromQR(w.All[i].Image).Secret()
		}
	}
	w.e.t.Fatalf("no QR code; replies %v", ids(w.All))
	return ""
}

// to walks the conversation to state: the steps of the current app's
// path, or of the lost phone's (awaiting_recovery_code and after, which
// need recovery codes; no_recovery_codes, which needs none).
func (w *walk) to(state bot.State) {
	t := w.e.t
	t.Helper()
	type step struct {
		state bot.State
		do    func()
	}
	path := []step{
		{newphone.StateAwaitingEmail, func() { w.cmd("newphone") }},
		{newphone.StateAwaitingPassword, func() { w.text(w.acc.email) }},
		{newphone.StateChooseProof, func() { w.text(w.acc.password) }},
	}
	switch state {
	case newphone.StateAwaitingCurrentCode, newphone.StateAwaitingNewCode:
		path = append(path, step{newphone.StateAwaitingCurrentCode, func() { w.press("have_old") }},
			step{newphone.StateAwaitingNewCode, func() { w.text(w.e.codeOf(w.acc.secret, 0)) }})
	case newphone.StateNoRecoveryCodes:
		path = append(path, step{newphone.StateNoRecoveryCodes, func() { w.press("lost_old") }})
	case newphone.StateAwaitingRecoveryCode, newphone.StateShowingRecoveryCodes:
		path = append(path, step{newphone.StateAwaitingRecoveryCode, func() { w.press("lost_old") }},
			step{newphone.StateShowingRecoveryCodes, func() { w.text(w.acc.codes[0]) }})
	}
	for _, p := range path {
		p.do()
		w.wantState(p.state, false)
		if p.state == state {
			return
		}
	}
	t.Fatalf("no path to %q", state)
}

// stable are the states a conversation waits in, with the recovery codes
// the account needs to reach each.
var stable = []struct {
	state bot.State
	codes int
}{
	{newphone.StateAwaitingEmail, 0},
	{newphone.StateAwaitingPassword, 0},
	{newphone.StateChooseProof, 0},
	{newphone.StateNoRecoveryCodes, 0},
	{newphone.StateAwaitingCurrentCode, 0},
	{newphone.StateAwaitingRecoveryCode, 2},
	{newphone.StateShowingRecoveryCodes, 2},
	{newphone.StateAwaitingNewCode, 0},
}

// walkEndings end a conversation, each in its terminal state.
var walkEndings = []struct {
	name  string
	state bot.State
	do    func(w *walk)
}{
	{"cancel", newphone.StateCancelled, func(w *walk) { w.cmd("cancel") }},
	{"blocked", newphone.StateBlocked, func(w *walk) { w.send(bot.Event{Kind: bot.KindBlocked}) }},
	{"expired", newphone.StateExpired, func(w *walk) {
		w.e.clock.Advance(20*time.Minute + time.Second)
		w.sweep(1)
	}},
}

// TestWalkEndingsOfEveryStep: /cancel, the user blocking the bot and the
// idle expiry end every step; the old app keeps working.
func TestWalkEndingsOfEveryStep(t *testing.T) {
	for _, s := range stable {
		for _, end := range walkEndings {
			t.Run(string(s.state)+"/"+end.name, func(t *testing.T) {
				w := newWalk(t, s.codes)
				w.to(s.state)
				end.do(w)
				w.wantState(end.state, true)
				w.e.clock.Advance(30 * time.Second) // a time step no code was used in
				if err := w.e.proves(w.acc.email, w.e.codeOf(w.acc.secret, 0)); err != nil {
					t.Fatalf("old app after %s: %v", end.name, err)
				}
			})
		}
	}
}

// TestWalkTransientStatesAfterACrash: a crash at the checkpoint of a
// transient state leaves the session in it; the user blocking the bot or
// the idle expiry ends it from there, and a wake-up of a replacement
// whose code was lost asks for the code again as a new step.
func TestWalkTransientStatesAfterACrash(t *testing.T) {
	cases := []struct {
		state bot.State
		codes int
		reach func(w *walk)
	}{
		{newphone.StateVerifyingRecovery, 2, func(w *walk) {
			w.to(newphone.StateAwaitingRecoveryCode)
			w.crashSend(bot.Event{Kind: bot.KindText, Text: w.acc.codes[0], MessageID: "m1"}, newphone.StateVerifyingRecovery)
		}},
		{newphone.StateEnrolling, 0, func(w *walk) {
			w.to(newphone.StateAwaitingCurrentCode)
			w.crashSend(bot.Event{Kind: bot.KindText, Text: w.e.codeOf(w.acc.secret, 0), MessageID: "m1"}, newphone.StateEnrolling)
		}},
		{newphone.StateReplacing, 0, func(w *walk) {
			w.to(newphone.StateAwaitingNewCode)
			w.crashSend(bot.Event{Kind: bot.KindText, Text: w.e.codeOf(w.newQR(), 0), MessageID: "m1"}, newphone.StateReplacing)
		}},
	}
	for _, c := range cases {
		for _, end := range walkEndings[1:] { // /cancel waits for a transient step
			t.Run(string(c.state)+"/"+end.name, func(t *testing.T) {
				w := newWalk(t, c.codes)
				c.reach(w)
				end.do(w)
				w.wantState(end.state, true)
			})
		}
	}
	t.Run("replacing/code-lost", func(t *testing.T) {
		w := newWalk(t, 0)
		cases[2].reach(w)
		step := w.session().Step
		w.e.clock.Advance(11 * time.Second) // past the redelivery grace
		w.sweep(1)
		w.wantState(newphone.StateAwaitingNewCode, false)
		if s := w.session(); s.Step != step+1 || s.Expect != bot.SecretTOTPCode {
			t.Fatalf("step %d expect %q, want step %d asking the code", s.Step, s.Expect, step+1)
		}
	})
}

// TestWalkOtherEmailAndPasswordLock: "Use another e-mail" goes back to
// the address; too many wrong passwords end locked.
func TestWalkOtherEmailAndPasswordLock(t *testing.T) {
	w := newWalk(t, 0)
	w.to(newphone.StateAwaitingPassword)
	w.press("other_email")
	w.wantState(newphone.StateAwaitingEmail, false)
	w.text(w.acc.email)
	for i := 0; i < 10 && !w.session().Done; i++ {
		w.text("wrong-password-" + strconv.Itoa(i))
	}
	w.wantState(newphone.StateLocked, true)
}

// TestWalkLapsedGrant: a code typed after the grant lapsed sends the user
// back to the password, at the current app's code, the recovery code and
// the new app's code (whose QR code is void by then).
func TestWalkLapsedGrant(t *testing.T) {
	for _, c := range []struct {
		state bot.State
		codes int
		code  func(w *walk) string
	}{
		{newphone.StateAwaitingCurrentCode, 0, func(w *walk) string { return w.e.codeOf(w.acc.secret, 0) }},
		{newphone.StateAwaitingRecoveryCode, 2, func(w *walk) string { return w.acc.codes[0] }},
		{newphone.StateAwaitingNewCode, 0, func(w *walk) string { return w.e.codeOf(w.newQR(), 0) }},
	} {
		t.Run(string(c.state), func(t *testing.T) {
			w := newWalk(t, c.codes)
			w.to(c.state)
			code := c.code(w)
			w.e.clock.Advance(11 * time.Minute)
			if c.state == newphone.StateAwaitingNewCode {
				w.core.FailNext("confirm", portal.ErrExpired)
			}
			w.text(code)
			w.wantState(newphone.StateAwaitingPassword, false)
		})
	}
}

// TestWalkCoreAnswers: the core's rarer answers: the account no longer
// on TOTP (changed elsewhere) at every call, the grant refused when the
// replacement begins, a lock at the new app's code.
func TestWalkCoreAnswers(t *testing.T) {
	for _, c := range []struct {
		name  string
		at    bot.State
		codes int
		op    string
		err   error
		want  bot.State
		done  bool
	}{
		{"current-not-totp", newphone.StateAwaitingCurrentCode, 0, "current", portal.ErrWrongState, newphone.StateNotTOTP, true},
		{"recovery-not-totp", newphone.StateAwaitingRecoveryCode, 2, "recovery", portal.ErrWrongState, newphone.StateNotTOTP, true},
		{"recovery-grant-refused", newphone.StateAwaitingRecoveryCode, 2, "recovery", portal.ErrBadGrant, newphone.StateAwaitingPassword, false},
		{"begin-not-totp", newphone.StateAwaitingCurrentCode, 0, "begin", portal.ErrWrongState, newphone.StateNotTOTP, true},
		{"begin-grant-refused", newphone.StateAwaitingCurrentCode, 0, "begin", portal.ErrExpired, newphone.StateAwaitingPassword, false},
		{"confirm-not-totp", newphone.StateAwaitingNewCode, 0, "confirm", portal.ErrWrongState, newphone.StateNotTOTP, true},
		{"confirm-locked", newphone.StateAwaitingNewCode, 0, "confirm", &portal.LockedError{RetryAfter: time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)}, newphone.StateLocked, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWalk(t, c.codes)
			w.to(c.at)
			w.core.FailNext(c.op, c.err)
			switch c.at {
			case newphone.StateAwaitingCurrentCode:
				w.text(w.e.codeOf(w.acc.secret, 0))
			case newphone.StateAwaitingRecoveryCode:
				w.text(w.acc.codes[0])
			case newphone.StateAwaitingNewCode:
				w.text(w.e.codeOf(w.newQR(), 0))
			}
			w.wantState(c.want, c.done)
		})
	}
}
