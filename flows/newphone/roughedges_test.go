package newphone_test

import (
	"context"
	"strings"
	"testing"
	"time"

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
