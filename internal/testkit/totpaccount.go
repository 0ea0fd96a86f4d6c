package testkit

import (
	"context"
	"testing"
	"time"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portaltest"
)

// AddTOTPAccount creates an account with email on SMS 2FA (AddAccount) and
// moves it to an authenticator app through the core (password, SMS code,
// enrollment, RFC 6238 code), as the SMS-to-app flow would; the clock
// then moves one 30-second time step on. It returns the password and the
// TOTP secret (base32), both registered as secrets; it fails t on any
// error.
func (e *Env) AddTOTPAccount(t *testing.T, email string) (password, secret string) {
	t.Helper()
	ctx := context.Background()
	pw := e.AddAccount(t, email, portal.MethodSMS)
	acc, err := e.Core.LookupAccount(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	g, err := e.Core.VerifyPassword(ctx, acc.ID, pw)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := e.Core.SendSMSChallenge(ctx, g.Token, "testkit-sms-"+email)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Core.VerifySMSChallenge(ctx, g.Token, ch.ID, e.LastSMSCode(t)); err != nil {
		t.Fatal(err)
	}
	en, err := e.Core.BeginTOTPEnrollment(ctx, g.Token, "testkit-begin-"+email)
	if err != nil {
		t.Fatal(err)
	}
	e.AddSecret(en.Secret)
	if err := e.Core.ConfirmTOTPEnrollment(ctx, en.ID, portaltest.Code(t, en.Secret, e.Clock.Now()), "testkit-confirm-"+email); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(30 * time.Second)
	return pw, en.Secret
}
