package newphone_test

import (
	"strings"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
)

// TestCancelTextByState: a cancel before the password proved the account
// (at the e-mail and the password question, also for an unknown or an
// SMS-only account) gets the neutral newphone.cancelled_unchanged; once
// the account is known to use an authenticator app, newphone.cancelled.
func TestCancelTextByState(t *testing.T) {
	const sms = "sue@example.com"
	for _, tc := range []struct {
		name  string
		to    func(e *env, c *chat)
		state string
		want  string
	}{
		{"awaiting_email", func(e *env, c *chat) { c.cmd("newphone") }, string(newphone.StateAwaitingEmail), "newphone.cancelled_unchanged"},
		{"awaiting_password_sms", func(e *env, c *chat) { c.cmd("newphone"); c.text(sms) }, string(newphone.StateAwaitingPassword), "newphone.cancelled_unchanged"},
		{"awaiting_password_unknown", func(e *env, c *chat) { c.cmd("newphone"); c.text("nobody@example.com") }, string(newphone.StateAwaitingPassword), "newphone.cancelled_unchanged"},
		{"choose_proof", func(e *env, c *chat) { c.toChooseProof(e.totpAccount("cal@example.com", 0)) }, string(newphone.StateChooseProof), "newphone.cancelled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			if tc.name == "awaiting_password_sms" {
				e.mu.Lock()
				e.observeMethods = false // the SMS-only account is the point
				e.mu.Unlock()
				if _, err := e.core.AddAccount(t.Context(), embeddedAccount(sms, "pw-sue-Secret-123!")); err != nil {
					t.Fatal(err)
				}
			}
			c := e.chat()
			tc.to(e, c)
			if got := c.session().State; string(got) != tc.state {
				t.Fatalf("state %q, want %q", got, tc.state)
			}
			wantIDs(t, c.cmd("cancel"), tc.want)
			c.wantState(newphone.StateCancelled, true)
		})
	}
}

// TestRecoveryCodesStepAfterSpentCode: once a recovery code was spent and
// the set replaced, the step shown again (resume after a restart, other
// input) says the codes were shown once, with the "saved" button and no
// codes, and a cancel says the set was replaced — never "nothing was
// changed".
func TestRecoveryCodesStepAfterSpentCode(t *testing.T) {
	e := newEnv(t, envOptions{})
	acc := e.totpAccount("rita@example.com", 3)
	c := e.chat()
	c.toChooseProof(acc)
	c.press("lost_old")
	r := c.text(acc.codes[0])
	wantIDs(t, r, "delete:engine.delete_user_secret", "newphone.recovery_codes")
	e.secret(recoveryCodes(r[1].Text)...)
	c.wantState(newphone.StateShowingRecoveryCodes, false)

	r = c.Send(bot.Event{Kind: bot.KindResume})
	wantIDs(t, r, "newphone.codes_shown_once")
	if len(r[0].Buttons) != 2 || !strings.HasPrefix(r[0].Buttons[0].Data, "saved|") || r[0].Sensitive {
		t.Fatalf("resumed step: buttons %+v sensitive %v, want saved and cancel, not sensitive", r[0].Buttons, r[0].Sensitive)
	}
	wantIDs(t, c.text("what now?"), "newphone.codes_shown_once")
	c.wantState(newphone.StateShowingRecoveryCodes, false)
	wantIDs(t, c.cmd("cancel"), "delete:recovery", "newphone.cancelled_codes_replaced")
	c.wantState(newphone.StateCancelled, true)
}
