package totpswitch_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
)

// accountID is the portal id of email's account.
func accountID(t *testing.T, env *testkit.Env, email string) string {
	t.Helper()
	a, err := env.Core.LookupAccount(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func TestFullWidthEmailIsNormalised(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	pw := env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	c := newChat(t, env)
	c.start()
	wantIDs(t, c.text("ａｌｉｃｅ＠ＥＸＡＭＰＬＥ．ｃｏｍ"), "totp.ask_password")
	if got, want := c.session().Tags["account"], accountID(t, env, "alice@example.com"); got != want {
		t.Fatalf("account tag %q, want %q", got, want)
	}
	wantIDs(t, c.text(pw), "delete:engine.delete_user_secret", "totp.sms_sent")
}

func TestOverlongEmailChangesNothing(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	c := newChat(t, env)
	c.start()
	for _, in := range []string{
		strings.Repeat("a", 65) + "@example.com", // local part over 64 octets
		"alice@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + "." + strings.Repeat("e", 60) + ".com", // over 254
		"ali\u200bce@example.com",
	} {
		wantIDs(t, c.text(in), "totp.bad_email")
		s := c.session()
		if s.State != totpswitch.StateAwaitingEmail || s.Tags["account"] != "" {
			t.Fatalf("after %.20q: state %q tags %v", in, s.State, s.Tags)
		}
	}
	if st := env.Core.Stats(); st.SMSSent != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// toCodeStep makes an SMS account email on env and runs c to the code
// step (QR code shown); it returns the key of the QR code.
func toCodeStep(t *testing.T, env *testkit.Env, c *chat, email string) *otp.Key {
	t.Helper()
	pw := env.AddAccount(t, email, portal.MethodSMS)
	c.start()
	c.text(email)
	c.text(pw)
	c.text(env.LastSMSCode(t))
	c.press("disable")
	c.press("setup")
	for _, r := range c.press("app") {
		if r.Image != nil {
			c.wantState(totpswitch.StateAwaitingTOTPCode)
			return env.KeyFromQR(t, r.Image)
		}
	}
	t.Fatalf("no QR code; replies %v", ids(c.Last))
	return nil
}

// TestReusedCodeAfterVerifyIsDeleted: the verified code typed again at the
// next step is deleted and answered as already used; nothing changes and
// the core is not asked (the step's button still works).
func TestReusedCodeAfterVerifyIsDeleted(t *testing.T) {
	for _, recovery := range []int{0, 10} {
		env := testkit.New(t, testkit.Options{RecoveryCodes: recovery})
		c := newChat(t, env)
		key := toCodeStep(t, env, c, "alice@example.com")
		code := env.TOTPCode(t, key, 0)
		c.text(code)
		c.wantState(totpswitch.StateActivated)
		states := []bot.State{totpswitch.StateActivated}
		if recovery > 0 {
			states = append(states, totpswitch.StateRecoveryCodes)
		}
		for i, st := range states {
			if i > 0 {
				c.press("okay")
			}
			before := c.session()
			msgID := "u" + strconv.Itoa(c.Upd+1)
			r := c.text(" " + code[:3] + " " + code[3:])
			wantIDs(t, r, "delete:engine.delete_user_secret", "totp.code_used")
			if r[0].MessageID != msgID {
				t.Fatalf("deleted message %q, want the typed one %q", r[0].MessageID, msgID)
			}
			after := c.session()
			if after.State != st || after.Step != before.Step || after.Done {
				t.Fatalf("state %q step %d done %v, want %q step %d", after.State, after.Step, after.Done, st, before.Step)
			}
			// Where the bot cannot delete, it says so differently and
			// deletes nothing.
			r = c.send(bot.Event{Kind: bot.KindText, Text: code, MessageID: "x", Undeletable: true})
			wantIDs(t, r, "totp.code_used_kept")
		}
		if recovery > 0 {
			c.press("saved")
		} else {
			c.press("okay")
		}
		c.wantState(totpswitch.StateDone)
		if m := method(t, env, "alice@example.com"); m != portal.MethodTOTP {
			t.Fatalf("method %q", m)
		}
	}
}

// TestOtherTextAfterVerifyStillPointsToButtons: text that is not a code
// keeps the old answer.
func TestOtherTextAfterVerifyStillPointsToButtons(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	c := newChat(t, env)
	key := toCodeStep(t, env, c, "alice@example.com")
	c.text(env.TOTPCode(t, key, 0))
	r := c.text("thanks")
	if len(r) == 0 || r[0].ID != "totp.use_buttons" {
		t.Fatalf("replies %v", ids(r))
	}
}

// TestShowQRAgainKeepsTheSecret: "Show the QR code again" deletes the QR
// and key messages and sends them again, protected, with the same secret,
// so the entry already scanned verifies; the state and step stay.
func TestShowQRAgainKeepsTheSecret(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	c := newChat(t, env)
	key := toCodeStep(t, env, c, "alice@example.com")
	before := c.session()
	oldQR := before.Messages["qr"]
	r := c.press("show_qr")
	wantIDs(t, r, "delete:qr", "delete:key", "totp.qr_caption", "totp.manual_key", "totp.ask_totp")
	if !r[2].Protected || !r[2].Sensitive || r[2].Ref != "qr" || !r[3].Protected || !r[3].Sensitive || r[3].Ref != "key" {
		t.Fatalf("QR/key sent again unprotected: %+v %+v", r[2].LogValue(), r[3].LogValue())
	}
	if r[4].Secret != bot.SecretTOTPCode {
		t.Fatal("the prompt after the QR code is not a secret prompt")
	}
	again := env.KeyFromQR(t, r[2].Image)
	if again.Secret() != key.Secret() || !strings.Contains(r[3].Text, key.Secret()[:4]) {
		t.Fatal("the QR code shown again has another secret")
	}
	after := c.session()
	if after.State != totpswitch.StateAwaitingTOTPCode || after.Step != before.Step || after.Messages["qr"] == oldQR || after.Messages["qr"] == "" {
		t.Fatalf("state %q step %d (was %d), qr message %q (was %q)", after.State, after.Step, before.Step, after.Messages["qr"], oldQR)
	}
	wantIDs(t, c.text(env.TOTPCode(t, key, 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "totp.activated")
	if st := env.Core.Stats(); st.Activations != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestShowQRAgainAfterTheEnrollmentExpired ends the flow as the expiry
// timer does, SMS 2FA still on.
func TestShowQRAgainAfterTheEnrollmentExpired(t *testing.T) {
	env := testkit.New(t, testkit.Options{Order: totpswitch.OrderEnrollThenSwitch})
	c := newChat(t, env)
	toCodeStep(t, env, c, "alice@example.com")
	env.Clock.Advance(11 * time.Minute)
	r := c.press("show_qr")
	if got := ids(r); !slices.Contains(got, "totp.enrollment_expired") || slices.Contains(got, "totp.qr_caption") {
		t.Fatalf("replies %v", got)
	}
	if s := c.session(); s.State != totpswitch.StateExpired || !s.Done {
		t.Fatalf("state %q done %v", s.State, s.Done)
	}
	if m := method(t, env, "alice@example.com"); m != portal.MethodSMS {
		t.Fatalf("method %q", m)
	}
}

// TestClockDriftHint: a code 4 steps ahead (the phone's clock 2 minutes
// fast) is not accepted, costs a try and gets the clock hint; a far one
// the plain answer; then the current code works.
func TestClockDriftHint(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	c := newChat(t, env)
	key := toCodeStep(t, env, c, "alice@example.com")
	r := c.text(env.TOTPCode(t, key, 4))
	wantIDs(t, r, "delete:engine.delete_user_secret", "totp.clock_drift")
	if !strings.Contains(r[1].Text, "4 tries") || r[1].Secret != bot.SecretTOTPCode {
		t.Fatalf("clock hint %q (secret %q): want 4 tries left and the code prompt", r[1].Text, r[1].Secret)
	}
	c.wantState(totpswitch.StateAwaitingTOTPCode)
	if m := method(t, env, "alice@example.com"); m == portal.MethodTOTP {
		t.Fatal("a drifted code was accepted")
	}
	wantIDs(t, c.text(env.TOTPCode(t, key, -40)), "delete:engine.delete_user_secret", "totp.bad_totp_code")
	wantIDs(t, c.text(env.TOTPCode(t, key, 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "totp.activated")
}

// TestStartInTheMiddleAsksFirst: /start, /2fa at the code step ask
// "Continue" or "Start over" and change nothing; Continue shows the code
// step again (the QR code of the same secret sent again, issue 14 F8)
// and the scanned QR code still verifies.
func TestStartInTheMiddleAsksFirst(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	c := newChat(t, env)
	key := toCodeStep(t, env, c, "alice@example.com")
	before := c.session()
	for i, ask := range []func() []bot.Reply{c.start, func() []bot.Reply { return c.cmd("2fa") }} {
		r := ask()
		if i == 0 {
			wantIDs(t, r, "engine.start_again")
		} else {
			// Asked again: the first question's message goes (issue 14 F6).
			wantIDs(t, r, "delete:start_again", "engine.start_again")
			r = r[1:]
		}
		if got := testkit.ButtonActions(r[0]); !slices.Equal(got, []string{"_continue", "_start_over"}) {
			t.Fatalf("start-again buttons %v", got)
		}
	}
	s := c.session()
	if s.ID != before.ID || s.State != before.State || s.Step != before.Step || s.Messages["qr"] != before.Messages["qr"] || s.PendingStart == nil {
		t.Fatalf("the question changed the session: %s/%q/%d → %s/%q/%d", before.ID, before.State, before.Step, s.ID, s.State, s.Step)
	}
	wantQRShownAgain(t, c, c.press("_continue"), key.Secret(), before)
	if s := c.session(); s.ID != before.ID || s.State != totpswitch.StateAwaitingTOTPCode || s.PendingStart != nil {
		t.Fatalf("after Continue: %s/%q pending %v", s.ID, s.State, s.PendingStart)
	}
	// A Start over pressed after Continue is stale: Continue closed the
	// question, so the press gets the stale-button answer and restarts
	// nothing (issue 14 F6).
	wantIDs(t, c.press("_start_over"), "engine.stale_button")
	if s := c.session(); s.ID != before.ID || s.State != totpswitch.StateAwaitingTOTPCode || s.PendingStart != nil {
		t.Fatalf("after a stale Start over: %s/%q pending %v", s.ID, s.State, s.PendingStart)
	}
	wantActivatedDeletesQR(t, c, env.TOTPCode(t, key, 0))
}

// TestStartOverReleasesAndRestarts: in the disable-then-enroll order,
// Start over at the code step voids the enrollment, restores SMS 2FA
// (as /cancel does), tells to delete the old entry and starts afresh.
func TestStartOverReleasesAndRestarts(t *testing.T) {
	env := testkit.New(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll})
	c := newChat(t, env)
	old := toCodeStep(t, env, c, "alice@example.com")
	if m := method(t, env, "alice@example.com"); m != portal.MethodNone {
		t.Fatalf("method at the code step %q", m)
	}
	first := c.session()
	var d struct {
		EnrollmentID string `json:"enrollment_id"`
	}
	if err := json.Unmarshal(first.Data, &d); err != nil || d.EnrollmentID == "" {
		t.Fatalf("no enrollment in the session data: %v", err)
	}
	wantIDs(t, c.start(), "engine.start_again")
	wantIDs(t, c.press("_start_over"), "delete:qr", "delete:key", "totp.restored", "totp.restarting_qr", "totp.welcome", "totp.ask_email")
	if m := method(t, env, "alice@example.com"); m != portal.MethodSMS {
		t.Fatalf("method after Start over %q, want sms", m)
	}
	if st := env.Core.Stats(); st.Restores != 1 {
		t.Fatalf("stats %+v", st)
	}
	s := c.session()
	if s.ID == first.ID || s.State != totpswitch.StateAwaitingEmail || s.Done {
		t.Fatalf("after Start over: session %s state %q done %v", s.ID, s.State, s.Done)
	}
	// The old QR code's enrollment is void: its code no longer confirms.
	if st, err := env.Core.EnrollmentState(context.Background(), d.EnrollmentID); err != nil || st != portal.EnrollmentVoid {
		t.Fatalf("old enrollment %q, %v; want void", st, err)
	}
	if err := env.Core.ConfirmTOTPEnrollment(context.Background(), d.EnrollmentID, env.TOTPCode(t, old, 0), "x"); !errors.Is(err, portal.ErrExpired) {
		t.Fatalf("old QR code's code after Start over: %v, want expired", err)
	}
}
