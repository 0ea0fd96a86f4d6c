package totpswitch

import (
	"context"
	"errors"
	"fmt"

	"guidedfix/bot"
	"guidedfix/internal/portal"
)

// sendSMS sends (or, resuming, re-sends under the same key) the SMS
// challenge for the current factor.
func (f *Flow) sendSMS(ctx context.Context, t *turn) error {
	if err := t.Checkpoint(ctx); err != nil {
		return err
	}
	ch, err := f.core.SendSMSChallenge(ctx, t.d.Grant, t.Key(fmt.Sprintf("sms:%d", t.d.SMSRound)))
	var locked *portal.LockedError
	switch {
	case errors.As(err, &locked) && locked.SMSLimit && t.d.ChallengeID != "" && !t.d.ChallengeDead:
		// "Send a new code" once too often: the code already sent still
		// counts, so the conversation waits for it instead of ending.
		t.Goto(StateAwaitingSMSCode)
		// The code prompt's buttons stay where they were ("Send a new
		// code" first: pressed again it is refused the same way and sends
		// nothing), so a habitual "1" never turns into Cancel.
		t.ask(bot.SecretSMSCode, msgSmsLimitKeep, map[string]any{"Until": locked.RetryAfter.UTC().Format("15:04 UTC")},
			t.Button(msgButtonResend, "resend"), t.cancelButton())
		return nil
	case errors.As(err, &locked):
		f.lockedEnd(ctx, t, locked)
		return nil
	case errors.Is(err, portal.ErrExpired), errors.Is(err, portal.ErrBadGrant):
		f.reverify(t)
		return nil
	case err != nil:
		return err
	}
	t.d.ChallengeID, t.d.ChallengeDead = ch.ID, false
	t.Goto(StateAwaitingSMSCode)
	t.ask(bot.SecretSMSCode, msgSmsSent, map[string]any{"Phone": ch.MaskedPhone},
		t.Button(msgButtonResend, "resend"), t.cancelButton())
	return nil
}

func (f *Flow) smsCode(ctx context.Context, t *turn, code bot.Secret) error {
	g, err := f.core.VerifySMSChallenge(ctx, t.d.Grant, t.d.ChallengeID, code.Reveal())
	var bad *portal.BadCodeError
	var locked *portal.LockedError
	switch {
	case errors.As(err, &locked):
		f.lockedEnd(ctx, t, locked)
		return nil
	case errors.Is(err, portal.ErrCodeFormat):
		t.ask(bot.SecretSMSCode, msgCodeFormat, nil, t.Button(msgButtonResend, "resend"), t.cancelButton())
		return nil
	case errors.As(err, &bad):
		t.Tag(bot.TagLastError, "wrong SMS code")
		t.ask(bot.SecretSMSCode, msgBadSmsCode, map[string]any{"Count": bad.AttemptsLeft},
			t.Button(msgButtonResend, "resend"), t.cancelButton())
		return nil
	case errors.Is(err, portal.ErrBadGrant):
		f.reverify(t)
		return nil
	case errors.Is(err, portal.ErrExpired):
		t.d.ChallengeDead = true
		if !t.grantValid() {
			f.reverify(t)
			return nil
		}
		t.Goto(StateAwaitingSMSCode)
		t.ask(bot.SecretSMSCode, msgSmsExpired, nil, t.Button(msgButtonResend, "resend"), t.cancelButton())
		return nil
	case err != nil:
		return err
	}
	f.setGrant(t, g)
	t.Tag(bot.TagVerified, "password and SMS code")
	t.Goto(StateConfirmDisable)
	t.say(f.confirmDisableMsg(), nil, t.Button(msgButtonDisable, "disable"), t.cancelButton())
	return nil
}
