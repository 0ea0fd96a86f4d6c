package totpswitch

import (
	"context"
	"errors"

	"guidedfix/internal/portal"
)

// disable turns SMS 2FA off (KB step 5) under the session's "disable" key.
func (f *Flow) disable(ctx context.Context, t *turn) error {
	t.d.DisableTried = true
	if err := t.Checkpoint(ctx); err != nil {
		return err
	}
	err := f.core.Disable2FA(ctx, t.d.Grant, t.Key("disable"))
	switch {
	case errors.Is(err, portal.ErrExpired), errors.Is(err, portal.ErrNeedElevation), errors.Is(err, portal.ErrBadGrant):
		f.reverify(t)
		return nil
	case errors.Is(err, portal.ErrWrongState):
		// Already off (e.g. changed in the portal meanwhile): go on.
	case err != nil:
		return err
	default:
		t.d.Disabled, t.d.DisabledAt = true, t.Now
		t.say(msgDisabled, nil)
	}
	t.Goto(StateOfferSetup)
	t.say(msgOfferSetup, nil, t.Button(msgButtonSetup, "setup"), t.cancelButton())
	return nil
}

// confirmDisableMsg is the step-2 text: what "Disable 2FA" does in the
// configured order.
func (f *Flow) confirmDisableMsg() string {
	if f.swap {
		return msgConfirmSwap
	}
	return msgConfirmDisable
}
