package totpswitch

import (
	"context"
	"errors"
	"fmt"

	"guidedfix/bot"
	"guidedfix/internal/portal"
)

// enrollOrReauth starts the enrollment with the current grant, or asks the
// password again (KB step 8) when the grant has expired.
func (f *Flow) enrollOrReauth(ctx context.Context, t *turn) error {
	if !t.grantValid() {
		t.Goto(StateAwaitingReauth)
		t.ask(bot.SecretPassword, msgReauth, nil, t.cancelButton())
		return nil
	}
	t.Goto(StateEnrolling)
	return f.enroll(ctx, t)
}

// enroll begins (or, resuming, fetches again under the same key) the
// pending TOTP enrollment and sends the QR code and the manual key.
func (f *Flow) enroll(ctx context.Context, t *turn) error {
	if t.d.EnrollRound == 0 {
		t.d.EnrollRound = 1
	}
	if err := t.Checkpoint(ctx); err != nil {
		return err
	}
	en, err := f.core.BeginTOTPEnrollment(ctx, t.d.Grant, t.Key(fmt.Sprintf("enroll:%d", t.d.EnrollRound)))
	switch {
	case errors.Is(err, portal.ErrNeedElevation) && t.d.StartMethod == portal.MethodNone:
		// This conversation found the account without a second factor,
		// but the core says it lost it to a switch still under way in
		// another conversation: a password alone must not set up the app
		// now, and asking it again would not change that.
		f.end(ctx, t, StateFailed, msgSwitchInProgress, nil)
		return nil
	case errors.Is(err, portal.ErrExpired), errors.Is(err, portal.ErrBadGrant), errors.Is(err, portal.ErrNeedElevation):
		if t.d.StartMethod == portal.MethodSMS && !t.d.Disabled {
			f.reverify(t)
			return nil
		}
		t.Goto(StateAwaitingReauth)
		t.ask(bot.SecretPassword, msgReauth, nil, t.cancelButton())
		return nil
	case errors.Is(err, portal.ErrWrongState):
		t.End(StateAlreadyTOTP)
		t.say(msgAlreadyTotp, nil)
		return nil
	case err != nil:
		return err
	}
	q, err := qrReply(t, en)
	if err != nil {
		return err
	}
	t.d.EnrollmentID = en.ID
	t.d.EnrollExpiry = en.ExpiresAt
	t.d.Label = en.Label
	t.Goto(StateAwaitingTOTPCode)
	f.sendQR(t, en, q)
	return nil
}
