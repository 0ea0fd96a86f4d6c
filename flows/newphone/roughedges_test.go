package newphone_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
	"guidedfix/internal/testkit"
)

// TestNoRecoveryCodesWithoutSupport (issue 14 F2): without a support
// channel no "Talk to a person" button is offered, so the reply is the
// text that names none; with one, the text that names it (the button
// then follows Cancel). Either way the old phone can still be used.
func TestNoRecoveryCodesWithoutSupport(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    envOptions
		id      string
		actions string
	}{
		{"no support", envOptions{}, "newphone.no_recovery_codes_alone", "have_old,cancel"},
		{"support", envOptions{support: &escalations{}}, "newphone.no_recovery_codes", "have_old,cancel,_human"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			acc := e.totpAccount("carol@example.com", 0)
			c := e.chat()
			c.toChooseProof(acc)
			r := c.press("lost_old")
			wantIDs(t, r, tc.id)
			if got := strings.Join(testkit.ButtonActions(r[0]), ","); got != tc.actions {
				t.Fatalf("buttons %s, want %s", got, tc.actions)
			}
			c.wantState(newphone.StateNoRecoveryCodes, false)
			// Shown again (text typed instead of a button), the same text.
			wantIDs(t, c.text("hello"), "newphone.use_buttons", tc.id)
			c.wantState(newphone.StateNoRecoveryCodes, false)
		})
	}
}

