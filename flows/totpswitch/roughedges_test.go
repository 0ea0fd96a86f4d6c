package totpswitch_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pquerna/otp"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
)

// TestVoidQRCodeRenewed: a QR code the core voided for another reason
// than wrong codes (here cancelled behind the flow's back) is answered
// with a new one at once (verifying -> enrolling): the old entry is to be
// deleted, and the new QR code activates the app.
func TestVoidQRCodeRenewed(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	c := newChat(t, env)
	first := toCodeStep(t, env, c, "vera@example.com")
	var d struct {
		EnrollmentID string `json:"enrollment_id"`
	}
	if err := json.Unmarshal(c.session().Data, &d); err != nil || d.EnrollmentID == "" {
		t.Fatalf("no enrollment in the session data: %v", err)
	}
	if err := env.Core.CancelTOTPEnrollment(context.Background(), d.EnrollmentID); err != nil {
		t.Fatal(err)
	}
	r := c.text(env.TOTPCode(t, first, 0))
	wantIDs(t, r, "delete:engine.delete_user_secret", "delete:qr", "delete:key", "totp.enrollment_void",
		"totp.qr_caption", "totp.manual_key", "totp.ask_totp")
	c.wantState(totpswitch.StateAwaitingTOTPCode)
	second := env.KeyFromQR(t, r[4].Image)
	if second.Secret() == first.Secret() {
		t.Fatal("the new QR code has the old secret")
	}
	env.Clock.Advance(30e9)
	wantIDs(t, c.text(env.TOTPCode(t, second, 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "totp.activated")
	if st := env.Core.Stats(); st.Activations != 1 {
		t.Fatalf("stats %+v, want one activation", st)
	}
}

// TestButtonLabelTypedAtCodePrompt (issue 14 F7): a button's label typed
// at the SMS and authenticator code prompts is answered label_typed with
// the step's buttons: not sent to the core (no failure counted), state,
// step and pending QR code unchanged; the right code then goes on.
func TestButtonLabelTypedAtCodePrompt(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	c := newChat(t, env)
	pw := env.AddAccount(t, "lia@example.com", portal.MethodSMS)
	c.start()
	c.text("lia@example.com")
	c.text(pw)
	c.wantState(totpswitch.StateAwaitingSMSCode)
	for _, l := range []string{"Send a new code", "start over", "Talk to a person"} {
		r := c.text(l)
		wantIDs(t, r, "delete:engine.delete_user_secret", "engine.label_typed")
		if got := strings.Join(testkit.ButtonActions(r[1]), ","); got != "resend,cancel" {
			t.Fatalf("buttons %s at the SMS step, want resend,cancel", got)
		}
	}
	c.wantState(totpswitch.StateAwaitingSMSCode)
	c.text(env.LastSMSCode(t))
	c.press("disable")
	c.press("setup")
	var key *otp.Key
	for _, r := range c.press("app") {
		if r.Image != nil {
			key = env.KeyFromQR(t, r.Image)
		}
	}
	before := c.session()
	for _, l := range []string{"Show the QR code again", "Start", "Continue where I left off", "Verify"} {
		r := c.text(l)
		wantIDs(t, r, "delete:engine.delete_user_secret", "engine.label_typed")
		if got := strings.Join(testkit.ButtonActions(r[1]), ","); got != "verify,show_qr,cancel" {
			t.Fatalf("buttons %s at the code step, want verify,show_qr,cancel", got)
		}
	}
	s := c.session()
	if s.State != totpswitch.StateAwaitingTOTPCode || s.Step != before.Step || s.Expect != bot.SecretTOTPCode || s.Messages["qr"] != before.Messages["qr"] {
		t.Fatalf("after labels: state %q step %d expect %q, want unchanged", s.State, s.Step, s.Expect)
	}
	a, err := env.Core.LookupAccount(context.Background(), "lia@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := env.Core.Restrictions(context.Background(), a.ID); err != nil || res.Failures != 0 || res.Consecutive["totp"] != 0 || res.Consecutive["sms"] != 0 {
		t.Fatalf("restrictions %+v (%v), want no failure counted", res, err)
	}
	env.Clock.Advance(30e9)
	wantIDs(t, c.text(env.TOTPCode(t, key, 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "totp.activated")
}

// TestEveryButtonLabelTypedAtSMSPrompt: the label of every button in the
// catalog — each totp.button.* and engine.button.* id, rendered in the
// chat's language (English and Malay) — typed at the SMS code prompt is
// answered label_typed and changes nothing; none is taken for a code.
func TestEveryButtonLabelTypedAtSMSPrompt(t *testing.T) {
	for _, locale := range []string{"en", "ms"} {
		t.Run(locale, func(t *testing.T) {
			env := testkit.New(t, testkit.Options{})
			c := newChat(t, env)
			pw := env.AddAccount(t, "lia@example.com", portal.MethodSMS)
			c.send(bot.Event{Kind: bot.KindStart, Locale: locale})
			c.text("lia@example.com")
			c.text(pw)
			c.wantState(totpswitch.StateAwaitingSMSCode)
			ids := append(env.Engine.Catalog().IDs("totp.button."), env.Engine.Catalog().IDs(bot.EngineButtonPrefix)...)
			if len(ids) < 15 {
				t.Fatalf("%d button ids in the catalog, want the flow's and the engine's (15 or more): %v", len(ids), ids)
			}
			for _, id := range ids {
				label := env.Engine.Text(locale, c.Conv.Channel, id, nil)
				wantIDs(t, c.text(label), "delete:engine.delete_user_secret", "engine.label_typed")
			}
			c.wantState(totpswitch.StateAwaitingSMSCode)
			c.text(env.LastSMSCode(t))
			c.wantState(totpswitch.StateConfirmDisable)
		})
	}
}
