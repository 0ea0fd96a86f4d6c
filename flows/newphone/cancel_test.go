package newphone_test

import (
	"testing"

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
