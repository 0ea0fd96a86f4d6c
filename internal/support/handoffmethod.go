package support

import (
	"context"
	"errors"
	"fmt"

	"guidedfix/bot"
	"guidedfix/internal/portal"
)

// ErrWrongMethod is matched (errors.Is) by a *WrongMethodError: HandOffFlow
// refused a hand-off because the account's current second-factor method is
// not the one the flow needs (bot.Descriptor.NeedsMethod), so the link
// would only lead the customer to a dead end. Nothing is created or sent.
var ErrWrongMethod = errors.New("support: the account's 2FA method does not suit the guided fix")

// WrongMethodError is HandOffFlow's refusal for an account whose 2FA
// method (Has, as portal.Account.Method reports it) differs from the
// flow's bot.Descriptor.NeedsMethod (Needs). Flow is the flow's name.
type WrongMethodError struct {
	Flow  string
	Has   portal.Method
	Needs string
}

// Error names the flow and both methods (no account data).
func (e *WrongMethodError) Error() string {
	return fmt.Sprintf("%v: %s needs an account using %s, this one uses %s", ErrWrongMethod, e.Flow, e.Needs, e.Has)
}

// Is makes errors.Is(err, ErrWrongMethod) true.
func (e *WrongMethodError) Is(target error) bool { return target == ErrWrongMethod }

// checkHandoffMethod returns a *WrongMethodError, after an audit entry
// "handoff_created" refused, when desc needs a 2FA method acc does not
// use; nil when desc needs none or acc uses it.
func (d *Desk) checkHandoffMethod(ctx context.Context, desc bot.Descriptor, acc portal.Account, staffChannel, staffUser string) error {
	if desc.NeedsMethod == "" || string(acc.Method) == desc.NeedsMethod {
		return nil
	}
	d.audit(ctx, Entry{Channel: staffChannel, UserID: staffUser, AccountID: acc.ID, Action: "handoff_created",
		Outcome: fmt.Sprintf("refused: %s needs 2FA %s, account has %s", desc.Name, desc.NeedsMethod, acc.Method), Staff: true})
	return &WrongMethodError{Flow: desc.Name, Has: acc.Method, Needs: desc.NeedsMethod}
}
