package totpswitch_test

import (
	"context"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/testkit"
)

// The tests in this file prove issue "never without a second factor":
// whatever the customer does after "Disable 2FA", and whenever the process
// restarts, the account ends with SMS 2FA or a verified authenticator app.

// abandonStep drives a fresh SMS account to a step after "Disable 2FA".
type abandonStep struct {
	name  string
	drive func(t *testing.T, c *chat, pw string)
	state bot.State
}

var abandonSteps = []abandonStep{
	{"offer_setup", func(t *testing.T, c *chat, pw string) {}, totpswitch.StateOfferSetup},
	{"choose_method", func(t *testing.T, c *chat, pw string) { c.press("setup") }, totpswitch.StateChooseMethod},
	{"awaiting_reauth", func(t *testing.T, c *chat, pw string) {
		c.press("setup")
		c.env.Clock.Advance(11 * time.Minute) // the grant lapses
		c.press("app")
	}, totpswitch.StateAwaitingReauth},
	{"awaiting_totp_code", func(t *testing.T, c *chat, pw string) {
		c.env.Clock.Advance(time.Minute)
		c.press("setup")
		c.press("app")
	}, totpswitch.StateAwaitingTOTPCode},
}

// abandonment is how the customer walks away.
type abandonment struct {
	name string
	// act abandons; it returns after the deadlines that matter have run.
	act func(t *testing.T, c *chat)
	// reminded says whether the 10-minute reminder is due before the end.
	reminded bool
}

// sweepAt moves the clock to at and runs the engine's deadlines.
func sweepAt(t *testing.T, c *chat, at time.Time) {
	t.Helper()
	c.env.Clock.Set(at)
	if _, err := c.env.Engine.Sweep(context.Background(), 100); err != nil {
		t.Fatal(err)
	}
}

// silence lets every deadline pass minute by minute for 40 minutes.
func silence(t *testing.T, c *chat) {
	t.Helper()
	for i := 0; i < 40; i++ {
		sweepAt(t, c, c.env.Clock.Now().Add(time.Minute))
	}
}

var abandonments = []abandonment{
	{"silence", silence, true},
	{"cancel", func(t *testing.T, c *chat) { c.cmd("cancel"); silence(t, c) }, false},
	{"cancel_button", func(t *testing.T, c *chat) { c.press("cancel"); silence(t, c) }, false},
	{"restart_command", func(t *testing.T, c *chat) { c.start(); c.press("_start_over"); silence(t, c) }, false},
	{"blocked_bot", func(t *testing.T, c *chat) { c.rec.SetBlocked(true); silence(t, c) }, false},
	{"process_restart", func(t *testing.T, c *chat) {
		c.env.Restart(t)
		c.env.Engine.Register(c.conv.Channel, c.rec)
		silence(t, c)
	}, true},
}

func TestAbandonAfterDisableRestoresSMSOnce(t *testing.T) {
	for _, step := range abandonSteps {
		for _, ab := range abandonments {
			t.Run(step.name+"/"+ab.name, func(t *testing.T) {
				env := testkit.New(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll})
				pw := env.AddAccount(t, "pat@example.com", portal.MethodSMS)
				c := newChat(t, env)
				toConfirmDisable(t, c, "pat@example.com", pw)
				c.press("disable")
				if m := method(t, env, "pat@example.com"); m != portal.MethodNone {
					t.Fatalf("method after Disable 2FA %q", m)
				}
				step.drive(t, c, pw)
				c.wantState(step.state)
				ab.act(t, c)

				if m := method(t, env, "pat@example.com"); m != portal.MethodSMS {
					t.Fatalf("method at the end %q, want sms", m)
				}
				if st := env.Core.Stats(); st.Restores > 1 {
					t.Fatalf("restored %d times", st.Restores)
				}
				var restoreMails int
				for _, m := range env.Mails(t) {
					if strings.Contains(m.Subject, "restored") {
						restoreMails++
					}
				}
				if restoreMails != 1 {
					t.Fatalf("%d restore e-mails, want 1", restoreMails)
				}
				all := c.rec.Replies
				reminders, restored := count(all, "totp.reminder"), count(all, "totp.restored")
				wantReminders := 0
				if ab.reminded {
					wantReminders = 1
				}
				if reminders != wantReminders {
					t.Fatalf("%d reminders, want %d; replies %v", reminders, wantReminders, ids(all))
				}
				wantRestored := 1
				if ab.name == "blocked_bot" {
					wantRestored = 0 // the user cannot be told
				}
				if restored != wantRestored {
					t.Fatalf("chat said restored %d times, want %d; replies %v", restored, wantRestored, ids(all))
				}
				if due, _ := env.Store.Due(context.Background(), env.Clock.Now().Add(24*time.Hour), 10); ab.name != "restart_command" && len(due) != 0 {
					t.Fatalf("sessions still pending: %v", due)
				}
			})
		}
	}
}

