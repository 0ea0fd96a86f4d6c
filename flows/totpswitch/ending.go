package totpswitch

import (
	"context"
	"math"

	"guidedfix/bot"
	"guidedfix/internal/portal"
)

// cancel ends the flow at the user's request.
func (f *Flow) cancel(ctx context.Context, t *turn) error {
	if t.d.Activated {
		// The app is already verified: there is nothing left to cancel.
		f.end(ctx, t, StateDone, msgDone, nil)
		return nil
	}
	msg := msgCancelled
	if !t.d.Disabled && !t.d.DisableTried {
		msg = msgCancelledUnchanged
	}
	f.end(ctx, t, StateCancelled, msg, nil)
	return nil
}

// blocked ends the flow at once when the user blocked the bot: the
// pending enrollment is voided and, in the disable-then-enroll order, SMS
// 2FA restored now rather than when the QR code would expire. A restore
// the core refuses for now is retried by StateRestoring as after a
// cancel. Nothing is delivered (the engine parked the session); an app
// already verified leaves the account as it is.
func (f *Flow) blocked(ctx context.Context, t *turn) error {
	if t.d.Activated {
		f.end(ctx, t, StateDone, msgDone, nil)
		return nil
	}
	if t.Session.State == StateRestoring {
		t.d.Ending = StateBlocked
		return f.retryRestore(ctx, t)
	}
	f.end(ctx, t, StateBlocked, msgBlocked, nil)
	return nil
}

// end releases what the session holds and ends it in state with message
// msg — after restoring SMS 2FA if the flow disabled it and no app was
// verified, so that no path leaves the account without a second factor.
// If the restore cannot be done now, the session waits in
// StateRestoring and retries.
func (f *Flow) end(ctx context.Context, t *turn, state bot.State, msg string, msgData map[string]any) {
	f.release(ctx, t)
	if t.d.mustRestore() && !f.restore(ctx, t, state, msg, msgData) {
		return
	}
	t.End(state)
	t.say(msg, msgData)
}

// release voids a pending enrollment and deletes the sensitive messages.
func (f *Flow) release(ctx context.Context, t *turn) {
	if t.d.EnrollmentID != "" {
		// Best effort: an enrollment left pending expires in the core anyway.
		_ = f.core.CancelTOTPEnrollment(ctx, t.d.EnrollmentID)
		t.d.EnrollmentID = ""
	}
	t.Delete("qr")
	t.Delete("key")
	t.Delete("recovery")
}

func (f *Flow) lockedEnd(ctx context.Context, t *turn, locked *portal.LockedError) {
	mins := int(math.Round(locked.RetryAfter.Sub(t.Now).Minutes()))
	if mins < 1 {
		mins = 1
	}
	msg := msgLocked
	switch {
	case locked.SMSLimit:
		msg = msgSmsLimit
	case locked.Operator:
		msg = msgLockedSupport // 100 consecutive failures: no retry time
	}
	f.end(ctx, t, StateLocked, msg, map[string]any{"Until": locked.RetryAfter.UTC().Format("15:04 UTC"), "Minutes": mins})
}
