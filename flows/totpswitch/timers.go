package totpswitch

import (
	"context"
	"time"

	"guidedfix/bot"
)

// timer handles a KindTimer wake-up outside transient states: the reminder
// after SMS 2FA was disabled, and the restore when the pending enrollment
// expired unverified.
func (f *Flow) timer(ctx context.Context, t *turn) error {
	if !t.d.needsRestore() {
		return nil
	}
	if !t.d.EnrollExpiry.IsZero() && !t.Now.Before(t.d.EnrollExpiry) && t.Session.State == StateAwaitingTOTPCode {
		f.end(ctx, t, StateExpired, msgEnrollmentExpired, nil)
		return nil
	}
	if !t.d.ReminderSent && !t.Now.Before(t.d.DisabledAt.Add(f.reminder)) {
		t.d.ReminderSent = true
		// The step's own buttons stay at hand beside "Resume setup".
		t.say(msgReminder, nil, append([]bot.Button{t.Button(msgButtonResume, "resume")}, f.stepButtons(t)...)...)
	}
	return nil
}

// schedule sets the session's next wake-up: the reminder and the end of
// the pending enrollment, while SMS 2FA is off and no app is verified.
func (f *Flow) schedule(t *turn) {
	if t.Session.Done || t.Session.State == StateRestoring || !t.d.needsRestore() {
		return
	}
	var next time.Time
	if !t.d.ReminderSent {
		next = t.d.DisabledAt.Add(f.reminder)
	}
	if t.Session.State == StateAwaitingTOTPCode && !t.d.EnrollExpiry.IsZero() && (next.IsZero() || t.d.EnrollExpiry.Before(next)) {
		next = t.d.EnrollExpiry
	}
	if !next.IsZero() {
		t.WakeAt(next)
	}
}

// resume answers the reminder's button: it takes the user back to the QR
// step (a new QR code if the earlier one is gone).
func (f *Flow) resume(ctx context.Context, t *turn) error {
	switch t.Session.State {
	case StateOfferSetup, StateChooseMethod:
		return f.enrollOrReauth(ctx, t)
	case StateAwaitingTOTPCode:
		t.ask(bot.SecretTOTPCode, msgAskTotp, map[string]any{"Issuer": f.issuer}, f.codeButtons(t)...)
	default:
		f.help(t)
	}
	return nil
}

// Expire ends an idle session: it voids the pending enrollment, deletes
// the QR code and key from the chat and tells the user.
func (f *Flow) Expire(ctx context.Context, bt *bot.Turn) error {
	d, err := bot.LoadData[data](bt)
	if err != nil {
		return err
	}
	t := f.turn(bt, &d)
	if t.Session.State == StateRestoring {
		if err := f.retryRestore(ctx, t); err != nil {
			return err
		}
	} else {
		f.end(ctx, t, StateExpired, msgExpired, nil)
	}
	if t.Session.Done {
		t.d.forgetGrant()
	}
	return t.SetData(t.d)
}