func count(rs []bot.Reply, id string) int {
	n := 0
	for _, r := range rs {
		if r.ID == id {
			n++
		}
	}
	return n
}

func TestReminderResumesAtQRStep(t *testing.T) {
	env, c, pw := atConfirmDisable(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll}, "quinn@example.com")
	c.press("disable")
	c.press("setup")
	sweepAt(t, c, env.Clock.Now().Add(10*time.Minute))
	r, _ := c.rec.Since(c.Seen)
	c.Seen += len(r)
	c.All = append(c.All, r...)
	wantIDs(t, r, "totp.reminder")
	// The 10-minute grant has lapsed: Resume asks the password (step 4),
	// then shows the QR code.
	wantIDs(t, c.press("resume"), "totp.reauth")
	got := c.text(pw)
	wantIDs(t, got, "delete:engine.delete_user_secret", "totp.qr_caption", "totp.manual_key", "totp.ask_totp")
	got = got[1:]
	key := env.KeyFromQR(t, got[0].Image)
	wantIDs(t, c.text(env.TOTPCode(t, key, 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "totp.activated")
	silence(t, c)
	if m := method(t, env, "quinn@example.com"); m != portal.MethodTOTP {
		t.Fatalf("method %q", m)
	}
	if st := env.Core.Stats(); st.Restores != 0 {
		t.Fatalf("restored after activation: %+v", st)
	}
}

// TestRestoreRetriedUntilCoreAnswers shows a restore that fails (the core
// is closed, as if unreachable) keeps the session and retries after a
// restart until it succeeds.
func TestRestoreRetriedAfterFailure(t *testing.T) {
	env, c, _ := atConfirmDisable(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll}, "ray@example.com")
	c.press("disable")
	// The core becomes unreachable: the cancel cannot restore yet.
	if err := env.Core.Close(); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, c.cmd("cancel"), "totp.restore_pending")
	c.wantState(totpswitch.StateRestoring)
	if c.session().Done || c.session().WakeAt.IsZero() {
		t.Fatalf("session done=%v wake=%v", c.session().Done, c.session().WakeAt)
	}
	env.Store.Close()
	env.Restart(t)
	env.Engine.Register(c.conv.Channel, c.rec)
	sweepAt(t, c, env.Clock.Now().Add(time.Minute))
	r, _ := c.rec.Since(c.Seen)
	wantIDs(t, r, "totp.restored", "totp.cancelled")
	if m := method(t, env, "ray@example.com"); m != portal.MethodSMS {
		t.Fatalf("method %q", m)
	}
}

