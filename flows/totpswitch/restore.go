package totpswitch

import (
	"context"
	"errors"
	"time"

	"guidedfix/bot"
	"guidedfix/internal/portal"
)

// restore calls RestoreFactor for the session's disable (persist, then
// call). It reports whether the account is safe to leave: restored now or
// before, or it has a method again. On a failure it moves the session to
// StateRestoring, remembers how to end, and retries in a minute.
func (f *Flow) restore(ctx context.Context, t *turn, ending bot.State, msg string, msgData map[string]any) bool {
	t.d.Ending, t.d.EndingMsg, t.d.EndingData = ending, msg, msgData
	if t.Session.State != StateRestoring {
		t.Goto(StateRestoring)
	}
	if err := t.Checkpoint(ctx); err != nil {
		return f.restoreLater(t)
	}
	err := f.core.RestoreFactor(ctx, t.Key("disable"), t.Key("restore"))
	switch {
	case err == nil:
		t.d.Restored = true
		t.Tag(TagRestored, "sms")
		t.say(msgRestored, nil)
	case errors.Is(err, portal.ErrWrongState), errors.Is(err, portal.ErrNotFound):
		// The account has a method again (or was never disabled by us).
		t.d.Restored = true
	default:
		return f.restoreLater(t)
	}
	return true
}

func (f *Flow) restoreLater(t *turn) bool {
	if !t.d.RetryNoted {
		t.d.RetryNoted = true
		t.say(msgRestorePending, nil)
	}
	t.WakeAt(t.Now.Add(time.Minute))
	return false
}

// retryRestore runs in StateRestoring on any event or timer.
func (f *Flow) retryRestore(ctx context.Context, t *turn) error {
	if f.restore(ctx, t, t.d.Ending, t.d.EndingMsg, t.d.EndingData) {
		t.End(t.d.Ending)
		t.say(t.d.EndingMsg, t.d.EndingData)
	}
	return nil
}
