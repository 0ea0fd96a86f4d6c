package totpswitch_test

import (
	"context"
	"encoding/json"
	"testing"

	"guidedfix/flows/totpswitch"
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