// TestSafeSwapNeverWithoutFactor runs the enroll-then-switch order and
// checks after every step that the account has SMS or TOTP.
func TestSafeSwapNeverWithoutFactor(t *testing.T) {
	env := testkit.New(t, testkit.Options{Order: totpswitch.OrderEnrollThenSwitch})
	pw := env.AddAccount(t, "sam@example.com", portal.MethodSMS)
	c := newChat(t, env)
	check := func(want portal.Method) {
		t.Helper()
		if m := method(t, env, "sam@example.com"); m != want {
			t.Fatalf("method %q, want %q", m, want)
		}
	}
	wantIDs(t, c.start(), "totp.welcome", "totp.ask_email")
	check(portal.MethodSMS)
	c.text("sam@example.com")
	check(portal.MethodSMS)
	c.text(pw)
	check(portal.MethodSMS)
	r := c.text(env.LastSMSCode(t))
	wantIDs(t, r, "delete:engine.delete_user_secret", "totp.confirm_swap")
	if !strings.Contains(r[1].Text, "stay active until your authenticator app is verified") || strings.Contains(r[1].Text, "turned off first") {
		t.Fatalf("step 2 in enroll-then-switch says %q", r[1].Text)
	}
	check(portal.MethodSMS)
	wantIDs(t, c.press("disable"), "totp.swap_kept", "totp.offer_setup")
	check(portal.MethodSMS)
	c.press("setup")
	check(portal.MethodSMS)
	r = c.press("app")
	wantIDs(t, r, "totp.qr_caption", "totp.manual_key", "totp.ask_totp")
	check(portal.MethodSMS)
	key := env.KeyFromQR(t, r[0].Image)
	c.text(wrongCode(env.TOTPCode(t, key, 0)))
	check(portal.MethodSMS)
	wantIDs(t, c.text(env.TOTPCode(t, key, 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "totp.activated")
	check(portal.MethodTOTP)
	st := env.Core.Stats()
	if st.Disables != 0 || st.AlertsSent != 0 || st.Activations != 1 || st.ConfirmationsSent != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSafeSwapAbandonChangesNothing(t *testing.T) {
	for _, ab := range abandonments {
		t.Run(ab.name, func(t *testing.T) {
			env := testkit.New(t, testkit.Options{Order: totpswitch.OrderEnrollThenSwitch})
			pw := env.AddAccount(t, "tia@example.com", portal.MethodSMS)
			c := newChat(t, env)
			toConfirmDisable(t, c, "tia@example.com", pw)
			c.press("disable")
			c.press("setup")
			c.press("app")
			ab.act(t, c)
			if m := method(t, env, "tia@example.com"); m != portal.MethodSMS {
				t.Fatalf("method %q", m)
			}
			st := env.Core.Stats()
			if st.Disables != 0 || st.Restores != 0 || st.Activations != 0 || len(env.Mails(t)) != 0 {
				t.Fatalf("abandoned safe swap changed something: %+v, %d mails", st, len(env.Mails(t)))
			}
			if slices.Contains(ids(c.rec.Replies), "totp.reminder") {
				t.Fatal("reminder sent although SMS 2FA never went off")
			}
		})
	}
}

var recoveryCode = regexp.MustCompile(`[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}`)

func TestRecoveryCodesStep(t *testing.T) {
	env := testkit.New(t, testkit.Options{RecoveryCodes: 6})
	pw := env.AddAccount(t, "uma@example.com", portal.MethodNone)
	c := newChat(t, env)
	c.start()
	c.text("uma@example.com")
	c.text(pw)
	c.press("setup")
	r := c.press("app")
	if !strings.Contains(r[0].Text, "Step 4 of 6") {
		t.Fatalf("QR caption %q: the flow gains one step", r[0].Text)
	}
	key := env.KeyFromQR(t, r[0].Image)
	c.text(env.TOTPCode(t, key, 0))
	r = c.press("okay")
	wantIDs(t, r, "totp.recovery_codes")
	if !r[0].Protected || !r[0].Sensitive || r[0].Ref != "recovery" {
		t.Fatalf("recovery codes message not protected: %+v", r[0].LogValue())
	}
	codes := recoveryCode.FindAllString(r[0].Text, -1)
	if len(codes) != 6 {
		t.Fatalf("%d codes in %q", len(codes), r[0].Text)
	}
	env.AddSecret(codes...)
	wantIDs(t, c.press("saved"), "delete:recovery", "totp.done")
	acc, err := env.Core.LookupAccount(context.Background(), "uma@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for i, code := range codes {
		if err := env.Core.VerifyRecoveryCode(context.Background(), acc.ID, code); err != nil {
			t.Fatalf("code %d: %v", i, err)
		}
	}
	if err := env.Core.VerifyRecoveryCode(context.Background(), acc.ID, codes[0]); err == nil {
		t.Fatal("a recovery code worked twice")
	}
	if _, ok := c.session().Messages["recovery"]; ok {
		t.Fatal("the recovery codes message is still tracked as present")
	}
}

// TestPasswordAloneCannotBindDuringOpenSwitch: while the holder's switch
// has SMS off, someone with only the password, in another chat, can
// neither void the holder's QR code nor bind an authenticator app; the
// holder finishes with their own app.
func TestPasswordAloneCannotBindDuringOpenSwitch(t *testing.T) {
	env := testkit.New(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll})
	pw := env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	holder := newChat(t, env)
	toConfirmDisable(t, holder, "alice@example.com", pw)
	holder.press("disable")
	holder.press("setup")
	r := holder.press("app")
	wantIDs(t, r, "totp.qr_caption", "totp.manual_key", "totp.ask_totp")
	key := env.KeyFromQR(t, r[0].Image)

	attacker := newChat(t, env)
	attacker.start()
	attacker.text("alice@example.com")
	wantIDs(t, attacker.text(pw), "delete:engine.delete_user_secret", "totp.not_active", "totp.offer_setup")
	attacker.press("setup")
	wantIDs(t, attacker.press("app"), "totp.switch_in_progress")
	attacker.wantState(totpswitch.StateFailed)
	if m := method(t, env, "alice@example.com"); m != portal.MethodNone {
		t.Fatalf("method %q after the refused setup, want none (the holder's switch goes on)", m)
	}

	wantIDs(t, holder.text(env.TOTPCode(t, key, 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "totp.activated")
	if m := method(t, env, "alice@example.com"); m != portal.MethodTOTP {
		t.Fatalf("final method %q", m)
	}
	if st := env.Core.Stats(); st.Activations != 1 || st.Disables != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestReauthWithVoidedGrantEnds: when the grant of the switch is gone (an
// administrator reset the account meanwhile), the "password again" step
// cannot carry the earlier SMS proof over: the change ends, nothing is
// enrolled.
func TestReauthWithVoidedGrantEnds(t *testing.T) {
	env, c, pw := atConfirmDisable(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll}, "gil@example.com")
	c.press("disable")
	c.press("setup")
	env.Clock.Advance(11 * time.Minute)
	wantIDs(t, c.press("app"), "totp.reauth")
	if _, err := env.Core.ResetAccount(context.Background(), embedded.NewAccount{
		Email: "gil@example.com", Name: "Gil", Phone: "+60123456789", Method: portal.MethodSMS, Password: pw,
	}); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, c.text(pw), "delete:engine.delete_user_secret", "totp.reauth_expired")
	c.wantState(totpswitch.StateExpired)
	if st := env.Core.Stats(); st.Activations != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestUnservedChannelStillRestores: a switch abandoned on a channel that no
// adapter serves any more (Slack turned off, the console while serve
// runs) still expires and gets SMS 2FA back; its undeliverable replies are
// dropped, so the session leaves the sweep.
func TestUnservedChannelStillRestores(t *testing.T) {
	env, c, _ := atConfirmDisable(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll}, "una2@example.com")
	c.press("disable")
	if m := method(t, env, "una2@example.com"); m != portal.MethodNone {
		t.Fatalf("method %q", m)
	}
	// Another process on the same store, without the chat's adapter.
	eng, err := bot.New(bot.Options{Store: env.Store, Flows: []bot.Flow{totpswitch.New(totpswitch.Options{Core: env.Core, Order: env.Options().Order})},
		Now: env.Clock.Now, Logger: slog.New(slog.DiscardHandler), States: testkit.StateCheck(t)})
	if err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(21 * time.Minute)
	if n, err := eng.Sweep(context.Background(), 100); err != nil || n != 1 {
		t.Fatalf("sweep handled %d, %v; want 1", n, err)
	}
	if m := method(t, env, "una2@example.com"); m != portal.MethodSMS {
		t.Fatalf("method %q after the expiry, want sms again", m)
	}
	s, err := eng.Session(context.Background(), c.conv)
	if err != nil || !s.Done || len(s.Outbox) != 0 {
		t.Fatalf("session %+v, %v: want done with nothing left to deliver", s, err)
	}
	if n, err := eng.Sweep(context.Background(), 100); err != nil || n != 0 {
		t.Fatalf("second sweep handled %d, %v; want 0", n, err)
	}
}
