package newphone_test

import (
	"strings"
	"testing"

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