// TestVoidQRCodeRenewed: a QR code the core voided for another reason
// than wrong codes (here cancelled behind the flow's back) is answered
// with a new one at once while the grant lasts: the old entry is to be
// deleted, and the new QR code moves the app.
func TestVoidQRCodeRenewed(t *testing.T) {
	e := newEnv(t, envOptions{})
	acc := e.totpAccount("erin@example.com", 0)
	c := e.chat()
	c.toChooseProof(acc)
	key := c.toNewCode(acc)
	if err := e.core.CancelTOTPEnrollment(context.Background(), pendingID(t, c)); err != nil {
		t.Fatal(err)
	}
	r := c.text(e.codeOf(key.Secret(), 0))
	wantIDs(t, r, "delete:engine.delete_user_secret", "delete:qr", "delete:key", "newphone.enrollment_void",
		"newphone.qr_caption", "newphone.manual_key", "newphone.ask_new_code")
	c.wantState(newphone.StateAwaitingNewCode, false)
	key2 := e.keyFromQR(r[4].Image)
	if key2.Secret() == key.Secret() {
		t.Fatal("the new QR code repeats the void one's secret")
	}
	e.clock.Advance(30 * time.Second)
	wantIDs(t, c.text(e.codeOf(key2.Secret(), 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "newphone.done")
}

// TestOldCodeAgainAtNewCode (issue 14 F5): the old app's code that proved
// the factor, typed again for the new app, is deleted, answered as
// already used and not sent to the core (no failure counted, the state
// and the pending replacement unchanged); the session data holds no code;
// the new app's code then moves the app.
func TestOldCodeAgainAtNewCode(t *testing.T) {
	e := newEnv(t, envOptions{})
	acc := e.totpAccount("fay@example.com", 0)
	c := e.chat()
	c.toChooseProof(acc)
	c.press("have_old")
	old := e.codeOf(acc.secret, 0)
	r := c.text(old)
	key := e.keyFromQR(r[1].Image)
	before := c.session()
	for range 2 {
		wantIDs(t, c.text(old), "delete:engine.delete_user_secret", "newphone.old_code_used")
		// Spaced, it is the same code.
		wantIDs(t, c.text(old[:3]+" "+old[3:]), "delete:engine.delete_user_secret", "newphone.old_code_used")
	}
	s := c.session()
	if s.State != newphone.StateAwaitingNewCode || s.Step != before.Step || s.Expect != bot.SecretTOTPCode || s.Messages["qr"] != before.Messages["qr"] {
		t.Fatalf("after the old code: state %q step %d expect %q; want %q step %d expecting a code, same QR message",
			s.State, s.Step, s.Expect, newphone.StateAwaitingNewCode, before.Step)
	}
	if strings.Contains(string(s.Data), old) {
		t.Fatal("the session data holds the old code")
	}
	res, err := e.core.Restrictions(context.Background(), e.accountID(acc.email))
	if err != nil || res.Consecutive["totp"] != 0 || res.Failures != 0 {
		t.Fatalf("restrictions %+v (%v), want no failure counted", res, err)
	}
	// A wrong code still counts (the check is only for this one code).
	wantIDs(t, c.text(wrongOf(old)), "delete:engine.delete_user_secret", "newphone.bad_new_code")
	if res, _ := e.core.Restrictions(context.Background(), e.accountID(acc.email)); res.Consecutive["totp"] != 1 {
		t.Fatalf("consecutive totp failures %d after a wrong code, want 1", res.Consecutive["totp"])
	}
	e.clock.Advance(30 * time.Second)
	wantIDs(t, c.text(e.codeOf(key.Secret(), 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "newphone.done")
	if d := c.session().Data; strings.Contains(string(d), "used_code") {
		t.Fatalf("a finished session keeps the code's MAC: %s", d)
	}
}

// wrongOf is code with its last digit changed.
func wrongOf(code string) string {
	return code[:5] + string(rune('0'+(code[5]-'0'+5)%10))
}

// TestButtonLabelTypedAtCodePrompt (issue 14 F7): a button's label — the
// flow's ("Start", "Show the QR code again") or the engine's ("Continue
// where I left off") — typed at the current-app and new-app code prompts,
// in the chat's language, is answered label_typed: not sent to the core
// (no failure counted), state, step and pending QR code unchanged. The
// same label in another language than the chat's is an ordinary wrong
// code format.
func TestButtonLabelTypedAtCodePrompt(t *testing.T) {
	for _, tc := range []struct {
		locale string
		labels []string
		other  string // a label of the other language
	}{
		{"", []string{"Start", "  show the QR code again ", "\"Continue where I left off\""}, "Mula"},
		{"ms", []string{"Mula", "teruskan dari langkah terakhir"}, "Start"},
	} {
		t.Run("locale="+tc.locale, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			acc := e.totpAccount("gia@example.com", 0)
			c := e.chat()
			wantIDs(t, c.send(bot.Event{Kind: bot.KindCommand, Command: "newphone", Locale: tc.locale}), "newphone.welcome", "newphone.ask_email")
			c.text(acc.email)
			wantIDs(t, c.text(acc.password), "delete:engine.delete_user_secret", "newphone.choose_proof")
			c.press("have_old")
			for _, l := range tc.labels {
				wantIDs(t, c.text(l), "delete:engine.delete_user_secret", "engine.label_typed")
			}
			c.wantState(newphone.StateAwaitingCurrentCode, false)
			r := c.text(e.codeOf(acc.secret, 0))
			key := e.keyFromQR(r[1].Image)
			before := c.session()
			for _, l := range tc.labels {
				r := c.text(l)
				wantIDs(t, r, "delete:engine.delete_user_secret", "engine.label_typed")
				if got := strings.Join(testkit.ButtonActions(r[1]), ","); got != "verify,show_qr,cancel" {
					t.Fatalf("buttons %s, want the code step's", got)
				}
			}
			s := c.session()
			if s.State != newphone.StateAwaitingNewCode || s.Step != before.Step || s.Expect != bot.SecretTOTPCode || s.Messages["qr"] != before.Messages["qr"] {
				t.Fatalf("after labels: state %q step %d expect %q, want unchanged", s.State, s.Step, s.Expect)
			}
			if res, err := e.core.Restrictions(context.Background(), e.accountID(acc.email)); err != nil || res.Consecutive["totp"] != 0 || res.Failures != 0 {
				t.Fatalf("restrictions %+v (%v), want no failure counted", res, err)
			}
			wantIDs(t, c.text(tc.other), "delete:engine.delete_user_secret", "newphone.code_format")
			e.clock.Advance(30 * time.Second)
			wantIDs(t, c.text(e.codeOf(key.Secret(), 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "newphone.done")
		})
	}
}

// TestEveryButtonLabelTypedAtCurrentCodePrompt: the label of every
// newphone.button.* and engine.button.* id in the catalog, in English and
// Malay, typed at the current app's code prompt is answered label_typed,
// counts no failure and leaves the step waiting for the code.
func TestEveryButtonLabelTypedAtCurrentCodePrompt(t *testing.T) {
	for _, locale := range []string{"en", "ms"} {
		t.Run(locale, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			acc := e.totpAccount("gia@example.com", 0)
			c := e.chat()
			c.send(bot.Event{Kind: bot.KindCommand, Command: "newphone", Locale: locale})
			c.text(acc.email)
			c.text(acc.password)
			c.press("have_old")
			cat := e.engine.Catalog()
			ids := append(cat.IDs("newphone.button."), cat.IDs(bot.EngineButtonPrefix)...)
			if len(ids) < 11 {
				t.Fatalf("%d button ids, want newphone's and the engine's (11 or more): %v", len(ids), ids)
			}
			for _, id := range ids {
				wantIDs(t, c.text(e.engine.Text(locale, "test", id, nil)), "delete:engine.delete_user_secret", "engine.label_typed")
			}
			c.wantState(newphone.StateAwaitingCurrentCode, false)
			if res, err := e.core.Restrictions(context.Background(), e.accountID(acc.email)); err != nil || res.Failures != 0 {
				t.Fatalf("restrictions %+v (%v), want no failure counted", res, err)
			}
		})
	}
}
