package totpswitch

import (
	"context"
	"errors"
	"strings"

	"guidedfix/bot"
	"guidedfix/internal/portal"
)

// verify confirms the enrollment with code (KB step 9, "Verify"); an empty
// code resumes an interrupted confirmation.
func (f *Flow) verify(ctx context.Context, t *turn, code bot.Secret) error {
	if err := t.Checkpoint(ctx); err != nil {
		return err
	}
	err := f.core.ConfirmTOTPEnrollment(ctx, t.d.EnrollmentID, code.Reveal(), t.Key("confirm:"+t.d.EnrollmentID))
	var bad *portal.BadCodeError
	var locked *portal.LockedError
	switch {
	case errors.As(err, &locked):
		// Authenticator codes count per account and source (issue 11
		// item 4): a new QR code gives no new tries. This includes the
		// 5th wrong code that voided the QR code and throttled the source
		// (*portal.ExhaustedError, issue 14 F3): no new QR code is offered.
		t.Delete("qr")
		t.Delete("key")
		f.lockedEnd(ctx, t, locked)
		return nil
	case err == nil:
		t.d.Activated = true
		t.Delete("qr")
		t.Delete("key")
		t.Goto(StateActivated)
		t.say(msgActivated, nil, t.Button(msgButtonOkay, "okay"))
		return nil
	case errors.Is(err, portal.ErrCodeFormat):
		t.SetState(StateAwaitingTOTPCode)
		if code == "" {
			// A wake-up resumed a confirmation that never reached the
			// core, and the update that carried the code was not delivered
			// again: ask for the code again, as a new step.
			t.Goto(StateAwaitingTOTPCode)
			t.ask(bot.SecretTOTPCode, msgAskTotp, map[string]any{"Issuer": f.issuer}, f.codeButtons(t)...)
		} else {
			t.ask(bot.SecretTOTPCode, msgCodeFormat, nil, f.codeButtons(t)...)
		}
		return nil
	case errors.Is(err, portal.ErrClockDrift) && errors.As(err, &bad):
		f.clockDrift(t, bad)
		return nil
	case errors.As(err, &bad):
		t.SetState(StateAwaitingTOTPCode)
		t.Tag(bot.TagLastError, "wrong authenticator code")
		t.ask(bot.SecretTOTPCode, msgBadTotpCode, map[string]any{"Count": bad.AttemptsLeft}, f.codeButtons(t)...)
		return nil
	case errors.Is(err, portal.ErrCodeReplayed):
		t.SetState(StateAwaitingTOTPCode)
		t.ask(bot.SecretTOTPCode, msgCodeReplayed, nil, f.codeButtons(t)...)
		return nil
	case errors.Is(err, portal.ErrExpired), errors.Is(err, portal.ErrNotFound):
		// The enrollment is void: start the QR step again with a new one.
		t.Delete("qr")
		t.Delete("key")
		t.d.EnrollmentID = ""
		t.d.EnrollRound++
		t.say(msgEnrollmentVoid, nil)
		return f.enrollOrReauth(ctx, t)
	case errors.Is(err, portal.ErrWrongState):
		t.Delete("qr")
		t.Delete("key")
		t.End(StateAlreadyTOTP)
		t.say(msgAlreadyTotp, nil)
		return nil
	default:
		return err
	}
}

// recoveryCodes issues the recovery codes (persist, then call) and sends
// them in a protected message that is deleted once the user has saved them.
func (f *Flow) recoveryCodes(ctx context.Context, t *turn) error {
	if err := t.Checkpoint(ctx); err != nil {
		return err
	}
	codes, err := f.core.IssueRecoveryCodes(ctx, t.d.EnrollmentID, f.recovery)
	if err != nil {
		return err
	}
	t.Delete("recovery")
	t.Send(bot.Reply{ID: msgRecoveryCodes, Text: t.T(msgRecoveryCodes, t.withSteps(map[string]any{"Codes": strings.Join(codes, "\n")})),
		Protected: true, Sensitive: true, Ref: "recovery", Buttons: []bot.Button{t.Button(msgButtonSaved, "saved")}})
	return nil
}
